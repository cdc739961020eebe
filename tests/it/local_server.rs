//! The `scim-local` binary: prints the two lines `make run` promises, then serves the same router
//! over real HTTP on 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Server {
    child: Child,
    addr: String,
    token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(extra_env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scim-local"));
    cmd.env("PORT", "0")
        .env_remove("SCIM_TABLE_NAME")
        .env_remove("SCIM_SECRET_PREFIX")
        .env_remove("SCIM_LOCAL_TOKEN");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start scim-local");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("first line").unwrap();
    let second = lines.next().expect("second line").unwrap();
    let url = first
        .strip_prefix("SCIM base URL: ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"));
    let token = second
        .strip_prefix("Bearer token: ")
        .unwrap_or_else(|| panic!("unexpected second line: {second}"));
    let addr = url
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix("/scim/v2"))
        .unwrap_or_else(|| panic!("unexpected base URL: {url}"))
        .to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    Server {
        child,
        addr,
        token: token.to_owned(),
    }
}

/// One HTTP/1.1 exchange over a fresh connection; returns (status, head, body).
async fn exchange(addr: &str, raw: Vec<u8>) -> (u16, String, String) {
    let mut stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    stream.write_all(&raw).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf))
        .await
        .expect("answer in time")
        .unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn request(method: &str, path: &str, token: &str, body: Option<&str>) -> Vec<u8> {
    let mut r = format!("{method} /scim/v2{path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n");
    if let Some(b) = body {
        r.push_str(&format!(
            "Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        ));
    } else {
        r.push_str("\r\n");
    }
    r.into_bytes()
}

#[tokio::test]
async fn serves_a_user_lifecycle_with_the_printed_token() {
    let s = start(&[]);
    let (status, head, body) = exchange(
        &s.addr,
        request(
            "POST",
            "/Users",
            &s.token,
            Some(r#"{"userName":"local@example.com"}"#),
        ),
    )
    .await;
    assert_eq!(status, 201, "{head}\n{body}");
    assert!(head
        .to_ascii_lowercase()
        .contains("content-type: application/scim+json"));
    let created: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = created["id"].as_str().unwrap();
    assert!(
        head.contains(&format!("/scim/v2/Users/{id}")),
        "Location header: {head}"
    );

    let (status, _, body) = exchange(
        &s.addr,
        request(
            "GET",
            "/Users?filter=userName%20eq%20%22LOCAL%40example.com%22",
            &s.token,
            None,
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains(id));

    let (status, _, _) = exchange(
        &s.addr,
        request("DELETE", &format!("/Users/{id}"), &s.token, None),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, body) = exchange(
        &s.addr,
        request("GET", &format!("/Users/{id}"), &s.token, None),
    )
    .await;
    assert_eq!(status, 404);
    assert!(body.contains("urn:ietf:params:scim:api:messages:2.0:Error"));

    let (status, head, _) =
        exchange(&s.addr, request("GET", "/Users", "scim_local_wrong", None)).await;
    assert_eq!(status, 401);
    assert!(head
        .to_ascii_lowercase()
        .contains("www-authenticate: bearer"));
}

#[tokio::test]
async fn oversized_bodies_are_413_by_length_and_by_chunks() {
    let s = start(&[]);
    let declared = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/scim+json\r\nContent-Length: 2000000\r\nConnection: close\r\n\r\n",
        s.token
    );
    let (status, _, body) = exchange(&s.addr, declared.into_bytes()).await;
    assert_eq!(status, 413, "{body}");

    let mut chunked = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        s.token
    )
    .into_bytes();
    let chunk = vec![b' '; 256 * 1024];
    for _ in 0..5 {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, _, body) = exchange(&s.addr, chunked).await;
    assert_eq!(status, 413, "{body}");
}

#[tokio::test]
async fn a_given_local_token_is_used_and_checked() {
    let s = start(&[]);
    let fixed = s.token.replace("scim_local_", "scim_dev_");
    let dev = start(&[("SCIM_LOCAL_TENANT", "dev"), ("SCIM_LOCAL_TOKEN", &fixed)]);
    assert_eq!(dev.token, fixed);
    let (status, _, _) = exchange(&dev.addr, request("GET", "/Users", &fixed, None)).await;
    assert_eq!(status, 200);
    // A token of another tenant is refused at start.
    let out = Command::new(env!("CARGO_BIN_EXE_scim-local"))
        .env("PORT", "0")
        .env("SCIM_LOCAL_TOKEN", &s.token)
        .env("SCIM_LOCAL_TENANT", "dev")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// hyper refuses these request heads before any handler runs: its bare 414 / 431 must reach the
/// client as a SCIM error (RFC 7644 §3.12) with its body.
#[tokio::test]
async fn over_long_urls_and_headers_get_a_scim_error_body() {
    let s = start(&[]);
    let long_url = format!(
        "GET /scim/v2/Users?filter={} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        "a".repeat(70_000),
        s.token
    );
    let mut many_headers = format!(
        "GET /scim/v2/Users HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n",
        s.token
    );
    for i in 0..150 {
        many_headers.push_str(&format!("X-Pad-{i}: {i}\r\n"));
    }
    many_headers.push_str("Connection: close\r\n\r\n");
    for (raw, want) in [(long_url, 414), (many_headers, 431)] {
        let (status, head, body) = exchange(&s.addr, raw.into_bytes()).await;
        assert_eq!(status, want, "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/scim+json"),
            "{head}"
        );
        let json: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{want}: no SCIM body ({e}): {head}\n{body}"));
        assert_eq!(
            json["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(json["status"], want.to_string());
        assert!(json["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    // The server still serves.
    let (status, _, _) = exchange(&s.addr, request("GET", "/Users", &s.token, None)).await;
    assert_eq!(status, 200);
}
