//! Bad input never panics, always gets a SCIM error, and never changes stored data.

use crate::common;

use bytes::Bytes;
use common::new_app;
use common::requests::seed_user;
use http::{Method, StatusCode};
use serde_json::{json, Value};

async fn snapshot(t: &common::TestApp) -> Value {
    t.call(Method::GET, "/Users", None).await.body
}

#[tokio::test]
async fn malformed_bodies_get_400_invalid_syntax_and_change_nothing() {
    let t = new_app();
    let id = seed_user(&t, "kim@example.com").await;
    let before = snapshot(&t).await;
    let bodies: Vec<&[u8]> = vec![
        b"{",
        b"not json",
        b"{\"userName\": }",
        b"[1,2",
        b"\xff\xfe\x00{\"userName\":\"x\"}",
        b"{\"userName\":\"\xc3\x28\"}",
        b"",
        b"   ",
    ];
    for body in &bodies {
        for (method, path) in [
            (Method::POST, "/Users".to_owned()),
            (Method::PUT, format!("/Users/{id}")),
            (Method::PATCH, format!("/Users/{id}")),
        ] {
            let req = t
                .request(method.clone(), &path)
                .header("content-type", "application/scim+json")
                .body(Bytes::copy_from_slice(body))
                .unwrap();
            let a = t.send(req).await;
            a.assert_error(400, Some("invalidSyntax"));
        }
    }
    // Deeply nested JSON is refused by the parser's recursion limit, not by a stack overflow.
    let deep = "[".repeat(100_000);
    let req = t
        .request(Method::POST, "/Users")
        .header("content-type", "application/json")
        .body(Bytes::from(deep))
        .unwrap();
    t.send(req).await.assert_error(400, Some("invalidSyntax"));
    assert_eq!(snapshot(&t).await, before);
}

#[tokio::test]
async fn wrong_types_get_400_and_change_nothing() {
    let t = new_app();
    let id = seed_user(&t, "lee@example.com").await;
    let before = snapshot(&t).await;
    let bad_users = [
        json!([]),
        json!("a string"),
        json!(42),
        json!({"userName": 42}),
        json!({"userName": ""}),
        json!({"userName": "   "}),
        json!({"userName": "x@example.com", "active": "maybe"}),
        json!({"userName": "x@example.com", "name": "not an object"}),
        json!({"userName": "x@example.com", "emails": [{"value": "a@b.c", "primary": true}, {"value": "d@e.f", "primary": true}]}),
        json!({"userName": "x@example.com", "schemas": "urn:ietf:params:scim:schemas:core:2.0:User"}),
    ];
    for body in &bad_users {
        let a = t.call(Method::POST, "/Users", Some(body.clone())).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.body);
        let a = t
            .call(Method::PUT, &format!("/Users/{id}"), Some(body.clone()))
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.body);
    }
    let bad_patches = [
        json!({}),
        json!({"Operations": []}),
        json!({"Operations": "replace"}),
        json!({"Operations": [{"op": "explode", "path": "title", "value": "x"}]}),
        json!({"Operations": [{"op": "replace", "path": "active", "value": "maybe"}]}),
        json!({"Operations": [{"op": "replace", "path": "userName", "value": ""}]}),
        json!({"Operations": [{"op": "remove", "path": "userName"}]}),
        json!({"Operations": [{"op": "replace", "path": 7, "value": "x"}]}),
        // Atomicity: the first operation is valid, the second is not: neither applies.
        json!({"Operations": [{"op": "replace", "path": "title", "value": "applied?"}, {"op": "replace", "path": "name", "value": 3}]}),
    ];
    for body in &bad_patches {
        let a = t
            .call(Method::PATCH, &format!("/Users/{id}"), Some(body.clone()))
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.body);
        assert!(a.body["scimType"].is_string(), "{body}: {}", a.body);
    }
    assert_eq!(snapshot(&t).await, before);
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_413() {
    let t = new_app();
    let id = seed_user(&t, "max@example.com").await;
    let before = snapshot(&t).await;
    let huge = json!({"userName": "big@example.com", "title": "x".repeat(1024 * 1024)});
    t.call(Method::POST, "/Users", Some(huge.clone()))
        .await
        .assert_error(413, None);
    t.call(Method::PUT, &format!("/Users/{id}"), Some(huge))
        .await
        .assert_error(413, None);
    assert_eq!(snapshot(&t).await, before);
}

#[tokio::test]
async fn hostile_paths_and_queries_are_answered_not_panicked_on() {
    let t = new_app();
    let long = "a".repeat(10_000);
    let parens = "(".repeat(50_000);
    let paths = [
        "/Users/%00".to_owned(),
        "/Users/../../etc/passwd".to_owned(),
        format!("/Users/{long}"),
        format!("/Users?filter={parens}"),
        "/Users?filter=%FF%FE".to_owned(),
        "/Users?startIndex=99999999999999999999999".to_owned(),
        "/Users?count=-99999999999999999".to_owned(),
        "/Users/x/y/z".to_owned(),
        "/Schemas/".to_owned(),
    ];
    for p in &paths {
        let a = t.call(Method::GET, p, None).await;
        assert!(
            a.status.is_client_error() || a.status == StatusCode::OK,
            "{p}: {}",
            a.status
        );
        if a.status.is_client_error() {
            assert_eq!(
                a.body["schemas"][0],
                "urn:ietf:params:scim:api:messages:2.0:Error"
            );
        }
    }
    let a = t
        .call(Method::GET, &format!("/Users?filter={parens}"), None)
        .await;
    a.assert_error(400, Some("invalidFilter"));
}
