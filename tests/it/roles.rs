//! Roles from groups (issue 19, item 4) through the router, on the embedded store and on
//! DynamoDB (moto): the read-only role of our User extension follows the user's groups and the
//! tenant's rules on every read, audit records and events name it, a rules change recomputes
//! and keeps one record, and a tenant without rules answers exactly as before.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::on_store;
use crate::common::requests::{enc, get_user, id_of, ok, patch_group, seed_user, tenant};
use crate::common::{new_app_configured, TestApp};
use scim_server::audit::{Action, Actor, AuditRecord};
use scim_server::events::events_of;
use scim_server::scim::members::render_user;
use scim_server::service::roles::recompute_roles;
use scim_server::settings::TenantSettings;
use scim_server::store::audit::AuditQuery;
use scim_server::store::Store;

const ROLES: &str = "urn:scim-server:schemas:extension:roles:1.0:User";
const RULES: &str = r#"role_rules=[
    {"group": "Admins", "role": "admin", "priority": 10},
    {"external_id": "ext-view", "role": "viewer", "priority": 1},
    {"group": "Owners", "role": "owner", "priority": 99},
    {"group": "Members", "role": "member", "priority": 5}]"#;

/// Both stores, each with its audit trail; the "rol" tenant has the rules, "acme" none.
struct Roles {
    t: TestApp,
    store: Arc<dyn Store>,
    log: Arc<dyn scim_server::store::audit::AuditLog>,
    acme: String,
}

async fn with_rules<S: Store + scim_server::store::audit::AuditLog + 'static>(s: Arc<S>) -> Roles {
    let settings = TenantSettings::default().assign(&[RULES]).unwrap();
    s.put_settings(&tenant("rol"), &settings, 0).await.unwrap();
    let store: Arc<dyn Store> = s.clone();
    // A zero settings TTL: a rules change applies to the next request.
    let t = new_app_configured(store.clone(), "rol", |svc| {
        svc.with_settings_ttl(Duration::ZERO)
    });
    let acme = t.token_for("acme");
    Roles {
        t,
        store,
        log: s,
        acme,
    }
}

fn role(doc: &Value) -> Option<&str> {
    doc.get(ROLES)
        .map(|e| e["role"].as_str().expect("role is a string"))
}

async fn role_of(t: &TestApp, id: &str) -> Option<String> {
    let a = get_user(t, id).await;
    let doc = ok(&a);
    let listed = doc["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == ROLES);
    assert_eq!(
        listed,
        doc.get(ROLES).is_some(),
        "schemas lists the extension it carries: {doc}"
    );
    role(&doc).map(str::to_owned)
}

async fn group(t: &TestApp, body: Value) -> String {
    let a = t.call(Method::POST, "/Groups", Some(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    id_of(&a.body)
}

fn members(ids: &[&str]) -> Value {
    json!(ids.iter().map(|i| json!({"value": i})).collect::<Vec<_>>())
}

async fn records(r: &Roles) -> Vec<AuditRecord> {
    let all = AuditQuery {
        limit: 1000,
        ..AuditQuery::default()
    };
    r.log.audit_records(&r.t.tenant, &all).await.unwrap()
}

/// role from one group (by externalId), highest priority among several, the ceiling caps it,
/// membership removal, rename into a rule (by displayName), group delete, client-sent role
/// ignored, filters refused, lists only when asked, audit records and events carry the roles.
async fn roles_follow_groups_and_rules(r: &Roles) {
    let t = &r.t;
    let alice = seed_user(t, "alice@example.com").await;
    let bob = seed_user(t, "bob@example.com").await;
    assert_eq!(role_of(t, &alice).await, None, "in no group: no role");

    // By externalId (exact), then a higher-priority rule by displayName (any case).
    group(
        t,
        json!({"displayName": "Viewers", "externalId": "ext-view", "members": members(&[&alice])}),
    )
    .await;
    assert_eq!(role_of(t, &alice).await.as_deref(), Some("viewer"));
    group(
        t,
        json!({"displayName": "EXT-VIEW", "externalId": "other", "members": members(&[&bob])}),
    )
    .await;
    assert_eq!(
        role_of(t, &bob).await,
        None,
        "a displayName is not an externalId"
    );
    let admins = group(
        t,
        json!({"displayName": "admins", "members": members(&[&alice])}),
    )
    .await;
    assert_eq!(role_of(t, &alice).await.as_deref(), Some("admin"));

    // The owner rule has the highest priority; the ceiling (default: admin) caps it.
    group(
        t,
        json!({"displayName": "Owners", "members": members(&[&bob])}),
    )
    .await;
    assert_eq!(role_of(t, &bob).await.as_deref(), Some("admin"));

    // Removal from a group: back to the next rule. Its record and event name the new role.
    let a = patch_group(
        t,
        &admins,
        json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}]),
    )
    .await;
    assert!(a.status.is_success(), "{}", a.body);
    assert_eq!(role_of(t, &alice).await.as_deref(), Some("viewer"));
    let removal = records(r)
        .await
        .into_iter()
        .rfind(|x| x.resource_id == admins && x.action == Action::MembershipChange)
        .expect("the removal's record");
    assert_eq!(
        removal.roles,
        [(alice.clone(), Some("viewer".to_owned()))].into()
    );
    let event = &events_of(&removal, "iss")[0].detail;
    let payload = event["events"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(payload["roles"], json!({ &alice: "viewer" }), "{event}");

    // A rename into a rule (by displayName) changes the role of every member.
    let team = group(
        t,
        json!({"displayName": "Team", "members": members(&[&alice])}),
    )
    .await;
    assert_eq!(role_of(t, &alice).await.as_deref(), Some("viewer"));
    let a = patch_group(
        t,
        &team,
        json!([{"op": "replace", "path": "displayName", "value": "Members"}]),
    )
    .await;
    assert!(a.status.is_success(), "{}", a.body);
    assert_eq!(role_of(t, &alice).await.as_deref(), Some("member"));
    let rename = records(r)
        .await
        .into_iter()
        .rfind(|x| x.resource_id == team)
        .unwrap();
    assert_eq!(
        rename.roles,
        [(alice.clone(), Some("member".to_owned()))].into()
    );

    // Group delete drops it.
    let a = t
        .call(Method::DELETE, &format!("/Groups/{team}"), None)
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(role_of(t, &alice).await.as_deref(), Some("viewer"));
    let delete = records(r)
        .await
        .into_iter()
        .rfind(|x| x.resource_id == team)
        .unwrap();
    assert_eq!(delete.action, Action::Delete);
    assert_eq!(
        delete.roles,
        [(alice.clone(), Some("viewer".to_owned()))].into()
    );

    // A client-sent role is ignored (readOnly, RFC 7643 §2.2), never stored.
    let put = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ROLES],
        "userName": "alice@example.com",
        "title": "Guide",
        ROLES: {"role": "owner"},
    });
    let a = t
        .call(Method::PUT, &format!("/Users/{alice}"), Some(put))
        .await;
    assert_eq!(role(&ok(&a)), Some("viewer"), "{}", a.body);
    let stored = r.store.get_user(&t.tenant, &alice).await.unwrap().unwrap();
    assert!(
        !stored.attributes.contains_key(ROLES),
        "{:?}",
        stored.attributes
    );
    // The user write's record names the user's role.
    let put_record = records(r)
        .await
        .into_iter()
        .rfind(|x| x.resource_id == alice)
        .unwrap();
    assert_eq!(
        put_record.roles,
        [(alice.clone(), Some("viewer".to_owned()))].into()
    );

    // Filters on it are refused with a clear 400; lists show it only when asked.
    let f = enc(&format!("{ROLES}:role eq \"admin\""));
    let a = t
        .call(Method::GET, &format!("/Users?filter={f}"), None)
        .await;
    a.assert_error(400, Some("invalidFilter"));
    assert!(a.body["detail"].as_str().unwrap().contains("groups.value"));
    let listed = ok(&t.call(Method::GET, "/Users", None).await);
    assert!(listed["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u.get(ROLES).is_none()));
    let asked = ok(&t
        .call(
            Method::GET,
            &format!("/Users?attributes={}", enc(ROLES)),
            None,
        )
        .await);
    let by_id = |id: &str| {
        asked["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == id)
            .and_then(|u| role(u).map(str::to_owned))
    };
    assert_eq!(
        (by_id(&alice).as_deref(), by_id(&bob).as_deref()),
        (Some("viewer"), Some("admin"))
    );
    let a = t
        .call(
            Method::GET,
            &format!(
                "/Users/{alice}?excludedAttributes={}",
                enc(&format!("{ROLES}:role"))
            ),
            None,
        )
        .await;
    assert_eq!(role(&ok(&a)), None);

    // /Schemas lists the extension; /ResourceTypes/User names it.
    let s = ok(&t
        .call(Method::GET, &format!("/Schemas/{ROLES}"), None)
        .await);
    assert_eq!(s["attributes"][0]["name"], "role");
    assert_eq!(s["attributes"][0]["mutability"], "readOnly");
    let rt = ok(&t.call(Method::GET, "/ResourceTypes/User", None).await);
    assert!(rt["schemaExtensions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["schema"] == ROLES));

    // A rules change: answers follow at once; the recompute keeps ONE record with the count.
    let old = TenantSettings::default().assign(&[RULES]).unwrap();
    let new = old.assign(&["role_ceiling=viewer"]).unwrap();
    r.store.put_settings(&t.tenant, &new, 1).await.unwrap();
    assert_eq!(role_of(t, &bob).await.as_deref(), Some("viewer"));
    let before = records(r).await.len();
    let done = recompute_roles(
        &*r.store,
        &t.tenant,
        &Actor::system(),
        vec!["role_ceiling".into()],
        (&old, &new),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        (done.users, done.changed),
        (2, 1),
        "bob: admin -> viewer; alice stays viewer"
    );
    let after = records(r).await;
    assert_eq!(after.len(), before + 1, "one audit record");
    let rec = after.last().unwrap();
    assert_eq!(rec.action, Action::RolesRecompute);
    assert_eq!(
        (rec.roles_changed, rec.roles.get(&bob)),
        (Some(1), Some(&Some("viewer".to_owned())))
    );
    let ev = &events_of(rec, "iss")[0];
    assert_eq!(ev.detail_type, "urn:scim-server:event:roles:changed");
}

/// No rules: no role attribute, and answers exactly as before (the full user JSON as rendered
/// without this feature); another tenant's rules never apply.
async fn no_rules_answers_as_before_and_tenants_are_isolated(r: &Roles) {
    let t = &r.t;
    let a = t
        .call_as(
            &r.acme,
            Method::POST,
            "/Users",
            Some(crate::common::user_body("carol@example.com")),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let carol = id_of(&a.body);
    let a = t
        .call_as(
            &r.acme,
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "Admins", "members": members(&[&carol])})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let got = ok(&t
        .call_as(&r.acme, Method::GET, &format!("/Users/{carol}"), None)
        .await);
    let stored = r
        .store
        .get_user(&tenant("acme"), &carol)
        .await
        .unwrap()
        .unwrap();
    let groups = r.store.groups_of(&tenant("acme"), &carol).await.unwrap();
    assert_eq!(
        got,
        render_user(&stored, Some(&groups), "https://scim.test/scim/v2")
    );
    assert!(got.get(ROLES).is_none());
    let a = t
        .call_as(
            &r.acme,
            Method::GET,
            &format!("/Users/{}", seed_user(t, "dave@example.com").await),
            None,
        )
        .await;
    a.assert_error(404, None);
    let listed = ok(&t
        .call_as(
            &r.acme,
            Method::GET,
            &format!("/Users?attributes={}", enc(ROLES)),
            None,
        )
        .await);
    assert_eq!(listed["totalResults"], 1);
    assert!(listed["Resources"][0].get(ROLES).is_none());
}

on_store!(
    embedded,
    {
        let s = std::sync::Arc::new(scim_server::store::MemoryStore::new());
        super::with_rules(s).await
    },
    [
        roles_follow_groups_and_rules,
        no_rules_answers_as_before_and_tenants_are_isolated
    ]
);
on_store!(
    dynamodb,
    {
        let s = std::sync::Arc::new(crate::common::moto::dynamo_fixture().await.store);
        super::with_rules(s).await
    },
    [
        roles_follow_groups_and_rules,
        no_rules_answers_as_before_and_tenants_are_isolated
    ]
);

/// `scimctl tenant set` refuses a bad rule before any AWS call: exit 2, the rule's problem named.
#[test]
fn scimctl_refuses_a_bad_rule() {
    for (value, says) in [
        ("role_rules=Admins:admin:10", "not a JSON array"),
        (
            r#"role_rules=[{"group":"Admins","role":"admin","priority":1,"external_id":"x"}]"#,
            "both",
        ),
        (
            r#"role_rules=[{"group":"Admins","role":"root","priority":1}]"#,
            "not one of roles",
        ),
        ("role_ceiling=owner", "top role"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimctl"))
            .args([
                "tenant", "set", "--tenant", "acme", "--table", "none", value,
            ])
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value}: {err}");
        assert!(
            err.contains(says) && err.contains("nothing written"),
            "{value}: {err}"
        );
    }
}
