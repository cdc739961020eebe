//! RFC 7644 §3.5.2 PATCH, one test per example of §3.5.2.1 (add), §3.5.2.2 (remove) and
//! §3.5.2.3 (replace), plus the rules those sections state. Examples written for a Group's
//! `members` are run on a User's multi-valued `emails`/`entitlements`, which the same engine
//! handles (Groups are served elsewhere).

use crate::common;

use common::new_app;
use common::requests::{get_user, ok, patch_user, seed};
use http::{Method, StatusCode};
use serde_json::{json, Value};

/// The §3.5.2.1 / §8.2 user: Babs Jensen.
fn babs() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "bjensen@example.com",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [
            {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
             "region": "CA", "postalCode": "91608", "country": "USA", "primary": true},
            {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood",
             "region": "CA", "postalCode": "91608", "country": "USA"}
        ],
        "entitlements": [
            {"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"},
            {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}
        ]
    })
}

// ---- §3.5.2.1 add ----

/// §3.5.2.1 example 1 ("add a member to a group"), on `entitlements`: a new value is appended.
#[tokio::test]
async fn add_example_1_adds_a_value_to_a_multi_valued_attribute() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "add", "path": "entitlements", "value": [
            {"display": "James Bond", "value": "08e1d05d-121c-4561-8b96-473d93df9210"}
        ]}]),
    )
    .await);
    let values: Vec<&str> = body["entitlements"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["value"].as_str())
        .collect();
    assert_eq!(
        values,
        [
            "2819c223-7f76-453a-919d-413861904646",
            "902c246b-6245-4190-8e05-00816be7344a",
            "08e1d05d-121c-4561-8b96-473d93df9210"
        ]
    );
}

/// §3.5.2.1 example 2: no path, the value's attributes are added (names are case-insensitive:
/// the RFC writes `nickname`).
#[tokio::test]
async fn add_example_2_without_path() {
    let t = new_app();
    let id = seed(&t, json!({"userName": "bjensen@example.com", "emails": [{"value": "bjensen@example.com", "type": "work"}]})).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "add", "value": {
            "emails": [{"value": "babs@jensen.org", "type": "home"}],
            "nickname": "Babs"
        }}]),
    )
    .await);
    assert_eq!(body["nickName"], "Babs");
    assert_eq!(
        body["emails"],
        json!([{"value": "bjensen@example.com", "type": "work"}, {"value": "babs@jensen.org", "type": "home"}])
    );
}

/// §3.5.2.1: adding a value that is already there changes nothing, and not the version.
#[tokio::test]
async fn add_of_an_existing_value_changes_nothing() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let before = get_user(&t, &id).await.body;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "home"}]}]),
    )
    .await);
    assert_eq!(body, before);
    assert_eq!(body["meta"]["version"], "W/\"1\"");
}

/// §3.5.2.1: add to a single-valued attribute replaces it; to a complex one merges sub-attributes.
#[tokio::test]
async fn add_replaces_single_values_and_merges_complex_ones() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([
            {"op": "add", "path": "title", "value": "Tour Guide"},
            {"op": "add", "path": "title", "value": "Senior Tour Guide"},
            {"op": "add", "path": "name", "value": {"middleName": "Jane"}}
        ]),
    )
    .await);
    assert_eq!(body["title"], "Senior Tour Guide");
    assert_eq!(
        body["name"],
        json!({"familyName": "Jensen", "givenName": "Barbara", "middleName": "Jane"})
    );
}

// ---- §3.5.2.2 remove ----

/// §3.5.2.2: remove without a path is 400 noTarget.
#[tokio::test]
async fn remove_without_path_is_no_target() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    patch_user(&t, &id, json!([{"op": "remove"}]))
        .await
        .assert_error(400, Some("noTarget"));
}

/// §3.5.2.2 example "remove all members", on `entitlements`.
#[tokio::test]
async fn remove_example_all_values() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let body = ok(&patch_user(&t, &id, json!([{"op": "remove", "path": "entitlements"}])).await);
    assert!(body.get("entitlements").is_none());
}

/// §3.5.2.2 example "remove a single member", on `entitlements`.
#[tokio::test]
async fn remove_example_single_value_by_filter() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "remove", "path": "entitlements[value eq \"2819c223-7f76-453a-919d-413861904646\"]"}]),
    )
    .await);
    assert_eq!(
        body["entitlements"],
        json!([{"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}])
    );
}

/// §3.5.2.2 example: remove the work emails ending in example.com (a complex filter).
#[tokio::test]
async fn remove_example_complex_filter() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]),
    )
    .await);
    assert_eq!(
        body["emails"],
        json!([{"value": "babs@jensen.org", "type": "home"}])
    );
}

/// §3.5.2.2 example: remove several members with several operations, on `entitlements`; when no
/// value remains the attribute is unassigned.
#[tokio::test]
async fn remove_example_multiple_values() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([
            {"op": "remove", "path": "entitlements[value eq \"2819c223-7f76-453a-919d-413861904646\"]"},
            {"op": "remove", "path": "entitlements[value eq \"902c246b-6245-4190-8e05-00816be7344a\"]"}
        ]),
    )
    .await);
    assert!(body.get("entitlements").is_none(), "{body}");
}

/// §3.5.2.2 example: remove all members and add new ones in one request, on `entitlements`.
#[tokio::test]
async fn remove_example_then_add() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([
            {"op": "remove", "path": "entitlements"},
            {"op": "add", "path": "entitlements", "value": [
                {"display": "James Bond", "value": "08e1d05d-121c-4561-8b96-473d93df9210"},
                {"display": "Mandy Pepperidge", "value": "902c246b-6245-4190-8e05-00816be7344a"}
            ]}
        ]),
    )
    .await);
    assert_eq!(
        body["entitlements"],
        json!([
            {"display": "James Bond", "value": "08e1d05d-121c-4561-8b96-473d93df9210"},
            {"display": "Mandy Pepperidge", "value": "902c246b-6245-4190-8e05-00816be7344a"}
        ])
    );
}

/// §3.5.2.2: removing a single-valued attribute or a sub-attribute leaves it unassigned.
#[tokio::test]
async fn remove_single_value_and_sub_attribute() {
    let t = new_app();
    let id = seed(&t, json!({"userName": "u@example.com", "title": "T", "name": {"givenName": "G", "familyName": "F"}})).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "remove", "path": "title"}, {"op": "remove", "path": "name.givenName"}]),
    )
    .await);
    assert!(body.get("title").is_none());
    assert_eq!(body["name"], json!({"familyName": "F"}));
}

/// §3.5.2.2: removing a required or read-only attribute is 400 mutability.
#[tokio::test]
async fn remove_of_required_or_read_only_is_mutability() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let before = get_user(&t, &id).await.body;
    for path in ["userName", "id", "meta", "groups", "meta.created"] {
        patch_user(&t, &id, json!([{"op": "remove", "path": path}]))
            .await
            .assert_error(400, Some("mutability"));
    }
    assert_eq!(get_user(&t, &id).await.body, before);
}

// ---- §3.5.2.3 replace ----

/// §3.5.2.3 example "replace all members", on `entitlements`.
#[tokio::test]
async fn replace_example_all_values() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "replace", "path": "entitlements", "value": [
            {"display": "Babs Jensen", "value": "2819c223-7f76-453a-919d-413861904646"},
            {"display": "James Bond", "value": "08e1d05d-121c-4561-8b96-473d93df9210"}
        ]}]),
    )
    .await);
    assert_eq!(
        body["entitlements"],
        json!([
            {"display": "Babs Jensen", "value": "2819c223-7f76-453a-919d-413861904646"},
            {"display": "James Bond", "value": "08e1d05d-121c-4561-8b96-473d93df9210"}
        ])
    );
}

/// §3.5.2.3 example: replace the user's work address.
#[tokio::test]
async fn replace_example_filtered_element() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": {
            "type": "work",
            "streetAddress": "911 Universal City Plaza",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "US",
            "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
            "primary": true
        }}]),
    )
    .await);
    assert_eq!(
        body["addresses"],
        json!([
            {"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood", "region": "CA",
             "postalCode": "91608", "country": "US", "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
             "primary": true},
            {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood",
             "region": "CA", "postalCode": "91608", "country": "USA"}
        ])
    );
}

/// §3.5.2.3 example: replace the street address of the work address only.
#[tokio::test]
async fn replace_example_sub_attribute_of_filtered_element() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]),
    )
    .await);
    assert_eq!(body["addresses"][0]["streetAddress"], "1010 Broadway Ave");
    assert_eq!(body["addresses"][0]["locality"], "Hollywood");
    assert_eq!(body["addresses"][1]["streetAddress"], "456 Hollywood Blvd");
}

/// §3.5.2.3 example: replace without a path.
#[tokio::test]
async fn replace_example_without_path() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "replace", "value": {
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "nickname": "Babs"
        }}]),
    )
    .await);
    assert_eq!(body["nickName"], "Babs");
    assert_eq!(
        body["emails"],
        json!([
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ])
    );
}

/// §3.5.2.3: a complex value replaces the sub-attributes given and keeps the others; a path to a
/// missing attribute is treated as add.
#[tokio::test]
async fn replace_merges_complex_values_and_adds_missing_ones() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([
            {"op": "replace", "path": "name", "value": {"givenName": "Babs"}},
            {"op": "replace", "path": "title", "value": "New"}
        ]),
    )
    .await);
    assert_eq!(
        body["name"],
        json!({"familyName": "Jensen", "givenName": "Babs"})
    );
    assert_eq!(body["title"], "New");
}

/// §3.5.2.3: a value filter that matches nothing is 400 noTarget, unless it describes the element
/// to create with `eq` conditions (Entra's upsert, ARCHITECTURE.md, IdP shapes row 8).
#[tokio::test]
async fn replace_with_unmatched_filter() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let before = get_user(&t, &id).await.body;
    for path in [
        "emails[type eq \"other\" or type eq \"fax\"].value",
        "emails[value co \"nowhere\"].type",
        "addresses[postalCode sw \"0\"]",
    ] {
        patch_user(
            &t,
            &id,
            json!([{"op": "replace", "path": path, "value": "x"}]),
        )
        .await
        .assert_error(400, Some("noTarget"));
    }
    assert_eq!(get_user(&t, &id).await.body, before);
}

/// §3.5.2.3: setting a new primary clears the old one ("primary" set to false).
#[tokio::test]
async fn replace_primary_moves_it() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
    )
    .await);
    assert_eq!(
        body["emails"],
        json!([
            {"value": "bjensen@example.com", "type": "work", "primary": false},
            {"value": "babs@jensen.org", "type": "home", "primary": true}
        ])
    );
    // Adding a new primary email does the same.
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "add", "path": "emails", "value": {"value": "new@example.com", "type": "other", "primary": true}}]),
    )
    .await);
    let primaries: Vec<&str> = body["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["primary"] == true)
        .filter_map(|e| e["value"].as_str())
        .collect();
    assert_eq!(primaries, ["new@example.com"]);
}

// ---- §3.5.2 general rules ----

/// §3.5.2: a PATCH is atomic: when its last operation fails, the earlier ones are not applied.
#[tokio::test]
async fn atomic_last_op_invalid_changes_nothing() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let before = get_user(&t, &id).await;
    let bad_last_ops = [
        json!({"op": "replace", "path": "active", "value": "maybe"}),
        json!({"op": "replace", "path": "nope", "value": "x"}),
        json!({"op": "replace", "path": "meta.version", "value": "W/\"9\""}),
        json!({"op": "remove"}),
        json!({"op": "add", "path": "emails[type eq", "value": "x"}),
        json!({"op": "remove", "path": "userName"}),
        json!({"op": "replace", "path": "emails[value co \"nowhere\"].value", "value": "x"}),
        json!({"op": "replace", "path": "emails[type eq \"work\"].primary", "value": "maybe"}),
    ];
    for bad in bad_last_ops {
        let a = patch_user(
            &t,
            &id,
            json!([
                {"op": "replace", "path": "title", "value": "Applied?"},
                {"op": "add", "path": "emails", "value": [{"value": "x@example.com"}]},
                {"op": "remove", "path": "addresses"},
                bad
            ]),
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        let after = get_user(&t, &id).await;
        assert_eq!(
            after.raw, before.raw,
            "stored user changed after {}",
            a.body
        );
        assert_eq!(after.header("etag"), Some("W/\"1\""));
    }
}

/// §3.5.2: the answer to a PATCH is 200 with the resource and its ETag; If-Match applies.
#[tokio::test]
async fn patch_answers_with_the_resource_and_etag() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let a = patch_user(
        &t,
        &id,
        json!([{"op": "replace", "path": "title", "value": "t"}]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header("etag"), Some("W/\"2\""));
    assert_eq!(a.body["meta"]["version"], "W/\"2\"");
    assert_eq!(get_user(&t, &id).await.body, a.body);
    // If-None-Match on GET.
    let req = t
        .request(Method::GET, &format!("/Users/{id}"))
        .header("if-none-match", "W/\"2\"")
        .body(bytes::Bytes::new())
        .unwrap();
    let a = t.send(req).await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);
    assert_eq!(a.header("etag"), Some("W/\"2\""));
    let req = t
        .request(Method::GET, &format!("/Users/{id}"))
        .header("if-none-match", "W/\"1\"")
        .body(bytes::Bytes::new())
        .unwrap();
    let a = t.send(req).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header("etag"), Some("W/\"2\""));
}

/// RFC 7644 §3.5.2 / §3.12: a path naming a read-only attribute is 400 mutability, except an
/// `id` equal to the resource's own (ARCHITECTURE.md, IdP shapes row 5).
#[tokio::test]
async fn read_only_paths() {
    let t = new_app();
    let id = seed(&t, babs()).await;
    let before = get_user(&t, &id).await.body;
    for (path, value) in [
        ("id", json!("another-id")),
        ("meta", json!({"version": "W/\"9\""})),
        ("meta.lastModified", json!("2020-01-01T00:00:00Z")),
        ("groups", json!([{"value": "g1"}])),
        ("groups[value eq \"g1\"].display", json!("x")),
    ] {
        for op in ["add", "replace"] {
            patch_user(&t, &id, json!([{"op": op, "path": path, "value": value}]))
                .await
                .assert_error(400, Some("mutability"));
        }
    }
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "replace", "path": "ID", "value": id}]),
    )
    .await);
    assert_eq!(body, before);
}
