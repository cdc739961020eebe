//! Email look-ups (`service/plan.rs` `IndexedAttr::Emails`, `scim/emails.rs`): the filter shapes
//! IdPs match users with (Entra ID: `emails[type eq "work"].value eq "x"`) are answered from the
//! email index, case-insensitively (RFC 7643 §4.1.2), on both stores; the index follows every
//! change of a user's emails, holds per tenant, and answers where evaluating the filter over the
//! tenant would be refused (400 `tooMany` past `FILTER_EVALUATION_LIMIT` users).

use crate::common;

use std::sync::Arc;

use common::requests::{enc, id_of, ok, patch_user, resource, seed};
use common::{new_app_with_store, sys_audit, TestApp};
use http::{Method, StatusCode};
use serde_json::{json, Value};

use aws_sdk_dynamodb::types::AttributeValue;
use common::moto::dynamo_fixture;
use scim_server::scim::emails::MAX_EMAILS;
use scim_server::service::FILTER_EVALUATION_LIMIT;
use scim_server::store::dynamo::keys::Partition;
use scim_server::store::{DynamoStore, MemoryStore, UserStore};

fn user(user_name: &str, emails: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "emails": emails,
    })
}

/// The ids a GET /Users?filter= answer lists (sorted), after checking `totalResults` agrees.
async fn found_as(t: &TestApp, token: &str, filter: &str) -> Vec<String> {
    let path = format!("/Users?filter={}", enc(filter));
    let body = ok(&t.call_as(token, Method::GET, &path, None).await);
    let mut ids: Vec<String> = body["Resources"]
        .as_array()
        .map(|rs| rs.iter().map(id_of).collect())
        .unwrap_or_default();
    ids.sort();
    assert_eq!(body["totalResults"], ids.len(), "{filter}: {body}");
    ids
}

async fn found(t: &TestApp, filter: &str) -> Vec<String> {
    found_as(t, &t.token, filter).await
}

/// The work-email filter Entra ID sends.
fn work(email: &str) -> String {
    format!("emails[type eq \"work\"].value eq \"{email}\"")
}

async fn the_filter_shapes_find_the_user_case_insensitively(t: &TestApp) {
    let id = seed(
        t,
        user(
            "bjensen",
            json!([
                {"value": "Barbara.Jensen@Example.com", "type": "work", "primary": true},
                {"value": "babs@home.example.org", "type": "home"}
            ]),
        ),
    )
    .await;
    let _other = seed(
        t,
        user(
            "other",
            json!([{"value": "other@example.com", "type": "work"}]),
        ),
    )
    .await;
    let me = vec![id.clone()];
    for filter in [
        "emails.value eq \"barbara.jensen@example.com\"".to_owned(),
        "emails eq \"BARBARA.JENSEN@EXAMPLE.COM\"".to_owned(),
        work("barbara.jensen@EXAMPLE.com"),
        "emails[type eq \"work\" and value eq \"Barbara.Jensen@example.com\"]".to_owned(),
        "EMAILS[TYPE EQ \"work\"].VALUE EQ \"barbara.jensen@example.com\"".to_owned(),
        "emails[type eq \"home\"].value eq \"BABS@home.example.org\"".to_owned(),
        format!("active eq true and {}", work("barbara.jensen@example.com")),
    ] {
        assert_eq!(found(t, &filter).await, me, "{filter}");
    }
    // The index only narrows: the rest of the filter still decides.
    for filter in [
        "emails[type eq \"home\"].value eq \"barbara.jensen@example.com\"".to_owned(),
        work("babs@home.example.org"),
        format!("active eq false and {}", work("barbara.jensen@example.com")),
        work("barbara.jensen@example.co"),
        work("nobody@example.com"),
    ] {
        assert!(found(t, &filter).await.is_empty(), "{filter}");
    }
    // POST /.search takes the same path (RFC 7644 §3.4.3).
    let body = ok(&t
        .call(
            Method::POST,
            "/Users/.search",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": work("BARBARA.jensen@example.com"),
            })),
        )
        .await);
    assert_eq!(body["totalResults"], 1, "{body}");
    assert_eq!(body["Resources"][0]["id"], id.as_str());
}

async fn changed_emails_move_the_look_up(t: &TestApp) {
    let id = seed(
        t,
        user(
            "mover",
            json!([{"value": "first@example.com", "type": "work"}]),
        ),
    )
    .await;
    let me = vec![id.clone()];
    assert_eq!(found(t, &work("first@example.com")).await, me);

    // PATCH replace of the whole attribute.
    let a = patch_user(
        t,
        &id,
        json!([{"op": "replace", "path": "emails", "value": [{"value": "Second@example.com", "type": "work"}]}]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(found(t, &work("first@example.com")).await.is_empty());
    assert_eq!(found(t, &work("second@example.com")).await, me);

    // PATCH add of one more address, then its removal by a value filter.
    let a = patch_user(
        t,
        &id,
        json!([{"op": "add", "path": "emails", "value": [{"value": "extra@example.org", "type": "other"}]}]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(found(t, "emails.value eq \"EXTRA@example.org\"").await, me);
    assert_eq!(found(t, &work("second@example.com")).await, me);
    let a = patch_user(
        t,
        &id,
        json!([{"op": "remove", "path": "emails[value eq \"extra@example.org\"]"}]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(found(t, "emails.value eq \"extra@example.org\"")
        .await
        .is_empty());
    assert_eq!(found(t, &work("second@example.com")).await, me);

    // Entra's PATCH of the work address in place.
    let a = patch_user(
        t,
        &id,
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "third@example.com"}]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(found(t, &work("second@example.com")).await.is_empty());
    assert_eq!(found(t, &work("third@example.com")).await, me);

    // PUT with other addresses; then a PUT without any.
    let a = t
        .call(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(user(
                "mover",
                json!([{"value": "put@example.com", "type": "work"}]),
            )),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(found(t, &work("third@example.com")).await.is_empty());
    assert_eq!(found(t, &work("put@example.com")).await, me);
    let a = t
        .call(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(json!({"userName": "mover"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(found(t, "emails eq \"put@example.com\"").await.is_empty());

    // Back again, then DELETE: no look-up finds it.
    let a = patch_user(
        t,
        &id,
        json!([{"op": "add", "path": "emails", "value": [{"value": "last@example.com", "type": "work"}]}]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(found(t, &work("last@example.com")).await, me);
    let a = t.call(Method::DELETE, &format!("/Users/{id}"), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(found(t, &work("last@example.com")).await.is_empty());
}

async fn users_sharing_an_email_are_all_found(t: &TestApp) {
    let shared = "shared@example.com";
    let a = seed(t, user("a", json!([{"value": shared, "type": "work"}]))).await;
    let b = seed(
        t,
        user(
            "b",
            json!([{"value": "b@example.com", "type": "work"}, {"value": "SHARED@example.com", "type": "home"}]),
        ),
    )
    .await;
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(
        found(t, &format!("emails.value eq \"{shared}\"")).await,
        both
    );
    // Only `a` has it as its work address.
    assert_eq!(found(t, &work(shared)).await, vec![a.clone()]);
    // One of them drops it: the other is still found.
    let ans = t.call(Method::DELETE, &format!("/Users/{a}"), None).await;
    assert_eq!(ans.status, StatusCode::NO_CONTENT);
    assert_eq!(found(t, &format!("emails eq \"{shared}\"")).await, vec![b]);
}

async fn email_look_ups_stay_in_their_tenant(t: &TestApp) {
    let email = "same@example.com";
    let mine = seed(t, user("mine", json!([{"value": email, "type": "work"}]))).await;
    let other = t.token_for("other");
    let a = t
        .call_as(
            &other,
            Method::POST,
            "/Users",
            Some(user("theirs", json!([{"value": email, "type": "work"}]))),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let theirs = id_of(&a.body);
    assert_eq!(found(t, &work(email)).await, vec![mine]);
    assert_eq!(found_as(t, &other, &work(email)).await, vec![theirs]);
    assert!(found_as(t, &t.token_for("third"), &work(email))
        .await
        .is_empty());
}

/// More than [`MAX_EMAILS`] addresses is 400 `invalidValue` on every write, which then changes
/// nothing; exactly [`MAX_EMAILS`] are all indexed.
async fn emails_per_user_are_bounded(t: &TestApp) {
    let emails = |n: usize, tag: &str| -> Value {
        (0..n)
            .map(|i| json!({"value": format!("{tag}{i}@example.com"), "type": "other"}))
            .collect()
    };
    let a = t
        .call(
            Method::POST,
            "/Users",
            Some(user("many", emails(MAX_EMAILS + 1, "m"))),
        )
        .await;
    a.assert_error(400, Some("invalidValue"));
    assert!(found(t, "userName eq \"many\"").await.is_empty());
    assert!(found(t, "emails.value eq \"m0@example.com\"")
        .await
        .is_empty());

    let id = seed(t, user("many", emails(MAX_EMAILS, "m"))).await;
    let last = format!("emails.value eq \"m{}@example.com\"", MAX_EMAILS - 1);
    assert_eq!(found(t, &last).await, vec![id.clone()]);
    let before = ok(&t.call(Method::GET, &format!("/Users/{id}"), None).await);

    let a = patch_user(
        t,
        &id,
        json!([{"op": "add", "path": "emails", "value": [{"value": "one-more@example.com"}]}]),
    )
    .await;
    a.assert_error(400, Some("invalidValue"));
    let a = t
        .call(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(user("many", emails(MAX_EMAILS + 1, "p"))),
        )
        .await;
    a.assert_error(400, Some("invalidValue"));
    let after = ok(&t.call(Method::GET, &format!("/Users/{id}"), None).await);
    assert_eq!(after["meta"]["version"], before["meta"]["version"]);
    assert!(found(t, "emails.value eq \"one-more@example.com\"")
        .await
        .is_empty());
    assert!(found(t, "emails.value eq \"p0@example.com\"")
        .await
        .is_empty());
    assert_eq!(found(t, &last).await, vec![id]);
}

common::on_store!(
    embedded,
    crate::common::new_app(),
    [
        the_filter_shapes_find_the_user_case_insensitively,
        changed_emails_move_the_look_up,
        users_sharing_an_email_are_all_found,
        email_look_ups_stay_in_their_tenant,
        emails_per_user_are_bounded,
    ]
);

common::on_store!(
    dynamodb,
    crate::common::moto::dynamo_app().await,
    [
        the_filter_shapes_find_the_user_case_insensitively,
        changed_emails_move_the_look_up,
        users_sharing_an_email_are_all_found,
        email_look_ups_stay_in_their_tenant,
        emails_per_user_are_bounded,
    ]
);

/// A tenant above the evaluation bound: an unindexed filter is refused with `tooMany`, the work
/// email filter is still answered (a look-up). The users are written to the store directly (the
/// bound counts users, however they came).
#[tokio::test]
async fn work_email_answers_above_the_evaluation_bound() {
    let store = Arc::new(MemoryStore::new());
    let t = new_app_with_store(store.clone());
    let audit = sys_audit();
    for i in 0..=FILTER_EVALUATION_LIMIT {
        let u = resource(json!({
            "userName": format!("u{i}"),
            "active": true,
            "emails": [{"value": format!("u{i}@example.com"), "type": "work"}],
        }));
        store.create_user(&t.tenant, &u, &audit).await.unwrap();
    }
    let a = t
        .call(
            Method::GET,
            &format!("/Users?filter={}", enc("title eq \"x\"")),
            None,
        )
        .await;
    a.assert_error(400, Some("tooMany"));
    assert!(
        a.body["detail"].as_str().unwrap().contains("emails.value"),
        "{}",
        a.body
    );
    let ids = found(&t, &work("U4242@Example.com")).await;
    assert_eq!(ids.len(), 1);
    let body = ok(&t
        .call(Method::GET, &format!("/Users/{}", ids[0]), None)
        .await);
    assert_eq!(body["userName"], "u4242");
}

/// The sort keys of a tenant's `EMAIL` partition (its email look-up entries).
async fn email_entries(store: &DynamoStore, tenant: &str) -> Vec<String> {
    let items = store
        .partition_items(&common::requests::tenant(tenant), Partition::Emails)
        .await
        .unwrap();
    items
        .iter()
        .map(|i| i["sk"].as_s().unwrap().clone())
        .collect()
}

/// On DynamoDB the entries follow every write exactly (a stale one would be hidden by the
/// re-check, so they are counted here), and `scimctl tenant reindex` writes back the entries of
/// users stored before email look-ups existed, idempotently and for its tenant only.
#[tokio::test]
async fn entries_follow_writes_and_reindex_backfills_them() {
    let fx = dynamo_fixture().await;
    let (client, table) = (fx.client.clone(), fx.table.clone());
    let raw = DynamoStore::new(client.clone(), table.clone());
    let t = new_app_with_store(Arc::new(fx.store));
    let a = seed(
        &t,
        user(
            "a",
            json!([{"value": "a@example.com", "type": "work"}, {"value": "A@Example.com", "type": "home"}]),
        ),
    )
    .await;
    let b = seed(
        &t,
        user(
            "b",
            json!([{"value": "b@example.com", "type": "work"}, {"value": "b@home.org", "type": "home"}]),
        ),
    )
    .await;
    seed(&t, json!({"userName": "no-email"})).await;
    // One entry per distinct folded address: a has one, b two.
    assert_eq!(email_entries(&raw, "acme").await.len(), 3);
    let a_patch = patch_user(
        &t,
        &a,
        json!([{"op": "replace", "path": "emails", "value": [{"value": "a2@example.com", "type": "work"}]}]),
    )
    .await;
    assert_eq!(a_patch.status, StatusCode::OK, "{}", a_patch.body);
    let entries = email_entries(&raw, "acme").await;
    assert_eq!(entries.len(), 3);
    assert_eq!(entries.iter().filter(|sk| sk.ends_with(&a)).count(), 1);
    let other = t.token_for("other");
    let ans = t
        .call_as(
            &other,
            Method::POST,
            "/Users",
            Some(user(
                "o",
                json!([{"value": "b@example.com", "type": "work"}]),
            )),
        )
        .await;
    assert_eq!(ans.status, StatusCode::CREATED, "{}", ans.body);
    assert_eq!(email_entries(&raw, "other").await.len(), 1);

    // A table from before email look-ups: no entries at all; the look-up finds nobody.
    for tenant in ["acme", "other"] {
        for sk in email_entries(&raw, tenant).await {
            client
                .delete_item()
                .table_name(&table)
                .key(
                    "pk",
                    AttributeValue::S(Partition::Emails.pk(&common::requests::tenant(tenant))),
                )
                .key("sk", AttributeValue::S(sk))
                .send()
                .await
                .unwrap();
        }
    }
    assert!(found(&t, &work("b@example.com")).await.is_empty());

    for _ in 0..2 {
        let out = common::moto::scimctl(&[
            "--json", "tenant", "reindex", "--tenant", "acme", "--table", &table,
        ]);
        let out: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            out,
            json!({"tenant": "acme", "users": 3, "emailEntries": 3, "groupReferences": 0, "changedMeanwhile": 0})
        );
        assert_eq!(email_entries(&raw, "acme").await.len(), 3);
    }
    assert_eq!(found(&t, &work("B@example.com")).await, vec![b.clone()]);
    assert_eq!(found(&t, "emails eq \"a2@example.com\"").await, vec![a]);
    // The other tenant was not touched.
    assert!(email_entries(&raw, "other").await.is_empty());
    assert!(found_as(&t, &other, &work("b@example.com"))
        .await
        .is_empty());

    // Delete takes the user's entries with it.
    let ans = t.call(Method::DELETE, &format!("/Users/{b}"), None).await;
    assert_eq!(ans.status, StatusCode::NO_CONTENT);
    assert_eq!(email_entries(&raw, "acme").await.len(), 1);
}

/// Issue 17's figure on DynamoDB: a 20,000-user tenant (twice the evaluation bound) answers
/// Entra's work-email match with one Query and one BatchGetItem, while an unindexed filter is
/// refused. (The backfill, `scimctl tenant reindex`, is tested above: moto's Query of a
/// 20,000-item partition outlasts the store's 2 s deadline.) A minute on moto: `make test-scale`.
#[tokio::test]
#[ignore = "20,000 users on moto take a minute or two: make test-scale"]
async fn scale_work_email_on_a_20000_user_tenant_is_a_look_up() {
    let fx = dynamo_fixture().await;
    let tenant = common::requests::tenant("acme");
    let started = std::time::Instant::now();
    let (ids, _) = common::seed::seed_with_email_entries(&fx, &tenant, 20_000).await;
    println!("seeded {} users in {:?}", ids.len(), started.elapsed());
    let calls = fx.calls.clone();
    let t = new_app_with_store(Arc::new(fx.store));
    t.call(Method::GET, "/Users?count=1", None).await;
    let a = t
        .call(
            Method::GET,
            &format!("/Users?filter={}", enc("title eq \"x\"")),
            None,
        )
        .await;
    a.assert_error(400, Some("tooMany"));
    calls.take();
    let ids = found(&t, &work("USER012345@contoso.example.com")).await;
    let mut ops = calls.take();
    ops.sort();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        ops,
        ["BatchGetItem", "Query"],
        "a look-up, whatever the tenant's size"
    );
}
