//! The DynamoDB adapter of [`UserStore`]: reads, look-ups through guard items, and the user
//! transactions of `user_tx.rs`.

use async_trait::async_trait;

use super::item::USERS;
use super::keys::{self, Partition};
use super::{
    cursor, epoch_seconds_after, user_item, user_tx, DynamoStore, DELETION_RECORD_RETENTION,
};
use crate::audit::AuditRecord;
use crate::scim::resource::{fold_user_name, Resource};
use crate::store::{Page, PageRequest, StoreError, UserStore};
use crate::tenant::TenantId;

#[async_trait]
impl UserStore for DynamoStore {
    async fn create_user(
        &self,
        tenant: &TenantId,
        user: &Resource,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let days = self.audit_retention_days;
        self.transact(user_tx::create(&self.table, tenant, user, audit, days)?)
            .await
    }

    async fn get_user(&self, tenant: &TenantId, id: &str) -> Result<Option<Resource>, StoreError> {
        if !cursor::plausible_id(id) {
            return Ok(None);
        }
        match self.get_item(&keys::user(tenant, id)).await? {
            Some(item) => user_item::user_from_item(item).map(Some),
            None => Ok(None),
        }
    }

    async fn find_user_by_user_name(
        &self,
        tenant: &TenantId,
        user_name: &str,
    ) -> Result<Option<Resource>, StoreError> {
        let folded = fold_user_name(user_name);
        let guard = keys::user_name_guard(tenant, user_name);
        self.follow_guard(tenant, guard, |u| fold_user_name(u.user_name()) == folded)
            .await
    }

    async fn find_user_by_external_id(
        &self,
        tenant: &TenantId,
        external_id: &str,
    ) -> Result<Option<Resource>, StoreError> {
        let guard = keys::external_id_guard(tenant, external_id);
        self.follow_guard(tenant, guard, |u| u.external_id() == Some(external_id))
            .await
    }

    async fn update_user(
        &self,
        tenant: &TenantId,
        current: &Resource,
        next: &Resource,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let days = self.audit_retention_days;
        self.transact(user_tx::update(
            &self.table,
            tenant,
            current,
            next,
            audit,
            days,
        )?)
        .await
    }

    async fn delete_user(
        &self,
        tenant: &TenantId,
        current: &Resource,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let expires_at = epoch_seconds_after(DELETION_RECORD_RETENTION);
        self.transact(user_tx::delete(
            &self.table,
            tenant,
            current,
            audit,
            expires_at,
            self.audit_retention_days,
        )?)
        .await?;
        // The user is gone for SCIM; its memberships follow (cascade.rs). Adds check that the
        // member exists, so none can slip in after this read.
        if let Err(e) = self.leave_all_groups(tenant, &current.id, &audit.at).await {
            tracing::error!(user_id = %current.id, error = %e, "user deleted, membership clean-up unfinished; DynamoStore::resume_cascades finishes it");
        }
        Ok(())
    }

    async fn list_users(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page, StoreError> {
        self.list_page(
            tenant,
            Partition::Users,
            USERS,
            page,
            user_item::user_from_item,
        )
        .await
    }
}
