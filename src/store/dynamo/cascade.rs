//! What a delete leaves behind, removed after the resource itself.
//!
//! Deleting a user or a group is one transaction (the resource, its look-up items, the count, the
//! deletion record), so it is gone for SCIM at once whatever its memberships. Its memberships go
//! right after, in further writes:
//! - **as a member** (a user, or a nested group): for each group it was in, the two membership
//!   items and a version bump of that group, up to 33 groups per transaction (a group that lost a
//!   member has a new ETag, as the port's contract requires);
//! - **as a group**: its own members' items, 25 deletes per `BatchWriteItem`, several calls at a
//!   time, after removing each user member's reference to the group from its item
//!   (`group_refs.rs`: one UpdateItem per member, 16 at a time, each bumping that user's
//!   version, as any membership change does); run by `follow_up.rs`, which hands what does not
//!   fit the request's budget to the asynchronous worker.
//!
//! A member -> group item whose group is gone is never shown: `groups_of` reads the groups and
//! leaves out those that do not exist; a deleted group's own member items are only reachable
//! through the group, which is gone. If a Lambda stops half way (timeout), the deletion record
//! names what is left to do: [`DynamoStore::resume_cascades`] finishes it (every step is
//! idempotent). Adds cannot race a delete into a leftover: every add checks in its transaction
//! that the member and the group still exist.

use std::collections::VecDeque;

use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::{classify, sdk_error, Cancelled, LeavePart};
use super::group_item::sort_key;
use super::group_tx::{self, Leave, Part, MAX_TX_ITEMS};
use super::item::{self, Deleted, Item};
use super::keys::{self, Partition, PK, SK};
use super::{DynamoStore, Rejected};
use crate::store::StoreError;
use crate::tenant::TenantId;

impl DynamoStore {
    /// One page (at most 1 MB) of the keys of partition `pk`, in sort-key order, from `start`;
    /// with the key to continue from, if there is more.
    pub(super) async fn keys_page(
        &self,
        pk: &str,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .projection_expression("#pk, #sk")
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        let next = page.last_evaluated_key.filter(|k| !k.is_empty());
        Ok((page.items.unwrap_or_default(), next))
    }

    /// Every item of the partition `pk`, keys only, in sort-key order.
    pub(super) async fn partition_keys(&self, pk: String) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = self.keys_page(&pk, start).await?;
            out.extend(items);
            match next {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }

    /// Remove `member_id` (a deleted user or group) from every group it is a direct member of,
    /// giving each of those groups a new version. One Query, then one transaction per 33 groups.
    pub(super) async fn leave_all_groups(
        &self,
        tenant: &TenantId,
        member_id: &str,
        last_modified: &str,
    ) -> Result<(), StoreError> {
        let items = self
            .partition_keys(keys::member_of_pk(tenant, member_id))
            .await?;
        let groups = items
            .iter()
            .map(|i| sort_key(i).map(Leave::of))
            .collect::<Result<_, _>>()?;
        self.leave_groups(tenant, member_id, groups, last_modified)
            .await
    }

    /// Remove `member_id` from each of `groups`: one transaction per 33 groups.
    pub(super) async fn leave_groups(
        &self,
        tenant: &TenantId,
        member_id: &str,
        groups: Vec<Leave>,
        last_modified: &str,
    ) -> Result<(), StoreError> {
        let mut pending = VecDeque::from(groups);
        while !pending.is_empty() {
            let mut chunk = Vec::new();
            let mut used = 0;
            while let Some(next) = pending.front() {
                if used + next.items() > MAX_TX_ITEMS {
                    break;
                }
                used += next.items();
                chunk.extend(pending.pop_front());
            }
            self.send_leave(tenant, member_id, &mut chunk, last_modified)
                .await?;
        }
        Ok(())
    }

    /// Send one chunk of [`Self::leave_all_groups`]. A membership already removed (by a
    /// concurrent PATCH) is not removed or counted again; a group deleted meanwhile is not bumped.
    async fn send_leave(
        &self,
        tenant: &TenantId,
        member_id: &str,
        chunk: &mut [Leave],
        last_modified: &str,
    ) -> Result<(), StoreError> {
        // Each refused round turns off at least one conditional item.
        for _ in 0..=2 * chunk.len() {
            let tx = group_tx::leave(&self.table, tenant, member_id, chunk, last_modified)?;
            let reasons = match self.send_tx(&tx.items).await {
                Ok(()) => return Ok(()),
                Err(Rejected::Failed(e)) => return Err(e),
                Err(Rejected::Cancelled(reasons)) => reasons,
            };
            let Cancelled::Conditions(failed) = classify(&reasons) else {
                return Err(StoreError::Unavailable(
                    "a membership clean-up was cancelled".into(),
                ));
            };
            for (i, _) in failed {
                let (part, j) = match tx.roles.get(i) {
                    Some(Part::Membership(j)) => (LeavePart::Membership, *j),
                    Some(Part::Bump(j)) => (LeavePart::Bump, *j),
                    other => {
                        return Err(StoreError::Internal(format!(
                            "unexpected condition failure on {other:?} of a membership clean-up"
                        )))
                    }
                };
                if let Some(g) = chunk.get_mut(j) {
                    g.refused(part);
                }
            }
        }
        Err(StoreError::Unavailable(
            "a membership clean-up kept failing its conditions".into(),
        ))
    }

    /// Finish the membership clean-ups of every deletion recorded at or after `since` (an
    /// RFC 3339 timestamp, compared as the records' sort keys are; `""` for all), for clean-ups a stopped
    /// Lambda left half done. Idempotent; returns how many deletions it went through. Cost: one
    /// Query of the deletion records, then one or two Queries per deletion (plus the writes of
    /// whatever was left).
    pub async fn resume_cascades(
        &self,
        tenant: &TenantId,
        since: &str,
    ) -> Result<usize, StoreError> {
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(Partition::Deletions.pk(tenant)),
                )
                .consistent_read(true)
                .set_exclusive_start_key(start);
            // DynamoDB refuses an empty key value: "" means every record.
            query = if since.is_empty() {
                query.key_condition_expression("#pk = :pk")
            } else {
                query
                    .key_condition_expression("#pk = :pk AND #sk >= :since")
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(":since", AttributeValue::S(since.to_owned()))
            };
            let page = query.send().await.map_err(|e| sdk_error("Query", e))?;
            records.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        let done = records.len();
        for record in records {
            let deleted_at = match record.get("deleted_at") {
                Some(AttributeValue::S(at)) => at.clone(),
                _ => since.to_owned(),
            };
            match item::deleted_resource(record)? {
                (Deleted::User, id) => self.leave_all_groups(tenant, &id, &deleted_at).await?,
                (Deleted::Group, id) => {
                    self.finish_group_deletion(tenant, &id, &deleted_at).await?
                }
            }
        }
        Ok(done)
    }
}
