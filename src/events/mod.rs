//! SCIM events: every committed change, as an RFC 9967 Security Event Token (RFC 8417), built
//! from the change's audit record (the source of truth: one committed change, one record, one
//! event; nothing refused or rolled back has a record).
//!
//! - `set.rs`: the event format (pure: a record in, the SET claims out).
//! - `sink.rs`: the local feed (`SCIM_EVENTS_FILE`): each event's `detail`, one JSON line each.
//! - `publish.rs`: EventBridge `PutEvents` in batches, retries, the SQS dead-letter queue.
//! - `stream.rs`: the DynamoDB stream handler's core (`src/bin/scim-events.rs` is the binary).
//! - `asyncresp.rs`: the completion events of asynchronous bulk requests (RFC 9967 §3).
//! - `replay.rs`: republishing a tenant's audit trail (`scimctl events replay`).
//!
//! The SETs are not signed: they travel inside the AWS account (EventBridge authenticates and
//! authorises every publisher and rule), so RFC 8417 §2.1's unsecured JWT form is used, as a
//! plain JSON object in the EventBridge entry's `detail`.

pub mod asyncresp;
pub mod publish;
pub mod replay;
pub mod set;
pub mod sink;
pub mod stream;

pub use set::{events_of, Event, SOURCE};

/// The `iss` of this deployment's events: its public base URL when configured, else [`SOURCE`].
pub fn issuer(config: &crate::config::Config) -> String {
    config
        .public_base_url
        .clone()
        .unwrap_or_else(|| SOURCE.to_owned())
}
