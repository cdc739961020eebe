//! Follow-ups of large group writes (`store/dynamo/follow_up.rs`), on moto through the real SDK
//! (DynamoDB and SQS): with the SQS follow-up queue and a zero budget, a group rename or delete
//! answers without fanning out and leaves a `followUp` message on the queue; the consumer's
//! handler (`async_bulk::sqs::handle`) finishes it; a job run twice changes nothing; a job
//! stopped by its deadline resumes after its cursor; a second rename while the first's
//! follow-up waits leaves the latest name; unreadable follow-ups are dropped.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use http::{Method, StatusCode};
use serde_json::{json, Value};

use common::moto::{dynamo_fixture, raw_get, sdk_config, DynamoFixture};
use common::requests::{create_group, id_of, patch_group};
use common::{new_app_with_store, TestApp};
use scim_server::async_bulk::sqs::{self, Consumer, SqsBulkQueue, SqsEvent};
use scim_server::events::publish::Publisher;
use scim_server::service::ScimService;
use scim_server::store::dynamo::follow_up::DEFAULT_FOLLOW_UP_BUDGET;
use scim_server::store::dynamo::group_refs::ref_name;
use scim_server::store::follow_up::{FollowUpJob, FollowUpWork};
use scim_server::store::DynamoStore;
use scim_server::tenant::TenantId;

use crate::event_feed::queue;

const MEMBERS: usize = 300;

struct Setup {
    fx: DynamoFixture,
    /// The API's store: the follow-up queue, a zero budget.
    store: DynamoStore,
    t: TestApp,
    sqs: aws_sdk_sqs::Client,
    url: String,
    users: Vec<String>,
    group: String,
}

/// A group of [`MEMBERS`] users, built by a store without a queue; then the app over a store
/// whose budget is zero, so every rename or delete hands all of its fan-out to the queue.
async fn setup() -> Setup {
    let sdk = sdk_config().await;
    let fx = dynamo_fixture().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let n = uuid::Uuid::new_v4().simple().to_string();
    let (url, _) = queue(&sqs, &format!("follow-ups-{n}")).await;
    let plain = new_app_with_store(Arc::new(fx.store.clone()));
    let (users, _) = common::seed::seed(&fx, &acme(), MEMBERS).await;
    let group = id_of(&create_group(&plain, "Engineering", &[]).await);
    for part in users.chunks(100) {
        let values: Vec<Value> = part.iter().map(|u| json!({"value": u})).collect();
        let a = patch_group(
            &plain,
            &group,
            json!([{"op": "add", "path": "members", "value": values}]),
        )
        .await;
        assert!(a.status.is_success(), "{}", a.body);
    }
    let store = fx
        .store
        .clone()
        .with_follow_ups(Arc::new(SqsBulkQueue::new(&sdk, &url)), Duration::ZERO);
    let t = new_app_with_store(Arc::new(store.clone()));
    Setup {
        fx,
        store,
        t,
        sqs,
        url,
        users,
        group,
    }
}

fn acme() -> TenantId {
    TenantId::parse("acme").unwrap()
}

/// Each member's copy of the group: (displayName, version), `None` when it holds none.
async fn copies(s: &Setup) -> BTreeMap<String, Option<(String, String)>> {
    let mut out = BTreeMap::new();
    for u in &s.users {
        let item = raw_get(&s.fx, "T#acme#USER", u).await.unwrap();
        let copy = match item.get(&ref_name(&s.group)) {
            Some(AttributeValue::M(m)) => Some((
                m["d"].as_s().unwrap().clone(),
                m["v"].as_n().unwrap().clone(),
            )),
            _ => None,
        };
        out.insert(u.clone(), copy);
    }
    out
}

/// Every member's copy names the group `name`; the copies.
async fn assert_all_named(s: &Setup, name: &str) -> BTreeMap<String, Option<(String, String)>> {
    let c = copies(s).await;
    for (u, copy) in &c {
        assert_eq!(copy.as_ref().map(|(d, _)| d.as_str()), Some(name), "{u}");
    }
    c
}

/// Every user item's version (what any write of a member would change).
async fn versions(s: &Setup) -> Vec<String> {
    let mut out = Vec::new();
    for u in &s.users {
        let item = raw_get(&s.fx, "T#acme#USER", u).await.unwrap();
        out.push(format!("{:?}", item.get("version")));
    }
    out
}

/// The messages now on the queue (removed from it): (message id, body).
async fn receive(s: &Setup) -> Vec<(String, String)> {
    let mut out = Vec::new();
    loop {
        let got = s
            .sqs
            .receive_message()
            .queue_url(&s.url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        if got.messages().is_empty() {
            return out;
        }
        for m in got.messages() {
            s.sqs
                .delete_message()
                .queue_url(&s.url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            out.push((
                m.message_id().unwrap().to_owned(),
                m.body().unwrap().to_owned(),
            ));
        }
    }
}

fn event(msgs: &[(String, String)]) -> SqsEvent {
    let records: Vec<Value> = msgs
        .iter()
        .map(|(id, body)| json!({"messageId": id, "body": body}))
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

/// The consumer over `store` (its own follow-up queue), as `scim-async` builds it, without a
/// deadline; the ids of the messages it names for another delivery.
async fn consume(store: &DynamoStore, msgs: &[(String, String)]) -> Vec<String> {
    consume_until(store, msgs, None).await
}

async fn consume_until(
    store: &DynamoStore,
    msgs: &[(String, String)],
    deadline: Option<tokio::time::Instant>,
) -> Vec<String> {
    let sdk = sdk_config().await;
    let publisher = Publisher::new(&sdk, "unused-bus", None);
    let service = ScimService::new(Arc::new(store.clone()));
    let consumer = Consumer {
        service: &service,
        publisher: &publisher,
        iss: "scim-server",
        follow_ups: Some(store),
    };
    sqs::handle(&consumer, event(msgs), deadline)
        .await
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

/// Run the consumer on whatever is on the queue until it is empty; the follow-ups it ran.
async fn run_queue(s: &Setup) -> Vec<FollowUpJob> {
    let mut ran = Vec::new();
    for _ in 0..20 {
        let msgs = receive(s).await;
        if msgs.is_empty() {
            return ran;
        }
        for (_, body) in &msgs {
            ran.push(job_of(body));
        }
        assert_eq!(consume(&s.store, &msgs).await, Vec::<String>::new());
    }
    panic!("the queue never emptied");
}

fn job_of(body: &str) -> FollowUpJob {
    let v: Value = serde_json::from_str(body).unwrap();
    serde_json::from_value(v["followUp"].clone()).unwrap()
}

async fn rename(t: &TestApp, group: &str, name: &str) {
    let a = patch_group(
        t,
        group,
        json!([{"op": "replace", "path": "displayName", "value": name}]),
    )
    .await;
    assert!(a.status.is_success(), "{}", a.body);
}

#[tokio::test]
async fn a_rename_past_its_budget_is_finished_by_the_worker_and_a_second_run_changes_nothing() {
    let s = setup().await;
    s.fx.calls.take();
    let started = std::time::Instant::now();
    rename(&s.t, &s.group, "Platform").await;
    let took = started.elapsed();
    let ops = s.fx.calls.take();
    assert!(
        !ops.iter().any(|o| o == "UpdateItem"),
        "no member is refreshed in the request: {ops:?}"
    );
    assert!(took < Duration::from_secs(3), "answered in {took:?}");
    eprintln!("rename of {MEMBERS} members, zero budget: answered in {took:.1?}, calls {ops:?}");
    assert_all_named(&s, "Engineering").await;

    let msgs = receive(&s).await;
    assert_eq!(msgs.len(), 1, "one follow-up on the queue");
    let job = job_of(&msgs[0].1);
    assert_eq!(
        (
            job.tenant.as_str(),
            job.group_id.as_str(),
            &job.work,
            &job.after
        ),
        ("acme", s.group.as_str(), &FollowUpWork::Refresh, &None)
    );
    // An invocation without time enough for it puts the job back on the queue as it is.
    let soon = tokio::time::Instant::now() + Duration::from_secs(12);
    assert_eq!(
        consume_until(&s.store, &msgs, Some(soon)).await,
        Vec::<String>::new(),
        "not a failed delivery"
    );
    let msgs = receive(&s).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(job_of(&msgs[0].1), job, "queued again unchanged");
    assert_all_named(&s, "Engineering").await;
    let started = std::time::Instant::now();
    assert_eq!(consume(&s.store, &msgs).await, Vec::<String>::new());
    eprintln!(
        "worker refresh of {MEMBERS} members: {:.1?}",
        started.elapsed()
    );
    assert!(
        receive(&s).await.is_empty(),
        "finished: nothing queued again"
    );
    let after = copies(&s).await;
    let version = after.values().next().unwrap().as_ref().unwrap().1.clone();
    assert!(after
        .values()
        .all(|c| c.as_ref() == Some(&("Platform".to_owned(), version.clone()))));
    let a =
        s.t.call(Method::GET, &format!("/Users/{}", s.users[7]), None)
            .await;
    assert_eq!(a.body["groups"][0]["display"], "Platform", "{}", a.body);

    // SQS may deliver a message twice: the second run writes nothing.
    let v = versions(&s).await;
    s.fx.calls.take();
    assert_eq!(consume(&s.store, &msgs).await, Vec::<String>::new());
    assert_eq!(copies(&s).await, after);
    assert_eq!(versions(&s).await, v);
    assert!(receive(&s).await.is_empty());
}

#[tokio::test]
async fn a_delete_past_its_budget_is_finished_by_the_worker_and_a_second_run_changes_nothing() {
    let s = setup().await;
    // The group is itself a member of another group: that membership goes in the request.
    let parent = id_of(&create_group(&s.t, "Parent", &[s.group.as_str()]).await);
    s.fx.calls.take();
    let a =
        s.t.call(Method::DELETE, &format!("/Groups/{}", s.group), None)
            .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let ops = s.fx.calls.take();
    assert!(!ops.iter().any(|o| o == "UpdateItem"), "{ops:?}");
    assert!(
        copies(&s).await.values().all(Option::is_some),
        "the references wait for the worker"
    );
    let a =
        s.t.call(Method::GET, &format!("/Groups/{parent}"), None)
            .await;
    assert!(a.body.get("members").is_none(), "{}", a.body);

    let msgs = receive(&s).await;
    assert_eq!(msgs.len(), 1);
    let job = job_of(&msgs[0].1);
    assert!(matches!(job.work, FollowUpWork::Delete { .. }), "{job:?}");
    assert_eq!(consume(&s.store, &msgs).await, Vec::<String>::new());
    assert!(receive(&s).await.is_empty());
    assert!(copies(&s).await.values().all(Option::is_none));
    for u in &s.users {
        let item = raw_get(&s.fx, "T#acme#USER", u).await.unwrap();
        assert_eq!(item["gi"].as_n().unwrap(), "0", "{u}");
        assert!(raw_get(&s.fx, &format!("T#acme#MEMBEROF#{u}"), &s.group)
            .await
            .is_none());
    }
    let left =
        s.fx.client
            .query()
            .table_name(&s.fx.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(format!("T#acme#MEMBER#{}", s.group)),
            )
            .send()
            .await
            .unwrap();
    assert_eq!(left.count(), 0, "no membership item is left");

    let v = versions(&s).await;
    assert_eq!(consume(&s.store, &msgs).await, Vec::<String>::new());
    assert_eq!(versions(&s).await, v, "run twice: nothing changed");
    assert!(receive(&s).await.is_empty());
}

#[tokio::test]
async fn a_job_stopped_by_its_deadline_resumes_after_its_cursor() {
    let s = setup().await;
    rename(&s.t, &s.group, "Platform").await;
    let msgs = receive(&s).await;
    let job = job_of(&msgs[0].1);
    let rest = s
        .store
        .run_follow_up(
            &job,
            Some(tokio::time::Instant::now() + Duration::from_millis(500)),
        )
        .await
        .unwrap()
        .expect("300 members at 500 a second outlast 500 ms");
    let cursor = rest.after.clone().expect("some members done");
    let mut sorted = s.users.clone();
    sorted.sort();
    let done = sorted.iter().position(|u| *u == cursor).unwrap() + 1;
    assert!(done < MEMBERS, "{done}");
    eprintln!("500 ms deadline: {done} of {MEMBERS} members refreshed");
    let c = copies(&s).await;
    for (i, u) in sorted.iter().enumerate() {
        let name = &c[u].as_ref().unwrap().0;
        let want = if i < done { "Platform" } else { "Engineering" };
        assert_eq!(name, want, "member {i} of {MEMBERS}, cursor after {done}");
    }
    // The rest travels as a message and is finished from there.
    s.store.enqueue_follow_up(&rest).await.unwrap();
    let ran = run_queue(&s).await;
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0].after.as_deref(), Some(cursor.as_str()));
    assert_all_named(&s, "Platform").await;
}

#[tokio::test]
async fn a_second_rename_while_the_first_follow_up_waits_leaves_the_latest_name() {
    let s = setup().await;
    rename(&s.t, &s.group, "First").await;
    rename(&s.t, &s.group, "Second").await;
    // A third through a store without a queue: its refresh runs in the request, to the end.
    let inline = new_app_with_store(Arc::new(s.fx.store.clone()));
    rename(&inline, &s.group, "Third").await;
    let third = assert_all_named(&s, "Third").await;
    let v = versions(&s).await;
    // The two older follow-ups read the group: its current names are already there.
    let ran = run_queue(&s).await;
    assert_eq!(ran.len(), 2);
    assert_eq!(copies(&s).await, third);
    assert_eq!(versions(&s).await, v);

    // A rename whose follow-up runs after yet another rename, both queued: the latest wins.
    rename(&s.t, &s.group, "Fourth").await;
    let pending = receive(&s).await;
    rename(&s.t, &s.group, "Fifth").await;
    assert_eq!(consume(&s.store, &pending).await, Vec::<String>::new());
    run_queue(&s).await;
    assert_all_named(&s, "Fifth").await;
}

#[tokio::test]
async fn with_the_default_budget_a_few_hundred_members_are_done_in_the_request() {
    let s = setup().await;
    let sdk = sdk_config().await;
    let store = s.fx.store.clone().with_follow_ups(
        Arc::new(SqsBulkQueue::new(&sdk, &s.url)),
        DEFAULT_FOLLOW_UP_BUDGET,
    );
    let t = new_app_with_store(Arc::new(store));
    let started = std::time::Instant::now();
    rename(&t, &s.group, "Platform").await;
    eprintln!(
        "rename of {MEMBERS} members in the request, default budget: {:.1?}",
        started.elapsed()
    );
    assert!(receive(&s).await.is_empty(), "nothing handed over");
    assert_all_named(&s, "Platform").await;
}

#[tokio::test]
async fn unreadable_follow_ups_are_dropped_and_change_nothing() {
    let s = setup().await;
    let v = versions(&s).await;
    let c = copies(&s).await;
    let good = |tenant: &str| json!({"followUp": {"tenant": tenant, "groupId": s.group, "work": {"kind": "delete", "deletedAt": "2026-01-01T00:00:00Z"}}});
    let bodies = [
        "{not json".to_owned(),
        json!({"followUp": {"tenant": "acme"}}).to_string(),
        json!({"followUp": {"tenant": "acme", "groupId": s.group, "work": {"kind": "explode"}}})
            .to_string(),
        good("Not A Tenant!").to_string(),
        json!({"followUp": good("acme")["followUp"], "extra": 1}).to_string(),
    ];
    let msgs: Vec<(String, String)> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| (format!("m{i}"), b.clone()))
        .collect();
    assert_eq!(
        consume(&s.store, &msgs).await,
        Vec::<String>::new(),
        "retrying cannot make them readable"
    );
    assert_eq!(versions(&s).await, v);
    assert_eq!(copies(&s).await, c);
    assert!(receive(&s).await.is_empty());
    // Another tenant's job on acme's group id touches nothing of acme's.
    let msgs = vec![("g".to_owned(), good("globex").to_string())];
    assert_eq!(consume(&s.store, &msgs).await, Vec::<String>::new());
    assert_eq!(versions(&s).await, v);
    assert_eq!(copies(&s).await, c);
}
