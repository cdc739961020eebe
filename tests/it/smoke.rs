//! `make smoke`'s script (tests/tools/smoke.py) passes against the local server, on the
//! embedded store and on DynamoDB (moto).

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `scim-local` with extra environment; returns it with its base URL and token.
fn start(env: &[(&str, &str)]) -> (Server, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scim-local"));
    cmd.env("PORT", "0")
        .env_remove("SCIM_TABLE_NAME")
        .env_remove("SCIM_SECRET_PREFIX");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start scim-local");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .next()
        .unwrap()
        .unwrap()
        .trim_start_matches("SCIM base URL: ")
        .to_owned();
    let token = lines
        .next()
        .unwrap()
        .unwrap()
        .trim_start_matches("Bearer token: ")
        .to_owned();
    (Server(child), url, token)
}

fn smoke(url: &str, token: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/smoke.py");
    let out = Command::new("python3")
        .arg(script)
        .env("SCIM_URL", url)
        .env("SCIM_TOKEN", token)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "smoke failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("smoke test passed"));
    assert!(!stdout.contains(token), "the smoke test printed the token");
    stdout
}

#[test]
fn smoke_passes_on_the_embedded_store() {
    let (_server, url, token) = start(&[]);
    let out = smoke(&url, &token);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok ")).count(),
        10,
        "{out}"
    );
}

#[tokio::test]
async fn smoke_passes_on_dynamodb() {
    let client = common::moto::dynamo_client().await;
    let table = common::moto::new_table(&client).await;
    let endpoint = common::moto::endpoint();
    let (_server, url, token) =
        start(&[("SCIM_TABLE_NAME", &table), ("AWS_ENDPOINT_URL", &endpoint)]);
    smoke(&url, &token);
}

#[test]
fn smoke_fails_clearly_on_a_wrong_token() {
    let (_server, url, _) = start(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/smoke.py");
    let out = Command::new("python3")
        .arg(script)
        .env("SCIM_URL", &url)
        .env("SCIM_TOKEN", "scim_local_bad")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL"));
}
