//! The storage port of the tenant policies (ARCHITECTURE.md, Tenant policies): the audit record
//! of a refused attempt, and the seats item of a tenant with a `seat_limit`.
//!
//! Contract (executable form: `tests/it/policies.rs`, on both adapters):
//! - [`PolicyStore::record_refusal`] persists one `PolicyRefused` audit record and nothing else;
//!   on DynamoDB it is an audit item like any other, so the stream gives its event.
//! - The seats item (`T#<t>#META` / `SEATS`: `active`, `limit`) exists only for tenants that set
//!   a limit, apart from the tenant's counter item, so other tenants never serialise on it.
//! - [`PolicyStore::write_user_seated`] is the user write of [`UserWrite`] with the seats item
//!   in the same atomic write: a change that makes a user active adds 1 on condition
//!   `active < limit` (else [`StoreError::SeatLimit`] and nothing written), one that makes an
//!   active user inactive or deletes it subtracts 1; other changes leave it alone.

use async_trait::async_trait;

use super::StoreError;
use crate::audit::AuditRecord;
use crate::scim::members::GroupRef;
use crate::scim::resource::Resource;
use crate::tenant::TenantId;

/// A tenant's seats item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seats {
    /// Active users counted (by `scimctl tenant set seat_limit=N`, then by every seated write).
    pub active: i64,
    pub limit: i64,
}

/// The `limit` a seats item holds once the tenant's limit is removed: instances that still hold
/// the old settings (up to a minute) keep counting, and never refuse.
pub const NO_LIMIT: i64 = i64::MAX;

/// A user write, as [`super::UserStore`] makes it.
#[derive(Debug, Clone, Copy)]
pub enum UserWrite<'a> {
    Create(&'a Resource),
    Update {
        current: &'a Resource,
        next: &'a Resource,
    },
    /// The user as read, with its groups when read with it (`get_user_with_groups`).
    Delete(&'a Resource, Option<&'a [GroupRef]>),
}

impl UserWrite<'_> {
    /// How the write changes the number of active users: +1, -1 or 0.
    pub fn seat_delta(&self) -> i64 {
        match self {
            UserWrite::Create(u) => i64::from(u.active()),
            UserWrite::Update { current, next } => {
                i64::from(next.active()) - i64::from(current.active())
            }
            UserWrite::Delete(u, _) => -i64::from(u.active()),
        }
    }
}

#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// Keep the record of an attempt a policy refused (no resource changes with it).
    async fn record_refusal(
        &self,
        tenant: &TenantId,
        record: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// The tenant's seats item, if it has one.
    async fn get_seats(&self, tenant: &TenantId) -> Result<Option<Seats>, StoreError>;

    /// Write the tenant's seats item as given (unconditionally: `scimctl tenant set`).
    async fn put_seats(&self, tenant: &TenantId, seats: &Seats) -> Result<(), StoreError>;

    /// `write` with the seats item counted in the same atomic write (see the module
    /// documentation); fails like the plain user write, or with [`StoreError::SeatLimit`].
    async fn write_user_seated(
        &self,
        tenant: &TenantId,
        write: UserWrite<'_>,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;
}

/// Page size of [`init_seats`]'s count.
const COUNT_PAGE: usize = 200;

/// Count the tenant's active users and write its seats item with `limit` (`None`: the limit is
/// removed, [`NO_LIMIT`]): what `scimctl tenant set seat_limit=...` does before it writes the
/// settings, so that an instance that learns the limit finds the item. One paged read of the
/// tenant's users. Writes made while it counts, and by instances still holding the settings
/// without a limit (up to `SETTINGS_TTL`), are not counted: see ARCHITECTURE.md, Tenant
/// policies, for the race and how running the command again settles it.
pub async fn init_seats<S: super::UserStore + PolicyStore + ?Sized>(
    store: &S,
    tenant: &TenantId,
    limit: Option<u64>,
) -> Result<Seats, StoreError> {
    let mut active = 0i64;
    let mut start_index = 1;
    let mut cursor = None;
    loop {
        let page = store
            .list_users(
                tenant,
                &super::PageRequest {
                    start_index,
                    count: COUNT_PAGE,
                    cursor: cursor.take(),
                },
            )
            .await?;
        active += page.items.iter().filter(|u| u.active()).count() as i64;
        start_index += page.items.len();
        match page.next_cursor {
            Some(c) if !page.items.is_empty() => cursor = Some(c),
            _ => break,
        }
    }
    let seats = Seats {
        active,
        limit: limit.map_or(NO_LIMIT, |n| i64::try_from(n).unwrap_or(NO_LIMIT)),
    };
    store.put_seats(tenant, &seats).await?;
    Ok(seats)
}
