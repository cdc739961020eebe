//! `/Bulk` (RFC 7644 §3.7), through the router, on the embedded store and on DynamoDB (moto):
//! references and forward references, failOnErrors, limits, a bad operation in the middle, a
//! circular reference, If-Match on an operation, tenant isolation, the audit records of each
//! operation, and a replay of an Entra-style bulk of user creates (timed: the figure behind
//! `maxOperations`).

use std::sync::Arc;
use std::time::Instant;

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::moto::dynamo_fixture;
use crate::common::requests::{member_ids, seed_user};
use crate::common::{new_app_with_store, TestApp};
use scim_server::service::bulk::{BULK_MAX_OPERATIONS, BULK_TIME_BUDGET};
use scim_server::store::audit::{AuditLog, AuditQuery};
use scim_server::store::MemoryStore;

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn memory() -> TestApp {
    new_app_with_store(Arc::new(MemoryStore::new()))
}

async fn dynamo() -> TestApp {
    new_app_with_store(Arc::new(dynamo_fixture().await.store))
}

fn user_op(bulk_id: &str, user_name: &str) -> Value {
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id,
           "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name}})
}

/// Tests `<name>::on_memory` and `<name>::on_dynamodb`, each running `scenario` on a fresh app.
macro_rules! on_both_stores {
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[tokio::test]
            async fn on_memory() {
                super::$scenario(super::memory()).await;
            }

            #[tokio::test]
            async fn on_dynamodb() {
                super::$scenario(super::dynamo().await).await;
            }
        }
    };
}

async fn bulk(t: &TestApp, ops: Value, fail_on_errors: Option<u64>) -> Value {
    let mut body = json!({"schemas": [BULK], "Operations": ops});
    if let Some(n) = fail_on_errors {
        body["failOnErrors"] = n.into();
    }
    let a = t.call(Method::POST, "/Bulk", Some(body)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
    );
    a.body
}

fn statuses(resp: &Value) -> Vec<String> {
    resp["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap().to_owned())
        .collect()
}

fn op_by_bulk_id<'a>(resp: &'a Value, bulk_id: &str) -> &'a Value {
    resp["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["bulkId"] == bulk_id)
        .unwrap_or_else(|| panic!("no {bulk_id} in {resp}"))
}

fn id_from_location(op: &Value) -> String {
    op["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

async fn user_count(t: &TestApp) -> u64 {
    let a = t.call(Method::GET, "/Users?count=0", None).await;
    a.body["totalResults"].as_u64().unwrap()
}

async fn references(t: TestApp) {
    // The group comes first and refers to a user created later (forward reference, RFC 7644
    // §3.7.2) and to one created before it; a PATCH refers to the group by bulkId in its path.
    let resp = bulk(
        &t,
        json!([
            user_op("early", "early@example.com"),
            {"method": "POST", "path": "/Groups", "bulkId": "grp",
             "data": {"displayName": "Engineering",
                      "members": [{"value": "bulkId:early"}, {"value": "bulkId:late", "type": "User"}]}},
            user_op("late", "late@example.com"),
            user_op("extra", "extra@example.com"),
            {"method": "PATCH", "path": "/Groups/bulkId:grp",
             "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:extra"}]}]}},
        ]),
        None,
    )
    .await;
    assert_eq!(
        statuses(&resp),
        ["201", "201", "201", "201", "200"],
        "{resp}"
    );
    // Executed order: `late` ran before the group that needs it.
    let order: Vec<&str> = resp["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["bulkId"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(order, ["early", "late", "grp", "extra", "-"]);
    let group = op_by_bulk_id(&resp, "grp");
    assert!(group["location"]
        .as_str()
        .unwrap()
        .starts_with("https://scim.test/scim/v2/Groups/"));
    assert_eq!(group["version"], "W/\"1\"");
    let gid = id_from_location(group);
    let users: Vec<String> = ["early", "late", "extra"]
        .iter()
        .map(|b| id_from_location(op_by_bulk_id(&resp, b)))
        .collect();
    let g = t.call(Method::GET, &format!("/Groups/{gid}"), None).await;
    assert_eq!(member_ids(&g.body), users.iter().cloned().collect());
    // The user's groups show the membership made through a reference.
    let u = t
        .call(Method::GET, &format!("/Users/{}", users[1]), None)
        .await;
    assert_eq!(u.body["groups"][0]["value"], gid.as_str());
}

on_both_stores!(references_and_forward_references, references);

async fn bad_operation_in_the_middle(t: TestApp) {
    let resp = bulk(
        &t,
        json!([
            user_op("a", "a@example.com"),
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": 42}},
            {"method": "GET", "path": "/Users"},
            {"method": "PATCH", "path": "/Users/bulkId:nobody", "data": {"Operations": []}},
            user_op("c", "c@example.com"),
        ]),
        None,
    )
    .await;
    assert_eq!(
        statuses(&resp),
        ["201", "400", "400", "400", "201"],
        "{resp}"
    );
    let bad = &resp["Operations"][1];
    assert_eq!(bad["response"]["status"], "400");
    assert!(bad["response"]["scimType"].is_string(), "{bad}");
    assert!(bad.get("location").is_none());
    assert_eq!(
        resp["Operations"][3]["response"]["scimType"],
        "invalidValue"
    );
    assert_eq!(
        user_count(&t).await,
        2,
        "the failed operations wrote nothing"
    );
}

on_both_stores!(
    a_bad_operation_in_the_middle_fails_alone,
    bad_operation_in_the_middle
);

async fn fail_on_errors(t: TestApp) {
    seed_user(&t, "taken@example.com").await;
    let resp = bulk(
        &t,
        json!([
            user_op("a", "taken@example.com"),
            user_op("b", "b@example.com"),
            user_op("c", "TAKEN@example.com"),
            user_op("d", "d@example.com"),
        ]),
        Some(2),
    )
    .await;
    // RFC 7644 §3.7.3: processing stops after the second error; `d` is not run nor answered.
    assert_eq!(statuses(&resp), ["409", "201", "409"], "{resp}");
    assert_eq!(resp["Operations"][0]["response"]["scimType"], "uniqueness");
    assert_eq!(user_count(&t).await, 2);
    let bad = t
        .call(
            Method::POST,
            "/Bulk",
            Some(json!({"Operations": [], "failOnErrors": "x"})),
        )
        .await;
    bad.assert_error(400, Some("invalidValue"));
}

on_both_stores!(fail_on_errors_stops, fail_on_errors);

async fn circular(t: TestApp) {
    let resp = bulk(
        &t,
        json!([
            {"method": "POST", "path": "/Groups", "bulkId": "a",
             "data": {"displayName": "A", "members": [{"value": "bulkId:b", "type": "Group"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "b",
             "data": {"displayName": "B", "members": [{"value": "bulkId:a", "type": "Group"}]}},
            user_op("u", "u@example.com"),
        ]),
        None,
    )
    .await;
    assert_eq!(op_by_bulk_id(&resp, "a")["status"], "409", "{resp}");
    assert_eq!(op_by_bulk_id(&resp, "b")["status"], "409");
    assert_eq!(op_by_bulk_id(&resp, "u")["status"], "201");
    let groups = t.call(Method::GET, "/Groups", None).await;
    assert_eq!(
        groups.body["totalResults"], 0,
        "nothing of the cycle was written"
    );
}

on_both_stores!(a_circular_reference_is_409, circular);

async fn if_match(t: TestApp) {
    let id = seed_user(&t, "v@example.com").await;
    let patch = |version: &str| {
        json!({"method": "PATCH", "path": format!("/Users/{id}"), "version": version,
               "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "path": "title", "value": version}]}})
    };
    let resp = bulk(&t, json!([patch("W/\"1\""), patch("W/\"1\"")]), None).await;
    assert_eq!(statuses(&resp), ["200", "412"], "{resp}");
    assert_eq!(resp["Operations"][0]["version"], "W/\"2\"");
    let delete = json!({"method": "DELETE", "path": format!("/Users/{id}"), "version": "W/\"1\""});
    let resp = bulk(&t, json!([delete]), None).await;
    assert_eq!(statuses(&resp), ["412"]);
    let delete = json!({"method": "DELETE", "path": format!("/Users/{id}"), "version": "W/\"2\""});
    let resp = bulk(&t, json!([delete]), None).await;
    assert_eq!(statuses(&resp), ["204"]);
    assert_eq!(user_count(&t).await, 0);
}

on_both_stores!(version_is_if_match, if_match);

#[tokio::test]
async fn limits_are_advertised_and_enforced() {
    let t = memory();
    let spc = t.call(Method::GET, "/ServiceProviderConfig", None).await;
    assert_eq!(spc.body["bulk"]["supported"], true);
    assert_eq!(
        spc.body["bulk"]["maxOperations"],
        BULK_MAX_OPERATIONS as u64
    );
    assert_eq!(spc.body["bulk"]["maxPayloadSize"], 1_048_576);
    let ops: Vec<Value> = (0..=BULK_MAX_OPERATIONS)
        .map(|i| user_op(&format!("u{i}"), &format!("u{i}@example.com")))
        .collect();
    let a = t
        .call(
            Method::POST,
            "/Bulk",
            Some(json!({"schemas": [BULK], "Operations": ops})),
        )
        .await;
    a.assert_error(413, None);
    assert!(a.body["detail"].as_str().unwrap().contains("maxOperations"));
    // Over maxPayloadSize: 413 before anything is parsed.
    let big = json!({"Operations": [user_op("x", &"x".repeat(1_100_000))]});
    let a = t.call(Method::POST, "/Bulk", Some(big)).await;
    a.assert_error(413, None);
    assert_eq!(user_count(&t).await, 0);
    // Not a BulkRequest, or not JSON.
    t.call(Method::POST, "/Bulk", Some(json!([])))
        .await
        .assert_error(400, Some("invalidSyntax"));
    let raw = t
        .request(Method::POST, "/Bulk")
        .header("content-type", "application/scim+json")
        .body(bytes::Bytes::from_static(b"{\"Operations\": ["))
        .unwrap();
    t.send(raw).await.assert_error(400, Some("invalidSyntax"));
    t.call(Method::GET, "/Bulk", None)
        .await
        .assert_error(405, None);
}

#[tokio::test]
async fn operations_cannot_reach_another_tenant() {
    let store: Arc<MemoryStore> = Arc::new(MemoryStore::new());
    let acme = new_app_with_store(store.clone());
    let id = seed_user(&acme, "mine@example.com").await;
    let globex = acme.token_for("globex");
    let body = json!({"Operations": [
        {"method": "PATCH", "path": format!("/Users/{id}"),
         "data": {"Operations": [{"op": "replace", "path": "active", "value": false}]}},
        {"method": "DELETE", "path": format!("/Users/{id}")},
        {"method": "POST", "path": "/Groups", "bulkId": "g",
         "data": {"displayName": "G", "members": [{"value": id}]}}]});
    let a = acme
        .call_as(&globex, Method::POST, "/Bulk", Some(body))
        .await;
    assert_eq!(statuses(&a.body), ["404", "404", "400"], "{}", a.body);
    let u = acme.call(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(u.body["active"], true);
}

#[tokio::test]
async fn each_operation_has_its_own_audit_record() {
    let store = Arc::new(MemoryStore::new());
    let t = new_app_with_store(store.clone());
    let req = t
        .request(Method::POST, "/Bulk")
        .header("x-request-id", "bulk-req-1")
        .header("content-type", "application/scim+json")
        .body(bytes::Bytes::from(
            serde_json::to_vec(&json!({"Operations": [
                user_op("a", "a@example.com"),
                {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {}},
                user_op("b", "b@example.com")]}))
            .unwrap(),
        ))
        .unwrap();
    assert_eq!(t.send(req).await.status, 200);
    let all = AuditQuery {
        since: None,
        resource_id: None,
        limit: 100,
    };
    let records = store.audit_records(&t.tenant, &all).await.unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(ids, ["bulk-req-1/bulk/1", "bulk-req-1/bulk/3"]);
}

/// An Entra-style bulk: `maxOperations` user creates in the shapes Entra ID sends (enterprise
/// extension, `"True"` strings, emails with types), run on DynamoDB (moto) and timed. The time is
/// printed (the figure behind `maxOperations` in ARCHITECTURE.md) and must stay inside the
/// budget that keeps the answer under API Gateway's 30 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_style_bulk_of_user_creates_on_dynamodb_fits_the_budget() {
    let t = dynamo().await;
    let ops: Vec<Value> = (0..BULK_MAX_OPERATIONS)
        .map(|i| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("entra-{i}"),
                "data": {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "externalId": format!("ext-{i}"),
                "userName": format!("user{i}@contoso.example"),
                "active": "True",
                "displayName": format!("User {i}"),
                "emails": [{"primary": true, "type": "work", "value": format!("user{i}@contoso.example")}],
                "name": {"familyName": "Doe", "givenName": format!("U{i}")},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}}})
        })
        .collect();
    let started = Instant::now();
    let resp = bulk(&t, Value::Array(ops), None).await;
    let took = started.elapsed();
    println!("bulk of {BULK_MAX_OPERATIONS} user creates on moto: {took:?}");
    assert!(statuses(&resp).iter().all(|s| s == "201"), "{resp}");
    assert_eq!(user_count(&t).await, BULK_MAX_OPERATIONS as u64);
    assert!(took < BULK_TIME_BUDGET, "{took:?}");
    let u = t
        .call(
            Method::GET,
            "/Users?filter=userName%20eq%20%22user7@contoso.example%22",
            None,
        )
        .await;
    assert_eq!(u.body["Resources"][0]["active"], true);
}
