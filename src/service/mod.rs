//! The service layer: SCIM operations on resources, between the transport and the store.
//!
//! It owns the read-modify-write cycles (conditional on the version read, retried on a lost race
//! unless the client sent `If-Match`), maps store errors to SCIM errors, and plans list queries
//! (direct look-ups for indexed equality filters). It knows nothing of HTTP.

pub mod groups;
mod memberships;
mod search;
pub mod users;

use std::sync::Arc;

use crate::error::ScimError;
use crate::store::{Store, StoreError};

pub use groups::{GroupList, GroupView, MAX_MEMBERS_PER_RESPONSE};
pub use search::SearchResult;
pub use users::{ListQuery, ListResult};

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

pub struct ScimService {
    /// One store holds users, groups and memberships; the two names only say what a call is
    /// about.
    users: Arc<dyn Store>,
    groups: Arc<dyn Store>,
}

impl ScimService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        ScimService {
            users: Arc::clone(&store),
            groups: store,
        }
    }
}

/// Map a store failure that the caller did not handle itself to the client's answer.
pub(crate) fn store_error(e: StoreError) -> ScimError {
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
    }
}
