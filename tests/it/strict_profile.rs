//! The `profile` setting (issue 18, item 2): a strict tenant and a tolerant tenant of the same
//! deployment answer the same requests side by side; the tolerant one exactly as before.

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::moto::dynamo_fixture;
use crate::common::requests::{patch_body, tenant};
use crate::common::{new_app_with_store, TestApp};
use scim_server::settings::TenantSettings;
use scim_server::store::{MemoryStore, Store};

/// An app whose "acme" tenant is tolerant (no record) and whose "strict" tenant is set to
/// `profile=strict`; the token of the strict tenant.
async fn side_by_side(store: Arc<dyn Store>) -> (TestApp, String) {
    let strict = TenantSettings::default()
        .assign(&["profile=strict"])
        .unwrap();
    store
        .put_settings(&tenant("strict"), &strict, 0)
        .await
        .unwrap();
    let t = new_app_with_store(store);
    let token = t.token_for("strict");
    (t, token)
}

async fn both(
    t: &TestApp,
    strict: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (crate::common::Answer, crate::common::Answer) {
    let tolerant = t.call(method.clone(), path, body.clone()).await;
    let strict = t.call_as(strict, method, path, body).await;
    (tolerant, strict)
}

fn user(user_name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name})
}

async fn scenario(store: Arc<dyn Store>) {
    let (t, strict) = side_by_side(store).await;

    // Unknown attributes: ignored by the tolerant tenant, 400 invalidSyntax for the strict one.
    let mut custom = user("custom@example.com");
    custom["favouriteColour"] = "blue".into();
    let (tol, st) = both(&t, &strict, Method::POST, "/Users", Some(custom)).await;
    assert_eq!(tol.status, StatusCode::CREATED, "{}", tol.body);
    assert!(tol.body.get("favouriteColour").is_none());
    st.assert_error(400, Some("invalidSyntax"));
    let mut unknown_schema = user("schema@example.com");
    unknown_schema["schemas"] = json!([
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:example:custom:1.0"
    ]);
    let (tol, st) = both(&t, &strict, Method::POST, "/Users", Some(unknown_schema)).await;
    assert_eq!(tol.status, StatusCode::CREATED, "{}", tol.body);
    st.assert_error(400, Some("invalidSyntax"));
    let list = t.call_as(&strict, Method::GET, "/Users", None).await;
    assert_eq!(
        list.body["totalResults"], 0,
        "the refused creates wrote nothing"
    );

    // The same valid user on both tenants.
    let tol_id = t.create_user("same@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let st_created = t
        .call_as(
            &strict,
            Method::POST,
            "/Users",
            Some(user("same@example.com")),
        )
        .await;
    assert_eq!(st_created.status, StatusCode::CREATED);
    let st_id = st_created.body["id"].as_str().unwrap().to_owned();

    // PATCH without path (Okta, Entra): applied for the tolerant tenant, refused for the strict.
    let no_path = patch_body(json!([{"op": "replace", "value": {"active": false}}]));
    let tol = t
        .call(
            Method::PATCH,
            &format!("/Users/{tol_id}"),
            Some(no_path.clone()),
        )
        .await;
    assert_eq!(tol.status, StatusCode::OK);
    assert_eq!(tol.body["active"], false);
    let st = t
        .call_as(
            &strict,
            Method::PATCH,
            &format!("/Users/{st_id}"),
            Some(no_path),
        )
        .await;
    st.assert_error(400, Some("invalidSyntax"));
    let st_user = t
        .call_as(&strict, Method::GET, &format!("/Users/{st_id}"), None)
        .await;
    assert_eq!(st_user.body["active"], true, "unchanged");
    // With a path, both apply it.
    let with_path = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    let st = t
        .call_as(
            &strict,
            Method::PATCH,
            &format!("/Users/{st_id}"),
            Some(with_path),
        )
        .await;
    assert_eq!(st.status, StatusCode::OK, "{}", st.body);

    // PUT with an unknown sub-attribute.
    let mut put = user("same@example.com");
    put["name"] = json!({"givenName": "S", "nickname": "x"});
    let (tol, st) = both(
        &t,
        &strict,
        Method::PUT,
        &format!("/Users/{tol_id}"),
        Some(put.clone()),
    )
    .await;
    assert_eq!(tol.status, StatusCode::OK);
    // (The strict tenant's PUT goes to its own user; the tolerant id is another tenant's: 400
    // comes before any read.)
    st.assert_error(400, Some("invalidSyntax"));
    let st = t
        .call_as(&strict, Method::PUT, &format!("/Users/{st_id}"), Some(put))
        .await;
    st.assert_error(400, Some("invalidSyntax"));

    // Groups: a PATCH without path.
    let g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"});
    let st_group = t.call_as(&strict, Method::POST, "/Groups", Some(g)).await;
    assert_eq!(st_group.status, StatusCode::CREATED);
    let gid = st_group.body["id"].as_str().unwrap();
    let rename = patch_body(json!([{"op": "replace", "value": {"displayName": "H"}}]));
    t.call_as(
        &strict,
        Method::PATCH,
        &format!("/Groups/{gid}"),
        Some(rename),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));

    // Bulk follows the tenant's profile, operation by operation.
    let mut bad = user("bulk@example.com");
    bad["favouriteColour"] = "blue".into();
    let body =
        json!({"Operations": [{"method": "POST", "path": "/Users", "bulkId": "a", "data": bad}]});
    let (tol, st) = both(&t, &strict, Method::POST, "/Bulk", Some(body)).await;
    assert_eq!(tol.body["Operations"][0]["status"], "201");
    assert_eq!(st.body["Operations"][0]["status"], "400");
    assert_eq!(
        st.body["Operations"][0]["response"]["scimType"],
        "invalidSyntax"
    );

    // Discovery, per tenant.
    let (tol, st) = both(&t, &strict, Method::GET, "/ServiceProviderConfig", None).await;
    assert!(tol.body.get("interopProfileConformant").is_none());
    assert_eq!(st.body["interopProfileConformant"], true);
    assert_eq!(st.body["bulk"]["supported"], true);
    let (tol, st) = both(&t, &strict, Method::GET, "/Schemas", None).await;
    let types_without_values = |doc: &Value| -> usize {
        fn walk(v: &Value, n: &mut usize) {
            if let Some(attrs) = v
                .get("subAttributes")
                .or_else(|| v.get("attributes"))
                .and_then(Value::as_array)
            {
                for a in attrs {
                    if a["name"] == "type" && a.get("canonicalValues").is_none() {
                        *n += 1;
                    }
                    walk(a, n);
                }
            }
        }
        let mut n = 0;
        for s in doc["Resources"].as_array().unwrap() {
            walk(s, &mut n);
        }
        n
    };
    assert!(types_without_values(&tol.body) > 0, "tolerant: as before");
    assert_eq!(
        types_without_values(&st.body),
        0,
        "strict: every type lists canonicalValues"
    );
    let (tol, st) = both(&t, &strict, Method::GET, "/ResourceTypes", None).await;
    for doc in [&tol.body, &st.body] {
        for rt in doc["Resources"].as_array().unwrap() {
            assert_eq!(rt["id"], rt["name"]);
        }
    }
}

#[tokio::test]
async fn strict_and_tolerant_tenants_side_by_side_on_memory() {
    scenario(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn strict_and_tolerant_tenants_side_by_side_on_dynamodb() {
    scenario(Arc::new(dynamo_fixture().await.store)).await;
}
