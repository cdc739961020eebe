//! A user's group references on its DynamoDB item (`store/dynamo/group_refs.rs`): one GetItem
//! answers a user with its `groups`, a PATCH/PUT/DELETE is one GetItem and one transaction, and
//! the references stay exact through renames, deletions, concurrency, items written before them
//! and users in more groups than the item holds.

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use http::{Method, StatusCode};
use serde_json::json;
use tokio::task::JoinSet;

use common::moto::{dynamo_fixture, raw_get, DynamoFixture};
use common::requests::{create_group, id_of, patch_group, patch_user, seed_user, user_group_pairs};
use common::{new_app_with_store, TestApp};
use scim_server::store::dynamo::group_refs::{
    INLINE_COUNT, MAX_INLINE_GROUPS, OVERFLOW, REF_PREFIX,
};
use scim_server::store::GroupStore;
use scim_server::tenant::TenantId;

fn acme() -> TenantId {
    TenantId::parse("acme").unwrap()
}

/// The app on a fresh table, and the fixture behind it (its call counter and raw client).
async fn app() -> (TestApp, DynamoFixture) {
    let fx = dynamo_fixture().await;
    let t = new_app_with_store(Arc::new(fx.store.clone()));
    // Warm the tenant's settings (one GetItem a minute): the costs below are a warm tenant's.
    t.call(Method::GET, "/Users?count=1", None).await;
    (t, fx)
}

/// The sorted DynamoDB operations one request made.
async fn cost(
    fx: &DynamoFixture,
    a: impl std::future::Future<Output = common::Answer>,
) -> (common::Answer, Vec<String>) {
    common::moto::costed!(fx.calls, a.await)
}

/// The groups a user's answer lists, as (id, display).
async fn groups_of(t: &TestApp, user: &str) -> BTreeSet<(String, String)> {
    user_group_pairs(t, user).await.into_iter().collect()
}

/// The group ids the store's member -> group items name (the older, independent record).
async fn reverse_items(fx: &DynamoFixture, user: &str) -> BTreeSet<String> {
    fx.store
        .groups_of(&acme(), user)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect()
}

/// The group lists no members.
async fn assert_no_members(t: &TestApp, group: &str) {
    let a = t.call(Method::GET, &format!("/Groups/{group}"), None).await;
    assert!(
        common::requests::member_ids(&a.body).is_empty(),
        "{group}: {}",
        a.body
    );
}

async fn etag(t: &TestApp, path: &str) -> String {
    t.call(Method::GET, path, None)
        .await
        .header("etag")
        .unwrap_or_default()
        .to_owned()
}

/// Rewrite a user item as versions before group references wrote it: no count, no references.
async fn make_legacy(fx: &DynamoFixture, user: &str) {
    let item = raw_get(fx, "T#acme#USER", user).await.unwrap();
    let old: std::collections::HashMap<String, AttributeValue> = item
        .into_iter()
        .filter(|(k, _)| !k.starts_with(REF_PREFIX) && k != INLINE_COUNT)
        .collect();
    fx.client
        .put_item()
        .table_name(&fx.table)
        .set_item(Some(old))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_user_in_a_few_groups_is_one_read_and_its_writes_one_read_and_one_transaction() {
    let (t, fx) = app().await;
    let u = seed_user(&t, "few@example.com").await;
    let mut groups = Vec::new();
    for name in ["Admins", "Sales", "Support"] {
        groups.push(id_of(&create_group(&t, name, &[&u]).await));
    }
    let path = format!("/Users/{u}");

    let (a, ops) = cost(&fx, t.call(Method::GET, &path, None)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(ops, ["GetItem"], "GET by id with three groups");
    let shown: BTreeSet<&str> = a.body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["display"].as_str().unwrap())
        .collect();
    assert_eq!(shown, BTreeSet::from(["Admins", "Sales", "Support"]));

    let (a, ops) = cost(
        &fx,
        patch_user(
            &t,
            &u,
            json!([{"op": "replace", "path": "title", "value": "Lead"}]),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(ops, ["GetItem", "TransactWriteItems"], "PATCH");
    assert_eq!(
        a.body["groups"].as_array().map(Vec::len),
        Some(3),
        "{}",
        a.body
    );

    let mut put = common::user_body("few@example.com");
    put["title"] = json!("Manager");
    let (a, ops) = cost(&fx, t.call(Method::PUT, &path, Some(put))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(ops, ["GetItem", "TransactWriteItems"], "PUT");
    assert_eq!(a.body["groups"].as_array().map(Vec::len), Some(3));

    let before: Vec<String> = {
        let mut v = Vec::new();
        for g in &groups {
            v.push(etag(&t, &format!("/Groups/{g}?excludedAttributes=members")).await);
        }
        v
    };
    let (a, ops) = cost(&fx, t.call(Method::DELETE, &path, None)).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        ops,
        ["GetItem", "TransactWriteItems"],
        "DELETE, memberships with it"
    );
    for (g, was) in groups.iter().zip(before) {
        assert_no_members(&t, g).await;
        assert_ne!(
            a.header("etag").unwrap_or_default(),
            was,
            "a group that lost a member has a new version"
        );
    }
    assert!(reverse_items(&fx, &u).await.is_empty());
}

#[tokio::test]
async fn a_user_in_more_groups_than_one_transaction_holds_is_deleted_in_more() {
    let (t, fx) = app().await;
    let u = seed_user(&t, "many@example.com").await;
    let mut groups = Vec::new();
    for i in 0..40 {
        groups.push(id_of(&create_group(&t, &format!("G{i:02}"), &[&u]).await));
    }
    assert_eq!(groups_of(&t, &u).await.len(), 40);
    let (a, ops) = cost(&fx, t.call(Method::DELETE, &format!("/Users/{u}"), None)).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    // 30 groups fit the delete's own transaction (100 items, 8 of its own with its email's
    // look-up entry, 3 per group); the other 10 are one more.
    assert_eq!(
        ops,
        ["GetItem", "TransactWriteItems", "TransactWriteItems"],
        "DELETE of a user in 40 groups"
    );
    for g in &groups {
        assert_no_members(&t, g).await;
    }
    assert!(reverse_items(&fx, &u).await.is_empty());
}

#[tokio::test]
async fn renames_and_deletions_of_groups_reach_their_members() {
    let (t, fx) = app().await;
    let users = [
        seed_user(&t, "r1@example.com").await,
        seed_user(&t, "r2@example.com").await,
        seed_user(&t, "r3@example.com").await,
    ];
    let ids: Vec<&str> = users.iter().map(String::as_str).collect();
    let g = id_of(&create_group(&t, "Before", &ids).await);
    let other = id_of(&create_group(&t, "Other", &ids[..1]).await);
    let etag_before = etag(&t, &format!("/Users/{}", users[0])).await;
    let a = patch_group(
        &t,
        &g,
        json!([{"op": "replace", "path": "displayName", "value": "After"}]),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    for u in &users {
        assert!(
            groups_of(&t, u)
                .await
                .contains(&(g.clone(), "After".to_owned())),
            "{u}"
        );
    }
    // Two renames at once: each refreshes the copies after its commit, and a copy carries the
    // group version it reflects, so the older never overwrites the newer.
    let mut set = JoinSet::new();
    for name in ["Left", "Right"] {
        let (t, g) = (t.clone(), g.clone());
        set.spawn(async move {
            let a = patch_group(
                &t,
                &g,
                json!([{"op": "replace", "path": "displayName", "value": name}]),
            )
            .await;
            assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let stored = t.call(Method::GET, &format!("/Groups/{g}"), None).await;
    let name = stored.body["displayName"].as_str().unwrap().to_owned();
    for u in &users {
        assert!(
            groups_of(&t, u).await.contains(&(g.clone(), name.clone())),
            "{u} shows an older name than {name}"
        );
    }

    let a = t.call(Method::DELETE, &format!("/Groups/{g}"), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    for u in &users {
        let left: BTreeSet<String> = groups_of(&t, u)
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert!(!left.contains(&g), "{u} still lists the deleted group");
        assert_eq!(left, reverse_items(&fx, u).await);
    }
    assert_eq!(
        groups_of(&t, &users[0]).await,
        BTreeSet::from([(other, "Other".to_owned())])
    );
    assert_ne!(
        etag(&t, &format!("/Users/{}", users[0])).await,
        etag_before,
        "the user's ETag follows its groups"
    );
}

#[tokio::test]
async fn concurrent_membership_changes_and_user_writes_keep_groups_exact() {
    let (t, fx) = app().await;
    let u = seed_user(&t, "busy@example.com").await;
    let mut groups = Vec::new();
    for i in 0..8 {
        groups.push(id_of(&create_group(&t, &format!("C{i}"), &[]).await));
    }
    let mut set = JoinSet::new();
    for (i, g) in groups.iter().enumerate() {
        let (t, g, u) = (t.clone(), g.clone(), u.clone());
        set.spawn(async move {
            let a = patch_group(
                &t,
                &g,
                json!([{"op": "add", "path": "members", "value": [{"value": u}]}]),
            )
            .await;
            assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
            let a = patch_user(
                &t,
                &u,
                json!([{"op": "replace", "path": "title", "value": format!("T{i}")}]),
            )
            .await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let all: BTreeSet<String> = groups.iter().cloned().collect();
    let shown: BTreeSet<String> = groups_of(&t, &u)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(shown, all);
    assert_eq!(reverse_items(&fx, &u).await, all);

    let mut set = JoinSet::new();
    for g in groups.iter().take(4) {
        let (t, g, u) = (t.clone(), g.clone(), u.clone());
        set.spawn(async move {
            let a = patch_group(
                &t,
                &g,
                json!([{"op": "remove", "path": format!("members[value eq \"{u}\"]")}]),
            )
            .await;
            assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let rest: BTreeSet<String> = groups.iter().skip(4).cloned().collect();
    let shown: BTreeSet<String> = groups_of(&t, &u)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(shown, rest);
    assert_eq!(reverse_items(&fx, &u).await, rest);
}

#[tokio::test]
async fn a_user_item_written_before_references_is_read_and_changed_through_its_membership_items() {
    let (t, fx) = app().await;
    let u = seed_user(&t, "legacy@example.com").await;
    let a = id_of(&create_group(&t, "Old A", &[&u]).await);
    let b = id_of(&create_group(&t, "Old B", &[&u]).await);
    make_legacy(&fx, &u).await;

    let (answer, ops) = cost(&fx, t.call(Method::GET, &format!("/Users/{u}"), None)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        ops,
        ["BatchGetItem", "GetItem", "Query"],
        "the older way: member -> group items, then the groups"
    );
    assert_eq!(answer.body["groups"].as_array().map(Vec::len), Some(2));

    // Adds and removals only bump its version: the item never claims to hold all its groups.
    let c = id_of(&create_group(&t, "New C", &[&u]).await);
    let r = patch_group(
        &t,
        &a,
        json!([{"op": "remove", "path": format!("members[value eq \"{u}\"]")}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let shown: BTreeSet<String> = groups_of(&t, &u)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(shown, BTreeSet::from([b.clone(), c.clone()]));

    // The backfill gives it its references (README, "Upgrade notes"): one GetItem from then on.
    let reindex = || {
        let out = common::moto::scimctl(&[
            "--json", "tenant", "reindex", "--tenant", "acme", "--table", &fx.table,
        ]);
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    assert_eq!(reindex()["groupReferences"], 1);
    let (answer, ops) = cost(&fx, t.call(Method::GET, &format!("/Users/{u}"), None)).await;
    assert_eq!(ops, ["GetItem"], "references backfilled");
    let names: BTreeSet<&str> = answer.body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["display"].as_str().unwrap())
        .collect();
    assert_eq!(names, BTreeSet::from(["Old B", "New C"]));
    assert_eq!(reindex()["groupReferences"], 0, "idempotent");

    let d = t.call(Method::DELETE, &format!("/Users/{u}"), None).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    for g in [&b, &c] {
        assert_no_members(&t, g).await;
    }
}

#[tokio::test]
async fn past_the_limit_a_users_groups_are_read_the_older_way() {
    let (t, fx) = app().await;
    let u = seed_user(&t, "full@example.com").await;
    let first = id_of(&create_group(&t, "First", &[&u]).await);
    // Pretend the item already holds the most references it may.
    fx.client
        .update_item()
        .table_name(&fx.table)
        .key("pk", AttributeValue::S("T#acme#USER".into()))
        .key("sk", AttributeValue::S(u.clone()))
        .update_expression("SET #gi = :cap")
        .expression_attribute_names("#gi", INLINE_COUNT)
        .expression_attribute_values(":cap", AttributeValue::N(MAX_INLINE_GROUPS.to_string()))
        .send()
        .await
        .unwrap();
    let second = id_of(&create_group(&t, "Second", &[&u]).await);
    let item = raw_get(&fx, "T#acme#USER", &u).await.unwrap();
    assert!(
        item.contains_key(OVERFLOW),
        "the add marks the item as full"
    );
    assert!(
        !item.contains_key(&format!("{REF_PREFIX}{second}")),
        "and adds no reference"
    );
    let (answer, ops) = cost(&fx, t.call(Method::GET, &format!("/Users/{u}"), None)).await;
    assert_eq!(ops, ["BatchGetItem", "GetItem", "Query"]);
    let shown: BTreeSet<String> = answer.body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["value"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(shown, BTreeSet::from([first, second]));
}

/// On both stores: a user's ETag (its version) changes when its `groups` do, and a write
/// conditioned on the ETag read before a membership change is refused (412).
async fn a_users_etag_follows_its_groups(t: &TestApp) {
    let u = seed_user(t, "etag@example.com").await;
    let path = format!("/Users/{u}");
    let before = etag(t, &path).await;
    let g = id_of(&create_group(t, "Tagged", &[&u]).await);
    let added = etag(t, &path).await;
    assert_ne!(before, added, "joining a group");
    let body =
        common::requests::patch_body(json!([{"op": "replace", "path": "title", "value": "x"}]));
    let req = t
        .request(Method::PATCH, &path)
        .header("if-match", before.as_str())
        .header("content-type", "application/scim+json")
        .body(bytes::Bytes::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    let stale = t.send(req).await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );
    let a = patch_group(
        t,
        &g,
        json!([{"op": "remove", "path": format!("members[value eq \"{u}\"]")}]),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let removed = etag(t, &path).await;
    assert_ne!(added, removed, "leaving a group");
    create_group(t, "Again", &[&u]).await;
    let joined = etag(t, &path).await;
    let d = t.call(Method::DELETE, &format!("/Groups/{g}"), None).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    assert_eq!(
        joined,
        etag(t, &path).await,
        "a group the user is not in changes nothing"
    );
}

common::on_store!(
    embedded,
    crate::common::new_app(),
    [a_users_etag_follows_its_groups]
);
common::on_store!(
    dynamodb,
    crate::common::moto::dynamo_app().await,
    [a_users_etag_follows_its_groups]
);
