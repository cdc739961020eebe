//! Memberships seen from both sides: checking and diffing a group's member changes, a User's
//! read-only `groups`, and `GET /Users?filter=groups.value eq "id"` (the way to list a group too
//! large to return with its members).

use std::collections::{HashMap, HashSet};

use super::paging::{offset, page_in_memory, ListQuery, ListResult};
use super::{ScimService, FILTER_EVALUATION_LIMIT, MEMBER_SCAN_LIMIT};
use crate::error::ScimError;
use crate::scim::filter::{self, Filter};
use crate::scim::group_patch::MemberPlan;
use crate::scim::members::{render_group, render_user, GroupRef, Member, MemberKind};
use crate::scim::resource::Resource;
use crate::scim::schema::ResourceKind;
use crate::scim::sort::sort_resources;
use crate::scim::SchemaAttrInfo;
use crate::tenant::TenantId;

/// Most users a filter that mentions `groups` (other than a lone `groups.value eq`) is
/// evaluated over: each needs one more read for its groups.
pub const GROUPS_FILTER_LIMIT: usize = 1_000;

/// The membership writes a change amounts to.
#[derive(Debug, Default)]
pub(super) struct Diff {
    pub add: Vec<Member>,
    pub remove: Vec<String>,
    /// Computed from the whole current member list, so only valid at the version read.
    pub depends_on_read: bool,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// Members a request may add, with the kind the store says each id is.
pub(super) struct MemberSet(HashMap<String, MemberKind>);

impl From<Vec<Member>> for MemberSet {
    fn from(ms: Vec<Member>) -> Self {
        MemberSet(ms.into_iter().map(|m| (m.value, m.kind)).collect())
    }
}

impl MemberSet {
    /// The plan with each requested member's kind taken from the store (row 13: a missing or
    /// wrong `type` does not decide).
    pub fn with_kinds(&self, plan: MemberPlan) -> MemberPlan {
        let fix = |m: &mut Member| {
            if let Some(k) = self.0.get(&m.value) {
                m.kind = *k;
            }
        };
        match plan {
            MemberPlan::Delta { mut add, remove } => {
                add.values_mut().for_each(fix);
                MemberPlan::Delta { add, remove }
            }
            MemberPlan::Exactly(mut set) => {
                set.values_mut().for_each(fix);
                MemberPlan::Exactly(set)
            }
        }
    }
}

impl ScimService {
    /// Check that every member exists in the tenant (ids of other tenants do not) and is not the
    /// group itself, and give each the kind of the resource that holds its id.
    pub(super) async fn resolve_members(
        &self,
        tenant: &TenantId,
        members: &[Member],
        group_id: &str,
    ) -> Result<Vec<Member>, ScimError> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        if members.iter().any(|m| m.value == group_id) {
            return Err(ScimError::invalid_value(
                "A group cannot be a member of itself.",
            ));
        }
        let ids: Vec<String> = members.iter().map(|m| m.value.clone()).collect();
        let kinds = self.store.resolve_members(tenant, &ids).await?;
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !kinds.contains_key(*id))
            .take(3)
            .map(|id| format!("\"{}\"", id.chars().take(80).collect::<String>()))
            .collect();
        if !missing.is_empty() {
            return Err(ScimError::invalid_value(format!(
                "members: no User or Group with the id {} exists. Provision the user or group first, then add it as a member.",
                missing.join(", ")
            )));
        }
        Ok(members
            .iter()
            .map(|m| Member {
                kind: kinds.get(&m.value).copied().unwrap_or(m.kind),
                ..m.clone()
            })
            .collect())
    }

    /// The writes a plan needs: a `Delta` against the membership items of just the ids it names
    /// (O(ids) reads), an exact list against the whole current list.
    pub(super) async fn diff(
        &self,
        tenant: &TenantId,
        group_id: &str,
        plan: MemberPlan,
        current: Option<&[Member]>,
    ) -> Result<Diff, ScimError> {
        match plan {
            MemberPlan::Delta { add, remove } => {
                let ids: Vec<String> = add.keys().chain(remove.iter()).cloned().collect();
                if ids.is_empty() {
                    return Ok(Diff::default());
                }
                let present = self.store.members_among(tenant, group_id, &ids).await?;
                Ok(Diff {
                    add: add
                        .into_values()
                        .filter(|m| !present.contains(&m.value))
                        .collect(),
                    remove: remove
                        .into_iter()
                        .filter(|id| present.contains(id))
                        .collect(),
                    depends_on_read: false,
                })
            }
            MemberPlan::Exactly(mut wanted) => {
                let read;
                let current = match current {
                    Some(c) => c,
                    None => {
                        read = self
                            .read_members(tenant, group_id, MEMBER_SCAN_LIMIT)
                            .await?
                            .ok_or_else(|| {
                                ScimError::too_many(format!(
                                    "This group has more than {MEMBER_SCAN_LIMIT} members: too many to replace as a whole. Add and remove members by id with PATCH instead."
                                ))
                            })?;
                        &read
                    }
                };
                let current_ids: HashSet<&str> = current.iter().map(|m| m.value.as_str()).collect();
                let remove = current
                    .iter()
                    .filter(|m| !wanted.contains_key(&m.value))
                    .map(|m| m.value.clone())
                    .collect();
                wanted.retain(|id, _| !current_ids.contains(id.as_str()));
                Ok(Diff {
                    add: wanted.into_values().collect(),
                    remove,
                    depends_on_read: true,
                })
            }
        }
    }

    /// A user's read-only `groups` (direct memberships): one store read (DynamoDB: of the user
    /// item, which holds them).
    pub async fn user_groups(
        &self,
        tenant: &TenantId,
        user_id: &str,
    ) -> Result<Vec<GroupRef>, ScimError> {
        Ok(self.store.groups_of_user(tenant, user_id).await?)
    }

    /// The ids of a group's members that are Users, in the store's order, at most `limit`.
    async fn user_member_ids(
        &self,
        tenant: &TenantId,
        group_id: &str,
        limit: usize,
    ) -> Result<Vec<String>, ScimError> {
        let members = self.read_members(tenant, group_id, limit).await?.ok_or_else(|| {
            ScimError::too_many(format!(
                "This group has more than {limit} members, too many for this request. Page through GET /Users?filter=groups.value eq \"<group id>\" without sortBy or other conditions."
            ))
        })?;
        Ok(members
            .into_iter()
            .filter(|m| m.kind == MemberKind::User)
            .map(|m| m.value)
            .collect())
    }

    /// `GET /Users?filter=groups.value eq "id"`: the group's user members, paged over the member
    /// list (up to [`MEMBER_SCAN_LIMIT`] members), reading only the users of the page; sorted,
    /// over at most [`FILTER_EVALUATION_LIMIT`] users.
    pub(super) async fn list_group_users(
        &self,
        tenant: &TenantId,
        group_id: &str,
        q: &ListQuery,
    ) -> Result<ListResult<Resource>, ScimError> {
        if self.store.get_group(tenant, group_id).await?.is_none() {
            return page_in_memory(tenant, Vec::new(), q);
        }
        if let Some(spec) = &q.sort {
            let ids = self
                .user_member_ids(tenant, group_id, FILTER_EVALUATION_LIMIT)
                .await?;
            let mut users = self.users_by_id(tenant, &ids).await?;
            sort_resources(ResourceKind::User, &mut users, spec);
            return page_in_memory(tenant, users, q);
        }
        let ids = self
            .user_member_ids(tenant, group_id, MEMBER_SCAN_LIMIT)
            .await?;
        let offset = offset(tenant, q)?;
        let page_ids: Vec<String> = ids.iter().skip(offset).take(q.count).cloned().collect();
        let users = self.users_by_id(tenant, &page_ids).await?;
        Ok(ListResult::at_offset(
            tenant,
            q,
            (users, page_ids.len()),
            offset,
            ids.len(),
        ))
    }

    /// The users with these ids, in that order; ids deleted meanwhile are skipped.
    async fn users_by_id(
        &self,
        tenant: &TenantId,
        ids: &[String],
    ) -> Result<Vec<Resource>, ScimError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(u) = self.store.get_user(tenant, id).await? {
                out.push(u);
            }
        }
        Ok(out)
    }

    /// Candidates from a `groups` equality inside a larger filter.
    pub(super) async fn group_user_candidates(
        &self,
        tenant: &TenantId,
        group_id: &str,
    ) -> Result<Vec<Resource>, ScimError> {
        if self.store.get_group(tenant, group_id).await?.is_none() {
            return Ok(Vec::new());
        }
        let ids = self
            .user_member_ids(tenant, group_id, FILTER_EVALUATION_LIMIT)
            .await?;
        self.users_by_id(tenant, &ids).await
    }

    /// Evaluate a filter that mentions `groups` over `candidates`, reading each one's groups.
    pub(super) async fn filter_users_with_groups(
        &self,
        tenant: &TenantId,
        f: &Filter,
        candidates: Vec<Resource>,
    ) -> Result<Vec<Resource>, ScimError> {
        if candidates.len() > GROUPS_FILTER_LIMIT {
            return Err(ScimError::too_many(format!(
                "A filter on groups is evaluated over at most {GROUPS_FILTER_LIMIT} users. Use groups.value eq \"<group id>\" alone, or add an eq condition on id, userName or externalId."
            )));
        }
        let info = SchemaAttrInfo(ResourceKind::User);
        let ids: Vec<String> = candidates.iter().map(|u| u.id.clone()).collect();
        let mut all = self.store.groups_of_users(tenant, &ids).await?;
        let mut out = Vec::new();
        for u in candidates {
            let groups = all.remove(&u.id).unwrap_or_default();
            if filter::matches(f, &render_user(&u, Some(&groups), ""), &info) {
                out.push(u);
            }
        }
        Ok(out)
    }

    /// The existing groups `member_id` is a direct member of (`members.value eq` on groups).
    pub(super) async fn groups_with_member(
        &self,
        tenant: &TenantId,
        member_id: &str,
    ) -> Result<Vec<Resource>, ScimError> {
        let mut out = Vec::new();
        for r in self.store.groups_of(tenant, member_id).await? {
            if let Some(g) = self.store.get_group(tenant, &r.id).await? {
                out.push(g);
            }
        }
        Ok(out)
    }

    /// Evaluate a filter that mentions `members` over `candidates`, reading their members
    /// within the same bound as the candidates.
    pub(super) async fn filter_groups_with_members(
        &self,
        tenant: &TenantId,
        f: &Filter,
        candidates: Vec<Resource>,
    ) -> Result<Vec<Resource>, ScimError> {
        let info = SchemaAttrInfo(ResourceKind::Group);
        let mut budget = FILTER_EVALUATION_LIMIT;
        let mut out = Vec::new();
        for g in candidates {
            let ms = self
                .read_members(tenant, &g.id, budget)
                .await?
                .ok_or_else(|| {
                    ScimError::too_many(format!(
                        "This filter would have to be evaluated over more than {FILTER_EVALUATION_LIMIT} group members. Filter on id or displayName with eq, or on members.value eq \"<id>\"."
                    ))
                })?;
            budget -= ms.len();
            if filter::matches(f, &render_group(&g, Some(&ms), ""), &info) {
                out.push(g);
            }
        }
        Ok(out)
    }
}
