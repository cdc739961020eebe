//! Group operations (RFC 7644 §3.3 - §3.6 for the Group resource, RFC 7643 §4.2).
//!
//! A group's record holds its own attributes; its members are membership items in the store
//! (see `store::GroupStore`). So a change of k members costs O(k) writes, and a read that leaves
//! `members` out costs one read whatever the group's size.

use serde_json::Value;

use super::memberships::{Diff, MemberSet};
use super::paging::{ListQuery, ListResult};
use super::write::{backoff, check_if_match, gave_up, settle, MAX_WRITE_ATTEMPTS};
use super::{Caller, Fetched, ScimService};
use crate::audit::{changed_attributes, Action};
use crate::error::ScimError;
use crate::scim::group_patch::{self, MemberPlan};
use crate::scim::members::{render_group, take_members, Member};
use crate::scim::projection::Projection;
use crate::scim::resource::{now_rfc3339, ETagCondition, Resource, Version};
use crate::scim::schema::ResourceKind;
use crate::scim::{patch, validate};
use crate::store::GroupUpdate;
use crate::tenant::TenantId;

const KIND: ResourceKind = ResourceKind::Group;

/// Most members one response carries (a group's, or all those of a list page). A member is
/// about 250 bytes of JSON in practice (`value` and the `$ref` id are our 36-character ids,
/// `type` at most 5, `display` what the IdP sent, at most 256 characters): 10,000 members are
/// about 2.5 MB, well under Lambda's 6 MB response limit. Past the bound a read answers 400
/// `tooMany` (never a silently shortened list, which an IdP could read as removals); the
/// transport also checks the rendered size, for members with very long `display` values.
pub const MAX_MEMBERS_PER_RESPONSE: usize = 10_000;

/// Members read per store call.
const MEMBER_PAGE: usize = 1_000;

/// A group with its members when they were read (`None`: not asked for).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupView {
    pub group: Resource,
    pub members: Option<Vec<Member>>,
}

impl GroupView {
    pub fn render(&self, base_url: &str) -> Value {
        render_group(&self.group, self.members.as_deref(), base_url)
    }
}

/// A page of groups (RFC 7644 §3.4.2).
pub type GroupList = ListResult<GroupView>;

pub fn too_many_members() -> ScimError {
    ScimError::too_many(format!(
        "This answer would hold more than {MAX_MEMBERS_PER_RESPONSE} group members, too many for one response. \
         Ask with excludedAttributes=members (or a smaller count), and list a group's members with \
         GET /Users?filter=groups.value eq \"<group id>\"."
    ))
}

impl ScimService {
    /// POST /Groups: the group and its initial members (which must exist in the tenant).
    pub async fn create_group(
        &self,
        caller: &Caller,
        body: &Value,
    ) -> Result<GroupView, ScimError> {
        let tenant = &caller.tenant;
        self.check_body(tenant, KIND, body).await?;
        let mut attributes = validate::normalize_resource(KIND, body)?;
        let members = take_members(&mut attributes)?;
        let id = uuid::Uuid::new_v4().to_string();
        let mut members = self.resolve_members(tenant, &members, &id).await?;
        members.sort_by(|a, b| a.value.cmp(&b.value));
        let now = now_rfc3339();
        let group = Resource {
            id,
            version: Version::FIRST,
            created: now.clone(),
            last_modified: now,
            attributes,
        };
        let changed = changed_attributes(None, Some(&group.attributes));
        let audit = self
            .versioned(
                caller.record(KIND, &group.id, Action::Create, changed),
                group.version,
                &group.attributes,
            )
            .with_members(!members.is_empty())
            .with_member_ids(members.iter().map(|m| m.value.clone()), Vec::new())
            .with_roles(
                self.group_write_roles(tenant, &group.id, None, Some(&group), (&members, &[]))
                    .await?,
            );
        let version = self
            .store
            .create_group(tenant, &group, &members, &audit)
            .await?;
        Ok(GroupView {
            group: Resource { version, ..group },
            members: Some(members),
        })
    }

    /// GET /Groups/{id}: the group, with its members unless the projection leaves them out
    /// (at most [`MAX_MEMBERS_PER_RESPONSE`], else `tooMany`); nothing more is read when
    /// `If-None-Match` names its version. Without members it is one store read whatever the
    /// group's size.
    pub async fn get_group(
        &self,
        tenant: &TenantId,
        id: &str,
        proj: &Projection,
        if_none_match: Option<&ETagCondition>,
    ) -> Result<Fetched<GroupView>, ScimError> {
        if if_none_match.is_none() && !proj.omits("members") {
            // Two independent reads: sent together (one round trip of latency, not two).
            let (group, members) = tokio::join!(
                self.read_existing(KIND, tenant, id),
                self.group_members(tenant, id)
            );
            let group = group?;
            return Ok(Fetched::Found(GroupView {
                group,
                members: Some(members?),
            }));
        }
        let group = self.read_existing(KIND, tenant, id).await?;
        if if_none_match.is_some_and(|c| c.matches(group.version)) {
            return Ok(Fetched::NotModified(group.version));
        }
        let members = if proj.omits("members") {
            None
        } else {
            Some(self.group_members(tenant, id).await?)
        };
        Ok(Fetched::Found(GroupView { group, members }))
    }

    /// A group's members for a read: at most [`MAX_MEMBERS_PER_RESPONSE`], else `tooMany`.
    async fn group_members(&self, tenant: &TenantId, id: &str) -> Result<Vec<Member>, ScimError> {
        self.read_members(tenant, id, MAX_MEMBERS_PER_RESPONSE)
            .await?
            .ok_or_else(too_many_members)
    }

    /// The group after a write that succeeded, as the answer shows it: with its members when
    /// there is an answer (`answer`) and its projection keeps them; `None` past the response
    /// bound (the write is not turned into an error; the client reads them as the `tooMany`
    /// answer says).
    async fn view_after_write(
        &self,
        tenant: &TenantId,
        group: Resource,
        answer: Option<&Projection>,
    ) -> Result<GroupView, ScimError> {
        let members = match answer {
            Some(proj) if !proj.omits("members") => {
                self.members_after_write(tenant, &group.id).await?
            }
            _ => None,
        };
        Ok(GroupView { group, members })
    }

    async fn members_after_write(
        &self,
        tenant: &TenantId,
        group_id: &str,
    ) -> Result<Option<Vec<Member>>, ScimError> {
        let members = self
            .read_members(tenant, group_id, MAX_MEMBERS_PER_RESPONSE)
            .await?;
        if members.is_none() {
            tracing::warn!(group_id = %group_id, "group too large to return its members after a write; members left out");
        }
        Ok(members)
    }

    /// Every member of a group, or `None` if there are more than `limit`.
    pub(super) async fn read_members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        limit: usize,
    ) -> Result<Option<Vec<Member>>, ScimError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let want = (limit + 1 - out.len()).min(MEMBER_PAGE);
            let page = self
                .store
                .list_members(tenant, group_id, cursor.as_deref(), want)
                .await?;
            out.extend(page.members);
            if out.len() > limit {
                return Ok(None);
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(Some(out)),
            }
        }
    }

    /// The current member set, for computations over the whole list, bounded by
    /// [`super::MEMBER_SCAN_LIMIT`].
    async fn member_set(
        &self,
        tenant: &TenantId,
        group_id: &str,
    ) -> Result<Vec<Member>, ScimError> {
        self.read_members(tenant, group_id, super::MEMBER_SCAN_LIMIT)
            .await?
            .ok_or_else(|| {
                ScimError::too_many(format!(
                    "This group has more than {} members: too many to replace or filter as a whole. Add and remove members by id with PATCH instead.",
                    super::MEMBER_SCAN_LIMIT
                ))
            })
    }

    /// PUT /Groups/{id} (RFC 7644 §3.5.1): displayName, externalId, and the member list, written
    /// as the difference from the current members (O(changes) writes).
    pub async fn replace_group(
        &self,
        caller: &Caller,
        id: &str,
        body: &Value,
        if_match: Option<&ETagCondition>,
        answer: Option<&Projection>,
    ) -> Result<GroupView, ScimError> {
        self.check_body(&caller.tenant, KIND, body).await?;
        let mut attributes = validate::normalize_resource(KIND, body)?;
        let wanted = take_members(&mut attributes)?;
        let wanted = self.resolve_members(&caller.tenant, &wanted, id).await?;
        let group = self
            .write_group(
                caller,
                id,
                if_match,
                true,
                |_| Ok(attributes.clone()),
                |_| {
                    Ok(Some(MemberPlan::Exactly(
                        wanted
                            .iter()
                            .map(|m| (m.value.clone(), m.clone()))
                            .collect(),
                    )))
                },
                false,
            )
            .await?;
        self.view_after_write(&caller.tenant, group, answer).await
    }

    /// PATCH /Groups/{id} (RFC 7644 §3.5.2): attribute operations through the PATCH engine,
    /// member operations as membership changes. All operations are validated before anything is
    /// written; a change that fits one store transaction is atomic.
    pub async fn patch_group(
        &self,
        caller: &Caller,
        id: &str,
        body: &Value,
        if_match: Option<&ETagCondition>,
        answer: Option<&Projection>,
    ) -> Result<GroupView, ScimError> {
        let ops = patch::parse_request(body)?;
        self.check_patch(&caller.tenant, &ops).await?;
        let split = group_patch::split(ops)?;
        // Every member that may be added must exist: checked once, before any write.
        let added: Vec<Member> = split
            .member_ops
            .iter()
            .flat_map(|op| match op {
                group_patch::MemberOp::Add(ms) | group_patch::MemberOp::Replace(ms) => ms.clone(),
                _ => Vec::new(),
            })
            .collect();
        let resolved = self.resolve_members(&caller.tenant, &added, id).await?;
        let kinds = MemberSet::from(resolved);
        let needs_current = split.needs_current_members();
        let group = self
            .write_group(
                caller,
                id,
                if_match,
                false,
                |current| {
                    if split.attribute_ops.is_empty() {
                        return Ok(current.attributes.clone());
                    }
                    let next = patch::apply_indexed(
                        KIND,
                        current,
                        split.attribute_ops.iter().map(|(i, op)| (*i, op)),
                    )?;
                    // `group_patch::split` routes every spelling of `members` to the member
                    // plan; should one ever reach the attribute engine, refuse it rather than
                    // store a member list the membership rules never checked.
                    if next.contains_key("members") {
                        return Err(ScimError::invalid_path(
                            "Members are changed with operations on the path \"members\" only.",
                        ));
                    }
                    Ok(next)
                },
                |current_members| {
                    Ok(split
                        .member_plan(current_members)
                        .map(|plan| kinds.with_kinds(plan)))
                },
                needs_current,
            )
            .await?;
        self.view_after_write(&caller.tenant, group, answer).await
    }

    /// The read-modify-write cycle of PUT and PATCH. `attributes` computes the group's new
    /// attributes from the record read; `plan` the member change, given the current members when
    /// `needs_members`. A change that depends on what was read (attributes, an exact member list,
    /// `If-Match`) is conditional on the version read and retried on a lost race (412 with
    /// `If-Match`); adding or removing given ids is not, so concurrent member additions never
    /// conflict. `replace` names the change a PUT in the audit trail.
    #[allow(clippy::too_many_arguments)]
    async fn write_group<A, P>(
        &self,
        caller: &Caller,
        id: &str,
        if_match: Option<&ETagCondition>,
        replace: bool,
        attributes: A,
        plan: P,
        needs_members: bool,
    ) -> Result<Resource, ScimError>
    where
        A: Fn(&Resource) -> Result<serde_json::Map<String, Value>, ScimError>,
        P: Fn(Option<&[Member]>) -> Result<Option<MemberPlan>, ScimError>,
    {
        let tenant = &caller.tenant;
        for attempt in 0..MAX_WRITE_ATTEMPTS {
            // Adding or removing given ids does not depend on the record: which of them are
            // members is read at the same time as the record (one round trip, not two). Its
            // outcome is looked at in the order the checks always ran.
            let given = async {
                match needs_members {
                    true => Ok(None),
                    false => match plan(None)? {
                        None => Ok(Some(Diff::default())),
                        Some(p) => self.diff(tenant, id, p, None).await.map(Some),
                    },
                }
            };
            let (current, given) = tokio::join!(self.read_existing(KIND, tenant, id), given);
            let current = current?;
            check_if_match(if_match, &current)?;
            let next_attributes = attributes(&current)?;
            let attributes_changed = next_attributes != current.attributes;
            let diff = match given? {
                Some(diff) => diff,
                None => {
                    let members = self.member_set(tenant, id).await?;
                    match plan(Some(&members))? {
                        None => Diff::default(),
                        Some(p) => self.diff(tenant, id, p, Some(&members)).await?,
                    }
                }
            };
            if !attributes_changed && diff.is_empty() {
                // Nothing changes (Okta PUTs the whole group on every sync): no write, same ETag.
                return Ok(current);
            }
            self.check_member_removals(caller, id, &diff.remove).await?;
            let conditional = if_match.is_some() || attributes_changed || diff.depends_on_read;
            let now = now_rfc3339();
            let update = GroupUpdate {
                id,
                expected_version: conditional.then_some(current.version),
                attributes: attributes_changed.then_some(&next_attributes),
                add: &diff.add,
                remove: &diff.remove,
                last_modified: &now,
                current: Some(&current),
            };
            // The store corrects the version and the member ids to what each committed part
            // wrote (an unconditional membership change learns its version only then).
            let audit = if attributes_changed {
                let action = Action::of_update(replace, &current.attributes, &next_attributes);
                let changed = changed_attributes(Some(&current.attributes), Some(&next_attributes));
                let record = caller.record(KIND, id, action, changed);
                self.versioned(record, current.version.next(), &next_attributes)
            } else {
                let record = caller.record(KIND, id, Action::MembershipChange, Vec::new());
                self.versioned(record, current.version.next(), &serde_json::Map::new())
            }
            .with_members(!diff.is_empty())
            .with_member_ids(
                diff.add.iter().map(|m| m.value.clone()),
                diff.remove.clone(),
            );
            // Roles from groups: the users whose role this change alters (`roles.rs`).
            let after = Resource {
                attributes: next_attributes.clone(),
                ..current.clone()
            };
            let roles = self
                .group_write_roles(
                    tenant,
                    id,
                    Some(&current),
                    Some(&after),
                    (&diff.add, &diff.remove),
                )
                .await?;
            let audit = audit.with_roles(roles);
            let written = self.store.update_group(tenant, &update, &audit).await;
            if let Some(version) = settle(written, if_match, KIND, id)? {
                return Ok(Resource {
                    version,
                    last_modified: now,
                    attributes: next_attributes,
                    ..current
                });
            }
            backoff(attempt).await;
        }
        Err(gave_up(id))
    }

    /// GET /Groups. `displayName eq` (Entra's and Okta's look-up) and `id eq` are direct
    /// look-ups, `members eq` goes through the member's memberships; other filters are evaluated
    /// over at most [`super::FILTER_EVALUATION_LIMIT`] groups. Members are read for the page
    /// unless the projection leaves them out, bounded by [`MAX_MEMBERS_PER_RESPONSE`] for the
    /// whole page.
    pub async fn list_groups(
        &self,
        tenant: &TenantId,
        q: &ListQuery,
        proj: &Projection,
    ) -> Result<GroupList, ScimError> {
        let page = self.list_records(KIND, tenant, q).await?;
        self.group_views(tenant, page, proj).await
    }

    /// A page of groups as a list answer shows them.
    pub(super) async fn group_views(
        &self,
        tenant: &TenantId,
        page: ListResult<Resource>,
        proj: &Projection,
    ) -> Result<GroupList, ScimError> {
        if proj.omits("members") {
            return Ok(page.map(|group| GroupView {
                group,
                members: None,
            }));
        }
        let mut budget = MAX_MEMBERS_PER_RESPONSE;
        let mut members = Vec::with_capacity(page.items.len());
        for group in &page.items {
            let ms = self
                .read_members(tenant, &group.id, budget)
                .await?
                .ok_or_else(too_many_members)?;
            budget -= ms.len();
            members.push(ms);
        }
        Ok(page.joined(members, |group, members| GroupView { group, members }))
    }
}
