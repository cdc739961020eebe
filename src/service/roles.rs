//! Roles from groups (issue 19, item 4; ARCHITECTURE.md, "Roles from groups"): a user's product
//! role is derived from its groups as the store returns them and the tenant's rules
//! (`settings::roles`), on every read. It is never stored, so it cannot disagree with the
//! committed memberships: that is how it stays "current in the same transactions as membership
//! changes" without writing anything more in them.
//!
//! What this module adds to writes is only what the audit trail and the events say: the record
//! of a user write names the user's role after it; the record of a group change names the users
//! whose role it alters (computed from their groups before and after, read just before the
//! write); a rules change recomputes every user of the tenant once and keeps one record.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::{ScimService, MEMBER_SCAN_LIMIT};
use crate::audit::{Action, Actor, AuditRecord};
use crate::error::ScimError;
use crate::scim::members::{GroupRef, Member, MemberKind};
use crate::scim::resource::Resource;
use crate::settings::TenantSettings;
use crate::store::{PageRequest, Store, StoreError, UserWrite};
use crate::tenant::TenantId;

/// Users read per page when a rules change recomputes a tenant.
const RECOMPUTE_PAGE: usize = 200;

/// The role `settings` give a user in `groups` (`None` without rules, or no rule matching).
pub fn role_of(settings: &TenantSettings, groups: &[GroupRef]) -> Option<String> {
    settings.role_policy().role_for(
        groups
            .iter()
            .map(|g| (g.display_name.as_str(), g.external_id.as_deref())),
    )
}

/// A group's names as a rule matches them: `displayName`, `externalId`.
fn names(group: &Resource) -> (String, Option<String>) {
    (
        group.display_name().unwrap_or_default().to_owned(),
        group.external_id().map(str::to_owned),
    )
}

impl ScimService {
    /// The tenant's settings when it has role rules; `None`: no user of it has a role, and
    /// nothing more is read.
    pub(super) async fn role_rules(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Arc<TenantSettings>>, ScimError> {
        let settings = self.tenant_settings(tenant).await?;
        Ok(settings.role_policy().is_on().then_some(settings))
    }

    /// A user's role for its answer, from its `groups` when they were read (else one read).
    pub(super) async fn user_role(
        &self,
        tenant: &TenantId,
        user_id: &str,
        groups: Option<&[GroupRef]>,
    ) -> Result<Option<String>, ScimError> {
        let Some(settings) = self.role_rules(tenant).await? else {
            return Ok(None);
        };
        Ok(match groups {
            Some(gs) => role_of(&settings, gs),
            None => role_of(&settings, &self.user_groups(tenant, user_id).await?),
        })
    }

    /// The record of a user write with the user's role after it (tenants with rules): a new or
    /// deleted user has none; an updated one keeps the role its groups give.
    pub(super) async fn with_user_role(
        &self,
        settings: &TenantSettings,
        tenant: &TenantId,
        write: &UserWrite<'_>,
        audit: &AuditRecord,
    ) -> Result<Option<AuditRecord>, StoreError> {
        if !settings.role_policy().is_on() {
            return Ok(None);
        }
        let (id, role) = match write {
            UserWrite::Create(u) | UserWrite::Delete(u, _) => (&u.id, None),
            UserWrite::Update { next, .. } => {
                let groups = self.store.groups_of_user(tenant, &next.id).await?;
                (&next.id, role_of(settings, &groups))
            }
        };
        Ok(Some(
            audit
                .clone()
                .with_roles(BTreeMap::from([(id.clone(), role)])),
        ))
    }

    /// The roles a change of group `group_id` alters, for tenants with rules: `add` gain the
    /// group, `remove` lose it, `stay` keep it (needed only when its names change), `after` its
    /// `(displayName, externalId)` after the change (`None`: deleted). Each user's groups are
    /// read once, just before the write; only users whose role differs are named.
    async fn group_role_changes(
        &self,
        settings: &TenantSettings,
        tenant: &TenantId,
        group_id: &str,
        after: Option<&(String, Option<String>)>,
        users: (&[String], &[String], &[String]),
    ) -> Result<BTreeMap<String, Option<String>>, ScimError> {
        let (add, remove, stay) = users;
        let mut out = BTreeMap::new();
        let mut seen = HashSet::new();
        let ids: Vec<String> = add.iter().chain(stay).chain(remove).cloned().collect();
        let mut all = self.store.groups_of_users(tenant, &ids).await?;
        for (id, keeps) in add
            .iter()
            .chain(stay)
            .map(|i| (i, true))
            .chain(remove.iter().map(|i| (i, false)))
        {
            if !seen.insert(id.as_str()) {
                continue;
            }
            let before = all.remove(id.as_str()).unwrap_or_default();
            let mut next: Vec<GroupRef> = before
                .iter()
                .filter(|g| g.id != group_id)
                .cloned()
                .collect();
            if let (true, Some((display_name, external_id))) = (keeps, after) {
                next.push(GroupRef {
                    id: group_id.to_owned(),
                    display_name: display_name.clone(),
                    external_id: external_id.clone(),
                });
            }
            let (was, will) = (role_of(settings, &before), role_of(settings, &next));
            if was != will {
                out.insert(id.clone(), will);
            }
        }
        Ok(out)
    }

    /// The ids among `members` that are users.
    fn user_ids(members: &[Member]) -> Vec<String> {
        members
            .iter()
            .filter(|m| m.kind == MemberKind::User)
            .map(|m| m.value.clone())
            .collect()
    }

    /// The roles a group write alters (see [`Self::group_role_changes`]): `before` and `after`
    /// the group's record (`None`: created, deleted), `add` and `remove` the member change.
    pub(super) async fn group_write_roles(
        &self,
        tenant: &TenantId,
        group_id: &str,
        before: Option<&Resource>,
        after: Option<&Resource>,
        change: (&[Member], &[String]),
    ) -> Result<BTreeMap<String, Option<String>>, ScimError> {
        let Some(settings) = self.role_rules(tenant).await? else {
            return Ok(BTreeMap::new());
        };
        let (add, remove) = change;
        let renamed = before.map(names) != after.map(names);
        let mut remove: Vec<String> = if remove.is_empty() {
            Vec::new()
        } else {
            let kinds = self.store.resolve_members(tenant, remove).await?;
            remove
                .iter()
                .filter(|id| kinds.get(*id) == Some(&MemberKind::User))
                .cloned()
                .collect()
        };
        // Members that stay are affected only by a rename (or, on a delete, lose the group).
        let mut stay = Vec::new();
        if renamed && before.is_some() {
            let members = self
                .read_members(tenant, group_id, MEMBER_SCAN_LIMIT)
                .await?
                .unwrap_or_default();
            let current = Self::user_ids(&members);
            if after.is_none() {
                remove = current;
            } else {
                let gone: HashSet<&String> = remove.iter().collect();
                stay = current.into_iter().filter(|i| !gone.contains(i)).collect();
            }
        }
        let after = after.map(names);
        self.group_role_changes(
            &settings,
            tenant,
            group_id,
            after.as_ref(),
            (&Self::user_ids(add), &remove, &stay),
        )
        .await
    }
}

/// What a rules change did: how many users were read and how many changed role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recomputed {
    pub users: u64,
    pub changed: u64,
}

/// Recompute the roles of every user of `tenant` after its settings went from `old` to `new`,
/// paging through its users (`RECOMPUTE_PAGE` a read, one groups read per user), and keep ONE
/// audit record of the change ([`Action::RolesRecompute`]: the keys set, the users whose role
/// changed, their count), which gives one `roles:changed` event. Nothing else is written: roles
/// are derived on read, so the answers changed when the settings did; this is the trail of it.
/// `progress` is told the users read so far after each page.
pub async fn recompute_roles<S: Store + ?Sized>(
    store: &S,
    tenant: &TenantId,
    actor: &Actor,
    keys: Vec<String>,
    (old, new): (&TenantSettings, &TenantSettings),
    mut progress: impl FnMut(u64),
) -> Result<Recomputed, StoreError> {
    let mut changed = BTreeMap::new();
    let mut users = 0u64;
    let (mut start_index, mut cursor) = (1, None);
    loop {
        let page = store
            .list_users(
                tenant,
                &PageRequest {
                    start_index,
                    count: RECOMPUTE_PAGE,
                    cursor: cursor.take(),
                },
            )
            .await?;
        let ids: Vec<String> = page.items.iter().map(|u| u.id.clone()).collect();
        let mut all = store.groups_of_users(tenant, &ids).await?;
        for u in &page.items {
            let groups = all.remove(&u.id).unwrap_or_default();
            let (was, will) = (role_of(old, &groups), role_of(new, &groups));
            if was != will {
                changed.insert(u.id.clone(), will);
            }
        }
        users += page.items.len() as u64;
        start_index += page.items.len();
        progress(users);
        match page.next_cursor {
            Some(c) if !page.items.is_empty() => cursor = Some(c),
            _ => break,
        }
    }
    let count = changed.len() as u64;
    let mut record = AuditRecord::admin(
        tenant,
        actor,
        "Tenant",
        tenant.as_str(),
        Action::RolesRecompute,
    )
    .with_roles(changed);
    record.changed = keys;
    record.roles_changed = Some(count);
    // A standalone record, like a policy refusal's: no resource changes with it.
    store.record_refusal(tenant, &record).await?;
    Ok(Recomputed {
        users,
        changed: count,
    })
}

/// Whether setting `pairs` may change roles (a role key among them).
pub fn touches_roles<S: AsRef<str>>(pairs: &[S]) -> Vec<String> {
    pairs
        .iter()
        .filter_map(|p| p.as_ref().split_once('=').map(|(k, _)| k.trim().to_owned()))
        .filter(|k| matches!(k.as_str(), "roles" | "role_rules" | "role_ceiling"))
        .collect()
}
