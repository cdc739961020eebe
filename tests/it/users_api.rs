//! The Users surface end to end through the router (RFC 7644 §3), on the embedded store.

use crate::common;

use bytes::Bytes;
use common::requests::{patch_body, seed_user};
use common::{new_app, user_body};
use http::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn create_returns_201_full_resource_location_and_etag() {
    let t = new_app();
    let a = t
        .call(
            Method::POST,
            "/Users",
            Some(user_body("bjensen@example.com")),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.header("content-type"), Some("application/scim+json"));
    let id = a.body["id"].as_str().unwrap();
    assert_eq!(
        a.header("location"),
        Some(format!("https://scim.test/scim/v2/Users/{id}").as_str())
    );
    assert_eq!(a.body["meta"]["location"], a.header("location").unwrap());
    assert_eq!(a.header("etag"), Some("W/\"1\""));
    assert_eq!(a.body["meta"]["version"], "W/\"1\"");
    assert_eq!(a.body["meta"]["resourceType"], "User");
    assert_eq!(a.body["userName"], "bjensen@example.com");
    assert_eq!(a.body["active"], true);
    assert_eq!(a.body["name"]["familyName"], "Jensen");
    assert_eq!(
        a.body["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
    assert!(a.body["meta"]["created"].is_string() && a.body["meta"]["lastModified"].is_string());
}

#[tokio::test]
async fn get_returns_the_created_user_and_304_on_matching_if_none_match() {
    let t = new_app();
    let created = t.create_user("alice@example.com").await;
    let id = created["id"].as_str().unwrap();
    let a = t.call(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, created);
    assert_eq!(a.header("etag"), Some("W/\"1\""));

    let req = t
        .request(Method::GET, &format!("/Users/{id}"))
        .header("if-none-match", "W/\"1\"")
        .body(Bytes::new())
        .unwrap();
    let a = t.send(req).await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);
    assert!(a.raw.is_empty());
}

#[tokio::test]
async fn duplicate_user_name_differing_only_in_case_is_409_uniqueness() {
    let t = new_app();
    t.create_user("Bob@Example.com").await;
    for dup in ["bob@example.com", "BOB@EXAMPLE.COM", "Bob@Example.com"] {
        let a = t.call(Method::POST, "/Users", Some(user_body(dup))).await;
        a.assert_error(409, Some("uniqueness"));
    }
    let list = t.call(Method::GET, "/Users", None).await;
    assert_eq!(list.body["totalResults"], 1);
}

#[tokio::test]
async fn put_replaces_ignores_read_only_and_never_returns_password() {
    let t = new_app();
    let created = t.create_user("carol@example.com").await;
    let id = created["id"].as_str().unwrap();
    let put = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "something-else",
        "meta": {"resourceType": "User", "version": "W/\"99\"", "created": "2000-01-01T00:00:00Z"},
        "groups": [],
        "password": "hunter2-Secret!",
        "userName": "carol@example.com",
        "name": {"givenName": "Carol", "familyName": "Danvers"},
        "title": "Captain"
    });
    let a = t
        .call(Method::PUT, &format!("/Users/{id}"), Some(put))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["id"], id);
    assert_eq!(a.body["title"], "Captain");
    assert_eq!(a.body["name"]["familyName"], "Danvers");
    // Replaced, not merged: emails were not in the PUT body.
    assert!(a.body.get("emails").is_none());
    assert_eq!(a.body["meta"]["created"], created["meta"]["created"]);
    assert_eq!(a.body["meta"]["version"], "W/\"2\"");
    assert_eq!(a.header("etag"), Some("W/\"2\""));
    assert!(
        !a.raw.windows(7).any(|w| w.eq_ignore_ascii_case(b"hunter2")),
        "password leaked"
    );
    assert!(a.body.get("password").is_none());
    // PUT without `active` keeps the current value (ARCHITECTURE.md, IdP shapes row 18).
    assert_eq!(a.body["active"], true);
    let got = t.call(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(got.body, a.body);
    assert!(!got
        .raw
        .windows(7)
        .any(|w| w.eq_ignore_ascii_case(b"hunter2")));
}

#[tokio::test]
async fn put_without_active_keeps_a_deactivated_user_deactivated() {
    let t = new_app();
    let id = seed_user(&t, "dana@example.com").await;
    let off = patch_body(json!([{"op": "replace", "value": {"active": false}}]));
    assert_eq!(
        t.call(Method::PATCH, &format!("/Users/{id}"), Some(off))
            .await
            .body["active"],
        false
    );
    let a = t
        .call(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(json!({"userName": "dana@example.com", "title": "x"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["active"], false);
}

#[tokio::test]
async fn patch_simple_and_no_path_forms() {
    let t = new_app();
    let id = seed_user(&t, "erin@example.com").await;
    let path = format!("/Users/{id}");
    // Entra: capitalised op, string boolean.
    let a = t
        .call(
            Method::PATCH,
            &path,
            Some(patch_body(
                json!([{"op": "Replace", "path": "active", "value": "False"}]),
            )),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["active"], false);
    // Okta: no path, object value.
    let a = t
        .call(
            Method::PATCH,
            &path,
            Some(patch_body(
                json!([{"op": "replace", "value": {"active": true, "name.givenName": "Erin"}}]),
            )),
        )
        .await;
    assert_eq!(a.body["active"], true);
    assert_eq!(a.body["name"]["givenName"], "Erin");
    assert_eq!(a.body["name"]["familyName"], "Jensen");
    // add, then remove, a simple attribute.
    let a = t
        .call(
            Method::PATCH,
            &path,
            Some(json!({"Operations": [{"op": "add", "path": "title", "value": "Engineer"}]})),
        )
        .await;
    assert_eq!(a.body["title"], "Engineer");
    let a = t
        .call(
            Method::PATCH,
            &path,
            Some(json!({"Operations": [{"op": "remove", "path": "title"}]})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.get("title").is_none());
    assert_eq!(a.header("etag"), Some("W/\"5\""));
}

#[tokio::test]
async fn delete_then_every_request_on_that_id_is_404_and_user_name_is_free() {
    let t = new_app();
    let id = seed_user(&t, "frank@example.com").await;
    let path = format!("/Users/{id}");
    let a = t.call(Method::DELETE, &path, None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(a.raw.is_empty());
    t.call(Method::GET, &path, None)
        .await
        .assert_error(404, None);
    t.call(Method::DELETE, &path, None)
        .await
        .assert_error(404, None);
    t.call(Method::PUT, &path, Some(user_body("frank@example.com")))
        .await
        .assert_error(404, None);
    t.call(
        Method::PATCH,
        &path,
        Some(json!({"Operations": [{"op": "replace", "path": "active", "value": false}]})),
    )
    .await
    .assert_error(404, None);
    let found = t
        .call(
            Method::GET,
            "/Users?filter=userName%20eq%20%22frank%40example.com%22",
            None,
        )
        .await;
    assert_eq!(found.body["totalResults"], 0);
    // The userName can be used again, by a new user with a new id.
    let again = t.create_user("FRANK@example.com").await;
    assert_ne!(again["id"], id);
}

#[tokio::test]
async fn list_pages_and_filters() {
    let t = new_app();
    let mut ids = Vec::new();
    for i in 0..5 {
        let u = t
            .call(Method::POST, "/Users", Some(json!({"userName": format!("user{i}@example.com"), "externalId": format!("ext-{i}")})))
            .await;
        ids.push(u.body["id"].as_str().unwrap().to_owned());
    }
    let all = t.call(Method::GET, "/Users", None).await;
    assert_eq!(
        all.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(
        (
            all.body["totalResults"].as_u64(),
            all.body["itemsPerPage"].as_u64(),
            all.body["startIndex"].as_u64()
        ),
        (Some(5), Some(5), Some(1))
    );

    // Okta pages with startIndex/count and needs the same order on every page.
    let p1 = t
        .call(Method::GET, "/Users?startIndex=1&count=2", None)
        .await;
    let p2 = t
        .call(Method::GET, "/Users?startIndex=3&count=2", None)
        .await;
    let p3 = t
        .call(Method::GET, "/Users?startIndex=5&count=2", None)
        .await;
    let paged: Vec<Value> = [p1, p2, p3]
        .iter()
        .flat_map(|p| p.body["Resources"].as_array().unwrap().clone())
        .collect();
    assert_eq!(paged, all.body["Resources"].as_array().unwrap().clone());

    for (query, expect) in [
        ("filter=userName%20eq%20%22USER3%40example.com%22", Some(3)),
        ("filter=externalId%20eq%20%22ext-1%22", Some(1)),
        (
            &format!("filter=id%20eq%20%22{}%22", ids[4]) as &str,
            Some(4),
        ),
        ("filter=externalId%20eq%20%22EXT-1%22", None), // externalId is caseExact
        ("filter=userName%20eq%20%22nobody%22", None),
    ] {
        let a = t.call(Method::GET, &format!("/Users?{query}"), None).await;
        assert_eq!(a.status, StatusCode::OK, "{query}: {}", a.body);
        match expect {
            Some(i) => {
                assert_eq!(a.body["totalResults"], 1, "{query}");
                assert_eq!(a.body["Resources"][0]["id"], ids[i].as_str());
            }
            None => assert_eq!(
                a.body,
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []})
            ),
        }
    }
}

#[tokio::test]
async fn stale_if_match_is_412_and_changes_nothing() {
    let t = new_app();
    let id = seed_user(&t, "gina@example.com").await;
    let path = format!("/Users/{id}");
    let body = serde_json::to_vec(
        &json!({"Operations": [{"op": "replace", "path": "title", "value": "x"}]}),
    )
    .unwrap();
    let req = t
        .request(Method::PATCH, &path)
        .header("if-match", "W/\"7\"")
        .header("content-type", "application/scim+json")
        .body(Bytes::from(body.clone()))
        .unwrap();
    t.send(req).await.assert_error(412, None);
    let req = t
        .request(Method::DELETE, &path)
        .header("if-match", "W/\"7\"")
        .body(Bytes::new())
        .unwrap();
    t.send(req).await.assert_error(412, None);
    let got = t.call(Method::GET, &path, None).await;
    assert_eq!(got.body["meta"]["version"], "W/\"1\"");
    assert!(got.body.get("title").is_none());
    // The current ETag works.
    let req = t
        .request(Method::PATCH, &path)
        .header("if-match", "W/\"1\"")
        .header("content-type", "application/scim+json")
        .body(Bytes::from(body))
        .unwrap();
    assert_eq!(t.send(req).await.status, StatusCode::OK);
}

#[tokio::test]
async fn discovery_endpoints_answer_with_ids() {
    let t = new_app();
    let spc = t.call(Method::GET, "/ServiceProviderConfig", None).await;
    assert_eq!(spc.status, StatusCode::OK);
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(spc.body["bulk"]["supported"], true);
    assert_eq!(spc.body["etag"]["supported"], true);

    let rts = t.call(Method::GET, "/ResourceTypes", None).await;
    assert_eq!(rts.status, StatusCode::OK);
    let names: Vec<&str> = rts.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        names.contains(&"User") && names.contains(&"Group"),
        "{names:?}"
    );
    let user_rt = t.call(Method::GET, "/ResourceTypes/User", None).await;
    assert_eq!(user_rt.body["endpoint"], "/Users");
    t.call(Method::GET, "/ResourceTypes/Nope", None)
        .await
        .assert_error(404, None);

    let schemas = t.call(Method::GET, "/Schemas", None).await;
    let ids: Vec<&str> = schemas.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    for want in [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group",
    ] {
        assert!(ids.contains(&want), "{want} missing from {ids:?}");
        let one = t.call(Method::GET, &format!("/Schemas/{want}"), None).await;
        assert_eq!(one.status, StatusCode::OK);
        assert_eq!(one.body["id"], want);
        assert!(one.body["attributes"]
            .as_array()
            .is_some_and(|a| !a.is_empty()));
    }
    let user = t
        .call(
            Method::GET,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            None,
        )
        .await;
    let user_name = user.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .unwrap();
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["required"], true);
    t.call(Method::GET, "/Schemas/urn:nope", None)
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn error_statuses_carry_scim_error_bodies() {
    let t = new_app();
    t.call(Method::GET, "/Nope", None)
        .await
        .assert_error(404, None);
    t.call(Method::GET, "/Users/does-not-exist", None)
        .await
        .assert_error(404, None);
    let a = t.call(Method::DELETE, "/Users", None).await;
    a.assert_error(405, None);
    assert_eq!(a.header("allow"), Some("GET, POST"));
    t.call(Method::POST, "/ServiceProviderConfig", Some(json!({})))
        .await
        .assert_error(405, None);
    let a = t.call(Method::GET, "/Bulk", None).await;
    a.assert_error(405, None);
    assert_eq!(a.header("allow"), Some("POST"));

    let req = t
        .request(Method::POST, "/Users")
        .header("content-type", "text/plain")
        .body(Bytes::from_static(b"{}"))
        .unwrap();
    t.send(req).await.assert_error(415, None);
    let req = t
        .request(Method::POST, "/Users")
        .header("content-type", "application/xml")
        .body(Bytes::from_static(b"<a/>"))
        .unwrap();
    t.send(req).await.assert_error(415, None);

    t.call(Method::GET, "/Users?filter=userName%20eq", None)
        .await
        .assert_error(400, Some("invalidFilter"));
    t.call(Method::GET, "/Users?count=abc", None)
        .await
        .assert_error(400, Some("invalidValue"));
    t.call(
        Method::POST,
        "/Users",
        Some(json!({"name": {"givenName": "NoUserName"}})),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    let id = seed_user(&t, "hank@example.com").await;
    t.call(
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(json!({"Operations": [{"op": "remove"}]})),
    )
    .await
    .assert_error(400, Some("noTarget"));
    t.call(
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(json!({"Operations": [{"op": "add", "path": "emails[type eq", "value": "x"}]})),
    )
    .await
    .assert_error(400, Some("invalidPath"));
    t.call(
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(json!({"Operations": [{"op": "replace", "path": "id", "value": "other"}]})),
    )
    .await
    .assert_error(400, Some("mutability"));
}

#[tokio::test]
async fn accepts_scim_json_with_charset_and_plain_json() {
    let t = new_app();
    for (i, ct) in [
        "application/scim+json",
        "application/scim+json; charset=utf-8",
        "application/json",
        "Application/JSON;charset=UTF-8",
    ]
    .iter()
    .enumerate()
    {
        let body = serde_json::to_vec(&user_body(&format!("ct{i}@example.com"))).unwrap();
        let req = t
            .request(Method::POST, "/Users")
            .header("content-type", *ct)
            .body(Bytes::from(body))
            .unwrap();
        let a = t.send(req).await;
        assert_eq!(a.status, StatusCode::CREATED, "{ct}: {}", a.body);
        assert_eq!(a.header("content-type"), Some("application/scim+json"));
    }
}

#[tokio::test]
async fn missing_or_wrong_token_is_401_with_www_authenticate() {
    let t = new_app();
    for token in [
        "",
        "scim_acme_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "not-a-token",
    ] {
        for path in ["/Users", "/ServiceProviderConfig", "/Nope"] {
            let a = t.call_as(token, Method::GET, path, None).await;
            a.assert_error(401, None);
            assert!(a
                .header("www-authenticate")
                .is_some_and(|h| h.starts_with("Bearer")));
        }
    }
    let req = http::Request::builder()
        .uri("/scim/v2/Users")
        .header("authorization", format!("Basic {}", t.token))
        .body(Bytes::new())
        .unwrap();
    t.send(req).await.assert_error(401, None);
}

#[tokio::test]
async fn a_new_token_invalidates_the_previous_one() {
    let t = new_app();
    let old = t.token.clone();
    let new = t.token_for("acme");
    t.call_as(&old, Method::GET, "/Users", None)
        .await
        .assert_error(401, None);
    assert_eq!(
        t.call_as(&new, Method::GET, "/Users", None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn tenants_are_isolated() {
    let t = new_app();
    let id = seed_user(&t, "ivy@example.com").await;
    let other = t.token_for("globex");
    let path = format!("/Users/{id}");
    t.call_as(&other, Method::GET, &path, None)
        .await
        .assert_error(404, None);
    t.call_as(&other, Method::DELETE, &path, None)
        .await
        .assert_error(404, None);
    t.call_as(
        &other,
        Method::PUT,
        &path,
        Some(user_body("ivy@example.com")),
    )
    .await
    .assert_error(404, None);
    let list = t
        .call_as(
            &other,
            Method::GET,
            "/Users?filter=userName%20eq%20%22ivy%40example.com%22",
            None,
        )
        .await;
    assert_eq!(list.body["totalResults"], 0);
    assert_eq!(
        t.call_as(&other, Method::GET, "/Users", None).await.body["totalResults"],
        0
    );
    // The same userName is free in the other tenant.
    assert_eq!(
        t.call_as(
            &other,
            Method::POST,
            "/Users",
            Some(user_body("ivy@example.com"))
        )
        .await
        .status,
        StatusCode::CREATED
    );
    assert_eq!(
        t.call(Method::GET, &path, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn deactivated_user_is_restored_by_a_new_create_with_the_same_user_name() {
    let t = new_app();
    let id = seed_user(&t, "jack@example.com").await;
    let off = json!({"Operations": [{"op": "replace", "value": {"active": false}}]});
    t.call(Method::PATCH, &format!("/Users/{id}"), Some(off))
        .await;
    let a = t
        .call(Method::POST, "/Users", Some(user_body("JACK@example.com")))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["id"], id.as_str());
    assert_eq!(a.body["active"], true);
    assert_eq!(a.body["userName"], "JACK@example.com");
    // An active user still conflicts.
    t.call(Method::POST, "/Users", Some(user_body("jack@example.com")))
        .await
        .assert_error(409, Some("uniqueness"));
}
