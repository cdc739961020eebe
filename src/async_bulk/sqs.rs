//! Asynchronous bulk on AWS: the API function sends each accepted job to an SQS queue
//! ([`SqsBulkQueue`]); the `scim-async` function consumes it ([`handle`]) and publishes the
//! completion events through the events publisher (retries, dead-letter queue).
//!
//! A job is never run twice on purpose: once started, its message is reported done whatever
//! became of its events (an operation that committed must not be repeated: a second POST would
//! conflict, a second PATCH `add` would duplicate). A job whose events reached neither the bus
//! nor the dead-letter queue is logged by txn. What is retried is a job not started: the handler
//! starts a job only if the function has time left for the whole bulk time budget.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use tokio::time::Instant;

use crate::error::ScimError;
use crate::events::publish::Publisher;
use crate::events::stream::{BatchResponse, ItemFailure};
use crate::service::async_bulk::{BulkJob, BulkQueue};
use crate::service::bulk::BULK_TIME_BUDGET;
use crate::service::ScimService;

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

/// Handle one SQS batch: run each job, publish its completion events. `deadline` is the
/// function's (none: no limit); jobs that could not be finished before it are not started and
/// are named in `batchItemFailures`, so SQS delivers them again.
pub async fn handle(
    service: &ScimService,
    publisher: &Publisher,
    iss: &str,
    batch: SqsEvent,
    deadline: Option<Instant>,
) -> BatchResponse {
    let mut failures = Vec::new();
    for msg in batch.records {
        if deadline.is_some_and(|d| Instant::now() + BULK_TIME_BUDGET + JOB_MARGIN > d) {
            failures.push(ItemFailure {
                item_identifier: msg.message_id,
            });
            continue;
        }
        let job: BulkJob = match serde_json::from_str(&msg.body) {
            Ok(j) => j,
            Err(e) => {
                // Retrying cannot make it readable: logged (id only) and dropped.
                tracing::error!(message_id = %msg.message_id, error = %e, "unreadable asynchronous bulk job; dropped");
                continue;
            }
        };
        let Some(events) = super::run(service, &job, iss).await else {
            continue;
        };
        let outcome = publisher.publish(&events).await;
        if outcome.undelivered.is_empty() {
            tracing::info!(txn = %job.txn, events = events.len(), dead_lettered = outcome.dead_lettered, "asynchronous bulk done");
        } else {
            tracing::error!(txn = %job.txn, undelivered = outcome.undelivered.len(), "asynchronous bulk done, but completion events were lost");
        }
    }
    BatchResponse {
        batch_item_failures: failures,
    }
}
