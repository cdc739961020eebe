//! A real browser on the setup page: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `make test`) driven over WebDriver (fantoccini) against
//! `scim-local` as `make run` starts it. It opens the page from the printed setup link, presses
//! Generate, reads the token from the page and uses it (200) while the printed token gets 401.
//! The page's screenshot is kept as `target/test-artifacts/admin-page.png`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first of `names` found on `PATH` or in the usual directories (Debian's packages, or a
/// CI image's preinstalled Chrome and `$CHROMEWEBDRIVER`).
fn which(names: &[&str]) -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    let extra = std::env::var("CHROMEWEBDRIVER").unwrap_or_default();
    let dirs: Vec<&str> = [
        "/usr/bin",
        "/usr/local/bin",
        "/usr/lib/chromium",
        extra.as_str(),
    ]
    .into_iter()
    .chain(path.split(':'))
    .filter(|d| !d.is_empty())
    .collect();
    for n in names {
        for dir in &dirs {
            let p = format!("{dir}/{n}");
            if std::path::Path::new(&p).exists() {
                return p;
            }
        }
    }
    panic!(
        "{names:?} not found: the browser test needs Debian's chromium and chromium-driver \
         (`make test` installs them; or `apt-get install chromium chromium-driver`)"
    );
}

/// `scim-local` on 127.0.0.1:0, and its three lines: base URL, token, admin page link.
fn start_local() -> (Killed, [String; 3]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scim-local"))
        .env("PORT", "0")
        .env_remove("SCIM_TABLE_NAME")
        .env_remove("SCIM_SECRET_PREFIX")
        .env_remove("SCIM_LOCAL_TOKEN")
        .env_remove("SCIM_LINK_KEY_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start scim-local");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || lines.next().expect("a line").unwrap();
    let out = [next(), next(), next()];
    (Killed(child), out)
}

/// Status of `GET path` with a bearer token, over a fresh connection.
async fn status_of(addr: &str, path: &str, token: &str) -> u16 {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: Okta SCIM Client\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// What element `id` shows: an input's value, any other element's text.
async fn read(c: &fantoccini::Client, id: &str) -> String {
    let e = c.find(Locator::Id(id)).await.unwrap();
    match e.prop("value").await.unwrap() {
        Some(v) => v,
        None => e.text().await.unwrap(),
    }
}

/// Press button `button`, wait until `ready` (CSS) is on the page, then [`read`] `id`.
async fn click_and_read(c: &fantoccini::Client, button: &str, ready: &str, id: &str) -> String {
    c.find(Locator::Id(button))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(ready))
        .await
        .unwrap_or_else(|e| panic!("{ready} after pressing {button}: {e}"));
    read(c, id).await
}

async fn free_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_on_the_page_gives_a_working_token_and_stops_the_old_one() {
    let (_server, [base_line, token_line, admin_line]) = start_local();
    let old_token = token_line
        .strip_prefix("Bearer token: ")
        .unwrap()
        .to_owned();
    let base = base_line.strip_prefix("SCIM base URL: ").unwrap();
    let addr = base
        .strip_prefix("http://")
        .and_then(|b| b.strip_suffix("/scim/v2"))
        .unwrap()
        .to_owned();
    let link = admin_line
        .strip_prefix("Admin page: ")
        .unwrap_or_else(|| panic!("third line: {admin_line}"));
    assert!(
        link.starts_with(&format!("http://{addr}/admin/")) && link.contains('#'),
        "{link}"
    );
    assert_eq!(status_of(&addr, "/scim/v2/Users", &old_token).await, 200);

    let port = free_port().await;
    let _driver = Killed(
        Command::new(which(&["chromedriver"]))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": which(&["chromium", "chromium-browser", "google-chrome"]),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,1900"]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let mut client = None;
    for _ in 0..50 {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let c = client.expect("chromedriver answers within 10 s");

    c.goto(link).await.unwrap();
    let wait = || c.wait().at_most(Duration::from_secs(10));
    wait()
        .for_element(Locator::Css("#app:not([hidden])"))
        .await
        .expect("the page opens with the link");
    // The credential left the address bar.
    assert!(!c.current_url().await.unwrap().as_str().contains('#'));
    assert_eq!(read(&c, "base-url").await, base);

    let new_token =
        click_and_read(&c, "generate", "#new-token-box:not([hidden])", "new-token").await;
    assert!(new_token.starts_with("scim_local_"), "{new_token}");
    assert_ne!(new_token, old_token);
    assert_eq!(status_of(&addr, "/scim/v2/Users", &new_token).await, 200);
    assert_eq!(status_of(&addr, "/scim/v2/Users", &old_token).await, 401);
    assert_eq!(
        status_of(&addr, "/scim/v2/Users/nope", &new_token).await,
        404
    );

    // Health shows the IdP's requests once refreshed.
    let health = click_and_read(&c, "refresh", "#health:not([hidden]) tbody tr", "health").await;
    assert!(
        health.contains("okta") && health.contains("404"),
        "{health}"
    );

    // The artifact: the token field is masked first, so no image holds a token.
    c.execute(
        "document.getElementById('new-token').value = 'scim_local_••••••••'; window.scrollTo(0, 0);",
        vec![],
    )
    .await
    .unwrap();
    let png = c.screenshot().await.unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("admin-page.png"), &png).unwrap();
    assert!(png.starts_with(b"\x89PNG"));

    // A link that is not valid says so.
    let bad = link.replacen(".local.", ".other.", 1);
    // From another document: a change of fragment alone would not reload the page.
    c.goto("about:blank").await.unwrap();
    c.goto(&bad).await.unwrap();
    let notice = wait()
        .for_element(Locator::Css("#expired:not([hidden])"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(notice.contains("not valid"), "{notice}");
    c.close().await.unwrap();
}
