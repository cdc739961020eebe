//! Every API Gateway event in `events/` goes through the real lambda_http request parsing and the
//! Lambda handler, and gets the answer its route promises.

use crate::common;
use crate::event_support;

use std::path::Path;

use lambda_http::Body;
use scim_server::tenant::TenantId;
use serde_json::Value;

use event_support::{event_text, EXPECTED, STREAM_EVENTS};

fn load(name: &str, token: &str, user_id: &str) -> lambda_http::Request {
    lambda_http::request::from_str(&event_text(name, token, user_id))
        .unwrap_or_else(|e| panic!("{name} is not an API Gateway event: {e}"))
}

fn body_json(body: &Body) -> Value {
    match body {
        Body::Empty => Value::Null,
        Body::Text(s) => serde_json::from_str(s).expect("JSON body"),
        Body::Binary(b) => serde_json::from_slice(b).expect("JSON body"),
        _ => panic!("unexpected body kind"),
    }
}

#[test]
fn every_event_file_is_covered() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    let mut covered: Vec<String> = EXPECTED
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .chain(STREAM_EVENTS.iter().map(|(n, _)| (*n).to_owned()))
        .chain(SQS_EVENTS.iter().map(|n| (*n).to_owned()))
        .collect();
    covered.sort();
    assert_eq!(
        files, covered,
        "add new events to EXPECTED in tests/it/events.rs"
    );
}

#[tokio::test]
async fn events_replay_through_the_lambda_handler() {
    let t = common::new_app();
    let mut user_id = String::from("none-yet");
    for (name, status) in EXPECTED {
        let req = load(name, &t.token, &user_id);
        let resp = scim_server::http::lambda::handle(&t.app, req).await;
        let body = body_json(resp.body());
        assert_eq!(resp.status().as_u16(), *status, "{name}: {body}");
        if *status != 204 {
            assert_eq!(
                resp.headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok()),
                Some("application/scim+json"),
                "{name}"
            );
        }
        assert!(resp.headers().contains_key("x-request-id"), "{name}");
        match *name {
            "post-user.json" => {
                user_id = body["id"].as_str().expect("id").to_owned();
                assert_eq!(body["userName"], "bjensen@example.com");
                let location = resp
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .unwrap();
                // API Gateway's Host and X-Forwarded-Proto give the public URL.
                assert_eq!(location, format!("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/scim/v2/Users/{user_id}"));
                assert!(
                    body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
                        ["department"]
                        .is_string()
                );
            }
            "get-user.json" => assert_eq!(body["id"], user_id.as_str()),
            "put-user.json" => {
                assert_eq!(body["id"], user_id.as_str());
                assert!(body.get("password").is_none());
            }
            "patch-user.json" => assert_eq!(body["active"], false),
            "list-users.json" => assert_eq!(body["totalResults"], 1),
            "filter-users.json" => assert_eq!(body["Resources"][0]["id"], user_id.as_str()),
            "get-service-provider-config.json" => assert_eq!(body["patch"]["supported"], true),
            "get-schema-user.json" => {
                assert_eq!(body["id"], "urn:ietf:params:scim:schemas:core:2.0:User")
            }
            "get-resource-type-user.json" => assert_eq!(body["endpoint"], "/Users"),
            "get-resource-types.json" | "get-schemas.json" => {
                assert!(body["totalResults"].as_u64().unwrap() >= 2)
            }
            _ => {}
        }
    }
    // After the DELETE event, the same GET event is a 404.
    let resp =
        scim_server::http::lambda::handle(&t.app, load("get-user.json", &t.token, &user_id)).await;
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn events_without_a_valid_token_are_401() {
    let t = common::new_app();
    let resp =
        scim_server::http::lambda::handle(&t.app, load("list-users.json", "scim_acme_wrong", "x"))
            .await;
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
}

/// Every DynamoDB stream event in `events/` is read by the stream handler's parser and gives the
/// events it promises, one per audit record, with the record's id as `jti`.
#[test]
fn stream_events_give_their_scim_events() {
    use scim_server::events::stream::{audit_record, StreamEvent};
    for (name, uris) in STREAM_EVENTS {
        let batch: StreamEvent = serde_json::from_str(&event_text(name, "", ""))
            .unwrap_or_else(|e| panic!("{name} is not a DynamoDB stream event: {e}"));
        let mut got = Vec::new();
        for rec in &batch.records {
            let record = audit_record(rec).expect("an audit item").expect("readable");
            for e in scim_server::events::events_of(&record, scim_server::events::SOURCE) {
                assert_eq!(e.detail["jti"], record.id.as_str(), "{name}");
                assert_eq!(
                    e.detail["resource_version"],
                    record.version.unwrap(),
                    "{name}"
                );
                got.push(e.detail_type);
            }
        }
        assert_eq!(got, *uris, "{name}");
    }
}

/// SQS batches for the asynchronous worker (`scim-async`): each is read by its parser, and each
/// message is a group follow-up job (`store::follow_up`) naming a valid tenant.
const SQS_EVENTS: &[&str] = &["sqs-follow-ups.json"];

#[test]
fn sqs_events_are_follow_up_jobs_the_worker_reads() {
    use scim_server::async_bulk::sqs::SqsEvent;
    use scim_server::store::follow_up::{FollowUpJob, FollowUpWork};
    for name in SQS_EVENTS {
        let batch: SqsEvent = serde_json::from_str(&event_text(name, "", ""))
            .unwrap_or_else(|e| panic!("{name} is not an SQS event: {e}"));
        assert!(!batch.records.is_empty(), "{name}");
        let mut kinds = Vec::new();
        for msg in &batch.records {
            let body: Value = serde_json::from_str(&msg.body).unwrap();
            let job: FollowUpJob = serde_json::from_value(body["followUp"].clone())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(TenantId::parse(&job.tenant).is_ok(), "{name}");
            kinds.push(matches!(job.work, FollowUpWork::Refresh));
        }
        assert_eq!(kinds, [true, false], "{name}: a refresh and a delete");
    }
}
