//! Asynchronous bulk on AWS: the API function sends each accepted job to an SQS queue
//! ([`SqsBulkQueue`]); the `scim-async` function consumes it ([`handle`]) and publishes the
//! completion events through the events publisher (retries, dead-letter queue).
//!
//! The same queue carries the follow-ups of large group writes (`store::follow_up`): a message
//! `{"followUp": job}` is run with [`DynamoStore::run_follow_up`] until the invocation's deadline
//! and what is left is sent to the queue again. Unlike a bulk job, a follow-up is idempotent: one
//! that fails is named in `batchItemFailures` and delivered again (at most 3 times, then the
//! dead-letter queue).
//!
//! A bulk job is never run twice on purpose: once started, its message is reported done whatever
//! became of its events (an operation that committed must not be repeated: a second POST would
//! conflict, a second PATCH `add` would duplicate). A job whose events reached neither the bus
//! nor the dead-letter queue is logged by txn. What is retried is a job not started: the handler
//! starts a job only if the function has time left for the whole bulk time budget.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::error::ScimError;
use crate::events::publish::Publisher;
use crate::events::stream::{BatchResponse, ItemFailure};
use crate::service::async_bulk::{BulkJob, BulkQueue};
use crate::service::bulk::BULK_TIME_BUDGET;
use crate::service::ScimService;
use crate::store::follow_up::{FollowUpJob, FollowUpQueue};
use crate::store::{DynamoStore, StoreError};
use crate::tenant::TenantId;

/// The API's `SendMessage` deadline: connect 1 s, one attempt 2 s, all attempts 4 s, so the
/// answer stays inside the API function's 10 s.
fn timeouts() -> aws_sdk_sqs::config::timeout::TimeoutConfig {
    aws_sdk_sqs::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(4))
        .build()
}

/// The API side: accepted jobs to the queue at `url`.
pub struct SqsBulkQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl SqsBulkQueue {
    pub fn new(sdk: &aws_config::SdkConfig, url: &str) -> Self {
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(sdk)
                .timeout_config(timeouts())
                .build(),
        );
        SqsBulkQueue {
            sqs,
            url: url.to_owned(),
        }
    }
}

#[async_trait]
impl BulkQueue for SqsBulkQueue {
    async fn enqueue(&self, job: &BulkJob, encoded: &str) -> Result<(), ScimError> {
        match self
            .sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(encoded)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(txn = %job.txn, error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "cannot queue an asynchronous bulk request");
                Err(ScimError::unavailable(2))
            }
        }
    }
}

/// The body of a follow-up message (a bulk job's body has no `followUp`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FollowUpMessage {
    #[serde(rename = "followUp")]
    follow_up: FollowUpJob,
}

#[async_trait]
impl FollowUpQueue for SqsBulkQueue {
    async fn enqueue(&self, job: &FollowUpJob) -> Result<(), StoreError> {
        let body = serde_json::to_string(&FollowUpMessage {
            follow_up: job.clone(),
        })
        .map_err(|e| StoreError::Internal(format!("a follow-up cannot be encoded: {e}")))?;
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map(drop)
            .map_err(|e| {
                StoreError::Unavailable(format!(
                    "SendMessage: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                ))
            })
    }
}

/// The parts of Lambda's `SqsEvent` the consumer reads.
#[derive(Debug, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<SqsMessage>,
}

#[derive(Debug, Deserialize)]
pub struct SqsMessage {
    #[serde(rename = "messageId")]
    pub message_id: String,
    #[serde(default)]
    pub body: String,
}

/// Time a job may need besides the bulk budget: its last operation and the events' publication.
const JOB_MARGIN: Duration = Duration::from_secs(10);

/// Time a follow-up keeps after its deadline: the updates in flight, the page's batch deletes
/// and the `SendMessage` of what is left (4 s at most).
const FOLLOW_UP_MARGIN: Duration = Duration::from_secs(10);

/// The least time a follow-up is started with: less, and it is delivered again later.
const FOLLOW_UP_MIN: Duration = Duration::from_secs(5);

/// What the consumer runs messages with: the service (bulk jobs) and the store with its
/// follow-up queue (follow-ups; none: they are delivered again, for a consumer that has one).
pub struct Consumer<'a> {
    pub service: &'a ScimService,
    pub publisher: &'a Publisher,
    pub iss: &'a str,
    pub follow_ups: Option<&'a DynamoStore>,
}

/// Handle one SQS batch: run each job, publish its completion events. `deadline` is the
/// function's (none: no limit); jobs that could not be finished before it are not started and
/// are named in `batchItemFailures`, so SQS delivers them again. Follow-ups run until the
/// deadline (less [`FOLLOW_UP_MARGIN`]) and queue what is left.
pub async fn handle(
    consumer: &Consumer<'_>,
    batch: SqsEvent,
    deadline: Option<Instant>,
) -> BatchResponse {
    let mut failures = Vec::new();
    let count = batch.records.len();
    for (i, msg) in batch.records.into_iter().enumerate() {
        let retry = match read(&msg) {
            Message::Unreadable => false,
            Message::FollowUp(job) => {
                let until = deadline.map(|d| share(d, count - i));
                !run_follow_up(consumer, &msg, &job, until).await
            }
            Message::Bulk(_)
                if deadline.is_some_and(|d| Instant::now() + BULK_TIME_BUDGET + JOB_MARGIN > d) =>
            {
                true
            }
            Message::Bulk(job) => {
                run_bulk(consumer, &job).await;
                false
            }
        };
        if retry {
            failures.push(ItemFailure {
                item_identifier: msg.message_id,
            });
        }
    }
    BatchResponse {
        batch_item_failures: failures,
    }
}

enum Message {
    Bulk(Box<BulkJob>),
    FollowUp(FollowUpJob),
    Unreadable,
}

/// Tell the two kinds apart. Retrying cannot make a message readable: it is logged (id only,
/// never its content) and dropped.
fn read(msg: &SqsMessage) -> Message {
    let parsed = serde_json::from_str::<serde_json::Value>(&msg.body).and_then(|v| {
        if v.get("followUp").is_some() {
            serde_json::from_value::<FollowUpMessage>(v).map(|m| Message::FollowUp(m.follow_up))
        } else {
            serde_json::from_value::<BulkJob>(v).map(|j| Message::Bulk(Box::new(j)))
        }
    });
    match parsed {
        Ok(Message::FollowUp(job)) if TenantId::parse(&job.tenant).is_err() => {
            tracing::error!(message_id = %msg.message_id, "group follow-up names no valid tenant; dropped");
            Message::Unreadable
        }
        Ok(m) => m,
        Err(e) => {
            tracing::error!(message_id = %msg.message_id, error = %e, "unreadable asynchronous message; dropped");
            Message::Unreadable
        }
    }
}

async fn run_bulk(consumer: &Consumer<'_>, job: &BulkJob) {
    let Some(events) = super::run(consumer.service, job, consumer.iss).await else {
        return;
    };
    let outcome = consumer.publisher.publish(&events).await;
    if outcome.undelivered.is_empty() {
        tracing::info!(txn = %job.txn, events = events.len(), dead_lettered = outcome.dead_lettered, "asynchronous bulk done");
    } else {
        tracing::error!(txn = %job.txn, undelivered = outcome.undelivered.len(), "asynchronous bulk done, but completion events were lost");
    }
}

/// Run a follow-up until the deadline and queue what is left. `false`: SQS should deliver the
/// message again (not started for lack of time, or failed; the work is idempotent).
/// A follow-up's deadline: an equal share of the invocation's time (less [`FOLLOW_UP_MARGIN`])
/// among the `left` messages of the batch not yet handled, so that one follow-up does not leave
/// the others without time (each one deferred would count as a delivery towards the
/// dead-letter queue).
fn share(deadline: Instant, left: usize) -> Instant {
    let now = Instant::now();
    let end = deadline.checked_sub(FOLLOW_UP_MARGIN).unwrap_or(now);
    let parts = u32::try_from(left.max(1)).unwrap_or(u32::MAX);
    now + end.saturating_duration_since(now) / parts
}

/// Run a follow-up until `until` and queue what is left; with less than [`FOLLOW_UP_MIN`], the
/// job goes back to the queue as it is (a new message, not a failed delivery). `false`: SQS
/// should deliver the message again (failed; the work is idempotent).
async fn run_follow_up(
    consumer: &Consumer<'_>,
    msg: &SqsMessage,
    job: &FollowUpJob,
    until: Option<Instant>,
) -> bool {
    let Some(store) = consumer.follow_ups else {
        tracing::error!(message_id = %msg.message_id, "group follow-up received by a consumer without a store for them; left for another delivery");
        return false;
    };
    let (tenant, group_id, work) = (&job.tenant, &job.group_id, job.work.kind());
    let outcome = if until.is_some_and(|u| u < Instant::now() + FOLLOW_UP_MIN) {
        Ok(Some(job.clone()))
    } else {
        // Boxed: the follow-up's future is deep, and the consumer's own stays small.
        Box::pin(store.run_follow_up(job, until)).await
    };
    let rest = match outcome {
        Ok(None) => {
            tracing::info!(tenant = %tenant, group_id = %group_id, work, "group follow-up finished");
            return true;
        }
        Ok(Some(rest)) => rest,
        Err(e) => {
            tracing::error!(tenant = %tenant, group_id = %group_id, work, after = job.after.as_deref().unwrap_or(""), error = %e, "group follow-up failed; the message is delivered again");
            return false;
        }
    };
    let after = rest.after.as_deref().unwrap_or("");
    match store.enqueue_follow_up(&rest).await {
        Ok(()) => {
            tracing::info!(tenant = %tenant, group_id = %group_id, work, after, "group follow-up continued in a new message");
            true
        }
        Err(e) => {
            tracing::error!(tenant = %tenant, group_id = %group_id, work, after, error = %e, "what is left of a group follow-up cannot be queued; the message is delivered again");
            false
        }
    }
}
