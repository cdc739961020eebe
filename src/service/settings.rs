//! The per-instance cache of the tenants' settings records: a warm tenant costs no store call.
//!
//! Rules (like `auth::cache` for credentials):
//! - A tenant's record is read at most once per `ttl` (default 60 s) per function instance; a
//!   change made with `scimctl tenant set` applies everywhere within `ttl`.
//! - It is read only by the operations whose answer depends on it (writes, discovery, /Bulk),
//!   never by reads and lists, which the profile does not change.
//! - A failed read is never answered as the default: a strict tenant must not silently become
//!   tolerant. The last record read is used while the store is unavailable (it was the
//!   tenant's choice a moment ago); without one the request is 503 with `Retry-After`.
//! - At most `max_tenants` are held; the entry read longest ago is dropped first.
//! - Concurrent requests of a cold tenant may each read the record once (no single-flight):
//!   one small GetItem per request in that instant, then none for `ttl`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::ScimService;
use crate::error::ScimError;
use crate::scim::schema::ResourceKind;
use crate::scim::{patch, strict};
use crate::settings::{Profile, TenantSettings};
use crate::store::StoreError;
use crate::tenant::TenantId;

/// How long a settings record read from the store is used: "about once a minute" (issue 18).
pub const SETTINGS_TTL: Duration = Duration::from_secs(60);
/// Most tenants whose settings one instance holds (a few hundred bytes each).
pub const MAX_CACHED_TENANTS: usize = 10_000;

struct Entry {
    settings: Arc<TenantSettings>,
    fetched_at: Instant,
}

pub(super) struct SettingsCache {
    ttl: Duration,
    max_tenants: usize,
    entries: Mutex<HashMap<TenantId, Entry>>,
}

impl Default for SettingsCache {
    fn default() -> Self {
        SettingsCache {
            ttl: SETTINGS_TTL,
            max_tenants: MAX_CACHED_TENANTS,
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl SettingsCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, Entry>> {
        // Entries are replaced whole: a poisoned map is still consistent.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached record and whether it is still fresh.
    fn cached(&self, tenant: &TenantId) -> Option<(Arc<TenantSettings>, bool)> {
        self.lock()
            .get(tenant)
            .map(|e| (e.settings.clone(), e.fetched_at.elapsed() < self.ttl))
    }

    fn insert(&self, tenant: &TenantId, settings: Arc<TenantSettings>) {
        let mut entries = self.lock();
        if entries.len() >= self.max_tenants && !entries.contains_key(tenant) {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.fetched_at)
                .map(|(t, _)| t.clone());
            if let Some(t) = oldest {
                entries.remove(&t);
            }
        }
        entries.insert(
            tenant.clone(),
            Entry {
                settings,
                fetched_at: Instant::now(),
            },
        );
    }
}

impl ScimService {
    /// Use `ttl` instead of [`SETTINGS_TTL`] (tests; never more than a minute in production).
    pub fn with_settings_ttl(mut self, ttl: Duration) -> Self {
        self.settings.ttl = ttl;
        self
    }

    /// Whether the tenant is on the strict interoperability profile (`scim::strict` applies).
    async fn is_strict(&self, tenant: &TenantId) -> Result<bool, ScimError> {
        Ok(self.tenant_settings(tenant).await?.profile == Profile::Strict)
    }

    /// A POST/PUT body of `kind` as the tenant's profile accepts it: unknown attributes and
    /// schemas are 400 `invalidSyntax` on the strict profile, ignored (as always) otherwise.
    pub(super) async fn check_body(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        body: &serde_json::Value,
    ) -> Result<(), ScimError> {
        if self.is_strict(tenant).await? {
            strict::check_resource(kind, body)?;
        }
        Ok(())
    }

    /// PATCH operations as the tenant's profile accepts them (strict: each has a `path`).
    pub(super) async fn check_patch(
        &self,
        tenant: &TenantId,
        ops: &[patch::Operation],
    ) -> Result<(), ScimError> {
        if self.is_strict(tenant).await? {
            strict::check_patch(ops)?;
        }
        Ok(())
    }

    /// The tenant's settings, from this instance's cache when read less than `ttl` ago.
    pub async fn tenant_settings(
        &self,
        tenant: &TenantId,
    ) -> Result<Arc<TenantSettings>, ScimError> {
        let cached = self.settings.cached(tenant);
        if let Some((settings, true)) = &cached {
            return Ok(settings.clone());
        }
        match self.store.get_settings(tenant).await {
            Ok(record) => {
                let settings = Arc::new(record.map(|r| r.settings).unwrap_or_default());
                self.settings.insert(tenant, settings.clone());
                Ok(settings)
            }
            Err(e @ StoreError::Unavailable(_)) => match cached {
                Some((stale, _)) => {
                    tracing::warn!(tenant = %tenant, cause = %e, "settings read failed; using the last record read");
                    Ok(stale)
                }
                None => Err(e.into()),
            },
            Err(e) => Err(e.into()),
        }
    }
}
