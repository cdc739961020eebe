//! The backfill of what a table written before them lacks: `scimctl tenant reindex`.
//!
//! - Users written before email look-ups existed have no `EMAIL` entries, so an email filter
//!   would not find them; [`DynamoStore::reindex_emails`] writes the entries of every user.
//! - Users written before group references (`group_refs.rs`) have none on their item, so their
//!   `groups` are read the older way (3 calls); [`DynamoStore::reindex_group_refs`] writes them.
//!
//! Idempotent and safe while IdPs write: an entry is the same item whoever writes it, so writing
//! it again changes nothing, and a user's own transactions keep its entries from then on. An entry
//! written here just after a write removed that address is stale, which a look-up tolerates (the
//! user, as read, decides: `users.rs`); the next write of that user's emails does not remove it,
//! but it never answers wrongly.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::sdk_error;
use super::group_item::sort_key;
use super::group_refs::{ref_name, ref_value, INLINE_COUNT, MAX_INLINE_GROUPS, OVERFLOW};
use super::item::{Item, VERSION};
use super::keys::{self, Partition};
use super::user_item::{guard_item, user_from_item, GuardKind};
use super::DynamoStore;
use crate::scim::emails::indexed_emails;
use crate::scim::resource::Resource;
use crate::store::{PageRequest, StoreError, UserStore};
use crate::tenant::TenantId;

/// Users read per page of the backfill.
const PAGE: usize = 1_000;

/// What a backfill wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reindexed {
    /// Users read.
    pub users: usize,
    /// Email look-up entries written (present or not before).
    pub email_entries: usize,
}

/// What the group-reference backfill did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Referenced {
    /// Users whose item lacked references and now holds them (or is marked as past the limit).
    pub users: usize,
    /// Users changed while this ran (their item moved on): run it again for them.
    pub changed_meanwhile: usize,
}

impl DynamoStore {
    /// Write the email look-up entries of every user of `tenant`: one Query per 1,000 users (and
    /// the counter's), one `BatchWriteItem` per 25 entries.
    pub async fn reindex_emails(&self, tenant: &TenantId) -> Result<Reindexed, StoreError> {
        let mut done = Reindexed::default();
        let mut cursor = None;
        loop {
            let request = PageRequest {
                start_index: 1,
                count: PAGE,
                cursor,
            };
            let page = self.list_users(tenant, &request).await?;
            let mut entries = Vec::new();
            for user in &page.items {
                for email in indexed_emails(&user.attributes) {
                    let key = keys::email_entry(tenant, &email, &user.id);
                    entries.push(guard_item(GuardKind::EmailEntry, &key, &user.id)?);
                }
            }
            done.users += page.items.len();
            done.email_entries += entries.len();
            self.batch_put(entries).await?;
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(done),
            }
        }
    }
}

impl DynamoStore {
    /// Give every user of `tenant` whose item has no group references (written before them)
    /// its references: per such user, its member -> group items and groups are read (1 Query,
    /// 1 BatchGetItem), then one UpdateItem writes them, conditioned on the user still being at
    /// the version read and still without references (a membership change since bumps the
    /// version: that user is counted in `changed_meanwhile` and left for the next run). The
    /// groups are then read again: one renamed between the two reads (its rename refreshed the
    /// users holding a reference, which this user did not yet) has its copy refreshed here.
    /// Users in more than [`MAX_INLINE_GROUPS`] groups are marked instead (`go`). Idempotent.
    pub async fn reindex_group_refs(&self, tenant: &TenantId) -> Result<Referenced, StoreError> {
        let mut done = Referenced::default();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .partition_query(tenant, Partition::Users, start.take(), PAGE)
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            for item in out.items.unwrap_or_default() {
                if item.contains_key(INLINE_COUNT) {
                    continue;
                }
                let user = user_from_item(item)?;
                if self.give_refs(tenant, &user).await? {
                    done.users += 1;
                } else {
                    done.changed_meanwhile += 1;
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(done),
            }
        }
    }

    /// Write `user`'s references as read now; `false` when the user moved on meanwhile.
    async fn give_refs(&self, tenant: &TenantId, user: &Resource) -> Result<bool, StoreError> {
        let ids = self
            .partition_keys(keys::member_of_pk(tenant, &user.id))
            .await?
            .iter()
            .map(|i| sort_key(i).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        let groups = self.groups_by_id(tenant, &ids).await?;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::user(tenant, &user.id).to_attrs()))
            .condition_expression("#v = :v AND attribute_not_exists(#gi)")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_names("#gi", INLINE_COUNT)
            .expression_attribute_values(":v", AttributeValue::N(user.version.to_string()));
        let count = u32::try_from(groups.len()).unwrap_or(u32::MAX);
        if count > MAX_INLINE_GROUPS {
            update = update
                .update_expression("SET #gi = :zero, #go = :t")
                .expression_attribute_names("#go", OVERFLOW)
                .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                .expression_attribute_values(":t", AttributeValue::Bool(true));
        } else {
            let mut sets = vec!["#gi = :n".to_owned()];
            update = update.expression_attribute_values(":n", AttributeValue::N(count.to_string()));
            for (i, g) in groups.iter().enumerate() {
                sets.push(format!("#g{i} = :g{i}"));
                update = update
                    .expression_attribute_names(format!("#g{i}"), ref_name(&g.id))
                    .expression_attribute_values(format!(":g{i}"), ref_value(g, g.version));
            }
            // An add since the table was upgraded may have marked the item (`go`): the
            // references written here are all its groups, so the mark goes.
            update = update
                .update_expression(format!("SET {} REMOVE #go", sets.join(", ")))
                .expression_attribute_names("#go", OVERFLOW);
        }
        match update.send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                return Ok(false)
            }
            Err(e) => return Err(sdk_error("UpdateItem", e)),
        }
        if count <= MAX_INLINE_GROUPS {
            let read: HashMap<String, Resource> =
                groups.into_iter().map(|g| (g.id.clone(), g)).collect();
            for now in self.groups_by_id(tenant, &ids).await? {
                if read
                    .get(&now.id)
                    .is_some_and(|then| then.version != now.version)
                {
                    self.refresh_ref(tenant, &user.id, &now).await?;
                }
            }
        }
        Ok(true)
    }
}
