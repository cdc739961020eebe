//! The embedded adapter of [`AdminStore`].

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;

use super::MemoryStore;
use crate::audit::AuditRecord;
use crate::store::admin::{below, AdminStore, HealthBucket};
use crate::store::StoreError;
use crate::tenant::TenantId;

#[derive(Default)]
pub(super) struct AdminData {
    /// Revoked setup-link ids -> until when the mark matters (epoch seconds).
    revoked_links: HashMap<String, i64>,
    /// (IdP, hour) -> the summed bucket.
    health: BTreeMap<(String, i64), HealthBucket>,
}

impl MemoryStore {
    fn with_admin<R>(&self, tenant: &TenantId, f: impl FnOnce(&mut AdminData) -> R) -> R {
        // Every write below is a single insert, so a poisoned lock is still consistent.
        let mut all = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        f(all.entry(tenant.clone()).or_default())
    }
}

#[async_trait]
impl AdminStore for MemoryStore {
    async fn record_admin_action(
        &self,
        tenant: &TenantId,
        record: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.lock()
            .entry(tenant.clone())
            .or_default()
            .audit
            .push(record.clone());
        Ok(())
    }

    async fn recent_audit(
        &self,
        tenant: &TenantId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(self.audit_where(tenant, true, limit, |r| below(r, before)))
    }

    async fn revoke_link(
        &self,
        tenant: &TenantId,
        link_id: &str,
        until: i64,
    ) -> Result<(), StoreError> {
        self.with_admin(tenant, |a| {
            a.revoked_links.insert(link_id.to_owned(), until)
        });
        Ok(())
    }

    async fn link_revoked(&self, tenant: &TenantId, link_id: &str) -> Result<bool, StoreError> {
        Ok(self.with_admin(tenant, |a| a.revoked_links.contains_key(link_id)))
    }

    async fn add_health(&self, tenant: &TenantId, bucket: &HealthBucket) -> Result<(), StoreError> {
        self.with_admin(tenant, |a| {
            a.health
                .entry((bucket.idp.clone(), bucket.hour))
                .or_insert_with(|| HealthBucket {
                    idp: bucket.idp.clone(),
                    hour: bucket.hour,
                    ..Default::default()
                })
                .merge(bucket)
        });
        Ok(())
    }

    async fn health(
        &self,
        tenant: &TenantId,
        since_hour: i64,
    ) -> Result<Vec<HealthBucket>, StoreError> {
        Ok(self.with_admin(tenant, |a| {
            a.health
                .values()
                .filter(|b| b.hour >= since_hour)
                .cloned()
                .collect()
        }))
    }
}
