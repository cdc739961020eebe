//! Interoperability shapes (issue 13; ARCHITECTURE.md, IdP shapes rows 21-25, and the
//! `/serviceConfiguration` and `Prefer` rules), through the router, on the embedded store and on
//! DynamoDB (moto). Requests are written here in the shapes Microsoft's SCIM test collection,
//! scim2-tester and Entra ID send; no vendor collection is copied.

use crate::common;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{json, Value};

use common::moto::dynamo_app;
use common::requests::{enc, id_of, ok, patch_body, seed, GROUP_URN};
use common::{new_app, Answer, TestApp};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn person(user_name: &str, external_id: &str, family: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "externalId": external_id,
        "name": {"givenName": "Test", "familyName": family},
        "emails": [
            {"value": format!("{user_name}"), "type": "work", "primary": true},
            {"value": format!("home.{user_name}"), "type": "home"}
        ],
        "active": true
    })
}

async fn users(t: &TestApp, filter: &str) -> Value {
    ok(&t
        .call(Method::GET, &format!("/Users?filter={}", enc(filter)), None)
        .await)
}

fn user_names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// A request with a `Prefer` header (and a JSON body when given).
async fn with_prefer(
    t: &TestApp,
    method: Method,
    path: &str,
    prefer: &str,
    body: Option<Value>,
) -> Answer {
    let mut b = t.request(method, path);
    if !prefer.is_empty() {
        b = b.header("prefer", prefer);
    }
    let bytes = match body {
        Some(v) => {
            b = b.header("content-type", "application/scim+json");
            Bytes::from(serde_json::to_vec(&v).unwrap())
        }
        None => Bytes::new(),
    };
    t.send(b.body(bytes).unwrap()).await
}

/// Row 25: several users share one externalId; `externalId eq` returns each of them (a look-up,
/// bare or quoted), userName stays unique, other tenants see none.
async fn external_id_is_not_unique(t: TestApp) {
    for (i, family) in ["Employee", "Manager", "Contractor"].iter().enumerate() {
        seed(
            &t,
            person(&format!("shared{i}@example.com"), "ext-shared", family),
        )
        .await;
    }
    seed(&t, person("other@example.com", "ext-other", "Other")).await;
    let list = users(&t, r#"externalId eq "ext-shared""#).await;
    assert_eq!(list["totalResults"], 3, "{list}");
    assert_eq!(
        user_names(&list),
        [
            "shared0@example.com",
            "shared1@example.com",
            "shared2@example.com"
        ]
    );
    assert_eq!(
        users(&t, "externalId eq ext-shared").await["totalResults"],
        3
    );
    // caseExact (RFC 7643 §3.1).
    assert_eq!(
        users(&t, "externalId eq EXT-SHARED").await["totalResults"],
        0
    );
    let one = users(
        &t,
        r#"externalId eq "ext-shared" and name.familyName eq "Manager""#,
    )
    .await;
    assert_eq!(user_names(&one), ["shared1@example.com"]);
    // userName stays unique, case-insensitively, whatever the externalId.
    t.call(
        Method::POST,
        "/Users",
        Some(person("SHARED0@example.com", "ext-new", "X")),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    assert_eq!(users(&t, "externalId eq ext-new").await["totalResults"], 0);
    // Moving one user's externalId away leaves the others listed.
    let id = id_of(&list["Resources"][0]);
    let moved = t
        .call(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(patch_body(
                json!([{"op": "replace", "path": "externalId", "value": "ext-moved"}]),
            )),
        )
        .await;
    ok(&moved);
    assert_eq!(
        users(&t, "externalId eq ext-shared").await["totalResults"],
        2
    );
    assert_eq!(
        users(&t, "externalId eq ext-moved").await["totalResults"],
        1
    );
    // Tenant isolation: another tenant of the same store sees none of them.
    let other = t.token_for("globex");
    let a = t
        .call_as(
            &other,
            Method::GET,
            &format!("/Users?filter={}", enc("externalId eq ext-shared")),
            None,
        )
        .await;
    assert_eq!(ok(&a)["totalResults"], 0);
}

/// Row 21: `emails[type eq "work"].value eq "x"` in `filter=`, `.search` and group filters.
async fn value_path_then_sub_attribute_filters(t: TestApp) {
    let alice = seed(&t, person("alice@example.com", "e-a", "A")).await;
    seed(&t, person("bob@example.com", "e-b", "B")).await;
    let f = r#"emails[type eq "work"].value eq "alice@example.com""#;
    assert_eq!(user_names(&users(&t, f).await), ["alice@example.com"]);
    // The home address of alice is not a work address.
    let home = r#"emails[type eq "work"].value eq "home.alice@example.com""#;
    assert_eq!(users(&t, home).await["totalResults"], 0);
    let search = t
        .call(
            Method::POST,
            "/Users/.search",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "emails[type eq work].value co bob"
            })),
        )
        .await;
    assert_eq!(user_names(&ok(&search)), ["bob@example.com"]);
    let g = t
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP_URN], "displayName": "Ops", "members": [{"value": alice}]})),
        )
        .await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", g.body);
    let gf = format!(r#"members[type eq "User"].value eq "{alice}""#);
    let groups = ok(&t
        .call(Method::GET, &format!("/Groups?filter={}", enc(&gf)), None)
        .await);
    assert_eq!(groups["totalResults"], 1, "{groups}");
    // Bad input: a value path with a sub-attribute and no comparison.
    t.call(
        Method::GET,
        &format!("/Users?filter={}", enc(r#"emails[type eq "work"].value"#)),
        None,
    )
    .await
    .assert_error(400, Some("invalidFilter"));
}

/// Row 22: bare words are strings; dateTimes compare as instants, quoted or bare.
async fn bare_values_and_date_times(t: TestApp) {
    seed(&t, person("Olivia@example.com", "e-o", "Employee")).await;
    seed(&t, person("oscar@example.org", "e-s", "Employee")).await;
    seed(&t, person("paula@example.net", "e-p", "Employee")).await;
    assert_eq!(
        user_names(&users(&t, "userName sw O").await),
        ["Olivia@example.com", "oscar@example.org"]
    );
    let f = "name.familyName eq Employee and (emails.value co example.com or emails.value co example.org)";
    assert_eq!(users(&t, f).await["totalResults"], 2);
    // Every user was created after 2015 and before 2999, whatever offset the client writes.
    assert_eq!(
        users(&t, "meta.created gt 2015-10-10T14:38:21.8617979-07:00").await["totalResults"],
        3
    );
    assert_eq!(
        users(
            &t,
            r#"meta.created lt "2999-01-01T00:00:00.123456789+14:00""#
        )
        .await["totalResults"],
        3
    );
    assert_eq!(
        users(&t, "meta.created lt 2015-10-10T14:38:21-07:00").await["totalResults"],
        0
    );
    for bad in ["userName eq 'x'", "userName eq", "userName sw (O)"] {
        t.call(Method::GET, &format!("/Users?filter={}", enc(bad)), None)
            .await
            .assert_error(400, Some("invalidFilter"));
    }
}

/// Row 23: `attributes=emails[type eq "work"]` and `excludedAttributes=` with a value filter.
async fn filtered_attributes(t: TestApp) {
    let id = seed(&t, person("fa@example.com", "e-fa", "F")).await;
    let a = ok(&t
        .call(
            Method::GET,
            &format!(
                "/Users/{id}?attributes={}",
                enc(r#"emails[type eq "work"]"#)
            ),
            None,
        )
        .await);
    assert_eq!(
        a["emails"],
        json!([{"value": "fa@example.com", "type": "work", "primary": true}])
    );
    assert!(a.get("userName").is_none() && a["id"] == id.as_str());
    let list = ok(&t
        .call(
            Method::GET,
            &format!(
                "/Users?filter={}&excludedAttributes={}",
                enc("userName eq fa@example.com"),
                enc("emails[type eq work]")
            ),
            None,
        )
        .await);
    let u = &list["Resources"][0];
    assert_eq!(
        u["emails"],
        json!([{"value": "home.fa@example.com", "type": "home"}])
    );
    assert_eq!(u["userName"], "fa@example.com");
    t.call(
        Method::GET,
        &format!("/Users/{id}?attributes={}", enc(r#"userName[type eq "x"]"#)),
        None,
    )
    .await
    .assert_error(400, Some("invalidValue"));
}

/// Row 24: a PATCH `path` naming the whole enterprise extension.
async fn patch_path_is_a_whole_extension(t: TestApp) {
    let mut body = person("ext@example.com", "e-x", "X");
    body[ENTERPRISE] = json!({"department": "Sales", "costCenter": "4130"});
    let id = seed(&t, body).await;
    let path = format!("/Users/{id}");
    let patch = |ops: Value| {
        let t = t.clone();
        let path = path.clone();
        async move { t.call(Method::PATCH, &path, Some(patch_body(ops))).await }
    };
    let a = ok(&patch(json!([{"op": "add", "path": ENTERPRISE, "value": {"employeeNumber": "701984", "department": "Tours"}}])).await);
    assert_eq!(
        a[ENTERPRISE],
        json!({"department": "Tours", "costCenter": "4130", "employeeNumber": "701984"})
    );
    let a = ok(&patch(
        json!([{"op": "Replace", "path": ENTERPRISE, "value": {"division": "Travel"}}]),
    )
    .await);
    assert_eq!(a[ENTERPRISE], json!({"division": "Travel"}));
    // Bad input: a value that is not an object changes nothing.
    patch(json!([{"op": "replace", "path": ENTERPRISE, "value": "Travel"}]))
        .await
        .assert_error(400, Some("invalidValue"));
    let a = ok(&patch(json!([{"op": "remove", "path": ENTERPRISE}])).await);
    assert!(a.get(ENTERPRISE).is_none(), "{a}");
    assert_eq!(
        a["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
    let stored = ok(&t.call(Method::GET, &path, None).await);
    assert!(stored.get(ENTERPRISE).is_none());
    // An unknown extension URN is still a bad path.
    patch(json!([{"op": "add", "path": "urn:example:params:scim:schemas:extension:nope:2.0:User", "value": {"a": 1}}]))
        .await
        .assert_error(400, Some("invalidPath"));
}

/// `Prefer` (RFC 7240) on user and group writes, and the defaults without it.
async fn prefer_return(t: TestApp) {
    // POST, minimal: 201, no body, ETag and Location.
    let a = with_prefer(
        &t,
        Method::POST,
        "/Users",
        "return=minimal",
        Some(person("pm@example.com", "e-pm", "P")),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert!(a.raw.is_empty());
    assert_eq!(a.header("preference-applied"), Some("return=minimal"));
    assert_eq!(a.header("etag"), Some("W/\"1\""));
    let location = a.header("location").unwrap().to_owned();
    let id = location.rsplit('/').next().unwrap().to_owned();
    assert!(location.ends_with(&format!("/scim/v2/Users/{id}")));
    let path = format!("/Users/{id}");
    // PATCH and PUT, minimal: 204, ETag, Location; the change is made.
    let ops = patch_body(json!([{"op": "replace", "path": "title", "value": "Guide"}]));
    let a = with_prefer(&t, Method::PATCH, &path, "return=minimal", Some(ops)).await;
    assert_eq!((a.status, a.raw.is_empty()), (StatusCode::NO_CONTENT, true));
    assert_eq!(a.header("etag"), Some("W/\"2\""));
    assert_eq!(a.header("location"), Some(location.as_str()));
    let put = person("pm@example.com", "e-pm", "Q");
    let a = with_prefer(
        &t,
        Method::PUT,
        &path,
        "respond-async, return=minimal",
        Some(put),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(a.header("etag"), Some("W/\"3\""));
    assert_eq!(
        ok(&t.call(Method::GET, &path, None).await)["name"]["familyName"],
        "Q"
    );
    // Representation, with attributes: 200 with the projected user.
    let ops = patch_body(json!([{"op": "replace", "path": "title", "value": "Lead"}]));
    let a = with_prefer(
        &t,
        Method::PATCH,
        &format!("{path}?attributes=title"),
        "return=representation",
        Some(ops),
    )
    .await;
    assert_eq!(ok(&a)["title"], "Lead");
    assert!(a.body.get("userName").is_none());
    assert_eq!(
        a.header("preference-applied"),
        Some("return=representation")
    );
    // No Prefer, or one we do not know: users' default, 200 with the body, nothing applied.
    for prefer in ["", "return=everything", "wait=5"] {
        let ops = patch_body(json!([{"op": "replace", "path": "title", "value": prefer}]));
        let a = with_prefer(&t, Method::PATCH, &path, prefer, Some(ops)).await;
        assert_eq!(ok(&a)["id"], id.as_str(), "{prefer}");
        assert_eq!(a.header("preference-applied"), None);
    }

    // Groups: POST minimal; PATCH default 204; PATCH representation 200 with the group.
    let g = with_prefer(
        &t,
        Method::POST,
        "/Groups",
        "return=minimal",
        Some(json!({"schemas": [GROUP_URN], "displayName": "Prefer"})),
    )
    .await;
    assert_eq!((g.status, g.raw.is_empty()), (StatusCode::CREATED, true));
    let gpath = format!(
        "/Groups/{}",
        g.header("location").unwrap().rsplit('/').next().unwrap()
    );
    let add = patch_body(json!([{"op": "add", "path": "members", "value": [{"value": id}]}]));
    let a = with_prefer(&t, Method::PATCH, &gpath, "", Some(add.clone())).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let rename =
        patch_body(json!([{"op": "replace", "path": "displayName", "value": "Preferred"}]));
    let a = with_prefer(
        &t,
        Method::PATCH,
        &gpath,
        "return=representation",
        Some(rename),
    )
    .await;
    let body = ok(&a);
    assert_eq!(body["displayName"], "Preferred");
    assert_eq!(body["members"][0]["value"], id.as_str());
    let a = with_prefer(
        &t,
        Method::PUT,
        &gpath,
        "return=minimal",
        Some(json!({"schemas": [GROUP_URN], "displayName": "P2"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(a.header("etag").is_some());
    // Bad input under Prefer is still a SCIM error and changes nothing.
    with_prefer(
        &t,
        Method::POST,
        "/Users",
        "return=minimal",
        Some(json!({"userName": 5})),
    )
    .await
    .assert_error(400, Some("invalidValue"));
}

/// `return=minimal` asks the service for no representation: no user `groups` read, no group
/// `members` read (counted on the store port, embedded store under it).
#[tokio::test]
async fn prefer_minimal_reads_no_groups_or_members() {
    use common::counting::CountingStore;
    use scim_server::store::MemoryStore;
    use std::sync::Arc;
    let counts = Arc::new(CountingStore::new(Arc::new(MemoryStore::new())));
    let t = common::new_app_with_store(counts.clone());
    let id = seed(&t, person("count@example.com", "e-c", "C")).await;
    let path = format!("/Users/{id}");
    let ops = || patch_body(json!([{"op": "replace", "path": "title", "value": "T"}]));
    counts.take();
    let a = with_prefer(&t, Method::PATCH, &path, "return=minimal", Some(ops())).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let calls = counts.take();
    assert!(!calls.contains_key("groups_of"), "{calls:?}");
    assert!(!calls.contains_key("get_user_with_groups"), "{calls:?}");
    let a = with_prefer(
        &t,
        Method::PATCH,
        &path,
        "return=representation",
        Some(ops()),
    )
    .await;
    ok(&a);
    assert_eq!(counts.take().get("get_user_with_groups"), Some(&1));
}

async fn service_configuration_alias(t: TestApp) {
    let a = ok(&t.call(Method::GET, "/serviceConfiguration", None).await);
    let b = ok(&t.call(Method::GET, "/ServiceProviderConfig", None).await);
    assert_eq!(a, b);
    t.call(Method::POST, "/serviceConfiguration", Some(json!({})))
        .await
        .assert_error(405, None);
}

/// Each scenario becomes `memory::<name>` and `dynamodb::<name>`.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::new_app()).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::dynamo_app().await).await
                }
            )*
        }
    };
}

on_both_stores!(
    external_id_is_not_unique,
    value_path_then_sub_attribute_filters,
    bare_values_and_date_times,
    filtered_attributes,
    patch_path_is_a_whole_extension,
    prefer_return,
    service_configuration_alias,
);
