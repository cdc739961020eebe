//! Cold start of the Lambda binary under cargo lambda's runtime emulator, side by side with a
//! minimal lambda_http function (`examples/hello_lambda`) built with the same profile.
//!
//! `cargo lambda watch --only-lambda-apis` serves the Lambda Runtime API and the invoke API on one
//! 127.0.0.1 port; this bench starts each function process itself. A sample is: spawn a fresh
//! process (t0), POST one invoke of `events/get-service-provider-config.json` (with a valid
//! token) and take t1 when its answer arrives; then time a second, warm invoke; then kill the
//! process. Binaries alternate, so drift on a shared machine hits both alike. Afterwards one
//! `bootstrap` process serves a short mix of every event in `events/` and its peak RSS is read
//! from /proc.
//!
//! `make bench` builds `bootstrap` and the example, then runs this. Knobs: `COLDSTART_RUNS`
//! (default 20), `COLDSTART_USERS` (users in the RSS mix, default 200), `CARGO_LAMBDA` (path of
//! the cargo-lambda executable; default `$VENV/bin/cargo-lambda`, `.venv/bin/cargo-lambda`, then
//! `PATH`). Reports only: it never fails on a time. Without cargo-lambda or the example binary it
//! says so and exits successfully.

use secrecy::ExposeSecret;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use scim_server::auth::token;
use scim_server::tenant::TenantId;
use serde_json::Value;

/// Longest wait for the emulator to listen, or for one invoke to be answered.
const TIMEOUT: Duration = Duration::from_secs(30);
const TENANT: &str = "bench";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A child process that is killed when dropped, whatever happens to the bench.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cargo_lambda() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CARGO_LAMBDA") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let venv = std::env::var_os("VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".venv"));
    let venv = manifest_dir().join(venv).join("bin").join("cargo-lambda");
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join("cargo-lambda"));
    std::iter::once(venv).chain(on_path).find(|p| p.is_file())
}

/// A port that was free a moment ago (the emulator binds it right after).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free 127.0.0.1 port")
}

/// `cargo lambda watch --only-lambda-apis`: the Runtime API at `/.rt`, invokes at
/// `/2015-03-31/functions/_/invocations`, and no function of its own.
struct Emulator {
    _process: Killed,
    addr: SocketAddr,
}

impl Emulator {
    fn start(cargo_lambda: &Path) -> Result<Emulator, String> {
        let port = free_port();
        let log_path = manifest_dir().join("target").join("coldstart-emulator.log");
        let log =
            fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let process = Command::new(cargo_lambda)
            .args(["lambda", "watch", "--only-lambda-apis", "--ignore-changes"])
            .args(["-A", "127.0.0.1", "-P", &port.to_string()])
            .current_dir(manifest_dir())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", cargo_lambda.display()))?;
        let mut process = Killed(process);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + TIMEOUT;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            let exited = process.0.try_wait().ok().flatten().is_some();
            if exited || Instant::now() > deadline {
                return Err(format!(
                    "cargo lambda watch did not listen on {addr}; log in {}",
                    log_path.display()
                ));
            }
            sleep(Duration::from_millis(20));
        }
        Ok(Emulator {
            _process: process,
            addr,
        })
    }

    /// Invoke the function with an API Gateway event; returns the Lambda response document.
    /// The request keeps HTTP/1.1 keep-alive semantics: with `Connection: close` the emulator of
    /// cargo-lambda 1.9 sometimes hands the function an empty payload.
    fn invoke(&self, event: &str) -> Result<Value, String> {
        let mut s = TcpStream::connect_timeout(&self.addr, TIMEOUT).map_err(|e| e.to_string())?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        let head = format!(
            "POST /2015-03-31/functions/_/invocations HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            event.len()
        );
        s.write_all(head.as_bytes())
            .and_then(|()| s.write_all(event.as_bytes()))
            .map_err(|e| e.to_string())?;
        let (status, body) = read_response(&mut s)?;
        if status != 200 {
            return Err(format!(
                "emulator answered {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        serde_json::from_slice(&body).map_err(|e| format!("invoke answer is not JSON: {e}"))
    }
}

/// Read one HTTP/1.1 response with a `content-length` body (what the emulator sends).
fn read_response(s: &mut TcpStream) -> Result<(u16, Vec<u8>), String> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status = head
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .ok_or("no status line")?;
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .ok_or("answer without content-length")?;
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("connection closed mid-answer".into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok((status, buf[end + 4..end + 4 + len].to_vec()));
        }
        let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before an answer".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The two functions under test.
struct Function {
    name: &'static str,
    path: PathBuf,
}

impl Function {
    /// A fresh process of the function, attached to the emulator, on the embedded store with a
    /// fixed token. The environment is cleared: no table, secret prefix or AWS endpoint leaks in.
    fn spawn(&self, emulator: &Emulator, token: &str) -> Killed {
        let child = Command::new(&self.path)
            .env_clear()
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://{}/.rt", emulator.addr),
            )
            .env("SCIM_LOCAL_TENANT", TENANT)
            .env("SCIM_LOCAL_TOKEN", token)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.path.display()));
        Killed(child)
    }
}

/// An event file with its placeholders filled in.
fn event(name: &str, token: &str, user_id: &str) -> String {
    let path = manifest_dir().join("events").join(name);
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace("SCIM_TOKEN_PLACEHOLDER", token)
        .replace("USER_ID_PLACEHOLDER", user_id)
}

/// The HTTP status inside a Lambda response document; panics on a wrong one (a broken function
/// is a bug, not a timing).
fn expect_status(answer: &Value, expected: u64, what: &str) {
    let status = answer["statusCode"].as_u64().unwrap_or(0);
    assert_eq!(status, expected, "{what}: {answer}");
}

#[derive(Default)]
struct Samples {
    cold: Vec<Duration>,
    warm: Vec<Duration>,
    failed: usize,
}

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut v = samples.to_vec();
    v.sort();
    // Nearest rank.
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1));
    v.get(rank - 1).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Peak and current resident set of a process, in KiB, from /proc (Linux).
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
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

/// One sample: fresh process, first (cold) invoke, second (warm) invoke.
fn sample(f: &Function, emulator: &Emulator, token: &str, ev: &str, out: &mut Samples) {
    let t0 = Instant::now();
    let _process = f.spawn(emulator, token);
    let first = emulator.invoke(ev);
    let cold = t0.elapsed();
    let t2 = Instant::now();
    let second = first.and_then(|a| {
        expect_status(&a, 200, f.name);
        emulator.invoke(ev)
    });
    let warm = t2.elapsed();
    match second {
        Ok(a) => {
            expect_status(&a, 200, f.name);
            out.cold.push(cold);
            out.warm.push(warm);
        }
        Err(e) => {
            eprintln!("{}: invoke failed: {e}", f.name);
            out.failed += 1;
        }
    }
}

/// An event of Barbara Jensen's made into one of user `i` (userName, emails, externalId).
fn for_user(event: String, i: usize) -> String {
    event
        .replace("bjensen", &format!("user{i}"))
        .replace("00u1abcd", &format!("00u{i:08}"))
}

/// One `bootstrap` process through a mix of every event: creates, then per user GET, filter,
/// PATCH, PUT, and list pages, discovery, and DELETE of half the users. Returns
/// (requests, peak KiB, KiB after the first request).
fn rss_mix(f: &Function, emulator: &Emulator, token: &str, users: usize) -> (usize, u64, u64) {
    let process = f.spawn(emulator, token);
    let pid = process.0.id();
    let call = |ev: String, expected: u64, what: &str| -> Value {
        let answer = emulator
            .invoke(&ev)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        expect_status(&answer, expected, what);
        answer
    };
    call(
        event("get-service-provider-config.json", token, ""),
        200,
        "first",
    );
    let (_, after_first) = rss_kib(pid);
    let mut requests = 1;
    let mut ids = Vec::with_capacity(users);
    for i in 0..users {
        let answer = call(
            for_user(event("post-user.json", token, ""), i),
            201,
            "post-user",
        );
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap_or("{}"))
            .expect("created user is JSON");
        ids.push(body["id"].as_str().expect("id").to_owned());
        requests += 1;
    }
    for (i, id) in ids.iter().enumerate() {
        let mine = |name: &str| for_user(event(name, token, id), i);
        call(mine("get-user.json"), 200, "get-user");
        call(mine("filter-users.json"), 200, "filter-users");
        call(mine("patch-user.json"), 200, "patch-user");
        call(mine("put-user.json"), 200, "put-user");
        requests += 4;
        if i % 10 == 0 {
            call(event("list-users.json", token, ""), 200, "list-users");
            requests += 1;
        }
    }
    for name in [
        "get-resource-types.json",
        "get-resource-type-user.json",
        "get-schemas.json",
        "get-schema-user.json",
    ] {
        call(event(name, token, ""), 200, name);
        requests += 1;
    }
    for id in ids.iter().step_by(2) {
        call(event("delete-user.json", token, id), 204, "delete-user");
        requests += 1;
    }
    let (peak, _) = rss_kib(pid);
    (requests, peak, after_first)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and test harness probes.
    }
    let runs = env_usize("COLDSTART_RUNS", 20).max(1);
    let users = env_usize("COLDSTART_USERS", 200);
    let bootstrap = PathBuf::from(env!("CARGO_BIN_EXE_bootstrap"));
    // The example is built by the same cargo profile into `<profile dir>/examples/`.
    let hello = bootstrap
        .parent()
        .expect("profile dir")
        .join("examples")
        .join("hello_lambda");
    let Some(cargo_lambda) = cargo_lambda() else {
        println!(
            "cold start: skipped: cargo-lambda not found (set CARGO_LAMBDA, or `make tools-venv`)"
        );
        return;
    };
    if !hello.is_file() {
        println!(
            "cold start: skipped: {} is missing (`cargo build --release --example hello_lambda`; `make bench` does it)",
            hello.display()
        );
        return;
    }
    let emulator = match Emulator::start(&cargo_lambda) {
        Ok(e) => e,
        Err(e) => {
            println!("cold start: skipped: {e}");
            return;
        }
    };
    let token = token::generate(&TenantId::parse(TENANT).expect("tenant"))
        .expect("random token")
        .token
        .expose_secret()
        .to_owned();
    let ev = event("get-service-provider-config.json", &token, "");
    let functions = [
        Function {
            name: "hello_lambda",
            path: hello,
        },
        Function {
            name: "bootstrap",
            path: bootstrap,
        },
    ];

    // One discarded round warms the page cache and the emulator.
    let mut discard = [Samples::default(), Samples::default()];
    for (f, s) in functions.iter().zip(&mut discard) {
        sample(f, &emulator, &token, &ev, s);
    }
    let mut samples = [Samples::default(), Samples::default()];
    for round in 0..runs {
        // Alternate which binary goes first.
        for k in 0..2 {
            let i = (round + k) % 2;
            sample(&functions[i], &emulator, &token, &ev, &mut samples[i]);
        }
    }

    println!(
        "cold start under `cargo lambda watch --only-lambda-apis` (127.0.0.1), {runs} fresh processes each, event get-service-provider-config.json"
    );
    println!(
        "  {:<14} {:>21} {:>23}",
        "", "first invoke (ms)", "second, warm (ms)"
    );
    println!(
        "  {:<14} {:>10} {:>10} {:>12} {:>10}   failed",
        "", "median", "p90", "median", "p90"
    );
    for (f, s) in functions.iter().zip(&samples) {
        println!(
            "  {:<14} {:>10.2} {:>10.2} {:>12.3} {:>10.3}   {}",
            f.name,
            ms(percentile(&s.cold, 0.5)),
            ms(percentile(&s.cold, 0.9)),
            ms(percentile(&s.warm, 0.5)),
            ms(percentile(&s.warm, 0.9)),
            s.failed
        );
    }
    let [h, b] = &samples;
    if !h.cold.is_empty() && !b.cold.is_empty() {
        let ratio = |p| ms(percentile(&b.cold, p)) / ms(percentile(&h.cold, p));
        let median = ratio(0.5);
        println!(
            "  ratio bootstrap / hello_lambda: median {median:.2}x, p90 {:.2}x (target < 2x: {})",
            ratio(0.9),
            if median < 2.0 { "met" } else { "missed" }
        );
    }

    let (requests, peak, after_first) = rss_mix(&functions[1], &emulator, &token, users);
    let hello_peak = {
        let process = functions[0].spawn(&emulator, &token);
        let answer = emulator.invoke(&ev).expect("hello_lambda answers");
        expect_status(&answer, 200, "hello_lambda");
        rss_kib(process.0.id()).0
    };
    let mb = |kib: u64| kib as f64 * 1024.0 / 1e6;
    println!(
        "bootstrap peak RSS: {:.1} MB after {requests} requests ({users} users created, every event) \
         (target < 40 MB: {}); {:.1} MB after its first request; hello_lambda {:.1} MB",
        mb(peak),
        if mb(peak) < 40.0 { "met" } else { "missed" },
        mb(after_first),
        mb(hello_peak),
    );
}
