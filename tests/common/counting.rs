//! A decorator of our own store port that counts calls per method, to pin down how many store
//! reads an operation costs. It wraps any `Store` (embedded or DynamoDB); it fakes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use scim_server::audit::AuditRecord;

use scim_server::scim::members::{GroupRef, Member, MemberKind};
use scim_server::scim::resource::Resource;
use scim_server::settings::{TenantSettings, VersionedSettings};
use scim_server::store::{
    GroupStore, GroupUpdate, MemberPage, Page, PageRequest, SettingsStore, Store, StoreError,
    UserStore,
};
use scim_server::tenant::TenantId;

pub struct CountingStore {
    inner: Arc<dyn Store>,
    calls: Mutex<BTreeMap<&'static str, usize>>,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        CountingStore {
            inner,
            calls: Mutex::new(BTreeMap::new()),
        }
    }

    fn hit(&self, name: &'static str) {
        *self
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name)
            .or_default() += 1;
    }

    /// The calls since the last `take`, by method name.
    pub fn take(&self) -> BTreeMap<&'static str, usize> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[async_trait]
impl UserStore for CountingStore {
    async fn create_user(
        &self,
        tenant: &TenantId,
        user: &Resource,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.hit("create_user");
        self.inner.create_user(tenant, user, audit).await
    }
    async fn get_user(&self, tenant: &TenantId, id: &str) -> Result<Option<Resource>, StoreError> {
        self.hit("get_user");
        self.inner.get_user(tenant, id).await
    }
    async fn find_user_by_user_name(
        &self,
        tenant: &TenantId,
        user_name: &str,
    ) -> Result<Option<Resource>, StoreError> {
        self.hit("find_user_by_user_name");
        self.inner.find_user_by_user_name(tenant, user_name).await
    }
    async fn find_users_by_external_id(
        &self,
        tenant: &TenantId,
        external_id: &str,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        self.hit("find_users_by_external_id");
        self.inner
            .find_users_by_external_id(tenant, external_id, limit)
            .await
    }
    async fn find_users_by_email(
        &self,
        tenant: &TenantId,
        email: &str,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        self.hit("find_users_by_email");
        self.inner.find_users_by_email(tenant, email, limit).await
    }
    async fn update_user(
        &self,
        tenant: &TenantId,
        current: &Resource,
        next: &Resource,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.hit("update_user");
        self.inner.update_user(tenant, current, next, audit).await
    }
    async fn get_user_with_groups(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<(Resource, Vec<GroupRef>)>, StoreError> {
        self.hit("get_user_with_groups");
        self.inner.get_user_with_groups(tenant, id).await
    }
    async fn delete_user(
        &self,
        tenant: &TenantId,
        current: &Resource,
        groups: Option<&[GroupRef]>,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.hit("delete_user");
        self.inner.delete_user(tenant, current, groups, audit).await
    }
    async fn list_users(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page, StoreError> {
        self.hit("list_users");
        self.inner.list_users(tenant, page).await
    }
}

#[async_trait]
impl GroupStore for CountingStore {
    async fn create_group(
        &self,
        tenant: &TenantId,
        group: &Resource,
        members: &[Member],
        audit: &AuditRecord,
    ) -> Result<scim_server::scim::resource::Version, StoreError> {
        self.hit("create_group");
        self.inner.create_group(tenant, group, members, audit).await
    }
    async fn get_group(&self, tenant: &TenantId, id: &str) -> Result<Option<Resource>, StoreError> {
        self.hit("get_group");
        self.inner.get_group(tenant, id).await
    }
    async fn find_groups_by_display_name(
        &self,
        tenant: &TenantId,
        display_name: &str,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        self.hit("find_groups_by_display_name");
        self.inner
            .find_groups_by_display_name(tenant, display_name, limit)
            .await
    }
    async fn update_group(
        &self,
        tenant: &TenantId,
        update: &GroupUpdate<'_>,
        audit: &AuditRecord,
    ) -> Result<scim_server::scim::resource::Version, StoreError> {
        self.hit("update_group");
        self.inner.update_group(tenant, update, audit).await
    }
    async fn delete_group(
        &self,
        tenant: &TenantId,
        current: &Resource,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.hit("delete_group");
        self.inner.delete_group(tenant, current, audit).await
    }
    async fn list_groups(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page, StoreError> {
        self.hit("list_groups");
        self.inner.list_groups(tenant, page).await
    }
    async fn list_members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<MemberPage, StoreError> {
        self.hit("list_members");
        self.inner
            .list_members(tenant, group_id, cursor, limit)
            .await
    }
    async fn members_among(
        &self,
        tenant: &TenantId,
        group_id: &str,
        ids: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        self.hit("members_among");
        self.inner.members_among(tenant, group_id, ids).await
    }
    async fn groups_of_users(
        &self,
        tenant: &TenantId,
        user_ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<GroupRef>>, StoreError> {
        self.hit("groups_of_users");
        self.inner.groups_of_users(tenant, user_ids).await
    }
    async fn groups_of(
        &self,
        tenant: &TenantId,
        member_id: &str,
    ) -> Result<Vec<GroupRef>, StoreError> {
        self.hit("groups_of");
        self.inner.groups_of(tenant, member_id).await
    }
    async fn resolve_members(
        &self,
        tenant: &TenantId,
        ids: &[String],
    ) -> Result<HashMap<String, MemberKind>, StoreError> {
        self.hit("resolve_members");
        self.inner.resolve_members(tenant, ids).await
    }
}

#[async_trait]
impl SettingsStore for CountingStore {
    async fn get_settings(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<VersionedSettings>, StoreError> {
        self.hit("get_settings");
        self.inner.get_settings(tenant).await
    }
    async fn put_settings(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
        expected_version: u64,
    ) -> Result<u64, StoreError> {
        self.hit("put_settings");
        self.inner
            .put_settings(tenant, settings, expected_version)
            .await
    }
}

#[async_trait]
impl scim_server::store::PolicyStore for CountingStore {
    async fn record_refusal(
        &self,
        tenant: &TenantId,
        record: &scim_server::audit::AuditRecord,
    ) -> Result<(), StoreError> {
        self.hit("record_refusal");
        self.inner.record_refusal(tenant, record).await
    }
    async fn get_seats(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<scim_server::store::Seats>, StoreError> {
        self.hit("get_seats");
        self.inner.get_seats(tenant).await
    }
    async fn put_seats(
        &self,
        tenant: &TenantId,
        seats: &scim_server::store::Seats,
    ) -> Result<(), StoreError> {
        self.hit("put_seats");
        self.inner.put_seats(tenant, seats).await
    }
    async fn write_user_seated(
        &self,
        tenant: &TenantId,
        write: scim_server::store::UserWrite<'_>,
        audit: &scim_server::audit::AuditRecord,
    ) -> Result<(), StoreError> {
        self.hit("write_user_seated");
        self.inner.write_user_seated(tenant, write, audit).await
    }
}
