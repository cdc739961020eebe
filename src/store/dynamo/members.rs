//! Writing a group's changes in chunks of at most 100 items (see `group_tx.rs` for what a chunk
//! holds), each chunk conditioned on the version the previous one left and bumping it.
//!
//! DynamoDB returns nothing from a transaction, so the version a chunk leaves is known only from
//! the version it was conditioned on. That version comes from `expected_version`, else from the
//! caller's read (`GroupUpdate::current`), else from one GetItem. When the group moved on
//! meanwhile, the failed condition returns the stored group: an update that had no
//! `expected_version`, or whose first chunk already committed, continues from it (its adds and
//! removals are idempotent); one whose first chunk is refused fails with `VersionConflict` and
//! has written nothing. A failure after a chunk committed is `PartlyWritten`, never a plain
//! error that would read as "nothing happened".
//!
//! Membership conditions make each change count once: a chunk whose add meets a member already
//! in, or whose removal meets one already out, is cancelled; the change is dropped and the chunk
//! sent again. An add whose member does not exist (or not as the kind given) is resolved with
//! one BatchGetItem and dropped or corrected. So a chunk takes one transaction when the caller's
//! view was right, which the service makes likely by diffing against `members_among` first.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use super::errors::{classify, Cancelled};
use super::group_item::group_from_item;
use super::group_refs::{self, UserSide};
use super::group_tx::{self, head_items, Attributes, Change, Head, Part, UserSides, MAX_TX_ITEMS};
use super::{DynamoStore, Rejected};
use crate::audit::AuditRecord;
use crate::retry;
use crate::scim::members::{Member, MemberKind};
use crate::scim::resource::{Resource, Version};
use crate::store::cursor::plausible_id;
use crate::store::{GroupUpdate, StoreError};
use crate::tenant::TenantId;

/// How often an update without `expected_version` starts again from a group that another writer
/// moved on, before answering 503. Every membership write bumps the group's version, so
/// concurrent writers of one group take turns; each turn costs one transaction.
const MAX_REBASES: u32 = 32;

/// What became of one chunk.
enum Sent {
    Written,
    /// Every change was dropped (already done) and there was nothing else to write.
    Nothing,
    /// The group item's condition failed: the stored group, or `None` if there is none.
    GroupRefused(Option<Resource>),
}

/// The changes of `update` in the order they are written: removals, then additions. Duplicates,
/// the group itself and ids no store could hold are left out; an id both removed and added ends
/// up a member (as in the embedded store, which removes first).
fn plan(group_id: &str, add: &[Member], remove: &[String]) -> VecDeque<Change> {
    let added: HashSet<&str> = add.iter().map(|m| m.value.as_str()).collect();
    let mut seen = HashSet::new();
    let removals = remove
        .iter()
        .filter(|id| plausible_id(id) && !added.contains(id.as_str()))
        .filter(|id| seen.insert(id.as_str()))
        .map(|id| Change::Remove(id.clone()));
    let mut out: VecDeque<Change> = removals.collect();
    let mut seen_added = HashSet::new();
    out.extend(
        add.iter()
            .filter(|m| m.value != group_id && plausible_id(&m.value))
            .filter(|m| seen_added.insert(m.value.as_str()))
            .map(|m| Change::Add(m.clone())),
    );
    out
}

/// The next changes that fit in `capacity` items.
fn take(pending: &mut VecDeque<Change>, capacity: usize) -> Vec<Change> {
    let mut out = Vec::new();
    let mut used = 0;
    while let Some(next) = pending.front() {
        if used + next.items() > capacity {
            break;
        }
        used += next.items();
        out.extend(pending.pop_front());
    }
    out
}

/// `e` as the outcome of an update that had already committed a chunk when it failed.
fn partly(e: StoreError, wrote: bool) -> StoreError {
    if wrote {
        StoreError::PartlyWritten(Box::new(e))
    } else {
        e
    }
}

/// `record` as this chunk commits it: the version the chunk leaves and exactly the members it
/// moves, so that each committed part's event says what that part did.
fn chunk_record(record: &AuditRecord, head: &Head<'_>, changes: &[Change]) -> AuditRecord {
    let version = match head {
        Head::Create { group } => group.version,
        Head::Update { version, .. } => version.next(),
    };
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for c in changes {
        match c {
            Change::Add(m) => added.push(m.value.clone()),
            Change::Remove(id) => removed.push(id.clone()),
        }
    }
    record
        .clone()
        .at_version(version)
        .with_member_ids(added, removed)
}

/// Whether a group's names as copied onto its members (`group_refs::ref_value`) differ.
fn names_differ(a: &Resource, b: &Resource) -> bool {
    a.display_name() != b.display_name() || a.external_id() != b.external_id()
}

/// The pause before resending a chunk after the group's version moved on (`rebase` times so
/// far): up to 10, 20, 40, then 50 ms (full jitter, [`retry::backoff`]).
async fn pause(rebase: u32) {
    retry::backoff(rebase, Duration::from_millis(5), Duration::from_millis(50)).await;
}

impl DynamoStore {
    /// `GroupStore::create_group`: the group, its look-up entry, the count and the first members
    /// in one transaction; members that do not fit follow as membership chunks.
    pub(super) async fn create_group_chunks(
        &self,
        tenant: &TenantId,
        group: &Resource,
        members: &[Member],
        audit: &AuditRecord,
    ) -> Result<Version, StoreError> {
        let mut pending = plan(&group.id, members, &[]);
        let head = Head::Create { group };
        let mut first = take(&mut pending, MAX_TX_ITEMS - head_items(&head));
        match self
            .send_chunk(tenant, group, &head, &mut first, audit)
            .await?
        {
            Sent::Written | Sent::Nothing => {}
            Sent::GroupRefused(_) => {
                return Err(StoreError::Internal(format!(
                    "group id collision: {}",
                    group.id
                )))
            }
        }
        if pending.is_empty() {
            return Ok(group.version);
        }
        let rest: Vec<Member> = pending
            .into_iter()
            .filter_map(|c| match c {
                Change::Add(m) => Some(m),
                Change::Remove(_) => None,
            })
            .collect();
        let update = GroupUpdate {
            id: &group.id,
            expected_version: None,
            attributes: None,
            add: &rest,
            remove: &[],
            last_modified: &group.last_modified,
            current: Some(group),
        };
        self.apply_update(tenant, &update, &audit.continuation())
            .await
    }

    /// `GroupStore::update_group`.
    pub(super) async fn apply_update(
        &self,
        tenant: &TenantId,
        u: &GroupUpdate<'_>,
        audit: &AuditRecord,
    ) -> Result<Version, StoreError> {
        let mut pending = plan(u.id, u.add, u.remove);
        if pending.is_empty() && u.attributes.is_none() {
            return self.stored_version(tenant, u.id, u.expected_version).await;
        }
        // The group as stored at `version`, when known (needed to move the look-up entry).
        let mut known: Option<Resource> = u
            .current
            .filter(|c| c.id == u.id && u.expected_version.is_none_or(|e| e == c.version))
            .cloned();
        let mut version = match (u.expected_version, &known) {
            (Some(e), _) => e,
            (None, Some(c)) => c.version,
            (None, None) => {
                let g = self.read_group(tenant, u.id).await?;
                let v = g.version;
                known = Some(g);
                v
            }
        };
        // The chunks copy the group's names onto its user members' items (`group_refs.rs`):
        // they need the group as stored at `version`.
        let mut known = match known {
            Some(k) => k,
            None => {
                let g = self.read_group(tenant, u.id).await?;
                if u.expected_version.is_some_and(|e| e != g.version) {
                    return Err(StoreError::VersionConflict);
                }
                version = g.version;
                g
            }
        };
        // Whether this update renamed the group: its members' copies of the names follow.
        let mut renamed_names = false;
        let mut attributes = u.attributes;
        let mut wrote = false;
        let mut rebases = 0;
        while attributes.is_some() || !pending.is_empty() {
            let renamed = attributes.map(|a| Resource {
                attributes: a.clone(),
                ..known.clone()
            });
            let head = Head::Update {
                version,
                last_modified: u.last_modified,
                attributes: renamed.as_ref().map(|new| Attributes { old: &known, new }),
            };
            let mut chunk = take(&mut pending, MAX_TX_ITEMS - head_items(&head));
            // The first chunk that commits carries the change's record; later ones continue it.
            let record = if wrote {
                audit.continuation()
            } else {
                audit.clone()
            };
            let leaves = renamed.as_ref().unwrap_or(&known);
            let sent = self
                .send_chunk(tenant, leaves, &head, &mut chunk, &record)
                .await
                .map_err(|e| partly(e, wrote))?;
            match sent {
                Sent::Written => {
                    version = version.next();
                    wrote = true;
                    attributes = None;
                    if let Some(r) = renamed {
                        renamed_names |= names_differ(&known, &r);
                        known.attributes = r.attributes;
                    }
                    known.version = version;
                }
                Sent::Nothing => attributes = None,
                Sent::GroupRefused(None) => return Err(partly(StoreError::NotFound, wrote)),
                Sent::GroupRefused(Some(stored)) => {
                    // The precondition (`expected_version`, the client's If-Match) is checked
                    // by the first chunk, before anything is written. Once a chunk committed,
                    // the change is under way: what is left is adds and removals of given ids
                    // (attributes go with the first chunk), idempotent, so they are finished
                    // on top of the concurrent write instead of answering 412 for a change
                    // that was partly made.
                    if u.expected_version.is_some() && !wrote {
                        return Err(StoreError::VersionConflict);
                    }
                    rebases += 1;
                    if rebases > MAX_REBASES {
                        let e = StoreError::Unavailable(format!(
                            "group changed by other writers {MAX_REBASES} times during one update"
                        ));
                        return Err(partly(e, wrote));
                    }
                    version = stored.version;
                    known = stored;
                    for c in chunk.into_iter().rev() {
                        pending.push_front(c);
                    }
                    pause(rebases).await;
                }
            }
        }
        if renamed_names {
            // The rename is committed: the members' copies follow (follow_up.rs).
            self.after_rename(tenant, &known).await;
        }
        if wrote {
            Ok(version)
        } else {
            // Everything was already done: answer with the stored version, and refuse a stale
            // `expected_version` as a write would have.
            self.stored_version(tenant, u.id, u.expected_version).await
        }
    }

    /// Send one chunk, dropping the changes DynamoDB says are already done and correcting or
    /// dropping members that do not exist as given, until it commits, has nothing left, or the
    /// group item's condition fails.
    async fn send_chunk(
        &self,
        tenant: &TenantId,
        group: &Resource,
        head: &Head<'_>,
        changes: &mut Vec<Change>,
        record: &AuditRecord,
    ) -> Result<Sent, StoreError> {
        let group_id = group.id.as_str();
        let (leaves_at, last_modified) = match head {
            Head::Create { group } => (group.version, group.last_modified.as_str()),
            Head::Update {
                version,
                last_modified,
                ..
            } => (version.next(), *last_modified),
        };
        let value = group_refs::ref_value(group, leaves_at);
        let mut sides: HashMap<String, UserSide> = HashMap::new();
        // Each refused round drops or corrects at least one change (or ends the loop); a change
        // is corrected at most twice (its user side: reference, then bump, then nothing).
        let rounds = 3 * changes.len() + 2;
        for _ in 0..rounds {
            if changes.is_empty()
                && matches!(
                    head,
                    Head::Update {
                        attributes: None,
                        ..
                    }
                )
            {
                return Ok(Sent::Nothing);
            }
            let days = self.audit_retention_days;
            let record = chunk_record(record, head, changes);
            let users = UserSides {
                value: &value,
                sides: &sides,
                last_modified,
            };
            let tx = group_tx::chunk(
                &self.table,
                tenant,
                group_id,
                head,
                changes,
                &users,
                &record,
                days,
            )?;
            let reasons = match self.send_tx(&tx.items).await {
                Ok(()) => return Ok(Sent::Written),
                Err(Rejected::Failed(e)) => return Err(e),
                Err(Rejected::Cancelled(reasons)) => reasons,
            };
            let failed = match classify(&reasons) {
                Cancelled::Conditions(failed) => failed,
                Cancelled::Failed(e) => return Err(e),
                Cancelled::Conflict => {
                    return Err(StoreError::Unavailable("transaction conflict".into()))
                }
            };
            let mut drop = HashSet::new();
            let mut unresolved = Vec::new();
            let mut group = None;
            for (i, old) in failed {
                match tx.roles.get(i) {
                    Some(Part::Group) => {
                        group = Some(old.map(group_from_item).transpose()?);
                    }
                    // Already in (add) or already out (removal).
                    Some(Part::Membership(j)) => {
                        drop.insert(*j);
                    }
                    // A user that exists but takes no reference (written before references, or
                    // full): send again only bumping its version.
                    Some(Part::MemberExists(j)) => match (changes.get(*j), old) {
                        (Some(Change::Add(m)), Some(_))
                            if m.kind == MemberKind::User
                                && sides.get(&m.value) != Some(&UserSide::Bump) =>
                        {
                            sides.insert(m.value.clone(), UserSide::Bump);
                        }
                        _ => unresolved.push(*j),
                    },
                    // The removed user holds no reference (bump only), or is gone (nothing).
                    Some(Part::UserSide(j)) => {
                        if let Some(c) = changes.get(*j) {
                            let side = match (sides.get(c.id()), old) {
                                (None, Some(_)) => UserSide::Bump,
                                _ => UserSide::Nothing,
                            };
                            sides.insert(c.id().to_owned(), side);
                        }
                    }
                    other => {
                        return Err(StoreError::Internal(format!(
                            "unexpected condition failure on {other:?} of a group write"
                        )))
                    }
                }
            }
            if !unresolved.is_empty() {
                let ids: Vec<String> = unresolved
                    .iter()
                    .filter_map(|j| changes.get(*j))
                    .map(|c| c.id().to_owned())
                    .collect();
                let kinds = self.resolve(tenant, &ids).await?;
                for j in unresolved {
                    if let Some(Change::Add(m)) = changes.get_mut(j) {
                        match kinds.get(&m.value) {
                            // Held by the other kind of resource: the store decides the type.
                            Some(kind) if *kind != m.kind => m.kind = *kind,
                            // Gone: as if deleted right after the write.
                            _ => {
                                drop.insert(j);
                            }
                        }
                    }
                }
            }
            let mut index = 0;
            changes.retain(|_| {
                let keep = !drop.contains(&index);
                index += 1;
                keep
            });
            if let Some(stored) = group {
                return Ok(Sent::GroupRefused(stored));
            }
        }
        Err(StoreError::Unavailable(
            "a group write kept failing its conditions".into(),
        ))
    }

    /// The group, or `NotFound`.
    async fn read_group(&self, tenant: &TenantId, id: &str) -> Result<Resource, StoreError> {
        use crate::store::GroupStore;
        self.get_group(tenant, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The stored version, refusing a stale `expected` as a write would.
    async fn stored_version(
        &self,
        tenant: &TenantId,
        id: &str,
        expected: Option<Version>,
    ) -> Result<Version, StoreError> {
        let g = self.read_group(tenant, id).await?;
        match expected {
            Some(e) if e != g.version => Err(StoreError::VersionConflict),
            _ => Ok(g.version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::members::MemberKind;

    fn m(id: &str) -> Member {
        Member {
            value: id.into(),
            kind: MemberKind::User,
            display: None,
        }
    }

    #[test]
    fn plans_drop_duplicates_self_and_impossible_ids() {
        let add = [m("u1"), m("u1"), m("g"), m(""), m("u2")];
        let remove = ["u3".to_owned(), "u3".to_owned(), "u2".to_owned()];
        let p: Vec<Change> = plan("g", &add, &remove).into();
        assert_eq!(
            p,
            vec![
                Change::Remove("u3".into()),
                Change::Add(m("u1")),
                Change::Add(m("u2"))
            ]
        );
    }

    #[test]
    fn chunks_fill_up_to_the_transaction_limit() {
        let add: Vec<Member> = (0..100).map(|i| m(&format!("u{i}"))).collect();
        let mut pending = plan("g", &add, &[]);
        // 99 items after the group item: 33 adds of 3 items.
        assert_eq!(take(&mut pending, MAX_TX_ITEMS - 1).len(), 33);
        let remove: Vec<String> = (0..100).map(|i| format!("r{i}")).collect();
        // Removals are 3 items too (both membership items and the user's reference).
        let mut pending = plan("g", &[], &remove);
        assert_eq!(take(&mut pending, MAX_TX_ITEMS - 1).len(), 33);
        assert_eq!(pending.len(), 67);
    }
}
