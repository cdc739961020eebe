//! The write amplification of group references (`store/dynamo/group_refs.rs`): a user's groups
//! are kept on its item, so a GET, PATCH, PUT or DELETE of a user saves the Query of its
//! memberships, and in exchange (a) the user item grows with its groups (up to
//! `MAX_INLINE_GROUPS` references) and every write of it costs by that size, (b) a membership add
//! updates the user item instead of checking it, (c) a group's rename and deletion reach every
//! user member's item with one UpdateItem each.
//!
//! Measured on moto with the call interceptor (calls, items per transaction) and the items as
//! stored (read back raw, sized with the store's `item_size`); capacity estimated with
//! DynamoDB's rules (module documentation of `dynamo_cost.rs`). Group sizes:
//! `DYNAMO_COST_GROUP_SIZES` (default `1000,5000`; each size reuses the users of the one before).

use std::time::{Duration, Instant};

use http::Method;
use serde_json::json;

use scim_server::store::dynamo::group_refs::MAX_INLINE_GROUPS;
use scim_server::store::dynamo::keys;

use super::{ceil_div, patch, tally, tx_wru, Bench};

/// The most members one request may name (`scim::members::MAX_MEMBERS_PER_REQUEST`).
const MEMBERS_PER_PATCH: usize = 1_000;
/// The store's fan-out of a rename's or a group deletion's UpdateItems (`group_refs.rs`), and of
/// BatchWriteItems (`batch.rs`).
const UPDATES_IN_FLIGHT: usize = 16;
const BATCH_WRITES_IN_FLIGHT: usize = 8;
/// The latency the cost model assumes per sequential DynamoDB round trip in-region.
const MS_PER_ROUND_TRIP: f64 = 5.0;
/// The largest group the extrapolation prices.
const LARGEST: usize = 50_000;
/// DynamoDB stops a Query page at 1 MB of items read.
const QUERY_PAGE_BYTES: usize = 1 << 20;

pub async fn run(b: &Bench) {
    println!();
    println!(
        "Group references: write amplification (moto; item sizes as stored; capacity estimated)"
    );
    let t = Instant::now();
    many_groups(b).await;
    eprintln!("(a) took {:.1} s", t.elapsed().as_secs_f64());
    let sizes: Vec<usize> = std::env::var("DYNAMO_COST_GROUP_SIZES")
        .unwrap_or_else(|_| "1000,5000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    big_groups(b, &sizes).await;
}

/// (a) One user in 0, 10, 100, 250 and 1,000 groups: its item's size, what a GET and a PATCH of
/// it cost, and what adding it to its last group cost.
async fn many_groups(b: &Bench) {
    let u = b.create_user(50_000).await;
    println!();
    println!(
        "(a) one user in more and more groups (at most {MAX_INLINE_GROUPS} references on its item)"
    );
    println!("| groups | user item bytes | GET by id: DynamoDB calls | est. RRU | PATCH: tx items, est. WRU | adding the user to its last group: tx items, est. WRU | before (references not on the item): GET calls, est. RRU; PATCH calls, est. WRU |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut groups: Vec<String> = Vec::new();
    let (mut member_of_bytes, mut group_bytes) = (0, 0);
    let bare = b.user_size(&u).await;
    for target in [0usize, 10, 100, 250, 1_000] {
        let mut last_add = String::from("-");
        while groups.len() < target {
            let before = b.user_size(&u).await;
            b.calls.take_transaction_items();
            let name = format!("Many {:04}", groups.len());
            groups.push(b.create_group(&name, std::slice::from_ref(&u)).await);
            if groups.len() == target {
                let tx = b.calls.take_transaction_items();
                let after = b.user_size(&u).await;
                let wru = tx_wru(&tx, 1, before.max(after));
                last_add = format!("{tx:?}, {wru}");
            }
        }
        if member_of_bytes == 0 && !groups.is_empty() {
            member_of_bytes = b.size(&keys::member_of(&b.tenant, &u, &groups[0])).await;
            group_bytes = b.size(&keys::group(&b.tenant, &groups[0])).await;
        }
        // The tenant's settings are read once a minute: refresh them now, so that the GET
        // measured is the user's reads alone.
        b.send(Method::GET, "/Users?count=1", None).await;
        b.calls.take();
        b.calls.take_query_reads();
        b.send(Method::GET, &format!("/Users/{u}"), None).await;
        let get_calls = b.calls.take();
        let reads = b.calls.take_query_reads();
        let size = b.user_size(&u).await;
        // The user item, then (past the limit) its member -> group items and the groups.
        let mut rru = ceil_div(size, 4096);
        rru += reads
            .iter()
            .map(|r| ceil_div((r.scanned * member_of_bytes).max(1), 4096))
            .sum::<usize>();
        if get_calls.iter().any(|c| c == "BatchGetItem") {
            rru += groups.len() * ceil_div(group_bytes, 4096);
        }
        b.calls.take_transaction_items();
        let title =
            json!([{"op": "replace", "path": "title", "value": format!("In {target} groups")}]);
        b.send(Method::PATCH, &format!("/Users/{u}"), patch(title))
            .await;
        let tx = b.calls.take_transaction_items();
        let after = b.user_size(&u).await;
        let wru = tx_wru(&tx, 1, size.max(after));
        // Before: the user item without references, its member -> group items read by a Query
        // and the groups by BatchGetItems of 100 (strongly consistent: 1 RRU per group item).
        let batches = target.div_ceil(100);
        let before_rru = ceil_div(bare, 4096)
            + ceil_div((target * member_of_bytes).max(1), 4096)
            + target * ceil_div(group_bytes.max(1), 4096);
        let before_wru = tx_wru(&tx, 1, bare);
        println!(
            "| {target} | {size} | {} | {rru} | {tx:?}, {wru} | {last_add} | {}, {before_rru}; {}, {before_wru} |",
            tally(&get_calls),
            2 + batches,
            3 + batches,
        );
    }
    println!("(member -> group item {member_of_bytes} bytes, group item {group_bytes} bytes)");
}

/// What one step of [`big_groups`] did.
struct Step {
    calls: Vec<String>,
    tx: Vec<usize>,
    time: Duration,
}

async fn step(b: &Bench, requests: Vec<(Method, String, Option<serde_json::Value>)>) -> Step {
    b.calls.take();
    b.calls.take_transaction_items();
    let t = Instant::now();
    for (m, path, body) in requests {
        b.send(m, &path, body).await;
    }
    Step {
        time: t.elapsed(),
        calls: b.calls.take(),
        tx: b.calls.take_transaction_items(),
    }
}

fn count(calls: &[String], name: &str) -> usize {
    calls.iter().filter(|c| *c == name).count()
}

/// (b) and (c): a group of `n` user members, filled with PATCHes of 1,000 adds, renamed, then
/// deleted; for each `n` in `sizes`.
async fn big_groups(b: &Bench, sizes: &[usize]) {
    let mut users: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    let (mut user_bytes, mut member_bytes) = (0, 0);
    for &n in sizes {
        let t = Instant::now();
        while users.len() < n {
            users.push(b.create_user(200_000 + users.len()).await);
        }
        let seeding = t.elapsed();
        let g = b.create_group(&format!("Big {n}"), &[]).await;
        let adds = users[..n]
            .chunks(MEMBERS_PER_PATCH)
            .map(|chunk| {
                let members: Vec<_> = chunk.iter().map(|id| json!({"value": id})).collect();
                (
                    Method::PATCH,
                    format!("/Groups/{g}"),
                    patch(json!([{"op": "add", "path": "members", "value": members}])),
                )
            })
            .collect();
        let add = step(b, adds).await;
        user_bytes = b.user_size(&users[0]).await;
        member_bytes = b.size(&keys::member(&b.tenant, &g, &users[0])).await;
        let rename = step(
            b,
            vec![(
                Method::PATCH,
                format!("/Groups/{g}"),
                patch(json!([{"op": "replace", "path": "displayName", "value": format!("Big {n} renamed")}])),
            )],
        )
        .await;
        let delete = step(b, vec![(Method::DELETE, format!("/Groups/{g}"), None)]).await;
        rows.push((n, seeding, add, rename, delete));
    }
    let user_kb = ceil_div(user_bytes, 1024);
    println!();
    println!("(b) PATCH adding members to a group, {MEMBERS_PER_PATCH} per request (a member's user item as stored after: {user_bytes} bytes; group -> member item {member_bytes} bytes)");
    println!("| members | requests | TransactWriteItems | items (per tx) | est. WRU now | est. WRU before (a check per add) | est. WRU now if every member were in {MAX_INLINE_GROUPS} groups | wall time on moto |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (n, _, add, _, _) in &rows {
        let items: usize = add.tx.iter().sum();
        let small = items - n;
        // Now: each add updates the member's user item (2 WRU per KB of it); before: a
        // ConditionCheck of a user item that held no references (under 1 KB: 2 WRU).
        let now = 2 * (n * user_kb + small);
        let before = 2 * items;
        let full = 2 * (n * ceil_div(full_user_bytes(user_bytes), 1024) + small);
        println!(
            "| {n} | {} | {} | {items} ({}..{}) | {now} | {before} | {full} | {:.1} s |",
            n.div_ceil(MEMBERS_PER_PATCH),
            add.tx.len(),
            add.tx.iter().min().unwrap_or(&0),
            add.tx.iter().max().unwrap_or(&0),
            add.time.as_secs_f64()
        );
    }
    println!();
    println!("(c) rename and DELETE of a group of N user members");
    println!("| members | operation | DynamoDB calls | est. WRU | wall time on moto |");
    println!("| --- | --- | --- | --- | --- |");
    for (n, seeding, _, rename, delete) in &rows {
        let wru = tx_wru(&rename.tx, 0, 0) + count(&rename.calls, "UpdateItem") * user_kb;
        println!(
            "| {n} | rename | {} | {wru} | {:.1} s |",
            tally(&rename.calls),
            rename.time.as_secs_f64()
        );
        let wru = tx_wru(&delete.tx, 0, 0) + count(&delete.calls, "UpdateItem") * user_kb + 2 * n;
        println!(
            "| {n} | DELETE | {} | {wru} | {:.1} s |",
            tally(&delete.calls),
            delete.time.as_secs_f64()
        );
        eprintln!("(seeding {n} users took {:.1} s)", seeding.as_secs_f64());
    }
    extrapolate(member_bytes, user_kb);
}

/// A user item with [`MAX_INLINE_GROUPS`] references: `user_bytes` holds one.
fn full_user_bytes(user_bytes: usize) -> usize {
    user_bytes + (MAX_INLINE_GROUPS as usize - 1) * 110
}

/// The rename and the deletion of a [`LARGEST`]-member group, from the per-member costs above.
fn extrapolate(member_bytes: usize, user_kb: usize) {
    let n = LARGEST;
    let per_page = QUERY_PAGE_BYTES / member_bytes.max(1);
    let pages = n.div_ceil(per_page);
    let batches = (2 * n).div_ceil(25);
    let updates_ms = n.div_ceil(UPDATES_IN_FLIGHT) as f64 * MS_PER_ROUND_TRIP;
    let batches_ms = batches.div_ceil(BATCH_WRITES_IN_FLIGHT) as f64 * MS_PER_ROUND_TRIP;
    let pages_ms = pages as f64 * MS_PER_ROUND_TRIP;
    println!();
    println!("Extrapolated to {n} members (linear; {per_page} member keys per 1 MB Query page, {MS_PER_ROUND_TRIP} ms per round trip, {UPDATES_IN_FLIGHT} UpdateItems and {BATCH_WRITES_IN_FLIGHT} BatchWriteItems in flight):");
    println!(
        "  DELETE: 3 + ceil(N / {per_page}) Query + N UpdateItem + ceil(2N / 25) BatchWriteItem = {} calls, {} WRU (N x {user_kb} + 2N + the transaction), about {:.1} s (before group references: {} calls, {} WRU, {:.1} s)",
        3 + pages + n + batches,
        n * user_kb + 2 * n,
        (pages_ms + updates_ms + batches_ms + 3.0 * MS_PER_ROUND_TRIP) / 1000.0,
        3 + pages + batches,
        2 * n,
        (pages_ms + batches_ms + 3.0 * MS_PER_ROUND_TRIP) / 1000.0,
    );
    println!(
        "  rename: ceil(N / {per_page}) Query + N UpdateItem = {} calls, {} WRU, about {:.1} s after the group's own write (before: none)",
        pages + n,
        n * user_kb,
        (pages_ms + updates_ms) / 1000.0
    );
}
