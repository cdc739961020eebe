//! DynamoDB calls have deadlines: a DynamoDB that accepts connections and never answers makes
//! a store call fail as `Unavailable` (503 with `Retry-After`) within the operation budget, and
//! the Lambda transport answers every request within its deadline. No emulator: the "DynamoDB"
//! is a TCP listener on 127.0.0.1 that accepts and stays silent.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use lambda_http::Body;
use tokio::net::TcpListener;

use scim_server::http::lambda::{handle, handle_within};
use scim_server::store::dynamo::client::{self, OPERATION_TIMEOUT};
use scim_server::store::{DynamoStore, StoreError, UserStore};
use scim_server::tenant::TenantId;

/// A listener that accepts every connection, keeps it open and never writes a byte; returns its
/// address and the number of connections accepted so far.
async fn silent_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (format!("http://{addr}"), accepted)
}

async fn hanging_store() -> (DynamoStore, Arc<AtomicUsize>) {
    let (endpoint, accepted) = silent_listener().await;
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .load()
        .await;
    (
        DynamoStore::new(client::client(&sdk), "scim-hangs"),
        accepted,
    )
}

/// Slack for scheduling on a loaded machine (2 cores shared by several builds).
const SLACK: Duration = Duration::from_millis(1500);

#[tokio::test]
async fn a_hanging_dynamodb_is_unavailable_within_the_operation_budget() {
    let (store, accepted) = hanging_store().await;
    let tenant = TenantId::parse("acme").unwrap();
    let start = Instant::now();
    let result = store.get_user(&tenant, "some-id").await;
    let took = start.elapsed();
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert!(took < OPERATION_TIMEOUT + SLACK, "took {took:?}");
    // The attempt deadline (1 s) left room for a retry inside the operation deadline (2 s).
    assert!(accepted.load(Ordering::SeqCst) >= 2, "no retry was made");
}

fn lambda_request(token: &str) -> lambda_http::Request {
    http::Request::get("https://scim.example.com/scim/v2/Users?count=1")
        .header("host", "scim.example.com")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::Empty)
        .unwrap()
}

fn assert_scim_503(resp: &http::Response<Body>) {
    assert_eq!(resp.status(), 503);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let Body::Text(text) = resp.body() else {
        panic!("no SCIM body: {:?}", resp.body())
    };
    let body: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(body["status"], "503");
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
}

#[tokio::test]
async fn a_request_meeting_a_hanging_dynamodb_answers_503_with_retry_after() {
    let (store, _) = hanging_store().await;
    let t = common::new_app_with_store(Arc::new(store));
    let start = Instant::now();
    let resp = handle(&t.app, lambda_request(&t.token)).await;
    assert!(
        start.elapsed() < OPERATION_TIMEOUT + SLACK,
        "took {:?}",
        start.elapsed()
    );
    assert_scim_503(&resp);
}

#[tokio::test]
async fn the_lambda_transport_answers_503_at_its_deadline() {
    let (store, _) = hanging_store().await;
    let t = common::new_app_with_store(Arc::new(store));
    let deadline = Duration::from_millis(200);
    let start = Instant::now();
    let resp = handle_within(&t.app, lambda_request(&t.token), deadline).await;
    let took = start.elapsed();
    assert!(took >= deadline && took < deadline + SLACK, "took {took:?}");
    assert_scim_503(&resp);
}
