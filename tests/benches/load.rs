//! Local server under load: the `scim-local` binary (embedded store) on 127.0.0.1, driven by a
//! bounded keep-alive HTTP/1.1 load generator. Reports requests/s, p50/p99 latency, the server's
//! peak RSS, and the embedded store's memory per stored user. Reports only; never fails on time.
//!
//! Run with `make bench` (or `cargo bench --bench load`). Knobs: `LOAD_SECONDS` (default 5),
//! `LOAD_CONNECTIONS` (default 64), `LOAD_USERS` (default 10000), `LOAD_SERVER_BIN` (the
//! `scim-local` to run; default the one cargo built for this bench, `make bench` passes the
//! `[profile.local]` build that `make run` serves).
//!
//! The peer, side by side: with `LOAD_PEER=<path to scim2-server>` (the Python reference server
//! from PyPI, `requirements-bench.txt`), the same load (`PEER_USERS` users, default 1000; GET by
//! id, then `userName eq` filter; `LOAD_CONNECTIONS` connections, `LOAD_SECONDS` each) runs against
//! a fresh `scim-local` and against the peer, both on 127.0.0.1, and the ratios ours / peer are
//! printed with both absolute figures.

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
    /// The SCIM base path: `/scim/v2` here, `/v2` for the peer.
    base: &'static str,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `scim-local` to load: `LOAD_SERVER_BIN`, else the one cargo built for this bench.
fn server_bin() -> String {
    std::env::var("LOAD_SERVER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_scim-local").to_owned())
}

fn start_server() -> Server {
    let mut child = Command::new(server_bin())
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
    Server {
        child,
        addr,
        token,
        base: "/scim/v2",
    }
}

/// The peer: `scim2-server` (its own command line, as shipped: wsgiref with a thread per
/// connection) on a free loopback port, with one static bearer token. Waits (bounded) until it
/// accepts connections.
fn start_peer(program: &str) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let token = "peer-bench-token".to_owned();
    let child = Command::new(program)
        .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
        .args(["--bearer-token", &token])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start scim2-server");
    let addr = format!("127.0.0.1:{port}");
    let server = Server {
        child,
        addr,
        token,
        base: "/v2",
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(&server.addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "scim2-server did not start in 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
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

/// One connection speaking just enough HTTP/1.1 for the answers of our server and the peer:
/// kept alive while the server keeps it, opened again when it answered `Connection: close` or
/// HTTP/1.0 (the peer's wsgiref server closes after every answer, so its figures include a TCP
/// connect per request: that is the peer as shipped).
struct Conn {
    addr: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: &str) -> Conn {
        let mut conn = Conn {
            addr: addr.to_owned(),
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
        };
        conn.connect().await.expect("connect");
        conn
    }

    async fn connect(&mut self) -> std::io::Result<&mut TcpStream> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.addr).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
        }
        Ok(self.stream.as_mut().expect("connected"))
    }

    /// Send one request and read its answer; returns the status, 0 when the connection failed
    /// or the answer took over 5 s (counted as an error; the next request connects again: under
    /// 64 connections the peer's accept queue of 5 drops or resets some).
    async fn exchange(&mut self, request: &[u8]) -> u16 {
        // Bounded: a connection the peer's full accept queue left hanging must not stall the
        // run past its deadline.
        match tokio::time::timeout(Duration::from_secs(5), self.try_exchange(request)).await {
            Ok(Ok(status)) => status,
            _ => {
                self.stream = None;
                0
            }
        }
    }

    async fn try_exchange(&mut self, request: &[u8]) -> std::io::Result<u16> {
        let closed = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        self.connect().await?.write_all(request).await?;
        self.buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        let stream = self.stream.as_mut().expect("connected");
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
                let len: Option<usize> = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok());
                let closes = head.starts_with("http/1.0")
                    || head
                        .lines()
                        .any(|l| l.replace(' ', "") == "connection:close");
                match len {
                    Some(len) => {
                        while self.buf.len() < end + 4 + len {
                            let n = stream.read(&mut chunk).await?;
                            if n == 0 {
                                return Err(closed());
                            }
                            self.buf.extend_from_slice(&chunk[..n]);
                        }
                    }
                    // No length: the body ends when the server closes.
                    None => loop {
                        let n = stream.read(&mut chunk).await?;
                        if n == 0 {
                            break;
                        }
                        self.buf.extend_from_slice(&chunk[..n]);
                    },
                }
                if closes || len.is_none() {
                    self.stream = None;
                }
                return Ok(head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0));
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(closed());
            }
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
    request_at("/scim/v2", method, path, token, body)
}

fn request_at(base: &str, method: &str, path: &str, token: &str, body: Option<&str>) -> Vec<u8> {
    let mut r = format!(
        "{method} {base}{path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
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

/// What a scenario's requests are built from: the seeded ids, the token, the base path.
struct Target {
    ids: Vec<String>,
    token: String,
    base: &'static str,
}

/// Requests of one scenario for iteration `i` of connection `c`.
type Scenario = fn(&Target, usize, usize) -> Vec<u8>;

fn get_by_id(t: &Target, c: usize, i: usize) -> Vec<u8> {
    let (ids, token) = (&t.ids, t.token.as_str());
    request_at(
        t.base,
        "GET",
        &format!("/Users/{}", ids[(c * 7919 + i) % ids.len()]),
        token,
        None,
    )
}

/// The IdP-like mix: 40% lookups by userName, 30% GET, 15% PATCH, 10% PUT, 5% list pages.
fn idp_mix(t: &Target, c: usize, i: usize) -> Vec<u8> {
    let (ids, token) = (&t.ids, t.token.as_str());
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

/// `userName eq` on a seeded user: the look-up every IdP makes before creating one.
fn user_name_eq(t: &Target, c: usize, i: usize) -> Vec<u8> {
    let n = (c * 7919 + i) % t.ids.len();
    request_at(
        t.base,
        "GET",
        &format!("/Users?filter=userName%20eq%20%22load{n}%40example.com%22"),
        &t.token,
        None,
    )
}

async fn run(
    addr: &str,
    target: Arc<Target>,
    connections: usize,
    seconds: u64,
    scenario: Scenario,
) -> (f64, Duration, Duration, usize) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (addr, target) = (addr.to_owned(), Arc::clone(&target));
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await;
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0;
            let mut i = 0;
            // Bounded in time and in count.
            while Instant::now() < deadline && i < 5_000_000 {
                let req = scenario(&target, c, i);
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

/// `userName sw "load"`: matches every seeded user and is no look-up, so the service evaluates
/// it over all of them; `count=5` asks for one small page of the matches.
fn unindexed_filter(t: &Target, _c: usize, _i: usize) -> Vec<u8> {
    request_at(
        t.base,
        "GET",
        "/Users?filter=userName%20sw%20%22load%22&count=5",
        &t.token,
        None,
    )
}

/// Create `users` users through `server`'s API, one at a time; their ids.
async fn seed(server: &Server, users: usize) -> Vec<String> {
    let mut conn = Conn::open(&server.addr).await;
    let mut ids = Vec::with_capacity(users);
    for i in 0..users {
        let req = request_at(
            server.base,
            "POST",
            "/Users",
            &server.token,
            Some(&user_body(i)),
        );
        let status = conn.exchange(&req).await;
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(conn.body()));
        let v: serde_json::Value = serde_json::from_slice(conn.body()).expect("json");
        ids.push(v["id"].as_str().expect("id").to_owned());
    }
    ids
}

fn target(server: &Server, ids: Vec<String>) -> Arc<Target> {
    Arc::new(Target {
        ids,
        token: server.token.clone(),
        base: server.base,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The same load against a fresh `scim-local` and the peer; prints both and the ratios.
async fn side_by_side(peer_program: &str, users: usize, connections: usize, seconds: u64) {
    let ours = start_server();
    let peer = start_peer(peer_program);
    let started = Instant::now();
    let ours_target = target(&ours, seed(&ours, users).await);
    let peer_target = target(&peer, seed(&peer, users).await);
    println!(
        "peer side by side: scim-local vs scim2-server (PyPI), {users} users each (seeded in {:.1} s), {connections} connections, {seconds} s per scenario",
        started.elapsed().as_secs_f64()
    );
    println!(
        "{:<22} {:>12} {:>12} {:>8}   {:>10} {:>10}",
        "scenario", "ours req/s", "peer req/s", "ratio", "ours p99", "peer p99"
    );
    for (name, scenario) in [
        ("GET /Users/{id}", get_by_id as Scenario),
        ("filter userName eq", user_name_eq as Scenario),
    ] {
        let (o, o50, o99, oe) = run(
            &ours.addr,
            Arc::clone(&ours_target),
            connections,
            seconds,
            scenario,
        )
        .await;
        let (p, p50, p99, pe) = run(
            &peer.addr,
            Arc::clone(&peer_target),
            connections,
            seconds,
            scenario,
        )
        .await;
        println!(
            "{name:<22} {o:>12.0} {p:>12.0} {:>7.1}x   {:>7.3} ms {:>7.3} ms   (p50 {:.3} / {:.3} ms; errors {oe} / {pe})",
            o / p.max(f64::MIN_POSITIVE),
            ms(o99),
            ms(p99),
            ms(o50),
            ms(p50)
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and test harness probes.
    }
    let seconds = env_usize("LOAD_SECONDS", 5) as u64;
    let connections = env_usize("LOAD_CONNECTIONS", 64);
    let users = env_usize("LOAD_USERS", 10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    println!("server: {}", server_bin());
    rt.block_on(async {
        let server = start_server();
        let pid = server.child.id();
        let (_, rss_empty) = rss_kib(pid);
        let ids = seed(&server, users).await;
        let (_, rss_seeded) = rss_kib(pid);
        let target = target(&server, ids);
        println!("local server load test: {connections} connections, {seconds} s per scenario, {users} users, 1 client thread");
        println!("embedded store memory: {:.0} bytes per stored user (RSS {} KiB empty, {} KiB seeded)",
            (rss_seeded.saturating_sub(rss_empty)) as f64 * 1024.0 / users as f64, rss_empty, rss_seeded);
        for (name, scenario) in [
            ("GET /Users/{id}", get_by_id as Scenario),
            ("IdP mix", idp_mix as Scenario),
            ("sw filter, count=5", unindexed_filter as Scenario),
        ] {
            let (rps, p50, p99, errors) = run(&server.addr, Arc::clone(&target), connections, seconds, scenario).await;
            println!("{name:<18} {rps:>9.0} req/s   p50 {:>7.3} ms   p99 {:>7.3} ms   errors {errors}",
                ms(p50), ms(p99));
        }
        let (peak, now) = rss_kib(pid);
        println!("server RSS: peak {peak} KiB, now {now} KiB");
        drop(server);
        match std::env::var("LOAD_PEER") {
            Ok(peer) if !peer.is_empty() => {
                side_by_side(&peer, env_usize("PEER_USERS", 1_000), connections, seconds).await
            }
            _ => println!("peer side by side: skipped (LOAD_PEER is not set; `make bench` sets it)"),
        }
    });
}
