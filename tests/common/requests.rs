//! Request builders and small fixtures shared by the test files: one version of each, so a change
//! of the wire format or of a route is made once.

use std::path::{Path, PathBuf};

use http::{Method, StatusCode};
use serde_json::{json, Value};

use scim_server::scim::members::{Member, MemberKind};
use scim_server::scim::resource::{now_rfc3339, Resource};
use scim_server::tenant::TenantId;

use super::{Answer, TestApp};

/// The PatchOp message URN (RFC 7644 §3.5.2), from the crate: request bodies only.
pub use scim_server::scim::urn::PATCH_OP;

/// The Group schema URN, written out: tests also compare answers with it.
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// Every resource of a list (`/Users`, `/Groups`), walked page by page by `startIndex` with
/// `count` (RFC 7644 §3.4.2.4), as the IdPs' imports do.
pub async fn walk_by_index(t: &TestApp, list: &str, count: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut start = 1;
    loop {
        let a = t
            .call(
                Method::GET,
                &format!("{list}?startIndex={start}&count={count}"),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let page = a.body["Resources"].as_array().unwrap().clone();
        if page.is_empty() {
            return out;
        }
        start += page.len();
        out.extend(page);
    }
}

/// Percent-encodes a query value (a filter, a cursor).
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The `id` of a resource answer.
pub fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// A PatchOp request body with these operations.
pub fn patch_body(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// The body of a 200 answer.
#[track_caller]
pub fn ok(a: &Answer) -> Value {
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body.clone()
}

/// POST /Users with `body` (must be 201); the new user's id.
pub async fn seed(t: &TestApp, body: Value) -> String {
    let a = t.call(Method::POST, "/Users", Some(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    id_of(&a.body)
}

/// A user created from [`super::user_body`]; its id.
pub async fn seed_user(t: &TestApp, user_name: &str) -> String {
    id_of(&t.create_user(user_name).await)
}

/// GET /Users/{id}, the answer as it is.
pub async fn get_user(t: &TestApp, id: &str) -> Answer {
    t.call(Method::GET, &format!("/Users/{id}"), None).await
}

/// The `groups` a user's answer lists (GET /Users/{id}, must be 200); none when it has none.
pub async fn user_groups(t: &TestApp, id: &str) -> Vec<Value> {
    let a = get_user(t, id).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body
        .get("groups")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The groups a user's answer lists, as (id, display), in the answer's order.
pub async fn user_group_pairs(t: &TestApp, id: &str) -> Vec<(String, String)> {
    user_groups(t, id)
        .await
        .iter()
        .map(|g| {
            (
                g["value"].as_str().unwrap_or_default().to_owned(),
                g["display"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// PATCH /Users/{id} with these operations.
pub async fn patch_user(t: &TestApp, id: &str, ops: Value) -> Answer {
    t.call(
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(patch_body(ops)),
    )
    .await
}

/// PATCH /Groups/{id} with these operations.
pub async fn patch_group(t: &TestApp, id: &str, ops: Value) -> Answer {
    t.call(
        Method::PATCH,
        &format!("/Groups/{id}"),
        Some(patch_body(ops)),
    )
    .await
}

/// The member ids a group's answer lists.
pub fn member_ids(doc: &Value) -> std::collections::BTreeSet<String> {
    doc.get("members")
        .and_then(Value::as_array)
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// POST /Groups with these member ids (must be 201); the answer's body.
pub async fn create_group(t: &TestApp, name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    let a = t
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP_URN], "displayName": name, "members": members})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body
}

pub fn tenant(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

/// A new resource record (fresh id, version 1, created now) for writing to a store directly.
pub fn resource(attributes: Value) -> Resource {
    resource_at(attributes, &now_rfc3339())
}

/// A new resource record created and last modified at `at`.
pub fn resource_at(attributes: Value, at: &str) -> Resource {
    Resource {
        id: uuid::Uuid::new_v4().to_string(),
        version: scim_server::scim::resource::Version::new(1),
        created: at.to_owned(),
        last_modified: at.to_owned(),
        attributes: attributes.as_object().cloned().unwrap(),
    }
}

/// A User member without display.
pub fn user_member(id: &str) -> Member {
    Member {
        value: id.to_owned(),
        kind: MemberKind::User,
        display: None,
    }
}

/// `tests/fixtures/<sub>`.
pub fn fixtures_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(sub)
}

/// A JSON fixture, `tests/fixtures/<rel>`; panics naming the file.
pub fn fixture(rel: &str) -> Value {
    let path = fixtures_dir(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
