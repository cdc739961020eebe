//! Local server under load: the `scim-local` binary (embedded store) on 127.0.0.1, driven by a
//! bounded keep-alive HTTP/1.1 load generator. Reports requests/s, p50/p99 latency, the server's
//! peak RSS, and the embedded store's memory per stored user. Reports only; never fails on time.
//!
//! Run with `make bench` (or `cargo bench --bench load`). Knobs: `LOAD_SECONDS` (default 5),
//! `LOAD_CONNECTIONS` (default 64), `LOAD_USERS` (default 10000).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

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

fn start_server() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scim-local"))
        .env("PORT", "0")
        .env("RUST_LOG", "warn")
        .env_remove("SCIM_TABLE_NAME")
        .env_remove("SCIM_SECRET_PREFIX")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start scim-local");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = lines.next().expect("base URL line").expect("utf-8");
    let token = lines.next().expect("token line").expect("utf-8");
    let addr = url
        .trim_start_matches("SCIM base URL: http://")
        .trim_end_matches("/scim/v2")
        .to_owned();
    let token = token.trim_start_matches("Bearer token: ").to_owned();
    Server { child, addr, token }
}

/// Peak and current resident set of a process, in KiB, from /proc (Linux).
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// One keep-alive connection speaking just enough HTTP/1.1 for our own server's answers.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    /// Send one request and read its answer; returns the status.
    async fn exchange(&mut self, request: &[u8]) -> u16 {
        self.stream.write_all(request).await.expect("write");
        self.buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while self.buf.len() < end + 4 + len {
                    let n = self.stream.read(&mut chunk).await.expect("read");
                    assert!(n > 0, "connection closed mid-answer");
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                return head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
            }
            let n = self.stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn body(&self) -> &[u8] {
        let end = find(&self.buf, b"\r\n\r\n").map(|e| e + 4).unwrap_or(0);
        &self.buf[end..]
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn request(method: &str, path: &str, token: &str, body: Option<&str>) -> Vec<u8> {
    let mut r = format!(
        "{method} /scim/v2{path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
    );
    match body {
        Some(b) => r.push_str(&format!(
            "Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        )),
        None => r.push_str("\r\n"),
    }
    r.into_bytes()
}

fn user_body(i: usize) -> String {
    format!(
        r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":"load{i}@example.com","externalId":"00u{i:08}","name":{{"givenName":"Given","familyName":"Family{i}"}},"emails":[{{"value":"load{i}@example.com","type":"work","primary":true}}],"active":true,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{{"department":"Engineering"}}}}"#
    )
}

/// Requests of one scenario for iteration `i` of connection `c`.
type Scenario = fn(&[String], &str, usize, usize) -> Vec<u8>;

fn get_by_id(ids: &[String], token: &str, c: usize, i: usize) -> Vec<u8> {
    request(
        "GET",
        &format!("/Users/{}", ids[(c * 7919 + i) % ids.len()]),
        token,
        None,
    )
}

/// The IdP-like mix: 40% lookups by userName, 30% GET, 15% PATCH, 10% PUT, 5% list pages.
fn idp_mix(ids: &[String], token: &str, c: usize, i: usize) -> Vec<u8> {
    let n = (c * 7919 + i) % ids.len();
    match i % 20 {
        0..=7 => request(
            "GET",
            &format!("/Users?filter=userName%20eq%20%22load{n}%40example.com%22"),
            token,
            None,
        ),
        8..=13 => request("GET", &format!("/Users/{}", ids[n]), token, None),
        14..=16 => request(
            "PATCH",
            &format!("/Users/{}", ids[n]),
            token,
            Some(&format!(
                r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"Replace","path":"title","value":"T{}"}}]}}"#,
                i % 5
            )),
        ),
        17 | 18 => request(
            "PUT",
            &format!("/Users/{}", ids[n]),
            token,
            Some(&user_body(n)),
        ),
        _ => request(
            "GET",
            &format!("/Users?startIndex={}&count=100", 1 + (n % 50) * 100),
            token,
            None,
        ),
    }
}

async fn run(
    addr: &str,
    token: &str,
    ids: Arc<Vec<String>>,
    connections: usize,
    seconds: u64,
    scenario: Scenario,
) -> (f64, Duration, Duration, usize) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (addr, token, ids) = (addr.to_owned(), token.to_owned(), Arc::clone(&ids));
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await;
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0;
            let mut i = 0;
            // Bounded in time and in count.
            while Instant::now() < deadline && i < 5_000_000 {
                let req = scenario(&ids, &token, c, i);
                let t = Instant::now();
                let status = conn.exchange(&req).await;
                lat.push(t.elapsed());
                if !(200..300).contains(&status) {
                    errors += 1;
                }
                i += 1;
            }
            (lat, errors)
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await.expect("task");
        all.extend(lat);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    (all.len() as f64 / elapsed, pct(0.50), pct(0.99), errors)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and test harness probes.
    }
    let seconds = env_usize("LOAD_SECONDS", 5) as u64;
    let connections = env_usize("LOAD_CONNECTIONS", 64);
    let users = env_usize("LOAD_USERS", 10_000);
    let server = start_server();
    let pid = server.child.id();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (_, rss_empty) = rss_kib(pid);
        let mut conn = Conn::open(&server.addr).await;
        let mut ids = Vec::with_capacity(users);
        for i in 0..users {
            let status = conn.exchange(&request("POST", "/Users", &server.token, Some(&user_body(i)))).await;
            assert_eq!(status, 201, "{}", String::from_utf8_lossy(conn.body()));
            let v: serde_json::Value = serde_json::from_slice(conn.body()).expect("json");
            ids.push(v["id"].as_str().expect("id").to_owned());
        }
        let (_, rss_seeded) = rss_kib(pid);
        let ids = Arc::new(ids);
        println!("local server load test: {connections} connections, {seconds} s per scenario, {users} users, 1 client thread");
        println!("embedded store memory: {:.0} bytes per stored user (RSS {} KiB empty, {} KiB seeded)",
            (rss_seeded.saturating_sub(rss_empty)) as f64 * 1024.0 / users as f64, rss_empty, rss_seeded);
        for (name, scenario) in [("GET /Users/{id}", get_by_id as Scenario), ("IdP mix", idp_mix as Scenario)] {
            let (rps, p50, p99, errors) = run(&server.addr, &server.token, Arc::clone(&ids), connections, seconds, scenario).await;
            println!("{name:<18} {rps:>9.0} req/s   p50 {:>7.3} ms   p99 {:>7.3} ms   errors {errors}",
                p50.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3);
        }
        let (peak, now) = rss_kib(pid);
        println!("server RSS: peak {peak} KiB, now {now} KiB");
    });
}
