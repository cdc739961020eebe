//! A user's group references, kept on the user item: GET /Users/{id} then reads the user and
//! its `groups` (RFC 7643 §4.1.2) with one GetItem, and a PATCH, PUT or DELETE with one GetItem
//! and one transaction (ARCHITECTURE.md, DynamoDB key design, "A user's groups live on its
//! item"; the figures are in BENCHMARKS.md).
//!
//! Each group the user is a direct member of is one top-level attribute `g#<group id>` of the
//! user item, a map `{d: displayName, e: externalId, v: group version}`. Top-level attributes
//! (not one map attribute) because an update can set or remove one without the map existing
//! first, so items written before this design stay writable. `gi` counts them; an item without
//! `gi` (written before; `scimctl tenant reindex` gives it its references, `reindex.rs`) or with
//! `go` set (more than [`MAX_INLINE_GROUPS`] groups) is read the older way: the member -> group
//! items (`MEMBEROF#<user id>`, still written for every membership) and the groups they name.
//!
//! Every membership change of a user, in the same transaction as the membership items, sets or
//! removes its reference and bumps the user's `version`: a user's ETag changes when its `groups`
//! do, and a user write or delete conditioned on the version it read knows the user's groups
//! exactly (a DELETE removes its memberships in its own transaction).
//!
//! The copies of a group's displayName and externalId are refreshed after a rename
//! (`DynamoStore::refresh_refs`, conditioned on the version they carry, so an older rename
//! never overwrites a newer one), and a deleted group's references are removed by its clean-up
//! (`DynamoStore::drop_refs`); both run from `follow_up.rs`, in the request until its budget,
//! then (with a queue) in the asynchronous worker. While they run another request may see a
//! user's `groups` with the previous name or the group being deleted.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure, Update};

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

use super::errors::sdk_error;
use super::item::{Item, VERSION};
use super::keys::{self, PK};
use super::tx::build_failed;
use super::DynamoStore;
use crate::scim::members::GroupRef;
use crate::scim::resource::{Resource, Version};
use crate::store::StoreError;
use crate::tenant::TenantId;

/// The prefix of a group reference attribute.
pub const REF_PREFIX: &str = "g#";
/// How many references the user item holds (absent on items written before them).
pub const INLINE_COUNT: &str = "gi";
/// Set once a user is in more groups than [`MAX_INLINE_GROUPS`]: read the older way from then on.
pub const OVERFLOW: &str = "go";
/// The most group references a user item holds. A reference is about 110 bytes (a 38-byte name,
/// a displayName, an externalId, a version), so 250 of them add about 27 KB to the item, and
/// every write of the user (a PATCH, a membership change) costs write units by its whole size:
/// 250 groups make a 0.6 KB user a 28 KB item, 28 write units per write instead of 1 (twice
/// that in a transaction). Beyond it the user's groups are read from its member -> group
/// items (2 more reads on a GET), and its item stops growing.
pub const MAX_INLINE_GROUPS: u32 = 250;

const LAST_MODIFIED: &str = "last_modified";

/// The attribute name of the reference to `group_id`.
pub fn ref_name(group_id: &str) -> String {
    format!("{REF_PREFIX}{group_id}")
}

/// What a reference records of a group: its names as of `version`.
pub fn ref_value(group: &Resource, version: Version) -> AttributeValue {
    let mut m = HashMap::from([
        (
            "d".to_owned(),
            AttributeValue::S(group.display_name().unwrap_or_default().to_owned()),
        ),
        ("v".to_owned(), AttributeValue::N(version.to_string())),
    ]);
    if let Some(e) = group.external_id() {
        m.insert("e".to_owned(), AttributeValue::S(e.to_owned()));
    }
    AttributeValue::M(m)
}

/// The user's groups from its item, in group-id order; `None` when the item does not hold them
/// all (written before references, or past [`MAX_INLINE_GROUPS`]).
pub fn inline_groups(item: &Item) -> Option<Vec<GroupRef>> {
    if !item.contains_key(INLINE_COUNT) || item.contains_key(OVERFLOW) {
        return None;
    }
    let mut out: Vec<GroupRef> = item
        .iter()
        .filter_map(|(name, value)| {
            let id = name.strip_prefix(REF_PREFIX)?;
            let text = |key: &str| match value {
                AttributeValue::M(m) => match m.get(key) {
                    Some(AttributeValue::S(s)) => Some(s.clone()),
                    _ => None,
                },
                _ => None,
            };
            Some(GroupRef {
                id: id.to_owned(),
                display_name: text("d").unwrap_or_default(),
                external_id: text("e"),
            })
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Some(out)
}

/// What a membership change writes on the user item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSide {
    /// Set or remove the reference (and count it), bump the version.
    Reference,
    /// Only bump the version: the item does not hold its references (written before them, or
    /// past the limit), or (an add) has just reached the limit, which this marks.
    Bump,
    /// Nothing: the user is gone (a removal that meets a deleted user).
    Nothing,
}

/// One update of a user item: expression, names and values (names may be dynamic: the reference
/// attribute carries the group id).
struct UserUpdate {
    expression: String,
    condition: &'static str,
    names: Vec<(&'static str, String)>,
    values: Vec<(&'static str, AttributeValue)>,
}

impl UserUpdate {
    /// `expression` on `condition`, with no names or values yet.
    fn bare(expression: &str, condition: &'static str) -> Self {
        UserUpdate {
            expression: expression.to_owned(),
            condition,
            names: Vec::new(),
            values: Vec::new(),
        }
    }

    /// `expression` on `condition`, with the names and values every membership side uses: the
    /// version bump (`#v`, `:one`) and lastModified (`#lm`, `:lm`).
    fn new(expression: &str, condition: &'static str, last_modified: &str) -> Self {
        Self::bare(expression, condition)
            .name("#v", VERSION)
            .name("#lm", LAST_MODIFIED)
            .value(":one", AttributeValue::N("1".into()))
            .value(":lm", AttributeValue::S(last_modified.to_owned()))
    }

    /// The removal of the reference to `group_id`, on condition that it is there: the user's
    /// version goes up and its count down (a membership removal, and a deleted group's clean-up).
    fn removal(group_id: &str, last_modified: &str) -> Self {
        Self::new(
            "REMOVE #g SET #lm = :lm ADD #v :one, #gi :minus",
            "attribute_exists(#g)",
            last_modified,
        )
        .name("#g", ref_name(group_id))
        .name("#gi", INLINE_COUNT)
        .value(":minus", AttributeValue::N("-1".into()))
    }

    /// The same update as a plain UpdateItem (not a transaction item), for the fan-outs.
    fn item(
        self,
        store: &DynamoStore,
        tenant: &TenantId,
        user_id: &str,
    ) -> UpdateItemFluentBuilder {
        let mut b = store
            .client
            .update_item()
            .table_name(&store.table)
            .set_key(Some(keys::user(tenant, user_id).to_attrs()))
            .update_expression(self.expression)
            .condition_expression(self.condition);
        for (k, v) in self.names {
            b = b.expression_attribute_names(k, v);
        }
        for (k, v) in self.values {
            b = b.expression_attribute_values(k, v);
        }
        b
    }

    fn name(mut self, placeholder: &'static str, name: impl Into<String>) -> Self {
        self.names.push((placeholder, name.into()));
        self
    }

    fn value(mut self, placeholder: &'static str, value: AttributeValue) -> Self {
        self.values.push((placeholder, value));
        self
    }

    fn build(
        self,
        table: &str,
        tenant: &TenantId,
        user_id: &str,
        return_old: bool,
    ) -> Result<Update, StoreError> {
        let mut b = Update::builder()
            .table_name(table)
            .set_key(Some(keys::user(tenant, user_id).to_attrs()))
            .update_expression(self.expression)
            .condition_expression(self.condition);
        for (k, v) in self.names {
            b = b.expression_attribute_names(k, v);
        }
        for (k, v) in self.values {
            b = b.expression_attribute_values(k, v);
        }
        if return_old {
            b = b.return_values_on_condition_check_failure(
                ReturnValuesOnConditionCheckFailure::AllOld,
            );
        }
        b.build().map_err(build_failed)
    }
}

/// The user side of adding the user to `group_id`. `Reference`: on condition that the user
/// exists and holds fewer than [`MAX_INLINE_GROUPS`] references (a failure with the item
/// returned means it holds none or is full: send again with `Bump`). `Bump`: on condition that
/// it exists, marking it as past the limit when it holds references.
pub fn add(
    table: &str,
    tenant: &TenantId,
    user_id: &str,
    group_id: &str,
    value: AttributeValue,
    side: UserSide,
    last_modified: &str,
) -> Result<Update, StoreError> {
    let u = match side {
        UserSide::Reference => UserUpdate::new(
            "SET #g = :ref, #lm = :lm ADD #v :one, #gi :one",
            "attribute_exists(#pk) AND #gi < :cap",
            last_modified,
        )
        .name("#pk", PK)
        .name("#g", ref_name(group_id))
        .name("#gi", INLINE_COUNT)
        .value(":ref", value)
        .value(":cap", AttributeValue::N(MAX_INLINE_GROUPS.to_string())),
        UserSide::Bump | UserSide::Nothing => UserUpdate::new(
            "SET #lm = :lm, #go = :t ADD #v :one",
            "attribute_exists(#pk)",
            last_modified,
        )
        .name("#pk", PK)
        .name("#go", OVERFLOW)
        .value(":t", AttributeValue::Bool(true)),
    };
    u.build(table, tenant, user_id, true)
}

/// The user side of removing the user from `group_id`. `Reference`: on condition that the
/// reference is there (a failure with the item returned: it is held the older way, send again
/// with `Bump`; without: the user is gone, send again with `Nothing`). `Bump`: on condition
/// that the user exists.
pub fn remove(
    table: &str,
    tenant: &TenantId,
    user_id: &str,
    group_id: &str,
    side: UserSide,
    last_modified: &str,
) -> Result<Update, StoreError> {
    let u = if side == UserSide::Reference {
        UserUpdate::removal(group_id, last_modified)
    } else {
        UserUpdate::new(
            "SET #lm = :lm ADD #v :one",
            "attribute_exists(#pk)",
            last_modified,
        )
        .name("#pk", PK)
    };
    u.build(table, tenant, user_id, true)
}

impl DynamoStore {
    /// After a rename committed at `version`: refresh the copy of the group's names on the item
    /// of each of `member_ids` (in order), unless the member left meanwhile or holds a newer
    /// copy. One UpdateItem per member, [`FAN_OUT`] at a time, as `pace` allows; members that
    /// are groups fail their condition and are skipped. Returns how many of `member_ids`, from
    /// the first, are done (fewer than all when `pace`'s deadline came first).
    pub(super) async fn refresh_refs(
        &self,
        tenant: &TenantId,
        group: &Resource,
        version: Version,
        member_ids: &[&str],
        pace: Pace,
    ) -> Result<usize, StoreError> {
        let updates = member_ids
            .iter()
            .map(|id| self.refresh_update(tenant, id, group, version))
            .collect();
        fan_out(updates, pace).await
    }

    /// Refresh one user's copy of `group` (at its version), unless it holds a newer one.
    pub(super) async fn refresh_ref(
        &self,
        tenant: &TenantId,
        user_id: &str,
        group: &Resource,
    ) -> Result<(), StoreError> {
        let update = self.refresh_update(tenant, user_id, group, group.version);
        fan_out(vec![update], Pace::default()).await.map(drop)
    }

    fn refresh_update(
        &self,
        tenant: &TenantId,
        user_id: &str,
        group: &Resource,
        version: Version,
    ) -> UpdateItemFluentBuilder {
        UserUpdate::bare("SET #g = :ref", "attribute_exists(#g) AND #g.#gv < :ver")
            .name("#g", ref_name(&group.id))
            .name("#gv", "v")
            .value(":ref", ref_value(group, version))
            .value(":ver", AttributeValue::N(version.to_string()))
            .item(self, tenant, user_id)
    }

    /// After a group's deletion: remove the reference to it from each of `member_ids`, as a
    /// removal would (the user's version goes up). Members without one are skipped. Returns how
    /// many, from the first, are done, as [`Self::refresh_refs`].
    pub(super) async fn drop_refs(
        &self,
        tenant: &TenantId,
        group_id: &str,
        member_ids: &[&str],
        last_modified: &str,
        pace: Pace,
    ) -> Result<usize, StoreError> {
        let updates = member_ids
            .iter()
            .map(|id| UserUpdate::removal(group_id, last_modified).item(self, tenant, id));
        fan_out(updates.collect(), pace).await
    }
}

/// How far and how fast a fan-out goes: none of either (the default) sends every update,
/// [`FAN_OUT`] at a time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pace {
    /// No update is started after it; those in flight finish.
    pub deadline: Option<Instant>,
    /// At most this many updates started per second.
    pub per_second: Option<u32>,
}

impl Pace {
    pub fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// Send conditional UpdateItems, [`FAN_OUT`] at a time, as `pace` allows; a failed condition
/// means "nothing to do for this one". Returns how many were sent: a prefix of `updates`, all of
/// them answered (no update is started after the deadline; those in flight are awaited).
async fn fan_out(updates: Vec<UpdateItemFluentBuilder>, pace: Pace) -> Result<usize, StoreError> {
    let start = Instant::now();
    let period = pace.per_second.map(|n| Duration::from_secs(1) / n.max(1));
    let mut pending = updates.into_iter();
    let mut in_flight = FuturesUnordered::new();
    let mut started: u32 = 0;
    loop {
        while in_flight.len() < FAN_OUT && !pace.expired() {
            let Some(update) = pending.next() else { break };
            // Paced: the n-th update starts no earlier than n periods after the first.
            let slot = period.map(|p| start + p.saturating_mul(started));
            started = started.saturating_add(1);
            in_flight.push(async move {
                if let Some(slot) = slot {
                    tokio::time::sleep_until(slot).await;
                }
                update.send().await
            });
        }
        let Some(result) = in_flight.next().await else {
            return Ok(started as usize);
        };
        match result {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) => {}
            Err(e) => return Err(sdk_error("UpdateItem", e)),
        }
    }
}

/// How many UpdateItems a rename or a group deletion keeps in flight.
const FAN_OUT: usize = 16;
