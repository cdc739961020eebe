//! The storage port: what the service needs from a store, and nothing about how a store does it.
//!
//! Two adapters implement it: [`memory::MemoryStore`] (embedded, in process: local runs and fast
//! tests) and [`dynamo::DynamoStore`] (production). Both must pass the same contract suites
//! (`tests/it/store_contract.rs` for users, `tests/it/group_store_contract.rs` for groups).
//!
//! Contract, for every method:
//! - Every key is scoped by the tenant: nothing one tenant does is visible to another.
//! - Every write carries the [`AuditRecord`] the service built for it, and persists it in the
//!   same atomic write as the change (DynamoDB: the same transaction; embedded: under the same
//!   lock): a change without its record cannot exist, and a write that fails or changes nothing
//!   leaves none.
//! - Writes are atomic and conditional. `create_user` fails with [`StoreError::Uniqueness`] when
//!   the case-folded `userName` is held by another user of the tenant (`externalId` is not unique,
//!   RFC 7643 §3.1: any number of users may share one, and a look-up returns them all); updates
//!   and deletes fail with [`StoreError::VersionConflict`] when the stored version is no longer the
//!   `current.version` the caller read, and with [`StoreError::NotFound`] when the resource is gone.
//!   A failed write changes nothing.
//! - Reads see every write that completed before them (read-your-writes).
//! - A resource whose stored form exceeds [`MAX_RESOURCE_BYTES`] is refused with
//!   [`StoreError::TooLarge`]; a cursor that this store did not issue to this tenant is refused
//!   with [`StoreError::InvalidCursor`].

pub mod admin;
pub mod audit;
pub mod cursor;
pub mod dynamo;
pub mod follow_up;
pub mod memory;
pub mod policies;
pub mod settings;

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::audit::AuditRecord;
use crate::scim::members::{GroupRef, Member, MemberKind};
use crate::scim::resource::{Resource, Version};
use crate::tenant::TenantId;

pub use dynamo::DynamoStore;
pub use memory::MemoryStore;
pub use policies::{PolicyStore, Seats, UserWrite};
pub use settings::SettingsStore;

/// The largest stored resource: DynamoDB's item size limit (400 KB). The embedded store applies
/// it too, so that local runs refuse what production would.
pub const MAX_RESOURCE_BYTES: usize = 400 * 1024;

/// Refuse group attributes that hold `members` (any case): memberships are items of their own,
/// written only through [`GroupUpdate::add`] / `remove` after the service's checks (existence,
/// tenant, `display` bound). Both adapters call it on every group write, so a caller bug can
/// never store an unchecked member list inside a group.
pub fn check_group_attributes(attributes: &Map<String, Value>) -> Result<(), StoreError> {
    if attributes.keys().any(|k| k.eq_ignore_ascii_case("members")) {
        return Err(StoreError::Internal(
            "group attributes must not hold members".into(),
        ));
    }
    Ok(())
}

/// Which unique attribute a write collided on. Only `userName` is unique: `externalId` is not
/// (RFC 7643 §3.1; ARCHITECTURE.md, IdP shapes row 25).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueAttr {
    UserName,
}

impl UniqueAttr {
    pub fn scim_name(self) -> &'static str {
        match self {
            UniqueAttr::UserName => "userName",
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
    /// The write would make more users active than the tenant's `seat_limit`
    /// (`store::policies`); nothing was written.
    #[error("no seat is free under the tenant's seat limit")]
    SeatLimit,
    /// Throttling or a network failure: the client should retry (503).
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// Anything else; logged, answered with 500.
    #[error("store failure: {0}")]
    Internal(String),
    /// A change written in several transactions failed after some of them committed (a group
    /// update larger than one transaction): the client must learn that part of it was made.
    #[error("part of the change was written before: {0}")]
    PartlyWritten(Box<StoreError>),
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

/// What is kept about a deleted resource (DELETE keeps the record of what happened: see
/// ARCHITECTURE.md, Invariants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    pub request_id: String,
    pub deleted_at: String,
}

impl Deletion {
    /// The deletion that an audit record describes: same request, same time.
    pub fn of(audit: &AuditRecord) -> Self {
        Deletion {
            request_id: audit.request_id.clone(),
            deleted_at: audit.at.clone(),
        }
    }
}

/// Storage of Users. See the module documentation for the contract.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Insert a new user. Fails with `Uniqueness` if its folded userName is taken.
    async fn create_user(
        &self,
        tenant: &TenantId,
        user: &Resource,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    async fn get_user(&self, tenant: &TenantId, id: &str) -> Result<Option<Resource>, StoreError>;

    /// The user and its direct groups (as [`GroupStore::groups_of`] gives them) as of one read:
    /// on DynamoDB one GetItem, the user item carrying its group references.
    async fn get_user_with_groups(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<(Resource, Vec<GroupRef>)>, StoreError>;

    /// Look up by userName, case-insensitively.
    async fn find_user_by_user_name(
        &self,
        tenant: &TenantId,
        user_name: &str,
    ) -> Result<Option<Resource>, StoreError>;

    /// Every user whose externalId is `external_id` (case-sensitively: RFC 7643 §3.1 makes it
    /// caseExact and not unique), at most `limit`, in id order. A look-up, never a scan.
    async fn find_users_by_external_id(
        &self,
        tenant: &TenantId,
        external_id: &str,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError>;

    /// Every user with the email address `email` among its indexed `emails` (case-insensitively:
    /// RFC 7643 §4.1.2, `emails.value` is caseExact false, and not unique), at most `limit`, in
    /// id order. A look-up, never a scan; the caller evaluates its filter on what it finds.
    /// Addresses are indexed as [`crate::scim::emails::indexed_emails`] gives them.
    async fn find_users_by_email(
        &self,
        tenant: &TenantId,
        email: &str,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError>;

    /// Replace `current` (as the caller read it) by `next` (same id, version `current.version + 1`),
    /// moving the userName claim and the externalId and email entries if they changed.
    async fn update_user(
        &self,
        tenant: &TenantId,
        current: &Resource,
        next: &Resource,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Delete `current` (as the caller read it), free its unique values, and keep a deletion record
    /// ([`Deletion::of`] the audit record). The user's group memberships go with it: afterwards it
    /// is in no group's members, and every group that lost it has a new version (see
    /// [`GroupStore`]).
    /// `groups`: the user's groups as read with `current` (`get_user_with_groups`), when the
    /// caller has them: the store may then remove the memberships in the delete's own write
    /// instead of looking them up.
    async fn delete_user(
        &self,
        tenant: &TenantId,
        current: &Resource,
        groups: Option<&[GroupRef]>,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// A page of the tenant's users in a stable order (the same on every call).
    async fn list_users(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page, StoreError>;
}

/// A page of a group's members in the store's stable order (by member id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPage {
    pub members: Vec<Member>,
    /// Opaque cursor for the next page, `None` on the last page.
    pub next_cursor: Option<String>,
}

/// One write to a group: new attributes and/or membership changes, applied together.
#[derive(Debug, Clone, Copy)]
pub struct GroupUpdate<'a> {
    pub id: &'a str,
    /// `Some(v)`: the write happens only if the stored version is `v` (else `VersionConflict`).
    /// `None`: only for membership changes that are correct whatever the group holds (adding or
    /// removing given ids); `attributes` must then be `None`.
    pub expected_version: Option<Version>,
    /// The group's new attributes (never `members`), or `None` to keep them.
    pub attributes: Option<&'a Map<String, Value>>,
    /// Members to add. Their `kind` is the kind of the resource that holds the id.
    pub add: &'a [Member],
    /// Member ids to remove. Disjoint from `add`.
    pub remove: &'a [String],
    /// The new `meta.lastModified`.
    pub last_modified: &'a str,
    /// The group as the caller last read it, if it did. Only a hint, never a condition: an
    /// adapter that cannot learn a version from its writes (DynamoDB returns nothing from a
    /// transaction) starts from it instead of reading the group again, and finds the
    /// displayName whose look-up entry moves. A stale hint costs a re-read, not a wrong write.
    pub current: Option<&'a Resource>,
}

impl GroupUpdate<'_> {
    pub fn is_empty(&self) -> bool {
        self.attributes.is_none() && self.add.is_empty() && self.remove.is_empty()
    }
}

/// Storage of Groups and of memberships.
///
/// Contract, in addition to the module's (executable form: `tests/it/group_store_contract.rs`):
/// - **Memberships are items of their own**, never a list inside the group record: a group can
///   have tens of thousands of members. Adding or removing k members costs O(k) writes, whatever
///   the group's size. (DynamoDB: a group->member item and a member->group item, or one item
///   and an index, per membership.)
/// - **Versions.** Every write that changes a group, its attributes or its members, gives it a
///   new, higher version, so its ETag changes when its members do. Membership writes that add or
///   remove given ids are idempotent (adding a member twice, or removing one that is not there,
///   leaves the same state), so they may be applied without a version condition: concurrent
///   IdP requests adding different users never conflict and no change is lost. Writes computed
///   from what the caller read (attribute changes, a full member replace, `If-Match`) are
///   conditioned on that version.
/// - **Chunks.** An adapter applies a [`GroupUpdate`] atomically when it fits one transaction
///   (DynamoDB: at most 100 items: the group item plus membership items). A larger one is applied
///   in chunks of at most 100 items, the first carrying the attribute change; each chunk bumps the
///   version. `expected_version` is checked by the first chunk, before anything is written: a
///   stale one fails with `VersionConflict` and writes nothing. Once a chunk committed, the
///   remaining chunks (adds and removals of given ids, idempotent) are finished even if another
///   writer moved the group on meanwhile, so a precondition that held is never answered as
///   failed after part of the change was made; a failure after a committed chunk is
///   [`StoreError::PartlyWritten`]. Every chunk requires the group to exist, so no membership is
///   ever written for a deleted group.
/// - **Memberships never refer to a missing resource.** A member that does not exist when the
///   write is applied is not added (as if it had been deleted right after); deleting a group or
///   a user removes its memberships, both as a group and as a member, and gives every group that
///   lost a member a new version. An adapter that removes memberships in several batches after
///   the resource itself (DynamoDB, for large groups) must make sure that neither
///   [`GroupStore::groups_of`] nor the service ever shows a deleted group: `groups_of` returns
///   only groups that exist.
/// - `displayName` is not unique (RFC 7643 §4.2); look-ups by it are case-insensitive.
/// - **A group's attributes never hold `members`**: a create or update whose attributes do is
///   refused ([`check_group_attributes`]) and writes nothing.
#[async_trait]
pub trait GroupStore: Send + Sync {
    /// Insert a new group with its initial members (all existing, `kind` resolved) and return
    /// its version: `group.version`, or higher when the members took more than one transaction
    /// (each later chunk bumps the version like any membership change, so the ETag the client
    /// gets describes the group with all its initial members).
    async fn create_group(
        &self,
        tenant: &TenantId,
        group: &Resource,
        members: &[Member],
        audit: &AuditRecord,
    ) -> Result<Version, StoreError>;

    /// The group record (attributes without members), one read whatever the group's size.
    async fn get_group(&self, tenant: &TenantId, id: &str) -> Result<Option<Resource>, StoreError>;

    /// The groups whose displayName equals `display_name` case-insensitively, in id order, at
    /// most `limit` of them. One Query on DynamoDB, never a Scan.
    async fn find_groups_by_display_name(
        &self,
        tenant: &TenantId,
        display_name: &str,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError>;

    /// Apply `update` (see the trait documentation for conditions and chunks) and return the
    /// group's version afterwards. Fails with `NotFound` if the group does not exist. An update
    /// that changes nothing (empty, or only members already in / already out) writes nothing and
    /// returns the stored version; it still fails as a write would on a stale `expected_version`.
    /// A change in several chunks records `audit` with the first and [`AuditRecord::continuation`]
    /// with each later one.
    async fn update_group(
        &self,
        tenant: &TenantId,
        update: &GroupUpdate<'_>,
        audit: &AuditRecord,
    ) -> Result<Version, StoreError>;

    /// Delete `current` (as the caller read it, conditional on its version) and its
    /// memberships, and keep a deletion record ([`Deletion::of`] the audit record). From then on
    /// the group is never visible.
    async fn delete_group(
        &self,
        tenant: &TenantId,
        current: &Resource,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// A page of the tenant's groups (records without members) in a stable order, with the total.
    async fn list_groups(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page, StoreError>;

    /// Up to `limit` members of a group in member-id order, from `cursor` (a previous page's
    /// `next_cursor`). The caller has read the group: for a group that does not exist the answer
    /// may be empty or hold leftovers of an unfinished delete.
    async fn list_members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<MemberPage, StoreError>;

    /// Which of `ids` are members of the group: O(ids) reads (DynamoDB: BatchGetItem on the
    /// membership items), whatever the group's size.
    async fn members_among(
        &self,
        tenant: &TenantId,
        group_id: &str,
        ids: &[String],
    ) -> Result<HashSet<String>, StoreError>;

    /// [`GroupStore::groups_of`] for each of `user_ids` (users not found: none). DynamoDB reads
    /// the user items (one BatchGetItem per 100), which carry their group references.
    async fn groups_of_users(
        &self,
        tenant: &TenantId,
        user_ids: &[String],
    ) -> Result<HashMap<String, Vec<GroupRef>>, StoreError> {
        let mut out = HashMap::with_capacity(user_ids.len());
        for id in user_ids {
            out.insert(id.clone(), self.groups_of(tenant, id).await?);
        }
        Ok(out)
    }

    /// [`GroupStore::groups_of_users`] for one user (DynamoDB: one read of its item).
    async fn groups_of_user(
        &self,
        tenant: &TenantId,
        user_id: &str,
    ) -> Result<Vec<GroupRef>, StoreError> {
        let ids = [user_id.to_owned()];
        let mut all = self.groups_of_users(tenant, &ids).await?;
        Ok(all.remove(user_id).unwrap_or_default())
    }

    /// The existing groups `member_id` is a direct member of, in group-id order, with their
    /// displayName (for the User's read-only `groups`). Groups deleted concurrently are left out.
    async fn groups_of(
        &self,
        tenant: &TenantId,
        member_id: &str,
    ) -> Result<Vec<GroupRef>, StoreError>;

    /// Which of `ids` name a User or a Group of the tenant, and which kind each is. O(ids) reads
    /// (DynamoDB: BatchGetItem); ids of other tenants are simply not found.
    async fn resolve_members(
        &self,
        tenant: &TenantId,
        ids: &[String],
    ) -> Result<HashMap<String, MemberKind>, StoreError>;
}

/// Everything the service needs from storage: one object (one DynamoDB table) holds Users,
/// Groups, memberships and the tenant's settings, so membership checks and cascades can see
/// both types.
pub trait Store: UserStore + GroupStore + SettingsStore + PolicyStore {}

impl<T: UserStore + GroupStore + SettingsStore + PolicyStore + ?Sized> Store for T {}
