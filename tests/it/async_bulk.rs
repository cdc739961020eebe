//! Asynchronous `/Bulk` (RFC 9967 §3, `Prefer: respond-async`): the 202 answer with `Set-Txn`,
//! the same request without the preference unchanged, a malformed request refused at once, the
//! local path (a spawned task, completion events in `SCIM_EVENTS_FILE`), and on moto the job on
//! the SQS queue, the consumer's library function run on that SQS event, the changes, and the
//! `misc:asyncresp` events read back from a queue a rule on the bus targets; tenant isolation.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::moto::{dynamo_fixture, sdk_config};
use crate::common::{new_app_configured, Answer, TestApp};
use crate::event_feed::{drain, feed, queue};
use scim_server::async_bulk::local::LocalBulkQueue;
use scim_server::async_bulk::sqs::{self, SqsBulkQueue, SqsEvent};
use scim_server::events::asyncresp::ASYNCRESP;
use scim_server::events::publish::Publisher;
use scim_server::events::sink::FileSink;
use scim_server::service::async_bulk::BulkJob;
use scim_server::service::ScimService;
use scim_server::store::{MemoryStore, Store};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn ops() -> Value {
    json!({"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "a",
         "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "async-a@example.com"}},
        // Bad: no userName. Its failure is in its completion event, not an HTTP error.
        {"method": "POST", "path": "/Users", "bulkId": "b",
         "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}},
        {"method": "POST", "path": "/Groups", "bulkId": "g",
         "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "async-g",
                  "members": [{"value": "bulkId:a"}]}},
    ]})
}

async fn post_bulk(t: &TestApp, token: &str, body: &Value, prefer: Option<&str>) -> Answer {
    let mut b = http::Request::builder()
        .method(Method::POST)
        .uri("/scim/v2/Bulk")
        .header("host", "scim.test")
        .header("content-type", "application/scim+json")
        .header("authorization", format!("Bearer {token}"));
    if let Some(p) = prefer {
        b = b.header("prefer", p);
    }
    t.send(b.body(bytes::Bytes::from(body.to_string())).unwrap())
        .await
}

fn local_app(path: &Path) -> TestApp {
    let sink = Arc::new(FileSink::open(path, "scim-server").unwrap());
    let dyn_store: Arc<dyn Store> = Arc::new(MemoryStore::new().with_sink(sink.clone()));
    let worker = ScimService::new(dyn_store.clone());
    let queue = Arc::new(LocalBulkQueue::spawn(
        worker,
        Some(sink),
        "scim-server".into(),
    ));
    new_app_configured(dyn_store, "acme", |s| s.with_bulk_queue(queue))
}

/// The `totalResults` of the tenant's users named `async-a@example.com`.
async fn users_named_a(t: &TestApp) -> Value {
    let a = t
        .call(
            Method::GET,
            "/Users?filter=userName%20eq%20%22async-a@example.com%22",
            None,
        )
        .await;
    a.body["totalResults"].clone()
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The asyncresp events in `path` (waiting up to 5 s for `want`).
async fn completions(path: &Path, want: usize) -> Vec<Value> {
    for _ in 0..100 {
        let got: Vec<Value> = lines(path)
            .into_iter()
            .filter(|d| d["events"].get(ASYNCRESP).is_some())
            .collect();
        if got.len() >= want {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no completion events in {}", path.display());
}

fn assert_completions(events: &[Value], txn: &str, tenant: &str) {
    assert_eq!(events.len(), 3, "one event per operation: {events:?}");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["txn"], format!("{txn}:{i}"), "{e}");
        assert_eq!(e["tenant"], tenant);
        assert_eq!(e["bulk_events"], 3);
    }
    let op = |i: usize| &events[i]["events"][ASYNCRESP];
    assert_eq!(op(0)["status"], "201");
    assert_eq!(op(0)["bulkId"], "a");
    assert!(events[0]["sub_id"]["uri"]
        .as_str()
        .unwrap()
        .starts_with("/Users/"));
    assert_eq!(op(1)["status"], "400");
    assert_eq!(op(1)["response"]["scimType"], "invalidValue");
    assert_eq!(op(2)["status"], "201");
    assert!(op(2)["location"].as_str().unwrap().contains("/Groups/"));
}

#[tokio::test]
async fn respond_async_answers_202_with_set_txn_and_the_feed_gets_the_completion() {
    let path = std::env::temp_dir().join(format!("scim-async-{}.jsonl", uuid::Uuid::new_v4()));
    let t = local_app(&path);
    let a = post_bulk(&t, &t.token, &ops(), Some("respond-async")).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    assert!(a.raw.is_empty(), "RFC 9967 §3: no body");
    assert_eq!(a.header("preference-applied"), Some("respond-async"));
    let txn = a.header("set-txn").expect("Set-Txn").to_owned();
    let events = completions(&path, 3).await;
    assert_completions(&events, &txn, "acme");
    // The changes were made, each with its own provisioning event in the same feed.
    assert_eq!(users_named_a(&t).await, 1);
    let creates = lines(&path)
        .iter()
        .filter(|d| {
            d["events"]
                .get("urn:ietf:params:scim:event:prov:create:notice")
                .is_some()
        })
        .count();
    assert_eq!(creates, 2, "the user and the group");
    std::fs::remove_file(&path).ok();
}

#[tokio::test]
async fn without_the_preference_or_with_a_bad_request_nothing_is_queued() {
    let path = std::env::temp_dir().join(format!("scim-async-{}.jsonl", uuid::Uuid::new_v4()));
    let t = local_app(&path);
    // No `Prefer: respond-async` (another preference only): the synchronous 200 BulkResponse.
    let a = post_bulk(&t, &t.token, &ops(), Some("return=minimal")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.header("set-txn").is_none());
    assert_eq!(a.body["Operations"][1]["status"], "400");
    // A malformed BulkRequest is answered at once with a SCIM error, and nothing is queued.
    let bad = json!({"schemas": [BULK], "Operations": "nope"});
    let a = post_bulk(&t, &t.token, &bad, Some("respond-async")).await;
    a.assert_error(400, Some("invalidSyntax"));
    let a = post_bulk(
        &t,
        &t.token,
        &json!({"schemas": ["x"]}),
        Some("respond-async"),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(lines(&path)
        .iter()
        .all(|d| d["events"].get(ASYNCRESP).is_none()));
    std::fs::remove_file(&path).ok();
}

#[tokio::test]
async fn service_provider_config_advertises_security_events() {
    let path = std::env::temp_dir().join(format!("scim-async-{}.jsonl", uuid::Uuid::new_v4()));
    let t = local_app(&path);
    let d = t
        .call(Method::GET, "/ServiceProviderConfig", None)
        .await
        .body;
    assert_eq!(d["securityEvents"]["asyncRequest"], "request");
    let uris = d["securityEvents"]["eventUris"].as_array().unwrap();
    assert!(uris.contains(&json!(ASYNCRESP)));
    assert!(uris.contains(&json!("urn:ietf:params:scim:event:prov:create:notice")));
    // Without a queue, the preference is not honoured and not advertised.
    let plain = crate::common::new_app();
    let d = plain
        .call(Method::GET, "/ServiceProviderConfig", None)
        .await
        .body;
    assert_eq!(d["securityEvents"]["asyncRequest"], "none");
    assert!(!d["securityEvents"]["eventUris"]
        .as_array()
        .unwrap()
        .contains(&json!(ASYNCRESP)));
    let a = post_bulk(&plain, &plain.token, &ops(), Some("respond-async")).await;
    assert_eq!(a.status, StatusCode::OK, "run synchronously (RFC 7240 §2)");
    std::fs::remove_file(&path).ok();
}

/// On moto: the API queues the job on SQS; the consumer's library function runs on that SQS
/// event; the changes are in DynamoDB; the completion events arrive through a rule on the bus.
#[tokio::test]
async fn on_aws_the_job_travels_through_sqs_and_completions_through_eventbridge() {
    let sdk = sdk_config().await;
    let fx = dynamo_fixture().await;
    let store: Arc<dyn Store> = Arc::new(fx.store);
    let sqs_client = aws_sdk_sqs::Client::new(&sdk);
    let n = uuid::Uuid::new_v4().simple().to_string();
    let (jobs_url, _) = queue(&sqs_client, &format!("async-bulk-{n}")).await;
    let api_queue = Arc::new(SqsBulkQueue::new(&sdk, &jobs_url));
    let t = new_app_configured(store.clone(), "acme", |s| s.with_bulk_queue(api_queue));
    let a = post_bulk(&t, &t.token, &ops(), Some("respond-async")).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    let txn = a.header("set-txn").unwrap().to_owned();
    // Nothing changed yet: the job waits on the queue.
    assert_eq!(users_named_a(&t).await, 0);
    let got = sqs_client
        .receive_message()
        .queue_url(&jobs_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let msgs = got.messages();
    assert_eq!(msgs.len(), 1);
    let job: BulkJob = serde_json::from_str(msgs[0].body().unwrap()).unwrap();
    assert_eq!(
        (job.tenant.as_str(), job.txn.as_str()),
        ("acme", txn.as_str())
    );
    // The consumer, on that SQS event (as Lambda's event source mapping would deliver it).
    let event: SqsEvent = serde_json::from_value(json!({"Records": [
        {"messageId": msgs[0].message_id().unwrap(), "body": msgs[0].body().unwrap()},
        {"messageId": "garbage", "body": "{not a job"},
    ]}))
    .unwrap();
    let f = feed().await;
    let publisher = Publisher::new(&sdk, &f.bus, Some(&f.dlq_url));
    let worker = ScimService::new(store.clone());
    let consumer = sqs::Consumer {
        service: &worker,
        publisher: &publisher,
        iss: "scim-server",
        follow_ups: None,
    };
    let answer = sqs::handle(&consumer, event, None).await;
    assert!(
        answer.batch_item_failures.is_empty(),
        "a job that ran, and one that can never run, are not retried"
    );
    let delivered = drain(&f.sqs, &f.queue_url, 3).await;
    let mut details: Vec<Value> = delivered
        .into_iter()
        .map(|m| m["detail"].clone())
        .filter(|d| d["events"].get(ASYNCRESP).is_some())
        .collect();
    details.sort_by_key(|d| d["txn"].as_str().unwrap().to_owned());
    assert_completions(&details, &txn, "acme");
    assert_eq!(users_named_a(&t).await, 1);

    // Tenant isolation: the tenant comes from the message (written by the API from the verified
    // token); another tenant's token never sees or touches acme's resources.
    let other = t.token_for("globex");
    let a = post_bulk(&t, &other, &ops(), Some("respond-async")).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    let got = sqs_client
        .receive_message()
        .queue_url(&jobs_url)
        .send()
        .await
        .unwrap();
    let m = &got.messages()[0];
    let job: BulkJob = serde_json::from_str(m.body().unwrap()).unwrap();
    assert_eq!(job.tenant, "globex");
    let event: SqsEvent = serde_json::from_value(
        json!({"Records": [{"messageId": m.message_id().unwrap(), "body": m.body().unwrap()}]}),
    )
    .unwrap();
    sqs::handle(&consumer, event, None).await;
    let globex = drain(&f.sqs, &f.queue_url, 3).await;
    let first = globex
        .iter()
        .map(|m| &m["detail"])
        .find(|d| d["txn"] == format!("{}:0", job.txn))
        .unwrap();
    assert_eq!(first["tenant"], "globex");
    assert_eq!(
        first["events"][ASYNCRESP]["status"], "201",
        "its own userName space"
    );
    assert_eq!(
        users_named_a(&t).await,
        1,
        "acme's user untouched and alone"
    );

    // A deadline too close: the job is not started and is named for SQS to deliver again.
    let event: SqsEvent = serde_json::from_value(
        json!({"Records": [{"messageId": "m1", "body": m.body().unwrap()}]}),
    )
    .unwrap();
    let soon = tokio::time::Instant::now() + Duration::from_secs(1);
    let answer = sqs::handle(&consumer, event, Some(soon)).await;
    assert_eq!(answer.batch_item_failures.len(), 1);
}
