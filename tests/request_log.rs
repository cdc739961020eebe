//! The one structured log line per request: its fields for a success and for an error, on the
//! embedded store and on DynamoDB, and that no body, userName or token appears in the logs.
//! Its own test binary: it installs a thread-local subscriber in the production JSON format.

mod common;

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::json;

use common::log_capture::Buffer;
use scim_server::config::{subscriber, LogFormat};

const SECRET_WORDS: &[&str] = &[
    "logged.person@example.com",
    "Hunter2-Password",
    "Sensitive Title",
];

async fn exercise(t: &common::TestApp) -> (String, Buffer) {
    // Read the tenant's settings before the captured requests (once a minute per tenant), so
    // the round trips below are a warm tenant's.
    t.call(Method::GET, "/ServiceProviderConfig", None).await;
    let buffer = Buffer::default();
    let _guard =
        tracing::subscriber::set_default(subscriber(LogFormat::Json, "info", buffer.clone()));
    let body =
        json!({"userName": SECRET_WORDS[0], "password": SECRET_WORDS[1], "title": SECRET_WORDS[2]});
    let req = t
        .request(Method::POST, "/Users")
        .header("content-type", "application/scim+json")
        .header("user-agent", "Okta SCIM Client 1.0.0")
        .header("x-request-id", "req-success-1")
        .body(serde_json::to_vec(&body).unwrap().into())
        .unwrap();
    let created = t.send(req).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let dup = t.call(Method::POST, "/Users", Some(body)).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let got = t.call(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(got.status, StatusCode::OK);
    t.call_as("scim_acme_wrong", Method::GET, "/Users", None)
        .await;
    (id, buffer)
}

fn check_lines(t: &common::TestApp, id: &str, buffer: &Buffer, expect_ddb_calls: bool) {
    let lines = buffer.request_lines();
    assert_eq!(lines.len(), 4, "one line per request:\n{}", buffer.text());
    let ok = &lines[0];
    for field in [
        "request_id",
        "tenant",
        "token_id",
        "idp",
        "method",
        "operation",
        "resource_id",
        "status",
        "scim_type",
        "bulk",
        "ddb_calls",
        "latency_us",
    ] {
        assert!(ok.get(field).is_some(), "missing {field} in {ok}");
    }
    assert_eq!(ok["request_id"], "req-success-1");
    assert_eq!(ok["tenant"], t.tenant.as_str());
    assert_eq!(ok["token_id"].as_str().unwrap().len(), 8);
    assert_eq!(ok["idp"], "okta");
    assert_eq!(ok["operation"], "users.create");
    assert_eq!(ok["resource_id"], id);
    assert_eq!(ok["status"], 201);
    assert_eq!(ok["scim_type"], "");
    assert!(ok["latency_us"].is_u64());
    if expect_ddb_calls {
        assert_eq!(ok["ddb_calls"], 1, "create is one transaction");
        // moto reports capacity for single-item operations (not for transactions).
        let get = &lines[2];
        assert!(
            get["ddb_capacity"].as_f64().unwrap() > 0.0,
            "consumed capacity is reported: {get}"
        );
        assert_eq!(
            lines[2]["ddb_calls"], 1,
            "GET is one GetItem: the user item carries its read-only groups"
        );
    } else {
        assert_eq!(ok["ddb_calls"], 0);
        assert_eq!(ok["ddb_capacity"], 0.0);
    }
    let conflict = &lines[1];
    assert_eq!(
        (conflict["status"].as_u64(), conflict["scim_type"].as_str()),
        (Some(409), Some("uniqueness"))
    );
    let unauthorized = &lines[3];
    assert_eq!(
        (
            unauthorized["status"].as_u64(),
            unauthorized["tenant"].as_str()
        ),
        (Some(401), Some("-"))
    );
    let all = buffer.text();
    for secret in SECRET_WORDS.iter().copied().chain([t.token.as_str()]) {
        assert!(
            !all.contains(secret),
            "{secret:?} appears in the logs:\n{all}"
        );
    }
    let hash = scim_server::auth::token::TokenHash::of(&t.token).to_hex();
    assert!(!all.contains(&hash), "the token hash appears in the logs");
}

#[tokio::test]
async fn request_log_line_on_the_embedded_store() {
    let t = common::new_app();
    let (id, buffer) = exercise(&t).await;
    check_lines(&t, &id, &buffer, false);
}

#[tokio::test]
async fn request_log_line_on_dynamodb_counts_round_trips() {
    let fx = common::moto::dynamo_fixture().await;
    let t = common::new_app_with_store(Arc::new(fx.store));
    let (id, buffer) = exercise(&t).await;
    check_lines(&t, &id, &buffer, true);
}

/// A `/Bulk` request is one line: the operation `bulk`, and in `bulk` each operation's position,
/// method, path and status (never its data).
#[tokio::test]
async fn bulk_request_line_names_each_operation() {
    let t = common::new_app();
    let buffer = Buffer::default();
    let _guard =
        tracing::subscriber::set_default(subscriber(LogFormat::Json, "info", buffer.clone()));
    let body = json!({"Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": SECRET_WORDS[0]}},
        {"method": "DELETE", "path": "/Users/missing"},
    ]});
    let a = t.call(Method::POST, "/Bulk", Some(body)).await;
    assert_eq!(a.status, StatusCode::OK);
    let lines = buffer.request_lines();
    assert_eq!(lines.len(), 1, "{}", buffer.text());
    assert_eq!(lines[0]["operation"], "bulk");
    assert_eq!(
        lines[0]["bulk"],
        "#1 POST /Users 201; #2 DELETE /Users/missing 404"
    );
    assert!(!buffer.text().contains(SECRET_WORDS[0]));
}
