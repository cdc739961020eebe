//! Issue 14, item 10: no 412 after a partial write. A group PATCH with `If-Match` whose change
//! spans several DynamoDB transactions (more than 32 adds) meets another writer between its
//! chunks; a failure after the first chunk committed is reported as such. On DynamoDB (moto):
//! an SDK interceptor on the store's client acts between the chunks (another writer's real
//! write, or a refused call), nothing of DynamoDB is faked.

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use http::{Method, StatusCode};
use serde_json::{json, Value};

use common::moto::dynamo_fixture;
use common::requests::{create_group, id_of, patch_body, seed_user, tenant, user_member};
use common::{new_app_with_store, TestApp};
use scim_server::store::{DynamoStore, GroupStore, GroupUpdate};

/// More adds than one transaction holds (32), so the change takes two chunks.
const ADDS: usize = 40;

fn is_transaction(cfg: &ConfigBag) -> bool {
    cfg.load::<Metadata>()
        .is_some_and(|m| m.name() == "TransactWriteItems")
}

/// After the first `TransactWriteItems` that succeeds, runs `between` once, to completion,
/// before the store sees the answer (so before its next chunk).
struct AfterFirstCommit {
    armed: AtomicBool,
    between: Box<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for AfterFirstCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AfterFirstCommit")
    }
}

impl Intercept for AfterFirstCommit {
    fn name(&self) -> &'static str {
        "AfterFirstCommit"
    }
    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if is_transaction(cfg)
            && context.output_or_error().is_ok()
            && self.armed.swap(false, Ordering::SeqCst)
        {
            (self.between)();
        }
        Ok(())
    }
}

/// Refuses every `TransactWriteItems` after the first `allowed` while `on` (an outage that
/// starts between two chunks).
#[derive(Debug)]
struct FailAfter {
    allowed: usize,
    seen: AtomicUsize,
    on: AtomicBool,
}

impl Intercept for FailAfter {
    fn name(&self) -> &'static str {
        "FailAfter"
    }
    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if is_transaction(cfg)
            && self.seen.fetch_add(1, Ordering::SeqCst) >= self.allowed
            && self.on.load(Ordering::SeqCst)
        {
            return Err("injected: DynamoDB refused the call".into());
        }
        Ok(())
    }
}

fn with_interceptor(client: &Client, table: &str, i: impl Intercept + 'static) -> DynamoStore {
    let conf = client.config().to_builder().interceptor(i).build();
    DynamoStore::new(Client::from_conf(conf), table)
}

/// `n` users created through `t`; their ids.
async fn users(t: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(seed_user(t, &format!("{prefix}{i}@example.com")).await);
    }
    ids
}

async fn new_group(t: &TestApp) -> (String, String) {
    let body = create_group(t, "Chunked", &[]).await;
    let gid = id_of(&body);
    let version = body["meta"]["version"].as_str().unwrap().to_owned();
    (gid, version)
}

async fn member_count(store: &DynamoStore, gid: &str) -> usize {
    store
        .list_members(&tenant("acme"), gid, None, 10_000)
        .await
        .unwrap()
        .members
        .len()
}

fn add_all(ids: &[String]) -> Value {
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    patch_body(json!([{"op": "add", "path": "members", "value": members}]))
}

async fn patch_if_match(t: &TestApp, gid: &str, etag: Option<&str>, body: Value) -> common::Answer {
    let mut req = t
        .request(Method::PATCH, &format!("/Groups/{gid}"))
        .header("content-type", "application/scim+json");
    if let Some(e) = etag {
        req = req.header("if-match", e);
    }
    t.send(req.body(serde_json::to_vec(&body).unwrap().into()).unwrap())
        .await
}

#[tokio::test]
async fn a_precondition_that_held_is_not_answered_412_after_a_chunk_committed() {
    let fx = dynamo_fixture().await;
    let plain = new_app_with_store(Arc::new(fx.store.clone()));
    let ids = users(&plain, "chunk", ADDS).await;
    let other = users(&plain, "other", 1).await.remove(0);
    let (gid, etag) = new_group(&plain).await;

    // Between the two chunks, another IdP request adds `other` (a real write that bumps the
    // group's version), from a thread of its own so that it completes first.
    let (client, table, gid2, other2) = (
        fx.client.clone(),
        fx.table.clone(),
        gid.clone(),
        other.clone(),
    );
    let between = move || {
        let (client, table, gid, other) =
            (client.clone(), table.clone(), gid2.clone(), other2.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let store = DynamoStore::new(client, table);
                let add = [user_member(&other)];
                let update = GroupUpdate {
                    id: &gid,
                    expected_version: None,
                    attributes: None,
                    add: &add,
                    remove: &[],
                    last_modified: "2024-01-02T00:00:00.000Z",
                    current: None,
                };
                store
                    .update_group(&tenant("acme"), &update, &common::sys_audit())
                    .await
                    .unwrap();
            });
        })
        .join()
        .unwrap();
    };
    let store = with_interceptor(
        &fx.client,
        &fx.table,
        AfterFirstCommit {
            armed: AtomicBool::new(true),
            between: Box::new(between),
        },
    );
    let t = new_app_with_store(Arc::new(store.clone()));

    let a = patch_if_match(&t, &gid, Some(&etag), add_all(&ids)).await;
    // The precondition held when the first chunk committed: the change is finished, not 412.
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(
        member_count(&store, &gid).await,
        ADDS + 1,
        "every add and the other writer's"
    );
    let stored = store
        .get_group(&tenant("acme"), &gid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        a.header("etag"),
        Some(format!("W/\"{}\"", stored.version).as_str())
    );

    // A stale If-Match is still refused before anything is written.
    let more = users(&plain, "late", 1).await;
    let a = patch_if_match(&t, &gid, Some(&etag), add_all(&more)).await;
    a.assert_error(412, None);
    assert_eq!(member_count(&store, &gid).await, ADDS + 1);
}

#[tokio::test]
async fn a_failure_after_a_committed_chunk_says_part_was_written() {
    let fx = dynamo_fixture().await;
    let plain = new_app_with_store(Arc::new(fx.store.clone()));
    let ids = users(&plain, "part", ADDS).await;
    let (gid, etag) = new_group(&plain).await;
    let fail = Arc::new(FailAfter {
        allowed: 1,
        seen: AtomicUsize::new(0),
        on: AtomicBool::new(true),
    });
    let store = with_interceptor(&fx.client, &fx.table, SharedFail(Arc::clone(&fail)));
    let t = new_app_with_store(Arc::new(store.clone()));

    let a = patch_if_match(&t, &gid, Some(&etag), add_all(&ids)).await;
    assert!(a.status.is_server_error(), "{} {}", a.status, a.body);
    let detail = a.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("Part of this change was written"),
        "{detail}"
    );
    assert_eq!(
        member_count(&store, &gid).await,
        32,
        "the first chunk stays"
    );

    // As the answer says: the same request without If-Match finishes the change.
    fail.on.store(false, Ordering::SeqCst);
    let a = patch_if_match(&t, &gid, None, add_all(&ids)).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(member_count(&store, &gid).await, ADDS);
}

/// [`FailAfter`] shared with the test, which turns it off.
#[derive(Debug)]
struct SharedFail(Arc<FailAfter>);

impl Intercept for SharedFail {
    fn name(&self) -> &'static str {
        "SharedFail"
    }
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.read_before_transmit(context, rc, cfg)
    }
}
