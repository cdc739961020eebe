//! Property: a PATCH that fails leaves the stored user byte-for-byte unchanged, and one that
//! succeeds answers with exactly what is then stored (RFC 7644 §3.5.2: all operations apply, or
//! none). PATCH bodies are generated from real and broken paths, ops in any case, and values of
//! every JSON type, over a seeded user with multi-valued, complex and extension attributes.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};

use http::{Method, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn seeded_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": "prop@example.com",
        "externalId": "ext-prop",
        "displayName": "Prop Erty",
        "title": "Tester",
        "name": {"givenName": "Prop", "familyName": "Erty"},
        "emails": [
            {"value": "prop@example.com", "type": "work", "primary": true},
            {"value": "p@home.example", "type": "home"}
        ],
        "addresses": [{"type": "work", "locality": "Oslo", "postalCode": "0150"}],
        "entitlements": [{"value": "a"}, {"value": "b"}],
        "roles": [{"value": "reader", "primary": true}],
        ENTERPRISE: {"department": "QA", "manager": {"value": "m1"}}
    })
}

fn op_name() -> impl Strategy<Value = Value> {
    prop_oneof![
        12 => prop::sample::select(vec!["add", "Add", "ADD", "replace", "Replace", "remove", "Remove"]),
        1 => prop::sample::select(vec!["bogus", ""]),
    ]
    .prop_map(Value::from)
}

fn path() -> impl Strategy<Value = Option<String>> {
    let paths = vec![
        "title",
        "active",
        "userName",
        "externalId",
        "nickName",
        "name",
        "name.givenName",
        "name.nope",
        "emails",
        "emails.type",
        "emails[type eq \"work\"]",
        "emails[type eq \"work\"].value",
        "emails[type eq \"work\"].primary",
        "emails[type eq \"other\"].value",
        "emails[value co \"zzz\"].value",
        "emails[type pr]",
        "addresses[type eq \"work\"].locality",
        "addresses[type eq \"home\"].postalCode",
        "entitlements",
        "entitlements[value eq \"a\"]",
        "roles",
        "x509Certificates",
        "id",
        "meta",
        "meta.version",
        "groups",
        "password",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "manager[value eq \"m1\"]",
        "urn:acme:x:y",
        "nope",
        "emails[type eq",
        "a.b.c",
    ];
    proptest::option::weighted(0.85, prop::sample::select(paths).prop_map(str::to_owned))
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..3).prop_map(Value::from),
        prop::sample::select(vec![
            "x",
            "",
            "True",
            "false",
            "maybe",
            "m2",
            "new@example.com",
            "{\"value\":\"r\",\"displayName\":\"R\"}",
            "[{\"value\":\"a\"}]",
            "not base64!",
            "2024-05-01T12:00:00Z",
        ])
        .prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "value",
        "type",
        "primary",
        "display",
        "givenName",
        "active",
        "title",
        "name.familyName",
        "emails[type eq \"work\"].value",
        "id",
        "meta",
        "userName",
        ENTERPRISE,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "unknownThing",
    ]);
    leaf().prop_recursive(2, 16, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..4).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

fn operation() -> impl Strategy<Value = Value> {
    // Mostly plain strings, which most paths accept, so that enough PATCHes succeed.
    let value = prop_oneof![
        2 => prop::sample::select(vec!["x", "True", "m2", "new@example.com"]).prop_map(Value::from),
        3 => value(),
    ];
    (op_name(), path(), proptest::option::weighted(0.9, value)).prop_map(|(op, path, value)| {
        let mut m = Map::new();
        m.insert("op".into(), op);
        if let Some(p) = path {
            m.insert("path".into(), Value::String(p));
        }
        if let Some(v) = value {
            m.insert("value".into(), v);
        }
        Value::Object(m)
    })
}

fn patch_body() -> impl Strategy<Value = Value> {
    prop::collection::vec(operation(), 1..4)
        .prop_map(|ops| common::requests::patch_body(json!(ops)))
}

#[test]
fn failed_patches_change_nothing_and_successful_ones_are_what_is_stored() {
    static SUCCEEDED: AtomicUsize = AtomicUsize::new(0);
    static FAILED: AtomicUsize = AtomicUsize::new(0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config = Config {
        cases: 768,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&patch_body(), |body| {
        rt.block_on(async {
            let t = common::new_app();
            let created = t.call(Method::POST, "/Users", Some(seeded_user())).await;
            prop_assert_eq!(created.status, StatusCode::CREATED);
            let id = created.body["id"].as_str().unwrap_or_default().to_owned();
            let path = format!("/Users/{id}");
            let before = t.call(Method::GET, &path, None).await;
            let a = t.call(Method::PATCH, &path, Some(body.clone())).await;
            let after = t.call(Method::GET, &path, None).await;
            if a.status == StatusCode::OK {
                SUCCEEDED.fetch_add(1, Ordering::Relaxed);
                prop_assert_eq!(&after.body, &a.body, "stored != answered for {}", body);
                prop_assert_eq!(after.header("etag"), a.header("etag"));
                if a.body == before.body {
                    prop_assert_eq!(
                        after.header("etag"),
                        Some("W/\"1\""),
                        "no change, no new version"
                    );
                }
                prop_assert!(a.body.get("password").is_none());
            } else {
                FAILED.fetch_add(1, Ordering::Relaxed);
                prop_assert_eq!(a.status, StatusCode::BAD_REQUEST, "{} -> {}", body, a.body);
                prop_assert!(a.body["scimType"].is_string(), "{}", a.body);
                prop_assert_eq!(
                    &after.raw,
                    &before.raw,
                    "a failed PATCH changed the user: {} -> {}",
                    body,
                    a.body
                );
            }
            Ok::<(), TestCaseError>(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (ok, failed) = (
        SUCCEEDED.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed),
    );
    // The generator must exercise both outcomes, or the property proves nothing.
    assert!(ok >= 50 && failed >= 50, "succeeded {ok}, failed {failed}");
}
