//! DynamoDB round trips and capacity per SCIM operation, against moto, and the cost model built
//! from them. Run with `make bench` (it starts moto). Reports only; never fails on numbers.
//!
//! Round trips are measured (an interceptor counts every operation the store executes). Capacity:
//! moto reports a fixed figure for single-item operations and nothing for transactions, so the
//! table also gives an estimate of what real DynamoDB charges, from the measured calls, the item
//! counts of each transaction and the measured size of a user item, with DynamoDB's published
//! rules: a strongly consistent read is 1 RRU per 4 KB; a transactional write is 2 WRU per 1 KB
//! per item; a Query reads the page's bytes in 4 KB units.

#[path = "../common/mod.rs"]
mod common;

use common::moto;
use secrecy::ExposeSecret;

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response};
use serde_json::{json, Value};

use scim_server::auth::{Authenticator, EmbeddedTokenSource};
use scim_server::http::{App, HttpSettings};
use scim_server::service::ScimService;
use scim_server::tenant::TenantId;

const SEEDED: usize = 150;
/// The counter shards a count reads at most: 256 items of about 40 bytes (ARCHITECTURE.md,
/// "Counter shards").
const COUNTER_SHARDS_BYTES: usize = 256 * 40;
const REPS: usize = 20;

struct Bench {
    app: Arc<App>,
    auth: String,
    calls: scim_server::store::dynamo::calls::CallCounter,
    ids: Vec<String>,
}

impl Bench {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (Response<Bytes>, f64) {
        let req = Request::builder()
            .method(method)
            .uri(format!("/scim/v2{path}"))
            .header("host", "bench")
            .header("authorization", &self.auth)
            .header("content-type", "application/scim+json")
            .body(
                body.map(|b| Bytes::from(serde_json::to_vec(&b).unwrap()))
                    .unwrap_or_default(),
            )
            .unwrap();
        let (resp, stats) = self.app.handle_measured(req).await;
        assert!(
            resp.status().is_success(),
            "{path}: {} {}",
            resp.status(),
            String::from_utf8_lossy(resp.body())
        );
        (resp, stats.ddb_capacity())
    }
}

fn user(i: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": format!("cost{i}@example.com"),
        "externalId": format!("00u{i:08}"),
        "name": {"givenName": "Given", "familyName": format!("Family{i}")},
        "emails": [{"value": format!("cost{i}@example.com"), "type": "work", "primary": true}],
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Engineering", "employeeNumber": format!("{i}")}
    })
}

/// What one operation cost, averaged over its repetitions.
struct Measured {
    name: &'static str,
    minimum: &'static str,
    calls: Vec<String>,
    tx_items: Vec<usize>,
    moto_capacity: f64,
    page_items: usize,
}

fn ceil_div(a: usize, b: usize) -> usize {
    a.div_ceil(b)
}

impl Measured {
    /// (RRU, WRU) real DynamoDB would charge, per the rules in the module documentation.
    fn estimate(&self, user_item_bytes: usize) -> (f64, f64) {
        let mut rru = 0.0;
        let mut page_read = false;
        for c in &self.calls {
            match c.as_str() {
                "GetItem" => rru += 1.0,
                // A list page's second Query is the counter shards' (both are Queries, sent
                // concurrently): at most 256 items of about 40 bytes, the worst case of a tenant
                // whose writes touched every shard.
                "Query" if self.page_items > 1 && page_read => {
                    rru += ceil_div(COUNTER_SHARDS_BYTES, 4096) as f64
                }
                "Query" => {
                    page_read = true;
                    rru += ceil_div((self.page_items.max(1)) * user_item_bytes, 4096) as f64
                }
                _ => {}
            }
        }
        let user_kb = ceil_div(user_item_bytes, 1024);
        // The user item is the large one; guards, counters and records are under 1 KB.
        let wru: usize = self
            .tx_items
            .iter()
            .map(|n| 2 * (user_kb + n.saturating_sub(1)))
            .sum();
        (rru, wru as f64)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let client = moto::dynamo_client().await;
    let table = moto::new_table(&client).await;
    let (store, calls) = scim_server::store::DynamoStore::with_call_counter(&client, table);
    let tokens = Arc::new(EmbeddedTokenSource::new());
    let token = tokens
        .generate(&TenantId::parse("cost").unwrap(), None)
        .unwrap()
        .expose_secret()
        .to_owned();
    let settings = HttpSettings {
        public_base_url: None,
        default_scheme: "https",
    };
    let app = App::new(
        ScimService::new(Arc::new(store)),
        Authenticator::new(tokens),
        settings,
    );
    let mut b = Bench {
        app,
        auth: format!("Bearer {token}"),
        calls,
        ids: Vec::new(),
    };
    for i in 0..SEEDED {
        let (resp, _) = b.send(Method::POST, "/Users", Some(user(i))).await;
        let v: Value = serde_json::from_slice(resp.body()).unwrap();
        b.ids.push(v["id"].as_str().unwrap().to_owned());
    }
    let user_item_bytes = serde_json::to_vec(&user(SEEDED)).unwrap().len() + 150;
    b.calls.take();
    b.calls.take_transaction_items();

    type Step = Box<dyn Fn(&Bench, usize) -> (Method, String, Option<Value>)>;
    let ops: Vec<(&'static str, &'static str, usize, Step)> = vec![
        (
            "filter userName eq",
            "1-2",
            1,
            Box::new(|_, i| {
                (
                    Method::GET,
                    format!(
                        "/Users?filter=userName%20eq%20%22cost{}%40example.com%22",
                        i % SEEDED
                    ),
                    None,
                )
            }),
        ),
        (
            "filter externalId eq",
            "1-2",
            1,
            Box::new(|_, i| {
                (
                    Method::GET,
                    format!("/Users?filter=externalId%20eq%20%2200u{:08}%22", i % SEEDED),
                    None,
                )
            }),
        ),
        (
            "GET by id",
            "1",
            1,
            Box::new(|b, i| (Method::GET, format!("/Users/{}", b.ids[i]), None)),
        ),
        (
            "create",
            "1",
            1,
            Box::new(|_, i| (Method::POST, "/Users".into(), Some(user(10_000 + i)))),
        ),
        (
            "PUT (profile push)",
            "2",
            1,
            Box::new(|b, i| {
                let mut u = user(i);
                u["title"] = json!(format!("Title {i}"));
                (Method::PUT, format!("/Users/{}", b.ids[i]), Some(u))
            }),
        ),
        (
            "PATCH deactivate (no path)",
            "2",
            1,
            Box::new(|b, i| {
                (
                    Method::PATCH,
                    format!("/Users/{}", b.ids[i]),
                    Some(
                        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": false}}]}),
                    ),
                )
            }),
        ),
        (
            "PATCH Entra dialect",
            "2",
            1,
            Box::new(|b, i| {
                (
                    Method::PATCH,
                    format!("/Users/{}", b.ids[i]),
                    Some(
                        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": format!("new{i}@example.com")},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"}]}),
                    ),
                )
            }),
        ),
        (
            "list page of 100",
            "1 (+1)",
            100,
            Box::new(|_, _| (Method::GET, "/Users?startIndex=1&count=100".into(), None)),
        ),
        (
            "DELETE",
            "2",
            1,
            Box::new(|b, i| {
                (
                    Method::DELETE,
                    format!("/Users/{}", b.ids[SEEDED - 1 - i]),
                    None,
                )
            }),
        ),
    ];
    let mut measured = Vec::new();
    for (name, minimum, page_items, step) in &ops {
        let mut capacity = 0.0;
        let mut first_calls = Vec::new();
        let mut first_tx = Vec::new();
        for i in 0..REPS {
            let (m, path, body) = step(&b, i);
            let (_, cap) = b.send(m, &path, body).await;
            capacity += cap;
            let names = b.calls.take();
            let tx = b.calls.take_transaction_items();
            if i == 0 {
                first_calls = names;
                first_tx = tx;
            }
        }
        measured.push(Measured {
            name,
            minimum,
            calls: first_calls,
            tx_items: first_tx,
            moto_capacity: capacity / REPS as f64,
            page_items: *page_items,
        });
    }

    println!("DynamoDB round trips and capacity per SCIM operation (moto; user item ~{user_item_bytes} bytes)");
    println!(
        "| operation | DynamoDB calls | physical minimum | moto capacity | est. RRU | est. WRU |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut costs = std::collections::HashMap::new();
    for m in &measured {
        let (rru, wru) = m.estimate(user_item_bytes);
        costs.insert(m.name, (rru, wru, m.calls.len()));
        let calls = if m.calls.is_empty() {
            "none".to_owned()
        } else {
            format!("{} ({})", m.calls.len(), m.calls.join(" + "))
        };
        let tx = if m.tx_items.is_empty() {
            String::new()
        } else {
            format!(", tx items {:?}", m.tx_items)
        };
        println!(
            "| {} | {calls}{tx} | {} | {:.1} | {rru:.1} | {wru:.1} |",
            m.name, m.minimum, m.moto_capacity
        );
    }
    cost_model(&costs);
}

/// Cost per million operations of an IdP-like mix at published on-demand prices (us-east-1).
fn cost_model(costs: &std::collections::HashMap<&'static str, (f64, f64, usize)>) {
    const RRU_PER_MILLION: f64 = 0.125;
    const WRU_PER_MILLION: f64 = 0.625;
    const LAMBDA_REQUESTS_PER_MILLION: f64 = 0.20;
    const LAMBDA_GB_SECOND_ARM: f64 = 0.000_013_333_4;
    const MEMORY_GB: f64 = 0.125;
    const API_GATEWAY_HTTP_PER_MILLION: f64 = 1.00;
    const LOG_INGEST_PER_GB: f64 = 0.50;
    const LOG_LINE_BYTES: f64 = 450.0;
    // Assumed in-region DynamoDB latency per sequential round trip, and handler CPU.
    const MS_PER_ROUND_TRIP: f64 = 5.0;
    const HANDLER_MS: f64 = 1.0;
    let mix: &[(&str, f64)] = &[
        ("filter userName eq", 0.35),
        ("GET by id", 0.30),
        ("PATCH deactivate (no path)", 0.05),
        ("PATCH Entra dialect", 0.10),
        ("PUT (profile push)", 0.10),
        ("list page of 100", 0.04),
        ("create", 0.03),
        ("DELETE", 0.03),
    ];
    let (mut rru, mut wru, mut ms) = (0.0, 0.0, 0.0);
    for (name, share) in mix {
        let (r, w, calls) = costs.get(name).copied().unwrap_or_default();
        rru += share * r;
        wru += share * w;
        // A list page's two calls run concurrently.
        let sequential = if *name == "list page of 100" {
            1
        } else {
            calls
        };
        ms += share * (HANDLER_MS + MS_PER_ROUND_TRIP * sequential as f64);
    }
    let dynamo = rru * RRU_PER_MILLION + wru * WRU_PER_MILLION;
    let lambda =
        LAMBDA_REQUESTS_PER_MILLION + 1e6 * (ms / 1000.0) * MEMORY_GB * LAMBDA_GB_SECOND_ARM;
    let api = API_GATEWAY_HTTP_PER_MILLION;
    let logs = 1e6 * LOG_LINE_BYTES / 1e9 * LOG_INGEST_PER_GB;
    println!();
    println!("Cost per 1 million operations of the mix (35% userName filter, 30% GET, 15% PATCH, 10% PUT, 4% list, 3% create, 3% DELETE)");
    println!("prices: DynamoDB on-demand $0.125/M RRU, $0.625/M WRU; Lambda arm64 $0.20/M requests + $0.0000133334/GB-s at 128 MB;");
    println!("        API Gateway HTTP API $1.00/M; CloudWatch Logs ingestion $0.50/GB ({LOG_LINE_BYTES} bytes per request line)");
    println!("per operation: {rru:.2} RRU, {wru:.2} WRU, {ms:.1} ms billed Lambda time (assumes {MS_PER_ROUND_TRIP} ms per DynamoDB round trip)");
    println!("| part | $ per million operations |");
    println!("| --- | --- |");
    println!("| DynamoDB | {dynamo:.3} |");
    println!("| Lambda | {lambda:.3} |");
    println!("| API Gateway | {api:.3} |");
    println!("| CloudWatch Logs | {logs:.3} |");
    println!("| total | {:.3} |", dynamo + lambda + api + logs);
}
