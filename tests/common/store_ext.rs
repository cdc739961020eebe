//! Store methods only tests call, kept off the production traits: conveniences over
//! [`GroupStore::update_group`] for seeding and checking memberships directly.

use std::collections::HashSet;

use async_trait::async_trait;

use scim_server::scim::members::Member;
use scim_server::scim::resource::Resource;
use scim_server::store::{GroupStore, GroupUpdate, StoreError};
use scim_server::tenant::TenantId;

/// Every [`GroupStore`] (`dyn Store` included) has these.
#[async_trait]
pub trait GroupStoreTestExt: GroupStore {
    /// Add members without a version condition (idempotent). A convenience over `update_group`.
    async fn add_members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        members: &[Member],
        last_modified: &str,
    ) -> Result<scim_server::scim::resource::Version, StoreError> {
        self.change_members(tenant, group_id, members, &[], last_modified)
            .await
    }

    /// Remove members by id without a version condition (idempotent). A convenience over
    /// `update_group`.
    async fn remove_members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        member_ids: &[String],
        last_modified: &str,
    ) -> Result<scim_server::scim::resource::Version, StoreError> {
        self.change_members(tenant, group_id, &[], member_ids, last_modified)
            .await
    }

    /// Add and remove given ids without a version condition: what both conveniences above do.
    async fn change_members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        add: &[Member],
        remove: &[String],
        last_modified: &str,
    ) -> Result<scim_server::scim::resource::Version, StoreError> {
        let update = GroupUpdate {
            id: group_id,
            expected_version: None,
            attributes: None,
            add,
            remove,
            last_modified,
            current: None,
        };
        self.update_group(tenant, &update, &super::sys_audit())
            .await
    }

    /// Make `members` the group's exact member list, conditional on `current.version`: reads
    /// the current members (O(n) reads, paged) and writes only the difference (O(changes)).
    async fn replace_members(
        &self,
        tenant: &TenantId,
        current: &Resource,
        members: &[Member],
        last_modified: &str,
    ) -> Result<scim_server::scim::resource::Version, StoreError> {
        let mut existing = HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .list_members(tenant, &current.id, cursor.as_deref(), 1_000)
                .await?;
            existing.extend(page.members.into_iter().map(|m| m.value));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let wanted: HashSet<&str> = members.iter().map(|m| m.value.as_str()).collect();
        let add: Vec<Member> = members
            .iter()
            .filter(|m| !existing.contains(&m.value))
            .cloned()
            .collect();
        let remove: Vec<String> = existing
            .into_iter()
            .filter(|id| !wanted.contains(id.as_str()))
            .collect();
        let update = GroupUpdate {
            id: &current.id,
            expected_version: Some(current.version),
            attributes: None,
            add: &add,
            remove: &remove,
            last_modified,
            current: Some(current),
        };
        self.update_group(tenant, &update, &super::sys_audit())
            .await
    }
}

impl<T: GroupStore + ?Sized> GroupStoreTestExt for T {}
