//! The local server's asynchronous bulk queue: jobs go to one spawned task, which runs them in
//! the order accepted (as one SQS consumer with batch size 1 would) and appends their completion
//! events to the local feed (`SCIM_EVENTS_FILE`), next to the provisioning events.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::error::ScimError;
use crate::events::sink::FileSink;
use crate::service::async_bulk::{BulkJob, BulkQueue};
use crate::service::ScimService;

/// Sends jobs to the worker task.
pub struct LocalBulkQueue {
    jobs: mpsc::UnboundedSender<BulkJob>,
}

impl LocalBulkQueue {
    /// Spawn the worker (on the current Tokio runtime): it runs jobs with `service` (over the
    /// same store as the API) and writes their events to `sink` (none: they are only logged).
    pub fn spawn(service: ScimService, sink: Option<Arc<FileSink>>, iss: String) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<BulkJob>();
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                let Some(events) = super::run(&service, &job, &iss).await else {
                    continue;
                };
                tracing::info!(txn = %job.txn, events = events.len(), "asynchronous bulk done");
                if let Some(sink) = &sink {
                    sink.write_events(&events);
                }
            }
        });
        LocalBulkQueue { jobs: tx }
    }
}

#[async_trait]
impl BulkQueue for LocalBulkQueue {
    async fn enqueue(&self, job: &BulkJob, _encoded: &str) -> Result<(), ScimError> {
        // The worker only stops with the runtime; if it has, the job cannot run: 503.
        self.jobs
            .send(job.clone())
            .map_err(|_| ScimError::unavailable(1))
    }
}
