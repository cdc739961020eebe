//! DynamoDB round trips and capacity per SCIM operation, against moto, and the cost model built
//! from them; then the write amplification of group references (`amplification.rs`). Run with
//! `make bench` (it starts moto). Reports only; never fails on numbers.
//!
//! Round trips are measured (an interceptor counts every operation the store executes). Capacity:
//! moto reports a fixed figure for single-item operations and nothing for transactions, so the
//! table also gives an estimate of what real DynamoDB charges, from the measured calls, the item
//! counts of each transaction and the sizes of the items as stored (read back raw and sized with
//! the store's `item_size`), with DynamoDB's published rules: a strongly consistent read is 1 RRU
//! per 4 KB of the item (a Query: of the items it read, together); a transactional write is 2 WRU
//! per 1 KB of the larger of the old and new item, rounded up per item; a standard write
//! (UpdateItem, PutItem, each BatchWriteItem request) 1 WRU per 1 KB. A user item carries its
//! group references (~110 bytes each, `store/dynamo/group_refs.rs`), so what a write of it costs
//! grows with its groups.
//!
//! The round trips and item counts do not depend on the build profile (`--profile dev` gives the
//! same table as `release`); only the wall times printed by the amplification part do.

#[path = "../common/mod.rs"]
mod common;

#[path = "dynamo_cost/amplification.rs"]
mod amplification;

use common::moto;
use secrecy::ExposeSecret;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use http::{Method, Request, Response};
use serde_json::{json, Value};

use scim_server::auth::{Authenticator, EmbeddedTokenSource};
use scim_server::http::{App, HttpSettings};
use scim_server::service::ScimService;
use scim_server::store::dynamo::item::{item_size, Item};
use scim_server::store::dynamo::keys::{self, Key, Partition};
use scim_server::tenant::TenantId;

/// Users seeded: enough for a page of 100 at `startIndex` 201 with more after it (a bookmark).
const SEEDED: usize = 330;
/// The counter shards a count reads at most: 256 items of about 40 bytes (ARCHITECTURE.md,
/// "Counter shards").
const COUNTER_SHARDS_BYTES: usize = 256 * 40;
const REPS: usize = 20;
/// The groups the users of the user operations are in ("a user in a few groups").
const FEW_GROUPS: usize = 3;
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub struct Bench {
    app: Arc<App>,
    auth: String,
    calls: scim_server::store::dynamo::calls::CallCounter,
    /// The table, its raw client and the store's call counter.
    fx: moto::DynamoFixture,
    tenant: TenantId,
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

    /// The answer's body as JSON (`null` for an empty one).
    async fn json(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (resp, _) = self.send(method, path, body).await;
        serde_json::from_slice(resp.body()).unwrap_or(Value::Null)
    }

    /// POST /Users; the new id.
    async fn create_user(&self, i: usize) -> String {
        let v = self.json(Method::POST, "/Users", Some(user(i))).await;
        v["id"].as_str().unwrap().to_owned()
    }

    /// POST /Groups with these user members; the new id.
    async fn create_group(&self, name: &str, members: &[String]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let body = json!({"schemas": [GROUP_URN], "displayName": name, "members": members});
        let v = self.json(Method::POST, "/Groups", Some(body)).await;
        v["id"].as_str().unwrap().to_owned()
    }

    /// An item as stored, read back raw (not through the store), and the calls log left as it
    /// was found.
    async fn raw(&self, key: &Key) -> Option<Item> {
        let item = moto::raw_get(&self.fx, &key.pk, &key.sk).await;
        self.calls.take();
        item
    }

    /// DynamoDB's size of an item as stored (0 when there is none).
    async fn size(&self, key: &Key) -> usize {
        self.raw(key).await.as_ref().map(item_size).unwrap_or(0)
    }

    async fn user_size(&self, id: &str) -> usize {
        self.size(&keys::user(&self.tenant, id)).await
    }

    /// The mean size of the users a list page reads: every item of the users' partition.
    async fn mean_user_size(&self) -> usize {
        let (mut bytes, mut n, mut start) = (0, 0, None);
        loop {
            let page = self
                .fx
                .client
                .query()
                .table_name(&self.fx.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(Partition::Users.pk(&self.tenant)),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            for item in page.items() {
                bytes += item_size(item);
                n += 1;
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        self.calls.take();
        bytes / n.max(1)
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

fn patch(ops: Value) -> Option<Value> {
    Some(json!({"schemas": [PATCH_URN], "Operations": ops}))
}

/// What an operation reads and writes, for the capacity estimate (sizes as stored).
#[derive(Clone, Copy, Default)]
struct Shape {
    /// Items the operation's main Query (a page of users, a group's members) or BatchGetItem
    /// reads, and their mean size.
    page: (usize, usize),
    /// Size of the user item it reads or writes.
    user_bytes: usize,
    /// User items in each of its transactions (every other item is under 1 KB).
    users_in_tx: usize,
    /// Items its BatchWriteItems delete (membership items, under 1 KB each).
    batch_written: usize,
    /// A list page: its second Query is the counter shards'.
    list: bool,
}

/// What one operation cost (its first repetition; moto's capacity averaged over all).
struct Measured {
    name: &'static str,
    minimum: &'static str,
    calls: Vec<String>,
    tx_items: Vec<usize>,
    moto_capacity: f64,
    shape: Shape,
}

fn ceil_div(a: usize, b: usize) -> usize {
    a.div_ceil(b)
}

/// Calls by name, in order of first appearance: `3 (GetItem + 2 Query)`.
pub fn tally(calls: &[String]) -> String {
    if calls.is_empty() {
        return "none".to_owned();
    }
    let mut order: Vec<&str> = Vec::new();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for c in calls {
        if !counts.contains_key(c.as_str()) {
            order.push(c);
        }
        *counts.entry(c).or_default() += 1;
    }
    let parts: Vec<String> = order
        .iter()
        .map(|c| match counts[c] {
            1 => (*c).to_owned(),
            n => format!("{n} {c}"),
        })
        .collect();
    format!("{} ({})", calls.len(), parts.join(" + "))
}

/// Write units of transactions of `tx_items` items, `users` of them user items of `user_bytes`
/// each: 2 WRU per KB of each item, rounded up per item (the others are under 1 KB).
pub fn tx_wru(tx_items: &[usize], users: usize, user_bytes: usize) -> usize {
    let user_kb = ceil_div(user_bytes, 1024);
    tx_items
        .iter()
        .map(|n| 2 * (users.min(*n) * user_kb + n.saturating_sub(users)))
        .sum()
}

impl Measured {
    /// (RRU, WRU) real DynamoDB would charge, per the rules in the module documentation.
    fn estimate(&self) -> (f64, f64) {
        let s = self.shape;
        let (mut rru, mut wru) = (0, 0);
        let mut queries = 0;
        let mut batch_written = false;
        for c in &self.calls {
            match c.as_str() {
                // A user, a guard, a group or a bookmark: all under 4 KB but a user in many
                // groups.
                "GetItem" => rru += ceil_div(s.user_bytes.max(1), 4096),
                "BatchGetItem" => rru += (s.page.0 * ceil_div(s.page.1, 4096)).max(1),
                "Query" => {
                    queries += 1;
                    rru += match queries {
                        1 => ceil_div((s.page.0 * s.page.1).max(1), 4096),
                        // Both Queries of a list page run concurrently: the page's and the
                        // counter shards' (at most 256 items of about 40 bytes, the worst case
                        // of a tenant whose writes touched every shard).
                        _ if s.list => ceil_div(COUNTER_SHARDS_BYTES, 4096),
                        // Keys of a few small items (memberships).
                        _ => 1,
                    }
                }
                // The bookmark a page leaves.
                "PutItem" => wru += 1,
                // A group's rename or deletion reaching one user member's item.
                "UpdateItem" => wru += ceil_div(s.user_bytes, 1024),
                "BatchWriteItem" if !batch_written => {
                    batch_written = true;
                    wru += s.batch_written
                }
                _ => {}
            }
        }
        wru += tx_wru(&self.tx_items, s.users_in_tx, s.user_bytes);
        (rru as f64, wru as f64)
    }
}

/// The sizes the estimate uses, as stored after the set-up.
struct Sizes {
    /// A seeded user in no group.
    plain: usize,
    /// A seeded user in [`FEW_GROUPS`] groups.
    grouped: usize,
    /// The mean over the users' partition (what a list page reads).
    mean: usize,
    /// A group -> member item.
    member: usize,
}

/// The groups of the set-up.
struct Groups {
    /// The target of the group GET and of the one-member PATCHes: 10 members.
    target: String,
    /// Renamed [`REPS`] times: 3 members.
    renamed: String,
    /// Deleted one per repetition: 3 members each.
    doomed: Vec<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let fx = moto::dynamo_fixture().await;
    let tokens = Arc::new(EmbeddedTokenSource::new());
    let tenant = TenantId::parse("cost").unwrap();
    let token = tokens
        .generate(&tenant, None)
        .unwrap()
        .expose_secret()
        .to_owned();
    let settings = HttpSettings {
        public_base_url: None,
        default_scheme: "https",
    };
    let app = App::new(
        ScimService::new(Arc::new(fx.store.clone())),
        Authenticator::new(tokens),
        settings,
    );
    let mut b = Bench {
        app,
        auth: format!("Bearer {token}"),
        calls: fx.calls.clone(),
        fx,
        tenant,
        ids: Vec::new(),
    };
    for i in 0..SEEDED {
        let id = b.create_user(i).await;
        b.ids.push(id);
    }
    let (groups, sizes) = set_up_groups(&b).await;
    b.calls.take();
    b.calls.take_transaction_items();

    let measured = measure(&b, &groups, &sizes).await;

    println!(
        "DynamoDB round trips and capacity per SCIM operation (moto; user item as stored: {} bytes in no group, {} in {FEW_GROUPS} groups, {} mean over the tenant; group -> member item {} bytes)",
        sizes.plain, sizes.grouped, sizes.mean, sizes.member
    );
    println!(
        "| operation | DynamoDB calls | physical minimum | moto capacity | est. RRU | est. WRU |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut costs = HashMap::new();
    for m in &measured {
        let (rru, wru) = m.estimate();
        costs.insert(m.name, (rru, wru, m.calls.len()));
        let tx = if m.tx_items.is_empty() {
            String::new()
        } else {
            format!(", tx items {:?}", m.tx_items)
        };
        println!(
            "| {} | {}{tx} | {} | {:.1} | {rru:.1} | {wru:.1} |",
            m.name,
            tally(&m.calls),
            m.minimum,
            m.moto_capacity
        );
    }
    cost_model(&costs);
    if std::env::var("DYNAMO_COST_AMPLIFICATION").as_deref() != Ok("0") {
        amplification::run(&b).await;
    }
}

/// The groups the group operations work on, users 0..20 and the last 20 (those the user
/// operations read, write and delete) in [`FEW_GROUPS`] groups, the bookmark of the page at
/// `startIndex` 201 (left by the page before it), and the item sizes as stored then.
async fn set_up_groups(b: &Bench) -> (Groups, Sizes) {
    let mut few: Vec<String> = b.ids[..REPS].to_vec();
    few.extend_from_slice(&b.ids[SEEDED - REPS..]);
    for g in 0..FEW_GROUPS {
        b.create_group(&format!("Few {g}"), &few).await;
    }
    let target = b.create_group("Target", &b.ids[20..30]).await;
    let renamed = b.create_group("Renamed", &b.ids[30..33]).await;
    let mut doomed = Vec::new();
    for i in 0..REPS {
        doomed.push(b.create_group(&format!("Doomed {i}"), &b.ids[33..36]).await);
    }
    b.send(Method::GET, "/Users?startIndex=101&count=100", None)
        .await;
    let sizes = Sizes {
        plain: b.user_size(&b.ids[100]).await,
        grouped: b.user_size(&b.ids[0]).await,
        mean: b.mean_user_size().await,
        member: b.size(&keys::member(&b.tenant, &target, &b.ids[20])).await,
    };
    (
        Groups {
            target,
            renamed,
            doomed,
        },
        sizes,
    )
}

type Step<'a> = Box<dyn Fn(&Bench, usize) -> (Method, String, Option<Value>) + 'a>;

/// Each operation [`REPS`] times, on the users and groups of the set-up.
async fn measure(b: &Bench, g: &Groups, sizes: &Sizes) -> Vec<Measured> {
    let user_read = |bytes| Shape {
        page: (1, bytes),
        user_bytes: bytes,
        ..Shape::default()
    };
    let user_write = |bytes| Shape {
        user_bytes: bytes,
        users_in_tx: 1,
        ..Shape::default()
    };
    let small = Shape {
        user_bytes: 1,
        ..Shape::default()
    };
    let ops: Vec<(&'static str, &'static str, Shape, Step)> = vec![
        (
            "filter userName eq",
            "1-2",
            user_read(sizes.grouped),
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
            user_read(sizes.grouped),
            Box::new(|_, i| {
                (
                    Method::GET,
                    format!("/Users?filter=externalId%20eq%20%2200u{:08}%22", i % SEEDED),
                    None,
                )
            }),
        ),
        (
            "filter emails[type eq \"work\"].value eq",
            "1-2",
            user_read(sizes.grouped),
            Box::new(|_, i| {
                (
                    Method::GET,
                    format!(
                        "/Users?filter=emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22cost{}%40example.com%22",
                        i % SEEDED
                    ),
                    None,
                )
            }),
        ),
        (
            "GET by id (user in 3 groups)",
            "1",
            user_read(sizes.grouped),
            Box::new(|b, i| (Method::GET, format!("/Users/{}", b.ids[i]), None)),
        ),
        (
            "create",
            "1",
            user_write(sizes.plain),
            Box::new(|_, i| (Method::POST, "/Users".into(), Some(user(10_000 + i)))),
        ),
        (
            "PUT (profile push, user in 3 groups)",
            "2",
            user_write(sizes.grouped),
            Box::new(|b, i| {
                let mut u = user(i);
                u["title"] = json!(format!("Title {i}"));
                (Method::PUT, format!("/Users/{}", b.ids[i]), Some(u))
            }),
        ),
        (
            "PATCH deactivate (no path, user in 3 groups)",
            "2",
            user_write(sizes.grouped),
            Box::new(|b, i| {
                (
                    Method::PATCH,
                    format!("/Users/{}", b.ids[i]),
                    patch(json!([{"op": "replace", "value": {"active": false}}])),
                )
            }),
        ),
        (
            "PATCH Entra dialect (user in 3 groups)",
            "2",
            user_write(sizes.grouped),
            Box::new(|b, i| {
                (
                    Method::PATCH,
                    format!("/Users/{}", b.ids[i]),
                    patch(json!([
                        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": format!("new{i}@example.com")},
                        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"}])),
                )
            }),
        ),
        (
            "list page of 100",
            "1 (+1)",
            Shape {
                page: (100, sizes.mean),
                list: true,
                ..Shape::default()
            },
            Box::new(|_, _| (Method::GET, "/Users?startIndex=1&count=100".into(), None)),
        ),
        (
            "list page of 100 at startIndex 201 (bookmark)",
            "2 (+1)",
            Shape {
                page: (100, sizes.mean),
                list: true,
                ..small
            },
            Box::new(|_, _| (Method::GET, "/Users?startIndex=201&count=100".into(), None)),
        ),
        (
            "DELETE (user in 3 groups)",
            "2",
            user_write(sizes.grouped),
            Box::new(|b, i| {
                (
                    Method::DELETE,
                    format!("/Users/{}", b.ids[SEEDED - 1 - i]),
                    None,
                )
            }),
        ),
        (
            "group GET (10 members)",
            "2",
            Shape {
                page: (10, sizes.member),
                ..small
            },
            Box::new(|_, _| (Method::GET, format!("/Groups/{}", g.target), None)),
        ),
        (
            "group PATCH add one member",
            "2",
            user_write(sizes.plain),
            Box::new(|b, i| {
                let member = json!([{"value": b.ids[40 + i]}]);
                group_patch(
                    &g.target,
                    json!({"op": "add", "path": "members", "value": member}),
                )
            }),
        ),
        (
            "group PATCH remove one member",
            "2",
            user_write(sizes.plain),
            Box::new(|b, i| {
                let path = format!("members[value eq \"{}\"]", b.ids[40 + i]);
                group_patch(&g.target, json!({"op": "remove", "path": path}))
            }),
        ),
        (
            "group rename (3 members)",
            "2 (+1 per member)",
            small_with(sizes.plain),
            Box::new(|_, i| {
                (
                    Method::PATCH,
                    format!("/Groups/{}", g.renamed),
                    patch(
                        json!([{"op": "replace", "path": "displayName", "value": format!("Renamed {i}")}]),
                    ),
                )
            }),
        ),
        (
            "group DELETE (3 members)",
            "2 (+ clean-up)",
            Shape {
                batch_written: 6,
                ..small_with(sizes.plain)
            },
            Box::new(|_, i| (Method::DELETE, format!("/Groups/{}", g.doomed[i]), None)),
        ),
    ];
    let mut measured = Vec::new();
    for (name, minimum, shape, step) in &ops {
        let mut capacity = 0.0;
        let mut first_calls = Vec::new();
        let mut first_tx = Vec::new();
        for i in 0..REPS {
            let (m, path, body) = step(b, i);
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
            shape: *shape,
        });
    }
    measured
}

/// A PATCH of group `id` with one operation.
fn group_patch(id: &str, op: Value) -> (Method, String, Option<Value>) {
    (Method::PATCH, format!("/Groups/{id}"), patch(json!([op])))
}

/// A group write: no user item in its transaction, `user_bytes` for the UpdateItems that reach
/// its user members.
fn small_with(user_bytes: usize) -> Shape {
    Shape {
        user_bytes,
        ..Shape::default()
    }
}

/// Cost per million operations of an IdP-like mix at published on-demand prices (us-east-1).
fn cost_model(costs: &HashMap<&'static str, (f64, f64, usize)>) {
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
        ("GET by id (user in 3 groups)", 0.30),
        ("PATCH deactivate (no path, user in 3 groups)", 0.05),
        ("PATCH Entra dialect (user in 3 groups)", 0.10),
        ("PUT (profile push, user in 3 groups)", 0.10),
        ("list page of 100", 0.04),
        ("create", 0.03),
        ("DELETE (user in 3 groups)", 0.03),
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
