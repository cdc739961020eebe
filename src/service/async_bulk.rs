//! Asynchronous `/Bulk` (RFC 9967 §3, `Prefer: respond-async`, RFC 7240 §4.1): the service
//! accepts a BulkRequest, hands it to a [`BulkQueue`] and answers at once; whoever takes the job
//! off the queue runs it through [`ScimService::run_bulk_job`], the same code as the synchronous
//! path (each operation atomic, with its own audit record), and publishes the completion events.
//!
//! The job carries the tenant and actor as the API verified them: the consumer never derives
//! the tenant from the request body, so a request can only act in its token's tenant.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::bulk::{bulk_response, BULK_MAX_OPERATIONS};
use super::{Caller, ScimService};
use crate::audit::Actor;
use crate::error::ScimError;
use crate::scim::bulk;
use crate::tenant::TenantId;

/// The largest job a queue takes: SQS takes a message of at most 256 KiB (SendMessage API
/// reference), and the job's envelope (tenant, actor, base URL) needs well under 4 KiB.
pub const MAX_ASYNC_JOB_BYTES: usize = 256 * 1024;

/// An accepted asynchronous BulkRequest, as it travels on the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkJob {
    /// The tenant of the verified token.
    pub tenant: String,
    /// The transaction id: the request id of the accepting request, sent as `Set-Txn` and
    /// carried by the completion events as `txn` (RFC 9967 §3).
    pub txn: String,
    pub token_id: String,
    pub idp: String,
    /// `https://host/scim/v2`, for the operations' `location`.
    pub base: String,
    /// The BulkRequest message as the client sent it (already checked by the API).
    pub body: Value,
}

impl BulkJob {
    /// The caller the job's operations run as: the tenant and actor the API recorded.
    pub fn caller(&self) -> Result<Caller, ScimError> {
        let tenant = TenantId::parse(&self.tenant)
            .map_err(|e| ScimError::invalid_value(format!("job tenant: {e}")))?;
        Ok(Caller {
            tenant,
            actor: Actor {
                request_id: self.txn.clone(),
                token_id: self.token_id.clone(),
                idp: self.idp.clone(),
            },
        })
    }
}

/// Where accepted jobs go: an SQS queue on AWS, a spawned task locally.
#[async_trait]
pub trait BulkQueue: Send + Sync {
    /// Store `job` durably enough that it will be run. An error is the client's answer (503 when
    /// the queue cannot be reached).
    async fn enqueue(&self, job: &BulkJob, encoded: &str) -> Result<(), ScimError>;
}

/// One operation's result in an asynchronous bulk: its position in the request (0-based, RFC
/// 9967 §3 numbers completion events by it) and its BulkResponse operation (RFC 7644 §3.7.3).
#[derive(Debug, Clone, PartialEq)]
pub struct AsyncOutcome {
    pub index: usize,
    pub operation: Value,
}

impl ScimService {
    /// Whether `Prefer: respond-async` can be honoured (a queue is configured); without one the
    /// preference is ignored, as RFC 7240 §2 allows, and the request runs synchronously.
    pub fn accepts_async_bulk(&self) -> bool {
        self.bulk_queue.is_some()
    }

    /// Accept a BulkRequest to run later: it is checked now (a malformed request is answered
    /// 400 at once, and changes nothing), then queued. Returns the transaction id.
    pub async fn accept_bulk(
        &self,
        caller: &Caller,
        base: &str,
        body: &Value,
    ) -> Result<String, ScimError> {
        let Some(queue) = &self.bulk_queue else {
            return Err(ScimError::internal());
        };
        bulk::parse(body, BULK_MAX_OPERATIONS)?;
        // A fresh id, not the request id: a client may choose its `X-Request-Id`, and a `txn`
        // must name one transaction only (RFC 8417 §2.2).
        let txn = uuid::Uuid::new_v4().simple().to_string();
        let job = BulkJob {
            tenant: caller.tenant.as_str().to_owned(),
            txn,
            token_id: caller.actor.token_id.clone(),
            idp: caller.actor.idp.clone(),
            base: base.to_owned(),
            body: body.clone(),
        };
        // A `Value` of a parsed request always serialises.
        let encoded = serde_json::to_string(&job).unwrap_or_default();
        if encoded.len() > MAX_ASYNC_JOB_BYTES {
            // RFC 7644 §3.7.4 answers a body past the limit with 413; the queue's limit is
            // smaller than maxPayloadSize, so an asynchronous request meets it first.
            return Err(ScimError::payload_too_large(MAX_ASYNC_JOB_BYTES - 4 * 1024)
                .within("asynchronous bulk requests are limited by the queue's message size"));
        }
        queue.enqueue(&job, &encoded).await?;
        Ok(job.txn)
    }

    /// Run an accepted job: the operations' results in request order. An error means the job
    /// itself cannot be read (it was not written by the API): nothing is run.
    pub async fn run_bulk_job(&self, job: &BulkJob) -> Result<Vec<AsyncOutcome>, ScimError> {
        let caller = job.caller()?;
        let request = bulk::parse(&job.body, BULK_MAX_OPERATIONS)?;
        let mut outcomes = self.bulk(&caller, &request).await;
        outcomes.sort_by_key(|o| o.index);
        let indices: Vec<usize> = outcomes.iter().map(|o| o.index).collect();
        let response = bulk_response(&job.base, &outcomes);
        let ops = response["Operations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(indices
            .into_iter()
            .zip(ops)
            .map(|(index, operation)| AsyncOutcome { index, operation })
            .collect())
    }
}
