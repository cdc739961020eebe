//! Connection health and "last used", kept cheap: the transport calls [`HealthRecorder::record`]
//! once per authenticated SCIM request; it only adds to counters in this function instance's
//! memory. At most once per [`FLUSH_INTERVAL`] per tenant (and on the tenant's first request in
//! this instance) the pending counts are handed to a spawned task, off the request's critical
//! path, which writes one `UpdateItem` per IdP seen (`ADD`, so instances never overwrite each
//! other's counts). Cost: ARCHITECTURE.md, "Admin API".
//!
//! What is still pending in this instance is merged into what [`HealthRecorder::read`] returns,
//! so the local server (one instance) is always up to date; on Lambda, another instance's last
//! minute may be missing until its next flush.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::scim::resource::now_rfc3339;
use crate::store::admin::{AdminStore, HealthBucket, LastError};
use crate::store::StoreError;
use crate::tenant::TenantId;

/// At most one flush per tenant per this interval, per function instance.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(60);
/// Longest error detail kept (the page shows it; RFC 7644 §3.12 details are short sentences).
const MAX_DETAIL_CHARS: usize = 300;

#[derive(Default)]
struct TenantCounters {
    last_flush: Option<Instant>,
    /// (IdP, hour) -> counts since the last flush.
    pending: HashMap<(String, i64), HealthBucket>,
}

/// One finished SCIM request, as health counts it.
pub struct Observed<'a> {
    pub tenant: &'a TenantId,
    pub idp: &'a str,
    pub token_id: &'a str,
    pub status: u16,
    pub scim_type: &'a str,
    pub detail: &'a str,
}

pub struct HealthRecorder {
    store: Arc<dyn AdminStore>,
    interval: Duration,
    tenants: Mutex<HashMap<TenantId, TenantCounters>>,
}

fn hour_of(epoch: i64) -> i64 {
    epoch.div_euclid(3600)
}

impl HealthRecorder {
    pub fn new(store: Arc<dyn AdminStore>) -> Self {
        Self::with_interval(store, FLUSH_INTERVAL)
    }

    /// Another flush interval (tests).
    pub fn with_interval(store: Arc<dyn AdminStore>, interval: Duration) -> Self {
        HealthRecorder {
            store,
            interval,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, TenantCounters>> {
        // Counters are consistent after every statement; a poisoned lock is still usable.
        self.tenants.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Count one request; never awaits, never fails. May spawn the tenant's flush.
    pub fn record(&self, seen: &Observed<'_>) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let at = now_rfc3339();
        let error = seen.status >= 400;
        let due = {
            let mut tenants = self.lock();
            let t = tenants.entry(seen.tenant.clone()).or_default();
            let idp = seen.idp.to_owned();
            let b = t
                .pending
                .entry((idp.clone(), hour_of(now)))
                .or_insert_with(|| HealthBucket {
                    idp,
                    hour: hour_of(now),
                    ..Default::default()
                });
            b.merge(&HealthBucket {
                requests: 1,
                errors: u64::from(error),
                last_at: at.clone(),
                last_token: seen.token_id.to_owned(),
                last_error: error.then(|| LastError {
                    at,
                    status: seen.status,
                    scim_type: seen.scim_type.to_owned(),
                    detail: seen.detail.chars().take(MAX_DETAIL_CHARS).collect(),
                }),
                ..Default::default()
            });
            let due = t.last_flush.is_none_or(|f| f.elapsed() >= self.interval);
            if due {
                t.last_flush = Some(Instant::now());
                Some(std::mem::take(&mut t.pending))
            } else {
                None
            }
        };
        if let Some(pending) = due {
            let store = Arc::clone(&self.store);
            let tenant = seen.tenant.clone();
            // Off the critical path: the answer does not wait for this write.
            tokio::spawn(async move { flush(store.as_ref(), &tenant, pending).await });
        }
    }

    /// Write everything pending now (tests, and a clean shutdown).
    pub async fn flush_all(&self) {
        let all: Vec<_> = self
            .lock()
            .iter_mut()
            .map(|(t, c)| (t.clone(), std::mem::take(&mut c.pending)))
            .collect();
        for (tenant, pending) in all {
            flush(self.store.as_ref(), &tenant, pending).await;
        }
    }

    /// The tenant's buckets of the last 24 hours: stored, plus what this instance has not
    /// flushed yet.
    pub async fn read(&self, tenant: &TenantId) -> Result<Vec<HealthBucket>, StoreError> {
        let since = hour_of(time::OffsetDateTime::now_utc().unix_timestamp()) - 23;
        let mut out: HashMap<(String, i64), HealthBucket> = self
            .store
            .health(tenant, since)
            .await?
            .into_iter()
            .map(|b| ((b.idp.clone(), b.hour), b))
            .collect();
        if let Some(t) = self.lock().get(tenant) {
            for (k, b) in &t.pending {
                if k.1 >= since {
                    match out.entry(k.clone()) {
                        Entry::Occupied(mut e) => e.get_mut().merge(b),
                        Entry::Vacant(e) => {
                            e.insert(b.clone());
                        }
                    }
                }
            }
        }
        Ok(out.into_values().collect())
    }
}

async fn flush(
    store: &dyn AdminStore,
    tenant: &TenantId,
    pending: HashMap<(String, i64), HealthBucket>,
) {
    for bucket in pending.into_values() {
        if let Err(e) = store.add_health(tenant, &bucket).await {
            // Health is advisory: a lost flush costs a minute of counts, never a request.
            tracing::warn!(tenant = %tenant, idp = %bucket.idp, error = %e, "health flush failed");
        }
    }
}
