//! What the admin API needs from storage, next to the SCIM data: audit records of admin actions
//! (token generated, setup link revoked, ...), the audit trail newest first, setup-link
//! revocations, and the per-IdP connection-health counters. Both adapters implement it
//! (`memory/admin.rs`, `dynamo/admin.rs`); `tests/it/admin_api.rs` runs the same checks on both.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::audit::AuditLog;
use super::StoreError;
use crate::audit::AuditRecord;
use crate::tenant::TenantId;

/// The last error an IdP got, as the admin page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    pub at: String,
    pub status: u16,
    pub scim_type: String,
    pub detail: String,
}

/// Requests of one tenant from one IdP within one hour (UTC, `hour` = epoch seconds / 3600), as
/// counted by one function instance since its last flush, or as summed in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthBucket {
    pub idp: String,
    pub hour: i64,
    pub requests: u64,
    pub errors: u64,
    /// RFC 3339 time of the last request counted.
    pub last_at: String,
    /// Non-secret id of the token that request used.
    pub last_token: String,
    pub last_error: Option<LastError>,
}

impl HealthBucket {
    /// Fold `other` (same IdP and hour, or a later flush) into this one: counts add up, the
    /// later "last" values win.
    pub fn merge(&mut self, other: &HealthBucket) {
        self.requests += other.requests;
        self.errors += other.errors;
        if other.last_at >= self.last_at {
            self.last_at.clone_from(&other.last_at);
            self.last_token.clone_from(&other.last_token);
        }
        if let Some(e) = &other.last_error {
            if self.last_error.as_ref().is_none_or(|mine| e.at >= mine.at) {
                self.last_error = Some(e.clone());
            }
        }
    }
}

/// Storage behind the admin API. Same tenant scoping as every store method.
#[async_trait]
pub trait AdminStore: AuditLog {
    /// Persist the audit record of an admin action (no resource changes with it).
    async fn record_admin_action(
        &self,
        tenant: &TenantId,
        record: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Up to `limit` audit records of the tenant, newest first, whose sort key is below
    /// `before` (exclusive; records sort by their `at` time, so an `at` value excludes that
    /// millisecond and `<at>#~` includes it). `None`: from the newest.
    async fn recent_audit(
        &self,
        tenant: &TenantId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// Mark setup link `link_id` revoked; the mark may be forgotten after `until` (epoch
    /// seconds, the link's own expiry), when the link is refused anyway.
    async fn revoke_link(
        &self,
        tenant: &TenantId,
        link_id: &str,
        until: i64,
    ) -> Result<(), StoreError>;

    async fn link_revoked(&self, tenant: &TenantId, link_id: &str) -> Result<bool, StoreError>;

    /// Add one instance's counts to the stored bucket of (`bucket.idp`, `bucket.hour`): counts
    /// are added (several instances flush into one bucket), "last" values overwrite.
    async fn add_health(&self, tenant: &TenantId, bucket: &HealthBucket) -> Result<(), StoreError>;

    /// The tenant's stored buckets of hours `>= since_hour`, any order.
    async fn health(
        &self,
        tenant: &TenantId,
        since_hour: i64,
    ) -> Result<Vec<HealthBucket>, StoreError>;
}

/// Newest first, below `before`, at most `limit`: the selection every adapter applies.
pub fn below(record: &AuditRecord, before: Option<&str>) -> bool {
    before.is_none_or(|b| record.at.as_str() < b)
}
