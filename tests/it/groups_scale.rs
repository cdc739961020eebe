//! A large group on DynamoDB (moto), built the way IdPs build one: PATCH requests adding at most
//! 1,000 members each. What must hold at any size: a read without members is one GetItem,
//! removing one member is one transaction, and the group and its members' `groups` agree.
//!
//! The regular suite runs it with 300 members (PATCHes of 100). The 50,000-member run is
//! ignored by default; `make test-scale` runs it:
//!
//!     VENV=.venv tests/tools/with_moto.sh cargo test --release --test it -- --ignored --nocapture groups_scale::
//!
//! It prints how long each phase took (moto serves about 250 transactions a second, so the
//! timings say more about moto than about DynamoDB; the round trips are what is asserted).

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use http::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::task::JoinSet;

use common::moto::dynamo_fixture;
use common::requests::{enc, patch_group, user_group_pairs};
use common::{new_app_with_store, user_body, TestApp};
use scim_server::store::GroupStore;

/// Requests in flight while seeding users.
const SEEDERS: usize = 16;

/// Create `n` users through POST /Users, `SEEDERS` at a time; their ids in creation order.
async fn seed_users(t: &TestApp, n: usize) -> Vec<String> {
    let mut ids = vec![String::new(); n];
    let mut set = JoinSet::new();
    for w in 0..SEEDERS {
        let t = t.clone();
        set.spawn(async move {
            let mut mine = Vec::new();
            for i in (w..n).step_by(SEEDERS) {
                let a = t
                    .call(
                        Method::POST,
                        "/Users",
                        Some(user_body(&format!("scale{i}@example.com"))),
                    )
                    .await;
                assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
                mine.push((i, a.body["id"].as_str().unwrap_or_default().to_owned()));
            }
            mine
        });
    }
    for (i, id) in set.join_all().await.into_iter().flatten() {
        ids[i] = id;
    }
    ids
}

/// A group PATCH that answers without a body; its status.
async fn patch(t: &TestApp, gid: &str, ops: Value) -> StatusCode {
    let a = patch_group(t, gid, ops).await;
    assert!(a.body.is_null(), "{}", a.body);
    a.status
}

async fn build_and_check(size: usize, per_patch: usize) {
    let fx = dynamo_fixture().await;
    let calls = fx.calls.clone();
    let store = fx.store.clone();
    let t = new_app_with_store(Arc::new(fx.store));
    let started = Instant::now();

    let users = seed_users(&t, size + 1).await;
    let (members, outsider) = users.split_at(size);
    eprintln!(
        "{size}: created {} users in {:.1?}",
        size + 1,
        started.elapsed()
    );

    let a = t
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "Everyone"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let gid = a.body["id"].as_str().unwrap_or_default().to_owned();

    // Build the group: PATCHes of at most `per_patch` members, each ceil(k / 32) transactions (with the audit record).
    let building = Instant::now();
    let mut transactions = 0;
    for chunk in members.chunks(per_patch) {
        let value: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
        calls.take();
        let status = patch(
            &t,
            &gid,
            json!([{"op": "add", "path": "members", "value": value}]),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let ops = calls.take();
        let txs = ops.iter().filter(|o| *o == "TransactWriteItems").count();
        assert_eq!(txs, chunk.len().div_ceil(32), "{ops:?}");
        transactions += txs;
    }
    eprintln!(
        "{size}: added {size} members in {} PATCHes ({transactions} transactions) in {:.1?}",
        size.div_ceil(per_patch),
        building.elapsed()
    );

    // A read without members is one GetItem, whatever the size; the version counts the chunks.
    calls.take();
    let a = t
        .call(
            Method::GET,
            &format!("/Groups/{gid}?excludedAttributes=members"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(calls.take(), ["GetItem"], "members-free GET");
    let etag = format!("W/\"{}\"", 1 + transactions);
    assert_eq!(a.header("etag"), Some(etag.as_str()));

    // Every member is there once: the store's member list (paged), and the users' filter.
    let checking = Instant::now();
    let mut listed = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_members(&t.tenant, &gid, cursor.as_deref(), 1_000)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        listed.extend(page.members.into_iter().map(|m| m.value));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let wanted: BTreeSet<String> = members.iter().cloned().collect();
    assert_eq!(listed, wanted);
    let f = enc(&format!("groups.value eq \"{gid}\""));
    let a = t
        .call(Method::GET, &format!("/Users?filter={f}&count=10"), None)
        .await;
    assert_eq!(a.body["totalResults"].as_u64(), Some(size as u64));
    if size <= scim_server::service::MAX_MEMBERS_PER_RESPONSE {
        let a = t.call(Method::GET, &format!("/Groups/{gid}"), None).await;
        let got: BTreeSet<String> = a.body["members"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .filter_map(|m| m["value"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(got, wanted);
    } else {
        let a = t.call(Method::GET, &format!("/Groups/{gid}"), None).await;
        a.assert_error(400, Some("tooMany"));
    }

    // The members' side agrees: a sample of members spread over the whole list lists the
    // group, and a user outside it lists none.
    let step = (size / 25).max(1);
    for uid in members.iter().step_by(step) {
        assert_eq!(
            user_group_pairs(&t, uid).await,
            [(gid.clone(), "Everyone".to_owned())]
        );
    }
    assert!(user_group_pairs(&t, &outsider[0]).await.is_empty());
    eprintln!("{size}: checked both sides in {:.1?}", checking.elapsed());

    // Removing one member (Entra's form): the record, whether it is a member, one transaction.
    let leaver = &members[size / 2];
    calls.take();
    let status = patch(
        &t,
        &gid,
        json!([{"op": "Remove", "path": "members", "value": [{"value": leaver}]}]),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let mut ops = calls.take();
    ops.sort();
    assert_eq!(
        ops,
        ["BatchGetItem", "GetItem", "TransactWriteItems"],
        "removing one member"
    );
    assert!(user_group_pairs(&t, leaver).await.is_empty());
    let a = t
        .call(Method::GET, &format!("/Users?filter={f}&count=0"), None)
        .await;
    assert_eq!(a.body["totalResults"].as_u64(), Some(size as u64 - 1));
    eprintln!("{size}: whole run {:.1?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_of_300_built_by_patches_of_100() {
    build_and_check(300, 100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "50,000 users and memberships on moto take minutes: make test-scale"]
async fn a_group_of_50000_built_by_patches_of_1000() {
    build_and_check(50_000, 1_000).await;
}
