//! DynamoDB specifics beyond the store contract: round trips per SCIM operation, the wiring from
//! configuration, and the table definition (template.yaml == `scimctl table create`).

use crate::common;

use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use serde_json::json;
use serde_yaml_ng::Value as Yaml;
use tokio::task::JoinSet;

use common::moto::{
    costed, dynamo_client, dynamo_fixture, endpoint, new_table, raw_get, raw_put, DynamoFixture,
};
use common::requests::{enc, patch_body, resource, seed_user, user_member, GROUP_URN};
use common::store_ext::GroupStoreTestExt;
use common::{new_app_with_store, user_body};
use scim_server::config::{Config, LogFormat};
use scim_server::runtime;
use scim_server::scim::members::{Member, MemberKind};
use scim_server::scim::resource::now_rfc3339;
use scim_server::store::dynamo::group_item::{member_item, member_of_item};
use scim_server::store::dynamo::item::Item;
use scim_server::store::dynamo::table::{create_table, TableError, TABLE};
use scim_server::store::{Deletion, DynamoStore, GroupStore, UserStore};
use scim_server::tenant::TenantId;

// --- round trips -------------------------------------------------------------------------------

#[tokio::test]
async fn each_scim_operation_costs_the_minimum_round_trips() {
    let fx = dynamo_fixture().await;
    let calls = fx.calls.clone();
    let t = new_app_with_store(Arc::new(fx.store));
    // Round trips of one request, as sorted operation names (the list's two reads are concurrent).

    // Warm the connection and credentials (not DynamoDB operations, but keep them out), and the
    // tenant's settings (one GetItem per tenant per minute, `service::settings`): the costs
    // below are those of a warm tenant.
    t.call(Method::GET, "/Users?count=1", None).await;
    t.call(Method::GET, "/ServiceProviderConfig", None).await;

    let (a, ops) = costed!(
        calls,
        t.call(Method::POST, "/Users", Some(user_body("rt@example.com")))
            .await
    );
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(ops, ["TransactWriteItems"], "create");
    let id = a.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    for i in 0..4 {
        t.create_user(&format!("other{i}@example.com")).await;
    }

    // A user answer carries its read-only `groups` (RFC 7643 §4.1.2): the user item holds its
    // group references, so the user and its groups are one GetItem.
    let (a, ops) = costed!(calls, t.call(Method::GET, &path, None).await);
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(ops, ["GetItem"], "get by id (user and its groups)");

    let (a, ops) = costed!(
        calls,
        t.call(
            Method::GET,
            &format!("{path}?excludedAttributes=groups"),
            None
        )
        .await
    );
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(ops, ["GetItem"], "get by id without groups");

    let (a, ops) = costed!(
        calls,
        t.call(Method::GET, "/Users/no-such-user", None).await
    );
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(ops, ["GetItem"], "get of a missing id");

    let filter = "/Users?filter=userName%20eq%20%22RT@example.com%22";
    let (a, ops) = costed!(calls, t.call(Method::GET, filter, None).await);
    assert_eq!(a.body["totalResults"], 1);
    assert_eq!(
        ops,
        ["GetItem", "GetItem"],
        "userName eq (guard, then user; lists leave out groups unless asked for)"
    );

    let patch = patch_body(json!([{"op": "replace", "path": "externalId", "value": "ext-rt"}]));
    let (a, ops) = costed!(
        calls,
        t.call(Method::PATCH, &path, Some(patch.clone())).await
    );
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        ops,
        ["GetItem", "TransactWriteItems"],
        "PATCH (the user and its groups, then the write moving the externalId entry)"
    );

    let (a, ops) = costed!(calls, t.call(Method::PATCH, &path, Some(patch)).await);
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        ops,
        ["GetItem"],
        "PATCH that changes nothing writes nothing"
    );

    let filter = "/Users?filter=externalId%20eq%20%22ext-rt%22";
    let (a, ops) = costed!(calls, t.call(Method::GET, filter, None).await);
    assert_eq!(a.body["totalResults"], 1);
    assert_eq!(
        ops,
        ["BatchGetItem", "Query"],
        "externalId eq (not unique: one Query of its look-up entries, one BatchGetItem of the users)"
    );

    // Entra ID's match on the work email, and the plain form: look-ups like externalId eq.
    for filter in [
        "emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22RT@EXAMPLE.com%22",
        "emails.value%20eq%20%22rt@example.com%22",
    ] {
        let (a, ops) = costed!(
            calls,
            t.call(Method::GET, &format!("/Users?filter={filter}"), None)
                .await
        );
        assert_eq!(a.body["totalResults"], 1, "{filter}: {}", a.body);
        assert_eq!(
            ops,
            ["BatchGetItem", "Query"],
            "{filter} (one Query of the email entries, one BatchGetItem of the users)"
        );
    }

    let mut put = user_body("rt@example.com");
    put["title"] = json!("Engineer");
    let (a, ops) = costed!(calls, t.call(Method::PUT, &path, Some(put)).await);
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(ops, ["GetItem", "TransactWriteItems"], "PUT");

    // A list page is one Query plus the Query of the counter shards: users' groups are read only when
    // `attributes` asks for them (then one BatchGetItem of the page's user items).
    let (a, ops) = costed!(
        calls,
        t.call(Method::GET, "/Users?count=2&cursor=", None).await
    );
    assert_eq!(a.body["totalResults"], 5);
    assert_eq!(
        ops,
        ["Query", "Query"],
        "list page (counter shards + page, concurrent)"
    );
    let cursor = a.body["nextCursor"]
        .as_str()
        .expect("a next cursor")
        .to_owned();

    let (a, ops) = costed!(
        calls,
        t.call(
            Method::GET,
            &format!("/Users?count=2&cursor={cursor}"),
            None
        )
        .await
    );
    assert_eq!(a.body["Resources"].as_array().unwrap().len(), 2);
    assert_eq!(
        ops,
        ["Query", "Query"],
        "cursor page (counter shards, page)"
    );
    let (a, ops) = costed!(
        calls,
        t.call(
            Method::GET,
            "/Users?count=2&attributes=userName,groups",
            None
        )
        .await
    );
    assert_eq!(a.body["Resources"].as_array().unwrap().len(), 2);
    assert_eq!(
        ops,
        ["BatchGetItem", "Query", "Query"],
        "a page that asks for groups reads its users' items once more, in one BatchGetItem (they hold their groups)"
    );

    // Index paging (bookmarks.rs). A skip no longer than the page is one keys-only Query; a
    // page with more after it leaves a bookmark for the next index (PutItem).
    let (a, ops) = costed!(
        calls,
        t.call(Method::GET, "/Users?startIndex=3&count=2", None)
            .await
    );
    assert_eq!(a.body["Resources"].as_array().unwrap().len(), 2);
    assert_eq!(
        ops,
        ["PutItem", "Query", "Query", "Query"],
        "startIndex page (skip, page, counter shards; bookmark)"
    );
    let all = t.call(Method::GET, "/Users?count=5", None).await;
    let id_at = |i: usize| all.body["Resources"][i - 1]["id"].clone();
    // A skip longer than the page looks a bookmark up first; there is none for index 3 (the
    // page above left one for index 5), so it skips.
    let (a, ops) = costed!(
        calls,
        t.call(Method::GET, "/Users?startIndex=3&count=1", None)
            .await
    );
    assert_eq!(a.body["Resources"][0]["id"], id_at(3));
    assert_eq!(
        ops,
        ["GetItem", "PutItem", "Query", "Query", "Query"],
        "startIndex page without a bookmark (bookmark, skip, page, counter shards; bookmark)"
    );
    // The next page starts at the bookmark: no skip, whatever its index.
    let (a, ops) = costed!(
        calls,
        t.call(Method::GET, "/Users?startIndex=4&count=1", None)
            .await
    );
    assert_eq!(a.body["Resources"][0]["id"], id_at(4));
    assert_eq!(
        ops,
        ["GetItem", "PutItem", "Query", "Query"],
        "startIndex page at a bookmark (bookmark, page, counter shards; bookmark)"
    );
    let (a, ops) = costed!(
        calls,
        t.call(Method::GET, "/Users?startIndex=5&count=1", None)
            .await
    );
    assert_eq!(a.body["Resources"][0]["id"], id_at(5));
    assert_eq!(
        ops,
        ["GetItem", "Query", "Query"],
        "the last startIndex page leaves no bookmark"
    );

    let (a, ops) = costed!(calls, t.call(Method::GET, "/Users?count=0", None).await);
    assert_eq!(a.body["totalResults"], 5);
    assert_eq!(ops, ["Query"], "count=0 reads only the counter shards");

    // DELETE: the user with its groups, then one transaction (its memberships with it).
    let (a, ops) = costed!(calls, t.call(Method::DELETE, &path, None).await);
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(ops, ["GetItem", "TransactWriteItems"], "DELETE");

    let (a, ops) = costed!(
        calls,
        t.call(Method::GET, "/Users?cursor=bm90LWEtY3Vyc29y", None)
            .await
    );
    a.assert_error(400, Some("invalidCursor"));
    assert!(
        ops.is_empty(),
        "a bad cursor is refused before any call: {ops:?}"
    );
}

#[tokio::test]
async fn each_group_operation_costs_the_minimum_round_trips() {
    let fx = dynamo_fixture().await;
    let calls = fx.calls.clone();
    let t = new_app_with_store(Arc::new(fx.store.clone()));
    t.call(Method::GET, "/Groups?count=1", None).await;
    let alice = seed_user(&t, "alice@example.com").await;
    let bob = seed_user(&t, "bob@example.com").await;

    // POST: one transaction (group item, displayName entry, counter, the first 32 members);
    // members are checked first by the service (one BatchGetItem per 50 ids).
    let body = json!({"schemas": [GROUP_URN], "displayName": "Engineering"});
    let (a, ops) = costed!(calls, t.call(Method::POST, "/Groups", Some(body)).await);
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(ops, ["TransactWriteItems"], "create without members");
    let empty_group = a.body["id"].as_str().unwrap().to_owned();
    let body = json!({"schemas": [GROUP_URN], "displayName": "Sales",
        "members": [{"value": alice}, {"value": bob}]});
    let (a, ops) = costed!(calls, t.call(Method::POST, "/Groups", Some(body)).await);
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(
        ops,
        ["BatchGetItem", "TransactWriteItems"],
        "create with members"
    );
    let gid = a.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Groups/{gid}");

    // Reads: the record alone is one GetItem whatever the group's size; members are one Query
    // per 1,000.
    let (a, ops) = costed!(
        calls,
        t.call(
            Method::GET,
            &format!("{path}?excludedAttributes=members"),
            None
        )
        .await
    );
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(ops, ["GetItem"], "members-free GET");
    let (a, ops) = costed!(calls, t.call(Method::GET, &path, None).await);
    assert_eq!(a.body["members"].as_array().map(Vec::len), Some(2));
    assert_eq!(ops, ["GetItem", "Query"], "GET with members");
    // Entra's look-up before every group sync: the look-up entries, then the groups found.
    let f = enc("displayName eq \"SALES\"");
    let (a, ops) = costed!(
        calls,
        t.call(
            Method::GET,
            &format!("/Groups?excludedAttributes=members&filter={f}"),
            None
        )
        .await
    );
    assert_eq!(a.body["totalResults"], 1);
    assert_eq!(ops, ["BatchGetItem", "Query"], "displayName eq");
    let f = enc("displayName eq \"nobody\"");
    let (a, ops) = costed!(
        calls,
        t.call(
            Method::GET,
            &format!("/Groups?excludedAttributes=members&filter={f}"),
            None
        )
        .await
    );
    assert_eq!(a.body["totalResults"], 0);
    assert_eq!(ops, ["Query"], "displayName eq without a match");
    let (a, ops) = costed!(
        calls,
        t.call(Method::GET, "/Groups?excludedAttributes=members", None)
            .await
    );
    assert_eq!(a.body["totalResults"], 2);
    assert_eq!(ops, ["Query", "Query"], "list page (counter shards + page)");

    // Removing one member: the group record (service), whether it is a member (one
    // BatchGetItem), one transaction. Entra's value-list form and Okta's filter cost the same.
    let remove =
        patch_body(json!([{"op": "Remove", "path": "members", "value": [{"value": bob}]}]));
    let (a, ops) = costed!(calls, t.call(Method::PATCH, &path, Some(remove)).await);
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(
        ops,
        ["BatchGetItem", "GetItem", "TransactWriteItems"],
        "remove one member"
    );
    let remove =
        patch_body(json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}]));
    let (a, ops) = costed!(calls, t.call(Method::PATCH, &path, Some(remove)).await);
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(
        ops,
        ["BatchGetItem", "GetItem", "TransactWriteItems"],
        "filtered removal of one member"
    );
    // Adding one: one more BatchGetItem, to check that the member exists and learn its type.
    let add = patch_body(json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]));
    let (a, ops) = costed!(calls, t.call(Method::PATCH, &path, Some(add.clone())).await);
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(
        ops,
        [
            "BatchGetItem",
            "BatchGetItem",
            "GetItem",
            "TransactWriteItems"
        ],
        "add one member"
    );
    let (a, ops) = costed!(calls, t.call(Method::PATCH, &path, Some(add)).await);
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        ops,
        ["BatchGetItem", "BatchGetItem", "GetItem"],
        "adding a member already in writes nothing"
    );
    let rename =
        patch_body(json!([{"op": "replace", "path": "displayName", "value": "Sales EMEA"}]));
    let (a, ops) = costed!(calls, t.call(Method::PATCH, &path, Some(rename)).await);
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        ops,
        ["GetItem", "Query", "TransactWriteItems", "UpdateItem"],
        "rename (group item, look-up entry moved; then its members' copies of the name: a Query of the members, an UpdateItem each)"
    );

    // A user in one group: its `groups` come with the user item.
    let (a, ops) = costed!(
        calls,
        t.call(Method::GET, &format!("/Users/{bob}"), None).await
    );
    assert_eq!(a.body["groups"][0]["display"], "Sales EMEA");
    assert_eq!(ops, ["GetItem"], "user with groups");

    // Adding k members: ceil(k / 33) transactions (3 items each: both membership items and a
    // check that the member exists), plus the BatchGetItems of the service's checks.
    let mut ids = Vec::new();
    for i in 0..70 {
        let u = t.create_user(&format!("bulk{i}@example.com")).await;
        ids.push(json!({"value": u["id"]}));
    }
    let add = patch_body(json!([{"op": "add", "path": "members", "value": ids}]));
    let (a, ops) = costed!(calls, t.call(Method::PATCH, &path, Some(add)).await);
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let count = |name: &str| ops.iter().filter(|o| o.as_str() == name).count();
    assert_eq!(count("TransactWriteItems"), 3, "70 adds: {ops:?}");
    // 140 keys to resolve (user or group) + 70 membership keys: 2 + 1 BatchGetItems.
    assert_eq!(count("BatchGetItem"), 3, "{ops:?}");
    let etag = t
        .call(
            Method::GET,
            &format!("{path}?excludedAttributes=members"),
            None,
        )
        .await
        .header("etag")
        .map(str::to_owned);
    // Created (1), two removals, an add, a rename, three chunks.
    assert_eq!(etag.as_deref(), Some("W/\"8\""));

    // DELETE: the record (service), one transaction (gone for SCIM at once), then the clean-up:
    // a Query for the groups it is in, a Query of its members, 25 deletes per BatchWriteItem.
    let (a, ops) = costed!(
        calls,
        t.call(Method::DELETE, &format!("/Groups/{empty_group}"), None)
            .await
    );
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        ops,
        ["GetItem", "Query", "Query", "TransactWriteItems"],
        "DELETE of a group without members"
    );
    let bob_before = t.call(Method::GET, &format!("/Users/{bob}"), None).await;
    let (a, ops) = costed!(calls, t.call(Method::DELETE, &path, None).await);
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    // 71 members: 142 membership items, 6 BatchWriteItems; each user's reference to the group
    // goes with one UpdateItem.
    assert_eq!(
        ops.iter().filter(|o| *o == "BatchWriteItem").count(),
        6,
        "{ops:?}"
    );
    assert_eq!(
        ops.iter().filter(|o| *o == "UpdateItem").count(),
        71,
        "{ops:?}"
    );
    let bob_after = t.call(Method::GET, &format!("/Users/{bob}"), None).await;
    assert!(
        bob_after.body["groups"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{}",
        bob_after.body
    );
    assert_ne!(
        bob_before.header("etag"),
        bob_after.header("etag"),
        "a user's ETag changes with its groups"
    );
    let tenant = TenantId::parse("acme").unwrap();
    assert!(fx.store.groups_of(&tenant, &bob).await.unwrap().is_empty());
    assert!(raw_partition(&fx, &format!("T#acme#MEMBER#{gid}"))
        .await
        .is_empty());
    assert!(raw_partition(&fx, &format!("T#acme#MEMBEROF#{bob}"))
        .await
        .is_empty());
}

/// Every item of one partition, read with the raw client (what the store left behind).
async fn raw_partition(fx: &DynamoFixture, pk: &str) -> Vec<Item> {
    fx.client
        .query()
        .table_name(&fx.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
}

/// The group item's `member_count`, read raw.
async fn member_count(fx: &DynamoFixture, gid: &str) -> String {
    let item = raw_get(fx, "T#acme#GROUP", gid).await.unwrap();
    match item.get("member_count") {
        Some(AttributeValue::N(n)) => n.clone(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn member_counts_stay_exact_under_concurrent_duplicate_writes() {
    let fx = dynamo_fixture().await;
    let t = TenantId::parse("acme").unwrap();
    let s = Arc::new(fx.store.clone());
    let mut members = Vec::new();
    for i in 0..40 {
        let u = resource(json!({"userName": format!("u{i}")}));
        s.create_user(&t, &u, &common::sys_audit()).await.unwrap();
        members.push(user_member(&u.id));
    }
    let g = resource(json!({"displayName": "Racers"}));
    // 40 initial members do not fit one transaction: the rest follow, bumping the version.
    let v = s
        .create_group(&t, &g, &members, &common::sys_audit())
        .await
        .unwrap();
    assert_eq!(v, 2);
    assert_eq!(s.get_group(&t, &g.id).await.unwrap().unwrap().version, 2);
    assert_eq!(member_count(&fx, &g.id).await, "40");
    // The same adds and removals from several writers at once: each counts once.
    let more: Vec<Member> = members.iter().take(10).cloned().collect();
    let gone: Vec<String> = members.iter().skip(30).map(|m| m.value.clone()).collect();
    let mut set = JoinSet::new();
    for _ in 0..6 {
        let (s, t, gid) = (s.clone(), t.clone(), g.id.clone());
        let (more, gone) = (more.clone(), gone.clone());
        set.spawn(async move {
            s.add_members(&t, &gid, &more, "2024-01-01T00:00:00Z")
                .await
                .unwrap();
            s.remove_members(&t, &gid, &gone, "2024-01-01T00:00:00Z")
                .await
                .unwrap()
        });
    }
    set.join_all().await;
    let page = s.list_members(&t, &g.id, None, 1000).await.unwrap();
    assert_eq!(page.members.len(), 30);
    assert_eq!(member_count(&fx, &g.id).await, "30");
    // The removals were written once (one chunk), whoever won.
    assert_eq!(s.get_group(&t, &g.id).await.unwrap().unwrap().version, 3);
}

#[tokio::test]
async fn leftovers_of_an_interrupted_delete_are_never_shown_and_are_resumed() {
    let fx = dynamo_fixture().await;
    let t = TenantId::parse("acme").unwrap();
    let s = &fx.store;
    let u = resource(json!({"userName": "alice"}));
    s.create_user(&t, &u, &common::sys_audit()).await.unwrap();
    let child = resource(json!({"displayName": "Child"}));
    s.create_group(&t, &child, &[user_member(&u.id)], &common::sys_audit())
        .await
        .unwrap();
    let parent = resource(json!({"displayName": "Parent"}));
    let nested = Member {
        kind: MemberKind::Group,
        ..user_member(&child.id)
    };
    s.create_group(
        &t,
        &parent,
        std::slice::from_ref(&nested),
        &common::sys_audit(),
    )
    .await
    .unwrap();
    let deletion = Deletion {
        request_id: "r1".into(),
        deleted_at: now_rfc3339(),
    };
    let current = s.get_group(&t, &child.id).await.unwrap().unwrap();
    s.delete_group(&t, &current, &common::deleting(&deletion))
        .await
        .unwrap();
    assert_eq!(
        s.get_group(&t, &parent.id).await.unwrap().unwrap().version,
        2
    );
    // A Lambda stopped right after the delete's transaction would have left these behind.
    let member = user_member(&u.id);
    raw_put(&fx, member_item(&t, &child.id, &member).unwrap()).await;
    raw_put(&fx, member_of_item(&t, &child.id, &member).unwrap()).await;
    raw_put(&fx, member_item(&t, &parent.id, &nested).unwrap()).await;
    raw_put(&fx, member_of_item(&t, &parent.id, &nested).unwrap()).await;
    // A member -> group item of a deleted group is never shown.
    assert!(s.groups_of(&t, &u.id).await.unwrap().is_empty());
    assert_eq!(s.deletions(&t).await.unwrap().len(), 1);
    // The deletion record says what to finish.
    assert_eq!(s.resume_cascades(&t, "").await, Ok(1));
    assert!(raw_partition(&fx, &format!("T#acme#MEMBER#{}", child.id))
        .await
        .is_empty());
    assert!(raw_partition(&fx, &format!("T#acme#MEMBEROF#{}", u.id))
        .await
        .is_empty());
    let page = s.list_members(&t, &parent.id, None, 10).await.unwrap();
    assert!(page.members.is_empty());
    assert_eq!(
        s.get_group(&t, &parent.id).await.unwrap().unwrap().version,
        3
    );
    // Resuming again finds nothing left to do.
    assert_eq!(s.resume_cascades(&t, "").await, Ok(1));
    assert_eq!(
        s.get_group(&t, &parent.id).await.unwrap().unwrap().version,
        3
    );
}

// --- wiring ------------------------------------------------------------------------------------

fn config(table: &str) -> Config {
    Config {
        table_name: Some(table.to_owned()),
        secret_prefix: None,
        public_base_url: None,
        log_format: LogFormat::Text,
        ..Config::default()
    }
}

#[tokio::test]
async fn runtime_uses_dynamodb_when_a_table_is_configured() {
    let client = dynamo_client().await;
    let table = new_table(&client).await;
    // runtime::build reads the standard AWS_* variables, as the Lambda does.
    assert_eq!(std::env::var("AWS_ENDPOINT_URL").ok(), Some(endpoint()));
    let built = runtime::build(&config(&table), "https").await.unwrap();
    assert_eq!(built.store_kind, "dynamodb");

    let acme = TenantId::parse("acme").unwrap();
    let token = built
        .embedded_tokens
        .as_ref()
        .unwrap()
        .generate(&acme, None)
        .unwrap()
        .expose_secret()
        .to_owned();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/scim/v2/Users")
        .header("host", "scim.test")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(Bytes::from(user_body("wired@example.com").to_string()))
        .unwrap();
    assert_eq!(built.app.handle(req).await.status(), StatusCode::CREATED);

    // The user is in the table.
    let store = DynamoStore::new(client, table);
    let found = store
        .find_user_by_user_name(&acme, "wired@example.com")
        .await;
    assert!(found.unwrap().is_some());
}

#[tokio::test]
async fn runtime_refuses_to_start_on_a_missing_table() {
    endpoint();
    let Err(e) = runtime::build(&config("scim-test-no-such-table"), "https").await else {
        panic!("started without a table");
    };
    assert!(e.0.contains("ResourceNotFoundException"), "{e}");
    assert!(e.0.contains("scimctl table create"), "{e}");
}

// --- the table definition ----------------------------------------------------------------------

/// template.yaml's `ScimTable` properties. The template uses CloudFormation short tags (`!Ref`,
/// `!Sub`, ...), which serde_yaml_ng keeps as tagged values: only plain values are compared.
fn template_table() -> Yaml {
    let doc = template();
    let table = &doc["Resources"]["ScimTable"];
    assert_eq!(table["Type"].as_str(), Some("AWS::DynamoDB::Table"));
    table["Properties"].clone()
}

fn pairs(list: &Yaml, a: &str, b: &str) -> Vec<(String, String)> {
    list.as_sequence()
        .map(|s| {
            s.iter()
                .map(|e| {
                    let get = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                    (get(a), get(b))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn owned(def: &[(&str, &str)]) -> Vec<(String, String)> {
    def.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn template_scim_table_matches_the_table_definition() {
    let p = template_table();
    let mut attrs = pairs(&p["AttributeDefinitions"], "AttributeName", "AttributeType");
    attrs.sort();
    let mut want = owned(TABLE.attribute_definitions);
    want.sort();
    assert_eq!(attrs, want, "AttributeDefinitions");
    assert_eq!(
        pairs(&p["KeySchema"], "AttributeName", "KeyType"),
        owned(TABLE.key_schema),
        "KeySchema"
    );
    assert_eq!(p["BillingMode"].as_str(), Some(TABLE.billing_mode));
    assert_eq!(
        p["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some(TABLE.ttl_attribute)
    );
    assert_eq!(
        p["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        p["StreamSpecification"]["StreamViewType"].as_str(),
        Some(TABLE.stream_view_type),
        "StreamSpecification"
    );

    let indexes = p["GlobalSecondaryIndexes"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        indexes.len(),
        TABLE.global_secondary_indexes.len(),
        "GlobalSecondaryIndexes"
    );
    for (ix, def) in indexes.iter().zip(TABLE.global_secondary_indexes) {
        assert_eq!(ix["IndexName"].as_str(), Some(def.name));
        assert_eq!(
            pairs(&ix["KeySchema"], "AttributeName", "KeyType"),
            owned(def.key_schema)
        );
        assert_eq!(
            ix["Projection"]["ProjectionType"].as_str(),
            Some(def.projection)
        );
    }
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .expect("read template.yaml");
    serde_yaml_ng::from_str(&text).expect("parse template.yaml")
}

/// A plain or short-tagged (`!Sub ...`, `!GetAtt ...`) scalar as text.
fn scalar(v: &Yaml) -> String {
    match v {
        Yaml::Tagged(t) => scalar(&t.value),
        other => other.as_str().unwrap_or_default().to_owned(),
    }
}

#[test]
fn the_function_is_granted_the_table_indexes_only_when_the_table_has_some() {
    let doc = template();
    let statements = &doc["Resources"]["ScimFunction"]["Properties"]["Policies"][0]["Statement"];
    let items = statements
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["Sid"].as_str() == Some("ScimTableItems"))
        .expect("the ScimTableItems statement");
    let resources: Vec<String> = items["Resource"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(scalar)
        .collect();
    let index_grant = resources.iter().any(|r| r.contains("/index/"));
    assert_eq!(
        index_grant,
        !TABLE.global_secondary_indexes.is_empty(),
        "{resources:?}"
    );
    assert!(
        resources.iter().any(|r| r == "ScimTable.Arn"),
        "{resources:?}"
    );
}

#[test]
fn the_secret_prefix_must_end_with_a_slash() {
    let doc = template();
    let p = &doc["Parameters"]["SecretPrefix"];
    let pattern = p["AllowedPattern"].as_str().unwrap();
    // `secret:${SecretPrefix}*` must not match a sibling prefix: the pattern anchors a final /.
    assert!(pattern.ends_with("/$"), "{pattern}");
    assert!(p["Default"].as_str().unwrap().ends_with('/'));
    let secrets = &doc["Resources"]["ScimFunction"]["Properties"]["Policies"][0]["Statement"];
    let granted: Vec<String> = secrets
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|s| s["Sid"].as_str() == Some("TenantTokenSecrets"))
        .map(|s| scalar(&s["Resource"]))
        .collect();
    assert_eq!(granted.len(), 1);
    assert!(
        granted[0].ends_with(":secret:${SecretPrefix}*"),
        "{granted:?}"
    );
}

#[tokio::test]
async fn table_create_builds_the_template_table() {
    let client = dynamo_client().await;
    let name = new_table(&client).await;
    let p = template_table();

    let described = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let table = described.table().unwrap();
    let mut attrs: Vec<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    attrs.sort();
    let mut want = pairs(&p["AttributeDefinitions"], "AttributeName", "AttributeType");
    want.sort();
    assert_eq!(attrs, want);
    let keys: Vec<(String, String)> = table
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(keys, pairs(&p["KeySchema"], "AttributeName", "KeyType"));
    assert!(table.global_secondary_indexes().is_empty());
    let billing = table
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .map(|m| m.as_str().to_owned());
    assert_eq!(billing.as_deref(), p["BillingMode"].as_str());

    let ttl = client
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(
        ttl.attribute_name(),
        p["TimeToLiveSpecification"]["AttributeName"].as_str()
    );
    assert_eq!(
        ttl.time_to_live_status().map(|s| s.as_str()),
        Some("ENABLED")
    );

    // A second create is refused, not silently accepted.
    let again = create_table(&client, &name, Duration::from_secs(5)).await;
    assert!(
        matches!(again, Err(TableError::AlreadyExists(_))),
        "{again:?}"
    );
}
