//! One test per row of ARCHITECTURE.md "IdP shapes" (rows 1-20), through the router on
//! the embedded store. Rows about group `members` (6, 7, 17) are tested on a User multi-valued
//! attribute (`emails`, `entitlements`) with the same PATCH engine; row 13 is group-only.

use crate::common;

use bytes::Bytes;
use common::new_app;
use common::requests::{get_user, ok, patch_user, seed};
use http::{Method, StatusCode};
use serde_json::{json, Value};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn three_emails(user_name: &str) -> Value {
    json!({
        "userName": user_name,
        "emails": [
            {"value": "a@example.com", "type": "work", "primary": true},
            {"value": "b@example.com", "type": "home"},
            {"value": "c@example.com", "type": "other"}
        ],
        "entitlements": [{"value": "reports"}, {"value": "billing"}, {"value": "admin"}]
    })
}

fn values(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(|e| e["value"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn row01_op_in_any_case() {
    let t = new_app();
    let id = seed(&t, json!({"userName": "r1@example.com"})).await;
    let a = patch_user(
        &t,
        &id,
        json!([
            {"op": "Add", "path": "title", "value": "Engineer"},
            {"op": "REPLACE", "path": "nickName", "value": "Bo"},
            {"op": "Replace", "path": "displayName", "value": "Bo Smith"},
            {"op": "rEmOvE", "path": "nickName"}
        ]),
    )
    .await;
    let body = ok(&a);
    assert_eq!(body["title"], "Engineer");
    assert_eq!(body["displayName"], "Bo Smith");
    assert!(body.get("nickName").is_none());
    // An unknown op is still refused.
    patch_user(
        &t,
        &id,
        json!([{"op": "Upsert", "path": "title", "value": "x"}]),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
}

#[tokio::test]
async fn row02_string_booleans_for_active_and_primary() {
    let t = new_app();
    let a = t
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "r2@example.com", "active": "True",
                "emails": [{"value": "a@example.com", "primary": "True"}, {"value": "b@example.com", "primary": "false"}]})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["active"], true);
    assert_eq!(a.body["emails"][0]["primary"], true);
    assert_eq!(a.body["emails"][1]["primary"], false);
    let id = a.body["id"].as_str().unwrap().to_owned();
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await);
    assert_eq!(body["active"], false);
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "replace", "value": {"active": "true"}}]),
    )
    .await);
    assert_eq!(body["active"], true);
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "Replace", "path": "emails[value eq \"b@example.com\"].primary", "value": "True"}]),
    )
    .await);
    assert_eq!(
        body["emails"],
        json!([{"value": "a@example.com", "primary": false}, {"value": "b@example.com", "primary": true}])
    );
    // Only true/false spellings are booleans.
    patch_user(
        &t,
        &id,
        json!([{"op": "Replace", "path": "active", "value": "yes"}]),
    )
    .await
    .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn row03_replace_without_path_sets_attributes_at_the_root() {
    let t = new_app();
    let id = seed(&t, json!({"userName": "r3@example.com", "title": "Keep"})).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await);
    assert_eq!(body["active"], false);
    assert_eq!(body["title"], "Keep");
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "Replace", "value": {"active": true, "displayName": "Three"}}]),
    )
    .await);
    assert_eq!(
        (body["active"].clone(), body["displayName"].clone()),
        (json!(true), json!("Three"))
    );
}

#[tokio::test]
async fn row04_no_path_value_keys_are_paths() {
    let t = new_app();
    let id = seed(
        &t,
        json!({"userName": "r4@example.com", "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "old@example.com", "type": "work", "primary": true}]}),
    )
    .await;
    let a = patch_user(
        &t,
        &id,
        json!([{"op": "Replace", "value": {
            "name.givenName": "Given",
            "NAME.familyName": "Family",
            "emails[type eq \"work\"].value": "new@example.com",
            "urn:ietf:params:scim:schemas:core:2.0:User:title": "Chief",
            "urn:ietf:params:scim:schemas:core:2.0:User": {"nickName": "Nick"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": "m-1",
            ENTERPRISE: {"costCenter": "42"}
        }}]),
    )
    .await;
    let body = ok(&a);
    assert_eq!(
        body["name"],
        json!({"givenName": "Given", "familyName": "Family"})
    );
    assert_eq!(
        body["emails"],
        json!([{"value": "new@example.com", "type": "work", "primary": true}])
    );
    assert_eq!(body["title"], "Chief");
    assert_eq!(body["nickName"], "Nick");
    assert_eq!(
        body[ENTERPRISE],
        json!({"department": "R&D", "manager": {"value": "m-1"}, "costCenter": "42"})
    );
}

#[tokio::test]
async fn row05_read_only_attributes_in_values_are_ignored() {
    let t = new_app();
    let created = t.create_user("r5@example.com").await;
    let id = created["id"].as_str().unwrap().to_owned();
    // PUT echoing id (even a different one), meta, groups, schemas.
    let a = t
        .call(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "not-the-id",
                "meta": {"resourceType": "User", "created": "2001-01-01T00:00:00Z", "version": "W/\"77\""},
                "groups": [{"value": "g1", "display": "Admins"}],
                "userName": "r5@example.com",
                "title": "Put"
            })),
        )
        .await;
    let body = ok(&a);
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["meta"]["created"], created["meta"]["created"]);
    assert!(body.get("groups").is_none());
    // PATCH values echoing them.
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "replace", "value": {
            "id": id, "meta": {"version": "W/\"1\""}, "groups": [], "schemas": ["x"], "title": "Patched"
        }}]),
    )
    .await);
    assert_eq!(body["title"], "Patched");
    assert_eq!(body["id"], id.as_str());
    // An explicit path on `id` with the current value is harmless.
    let before = ok(&get_user(&t, &id).await);
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "replace", "path": "id", "value": id}]),
    )
    .await);
    assert_eq!(body, before);
}

/// Row 6 on a User: `remove` with a value list removes only the listed values (the engine
/// treats `members` and `entitlements`/`emails` alike).
#[tokio::test]
async fn row06_remove_with_value_list_removes_only_listed_values() {
    let t = new_app();
    let id = seed(&t, three_emails("r6@example.com")).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "Remove", "path": "entitlements", "value": [{"value": "billing"}]}]),
    )
    .await);
    assert_eq!(values(&body["entitlements"]), ["reports", "admin"]);
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "Remove", "path": "emails", "value": [{"value": "b@example.com"}, {"value": "not-there@example.com"}]}]),
    )
    .await);
    assert_eq!(values(&body["emails"]), ["a@example.com", "c@example.com"]);
    // Removing every listed value leaves the attribute unassigned, not an empty list.
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "Remove", "path": "entitlements", "value": [{"value": "reports"}, {"value": "admin"}]}]),
    )
    .await);
    assert!(body.get("entitlements").is_none());
}

/// Row 7 on a User: a filtered removal.
#[tokio::test]
async fn row07_filtered_removal() {
    let t = new_app();
    let id = seed(&t, three_emails("r7@example.com")).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "remove", "path": "entitlements[value eq \"billing\"]"}]),
    )
    .await);
    assert_eq!(values(&body["entitlements"]), ["reports", "admin"]);
    // Removing what is not there again succeeds and changes nothing (IdPs retry).
    let before = ok(&get_user(&t, &id).await);
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "remove", "path": "entitlements[value eq \"billing\"]"}]),
    )
    .await);
    assert_eq!(body, before);
}

#[tokio::test]
async fn row08_filtered_upsert_creates_the_element_and_keeps_one_primary() {
    let t = new_app();
    let id = seed(
        &t,
        json!({"userName": "r8@example.com", "emails": [{"value": "home@example.com", "type": "home", "primary": true}]}),
    )
    .await;
    for op in ["replace", "Add"] {
        let body = ok(&patch_user(
            &t,
            &id,
            json!([{"op": op, "path": "emails[type eq \"work\"].value", "value": format!("{op}@example.com")}]),
        )
        .await);
        assert_eq!(
            body["emails"],
            json!([
                {"value": "home@example.com", "type": "home", "primary": true},
                {"type": "work", "value": format!("{op}@example.com")}
            ]),
            "{op}: one work element, the home one still the only primary"
        );
        ok(&patch_user(
            &t,
            &id,
            json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
        )
        .await);
    }
    // Upserting a primary work email takes primary from the home one.
    let body = ok(&patch_user(
        &t,
        &id,
        json!([
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "w@example.com"},
            {"op": "Add", "path": "emails[type eq \"work\"].primary", "value": "True"}
        ]),
    )
    .await);
    assert_eq!(
        body["emails"],
        json!([
            {"value": "home@example.com", "type": "home", "primary": false},
            {"type": "work", "value": "w@example.com", "primary": true}
        ])
    );
}

#[tokio::test]
async fn row09_several_sub_attributes_of_one_filtered_element() {
    let t = new_app();
    let id = seed(&t, json!({"userName": "r9@example.com"})).await;
    let body = ok(&patch_user(
        &t,
        &id,
        json!([
            {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"},
            {"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "98052"}
        ]),
    )
    .await);
    assert_eq!(
        body["addresses"],
        json!([{"type": "work", "locality": "Redmond", "postalCode": "98052"}])
    );
}

#[tokio::test]
async fn row10_bare_string_manager() {
    let t = new_app();
    let a = t
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "r10@example.com", ENTERPRISE: {"manager": "271"}})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body[ENTERPRISE]["manager"], json!({"value": "271"}));
    let id = a.body["id"].as_str().unwrap().to_owned();
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "272"}]),
    )
    .await);
    assert_eq!(body[ENTERPRISE]["manager"], json!({"value": "272"}));
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "Replace", "value": {format!("{ENTERPRISE}:manager"): "273"}}]),
    )
    .await);
    assert_eq!(body[ENTERPRISE]["manager"], json!({"value": "273"}));
    // Entra clears the manager with an empty string.
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "Replace", "path": format!("{ENTERPRISE}:manager"), "value": ""}]),
    )
    .await);
    assert!(body.get(ENTERPRISE).is_none(), "{body}");
}

#[tokio::test]
async fn row11_remove_manager_by_value_filter() {
    let t = new_app();
    let id = seed(
        &t,
        json!({"userName": "r11@example.com", ENTERPRISE: {"manager": {"value": "271"}, "department": "D"}}),
    )
    .await;
    // Not the current manager: nothing changes.
    for path in [
        "manager[value eq \"999\"]".to_owned(),
        format!("{ENTERPRISE}:manager[value eq \"999\"]"),
    ] {
        let body = ok(&patch_user(&t, &id, json!([{"op": "Remove", "path": path}])).await);
        assert_eq!(
            body[ENTERPRISE]["manager"],
            json!({"value": "271"}),
            "{path}"
        );
    }
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "Remove", "path": "manager[value eq \"271\"]"}]),
    )
    .await);
    assert_eq!(body[ENTERPRISE], json!({"department": "D"}));
}

#[tokio::test]
async fn row12_json_encoded_roles() {
    let t = new_app();
    let a = t
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "r12@example.com",
                "roles": ["{\"value\":\"admin\",\"primary\":\"True\",\"display\":\"Admin\"}"]})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(
        a.body["roles"],
        json!([{"value": "admin", "primary": true, "display": "Admin"}])
    );
    let id = a.body["id"].as_str().unwrap().to_owned();
    // Entra's AppRoleAssignmentsComplex: the JSON text is inside each element's `value`.
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "Add", "path": "roles", "value": [
            {"value": "{\"id\":\"827f0d2e\",\"value\":\"DocumentMgmt-Admin\",\"displayName\":\"DocumentMgmt Admin\"}"}
        ]}]),
    )
    .await);
    assert_eq!(
        body["roles"],
        json!([
            {"value": "admin", "primary": true, "display": "Admin"},
            {"value": "DocumentMgmt-Admin", "display": "DocumentMgmt Admin"}
        ])
    );
    // And a whole list as JSON text.
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "replace", "path": "roles", "value": "[{\"value\":\"reader\"}]"}]),
    )
    .await);
    assert_eq!(body["roles"], json!([{"value": "reader"}]));
}

// Row 13 (`members` added without `type` -> `type: "User"`) is about Groups only: it is tested
// with the Groups resource, not here.

#[tokio::test]
async fn row14_password_nulls_and_empty_roles() {
    let t = new_app();
    let a = t
        .call(
            Method::POST,
            "/Users",
            Some(
                json!({"userName": "r14@example.com", "password": "Sup3rS3cret!", "title": null,
                "roles": [], "nickName": "Nick", "name": {"givenName": null, "familyName": "F"}}),
            ),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert!(!String::from_utf8_lossy(&a.raw).contains("Sup3rS3cret"));
    for k in ["password", "title", "roles"] {
        assert!(a.body.get(k).is_none(), "{k}: {}", a.body);
    }
    assert_eq!(a.body["name"], json!({"familyName": "F"}));
    let id = a.body["id"].as_str().unwrap().to_owned();
    // PATCH: password changes are accepted and dropped; replace with null or [] unassigns.
    let body = ok(&patch_user(
        &t,
        &id,
        json!([
            {"op": "replace", "path": "password", "value": "An0ther!"},
            {"op": "replace", "path": "nickName", "value": null},
            {"op": "replace", "value": {"roles": []}}
        ]),
    )
    .await);
    assert!(
        body.get("nickName").is_none()
            && body.get("password").is_none()
            && body.get("roles").is_none()
    );
    let got = t.call(Method::GET, &format!("/Users/{id}"), None).await;
    assert!(!String::from_utf8_lossy(&got.raw).contains("An0ther"));
}

#[tokio::test]
async fn row15_non_standard_urns_answered_canonically() {
    let t = new_app();
    let a = t
        .call(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": ["urn:scim:schemas:core:2.0", "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User"],
                "userName": "r15@example.com",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0User": {"costCenter": "42"},
                "urn:scim:schemas:extension:enterprise:2.0": {"division": "West"}
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(
        a.body["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE])
    );
    assert_eq!(
        a.body[ENTERPRISE],
        json!({"costCenter": "42", "division": "West"})
    );
    let id = a.body["id"].as_str().unwrap().to_owned();
    // A PATCH path under an alias URN.
    let body = ok(&patch_user(
        &t,
        &id,
        json!([{"op": "replace", "path": "urn:scim:schemas:extension:enterprise:2.0:department", "value": "Ops"}]),
    )
    .await);
    assert_eq!(body[ENTERPRISE]["department"], "Ops");
}

#[tokio::test]
async fn row16_content_types() {
    let t = new_app();
    for (i, ct) in [
        "application/scim+json; charset=utf-8",
        "application/json",
        "application/scim+json",
        "application/json; charset=UTF-8",
    ]
    .into_iter()
    .enumerate()
    {
        let req = t
            .request(Method::POST, "/Users")
            .header("content-type", ct)
            .body(Bytes::from(format!(
                "{{\"userName\":\"r16-{i}@example.com\"}}"
            )))
            .unwrap();
        let a = t.send(req).await;
        assert_eq!(a.status, StatusCode::CREATED, "{ct}");
        assert_eq!(a.header("content-type"), Some("application/scim+json"));
        let id = a.body["id"].as_str().unwrap();
        let req = t
            .request(Method::PATCH, &format!("/Users/{id}"))
            .header("content-type", ct)
            .body(Bytes::from_static(
                b"{\"Operations\":[{\"op\":\"replace\",\"path\":\"title\",\"value\":\"x\"}]}",
            ))
            .unwrap();
        let a = t.send(req).await;
        assert_eq!(a.status, StatusCode::OK, "{ct}");
        assert_eq!(a.header("content-type"), Some("application/scim+json"));
    }
}

/// Row 17 on a User: `remove` on a multi-valued attribute with no value clears it.
#[tokio::test]
async fn row17_remove_without_value_clears_the_list() {
    let t = new_app();
    let id = seed(&t, three_emails("r17@example.com")).await;
    let body = ok(&patch_user(&t, &id, json!([{"op": "remove", "path": "entitlements"}])).await);
    assert!(body.get("entitlements").is_none());
    assert_eq!(values(&body["emails"]).len(), 3);
}

#[tokio::test]
async fn row18_put_without_active_keeps_active() {
    let t = new_app();
    let id = seed(&t, json!({"userName": "r18@example.com"})).await;
    let put = json!({"userName": "r18@example.com", "title": "t"});
    let a = t
        .call(Method::PUT, &format!("/Users/{id}"), Some(put.clone()))
        .await;
    assert_eq!(ok(&a)["active"], true);
    ok(&patch_user(
        &t,
        &id,
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await);
    let a = t
        .call(Method::PUT, &format!("/Users/{id}"), Some(put))
        .await;
    assert_eq!(
        ok(&a)["active"],
        false,
        "omitting active must not reactivate"
    );
}

#[tokio::test]
async fn row19_list_defaults() {
    let t = new_app();
    for i in 0..101 {
        seed(&t, json!({"userName": format!("r19-{i:03}@example.com")})).await;
    }
    let a = t.call(Method::GET, "/Users", None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["startIndex"], 1);
    assert_eq!(a.body["totalResults"], 101);
    assert_eq!(a.body["itemsPerPage"], 100, "the server's page size");
    assert_eq!(a.body["Resources"].as_array().map(Vec::len), Some(100));
}

#[tokio::test]
async fn row20_post_restores_a_deactivated_user() {
    let t = new_app();
    let id = seed(
        &t,
        json!({"userName": "r20@example.com", "externalId": "ext-20", "title": "old"}),
    )
    .await;
    ok(&patch_user(
        &t,
        &id,
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await);
    // Same userName (any case).
    let a = t
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "R20@example.com", "externalId": "ext-20", "active": true})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["id"], id.as_str());
    assert_eq!(a.body["active"], true);
    assert!(
        a.body.get("title").is_none(),
        "attributes come from the POST"
    );
    assert_eq!(a.header("etag"), a.body["meta"]["version"].as_str());
    // Same externalId, new userName: externalId is not unique (row 25), so only userName decides
    // (ARCHITECTURE.md, row 20): a new user, and the deactivated one stays as it is.
    ok(&patch_user(
        &t,
        &id,
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await);
    let a = t
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "renamed20@example.com", "externalId": "ext-20"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_ne!(a.body["id"], id.as_str());
    assert_eq!(a.body["active"], true);
    let old = t.call(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(old.body["active"], false);
    let both = t
        .call(
            Method::GET,
            "/Users?filter=externalId%20eq%20%22ext-20%22",
            None,
        )
        .await;
    assert_eq!(both.body["totalResults"], 2, "{}", both.body);
    // Active now: a further POST is a conflict, not a restore.
    t.call(
        Method::POST,
        "/Users",
        Some(json!({"userName": "renamed20@example.com"})),
    )
    .await
    .assert_error(409, Some("uniqueness"));
}
