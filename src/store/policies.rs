//! The storage port of the tenant policies (ARCHITECTURE.md, Tenant policies): the audit record
//! of a refused attempt.
//!
//! Contract: [`PolicyStore::record_refusal`] persists one [`Action::PolicyRefused`]
//! (`crate::audit::Action`) record in the tenant's audit trail and nothing else; on DynamoDB it
//! is an audit item like any other, so the stream gives its event.

use async_trait::async_trait;

use super::StoreError;
use crate::audit::AuditRecord;
use crate::tenant::TenantId;

#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// Keep the record of an attempt a policy refused (no resource changes with it).
    async fn record_refusal(
        &self,
        tenant: &TenantId,
        record: &AuditRecord,
    ) -> Result<(), StoreError>;
}
