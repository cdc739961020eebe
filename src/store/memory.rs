//! The embedded store: everything in process memory, behind one lock.
//!
//! It serves `make run` and fast tests, and passes the same contract suite as DynamoDB. Every
//! operation takes the lock once and never awaits while holding it, so each is atomic.

mod admin;
mod groups;
mod policies;
mod settings;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use std::sync::Arc;

use crate::audit::{AuditRecord, AuditSink};
use crate::store::audit::{selected, AuditLog, AuditQuery};

use super::cursor::{decode as decode_cursor, encode as encode_cursor};
use super::{
    Deletion, GroupStore, Page, PageRequest, StoreError, UniqueAttr, UserStore, MAX_RESOURCE_BYTES,
};
use crate::scim::emails::indexed_emails;
use crate::scim::members::{GroupRef, Member};
use crate::scim::resource::{fold_user_name, Folded, Resource};
use crate::tenant::TenantId;

#[derive(Default)]
struct TenantData {
    /// Ordered by id: the stable list order.
    users: BTreeMap<String, Resource>,
    by_user_name: HashMap<Folded, String>,
    /// externalId -> ids of the users that have it (not unique, RFC 7643 §3.1).
    by_external_id: HashMap<String, BTreeSet<String>>,
    /// Folded email address -> ids of the users that have it (`scim::emails`).
    by_email: HashMap<Folded, BTreeSet<String>>,
    /// Users and groups, oldest first.
    deletions: Vec<(String, Deletion)>,
    /// The audit trail, oldest first, appended under the same lock as each change.
    audit: Vec<AuditRecord>,
    /// Group records (never with members), ordered by id.
    groups: BTreeMap<String, Resource>,
    /// Case-folded displayName -> ids of the groups that have it (not unique, RFC 7643 §4.2).
    groups_by_name: HashMap<Folded, BTreeSet<String>>,
    /// Group id -> its members by member id: the group->member membership items.
    members: HashMap<String, BTreeMap<String, Member>>,
    /// Member id -> the groups it is in: the member->group membership items.
    member_of: HashMap<String, BTreeSet<String>>,
    /// The tenant's settings record (`None`: never written).
    settings: Option<crate::settings::VersionedSettings>,
}

/// The in-process store. Cheap to create; one per local server or test.
#[derive(Default)]
pub struct MemoryStore {
    tenants: Mutex<HashMap<TenantId, TenantData>>,
    /// Told of each audit record as it commits (the local event feed).
    sink: Option<Arc<dyn AuditSink>>,
    /// Setup-link revocations and health counters (`memory/admin.rs`), apart from the SCIM data.
    admin: Mutex<HashMap<TenantId, admin::AdminData>>,
    /// The seats of tenants with a `seat_limit` (`memory/policies.rs`).
    seats: tokio::sync::Mutex<HashMap<TenantId, super::policies::Seats>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The same store, telling `sink` of every committed change (as DynamoDB Streams would).
    pub fn with_sink(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Keep `record` in the tenant's trail and tell the sink, under the lock the change holds:
    /// the sink sees records in commit order, and only committed ones.
    fn commit(&self, t: &mut TenantData, record: AuditRecord) {
        if let Some(sink) = &self.sink {
            sink.committed(&record);
        }
        t.audit.push(record);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TenantId, TenantData>> {
        // A panic while holding the lock cannot leave a half-written tenant: every write below
        // validates first and mutates after. So a poisoned lock is still consistent.
        self.tenants.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The deletion records kept for a tenant, oldest first: (user or group id, record).
    pub fn deletions(&self, tenant: &TenantId) -> Vec<(String, Deletion)> {
        self.lock()
            .get(tenant)
            .map(|t| t.deletions.clone())
            .unwrap_or_default()
    }
}

/// Refuse what DynamoDB would refuse, so that local runs fail where production would.
fn check_size(resource: &Resource) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(&resource.attributes)
        .map_err(|e| StoreError::Internal(format!("cannot serialise a resource: {e}")))?;
    if bytes.len() > MAX_RESOURCE_BYTES {
        return Err(StoreError::TooLarge);
    }
    Ok(())
}

impl TenantData {
    /// Would `user` collide with a user other than itself?
    fn check_unique(&self, user: &Resource) -> Result<(), StoreError> {
        if let Some(owner) = self.by_user_name.get(&fold_user_name(user.user_name())) {
            if owner != &user.id {
                return Err(StoreError::Uniqueness(UniqueAttr::UserName));
            }
        }
        Ok(())
    }

    fn unindex(&mut self, user: &Resource) {
        self.by_user_name.remove(&fold_user_name(user.user_name()));
        if let Some(e) = user.external_id() {
            if let Some(ids) = self.by_external_id.get_mut(e) {
                ids.remove(&user.id);
                if ids.is_empty() {
                    self.by_external_id.remove(e);
                }
            }
        }
        for email in indexed_emails(&user.attributes) {
            if let Some(ids) = self.by_email.get_mut(&email) {
                ids.remove(&user.id);
                if ids.is_empty() {
                    self.by_email.remove(&email);
                }
            }
        }
    }

    fn index(&mut self, user: &Resource) {
        self.by_user_name
            .insert(fold_user_name(user.user_name()), user.id.clone());
        if let Some(e) = user.external_id() {
            self.by_external_id
                .entry(e.to_owned())
                .or_default()
                .insert(user.id.clone());
        }
        for email in indexed_emails(&user.attributes) {
            self.by_email
                .entry(email)
                .or_default()
                .insert(user.id.clone());
        }
    }

    /// The users an index lists under one value, at most `limit`, in id order.
    fn users_in(&self, ids: Option<&BTreeSet<String>>, limit: usize) -> Vec<Resource> {
        let ids = ids.into_iter().flatten();
        ids.filter_map(|id| self.users.get(id).cloned())
            .take(limit)
            .collect()
    }

    /// The stored user iff it is still at `current.version`.
    fn expect_version(&self, current: &Resource) -> Result<&Resource, StoreError> {
        let stored = self.users.get(&current.id).ok_or(StoreError::NotFound)?;
        if stored.version != current.version {
            return Err(StoreError::VersionConflict);
        }
        Ok(stored)
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(
        &self,
        tenant: &TenantId,
        user: &Resource,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        check_size(user)?;
        let mut tenants = self.lock();
        let t = tenants.entry(tenant.clone()).or_default();
        if t.users.contains_key(&user.id) {
            return Err(StoreError::Internal(format!(
                "user id collision: {}",
                user.id
            )));
        }
        t.check_unique(user)?;
        t.index(user);
        t.users.insert(user.id.clone(), user.clone());
        self.commit(t, audit.clone());
        Ok(())
    }

    async fn get_user(&self, tenant: &TenantId, id: &str) -> Result<Option<Resource>, StoreError> {
        Ok(self
            .lock()
            .get(tenant)
            .and_then(|t| t.users.get(id).cloned()))
    }

    async fn find_user_by_user_name(
        &self,
        tenant: &TenantId,
        user_name: &str,
    ) -> Result<Option<Resource>, StoreError> {
        let tenants = self.lock();
        Ok(tenants.get(tenant).and_then(|t| {
            let id = t.by_user_name.get(&fold_user_name(user_name))?;
            t.users.get(id).cloned()
        }))
    }

    async fn find_users_by_external_id(
        &self,
        tenant: &TenantId,
        external_id: &str,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        let tenants = self.lock();
        let Some(t) = tenants.get(tenant) else {
            return Ok(Vec::new());
        };
        Ok(t.users_in(t.by_external_id.get(external_id), limit))
    }

    async fn find_users_by_email(
        &self,
        tenant: &TenantId,
        email: &str,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        let tenants = self.lock();
        let Some(t) = tenants.get(tenant) else {
            return Ok(Vec::new());
        };
        Ok(t.users_in(t.by_email.get(&Folded::of(email)), limit))
    }

    async fn update_user(
        &self,
        tenant: &TenantId,
        current: &Resource,
        next: &Resource,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        check_size(next)?;
        let mut tenants = self.lock();
        let t = tenants.get_mut(tenant).ok_or(StoreError::NotFound)?;
        let stored = t.expect_version(current)?.clone();
        t.check_unique(next)?;
        t.unindex(&stored);
        t.index(next);
        t.users.insert(next.id.clone(), next.clone());
        self.commit(t, audit.clone());
        Ok(())
    }

    async fn get_user_with_groups(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<(Resource, Vec<GroupRef>)>, StoreError> {
        let Some(user) = self.get_user(tenant, id).await? else {
            return Ok(None);
        };
        let groups = GroupStore::groups_of(self, tenant, id).await?;
        Ok(Some((user, groups)))
    }

    async fn delete_user(
        &self,
        tenant: &TenantId,
        current: &Resource,
        _groups: Option<&[GroupRef]>,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let deletion = Deletion::of(audit);
        let mut tenants = self.lock();
        let t = tenants.get_mut(tenant).ok_or(StoreError::NotFound)?;
        let stored = t.expect_version(current)?.clone();
        t.unindex(&stored);
        t.users.remove(&stored.id);
        self.commit(t, audit.clone());
        t.leave_all_groups(&stored.id, &deletion.deleted_at);
        t.deletions.push((stored.id, deletion));
        Ok(())
    }

    async fn list_users(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page, StoreError> {
        let tenants = self.lock();
        match tenants.get(tenant) {
            Some(t) => page_of(&t.users, tenant, page),
            None => page_of(&BTreeMap::new(), tenant, page),
        }
    }
}

#[async_trait]
impl AuditLog for MemoryStore {
    async fn audit_records(
        &self,
        tenant: &TenantId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(self.audit_where(tenant, false, query.limit, |r| selected(r, query)))
    }
}

impl MemoryStore {
    /// Up to `limit` of the tenant's audit records that `keep` selects, oldest first (or newest
    /// first with `newest_first`).
    fn audit_where(
        &self,
        tenant: &TenantId,
        newest_first: bool,
        limit: usize,
        keep: impl Fn(&AuditRecord) -> bool,
    ) -> Vec<AuditRecord> {
        let tenants = self.lock();
        let Some(t) = tenants.get(tenant) else {
            return Vec::new();
        };
        let all: Box<dyn Iterator<Item = &AuditRecord>> = if newest_first {
            Box::new(t.audit.iter().rev())
        } else {
            Box::new(t.audit.iter())
        };
        all.filter(|r| keep(r)).take(limit).cloned().collect()
    }
}

/// A page of `items` (ordered by id) for `page`, with the total: the list order of users and
/// groups alike.
fn page_of(
    items: &BTreeMap<String, Resource>,
    tenant: &TenantId,
    page: &PageRequest,
) -> Result<Page, StoreError> {
    use std::ops::Bound::{Excluded, Unbounded};
    let after = match &page.cursor {
        Some(c) => Some(decode_cursor(tenant, c)?),
        None => None,
    };
    let iter: Box<dyn Iterator<Item = &Resource>> = match &after {
        Some(last) => Box::new(
            items
                .range::<String, _>((Excluded(last), Unbounded))
                .map(|(_, r)| r),
        ),
        None => Box::new(items.values().skip(page.start_index.saturating_sub(1))),
    };
    let out: Vec<Resource> = iter.take(page.count).cloned().collect();
    let next_cursor = match out.last() {
        Some(last)
            if page.count > 0
                && items
                    .range::<String, _>((Excluded(&last.id), Unbounded))
                    .next()
                    .is_some() =>
        {
            Some(encode_cursor(tenant, &last.id))
        }
        _ => None,
    };
    Ok(Page {
        items: out,
        total_results: items.len(),
        next_cursor,
    })
}
