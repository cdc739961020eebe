//! The storage port: what the service needs from a store, and nothing about how a store does it.
//!
//! Two adapters implement it: [`memory::MemoryStore`] (embedded, in process: local runs and fast
//! tests) and [`dynamo::DynamoStore`] (production). Both must pass the same contract suite
//! (`tests/store_contract.rs`).
//!
//! Contract, for every method:
//! - Every key is scoped by the tenant: nothing one tenant does is visible to another.
//! - Writes are atomic and conditional. `create_user` fails with [`StoreError::Uniqueness`] when
//!   the case-folded `userName` or the `externalId` is held by another user of the tenant; updates
//!   and deletes fail with [`StoreError::VersionConflict`] when the stored version is no longer the
//!   `current.version` the caller read, and with [`StoreError::NotFound`] when the resource is gone.
//!   A failed write changes nothing.
//! - Reads see every write that completed before them (read-your-writes).
//! - A resource whose stored form exceeds [`MAX_RESOURCE_BYTES`] is refused with
//!   [`StoreError::TooLarge`]; a cursor that this store did not issue to this tenant is refused
//!   with [`StoreError::InvalidCursor`].

pub mod audit;
pub mod cursor;
pub mod dynamo;
pub mod memory;

use async_trait::async_trait;

use crate::scim::resource::Resource;
use crate::tenant::TenantId;

pub use dynamo::DynamoStore;
pub use memory::MemoryStore;

/// The largest stored resource: DynamoDB's item size limit (400 KB). The embedded store applies
/// it too, so that local runs refuse what production would.
pub const MAX_RESOURCE_BYTES: usize = 400 * 1024;

/// Which unique attribute a write collided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueAttr {
    UserName,
    ExternalId,
}

impl UniqueAttr {
    pub fn scim_name(self) -> &'static str {
        match self {
            UniqueAttr::UserName => "userName",
            UniqueAttr::ExternalId => "externalId",
        }
    }
}

/// Why a store operation failed. Kept typed until the service maps it to a SCIM answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{} is already used by another resource", .0.scim_name())]
    Uniqueness(UniqueAttr),
    #[error("the resource changed since it was read")]
    VersionConflict,
    #[error("the resource does not exist")]
    NotFound,
    #[error("the resource is too large to store")]
    TooLarge,
    #[error("the paging cursor is not valid")]
    InvalidCursor,
    /// Throttling or a network failure: the client should retry (503).
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// Anything else; logged, answered with 500.
    #[error("store failure: {0}")]
    Internal(String),
}

/// A page request. `start_index` is 1-based (RFC 7644 §3.4.2.4); when `cursor` is set
/// (RFC 9865) it takes precedence and `start_index` is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub start_index: usize,
    pub count: usize,
    pub cursor: Option<String>,
}

/// A page of resources in the store's stable order, with the tenant's total.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Resource>,
    pub total_results: usize,
    /// Opaque cursor for the next page (RFC 9865), `None` on the last page.
    pub next_cursor: Option<String>,
}

/// What is kept about a deleted resource, for audit (DESIGN.md: DELETE keeps the record of what
/// happened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    pub request_id: String,
    pub deleted_at: String,
}

/// Storage of Users. See the module documentation for the contract.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Insert a new user. Fails with `Uniqueness` if its folded userName or externalId is taken.
    async fn create_user(&self, tenant: &TenantId, user: &Resource) -> Result<(), StoreError>;

    async fn get_user(&self, tenant: &TenantId, id: &str) -> Result<Option<Resource>, StoreError>;

    /// Look up by userName, case-insensitively.
    async fn find_user_by_user_name(
        &self,
        tenant: &TenantId,
        user_name: &str,
    ) -> Result<Option<Resource>, StoreError>;

    /// Look up by externalId, case-sensitively (RFC 7643 §3.1: externalId is caseExact).
    async fn find_user_by_external_id(
        &self,
        tenant: &TenantId,
        external_id: &str,
    ) -> Result<Option<Resource>, StoreError>;

    /// Replace `current` (as the caller read it) by `next` (same id, version `current.version + 1`),
    /// moving uniqueness claims if userName or externalId changed.
    async fn update_user(
        &self,
        tenant: &TenantId,
        current: &Resource,
        next: &Resource,
    ) -> Result<(), StoreError>;

    /// Delete `current` (as the caller read it), free its unique values, and keep a deletion record.
    async fn delete_user(
        &self,
        tenant: &TenantId,
        current: &Resource,
        deletion: &Deletion,
    ) -> Result<(), StoreError>;

    /// A page of the tenant's users in a stable order (the same on every call).
    async fn list_users(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page, StoreError>;
}
