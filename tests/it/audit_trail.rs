//! The audit trail: a replayed IdP sequence produces exactly the expected records, in order, with
//! who/what/when; failed writes produce none; records carry attribute names, never values. On
//! both stores, and through `scimctl audit` against DynamoDB (moto).

use crate::common;

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{json, Value};

use common::requests::{seed_user, GROUP_URN};
use common::TestApp;
use scim_server::audit::{Action, AuditRecord};
use scim_server::store::audit::{AuditLog, AuditQuery};

async fn send(
    t: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    request_id: &str,
    if_match: Option<&str>,
) -> common::Answer {
    let mut b = t
        .request(method, path)
        .header("user-agent", "Okta SCIM Client 1.0.0")
        .header("x-request-id", request_id)
        .header("content-type", "application/scim+json");
    if let Some(m) = if_match {
        b = b.header("if-match", m);
    }
    let bytes = body
        .map(|v| Bytes::from(serde_json::to_vec(&v).unwrap()))
        .unwrap_or_default();
    t.send(b.body(bytes).unwrap()).await
}

/// Okta's lifecycle plus failed writes in between; returns the user id.
async fn replay(t: &TestApp) -> String {
    let user = json!({"userName": "audited.person@example.com", "name": {"givenName": "Audited"}, "active": true});
    let a = send(t, Method::POST, "/Users", Some(user.clone()), "req-1", None).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let id = a.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    // Failed writes: duplicate, invalid PATCH, stale If-Match.
    assert_eq!(
        send(
            t,
            Method::POST,
            "/Users",
            Some(user.clone()),
            "req-f1",
            None
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    let bad = json!({"Operations": [{"op": "replace", "path": "active", "value": "maybe"}]});
    assert_eq!(
        send(t, Method::PATCH, &path, Some(bad), "req-f2", None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let title = json!({"Operations": [{"op": "replace", "path": "title", "value": "x"}]});
    assert_eq!(
        send(
            t,
            Method::PATCH,
            &path,
            Some(title),
            "req-f3",
            Some("W/\"9\"")
        )
        .await
        .status,
        StatusCode::PRECONDITION_FAILED
    );
    // Profile push (PUT) with a change, then the same PUT again (no change: no write, no record).
    let mut pushed = user.clone();
    pushed["title"] = json!("Auditor");
    assert_eq!(
        send(t, Method::PUT, &path, Some(pushed.clone()), "req-2", None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(t, Method::PUT, &path, Some(pushed), "req-2b", None)
            .await
            .status,
        StatusCode::OK
    );
    let off = json!({"Operations": [{"op": "replace", "value": {"active": false}}]});
    assert_eq!(
        send(t, Method::PATCH, &path, Some(off), "req-3", None)
            .await
            .status,
        StatusCode::OK
    );
    let on = json!({"Operations": [{"op": "replace", "value": {"active": true}}]});
    assert_eq!(
        send(t, Method::PATCH, &path, Some(on), "req-4", None)
            .await
            .status,
        StatusCode::OK
    );
    let nick = json!({"Operations": [{"op": "add", "path": "nickName", "value": "Audi"}]});
    assert_eq!(
        send(t, Method::PATCH, &path, Some(nick), "req-5", None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(t, Method::DELETE, &path, None, "req-6", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    id
}

fn check(records: &[AuditRecord], t: &TestApp, id: &str) {
    let summary: Vec<(Action, &str, Vec<&str>)> = records
        .iter()
        .map(|r| {
            (
                r.action,
                r.request_id.as_str(),
                r.changed.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (Action::Create, "req-1", vec!["active", "name", "userName"]),
            (Action::Replace, "req-2", vec!["title"]),
            (Action::Deactivate, "req-3", vec!["active"]),
            (Action::Reactivate, "req-4", vec!["active"]),
            (Action::Patch, "req-5", vec!["nickName"]),
            (
                Action::Delete,
                "req-6",
                vec!["active", "name", "nickName", "title", "userName"]
            ),
        ]
    );
    let token_id =
        scim_server::auth::token::token_id(&scim_server::auth::token::TokenHash::of(&t.token));
    for r in records {
        assert_eq!(
            (
                r.resource_type.as_str(),
                r.resource_id.as_str(),
                r.tenant.as_str()
            ),
            ("User", id, "acme")
        );
        assert_eq!(
            (r.token_id.as_str(), r.idp.as_str()),
            (token_id.as_str(), "okta")
        );
        assert!(
            time::OffsetDateTime::parse(&r.at, &time::format_description::well_known::Rfc3339)
                .is_ok()
        );
    }
    let text = serde_json::to_string(records).unwrap();
    for value in ["audited.person@example.com", "Auditor", "Audi\""] {
        assert!(
            !text.contains(value),
            "an attribute value ({value}) is in the audit trail"
        );
    }
    assert!(
        records.windows(2).all(|w| w[0].at <= w[1].at),
        "oldest first"
    );
}

fn all() -> AuditQuery {
    AuditQuery {
        limit: 1000,
        ..AuditQuery::default()
    }
}

#[tokio::test]
async fn audit_trail_on_the_embedded_store() {
    let store = Arc::new(scim_server::store::MemoryStore::new());
    let t = common::new_app_with_store(store.clone());
    let id = replay(&t).await;
    let records = store.audit_records(&t.tenant, &all()).await.unwrap();
    check(&records, &t, &id);
    // Filters: by resource, and since a time after everything.
    let other = store
        .audit_records(
            &t.tenant,
            &AuditQuery {
                resource_id: Some("nope".into()),
                ..all()
            },
        )
        .await
        .unwrap();
    assert!(other.is_empty());
    let later = store
        .audit_records(
            &t.tenant,
            &AuditQuery {
                since: Some("2999-01-01T00:00:00Z".into()),
                ..all()
            },
        )
        .await
        .unwrap();
    assert!(later.is_empty());
    // Another tenant sees nothing.
    let globex = scim_server::tenant::TenantId::parse("globex").unwrap();
    assert!(store
        .audit_records(&globex, &all())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn audit_trail_on_dynamodb_and_through_scimctl() {
    let fx = common::moto::dynamo_fixture().await;
    let store = Arc::new(fx.store.clone());
    let t = common::new_app_with_store(store.clone());
    let id = replay(&t).await;
    let records = store.audit_records(&t.tenant, &all()).await.unwrap();
    check(&records, &t, &id);
    let limited = store
        .audit_records(&t.tenant, &AuditQuery { limit: 2, ..all() })
        .await
        .unwrap();
    assert_eq!(limited, records[..2].to_vec());

    let table = ["--table", fx.table.as_str()];
    let out = common::moto::scimctl(
        &[
            &["audit", "--tenant", "acme", "--user", &id, "--json"],
            &table[..],
        ]
        .concat(),
    );
    let printed: Vec<AuditRecord> = serde_json::from_str(&out).unwrap();
    assert_eq!(printed, records);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimctl"))
        .args(["audit", "--tenant", "acme", "--since", "yesterday"])
        .env("SCIM_TABLE_NAME", &fx.table)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a bad --since is a usage error");
}

/// Group changes: create with a member, rename, add and remove members, a failed write, delete.
async fn replay_groups(t: &TestApp) -> (String, Vec<String>) {
    let u1 = seed_user(t, "member.one@example.com").await;
    let u2 = seed_user(t, "member.two@example.com").await;
    let g = json!({"schemas": [GROUP_URN], "displayName": "Auditors", "members": [{"value": u1}]});
    let a = send(t, Method::POST, "/Groups", Some(g), "g-1", None).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let gid = a.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Groups/{gid}");
    let rename = json!({"Operations": [{"op": "replace", "value": {"id": gid, "displayName": "Auditors EU"}}]});
    assert!(send(t, Method::PATCH, &path, Some(rename), "g-2", None)
        .await
        .status
        .is_success());
    let add = json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": u2}]}]});
    assert!(send(t, Method::PATCH, &path, Some(add), "g-3", None)
        .await
        .status
        .is_success());
    let bad = json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}]});
    assert_eq!(
        send(t, Method::PATCH, &path, Some(bad), "g-f1", None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let remove =
        json!({"Operations": [{"op": "remove", "path": format!("members[value eq \"{u1}\"]")}]});
    assert!(send(t, Method::PATCH, &path, Some(remove), "g-4", None)
        .await
        .status
        .is_success());
    assert_eq!(
        send(t, Method::DELETE, &path, None, "g-5", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    (gid, vec![u1, u2])
}

async fn check_groups(store: &dyn AuditLog, t: &TestApp) {
    let (gid, _) = replay_groups(t).await;
    let q = AuditQuery {
        resource_id: Some(gid.clone()),
        ..all()
    };
    let records = store.audit_records(&t.tenant, &q).await.unwrap();
    let summary: Vec<(&str, Action, Vec<&str>)> = records
        .iter()
        .map(|r| {
            (
                r.request_id.as_str(),
                r.action,
                r.changed.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("g-1", Action::Create, vec!["displayName", "members"]),
            ("g-2", Action::Patch, vec!["displayName"]),
            ("g-3", Action::MembershipChange, vec!["members"]),
            ("g-4", Action::MembershipChange, vec!["members"]),
            ("g-5", Action::Delete, vec!["displayName"]),
        ]
    );
    assert!(records
        .iter()
        .all(|r| r.resource_type == "Group" && r.idp == "okta"));
}

#[tokio::test]
async fn group_audit_trail_on_the_embedded_store() {
    let store = Arc::new(scim_server::store::MemoryStore::new());
    let t = common::new_app_with_store(store.clone());
    check_groups(store.as_ref(), &t).await;
}

#[tokio::test]
async fn group_audit_trail_on_dynamodb() {
    let fx = common::moto::dynamo_fixture().await;
    let store = Arc::new(fx.store.clone());
    let t = common::new_app_with_store(store.clone());
    check_groups(store.as_ref(), &t).await;
}
