//! The service layer: SCIM operations on resources, between the transport and the store.
//!
//! It decides everything about a request that is not HTTP: what to read (a user's `groups` and a
//! group's `members` only when the answer shows them), what to write (conditional on the version
//! read, retried on a lost race unless the client sent `If-Match`), the [`AuditRecord`] of each
//! change, and how a list is answered (direct look-ups for indexed equality filters, paging). It
//! knows nothing of HTTP, and nothing of which store it talks to.
//!
//! - `users.rs`, `groups.rs`: the operations of each resource type.
//! - `memberships.rs`: member checks and diffs, a user's `groups`, filters on either side.
//! - `listing.rs`: what users and groups share: reads, bounded scans, look-ups, list planning.
//! - `plan.rs`: which filters are look-ups (index hints).
//! - `paging.rs`: list queries, pages, offset cursors.
//! - `write.rs`: the conditional-write loop (`If-Match`, retries, backoff) and deletes.
//! - `search.rs`: `POST /.search` across both types.

pub mod groups;
mod listing;
mod memberships;
pub mod paging;
mod plan;
mod search;
pub mod users;
mod write;

use std::sync::Arc;

use crate::audit::{Action, Actor, AuditRecord};
use crate::error::ScimError;
use crate::scim::resource::Version;
use crate::scim::schema::ResourceKind;
use crate::store::{Store, StoreError};
use crate::tenant::TenantId;

pub use groups::{GroupList, GroupView, MAX_MEMBERS_PER_RESPONSE};
pub use paging::{ListQuery, ListResult};
pub use search::SearchResult;
pub use users::{UserList, UserView};

/// Largest page a client can ask for (advertised as `filter.maxResults`).
pub const MAX_PAGE_SIZE: usize = 200;
/// Page size when the client gives no `count` (RFC 7644 §3.4.2.4 leaves it to the provider).
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Most resources a filter without an indexed equality may be evaluated over before the answer
/// is 400 `tooMany` instead of a slow or partial result.
pub const FILTER_EVALUATION_LIMIT: usize = 10_000;

/// Most member ids read to compute over a whole member list (a PUT's diff, a removal by a
/// general filter, `GET /Users?filter=groups.value eq "id"`): 100,000 ids are a few MB.
pub const MEMBER_SCAN_LIMIT: usize = 100_000;

/// Who asks: the tenant (from the verified token only) and the actor its changes are recorded
/// under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: TenantId,
    pub actor: Actor,
}

impl Caller {
    /// The audit record of a change this caller makes now.
    fn record(
        &self,
        kind: ResourceKind,
        id: &str,
        action: Action,
        changed: Vec<String>,
    ) -> AuditRecord {
        AuditRecord::new(&self.tenant, &self.actor, kind, id, action, changed)
    }
}

/// A read that may be answered with "not modified" (`If-None-Match`, RFC 7232 §3.2).
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched<T> {
    Found(T),
    /// The client's copy is current: this is its version (for the `ETag`).
    NotModified(Version),
}

pub struct ScimService {
    /// One store holds users, groups and memberships (one DynamoDB table).
    store: Arc<dyn Store>,
    /// Keep the changed attributes' new values in audit records, for `full` events
    /// (`SCIM_EVENTS_MODE=full`); off by default, so the audit trail holds no personal data.
    record_values: bool,
}

impl ScimService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        ScimService {
            store,
            record_values: false,
        }
    }

    /// The same service, keeping changed values in audit records when `on` (`full` events).
    pub fn with_recorded_values(mut self, on: bool) -> Self {
        self.record_values = on;
        self
    }

    /// `record` of a change that left the resource at `version` with `after` as its attributes:
    /// with the changed values when the deployment publishes `full` events.
    fn versioned(
        &self,
        record: AuditRecord,
        version: Version,
        after: &serde_json::Map<String, serde_json::Value>,
    ) -> AuditRecord {
        let record = record.at_version(version);
        if self.record_values {
            record.with_values(after)
        } else {
            record
        }
    }
}

/// `User 42 not found.`: the id is the client's own path segment; echoing it helps the admin
/// match the error.
fn not_found(kind: ResourceKind, id: &str) -> ScimError {
    let shown: String = id.chars().take(80).collect();
    ScimError::not_found(format!("{} {shown} not found.", kind.name()))
}

/// A store failure that the caller did not handle itself, as the client's answer.
impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Uniqueness(attr) => ScimError::uniqueness(format!(
                "Another resource in this tenant already has this {}. Values must be unique (userName is compared case-insensitively).",
                attr.scim_name()
            )),
            StoreError::VersionConflict => ScimError::precondition_failed(),
            StoreError::NotFound => ScimError::not_found("The resource does not exist (it may have been deleted)."),
            StoreError::TooLarge => ScimError::invalid_value(
                "The resource is too large to store. Remove some attribute values (for example long lists or large certificates) and retry.",
            ),
            StoreError::InvalidCursor => ScimError::invalid_cursor(
                "The cursor is not valid for this request. Start again without a cursor.",
            ),
            StoreError::Unavailable(cause) => {
                tracing::warn!(cause = %cause, "store unavailable");
                ScimError::unavailable(1)
            }
            StoreError::Internal(cause) => {
                tracing::error!(cause = %cause, "store failure");
                ScimError::internal()
            }
            // Never answered as if nothing happened (a 412 would say so): the inner failure's
            // status, with what was done and how to finish (the rest is idempotent).
            StoreError::PartlyWritten(inner) => ScimError::from(*inner).within(
                "Part of this change was written before the failure; send the request again without If-Match to finish it",
            ),
        }
    }
}
