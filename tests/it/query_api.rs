//! The query engine through the router: filters, projection, sorting, paging, cursors, .search.
//! Each scenario is a function over a `TestApp`, so it can run on every store.

use crate::common;

use common::requests::enc;
use common::TestApp;
use http::{Method, StatusCode};
use serde_json::{json, Value};

/// Five users with varied attributes; returns their ids in creation order.
async fn seed(t: &TestApp) -> Vec<String> {
    let people = [
        json!({"userName": "bjensen", "name": {"familyName": "Jensen", "givenName": "Barbara"}, "title": "Tour Guide", "userType": "Employee",
               "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}]}),
        json!({"userName": "jsmith", "name": {"familyName": "O'Malley", "givenName": "John"}, "userType": "Intern",
               "emails": [{"value": "john@example.org", "type": "work"}]}),
        json!({"userName": "Alice", "name": {"familyName": "Alvarez"}, "title": "CTO", "userType": "Employee", "active": false,
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Engineering", "employeeNumber": "7"}}),
        json!({"userName": "zed", "userType": "Contractor", "emails": [{"value": "zed@EXAMPLE.com", "type": "work"}]}),
        json!({"userName": "mike", "externalId": "ext-mike", "title": "Engineer"}),
    ];
    let mut ids = Vec::new();
    for p in people {
        let a = t.call(Method::POST, "/Users", Some(p)).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        ids.push(a.body["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn user_names(t: &TestApp, query: &str) -> Vec<String> {
    let a = t.call(Method::GET, &format!("/Users?{query}"), None).await;
    assert_eq!(a.status, StatusCode::OK, "{query}: {}", a.body);
    let names: Vec<String> = a.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap_or("?").to_owned())
        .collect();
    assert_eq!(a.body["itemsPerPage"].as_u64(), Some(names.len() as u64));
    names
}

async fn filter_names(t: &TestApp, filter: &str) -> Vec<String> {
    let mut v = user_names(t, &format!("filter={}&count=200", enc(filter))).await;
    v.sort();
    v
}

pub async fn filters_cover_the_rfc_grammar(t: &TestApp) {
    seed(t).await;
    let cases: &[(&str, &[&str])] = &[
        (r#"userName eq "BJENSEN""#, &["bjensen"]),
        (r#"name.familyName co "O'Malley""#, &["jsmith"]),
        (r#"userName sw "J""#, &["jsmith"]),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "a""#,
            &["Alice"],
        ),
        ("title pr", &["Alice", "bjensen", "mike"]),
        (
            r#"title pr and userType eq "Employee""#,
            &["Alice", "bjensen"],
        ),
        (
            r#"title pr or userType eq "Intern""#,
            &["Alice", "bjensen", "jsmith", "mike"],
        ),
        (
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            &["bjensen"],
        ),
        (
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            &["mike"],
        ),
        (
            r#"emails[type eq "work" and value co "@example.com"]"#,
            &["bjensen", "zed"],
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "engineering""#,
            &["Alice"],
        ),
        ("active eq false", &["Alice"]),
        (
            r#"meta.created gt "2000-01-01T00:00:00Z""#,
            &["Alice", "bjensen", "jsmith", "mike", "zed"],
        ),
        (r#"meta.created lt "2000-01-01T00:00:00+01:00""#, &[]),
        (
            r#"externalId eq "ext-mike" and title eq "engineer""#,
            &["mike"],
        ),
        (r#"externalId eq "ext-mike" and title eq "nope""#, &[]),
        (r#"USERNAME EQ "zed""#, &["zed"]),
    ];
    for (f, want) in cases {
        assert_eq!(
            filter_names(t, f).await,
            want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "{f}"
        );
    }
    // Errors name a position.
    let a = t
        .call(
            Method::GET,
            &format!("/Users?filter={}", enc(r#"userName equals "x""#)),
            None,
        )
        .await;
    a.assert_error(400, Some("invalidFilter"));
    assert!(
        a.body["detail"].as_str().unwrap().contains("10"),
        "{}",
        a.body
    );
}

pub async fn projection_applies_everywhere(t: &TestApp) {
    let ids = seed(t).await;
    let a = t
        .call(
            Method::GET,
            &format!("/Users/{}?attributes=userName,name.givenName", ids[0]),
            None,
        )
        .await;
    assert_eq!(
        a.body
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .len(),
        4,
        "{}",
        a.body
    );
    assert_eq!(a.body["name"], json!({"givenName": "Barbara"}));
    assert_eq!(a.body["id"], ids[0].as_str());
    let a = t
        .call(
            Method::GET,
            &format!("/Users/{}?excludedAttributes=emails,meta", ids[0]),
            None,
        )
        .await;
    assert!(a.body.get("emails").is_none() && a.body.get("meta").is_none());
    assert_eq!(a.body["title"], "Tour Guide");
    let a = t
        .call(
            Method::GET,
            "/Users?attributes=userName&filter=userName%20eq%20%22zed%22",
            None,
        )
        .await;
    assert_eq!(
        a.body["Resources"][0].as_object().unwrap().len(),
        3,
        "{}",
        a.body
    );
    let a = t
        .call(
            Method::POST,
            "/Users?attributes=id",
            Some(json!({"userName": "projected"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert!(a.body.get("userName").is_none());
    assert!(a.header("location").is_some());
    let a = t
        .call(
            Method::GET,
            &format!(
                "/Users/{}?attributes=emails[type%20eq%20%22work%22]",
                ids[0]
            ),
            None,
        )
        .await;
    // IdP shapes row 23: only the matching values (was 400 before the rule existed).
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let emails = a.body["emails"].as_array().unwrap();
    assert!(
        !emails.is_empty() && emails.iter().all(|e| e["type"] == "work"),
        "{}",
        a.body
    );
    assert!(a.body.get("userName").is_none());
    // A value filter on an attribute that is not multi-valued and complex is still refused.
    t.call(
        Method::GET,
        &format!(
            "/Users/{}?attributes=userName[type%20eq%20%22work%22]",
            ids[0]
        ),
        None,
    )
    .await
    .assert_error(400, Some("invalidValue"));
}

pub async fn sorting_and_paging(t: &TestApp) {
    seed(t).await;
    assert_eq!(
        user_names(t, "sortBy=userName").await,
        ["Alice", "bjensen", "jsmith", "mike", "zed"]
    );
    assert_eq!(
        user_names(t, "sortBy=userName&sortOrder=descending").await,
        ["zed", "mike", "jsmith", "bjensen", "Alice"]
    );
    assert_eq!(
        user_names(t, "sortBy=userName&startIndex=2&count=2").await,
        ["bjensen", "jsmith"]
    );
    assert_eq!(
        user_names(t, "sortBy=title&filter=title%20pr").await,
        ["Alice", "mike", "bjensen"]
    );
    // count=0: only totalResults.
    let a = t.call(Method::GET, "/Users?count=0", None).await;
    assert_eq!(
        (
            a.body["totalResults"].as_u64(),
            a.body["itemsPerPage"].as_u64()
        ),
        (Some(5), Some(0))
    );
    assert_eq!(a.body["Resources"], json!([]));
    let a = t
        .call(Method::GET, "/Users?count=0&filter=title%20pr", None)
        .await;
    assert_eq!(
        (
            a.body["totalResults"].as_u64(),
            a.body["itemsPerPage"].as_u64()
        ),
        (Some(3), Some(0))
    );
    // Past the end: an empty page with the right total.
    let a = t.call(Method::GET, "/Users?startIndex=50", None).await;
    assert_eq!(
        (
            a.body["totalResults"].as_u64(),
            a.body["itemsPerPage"].as_u64(),
            a.body["startIndex"].as_u64()
        ),
        (Some(5), Some(0), Some(50))
    );
    t.call(Method::GET, "/Users?sortBy=userName&sortOrder=up", None)
        .await
        .assert_error(400, Some("invalidValue"));
}

/// Walk every page with RFC 9865 cursors; returns the ids in order.
async fn walk_cursor(t: &TestApp, base_query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    for _ in 0..50 {
        let a = t
            .call(
                Method::GET,
                &format!("/Users?{base_query}&count=2&cursor={}", enc(&cursor)),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        ids.extend(
            a.body["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        match a.body.get("nextCursor").and_then(Value::as_str) {
            Some(c) => cursor = c.to_owned(),
            None => return ids,
        }
    }
    panic!("cursor paging did not end");
}

pub async fn cursors_walk_every_page_and_are_validated(t: &TestApp) {
    seed(t).await;
    let all = t.call(Method::GET, "/Users", None).await;
    let expected: Vec<String> = all.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(walk_cursor(t, "x=1").await, expected);
    // Index paging does not announce cursors.
    assert!(t
        .call(Method::GET, "/Users?count=2", None)
        .await
        .body
        .get("nextCursor")
        .is_none());
    // Sorted and filtered results page with cursors too.
    let sorted = walk_cursor(t, "sortBy=userName").await;
    assert_eq!(sorted.len(), 5);
    let filtered = walk_cursor(t, &format!("filter={}", enc("title pr"))).await;
    assert_eq!(filtered.len(), 3);
    // Tampered and foreign cursors are 400 invalidCursor.
    let first = t.call(Method::GET, "/Users?count=2&cursor=", None).await;
    let cursor = first.body["nextCursor"].as_str().unwrap().to_owned();
    for bad in [
        "garbage!!".to_owned(),
        format!("{cursor}x"),
        "o.AAAA".to_owned(),
    ] {
        t.call(
            Method::GET,
            &format!("/Users?count=2&cursor={}", enc(&bad)),
            None,
        )
        .await
        .assert_error(400, Some("invalidCursor"));
    }
    let other = t.token_for("globex");
    t.call_as(
        &other,
        Method::GET,
        &format!("/Users?count=2&cursor={}", enc(&cursor)),
        None,
    )
    .await
    .assert_error(400, Some("invalidCursor"));
    let sorted_page = t
        .call(Method::GET, "/Users?count=2&sortBy=userName&cursor=", None)
        .await;
    let sorted_cursor = sorted_page.body["nextCursor"].as_str().unwrap().to_owned();
    t.call_as(
        &other,
        Method::GET,
        &format!(
            "/Users?count=2&sortBy=userName&cursor={}",
            enc(&sorted_cursor)
        ),
        None,
    )
    .await
    .assert_error(400, Some("invalidCursor"));
}

pub async fn search_posts_match_get(t: &TestApp) {
    seed(t).await;
    let get = t
        .call(
            Method::GET,
            &format!(
                "/Users?filter={}&attributes=userName&sortBy=userName&count=2",
                enc("title pr")
            ),
            None,
        )
        .await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "title pr", "attributes": ["userName"], "sortBy": "userName", "count": 2
    });
    for path in ["/Users/.search", "/.search"] {
        let post = t.call(Method::POST, path, Some(body.clone())).await;
        assert_eq!(post.status, StatusCode::OK, "{path}: {}", post.body);
        assert_eq!(post.body, get.body, "{path}");
    }
    t.call(Method::GET, "/Users/.search", None)
        .await
        .assert_error(405, None);
    t.call(Method::POST, "/.search", Some(json!({"count": "many"})))
        .await
        .assert_error(400, Some("invalidValue"));
    let parens = "(".repeat(100_000);
    t.call(
        Method::POST,
        "/Users/.search",
        Some(json!({"filter": parens})),
    )
    .await
    .assert_error(400, Some("invalidFilter"));
}

pub async fn service_provider_config_tells_the_truth(t: &TestApp) {
    let spc = t
        .call(Method::GET, "/ServiceProviderConfig", None)
        .await
        .body;
    assert_eq!(spc["sort"]["supported"], true);
    assert_eq!(spc["filter"]["supported"], true);
    assert_eq!(spc["filter"]["maxResults"], 200);
    assert_eq!(spc["pagination"]["cursor"], true);
    // maxResults is enforced.
    for i in 0..3 {
        t.create_user(&format!("cap{i}")).await;
    }
    let a = t.call(Method::GET, "/Users?count=100000", None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body["itemsPerPage"].as_u64().unwrap() <= 200);
}

common::on_store!(
    embedded,
    crate::common::new_app(),
    [
        filters_cover_the_rfc_grammar,
        projection_applies_everywhere,
        sorting_and_paging,
        cursors_walk_every_page_and_are_validated,
        search_posts_match_get,
        service_provider_config_tells_the_truth,
    ]
);

common::on_store!(
    dynamodb,
    crate::common::moto::dynamo_app().await,
    [
        filters_cover_the_rfc_grammar,
        projection_applies_everywhere,
        sorting_and_paging,
        cursors_walk_every_page_and_are_validated,
        search_posts_match_get,
        service_provider_config_tells_the_truth,
    ]
);
