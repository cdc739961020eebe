//! The event feed end to end against moto: SCIM requests through the router on the DynamoDB store,
//! the table's stream read as Lambda's event source mapping would deliver it, the stream handler,
//! the EventBridge bus, and the events read back from an SQS queue that a rule on the bus
//! targets. Also: the dead-letter path, the partial batch response, the replay command and the
//! local feed (`SCIM_EVENTS_FILE`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, ShardIteratorType};
use http::Method;
use serde_json::{json, Map, Value};

use crate::common::moto::{dynamo_fixture, scimctl, sdk_config};
use crate::common::requests::{id_of, patch_body};
use crate::common::{new_app_for_tenant, user_body, TestApp};
use scim_server::audit::{Action, Actor, AuditRecord};
use scim_server::config::{Config, EventMode, EventsConfig};
use scim_server::events::publish::{Publisher, PUT_ATTEMPTS};
use scim_server::events::stream::{self, StreamEvent};
use scim_server::events::{events_of, SOURCE};
use scim_server::scim::schema::ResourceKind;
use scim_server::store::dynamo::calls::CallCounter;
use scim_server::tenant::TenantId;

const PREFIX: &str = "urn:ietf:params:scim:event:prov:";

/// A bus, a queue a rule on it targets (every event of [`SOURCE`]), and a dead-letter queue.
struct Feed {
    bus: String,
    queue_url: String,
    dlq_url: String,
    sqs: aws_sdk_sqs::Client,
    events: aws_sdk_eventbridge::Client,
}

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn = attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .unwrap()
        .clone();
    (url, arn)
}

async fn feed() -> Feed {
    let sdk = sdk_config().await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let n = uuid::Uuid::new_v4().simple().to_string();
    let bus = format!("scim-events-{n}");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let (queue_url, queue_arn) = queue(&sqs, &format!("product-{n}")).await;
    let (dlq_url, _) = queue(&sqs, &format!("dlq-{n}")).await;
    // What a product's rule looks like (README.md, "Events"): every event of the feed.
    events
        .put_rule()
        .name("product")
        .event_bus_name(&bus)
        .event_pattern(json!({"source": [SOURCE]}).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("product")
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    Feed {
        bus,
        queue_url,
        dlq_url,
        sqs,
        events,
    }
}

/// Every message now in `url` (polled until `want` arrived, or for a short while when it did,
/// so an extra message would be seen), as JSON bodies.
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str, want: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for _ in 0..20 {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap();
        let msgs = got.messages();
        for m in msgs {
            out.push(serde_json::from_str(m.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        if msgs.is_empty() && out.len() >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    out
}

fn stream_value(v: &StreamValue) -> Option<Value> {
    match v {
        StreamValue::S(s) => Some(json!({ "S": s })),
        StreamValue::N(n) => Some(json!({ "N": n })),
        _ => None,
    }
}

/// Every record of `table`'s stream, in the JSON form Lambda delivers (`DynamoDBEvent`).
async fn stream_records(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<Value> {
    let arn = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table()
        .and_then(|t| t.latest_stream_arn().map(str::to_owned))
        .expect("the table has a stream");
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk_config().await);
    let shards = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap()
        .stream_description()
        .map(|d| d.shards().to_vec())
        .unwrap_or_default();
    let mut out = Vec::new();
    for shard in shards {
        let it = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id().unwrap())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap();
        let got = streams
            .get_records()
            .shard_iterator(it.shard_iterator().unwrap())
            .send()
            .await
            .unwrap();
        for r in got.records() {
            let d = r.dynamodb().unwrap();
            let image: Map<String, Value> = d
                .new_image()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), stream_value(v)?)))
                        .collect()
                })
                .unwrap_or_default();
            out.push(json!({
                "eventName": r.event_name().map(|e| e.as_str()).unwrap_or_default(),
                "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "SequenceNumber": d.sequence_number().unwrap(),
                    "NewImage": image,
                }
            }));
        }
    }
    out
}

/// The stream records whose item the table holds. moto appends a stream record for each put of
/// a `TransactWriteItems` even when the transaction is then cancelled and rolled back; DynamoDB
/// streams only committed writes. Audit items are never changed or deleted by the service, so
/// "still in the table" is "committed" for them; the other items are only there to show that
/// the handler ignores them.
async fn committed(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    records: Vec<Value>,
) -> Vec<Value> {
    let mut out = Vec::new();
    for r in records {
        let image = &r["dynamodb"]["NewImage"];
        if image["type"]["S"] != "audit" {
            out.push(r);
            continue;
        }
        let key = |k: &str| {
            aws_sdk_dynamodb::types::AttributeValue::S(image[k]["S"].as_str().unwrap_or("").into())
        };
        let found = client
            .get_item()
            .table_name(table)
            .key("pk", key("pk"))
            .key("sk", key("sk"))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .is_some();
        if found {
            out.push(r);
        }
    }
    out
}

/// A user's life through the API: created, a refused duplicate, deactivated, a refused PATCH
/// and a refused conditional PATCH, deleted, a refused second delete. Returns the user's id.
async fn lifecycle(t: &TestApp, user_name: &str) -> String {
    let created = t
        .call(Method::POST, "/Users", Some(user_body(user_name)))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = id_of(&created.body);
    t.call(Method::POST, "/Users", Some(user_body(user_name)))
        .await
        .assert_error(409, Some("uniqueness"));
    let path = format!("/Users/{id}");
    let off = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_eq!(t.call(Method::PATCH, &path, Some(off)).await.status, 200);
    let bad = patch_body(json!([{"op": "explode", "path": "active"}]));
    t.call(Method::PATCH, &path, Some(bad))
        .await
        .assert_error(400, Some("invalidSyntax"));
    let stale = t
        .send(
            t.request(Method::PATCH, &path)
                .header("if-match", "W/\"1\"")
                .header("content-type", "application/scim+json")
                .body(
                    patch_body(json!([{"op": "replace", "path": "title", "value": "x"}]))
                        .to_string()
                        .into(),
                )
                .unwrap(),
        )
        .await;
    stale.assert_error(412, None);
    assert_eq!(t.call(Method::DELETE, &path, None).await.status, 204);
    t.call(Method::DELETE, &path, None)
        .await
        .assert_error(404, None);
    id
}

/// The events of one user's [`lifecycle`]: create, deactivate, delete, at versions 1, 2, 3.
#[track_caller]
fn assert_lifecycle(details: &[Value], id: &str, tenant: &str) {
    let uris: Vec<String> = details
        .iter()
        .map(|d| {
            d["events"]
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap()
                .clone()
        })
        .collect();
    assert_eq!(
        uris,
        [
            format!("{PREFIX}create:notice"),
            format!("{PREFIX}deactivate"),
            format!("{PREFIX}delete")
        ]
    );
    let versions: Vec<u64> = details
        .iter()
        .map(|d| d["resource_version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2, 3]);
    let jtis: HashSet<&str> = details.iter().map(|d| d["jti"].as_str().unwrap()).collect();
    assert_eq!(jtis.len(), 3, "each event its own jti");
    for (d, uri) in details.iter().zip(&uris) {
        assert_eq!(
            d["sub_id"],
            json!({"format": "scim", "uri": format!("/Users/{id}")})
        );
        assert_eq!(d["tenant"], tenant);
        assert!(d["txn"].as_str().is_some_and(|t| !t.is_empty()), "{d}");
        assert!(d["iat"].as_i64().unwrap() > 1_700_000_000);
        let version = format!("W/\"{}\"", d["resource_version"]);
        assert_eq!(d["events"][uri]["version"], version);
    }
}

#[tokio::test]
async fn committed_changes_reach_the_bus_once_each_and_replay_reproduces_them() {
    let fx = dynamo_fixture().await;
    let (client, table) = (fx.client.clone(), fx.table.clone());
    let store: Arc<dyn scim_server::store::Store> = Arc::new(fx.store);
    let acme = new_app_for_tenant(Arc::clone(&store), "acme");
    let beta = new_app_for_tenant(Arc::clone(&store), "beta");
    let f = feed().await;
    let since = scim_server::scim::resource::now_rfc3339();

    let id = lifecycle(&acme, "ev@example.com").await;
    // Another tenant's change: its own event, with its own tenant.
    let other = beta
        .call(Method::POST, "/Users", Some(user_body("ev@example.com")))
        .await;
    assert_eq!(other.status, 201);

    let records = committed(&client, &table, stream_records(&client, &table).await).await;
    let audit_records = records
        .iter()
        .filter(|r| r["dynamodb"]["NewImage"]["type"]["S"] == "audit")
        .count();
    assert_eq!(audit_records, 4, "one audit item per committed change");
    assert!(
        records.len() > audit_records,
        "the stream also holds the other items"
    );
    let batch: StreamEvent = serde_json::from_value(json!({ "Records": records })).unwrap();
    let publisher = Publisher::new(&sdk_config().await, &f.bus, Some(&f.dlq_url));
    let answer = stream::handle(&publisher, SOURCE, batch).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");

    let mut received = drain(&f.sqs, &f.queue_url, 4).await;
    assert_eq!(received.len(), 4, "exactly one event per committed change");
    for m in &received {
        assert_eq!(m["source"], SOURCE);
        let uri = m["detail"]["events"]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        assert_eq!(
            m["detail-type"],
            uri.as_str(),
            "detail-type names the event"
        );
    }
    received.sort_by_key(|m| m["detail"]["resource_version"].as_u64());
    let (acme_events, beta_events): (Vec<Value>, Vec<Value>) = received
        .into_iter()
        .map(|m| m["detail"].clone())
        .partition(|d| d["tenant"] == "acme");
    assert_lifecycle(&acme_events, &id, "acme");
    assert_eq!(beta_events.len(), 1);
    assert_eq!(
        beta_events[0]["sub_id"]["uri"],
        format!("/Users/{}", id_of(&other.body))
    );
    assert!(
        drain(&f.sqs, &f.dlq_url, 0).await.is_empty(),
        "nothing dead-lettered"
    );

    // The replay command reproduces them from the audit trail: same JSON, same jti.
    let replay = [
        "events", "replay", "--tenant", "acme", "--since", &since, "--table", &table,
    ];
    let printed = scimctl(&[&replay[..], &["--dry-run"]].concat());
    let replayed: Vec<Value> = printed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(replayed, acme_events);

    // And publishing the replay puts the same events on the bus again.
    scimctl(&[&replay[..], &["--bus", &f.bus]].concat());
    let mut again: Vec<Value> = drain(&f.sqs, &f.queue_url, 3)
        .await
        .into_iter()
        .map(|m| m["detail"].clone())
        .collect();
    again.sort_by_key(|d| d["resource_version"].as_u64());
    assert_eq!(again, acme_events);
    f.events.delete_event_bus().name(&f.bus).send().await.ok();
}

fn record(id: &str, version: u64) -> AuditRecord {
    AuditRecord::new(
        &TenantId::parse("acme").unwrap(),
        &Actor::system(),
        ResourceKind::User,
        id,
        Action::Deactivate,
        vec!["active".into()],
    )
    .at_version(scim_server::scim::resource::Version::new(version))
}

#[tokio::test]
async fn a_failing_publish_is_retried_then_dead_lettered() {
    let f = feed().await;
    let sdk = sdk_config().await;
    let calls = CallCounter::new();
    let events = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    // A bus that does not exist: every PutEvents fails.
    let publisher = Publisher::with_clients(events, sqs, "no-such-bus", Some(&f.dlq_url))
        .with_backoff(Duration::from_millis(1));
    let evs: Vec<_> = [record("u1", 2), record("u2", 5)]
        .iter()
        .flat_map(|r| events_of(r, SOURCE))
        .collect();
    let outcome = publisher.publish(&evs).await;
    assert_eq!(
        (
            outcome.published,
            outcome.dead_lettered,
            outcome.undelivered.len()
        ),
        (0, 2, 0)
    );
    let puts = calls.take().iter().filter(|c| *c == "PutEvents").count();
    assert_eq!(puts, PUT_ATTEMPTS as usize, "retried before giving up");
    let dead = drain(&f.sqs, &f.dlq_url, 2).await;
    assert_eq!(dead.len(), 2);
    let jtis: HashSet<String> = dead
        .iter()
        .map(|m| {
            assert_eq!(m["EventBusName"], "no-such-bus");
            assert_eq!(m["DetailType"], format!("{PREFIX}deactivate"));
            let d: Value = serde_json::from_str(m["Detail"].as_str().unwrap()).unwrap();
            d["jti"].as_str().unwrap().to_owned()
        })
        .collect();
    let want: HashSet<String> = evs
        .iter()
        .map(|e| e.detail["jti"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(jtis, want, "the dead letters are the events, for a redrive");
}

#[tokio::test]
async fn only_undeliverable_records_are_named_in_the_partial_batch_response() {
    let sdk = sdk_config().await;
    // Neither the bus nor the dead-letter queue exists: the events reach nothing.
    let publisher = Publisher::new(&sdk, "no-such-bus", Some("http://127.0.0.1:1/none"))
        .with_backoff(Duration::from_millis(1));
    let audit_image = |r: &AuditRecord| json!({"type": {"S": "audit"}, "sk": {"S": "x"}, "record": {"S": serde_json::to_string(r).unwrap()}});
    let batch: StreamEvent = serde_json::from_value(json!({"Records": [
        {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "100", "NewImage": {"type": {"S": "User"}}}},
        {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "101", "NewImage": audit_image(&record("a", 1))}},
        {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "102", "NewImage": {"type": {"S": "audit"}, "record": {"S": "not json"}}}},
        {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "103", "NewImage": audit_image(&record("b", 1))}},
    ]}))
    .unwrap();
    let answer = stream::handle(&publisher, SOURCE, batch).await;
    let ids: Vec<&str> = answer
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    // Not the user item (no event), not the unreadable record (skipped, logged): the two audit
    // records whose events reached nothing, so Lambda retries from 101.
    assert_eq!(ids, ["101", "103"]);
    assert_eq!(
        serde_json::to_value(&answer).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "101"}, {"itemIdentifier": "103"}]})
    );
}

fn local_config(file: &std::path::Path, mode: EventMode) -> Config {
    Config {
        events: EventsConfig {
            mode,
            file: Some(file.to_owned()),
            ..EventsConfig::default()
        },
        ..Config::default()
    }
}

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The local server's app with the embedded store and `SCIM_EVENTS_FILE` (built by the same
/// `runtime::build` as `make run`), as a `TestApp`.
async fn local_app(config: &Config) -> TestApp {
    let built = scim_server::runtime::build(config, "http").await.unwrap();
    let tokens = built.embedded_tokens.clone().unwrap();
    let tenant = TenantId::parse("local").unwrap();
    let token =
        secrecy::ExposeSecret::expose_secret(&tokens.generate(&tenant, None).unwrap()).to_owned();
    TestApp {
        app: built.app,
        tokens,
        token,
        tenant,
        store: Arc::new(scim_server::store::MemoryStore::new()),
    }
}

#[tokio::test]
async fn the_local_feed_writes_the_same_events_to_a_file() {
    let path = std::env::temp_dir().join(format!("scim-events-{}.jsonl", uuid::Uuid::new_v4()));
    let t = local_app(&local_config(&path, EventMode::Notice)).await;
    let id = lifecycle(&t, "local@example.com").await;
    let details = lines(&path);
    assert_lifecycle(&details, &id, "local");
    std::fs::remove_file(&path).ok();
}

#[tokio::test]
async fn full_events_carry_the_values_but_never_a_password() {
    let path = std::env::temp_dir().join(format!("scim-events-{}.jsonl", uuid::Uuid::new_v4()));
    let t = local_app(&local_config(&path, EventMode::Full)).await;
    let mut body = user_body("full@example.com");
    body["password"] = json!("Sup3r-secret-pw");
    body["title"] = json!("Engineer");
    let created = t.call(Method::POST, "/Users", Some(body)).await;
    assert_eq!(created.status, 201);
    let path_of = format!("/Users/{}", id_of(&created.body));
    let retitle = patch_body(json!([{"op": "replace", "path": "title", "value": "Lead"}]));
    assert_eq!(
        t.call(Method::PATCH, &path_of, Some(retitle)).await.status,
        200
    );
    let details = lines(&path);
    assert_eq!(details.len(), 2);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("Sup3r-secret-pw"),
        "never a password: {text}"
    );
    assert!(!text.contains("\"password\""), "{text}");
    let create = &details[0]["events"][format!("{PREFIX}create:full")]["data"];
    assert_eq!(create["userName"], "full@example.com");
    assert_eq!(create["title"], "Engineer");
    let patch = &details[1]["events"][format!("{PREFIX}patch:full")]["data"];
    assert_eq!(
        patch["Operations"],
        json!([{"op": "replace", "path": "title", "value": "Lead"}])
    );
    std::fs::remove_file(&path).ok();
}

#[tokio::test]
async fn the_local_feed_stays_empty_without_changes_and_refuses_a_bad_path() {
    // A file that cannot be opened stops start-up, naming the variable.
    let bad = local_config(
        std::path::Path::new("/nonexistent-dir/x.jsonl"),
        EventMode::Notice,
    );
    let err = scim_server::runtime::build(&bad, "http")
        .await
        .err()
        .unwrap();
    assert!(err.0.contains("SCIM_EVENTS_FILE"), "{err}");
    // With DynamoDB the feed is the stream: a file would miss other processes' changes.
    let mut both = local_config(std::path::Path::new("/tmp/x.jsonl"), EventMode::Notice);
    both.table_name = Some("t".into());
    let err = scim_server::runtime::build(&both, "http")
        .await
        .err()
        .unwrap();
    assert!(err.0.contains("SCIM_EVENTS_FILE"), "{err}");
}

#[tokio::test]
async fn concurrent_member_additions_give_one_event_each_with_distinct_versions() {
    let path = std::env::temp_dir().join(format!("scim-events-{}.jsonl", uuid::Uuid::new_v4()));
    let t = Arc::new(local_app(&local_config(&path, EventMode::Notice)).await);
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(id_of(&t.create_user(&format!("m{i}@example.com")).await));
    }
    let group = crate::common::requests::create_group(&t, "Engineering", &[]).await;
    let gid = id_of(&group);
    // Eight IdP requests at once, each adding one member: none conflicts (unconditional adds).
    let tasks: Vec<_> = users
        .iter()
        .map(|u| {
            let (t, gid, u) = (Arc::clone(&t), gid.clone(), u.clone());
            tokio::spawn(async move {
                let add = json!([{"op": "add", "path": "members", "value": [{"value": u}]}]);
                let a = crate::common::requests::patch_group(&t, &gid, add).await;
                (a.status, a.body)
            })
        })
        .collect();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert!(status.is_success(), "{status}: {body}");
    }
    let group_events: Vec<Value> = lines(&path)
        .into_iter()
        .filter(|d| d["sub_id"]["uri"] == format!("/Groups/{gid}"))
        .collect();
    assert_eq!(
        group_events.len(),
        9,
        "the create and one event per addition"
    );
    let mut versions: Vec<u64> = group_events
        .iter()
        .map(|d| d["resource_version"].as_u64().unwrap())
        .collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        (1..=9).collect::<Vec<u64>>(),
        "each change its own version"
    );
    let mut added: Vec<String> = group_events
        .iter()
        .flat_map(|d| {
            d["events"][format!("{PREFIX}patch:notice")]["membersAdded"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    added.sort();
    users.sort();
    assert_eq!(added, users, "each added member named once");
    std::fs::remove_file(&path).ok();
}
