//! The storage port of the per-tenant settings record (`crate::settings`).
//!
//! Contract (executable form: `tests/it/settings.rs` (`contract_on_*`), run on both adapters):
//! - One record per tenant, in the tenant's own key space; a tenant without one reads `None`.
//! - Writes are conditional on the version the writer read ([`VersionedSettings::version`], 0
//!   when none was stored): a stale one fails with [`StoreError::VersionConflict`] and writes
//!   nothing, so two concurrent `scimctl tenant set` (or admin API) calls never lose an update.
//! - A successful write stores version `expected + 1` and returns it; reads see it at once.
//!
//! Settings changes are not SCIM resource changes: they carry no SCIM audit record and make no
//! SCIM event (the admin API issue adds its own trail for operator actions).

use async_trait::async_trait;

use super::StoreError;
use crate::settings::{TenantSettings, VersionedSettings};
use crate::tenant::TenantId;

#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The tenant's record, if one was ever written.
    async fn get_settings(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<VersionedSettings>, StoreError>;

    /// Store `settings` if the stored version is still `expected_version` (0: nothing stored),
    /// and return the new version.
    async fn put_settings(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
        expected_version: u64,
    ) -> Result<u64, StoreError>;
}
