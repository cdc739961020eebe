//! DynamoDB's side of the tenant policies (`store::policies`).

use async_trait::async_trait;

use super::DynamoStore;
use crate::audit::AuditRecord;
use crate::store::admin::AdminStore;
use crate::store::policies::PolicyStore;
use crate::store::StoreError;
use crate::tenant::TenantId;

#[async_trait]
impl PolicyStore for DynamoStore {
    /// One PutItem of an audit item, as for an admin action: the stream gives its event.
    async fn record_refusal(
        &self,
        tenant: &TenantId,
        record: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.record_admin_action(tenant, record).await
    }
}
