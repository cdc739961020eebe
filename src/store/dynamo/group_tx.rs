//! The transactions of group writes: which items a chunk of membership changes touches, on which
//! conditions, and what each item is for ([`Part`]) so that a cancellation can be read item by
//! item.
//!
//! A chunk is at most [`MAX_TX_ITEMS`] items: the group item (created, or updated on condition
//! of its version, which it bumps), its companions (displayName entry, counter, deletion record)
//! and the membership changes: an add is three items (the group -> member item, put only if
//! absent; the member -> group item; a check that the member exists as the kind given), a
//! removal two (the group -> member item, deleted only if present; the member -> group item).
//! The conditions make every change count exactly once: an add of a member that is already in,
//! or a removal of one that is not, fails its condition and is dropped from the chunk, which is
//! then sent again (see `members.rs`).

use aws_sdk_dynamodb::types::AttributeValue;

use super::group_item::{
    self, display_name_entry_item, display_name_of, ATTRS, GROUPS, LAST_MODIFIED, MEMBER_COUNT,
};
use std::collections::HashMap;

use super::errors::LeavePart;
use super::group_refs::{self, UserSide};
use super::item::VERSION;
use super::keys::{self, Key};
use super::tx::{Condition, Tx, UpdateExpr};
use crate::audit::AuditRecord;
use crate::scim::members::{Member, MemberKind};
use crate::scim::resource::{fold_user_name, Resource, Version};
use crate::store::StoreError;
use crate::tenant::TenantId;

/// DynamoDB's limit of items in one `TransactWriteItems`.
pub const MAX_TX_ITEMS: usize = 100;

/// What one item of a group transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The group item: put if absent (create), or updated if still at the version given. Its
    /// failed condition returns the stored item, if any.
    Group,
    /// An item written along with the group whose condition cannot fail in a correct store
    /// (displayName entries, the counter, a deletion record put if absent).
    Companion,
    /// The group -> member item of change `i`: put if absent (add) or deleted if present
    /// (removal).
    Membership(usize),
    /// The member -> group item of change `i` (unconditional: it mirrors the other).
    Reverse(usize),
    /// The check that the member of add `i` exists, as the kind it was given; for a user, the
    /// update of its item that records the membership (`group_refs::add`).
    MemberExists(usize),
    /// The update of the user item that records removal `i` (`group_refs::remove`).
    UserSide(usize),
    /// The version bump of parent group `i` when a deleted resource leaves it (cascades).
    Bump(usize),
}

/// One membership change of a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Add(Member),
    Remove(String),
}

impl Change {
    pub fn id(&self) -> &str {
        match self {
            Change::Add(m) => &m.value,
            Change::Remove(id) => id,
        }
    }

    /// Items the change takes in a transaction (at most: a removal that meets a deleted user
    /// takes 2).
    pub fn items(&self) -> usize {
        3
    }

    /// What the change does to the group's member count.
    fn delta(&self) -> i64 {
        match self {
            Change::Add(_) => 1,
            Change::Remove(_) => -1,
        }
    }
}

/// The key of the resource a member id names, as the kind given.
fn resource_key(tenant: &TenantId, member: &Member) -> Key {
    match member.kind {
        MemberKind::User => keys::user(tenant, &member.value),
        MemberKind::Group => keys::group(tenant, &member.value),
    }
}

/// How a chunk treats the group item.
pub enum Head<'a> {
    /// Create the group (and its displayName entry, and count it) with the chunk's members.
    Create { group: &'a Resource },
    /// Update the group from `version` to `version + 1`; with `attributes`, replace them too
    /// (moving the displayName entry from `old`'s name when the folded name changes).
    Update {
        version: Version,
        last_modified: &'a str,
        attributes: Option<Attributes<'a>>,
    },
}

/// An attribute change of an update chunk.
#[derive(Clone, Copy)]
pub struct Attributes<'a> {
    /// The group as stored at the version the chunk is conditioned on.
    pub old: &'a Resource,
    /// The new group (its attributes; id and timestamps as `old` + the chunk's).
    pub new: &'a Resource,
}

/// What a chunk writes on the items of its user members (`group_refs.rs`).
pub struct UserSides<'a> {
    /// The reference to the group as this chunk leaves it.
    pub value: &'a AttributeValue,
    /// Members whose item takes another side than [`UserSide::Reference`].
    pub sides: &'a HashMap<String, UserSide>,
    pub last_modified: &'a str,
}

impl UserSides<'_> {
    fn of(&self, member_id: &str) -> UserSide {
        self.sides
            .get(member_id)
            .copied()
            .unwrap_or(UserSide::Reference)
    }
}

/// The transaction of one chunk: `head` for the group item, then `changes` in order.
#[allow(clippy::too_many_arguments)]
pub fn chunk(
    table: &str,
    tenant: &TenantId,
    group_id: &str,
    head: &Head<'_>,
    changes: &[Change],
    users: &UserSides<'_>,
    record: &AuditRecord,
    audit_days: u32,
) -> Result<Tx<Part>, StoreError> {
    let mut tx = Tx::new(table);
    let delta: i64 = changes.iter().map(Change::delta).sum();
    match head {
        Head::Create { group } => {
            tx.put(
                Part::Group,
                group_item::group_item(tenant, group, delta)?,
                Some(Condition::absent()),
                false,
            )?;
            let entry = keys::display_name_entry(tenant, display_name_of(group), &group.id);
            tx.put(
                Part::Companion,
                display_name_entry_item(&entry, &group.id)?,
                None,
                false,
            )?;
            tx.count(Part::Companion, tenant, GROUPS, 1)?;
        }
        Head::Update {
            version,
            last_modified,
            attributes,
        } => {
            let attrs = match attributes {
                Some(a) => Some(group_item::group_attrs(tenant, a.old, &a.new.attributes)?),
                None => None,
            };
            tx.update(
                Part::Group,
                &keys::group(tenant, group_id),
                bump(*version, last_modified, attrs, delta),
                Some(Condition::at_version(*version)),
                true,
            )?;
            if let Some(a) = attributes {
                let (old, new) = (display_name_of(a.old), display_name_of(a.new));
                if fold_user_name(old) != fold_user_name(new) {
                    tx.delete(
                        Part::Companion,
                        &keys::display_name_entry(tenant, old, group_id),
                        None,
                        false,
                    )?;
                    let entry = keys::display_name_entry(tenant, new, group_id);
                    tx.put(
                        Part::Companion,
                        display_name_entry_item(&entry, group_id)?,
                        None,
                        false,
                    )?;
                }
            }
        }
    }
    for (i, change) in changes.iter().enumerate() {
        match change {
            Change::Add(m) => {
                tx.put(
                    Part::Membership(i),
                    group_item::member_item(tenant, group_id, m)?,
                    Some(Condition::absent()),
                    false,
                )?;
                tx.put(
                    Part::Reverse(i),
                    group_item::member_of_item(tenant, group_id, m)?,
                    None,
                    false,
                )?;
                if m.kind == MemberKind::User {
                    let side = users.of(&m.value);
                    let update = group_refs::add(
                        table,
                        tenant,
                        &m.value,
                        group_id,
                        users.value.clone(),
                        side,
                        users.last_modified,
                    )?;
                    tx.push_update(Part::MemberExists(i), update);
                } else {
                    tx.check(
                        Part::MemberExists(i),
                        &resource_key(tenant, m),
                        Condition::present(),
                    )?;
                }
            }
            Change::Remove(id) => {
                tx.delete(
                    Part::Membership(i),
                    &keys::member(tenant, group_id, id),
                    Some(Condition::present()),
                    false,
                )?;
                tx.delete(
                    Part::Reverse(i),
                    &keys::member_of(tenant, id, group_id),
                    None,
                    false,
                )?;
                let side = users.of(id);
                if side != UserSide::Nothing {
                    let update =
                        group_refs::remove(table, tenant, id, group_id, side, users.last_modified)?;
                    tx.push_update(Part::UserSide(i), update);
                }
            }
        }
    }
    tx.audit(Part::Companion, tenant, record, audit_days)?;
    Ok(tx)
}

/// How many items `head` takes in a chunk (with the chunk's audit record).
pub fn head_items(head: &Head<'_>) -> usize {
    1 + match head {
        Head::Create { .. } => 3,
        Head::Update {
            attributes: Some(a),
            ..
        } if fold_user_name(display_name_of(a.old)) != fold_user_name(display_name_of(a.new)) => 3,
        Head::Update { .. } => 1,
    }
}

/// `SET version = :next, last_modified = :lm [, attrs = :attrs] [ADD member_count :delta]`.
fn bump(
    version: Version,
    last_modified: &str,
    attrs: Option<AttributeValue>,
    delta: i64,
) -> UpdateExpr {
    let mut expression = "SET #version = :next, #lm = :lm".to_owned();
    let mut names = vec![("#version", VERSION), ("#lm", LAST_MODIFIED)];
    let mut values = vec![
        (":next", AttributeValue::N(version.next().to_string())),
        (":lm", AttributeValue::S(last_modified.to_owned())),
    ];
    if let Some(a) = attrs {
        expression.push_str(", #attrs = :attrs");
        names.push(("#attrs", ATTRS));
        values.push((":attrs", a));
    }
    if delta != 0 {
        expression.push_str(" ADD #mc :delta");
        names.push(("#mc", MEMBER_COUNT));
        values.push((":delta", AttributeValue::N(delta.to_string())));
    }
    UpdateExpr {
        expression,
        names,
        values,
    }
}

/// Delete: the group must still be at `current.version` (its failed condition returns the stored
/// group, to tell `VersionConflict` from `NotFound`); its look-up entry goes, the count goes
/// down and `record` (the deletion record) is written. Memberships follow (`cascade.rs`).
pub fn delete(
    table: &str,
    tenant: &TenantId,
    current: &Resource,
    record: super::item::Item,
    audit: &AuditRecord,
    audit_days: u32,
) -> Result<Tx<Part>, StoreError> {
    let mut tx = Tx::new(table);
    tx.delete(
        Part::Group,
        &keys::group(tenant, &current.id),
        Some(Condition::at_version(current.version)),
        true,
    )?;
    tx.delete(
        Part::Companion,
        &keys::display_name_entry(tenant, display_name_of(current), &current.id),
        None,
        false,
    )?;
    tx.count(Part::Companion, tenant, GROUPS, -1)?;
    tx.put(Part::Companion, record, Some(Condition::absent()), false)?;
    tx.audit(Part::Companion, tenant, audit, audit_days)?;
    Ok(tx)
}

/// The transaction that removes `member_id` from each of `groups` (a deleted user or group
/// leaving its parents): [`leave_items`] alone.
pub fn leave(
    table: &str,
    tenant: &TenantId,
    member_id: &str,
    groups: &[Leave],
    last_modified: &str,
) -> Result<Tx<Part>, StoreError> {
    let mut tx = Tx::new(table);
    leave_items(
        &mut tx,
        tenant,
        member_id,
        groups,
        last_modified,
        |part, i| match part {
            LeavePart::Membership => Part::Membership(i),
            LeavePart::Reverse => Part::Reverse(i),
            LeavePart::Bump => Part::Bump(i),
        },
    )?;
    Ok(tx)
}

/// The items that remove `member_id` from each of `groups`: per group, its group -> member item
/// (if present), its member -> group item, and a version bump of the group (if it still
/// exists). `bump` says, per group, whether to bump it (a group deleted meanwhile is not).
/// `role` names each item in the caller's vocabulary.
pub fn leave_items<R>(
    tx: &mut Tx<R>,
    tenant: &TenantId,
    member_id: &str,
    groups: &[Leave],
    last_modified: &str,
    role: impl Fn(LeavePart, usize) -> R,
) -> Result<(), StoreError> {
    for (i, g) in groups.iter().enumerate() {
        if g.membership {
            tx.delete(
                role(LeavePart::Membership, i),
                &keys::member(tenant, &g.group_id, member_id),
                Some(Condition::present()),
                false,
            )?;
        }
        tx.delete(
            role(LeavePart::Reverse, i),
            &keys::member_of(tenant, member_id, &g.group_id),
            None,
            false,
        )?;
        if g.bump {
            let u = UpdateExpr {
                expression: "SET #lm = :lm ADD #version :one, #mc :minus".to_owned(),
                names: vec![
                    ("#lm", LAST_MODIFIED),
                    ("#version", VERSION),
                    ("#mc", MEMBER_COUNT),
                ],
                values: vec![
                    (":lm", AttributeValue::S(last_modified.to_owned())),
                    (":one", AttributeValue::N("1".into())),
                    (":minus", AttributeValue::N("-1".into())),
                ],
            };
            tx.update(
                role(LeavePart::Bump, i),
                &keys::group(tenant, &g.group_id),
                u,
                Some(Condition::present()),
                false,
            )?;
        }
    }
    Ok(())
}

/// One parent group a deleted resource leaves, and which of its items are still to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leave {
    pub group_id: String,
    /// The group -> member item is (believed) still there: delete it, and count it.
    pub membership: bool,
    /// The group still exists: bump its version (only with `membership`: a group that did not
    /// lose the member does not change).
    pub bump: bool,
}

impl Leave {
    /// Leave `group_id`, believed to exist with the membership.
    pub fn of(group_id: &str) -> Self {
        Leave {
            group_id: group_id.to_owned(),
            membership: true,
            bump: true,
        }
    }

    pub fn items(&self) -> usize {
        1 + usize::from(self.membership) + usize::from(self.bump)
    }

    /// The condition of its item `part` failed: the membership was already removed (by a
    /// concurrent PATCH or the group's own clean-up; nothing to count, nothing to bump), or the
    /// group no longer exists (nothing to bump). Sent again without that item.
    pub fn refused(&mut self, part: LeavePart) {
        match part {
            LeavePart::Membership => {
                self.membership = false;
                self.bump = false;
            }
            LeavePart::Bump => self.bump = false,
            LeavePart::Reverse => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn group(name: &str) -> Resource {
        Resource {
            id: "g1".into(),
            version: crate::scim::resource::Version::new(3),
            created: "c".into(),
            last_modified: "m".into(),
            attributes: json!({"displayName": name}).as_object().cloned().unwrap(),
        }
    }

    fn user(id: &str) -> Member {
        Member {
            value: id.into(),
            kind: MemberKind::User,
            display: None,
        }
    }

    #[test]
    fn chunks_touch_exactly_the_items_they_must() {
        let t = TenantId::parse("acme").unwrap();
        let g = group("Admins");
        let rec = crate::audit::AuditRecord::new(
            &t,
            &crate::audit::Actor::system(),
            crate::scim::schema::ResourceKind::Group,
            "g1",
            crate::audit::Action::Create,
            Vec::new(),
        );
        let value = group_refs::ref_value(&g, g.version);
        let mut sides = HashMap::new();
        let users = UserSides {
            value: &value,
            sides: &sides,
            last_modified: "now",
        };
        let create = chunk(
            "tbl",
            &t,
            "g1",
            &Head::Create { group: &g },
            &[Change::Add(user("u1"))],
            &users,
            &rec,
            400,
        )
        .unwrap();
        use Part::*;
        assert_eq!(
            create.roles,
            vec![
                Group,
                Companion,
                Companion,
                Membership(0),
                Reverse(0),
                MemberExists(0),
                Companion
            ]
        );
        let head = Head::Update {
            version: crate::scim::resource::Version::new(3),
            last_modified: "now",
            attributes: None,
        };
        let changes = [Change::Remove("u2".into()), Change::Add(user("u3"))];
        let update = chunk("tbl", &t, "g1", &head, &changes, &users, &rec, 400).unwrap();
        assert_eq!(
            update.roles,
            vec![
                Group,
                Membership(0),
                Reverse(0),
                UserSide(0),
                Membership(1),
                Reverse(1),
                MemberExists(1),
                Companion
            ]
        );
        assert_eq!(head_items(&head) + 6, update.len());
        // A removal that met a deleted user leaves its item alone.
        sides.insert("u2".to_owned(), group_refs::UserSide::Nothing);
        let users = UserSides {
            value: &value,
            sides: &sides,
            last_modified: "now",
        };
        let update = chunk("tbl", &t, "g1", &head, &changes, &users, &rec, 400).unwrap();
        assert_eq!(head_items(&head) + 5, update.len());
        // A rename moves the look-up entry; a change of case does not.
        let renamed = group("Sales");
        let head = Head::Update {
            version: crate::scim::resource::Version::new(3),
            last_modified: "now",
            attributes: Some(Attributes {
                old: &g,
                new: &renamed,
            }),
        };
        assert_eq!(
            chunk("tbl", &t, "g1", &head, &[], &users, &rec, 400)
                .unwrap()
                .roles,
            vec![Group, Companion, Companion, Companion]
        );
        assert_eq!(head_items(&head), 4);
        let recased = group("ADMINS");
        let head = Head::Update {
            version: crate::scim::resource::Version::new(3),
            last_modified: "now",
            attributes: Some(Attributes {
                old: &g,
                new: &recased,
            }),
        };
        assert_eq!(
            chunk("tbl", &t, "g1", &head, &[], &users, &rec, 400)
                .unwrap()
                .roles,
            vec![Group, Companion]
        );
        assert_eq!(head_items(&head), 2);
    }

    #[test]
    fn leaving_writes_only_what_is_left_to_write() {
        let t = TenantId::parse("acme").unwrap();
        let groups = [
            Leave {
                group_id: "a".into(),
                membership: true,
                bump: true,
            },
            Leave {
                group_id: "b".into(),
                membership: false,
                bump: false,
            },
        ];
        let tx = leave("tbl", &t, "u1", &groups, "now").unwrap();
        use Part::*;
        assert_eq!(
            tx.roles,
            vec![Membership(0), Reverse(0), Bump(0), Reverse(1)]
        );
        assert_eq!(groups[0].items() + groups[1].items(), tx.len());
    }
}
