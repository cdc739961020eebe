//! Reading the audit trail. Writing it is part of every store write (see `crate::audit`): each
//! adapter adds the record to the same transaction as the change.

use async_trait::async_trait;

use super::StoreError;
use crate::audit::AuditRecord;
use crate::tenant::TenantId;

/// Which audit records to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only records at or after this RFC 3339 time (records are stored in UTC, so compare a UTC
    /// time: `2026-01-31T00:00:00Z`).
    pub since: Option<String>,
    /// Only records about this resource id.
    pub resource_id: Option<String>,
    /// At most this many records (oldest first).
    pub limit: usize,
}

/// The audit trail of a tenant, oldest first.
#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn audit_records(
        &self,
        tenant: &TenantId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditRecord>, StoreError>;
}

/// Does a record satisfy the query's filters? (Used by every adapter after its own range read.)
pub fn selected(record: &AuditRecord, query: &AuditQuery) -> bool {
    query
        .since
        .as_deref()
        .is_none_or(|s| record.at.as_str() >= s)
        && query
            .resource_id
            .as_deref()
            .is_none_or(|id| record.resource_id == id)
}
