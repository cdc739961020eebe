//! Asynchronous `/Bulk` (RFC 9967 §3) outside the service: where accepted jobs wait and who runs
//! them. The service (`service::async_bulk`) decides what a job is and runs it; this module
//! carries it and publishes its completion events (`events::asyncresp`).
//!
//! - `sqs.rs`: on AWS, the API function's queue (SQS `SendMessage`), and the core of the
//!   `scim-async` consumer (`src/bin/scim-async.rs`): an SQS batch in, completion events on the
//!   EventBridge bus out, with a partial batch response.
//! - `local.rs`: the local server's queue: a spawned task, events to `SCIM_EVENTS_FILE`.

pub mod local;
pub mod sqs;

use crate::events::asyncresp::completion_events;
use crate::events::Event;
use crate::service::async_bulk::BulkJob;
use crate::service::ScimService;

/// Run `job` and return its completion events; `None` when the job cannot be read (it was not
/// written by the API: nothing is run, and it is logged without its content).
pub async fn run(service: &ScimService, job: &BulkJob, iss: &str) -> Option<Vec<Event>> {
    match service.run_bulk_job(job).await {
        Ok(outcomes) => {
            let ops: Vec<(usize, serde_json::Value)> = outcomes
                .into_iter()
                .map(|o| (o.index, o.operation))
                .collect();
            Some(completion_events(&job.txn, &job.tenant, iss, &ops))
        }
        Err(e) => {
            tracing::error!(txn = %job.txn, error = %e.detail(), "asynchronous bulk job refused; nothing run");
            None
        }
    }
}
