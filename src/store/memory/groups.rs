//! Groups and memberships in the embedded store. Memberships live in two maps (group->members,
//! member->groups), the in-memory shape of DynamoDB's membership items; a group record never
//! holds its members. Each operation takes the store's lock once, so it is atomic, and validates
//! before it mutates.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;

use crate::audit::AuditRecord;

use super::{decode_cursor, encode_cursor, page_of, MemoryStore, TenantData};
use crate::scim::members::{GroupRef, Member, MemberKind};
use crate::scim::resource::{fold_user_name, Folded, Resource, Version};
use crate::store::{Deletion, GroupStore, GroupUpdate, MemberPage, Page, PageRequest, StoreError};
use crate::tenant::TenantId;

fn name_key(group: &Resource) -> Folded {
    // Same folding as userName: displayName is caseExact false (RFC 7643 §4.2).
    fold_user_name(group.display_name().unwrap_or_default())
}

impl TenantData {
    fn index_group(&mut self, group: &Resource) {
        self.groups_by_name
            .entry(name_key(group))
            .or_default()
            .insert(group.id.clone());
    }

    fn unindex_group(&mut self, group: &Resource) {
        let key = name_key(group);
        if let Some(ids) = self.groups_by_name.get_mut(&key) {
            ids.remove(&group.id);
            if ids.is_empty() {
                self.groups_by_name.remove(&key);
            }
        }
    }

    /// The kind of resource `id` names in this tenant, if any.
    fn kind_of(&self, id: &str) -> Option<MemberKind> {
        if self.users.contains_key(id) {
            Some(MemberKind::User)
        } else if self.groups.contains_key(id) {
            Some(MemberKind::Group)
        } else {
            None
        }
    }

    /// A user whose groups changed has a new version (its `groups` are part of it), as on
    /// DynamoDB, where the user item carries its group references.
    fn touch_user(&mut self, id: &str, when: &str) {
        if let Some(u) = self.users.get_mut(id) {
            u.version = u.version.next();
            u.last_modified = when.to_owned();
        }
    }

    /// Add `m` to `group_id` if it exists and is not the group itself. True if it was added.
    fn add_member(&mut self, group_id: &str, m: &Member, when: &str) -> bool {
        let Some(kind) = self.kind_of(&m.value) else {
            return false;
        };
        if m.value == group_id {
            return false;
        }
        let members = self.members.entry(group_id.to_owned()).or_default();
        if members.contains_key(&m.value) {
            return false;
        }
        members.insert(m.value.clone(), Member { kind, ..m.clone() });
        self.member_of
            .entry(m.value.clone())
            .or_default()
            .insert(group_id.to_owned());
        self.touch_user(&m.value, when);
        true
    }

    fn remove_member(&mut self, group_id: &str, member_id: &str, when: &str) -> bool {
        let removed = self
            .members
            .get_mut(group_id)
            .and_then(|ms| ms.remove(member_id))
            .is_some();
        if removed {
            if let Some(gs) = self.member_of.get_mut(member_id) {
                gs.remove(group_id);
                if gs.is_empty() {
                    self.member_of.remove(member_id);
                }
            }
            self.touch_user(member_id, when);
        }
        removed
    }

    fn bump(&mut self, group_id: &str, last_modified: &str) -> Option<Version> {
        let g = self.groups.get_mut(group_id)?;
        g.version = g.version.next();
        g.last_modified = last_modified.to_owned();
        Some(g.version)
    }

    /// Remove `member_id` from every group it is in, giving each a new version (the cascade of
    /// deleting a user or a group).
    pub(super) fn leave_all_groups(&mut self, member_id: &str, when: &str) {
        let groups = self.member_of.remove(member_id).unwrap_or_default();
        for g in groups {
            if let Some(ms) = self.members.get_mut(&g) {
                ms.remove(member_id);
            }
            self.bump(&g, when);
        }
    }
}

#[async_trait]
impl GroupStore for MemoryStore {
    async fn create_group(
        &self,
        tenant: &TenantId,
        group: &Resource,
        members: &[Member],
        audit: &AuditRecord,
    ) -> Result<Version, StoreError> {
        super::check_size(group)?;
        crate::store::check_group_attributes(&group.attributes)?;
        let mut tenants = self.lock();
        let t = tenants.entry(tenant.clone()).or_default();
        if t.groups.contains_key(&group.id) || t.users.contains_key(&group.id) {
            return Err(StoreError::Internal(format!(
                "group id collision: {}",
                group.id
            )));
        }
        t.groups.insert(group.id.clone(), group.clone());
        t.index_group(group);
        for m in members {
            t.add_member(&group.id, m, &group.last_modified);
        }
        self.commit(t, audit.clone().at_version(group.version));
        Ok(group.version)
    }

    async fn get_group(&self, tenant: &TenantId, id: &str) -> Result<Option<Resource>, StoreError> {
        Ok(self
            .lock()
            .get(tenant)
            .and_then(|t| t.groups.get(id).cloned()))
    }

    async fn find_groups_by_display_name(
        &self,
        tenant: &TenantId,
        display_name: &str,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        let tenants = self.lock();
        let Some(t) = tenants.get(tenant) else {
            return Ok(Vec::new());
        };
        Ok(t.groups_by_name
            .get(&fold_user_name(display_name))
            .into_iter()
            .flatten()
            .filter_map(|id| t.groups.get(id).cloned())
            .take(limit)
            .collect())
    }

    async fn update_group(
        &self,
        tenant: &TenantId,
        update: &GroupUpdate<'_>,
        audit: &AuditRecord,
    ) -> Result<Version, StoreError> {
        let mut tenants = self.lock();
        let t = tenants.get_mut(tenant).ok_or(StoreError::NotFound)?;
        let stored = t.groups.get(update.id).ok_or(StoreError::NotFound)?.clone();
        if update.expected_version.is_some_and(|v| v != stored.version) {
            return Err(StoreError::VersionConflict);
        }
        let mut changed = false;
        if let Some(attributes) = update.attributes {
            crate::store::check_group_attributes(attributes)?;
            super::check_size(&Resource {
                attributes: attributes.clone(),
                ..stored.clone()
            })?;
            t.unindex_group(&stored);
            let next = Resource {
                attributes: attributes.clone(),
                ..stored.clone()
            };
            t.index_group(&next);
            t.groups.insert(next.id.clone(), next);
            changed = true;
        }
        // The record names exactly the members this write moved, and the version it left.
        let removed: Vec<String> = update
            .remove
            .iter()
            .filter(|id| t.remove_member(update.id, id, update.last_modified))
            .cloned()
            .collect();
        let added: Vec<String> = update
            .add
            .iter()
            .filter(|m| t.add_member(update.id, m, update.last_modified))
            .map(|m| m.value.clone())
            .collect();
        if !changed && added.is_empty() && removed.is_empty() {
            return Ok(stored.version);
        }
        let version = t
            .bump(update.id, update.last_modified)
            .ok_or(StoreError::NotFound)?;
        self.commit(
            t,
            audit
                .clone()
                .at_version(version)
                .with_member_ids(added, removed),
        );
        Ok(version)
    }

    async fn delete_group(
        &self,
        tenant: &TenantId,
        current: &Resource,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let deletion = Deletion::of(audit);
        let mut tenants = self.lock();
        let t = tenants.get_mut(tenant).ok_or(StoreError::NotFound)?;
        let stored = t
            .groups
            .get(&current.id)
            .ok_or(StoreError::NotFound)?
            .clone();
        if stored.version != current.version {
            return Err(StoreError::VersionConflict);
        }
        t.unindex_group(&stored);
        t.groups.remove(&stored.id);
        self.commit(t, audit.clone());
        for member in t.members.remove(&stored.id).unwrap_or_default().into_keys() {
            if let Some(gs) = t.member_of.get_mut(&member) {
                gs.remove(&stored.id);
                if gs.is_empty() {
                    t.member_of.remove(&member);
                }
            }
            t.touch_user(&member, &deletion.deleted_at);
        }
        t.leave_all_groups(&stored.id, &deletion.deleted_at);
        t.deletions.push((stored.id, deletion));
        Ok(())
    }

    async fn list_groups(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page, StoreError> {
        let tenants = self.lock();
        match tenants.get(tenant) {
            Some(t) => page_of(&t.groups, tenant, page),
            None => page_of(&BTreeMap::new(), tenant, page),
        }
    }

    async fn list_members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<MemberPage, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        let after = cursor.map(|c| decode_cursor(tenant, c)).transpose()?;
        let tenants = self.lock();
        let empty = BTreeMap::new();
        let all = tenants
            .get(tenant)
            .and_then(|t| t.members.get(group_id))
            .unwrap_or(&empty);
        let iter: Box<dyn Iterator<Item = &Member>> = match &after {
            Some(last) => Box::new(
                all.range::<String, _>((Excluded(last), Unbounded))
                    .map(|(_, m)| m),
            ),
            None => Box::new(all.values()),
        };
        let members: Vec<Member> = iter.take(limit).cloned().collect();
        let next_cursor = match members.last() {
            Some(last)
                if all
                    .range::<String, _>((Excluded(&last.value), Unbounded))
                    .next()
                    .is_some() =>
            {
                Some(encode_cursor(tenant, &last.value))
            }
            _ => None,
        };
        Ok(MemberPage {
            members,
            next_cursor,
        })
    }

    async fn members_among(
        &self,
        tenant: &TenantId,
        group_id: &str,
        ids: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        let tenants = self.lock();
        let Some(ms) = tenants.get(tenant).and_then(|t| t.members.get(group_id)) else {
            return Ok(HashSet::new());
        };
        Ok(ids
            .iter()
            .filter(|id| ms.contains_key(*id))
            .cloned()
            .collect())
    }

    async fn groups_of(
        &self,
        tenant: &TenantId,
        member_id: &str,
    ) -> Result<Vec<GroupRef>, StoreError> {
        let tenants = self.lock();
        let Some(t) = tenants.get(tenant) else {
            return Ok(Vec::new());
        };
        Ok(t.member_of
            .get(member_id)
            .into_iter()
            .flatten()
            .filter_map(|gid| t.groups.get(gid))
            .map(|g| GroupRef {
                id: g.id.clone(),
                display_name: g.display_name().unwrap_or_default().to_owned(),
                external_id: g.external_id().map(str::to_owned),
            })
            .collect())
    }

    async fn resolve_members(
        &self,
        tenant: &TenantId,
        ids: &[String],
    ) -> Result<HashMap<String, MemberKind>, StoreError> {
        let tenants = self.lock();
        let Some(t) = tenants.get(tenant) else {
            return Ok(HashMap::new());
        };
        Ok(ids
            .iter()
            .filter_map(|id| t.kind_of(id).map(|k| (id.clone(), k)))
            .collect())
    }
}
