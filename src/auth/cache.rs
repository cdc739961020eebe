//! A bounded, time-limited cache in front of any [`TokenSource`], so that a warm request makes no
//! call to Secrets Manager.
//!
//! Rules (ARCHITECTURE.md, "Tokens and tenants"):
//! - A tenant's credentials are reused for `ttl` (default 30 s, never more than [`MAX_TTL`]): a
//!   revoked or rotated-out token stops working at most `ttl` after the change.
//! - A presented hash that the cached credentials do not contain (a token generated a moment ago)
//!   triggers a re-read, at most once per tenant per `refresh_interval` (default 5 s). Only such
//!   re-reads count for that limit, not the first read of a tenant nor the periodic TTL re-read,
//!   so a new token is delayed (by at most the interval) only if another unknown token of the
//!   same tenant was presented just before it. The result, negative or not, is cached: a flood of
//!   bad tokens for one tenant costs at most one call per interval (two on a cold tenant).
//! - A hash that a fresh read did not contain is remembered as rejected (at most
//!   [`MAX_REJECTED`] per tenant, until the next TTL re-read): presented again, it is answered
//!   from the snapshot and never spends the re-read budget. So an IdP that keeps sending an old
//!   token cannot delay the new one; only a never-seen hash may trigger a re-read.
//! - Concurrent look-ups of one tenant wait for a single read (one async mutex per tenant; the
//!   std mutex around the tenant map is never held across an `.await`).
//! - A failed read is remembered for `error_backoff` (default 1 s), so an outage does not make
//!   every waiting request retry the source in turn; a stale entry is never served.
//! - At most `max_tenants` tenants are kept; the oldest entry is evicted first.
//! - A tenant not held yet is first read into a separate, bounded negative cache
//!   (`max_unknown_tenants`, oldest evicted first), and moves to the tenants' cache only when it
//!   has credentials: a flood of tokens naming unknown tenants can never evict a known tenant.
//!   An entry there answers "no credentials" for `refresh_interval` whatever token is presented,
//!   so each unknown tenant name costs at most one read per interval.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::token::TokenHash;
use super::{Credential, SourceError, TokenSource};
use crate::tenant::TenantId;

/// Rejected hashes remembered per tenant (an IdP sends one token; a few old ones at most). The
/// oldest is forgotten first: 10,000 tenants x 8 x 32 bytes is 2.5 MB at most.
pub const MAX_REJECTED: usize = 8;

/// Upper bound of the TTL: the promise that a revoked token stops working within a minute.
pub const MAX_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// How long credentials read from the source are used without asking again.
    pub ttl: Duration,
    /// Most tenants held; beyond it the oldest entry is dropped.
    pub max_tenants: usize,
    /// Least time between two reads of one tenant triggered by unknown hashes.
    pub refresh_interval: Duration,
    /// How long a failed read is answered from memory before the source is tried again.
    pub error_backoff: Duration,
    /// Most tenants without credentials (unknown names) held; beyond it the oldest is dropped.
    pub max_unknown_tenants: usize,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            ttl: Duration::from_secs(30),
            max_tenants: 10_000,
            refresh_interval: Duration::from_secs(5),
            error_backoff: Duration::from_secs(1),
            max_unknown_tenants: 10_000,
        }
    }
}

struct Snapshot {
    credentials: Vec<Credential>,
    fetched_at: Instant,
}

#[derive(Default)]
struct SlotState {
    snapshot: Option<Snapshot>,
    /// Last read caused by an unknown hash, successful or not: the refresh rate limit.
    last_refresh: Option<Instant>,
    last_error: Option<(Instant, SourceError)>,
    /// Hashes the current snapshot was read fresh for and did not contain, oldest first.
    rejected: VecDeque<TokenHash>,
}

impl SlotState {
    fn is_rejected(&self, h: &TokenHash) -> bool {
        self.rejected.iter().any(|r| r.ct_eq(h))
    }

    /// Remember `presented` as rejected when the credentials just read do not contain it.
    fn remember_rejection(&mut self, presented: Option<&TokenHash>, credentials: &[Credential]) {
        let Some(h) = presented else { return };
        if credentials.iter().any(|c| c.hash.ct_eq(h)) || self.is_rejected(h) {
            return;
        }
        if self.rejected.len() >= MAX_REJECTED {
            self.rejected.pop_front();
        }
        self.rejected.push_back(*h);
    }
}

/// One tenant's entry. Its async mutex is what coalesces concurrent reads.
#[derive(Default)]
struct Slot {
    state: tokio::sync::Mutex<SlotState>,
}

#[derive(Default)]
struct Tenants {
    slots: HashMap<TenantId, Arc<Slot>>,
    /// Insertion order, for eviction. Holds exactly the keys of `slots`.
    order: VecDeque<TenantId>,
}

impl Tenants {
    /// Insert `slot`, first evicting the oldest entries so that at most `bound` are held.
    fn insert_bounded(&mut self, tenant: &TenantId, slot: Arc<Slot>, bound: usize) {
        while self.slots.len() >= bound {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.slots.remove(&oldest);
                }
                None => break,
            }
        }
        self.slots.insert(tenant.clone(), slot);
        self.order.push_back(tenant.clone());
    }

    fn remove(&mut self, tenant: &TenantId) {
        if self.slots.remove(tenant).is_some() {
            self.order.retain(|t| t != tenant);
        }
    }
}

/// Which cache a tenant's slot is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Tenants that had credentials when read.
    Known,
    /// Tenants read (or being read for the first time) without credentials.
    Unknown,
}

#[derive(Default)]
struct Caches {
    known: Tenants,
    unknown: Tenants,
}

/// A [`TokenSource`] that caches another one (see the module documentation for the rules).
pub struct CachedTokenSource {
    inner: Arc<dyn TokenSource>,
    settings: CacheSettings,
    tenants: Mutex<Caches>,
}

impl CachedTokenSource {
    /// Wrap `inner`. The TTL is capped at [`MAX_TTL`], the refresh interval at the TTL, and the
    /// tenant bound is at least 1.
    pub fn new(inner: Arc<dyn TokenSource>, settings: CacheSettings) -> Self {
        let ttl = settings.ttl.min(MAX_TTL);
        let settings = CacheSettings {
            ttl,
            refresh_interval: settings.refresh_interval.min(ttl),
            max_tenants: settings.max_tenants.max(1),
            error_backoff: settings.error_backoff,
            max_unknown_tenants: settings.max_unknown_tenants.max(1),
        };
        CachedTokenSource {
            inner,
            settings,
            tenants: Mutex::new(Caches::default()),
        }
    }

    pub fn settings(&self) -> CacheSettings {
        self.settings
    }

    /// Number of tenants with credentials currently held.
    pub fn len(&self) -> usize {
        self.lock_tenants().known.slots.len()
    }

    /// Number of tenants without credentials currently held (the negative cache).
    pub fn unknown_len(&self) -> usize {
        self.lock_tenants().unknown.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock_tenants(&self) -> std::sync::MutexGuard<'_, Caches> {
        // The map is consistent after every statement, so a poisoned lock is still usable.
        self.tenants.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The tenant's slot and which cache holds it. A tenant held by neither gets a new slot in
    /// the negative cache (evicting its oldest entry if full), never in the known tenants'.
    /// Never awaits.
    fn slot(&self, tenant: &TenantId) -> (Arc<Slot>, Kind) {
        let mut c = self.lock_tenants();
        if let Some(slot) = c.known.slots.get(tenant) {
            return (Arc::clone(slot), Kind::Known);
        }
        if let Some(slot) = c.unknown.slots.get(tenant) {
            return (Arc::clone(slot), Kind::Unknown);
        }
        let slot = Arc::new(Slot::default());
        let bound = self.settings.max_unknown_tenants;
        c.unknown.insert_bounded(tenant, Arc::clone(&slot), bound);
        (slot, Kind::Unknown)
    }

    /// A tenant of the negative cache was read with credentials: it becomes a known tenant.
    fn promote(&self, tenant: &TenantId, slot: &Arc<Slot>) {
        let mut c = self.lock_tenants();
        let held = c
            .unknown
            .slots
            .get(tenant)
            .is_some_and(|s| Arc::ptr_eq(s, slot));
        if held {
            c.unknown.remove(tenant);
            let bound = self.settings.max_tenants;
            c.known.insert_bounded(tenant, Arc::clone(slot), bound);
        }
    }

    async fn lookup(
        &self,
        tenant: &TenantId,
        presented: Option<&TokenHash>,
    ) -> Result<Vec<Credential>, SourceError> {
        let (slot, kind) = self.slot(tenant);
        let mut st = slot.state.lock().await;
        let now = Instant::now();
        let reason = match &st.snapshot {
            None => "cold",
            // No credentials: the same answer for every token until the entry ages out.
            Some(snap) if kind == Kind::Unknown && snap.credentials.is_empty() => {
                if now.duration_since(snap.fetched_at) < self.settings.refresh_interval {
                    return Ok(Vec::new());
                }
                "expired"
            }
            Some(snap) if now.duration_since(snap.fetched_at) >= self.settings.ttl => "expired",
            Some(snap) => {
                let known = presented.is_none_or(|h| {
                    snap.credentials.iter().any(|c| c.hash.ct_eq(h)) || st.is_rejected(h)
                });
                let rate_limited = st
                    .last_refresh
                    .is_some_and(|t| now.duration_since(t) < self.settings.refresh_interval);
                if known || rate_limited {
                    return Ok(snap.credentials.clone());
                }
                "unknown_token"
            }
        };
        if let Some((at, e)) = &st.last_error {
            if now.duration_since(*at) < self.settings.error_backoff {
                return Err(e.clone());
            }
        }
        tracing::debug!(tenant = %tenant, reason, "reading token credentials");
        if reason == "unknown_token" {
            st.last_refresh = Some(now);
        } else {
            // A TTL re-read forgets the rejections: a hash rejected by a stale read (a token
            // generated just then) gets its chance again within the TTL.
            st.rejected.clear();
        }
        match self.inner.credentials(tenant).await {
            Ok(credentials) => {
                st.snapshot = Some(Snapshot {
                    credentials: credentials.clone(),
                    fetched_at: Instant::now(),
                });
                st.last_error = None;
                st.remember_rejection(presented, &credentials);
                if kind == Kind::Unknown && !credentials.is_empty() {
                    self.promote(tenant, &slot);
                }
                Ok(credentials)
            }
            Err(e) => {
                // A snapshot within its TTL stays usable; an expired one is never served again.
                if reason == "expired" {
                    st.snapshot = None;
                }
                st.last_error = Some((Instant::now(), e.clone()));
                Err(e)
            }
        }
    }
}

#[async_trait]
impl TokenSource for CachedTokenSource {
    async fn credentials(&self, tenant: &TenantId) -> Result<Vec<Credential>, SourceError> {
        self.lookup(tenant, None).await
    }

    async fn credentials_for(
        &self,
        tenant: &TenantId,
        presented: &TokenHash,
    ) -> Result<Vec<Credential>, SourceError> {
        self.lookup(tenant, Some(presented)).await
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::auth::{token, EmbeddedTokenSource};

    /// Counts the reads that reach the wrapped source; optionally fails or takes time.
    struct Counting {
        inner: EmbeddedTokenSource,
        calls: AtomicUsize,
        down: std::sync::atomic::AtomicBool,
        delay: Duration,
    }

    impl Counting {
        fn new(delay: Duration) -> Arc<Self> {
            Arc::new(Counting {
                inner: EmbeddedTokenSource::new(),
                calls: AtomicUsize::new(0),
                down: Default::default(),
                delay,
            })
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl TokenSource for Counting {
        async fn credentials(&self, tenant: &TenantId) -> Result<Vec<Credential>, SourceError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            if self.down.load(Ordering::SeqCst) {
                return Err(SourceError::Unavailable("down".into()));
            }
            self.inner.credentials(tenant).await
        }
    }

    fn t(s: &str) -> TenantId {
        TenantId::parse(s).unwrap()
    }

    fn cached(src: &Arc<Counting>, settings: CacheSettings) -> CachedTokenSource {
        CachedTokenSource::new(src.clone(), settings)
    }

    /// A new token of `tenant` in the wrapped source, replacing its previous ones.
    fn token_of(src: &Counting, tenant: &str) -> String {
        let tok = src.inner.generate(&t(tenant), None).unwrap();
        tok.expose_secret().to_owned()
    }

    fn hash(tok: &str) -> TokenHash {
        TokenHash::of(tok)
    }

    #[tokio::test(start_paused = true)]
    async fn warm_lookups_make_no_call_until_the_ttl_ends() {
        let src = Counting::new(Duration::ZERO);
        let tok = token_of(&src, "acme");
        let cache = cached(&src, CacheSettings::default());
        for _ in 0..50 {
            assert_eq!(
                cache
                    .credentials_for(&t("acme"), &hash(&tok))
                    .await
                    .unwrap()
                    .len(),
                1
            );
        }
        assert_eq!(src.calls(), 1);
        tokio::time::advance(Duration::from_secs(30)).await;
        cache
            .credentials_for(&t("acme"), &hash(&tok))
            .await
            .unwrap();
        assert_eq!(src.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_token_works_at_once_and_a_flood_of_bad_ones_costs_one_read() {
        let src = Counting::new(Duration::ZERO);
        let old = token_of(&src, "acme");
        let cache = cached(&src, CacheSettings::default());
        cache
            .credentials_for(&t("acme"), &hash(&old))
            .await
            .unwrap();
        // Generated just after the tenant was cached: the unknown hash triggers one re-read.
        let new = token_of(&src, "acme");
        let creds = cache
            .credentials_for(&t("acme"), &hash(&new))
            .await
            .unwrap();
        assert!(creds[0].hash.ct_eq(&hash(&new)));
        assert_eq!(src.calls(), 2);
        for _ in 0..100 {
            let bad = token::generate(&t("acme")).unwrap();
            cache.credentials_for(&t("acme"), &bad.hash).await.unwrap();
        }
        assert_eq!(
            src.calls(),
            2,
            "bad tokens within the refresh interval make no call"
        );
        tokio::time::advance(Duration::from_secs(5)).await;
        for _ in 0..100 {
            let bad = token::generate(&t("acme")).unwrap();
            cache.credentials_for(&t("acme"), &bad.hash).await.unwrap();
        }
        assert_eq!(src.calls(), 3, "one more read per refresh interval");
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_token_works_at_once_while_the_idp_still_sends_the_old_one() {
        let src = Counting::new(Duration::ZERO);
        let old = token_of(&src, "acme");
        let cache = cached(&src, CacheSettings::default());
        // The old token was rotated out before the instance first saw the tenant: the IdP keeps
        // presenting it, every second or so.
        let current = token_of(&src, "acme");
        assert!(cache.credentials(&t("acme")).await.unwrap()[0]
            .hash
            .ct_eq(&hash(&current)));
        assert_eq!(src.calls(), 1);
        for _ in 0..7 {
            cache
                .credentials_for(&t("acme"), &hash(&old))
                .await
                .unwrap();
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert_eq!(
            src.calls(),
            2,
            "the old token costs one re-read, then is known as rejected"
        );
        // `scimctl token generate --overlap 10m` now; the IdP still sends the old token, then
        // the new one at once.
        let opts = crate::auth::credentials::GenerateOptions {
            overlap: Some(Duration::from_secs(600)),
            ..Default::default()
        };
        let new = crate::auth::credentials::generate(&src.inner, &t("acme"), &opts)
            .await
            .unwrap();
        let new = TokenHash::of(new.token.expose_secret());
        cache
            .credentials_for(&t("acme"), &hash(&old))
            .await
            .unwrap();
        let creds = cache.credentials_for(&t("acme"), &new).await.unwrap();
        assert!(creds.iter().any(|c| c.hash.ct_eq(&new)));
        assert_eq!(src.calls(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_repeated_bad_token_never_spends_the_re_read_budget() {
        let src = Counting::new(Duration::ZERO);
        let good = token_of(&src, "acme");
        let cache = cached(&src, CacheSettings::default());
        cache
            .credentials_for(&t("acme"), &hash(&good))
            .await
            .unwrap();
        let bad = token::generate(&t("acme")).unwrap();
        cache.credentials_for(&t("acme"), &bad.hash).await.unwrap();
        assert_eq!(src.calls(), 2);
        tokio::time::advance(Duration::from_secs(5)).await;
        for _ in 0..100 {
            cache.credentials_for(&t("acme"), &bad.hash).await.unwrap();
        }
        assert_eq!(src.calls(), 2, "a rejected hash makes no call");
        // The budget is still there for a never-seen hash.
        let fresh = token::generate(&t("acme")).unwrap();
        cache
            .credentials_for(&t("acme"), &fresh.hash)
            .await
            .unwrap();
        assert_eq!(src.calls(), 3);
        // Past the bound, the oldest rejection is forgotten.
        for _ in 0..MAX_REJECTED {
            tokio::time::advance(Duration::from_secs(5)).await;
            let other = token::generate(&t("acme")).unwrap();
            cache
                .credentials_for(&t("acme"), &other.hash)
                .await
                .unwrap();
        }
        assert_eq!(src.calls(), 3 + MAX_REJECTED);
        tokio::time::advance(Duration::from_secs(5)).await;
        cache.credentials_for(&t("acme"), &bad.hash).await.unwrap();
        assert_eq!(src.calls(), 4 + MAX_REJECTED, "forgotten: read once more");
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_of_bad_tokens_on_a_cold_tenant_costs_two_reads() {
        let src = Counting::new(Duration::ZERO);
        src.inner.generate(&t("acme"), None).unwrap();
        let cache = cached(&src, CacheSettings::default());
        for _ in 0..100 {
            let bad = token::generate(&t("acme")).unwrap();
            assert_eq!(
                cache
                    .credentials_for(&t("acme"), &bad.hash)
                    .await
                    .unwrap()
                    .len(),
                1
            );
        }
        assert_eq!(src.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn the_periodic_re_read_does_not_delay_a_new_token() {
        let src = Counting::new(Duration::ZERO);
        let old = token_of(&src, "acme");
        let cache = cached(&src, CacheSettings::default());
        cache
            .credentials_for(&t("acme"), &hash(&old))
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(31)).await;
        cache
            .credentials_for(&t("acme"), &hash(&old))
            .await
            .unwrap();
        let new = token_of(&src, "acme");
        let creds = cache
            .credentials_for(&t("acme"), &hash(&new))
            .await
            .unwrap();
        assert!(creds[0].hash.ct_eq(&hash(&new)));
        assert_eq!(src.calls(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_misses_of_one_tenant_share_one_read() {
        let src = Counting::new(Duration::from_millis(50));
        let tok = token_of(&src, "acme");
        let cache = Arc::new(cached(&src, CacheSettings::default()));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let cache = cache.clone();
            let h = hash(&tok);
            tasks.push(tokio::spawn(async move {
                cache.credentials_for(&t("acme"), &h).await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap().len(), 1);
        }
        assert_eq!(src.calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_oldest_tenant_is_evicted_beyond_the_bound() {
        let src = Counting::new(Duration::ZERO);
        let cache = cached(
            &src,
            CacheSettings {
                max_tenants: 3,
                ..Default::default()
            },
        );
        for name in ["a", "b", "c", "d", "e"] {
            src.inner.generate(&t(name), None).unwrap();
            cache.credentials(&t(name)).await.unwrap();
        }
        assert_eq!(cache.len(), 3);
        cache.credentials(&t("e")).await.unwrap();
        assert_eq!(src.calls(), 5);
        cache.credentials(&t("a")).await.unwrap();
        assert_eq!(src.calls(), 6, "an evicted tenant is read again");
    }

    #[tokio::test(start_paused = true)]
    async fn failures_are_errors_briefly_remembered_and_never_stale_data() {
        let src = Counting::new(Duration::ZERO);
        let tok = token_of(&src, "acme");
        let cache = cached(&src, CacheSettings::default());
        cache
            .credentials_for(&t("acme"), &hash(&tok))
            .await
            .unwrap();
        src.down.store(true, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(30)).await;
        for _ in 0..10 {
            let e = cache
                .credentials_for(&t("acme"), &hash(&tok))
                .await
                .unwrap_err();
            assert!(matches!(e, SourceError::Unavailable(_)));
        }
        assert_eq!(src.calls(), 2, "the error is remembered for the backoff");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(cache
            .credentials_for(&t("acme"), &hash(&tok))
            .await
            .is_err());
        assert_eq!(src.calls(), 3);
        src.down.store(false, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            cache
                .credentials_for(&t("acme"), &hash(&tok))
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_tenant_costs_one_read_per_interval_whatever_the_token() {
        let src = Counting::new(Duration::ZERO);
        let cache = cached(&src, CacheSettings::default());
        for _ in 0..100 {
            let bad = token::generate(&t("ghost")).unwrap();
            assert!(cache
                .credentials_for(&t("ghost"), &bad.hash)
                .await
                .unwrap()
                .is_empty());
        }
        assert_eq!(src.calls(), 1);
        assert_eq!((cache.len(), cache.unknown_len()), (0, 1));
        tokio::time::advance(Duration::from_secs(5)).await;
        for _ in 0..100 {
            let bad = token::generate(&t("ghost")).unwrap();
            cache.credentials_for(&t("ghost"), &bad.hash).await.unwrap();
        }
        assert_eq!(src.calls(), 2, "one more read per interval");
        // Onboarded now: its token works from the next interval on, as a known tenant.
        let tok = token_of(&src, "ghost");
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(
            cache
                .credentials_for(&t("ghost"), &hash(&tok))
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!((cache.len(), cache.unknown_len()), (1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_tenants_never_evict_a_known_one() {
        let src = Counting::new(Duration::ZERO);
        let tok = token_of(&src, "acme");
        let cache = cached(
            &src,
            CacheSettings {
                max_tenants: 2,
                max_unknown_tenants: 5,
                ..Default::default()
            },
        );
        cache
            .credentials_for(&t("acme"), &hash(&tok))
            .await
            .unwrap();
        for i in 0..50 {
            let name = t(&format!("ghost-{i}"));
            let bad = token::generate(&name).unwrap();
            assert!(cache
                .credentials_for(&name, &bad.hash)
                .await
                .unwrap()
                .is_empty());
        }
        assert_eq!(src.calls(), 51);
        assert_eq!((cache.len(), cache.unknown_len()), (1, 5));
        cache
            .credentials_for(&t("acme"), &hash(&tok))
            .await
            .unwrap();
        assert_eq!(src.calls(), 51, "the known tenant is still cached");
    }

    #[test]
    fn the_ttl_is_capped() {
        let src = Counting::new(Duration::ZERO);
        let cache = cached(
            &src,
            CacheSettings {
                ttl: Duration::from_secs(600),
                max_tenants: 0,
                ..Default::default()
            },
        );
        assert_eq!(cache.settings().ttl, MAX_TTL);
        assert_eq!(cache.settings().max_tenants, 1);
    }
}
