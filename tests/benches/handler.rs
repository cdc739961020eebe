//! Handler cost: the router on the embedded store, per operation of an IdP-like mix.
//!
//! `make bench` runs it. It reports time per operation (criterion) and, in a first pass,
//! heap allocations per operation (a counting allocator). Reports only; it never fails on time.

use secrecy::ExposeSecret;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use criterion::{criterion_group, BatchSize, Criterion};
use http::{Method, Request};
use scim_server::config::{Config, LogFormat};
use scim_server::http::App;
use scim_server::runtime;
use scim_server::tenant::TenantId;
use serde_json::{json, Value};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SEEDED_USERS: usize = 1_000;

struct Fixture {
    rt: tokio::runtime::Runtime,
    app: Arc<App>,
    auth: String,
    ids: Vec<String>,
}

fn request(fx: &Fixture, method: Method, path: &str, body: Option<&Value>) -> Request<Bytes> {
    let b = Request::builder()
        .method(method)
        .uri(format!("/scim/v2{path}"))
        .header("host", "bench.local")
        .header("authorization", &fx.auth)
        .header("content-type", "application/scim+json");
    b.body(
        body.map(|v| Bytes::from(serde_json::to_vec(v).unwrap()))
            .unwrap_or_default(),
    )
    .unwrap()
}

fn call(fx: &Fixture, req: Request<Bytes>) -> http::Response<Bytes> {
    let resp = fx.rt.block_on(fx.app.handle(req));
    assert!(
        resp.status().is_success(),
        "{}: {}",
        resp.status(),
        String::from_utf8_lossy(resp.body())
    );
    resp
}

fn user(i: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": format!("user{i}@example.com"),
        "externalId": format!("00u{i:08}"),
        "name": {"givenName": "Given", "familyName": format!("Family{i}")},
        "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true}],
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Engineering", "employeeNumber": format!("{i}")}
    })
}

fn fixture() -> Fixture {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = Config {
        table_name: None,
        secret_prefix: None,
        public_base_url: None,
        log_format: LogFormat::Text,
        ..Config::default()
    };
    let built = rt.block_on(runtime::build(&config, "http")).unwrap();
    let token = built
        .embedded_tokens
        .as_ref()
        .unwrap()
        .generate(&TenantId::parse("bench").unwrap(), None)
        .unwrap()
        .expose_secret()
        .to_owned();
    let mut fx = Fixture {
        rt,
        app: built.app,
        auth: format!("Bearer {token}"),
        ids: Vec::new(),
    };
    for i in 0..SEEDED_USERS {
        let resp = call(&fx, request(&fx, Method::POST, "/Users", Some(&user(i))));
        let v: Value = serde_json::from_slice(resp.body()).unwrap();
        fx.ids.push(v["id"].as_str().unwrap().to_owned());
    }
    fx
}

/// One operation of the mix: a name and a request builder given an iteration number.
type Op = (&'static str, Box<dyn Fn(&Fixture, usize) -> Request<Bytes>>);

fn mix() -> Vec<Op> {
    let put_body = |fx: &Fixture, i: usize| {
        let mut u = user(i % SEEDED_USERS);
        u["id"] = json!(fx.ids[i % SEEDED_USERS]);
        u["title"] = json!(format!("Title {}", i % 7));
        u
    };
    vec![
        (
            "filter userName eq",
            Box::new(|fx, i| {
                request(
                    fx,
                    Method::GET,
                    &format!(
                        "/Users?filter=userName%20eq%20%22user{}%40example.com%22",
                        i % SEEDED_USERS
                    ),
                    None,
                )
            }),
        ),
        (
            "get by id",
            Box::new(|fx, i| {
                request(
                    fx,
                    Method::GET,
                    &format!("/Users/{}", fx.ids[i % SEEDED_USERS]),
                    None,
                )
            }),
        ),
        (
            "put (Okta profile push)",
            Box::new(move |fx, i| {
                request(
                    fx,
                    Method::PUT,
                    &format!("/Users/{}", fx.ids[i % SEEDED_USERS]),
                    Some(&put_body(fx, i)),
                )
            }),
        ),
        (
            "patch no-path deactivate (Okta)",
            Box::new(|fx, i| {
                let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": i % 2 == 0}}]});
                request(
                    fx,
                    Method::PATCH,
                    &format!("/Users/{}", fx.ids[i % SEEDED_USERS]),
                    Some(&body),
                )
            }),
        ),
        (
            "patch Entra dialect",
            Box::new(|fx, i| {
                let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                    {"op": "Replace", "path": "active", "value": if i % 2 == 0 { "False" } else { "True" }},
                    {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": format!("u{i}@example.com")},
                    {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": format!("Dept {}", i % 5)}
                ]});
                request(
                    fx,
                    Method::PATCH,
                    &format!("/Users/{}", fx.ids[i % SEEDED_USERS]),
                    Some(&body),
                )
            }),
        ),
        (
            "list page of 100",
            Box::new(|fx, i| {
                request(
                    fx,
                    Method::GET,
                    &format!("/Users?startIndex={}&count=100", 1 + (i % 9) * 100),
                    None,
                )
            }),
        ),
    ]
}

fn bench_mix(c: &mut Criterion) {
    let fx = fixture();
    let mut group = c.benchmark_group("handler");
    for (name, make) in mix() {
        let mut i = 0usize;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    i += 1;
                    make(&fx, i)
                },
                |req| call(&fx, req),
                BatchSize::SmallInput,
            )
        });
    }
    let mut n = SEEDED_USERS * 10;
    group.bench_function("create", |b| {
        b.iter_batched(
            || {
                n += 1;
                request(&fx, Method::POST, "/Users", Some(&user(n)))
            },
            |req| call(&fx, req),
            BatchSize::SmallInput,
        )
    });
    let mut d = SEEDED_USERS * 1_000_000;
    group.bench_function("delete", |b| {
        b.iter_batched(
            || {
                d += 1;
                let resp = call(&fx, request(&fx, Method::POST, "/Users", Some(&user(d))));
                let v: Value = serde_json::from_slice(resp.body()).unwrap();
                request(
                    &fx,
                    Method::DELETE,
                    &format!("/Users/{}", v["id"].as_str().unwrap()),
                    None,
                )
            },
            |req| call(&fx, req),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// Allocations per operation, averaged over 1,000 requests (request building excluded).
fn report_allocations() {
    let fx = fixture();
    println!("\nheap allocations per operation (embedded store, {SEEDED_USERS} users):");
    for (name, make) in mix() {
        let mut total = 0;
        for i in 0..1_000 {
            let req = make(&fx, i);
            let before = ALLOCS.load(Ordering::Relaxed);
            let resp = call(&fx, req);
            total += ALLOCS.load(Ordering::Relaxed) - before;
            drop(resp);
        }
        println!("  {name:<34} {:>8.1}", total as f64 / 1_000.0);
    }
    let users_before = ALLOCS.load(Ordering::Relaxed);
    let _ = users_before;
}

criterion_group!(benches, bench_mix);

fn main() {
    report_allocations();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
