//! The filters the OpenID IPSIE SCIM profile requires (issue 18, item 4), on both stores:
//! `emails[type eq "work" and value eq "x"]` on Users and `members[value eq "id"]` on Groups.

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::json;

use crate::common::moto::dynamo_fixture;
use crate::common::requests::{create_group, enc, id_of};
use crate::common::{new_app_with_store, TestApp};
use scim_server::store::{MemoryStore, Store};

async fn scenario(store: Arc<dyn Store>) -> TestApp {
    let t = new_app_with_store(store);
    let mk = |user_name: &str, emails: serde_json::Value| json!({"userName": user_name, "emails": emails});
    let a = t
        .call(
            Method::POST,
            "/Users",
            Some(mk("a", json!([{"type": "work", "value": "x@example.com"}]))),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a_id = id_of(&a.body);
    // Same address, but as a home address: must not match.
    let b = t
        .call(Method::POST, "/Users", Some(mk("b", json!([{"type": "home", "value": "x@example.com"}, {"type": "work", "value": "y@example.com"}]))))
        .await;
    let b_id = id_of(&b.body);
    let filter = enc(r#"emails[type eq "work" and value eq "x@example.com"]"#);
    let found = t
        .call(Method::GET, &format!("/Users?filter={filter}"), None)
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body["totalResults"], 1, "{}", found.body);
    assert_eq!(found.body["Resources"][0]["id"], a_id.as_str());

    let g1 = create_group(&t, "with-a", &[&a_id]).await;
    let _g2 = create_group(&t, "with-b", &[&b_id]).await;
    let filter = enc(&format!(r#"members[value eq "{a_id}"]"#));
    let found = t
        .call(Method::GET, &format!("/Groups?filter={filter}"), None)
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body["totalResults"], 1, "{}", found.body);
    assert_eq!(found.body["Resources"][0]["id"], g1["id"]);
    t
}

#[tokio::test]
async fn ipsie_filters_on_memory() {
    scenario(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn ipsie_filters_on_dynamodb() {
    scenario(Arc::new(dynamo_fixture().await.store)).await;
}
