//! The embedded adapter of [`SettingsStore`]: the record lives with the tenant's data, under
//! the store's one lock, so the version check and the write are atomic.

use async_trait::async_trait;

use super::MemoryStore;
use crate::settings::{TenantSettings, VersionedSettings};
use crate::store::{SettingsStore, StoreError};
use crate::tenant::TenantId;

#[async_trait]
impl SettingsStore for MemoryStore {
    async fn get_settings(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<VersionedSettings>, StoreError> {
        Ok(self.lock().get(tenant).and_then(|t| t.settings.clone()))
    }

    async fn put_settings(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
        expected_version: u64,
    ) -> Result<u64, StoreError> {
        let mut tenants = self.lock();
        let t = tenants.entry(tenant.clone()).or_default();
        let stored = t.settings.as_ref().map_or(0, |s| s.version);
        if stored != expected_version {
            return Err(StoreError::VersionConflict);
        }
        let version = stored + 1;
        t.settings = Some(VersionedSettings {
            settings: settings.clone(),
            version,
        });
        Ok(version)
    }
}
