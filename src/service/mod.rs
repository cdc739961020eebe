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
//! - `bulk.rs`: `POST /Bulk`, each operation through the operations above.
//! - `async_bulk.rs`: `POST /Bulk` with `Prefer: respond-async` (RFC 9967 §3): queued jobs.
//! - `settings.rs`: the per-instance cache of the tenants' settings records.
//! - `policies.rs`: the tenant policies every user and group write goes through.
//! - `roles.rs`: roles from groups: a user's role on reads, in audit records, a rules change.

pub mod async_bulk;
pub mod bulk;
pub mod groups;
mod listing;
mod memberships;
pub mod paging;
mod plan;
mod policies;
pub mod roles;
mod search;
mod settings;
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
pub use settings::{MAX_CACHED_TENANTS, SETTINGS_TTL};
pub use users::{UserList, UserView};

/// Largest request body the router reads (and so `bulk.maxPayloadSize`): no single-resource
/// request needs more, and it keeps a bulk request's work bounded.
pub const MAX_BULK_BODY_BYTES: usize = 1024 * 1024;

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
    pub(super) fn record(
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
    /// The tenants' settings records, read at most once a minute per tenant.
    settings: settings::SettingsCache,
    /// Where `Prefer: respond-async` bulk requests go (`None`: they run synchronously).
    bulk_queue: Option<Arc<dyn async_bulk::BulkQueue>>,
}

impl ScimService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        ScimService {
            store,
            record_values: false,
            settings: settings::SettingsCache::default(),
            bulk_queue: None,
        }
    }

    /// The same service, queueing `Prefer: respond-async` bulk requests on `queue`.
    pub fn with_bulk_queue(mut self, queue: Arc<dyn async_bulk::BulkQueue>) -> Self {
        self.bulk_queue = Some(queue);
        self
    }

    /// The same service, keeping changed values in audit records when `on` (`full` events).
    pub fn with_recorded_values(mut self, on: bool) -> Self {
        self.record_values = on;
        self
    }

    /// Whether audit records keep changed values (events are `full`, not `notice`).
    pub fn records_values(&self) -> bool {
        self.record_values
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
            // The service answers a seat refusal itself (`policies.rs`); this is the fallback.
            StoreError::SeatLimit => ScimError::forbidden(
                "This tenant has reached its seat limit: every seat is held by an active user, so no user can be created or reactivated. Deactivate or unassign a user in your identity provider, then retry, or ask the application's administrator for more seats. Nobody is deactivated automatically.",
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
