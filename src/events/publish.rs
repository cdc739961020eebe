//! Publishing events to the EventBridge bus: `PutEvents` in batches (at most 10 entries and
//! 256 KB a call, EventBridge's limits), entries that fail retried with backoff, and what still
//! fails after [`PUT_ATTEMPTS`] sent to the SQS dead-letter queue with the whole entry, so an
//! operator can redrive it as it was (same `jti`). Only an event that reached neither is reported
//! back as undelivered: the stream handler then names its stream record in the partial batch
//! response, and Lambda retries that record.

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::json;

use super::set::{Event, SOURCE};
use crate::retry;

/// Attempts per entry (the first one included) before it goes to the dead-letter queue.
pub const PUT_ATTEMPTS: u32 = 4;
/// Entries per `PutEvents` call (EventBridge's limit).
const MAX_BATCH_ENTRIES: usize = 10;
/// Bytes per `PutEvents` call (EventBridge's limit is 256 KB; entries are sized by their
/// `detail`, `detail-type` and `source`, plus framing).
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Every AWS call of the stream handler has a deadline: connect 1 s, one attempt 3 s, the
/// operation 6 s (retries included), well inside the function's 60 s timeout even for a batch
/// of 100 records.
fn timeouts() -> aws_sdk_eventbridge::config::timeout::TimeoutConfig {
    aws_sdk_eventbridge::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(6))
        .build()
}

/// What became of a list of events, by index.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub published: usize,
    pub dead_lettered: usize,
    /// Indices of events that reached neither the bus nor the dead-letter queue.
    pub undelivered: Vec<usize>,
}

/// The EventBridge publisher with its dead-letter queue.
pub struct Publisher {
    events: aws_sdk_eventbridge::Client,
    sqs: aws_sdk_sqs::Client,
    bus: String,
    dlq_url: Option<String>,
    /// First pause between attempts (doubled each time, full jitter).
    backoff: Duration,
}

impl Publisher {
    /// A publisher to `bus` (name or ARN), dead-lettering to `dlq_url` (none: undelivered events
    /// are left to Lambda's retries).
    pub fn new(sdk: &aws_config::SdkConfig, bus: &str, dlq_url: Option<&str>) -> Self {
        let events = aws_sdk_eventbridge::Client::from_conf(
            aws_sdk_eventbridge::config::Builder::from(sdk)
                .timeout_config(timeouts())
                .build(),
        );
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(sdk)
                .timeout_config(timeouts())
                .build(),
        );
        Self::with_clients(events, sqs, bus, dlq_url)
    }

    /// A publisher on given clients (tests attach a call counter to them).
    pub fn with_clients(
        events: aws_sdk_eventbridge::Client,
        sqs: aws_sdk_sqs::Client,
        bus: &str,
        dlq_url: Option<&str>,
    ) -> Self {
        Publisher {
            events,
            sqs,
            bus: bus.to_owned(),
            dlq_url: dlq_url.map(str::to_owned),
            backoff: Duration::from_millis(50),
        }
    }

    /// Publish `events`; see the module documentation.
    pub async fn publish(&self, events: &[Event]) -> Outcome {
        let mut out = Outcome::default();
        let mut failed = Vec::new();
        for batch in batches(events) {
            let mut pending = batch;
            for attempt in 0..PUT_ATTEMPTS {
                if pending.is_empty() {
                    break;
                }
                if attempt > 0 {
                    retry::backoff(attempt - 1, self.backoff, self.backoff * 8).await;
                }
                let (ok, retry) = self.put(events, &pending).await;
                out.published += ok;
                pending = retry;
            }
            failed.extend(pending);
        }
        for i in failed {
            if self.dead_letter(&events[i]).await {
                out.dead_lettered += 1;
            } else {
                out.undelivered.push(i);
            }
        }
        out
    }

    /// One `PutEvents` of the events at `indices`: how many were accepted, and the indices to
    /// try again.
    async fn put(&self, events: &[Event], indices: &[usize]) -> (usize, Vec<usize>) {
        let entries: Vec<PutEventsRequestEntry> =
            indices.iter().map(|i| self.entry(&events[*i])).collect();
        let answer = self
            .events
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await;
        match answer {
            Err(e) => {
                tracing::warn!(error = %aws_sdk_eventbridge::error::DisplayErrorContext(&e), entries = indices.len(), "PutEvents failed");
                (0, indices.to_vec())
            }
            Ok(a) => {
                // Result entries are in request order (EventBridge PutEvents API reference).
                let results = a.entries();
                let mut retry = Vec::new();
                for (n, i) in indices.iter().enumerate() {
                    let failed = results
                        .get(n)
                        .is_none_or(|r| r.error_code().is_some() || r.event_id().is_none());
                    if failed {
                        if let Some(r) = results.get(n) {
                            tracing::warn!(
                                code = r.error_code().unwrap_or("-"),
                                "an event entry was refused"
                            );
                        }
                        retry.push(*i);
                    }
                }
                (indices.len() - retry.len(), retry)
            }
        }
    }

    fn entry(&self, e: &Event) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(&e.detail_type)
            .detail(e.detail.to_string())
            .build()
    }

    /// Send an event that could not be published to the dead-letter queue, with everything
    /// needed to publish it again. False if there is no queue or it refused.
    async fn dead_letter(&self, e: &Event) -> bool {
        let Some(url) = &self.dlq_url else {
            return false;
        };
        let body = json!({
            "EventBusName": self.bus,
            "Source": SOURCE,
            "DetailType": e.detail_type,
            "Detail": e.detail.to_string(),
        });
        match self
            .sqs
            .send_message()
            .queue_url(url)
            .message_body(body.to_string())
            .send()
            .await
        {
            Ok(_) => {
                tracing::error!(jti = %e.detail["jti"], "event sent to the dead-letter queue after {PUT_ATTEMPTS} attempts");
                true
            }
            Err(err) => {
                tracing::error!(jti = %e.detail["jti"], error = %aws_sdk_sqs::error::DisplayErrorContext(&err), "dead-letter queue refused an event");
                false
            }
        }
    }

    /// The same publisher with a shorter first pause (tests).
    pub fn with_backoff(mut self, first: Duration) -> Self {
        self.backoff = first;
        self
    }
}

/// Indices of `events` grouped into `PutEvents` calls within EventBridge's limits, in order.
fn batches(events: &[Event]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut bytes = 0;
    for (i, e) in events.iter().enumerate() {
        let size = e.detail.to_string().len() + e.detail_type.len() + SOURCE.len() + 64;
        match out.last_mut() {
            Some(b) if b.len() < MAX_BATCH_ENTRIES && bytes + size <= MAX_BATCH_BYTES => {
                b.push(i);
                bytes += size;
            }
            _ => {
                out.push(vec![i]);
                bytes = size;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(bytes: usize) -> Event {
        Event {
            detail_type: "t".into(),
            detail: json!({"x": "a".repeat(bytes)}),
        }
    }

    #[test]
    fn batches_keep_order_and_eventbridge_limits() {
        let small: Vec<Event> = (0..23).map(|_| event(10)).collect();
        let b = batches(&small);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 3]);
        assert_eq!(b.concat(), (0..23).collect::<Vec<_>>());
        let big: Vec<Event> = (0..3).map(|_| event(100 * 1024)).collect();
        assert_eq!(
            batches(&big).iter().map(Vec::len).collect::<Vec<_>>(),
            [2, 1]
        );
    }
}
