//! The embedded store's side of the tenant policies (`store::policies`). The seats of each
//! tenant sit behind their own async lock, held across the check, the user write and the count:
//! seated writes of one tenant are serialised, like the conditional item on DynamoDB.

use async_trait::async_trait;

use super::MemoryStore;
use crate::audit::AuditRecord;
use crate::store::policies::{PolicyStore, Seats, UserWrite};
use crate::store::{StoreError, UserStore};
use crate::tenant::TenantId;

#[async_trait]
impl PolicyStore for MemoryStore {
    async fn record_refusal(
        &self,
        tenant: &TenantId,
        record: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut tenants = self.lock();
        let t = tenants.entry(tenant.clone()).or_default();
        // Through the sink like a change, as DynamoDB's stream sees the audit item.
        self.commit(t, record.clone());
        Ok(())
    }

    async fn get_seats(&self, tenant: &TenantId) -> Result<Option<Seats>, StoreError> {
        Ok(self.seats.lock().await.get(tenant).copied())
    }

    async fn put_seats(&self, tenant: &TenantId, seats: &Seats) -> Result<(), StoreError> {
        self.seats.lock().await.insert(tenant.clone(), *seats);
        Ok(())
    }

    async fn write_user_seated(
        &self,
        tenant: &TenantId,
        write: UserWrite<'_>,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut all = self.seats.lock().await;
        let delta = write.seat_delta();
        let seats = all.get(tenant).copied();
        // As DynamoDB's `active < limit` on a missing item: no seat is free.
        if delta > 0 && seats.is_none_or(|s| s.active >= s.limit) {
            // DynamoDB reports the taken userName first (`errors::rank`): the same here, so a
            // re-POST of a deactivated user still takes the restore path.
            if let UserWrite::Create(u) = write {
                if self
                    .find_user_by_user_name(tenant, u.user_name())
                    .await?
                    .is_some()
                {
                    return Err(StoreError::Uniqueness(crate::store::UniqueAttr::UserName));
                }
            }
            return Err(StoreError::SeatLimit);
        }
        match write {
            UserWrite::Create(u) => self.create_user(tenant, u, audit).await?,
            UserWrite::Update { current, next } => {
                self.update_user(tenant, current, next, audit).await?
            }
            UserWrite::Delete(u, groups) => self.delete_user(tenant, u, groups, audit).await?,
        }
        if delta != 0 {
            let s = all.entry(tenant.clone()).or_insert(Seats {
                active: 0,
                limit: crate::store::policies::NO_LIMIT,
            });
            s.active += delta;
        }
        Ok(())
    }
}
