//! The DynamoDB adapter of [`GroupStore`]: reads and look-ups here, chunked writes in
//! `members.rs`, delete clean-ups in `cascade.rs`.
//!
//! Round trips: `get_group` 1 GetItem; `find_groups_by_display_name` 1 Query of the look-up
//! entries, then 1 BatchGetItem per 100 groups found (none when nothing matches); `list_groups`
//! 1 Query and 1 GetItem (the counter), concurrently; `list_members` 1 Query per page;
//! `members_among` 1 BatchGetItem per 100 ids; `resolve_members` 1 BatchGetItem per 50 ids
//! (each id is looked up as a user and as a group); `groups_of` 1 Query, then 1 BatchGetItem
//! per 100 groups; `update_group` 1 TransactWriteItems per chunk (33 additions or 49 removals),
//! plus 1 GetItem when neither `expected_version` nor `current` says where to start;
//! `delete_group` 1 TransactWriteItems, then the clean-up (2 Queries, plus writes when there
//! were memberships). Every read is strongly consistent.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::batch::Projection;
use super::errors::{classify, sdk_error, Cancelled};
use super::group_item::{self, group_from_item, member_from_item, sort_key, GROUPS};
use super::group_refs;
use super::group_tx::{self, Part};
use super::item;
use super::keys::{self, Key, Partition, PK};
use super::{epoch_seconds_after, DynamoStore, Rejected, DELETION_RECORD_RETENTION};
use crate::audit::AuditRecord;
use crate::scim::members::{GroupRef, Member, MemberKind};
use crate::scim::resource::{fold_user_name, Resource, Version};
use crate::store::cursor::{self, plausible_id};
use crate::store::{Deletion, GroupStore, GroupUpdate, MemberPage, Page, PageRequest, StoreError};
use crate::tenant::TenantId;

/// The distinct ids among `ids` that a store could hold, in their first order.
fn plausible_unique(ids: &[String]) -> Vec<&str> {
    let mut seen = HashSet::new();
    ids.iter()
        .map(String::as_str)
        .filter(|id| plausible_id(id) && seen.insert(*id))
        .collect()
}

impl DynamoStore {
    /// Which of `ids` are a User or a Group of the tenant: keys-only reads of both possible items.
    pub(super) async fn resolve(
        &self,
        tenant: &TenantId,
        ids: &[String],
    ) -> Result<HashMap<String, MemberKind>, StoreError> {
        let ids = plausible_unique(ids);
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let keys: Vec<Key> = ids
            .iter()
            .flat_map(|id| [keys::user(tenant, id), keys::group(tenant, id)])
            .collect();
        let users_pk = Partition::Users.pk(tenant);
        let groups_pk = Partition::Groups.pk(tenant);
        let mut out = HashMap::new();
        for found in self.batch_get(&keys, Projection::Keys).await? {
            let pk = group_item::partition_key(&found)?;
            let kind = if pk == users_pk {
                MemberKind::User
            } else if pk == groups_pk {
                MemberKind::Group
            } else {
                continue;
            };
            out.insert(sort_key(&found)?.to_owned(), kind);
        }
        Ok(out)
    }

    /// The existing groups among `ids`, in id order.
    pub(super) async fn groups_by_id(
        &self,
        tenant: &TenantId,
        ids: &[String],
    ) -> Result<Vec<Resource>, StoreError> {
        let keys: Vec<Key> = plausible_unique(ids)
            .into_iter()
            .map(|id| keys::group(tenant, id))
            .collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut groups = self
            .batch_get(&keys, Projection::All)
            .await?
            .into_iter()
            .map(group_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        groups.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(groups)
    }

    /// The ids listed under `display_name`, at most `limit`, in id order.
    async fn display_name_ids(
        &self,
        tenant: &TenantId,
        display_name: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let pk = Partition::DisplayNames.pk(tenant);
        let prefix = keys::display_name_prefix(display_name);
        self.index_entries(pk, prefix, limit)
            .await?
            .iter()
            .map(|entry| group_item::group_id_of(entry).map(str::to_owned))
            .collect()
    }
}

#[async_trait]
impl GroupStore for DynamoStore {
    async fn create_group(
        &self,
        tenant: &TenantId,
        group: &Resource,
        members: &[Member],
        audit: &AuditRecord,
    ) -> Result<Version, StoreError> {
        self.create_group_chunks(tenant, group, members, audit)
            .await
    }

    async fn get_group(&self, tenant: &TenantId, id: &str) -> Result<Option<Resource>, StoreError> {
        if !plausible_id(id) {
            return Ok(None);
        }
        match self.get_item(&keys::group(tenant, id)).await? {
            Some(item) => group_from_item(item).map(Some),
            None => Ok(None),
        }
    }

    async fn find_groups_by_display_name(
        &self,
        tenant: &TenantId,
        display_name: &str,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let ids = self.display_name_ids(tenant, display_name, limit).await?;
        let folded = fold_user_name(display_name);
        // An entry read just before a rename or delete committed may point to a group that no
        // longer has this name: the group decides.
        let mut found: Vec<Resource> = self
            .groups_by_id(tenant, &ids)
            .await?
            .into_iter()
            .filter(|g| fold_user_name(group_item::display_name_of(g)) == folded)
            .collect();
        found.truncate(limit);
        Ok(found)
    }

    async fn update_group(
        &self,
        tenant: &TenantId,
        update: &GroupUpdate<'_>,
        audit: &AuditRecord,
    ) -> Result<Version, StoreError> {
        if !plausible_id(update.id) {
            return Err(StoreError::NotFound);
        }
        self.apply_update(tenant, update, audit).await
    }

    async fn delete_group(
        &self,
        tenant: &TenantId,
        current: &Resource,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let deletion = Deletion::of(audit);
        let record = item::group_deletion_item(
            tenant,
            current,
            &deletion,
            epoch_seconds_after(DELETION_RECORD_RETENTION),
        )?;
        let days = self.audit_retention_days;
        let tx = group_tx::delete(&self.table, tenant, current, record, audit, days)?;
        match self.send_tx(&tx.items).await {
            Ok(()) => {}
            Err(Rejected::Failed(e)) => return Err(e),
            Err(Rejected::Cancelled(reasons)) => {
                let failed = match classify(&reasons) {
                    Cancelled::Conditions(failed) => failed,
                    Cancelled::Failed(e) => return Err(e),
                    Cancelled::Conflict => {
                        return Err(StoreError::Unavailable("transaction conflict".into()))
                    }
                };
                return Err(match failed.first() {
                    Some((i, old)) if tx.roles.get(*i) == Some(&Part::Group) => {
                        if old.is_some() {
                            StoreError::VersionConflict
                        } else {
                            StoreError::NotFound
                        }
                    }
                    _ => StoreError::Internal("a group deletion record already exists".into()),
                });
            }
        }
        // The group is gone for SCIM; what is left is invisible and resumable (cascade.rs,
        // follow_up.rs).
        self.after_group_delete(tenant, &current.id, &deletion.deleted_at)
            .await;
        Ok(())
    }

    async fn list_groups(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page, StoreError> {
        self.list_page(tenant, Partition::Groups, GROUPS, page, group_from_item)
            .await
    }

    async fn list_members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<MemberPage, StoreError> {
        let after = cursor.map(|c| cursor::decode(tenant, c)).transpose()?;
        if limit == 0 || !plausible_id(group_id) {
            return Ok(MemberPage {
                members: Vec::new(),
                next_cursor: None,
            });
        }
        let pk = keys::members_pk(tenant, group_id);
        let start = after.map(|id| {
            Key {
                pk: pk.clone(),
                sk: id,
            }
            .to_attrs()
        });
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .consistent_read(true)
            .limit(i32::try_from(limit.saturating_add(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        let mut items = out.items.unwrap_or_default();
        let more = items.len() > limit || out.last_evaluated_key.is_some_and(|k| !k.is_empty());
        items.truncate(limit);
        let members = items
            .into_iter()
            .map(member_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = match members.last() {
            Some(last) if more => Some(cursor::encode(tenant, &last.value)),
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
        if !plausible_id(group_id) {
            return Ok(HashSet::new());
        }
        let keys: Vec<Key> = plausible_unique(ids)
            .into_iter()
            .map(|id| keys::member(tenant, group_id, id))
            .collect();
        if keys.is_empty() {
            return Ok(HashSet::new());
        }
        self.batch_get(&keys, Projection::Keys)
            .await?
            .iter()
            .map(|i| sort_key(i).map(str::to_owned))
            .collect()
    }

    async fn groups_of_users(
        &self,
        tenant: &TenantId,
        user_ids: &[String],
    ) -> Result<HashMap<String, Vec<GroupRef>>, StoreError> {
        let keys: Vec<Key> = plausible_unique(user_ids)
            .into_iter()
            .map(|id| keys::user(tenant, id))
            .collect();
        let mut out = HashMap::with_capacity(keys.len());
        for item in self.batch_get(&keys, Projection::All).await? {
            let inline = group_refs::inline_groups(&item);
            let id = sort_key(&item)?.to_owned();
            let groups = match inline {
                Some(groups) => groups,
                // Written before references, or in too many groups.
                None => self.groups_of(tenant, &id).await?,
            };
            out.insert(id, groups);
        }
        for id in user_ids {
            out.entry(id.clone()).or_default();
        }
        Ok(out)
    }

    async fn groups_of(
        &self,
        tenant: &TenantId,
        member_id: &str,
    ) -> Result<Vec<GroupRef>, StoreError> {
        if !plausible_id(member_id) {
            return Ok(Vec::new());
        }
        let ids = self
            .partition_keys(keys::member_of_pk(tenant, member_id))
            .await?
            .iter()
            .map(|i| sort_key(i).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        // Groups deleted (and not yet cleaned up) are not read back: left out.
        Ok(self
            .groups_by_id(tenant, &ids)
            .await?
            .into_iter()
            .map(|g| GroupRef {
                display_name: group_item::display_name_of(&g).to_owned(),
                external_id: g.external_id().map(str::to_owned),
                id: g.id,
            })
            .collect())
    }

    async fn resolve_members(
        &self,
        tenant: &TenantId,
        ids: &[String],
    ) -> Result<HashMap<String, MemberKind>, StoreError> {
        self.resolve(tenant, ids).await
    }
}
