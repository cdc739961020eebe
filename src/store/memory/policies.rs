//! The embedded store's side of the tenant policies (`store::policies`).

use async_trait::async_trait;

use super::MemoryStore;
use crate::audit::AuditRecord;
use crate::store::policies::PolicyStore;
use crate::store::StoreError;
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
}
