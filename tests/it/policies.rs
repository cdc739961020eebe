//! Tenant policies (issue 19): verified domains, protected accounts and the seat limit, through
//! the router on the embedded store and on DynamoDB (moto), next to a tenant with no policy set
//! that behaves exactly as before.

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::moto::dynamo_fixture;
use crate::common::requests::{enc, id_of, patch_body, resource, tenant};
use crate::common::{new_app_for_tenant, sys_audit, user_body, TestApp};
use scim_server::audit::Action;
use scim_server::settings::TenantSettings;
use scim_server::store::audit::{AuditLog, AuditQuery};
use scim_server::store::policies::init_seats;
use scim_server::store::{MemoryStore, Store};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// An app whose "pol" tenant has `pairs` set, and a token of "acme" (no policy) beside it.
async fn app_with(store: Arc<dyn Store>, pairs: &[&str]) -> (TestApp, String) {
    let settings = TenantSettings::default().assign(pairs).unwrap();
    store
        .put_settings(&tenant("pol"), &settings, 0)
        .await
        .unwrap();
    let t = new_app_for_tenant(store, "pol");
    let other = t.token_for("acme");
    (t, other)
}

fn user_with_email(user_name: &str, email: &str) -> Value {
    let mut u = user_body(user_name);
    u["emails"] = json!([{"value": email, "type": "work", "primary": true}]);
    u
}

/// A user written straight to the store (as before the policy was set), so it may be outside
/// the domains.
async fn seed_direct(t: &TestApp, user_name: &str, active: bool) -> String {
    let user = resource(
        json!({"userName": user_name, "active": active, "emails": [{"value": user_name}]}),
    );
    let mut audit = sys_audit();
    audit.tenant = t.tenant.to_string();
    t.store.create_user(&t.tenant, &user, &audit).await.unwrap();
    user.id
}

async fn refusals(store: &dyn AuditLog, t: &TestApp) -> Vec<(String, String, Option<String>)> {
    let all = AuditQuery {
        limit: 1000,
        ..AuditQuery::default()
    };
    store
        .audit_records(&t.tenant, &all)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == Action::PolicyRefused)
        .map(|r| (r.resource_type, r.resource_id, r.refused))
        .collect()
}

async fn total(t: &TestApp, token: Option<&str>) -> u64 {
    let a = match token {
        Some(tok) => t.call_as(tok, Method::GET, "/Users", None).await,
        None => t.call(Method::GET, "/Users", None).await,
    };
    a.body["totalResults"].as_u64().unwrap()
}

async fn domains_scenario(store: Arc<dyn Store>, log: Arc<dyn AuditLog>) {
    let (t, acme) = app_with(store, &["domains=example.com,*.example.org"]).await;

    // Creates outside the domains: 400 invalidValue naming the attribute, nothing written.
    let a = t
        .call(Method::POST, "/Users", Some(user_body("bob@gmail.com")))
        .await;
    a.assert_error(400, Some("invalidValue"));
    assert!(a.body["detail"].as_str().unwrap().starts_with("userName"));
    assert!(a.body["detail"].as_str().unwrap().contains("example.com"));
    let a = t
        .call(
            Method::POST,
            "/Users",
            Some(user_with_email("E1234", "e1234@sub.example.com")),
        )
        .await;
    a.assert_error(400, Some("invalidValue"));
    assert!(a.body["detail"]
        .as_str()
        .unwrap()
        .starts_with("emails.value"));
    assert_eq!(total(&t, None).await, 0, "refused creates wrote nothing");

    // Inside: exact domain any case, listed subdomains, a userName that is not an email.
    for (name, email) in [
        ("Ann@EXAMPLE.com", "ann@example.com"),
        ("cy@eu.example.org", "cy@eu.example.org"),
        ("E1234", "e1234@example.com"),
    ] {
        let a = t
            .call(Method::POST, "/Users", Some(user_with_email(name, email)))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{name}: {}", a.body);
    }
    let ann = t
        .call(
            Method::GET,
            &format!("/Users?filter={}", enc("userName eq \"ann@example.com\"")),
            None,
        )
        .await;
    let ann = id_of(&ann.body["Resources"][0]);

    // A rename into a foreign domain (Entra's PATCH replace, Okta's PUT): refused, unchanged.
    let a = t
        .call(
            Method::PATCH,
            &format!("/Users/{ann}"),
            Some(patch_body(
                json!([{"op": "replace", "path": "userName", "value": "ann@evil.net"}]),
            )),
        )
        .await;
    a.assert_error(400, Some("invalidValue"));
    let a = t
        .call(
            Method::PUT,
            &format!("/Users/{ann}"),
            Some(user_with_email("ann@example.com", "ann@evil.net")),
        )
        .await;
    a.assert_error(400, Some("invalidValue"));
    let got = t.call(Method::GET, &format!("/Users/{ann}"), None).await;
    assert_eq!(got.body["userName"], "Ann@EXAMPLE.com");
    assert_eq!(got.body["meta"]["version"], "W/\"1\"");

    // A user outside the domains from before the policy: readable, deactivatable, deletable.
    let old = seed_direct(&t, "old@legacy.net", true).await;
    let a = t.call(Method::GET, &format!("/Users/{old}"), None).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = t
        .call(
            Method::PATCH,
            &format!("/Users/{old}"),
            Some(patch_body(
                json!([{"op": "replace", "value": {"active": false}}]),
            )),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = t.call(Method::DELETE, &format!("/Users/{old}"), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);

    // Bulk: the foreign operation fails alone.
    let bulk = json!({"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": user_body("dee@example.com")},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": user_body("dee@other.com")},
    ]});
    let a = t.call(Method::POST, "/Bulk", Some(bulk)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["Operations"][0]["status"], "201");
    assert_eq!(a.body["Operations"][1]["status"], "400");
    assert_eq!(
        a.body["Operations"][1]["response"]["scimType"],
        "invalidValue"
    );

    // The tenant beside it has no policy: as before.
    let a = t
        .call_as(
            &acme,
            Method::POST,
            "/Users",
            Some(user_body("bob@gmail.com")),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(total(&t, Some(&acme)).await, 1);
    assert!(
        refusals(&*log, &t).await.is_empty(),
        "400s are not refusals"
    );
}

async fn protected_scenario(store: Arc<dyn Store>, log: Arc<dyn AuditLog>) {
    let (t, acme) = app_with(store, &["protected=Owner@Example.com"]).await;
    let owner = id_of(&t.create_user("owner@example.com").await);
    let ann = id_of(&t.create_user("ann@example.com").await);
    let path = format!("/Users/{owner}");

    // Deactivate (Okta PATCH, Entra PATCH with a string), delete, rename: 403, unchanged.
    for body in [
        patch_body(json!([{"op": "replace", "value": {"active": false}}])),
        patch_body(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        patch_body(json!([{"op": "replace", "path": "userName", "value": "boss@example.com"}])),
    ] {
        let a = t.call(Method::PATCH, &path, Some(body.clone())).await;
        a.assert_error(403, None);
        assert!(
            a.body["detail"]
                .as_str()
                .unwrap()
                .contains("protected account"),
            "{}",
            a.body
        );
    }
    let mut put = user_body("owner@example.com");
    put["active"] = false.into();
    t.call(Method::PUT, &path, Some(put))
        .await
        .assert_error(403, None);
    t.call(Method::DELETE, &path, None)
        .await
        .assert_error(403, None);
    let got = t.call(Method::GET, &path, None).await;
    assert_eq!(got.body["active"], true);
    assert_eq!(got.body["meta"]["version"], "W/\"1\"");

    // Other attribute changes still work.
    let a = t
        .call(
            Method::PATCH,
            &path,
            Some(patch_body(
                json!([{"op": "replace", "path": "title", "value": "CEO"}]),
            )),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);

    // Groups: the owner cannot be removed (PATCH remove, PUT without it), others can; deleting
    // the group removes the group and keeps the user.
    let g = t
        .call(
            Method::POST,
            "/Groups",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "admins", "members": [{"value": owner}, {"value": ann}]}),
            ),
        )
        .await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", g.body);
    let gid = id_of(&g.body);
    let gpath = format!("/Groups/{gid}");
    let remove_owner =
        patch_body(json!([{"op": "remove", "path": format!("members[value eq \"{owner}\"]")}]));
    t.call(Method::PATCH, &gpath, Some(remove_owner))
        .await
        .assert_error(403, None);
    let put_without = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "admins", "members": [{"value": ann}]});
    t.call(Method::PUT, &gpath, Some(put_without))
        .await
        .assert_error(403, None);
    let remove_ann =
        patch_body(json!([{"op": "remove", "path": "members", "value": [{"value": ann}]}]));
    let a = t.call(Method::PATCH, &gpath, Some(remove_ann)).await;
    assert!(a.status.is_success(), "{}", a.body);
    let a = t.call(Method::DELETE, &gpath, None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        t.call(Method::GET, &gpath, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.call(Method::GET, &path, None).await.status,
        StatusCode::OK
    );

    // Bulk: the owner's DELETE is refused, ann's goes.
    let bulk = json!({"schemas": [BULK], "Operations": [
        {"method": "DELETE", "path": path},
        {"method": "DELETE", "path": format!("/Users/{ann}")},
    ]});
    let a = t.call(Method::POST, "/Bulk", Some(bulk)).await;
    assert_eq!(a.body["Operations"][0]["status"], "403", "{}", a.body);
    assert_eq!(a.body["Operations"][1]["status"], "204", "{}", a.body);

    // Every refused attempt is in the trail (5 user + 2 group + 1 bulk), naming the policy.
    let refused = refusals(&*log, &t).await;
    assert_eq!(refused.len(), 8, "{refused:?}");
    assert!(refused.iter().all(|r| r.2.as_deref() == Some("protected")));
    assert_eq!(
        refused
            .iter()
            .filter(|r| r.0 == "Group" && r.1 == gid)
            .count(),
        2
    );

    // Tenant isolation: the same userName elsewhere is not protected.
    let other = t
        .call_as(
            &acme,
            Method::POST,
            "/Users",
            Some(user_body("owner@example.com")),
        )
        .await;
    let a = t
        .call_as(
            &acme,
            Method::DELETE,
            &format!("/Users/{}", id_of(&other.body)),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn verified_domains_on_the_embedded_store() {
    let s = Arc::new(MemoryStore::new());
    domains_scenario(s.clone(), s).await;
}

#[tokio::test]
async fn verified_domains_on_dynamodb() {
    let s = Arc::new(dynamo_fixture().await.store);
    domains_scenario(s.clone(), s).await;
}

#[tokio::test]
async fn protected_accounts_on_the_embedded_store() {
    let s = Arc::new(MemoryStore::new());
    protected_scenario(s.clone(), s).await;
}

#[tokio::test]
async fn protected_accounts_on_dynamodb() {
    let s = Arc::new(dynamo_fixture().await.store);
    protected_scenario(s.clone(), s).await;
}

async fn seats_scenario(store: Arc<dyn Store>, log: Arc<dyn AuditLog>) {
    let (t, acme) = app_with(store.clone(), &["seat_limit=3"]).await;
    // A limit whose seats item was never initialised (`scimctl` writes it first) frees no seat.
    t.call(Method::POST, "/Users", Some(user_body("early@example.com")))
        .await
        .assert_error(403, None);
    // As `scimctl tenant set seat_limit=3` does: count the active users and initialise.
    store
        .create_user(
            &t.tenant,
            &resource(json!({"userName": "off@example.com", "active": false})),
            &sys_audit(),
        )
        .await
        .unwrap();
    let seats = init_seats(&*store, &t.tenant, Some(3)).await.unwrap();
    assert_eq!(
        (seats.active, seats.limit),
        (0, 3),
        "inactive users hold no seat"
    );
    let a = id_of(&t.create_user("a@example.com").await);
    t.create_user("b@example.com").await;

    // 16 concurrent creates at N-1: exactly one succeeds, 15 are refused with 403.
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move {
                t.call(
                    Method::POST,
                    "/Users",
                    Some(user_body(&format!("race{i}@example.com"))),
                )
                .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        if answer.status == StatusCode::CREATED {
            created += 1;
        } else {
            answer.assert_error(403, None);
            assert!(answer.body["detail"]
                .as_str()
                .unwrap()
                .contains("seat limit"));
        }
    }
    assert_eq!(created, 1);
    assert_eq!(total(&t, None).await, 4);
    let used = |s: &Arc<dyn Store>| {
        let s = s.clone();
        let tenant = t.tenant.clone();
        async move { s.get_seats(&tenant).await.unwrap().unwrap().active }
    };
    assert_eq!(used(&store).await, 3);

    // Deactivating frees a seat; reactivation over the limit is refused (PATCH, PUT, re-POST).
    let path = format!("/Users/{a}");
    let deactivate = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_eq!(
        t.call(Method::PATCH, &path, Some(deactivate)).await.status,
        StatusCode::OK
    );
    assert_eq!(used(&store).await, 2);
    let c = id_of(&t.create_user("c@example.com").await);
    let reactivate = patch_body(json!([{"op": "replace", "path": "active", "value": true}]));
    t.call(Method::PATCH, &path, Some(reactivate.clone()))
        .await
        .assert_error(403, None);
    let mut put = user_body("a@example.com");
    put["active"] = true.into();
    t.call(Method::PUT, &path, Some(put))
        .await
        .assert_error(403, None);
    t.call(Method::POST, "/Users", Some(user_body("a@example.com")))
        .await
        .assert_error(403, None);
    // Bulk: a create over the limit fails alone; a change that is not a reactivation passes.
    let bulk = json!({"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "x", "data": user_body("x@example.com")},
        {"method": "PATCH", "path": path, "data": patch_body(json!([{"op": "replace", "path": "title", "value": "t"}]))},
    ]});
    let answer = t.call(Method::POST, "/Bulk", Some(bulk)).await;
    assert_eq!(
        answer.body["Operations"][0]["status"], "403",
        "{}",
        answer.body
    );
    assert_eq!(
        answer.body["Operations"][1]["status"], "200",
        "{}",
        answer.body
    );
    let got = t.call(Method::GET, &path, None).await;
    assert_eq!(
        got.body["active"], false,
        "nobody is reactivated over the limit"
    );

    // Deleting an active user frees its seat: the reactivation then succeeds.
    assert_eq!(
        t.call(Method::DELETE, &format!("/Users/{c}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.call(Method::PATCH, &path, Some(reactivate)).await.status,
        StatusCode::OK
    );
    assert_eq!(used(&store).await, 3);

    // Every refusal is in the trail: the early create, 15 racers, PATCH, PUT, re-POST, bulk.
    let refused = refusals(&*log, &t).await;
    assert_eq!(refused.len(), 20, "{refused:?}");
    assert!(refused.iter().all(|r| r.2.as_deref() == Some("seat_limit")));

    // A tenant without a limit has no seats item and no limit.
    for i in 0..5 {
        let answer = t
            .call_as(
                &acme,
                Method::POST,
                "/Users",
                Some(user_body(&format!("u{i}@x.com"))),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED);
    }
    assert_eq!(store.get_seats(&tenant("acme")).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seat_limit_on_the_embedded_store() {
    let s = Arc::new(MemoryStore::new());
    seats_scenario(s.clone(), s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seat_limit_on_dynamodb() {
    let s = Arc::new(dynamo_fixture().await.store);
    seats_scenario(s.clone(), s).await;
}
