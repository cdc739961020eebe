//! Group operations (RFC 7644 §3.3 - §3.6 for the Group resource, RFC 7643 §4.2).
//!
//! A group's record holds its own attributes; its members are membership items in the store
//! (see `store::GroupStore`). So a change of k members costs O(k) writes, and a read that leaves
//! `members` out costs one read whatever the group's size.

use serde_json::Value;

use super::memberships::{Diff, MemberSet};
use super::users::{backoff, check_if_match, gave_up, page_in_memory, settle, MAX_WRITE_ATTEMPTS};
use super::{store_error, ListQuery, ScimService, FILTER_EVALUATION_LIMIT};
use crate::audit;
use crate::error::ScimError;
use crate::scim::filter::{self, Filter, IndexedAttr};
use crate::scim::group_patch::{self, MemberPlan};
use crate::scim::members::{render_group, take_members, Member};
use crate::scim::resource::{now_rfc3339, render, Resource};
use crate::scim::schema::ResourceKind;
use crate::scim::sort::sort_resources;
use crate::scim::{patch, validate, SchemaAttrInfo};
use crate::store::{Deletion, GroupUpdate, PageRequest};
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
#[derive(Debug, Clone, PartialEq)]
pub struct GroupList {
    pub items: Vec<GroupView>,
    pub total_results: usize,
    pub start_index: usize,
    pub next_cursor: Option<String>,
}

pub(super) fn not_found(id: &str) -> ScimError {
    let shown: String = id.chars().take(80).collect();
    ScimError::not_found(format!("Group {shown} not found."))
}

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
        tenant: &TenantId,
        body: &Value,
    ) -> Result<GroupView, ScimError> {
        audit::set_operation("groups.create");
        let mut attributes = validate::normalize_resource(KIND, body)?;
        let members = take_members(&mut attributes)?;
        let id = uuid::Uuid::new_v4().to_string();
        let mut members = self.resolve_members(tenant, &members, &id).await?;
        members.sort_by(|a, b| a.value.cmp(&b.value));
        let now = now_rfc3339();
        let group = Resource {
            id,
            version: 1,
            created: now.clone(),
            last_modified: now,
            attributes,
        };
        let version = self
            .groups
            .create_group(tenant, &group, &members)
            .await
            .map_err(store_error)?;
        Ok(GroupView {
            group: Resource { version, ..group },
            members: Some(members),
        })
    }

    /// The group record alone: one store read whatever the group's size.
    pub async fn get_group_record(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Resource, ScimError> {
        self.groups
            .get_group(tenant, id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| not_found(id))
    }

    /// GET /Groups/{id}. Members are read only when `with_members` (the projection keeps them),
    /// and at most [`MAX_MEMBERS_PER_RESPONSE`] of them (else `tooMany`).
    pub async fn get_group(
        &self,
        tenant: &TenantId,
        id: &str,
        with_members: bool,
    ) -> Result<GroupView, ScimError> {
        let group = self.get_group_record(tenant, id).await?;
        let members = if with_members {
            Some(self.group_members(tenant, id).await?)
        } else {
            None
        };
        Ok(GroupView { group, members })
    }

    /// A group's members for a read: at most [`MAX_MEMBERS_PER_RESPONSE`], else `tooMany`.
    pub async fn group_members(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Vec<Member>, ScimError> {
        self.read_members(tenant, id, MAX_MEMBERS_PER_RESPONSE)
            .await?
            .ok_or_else(too_many_members)
    }

    /// The members to show after a write that succeeded: `None` past the response bound (the
    /// write is not turned into an error; the client reads them as the `tooMany` answer says).
    pub async fn members_after_write(
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
                .groups
                .list_members(tenant, group_id, cursor.as_deref(), want)
                .await
                .map_err(store_error)?;
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
        tenant: &TenantId,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Resource, ScimError> {
        audit::set_operation("groups.replace");
        let mut attributes = validate::normalize_resource(KIND, body)?;
        let wanted = take_members(&mut attributes)?;
        let wanted = self.resolve_members(tenant, &wanted, id).await?;
        self.write_group(
            tenant,
            id,
            if_match,
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
        .await
    }

    /// PATCH /Groups/{id} (RFC 7644 §3.5.2): attribute operations through the PATCH engine,
    /// member operations as membership changes. All operations are validated before anything is
    /// written; a change that fits one store transaction is atomic.
    pub async fn patch_group(
        &self,
        tenant: &TenantId,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Resource, ScimError> {
        audit::set_operation("groups.patch");
        let split = group_patch::split(patch::parse_request(body)?)?;
        // Every member that may be added must exist: checked once, before any write.
        let added: Vec<Member> = split
            .member_ops
            .iter()
            .flat_map(|op| match op {
                group_patch::MemberOp::Add(ms) | group_patch::MemberOp::Replace(ms) => ms.clone(),
                _ => Vec::new(),
            })
            .collect();
        let resolved = self.resolve_members(tenant, &added, id).await?;
        let kinds = MemberSet::from(resolved);
        let needs_current = split.needs_current_members();
        self.write_group(
            tenant,
            id,
            if_match,
            |current| {
                if split.attribute_ops.is_empty() {
                    return Ok(current.attributes.clone());
                }
                patch::apply_indexed(
                    KIND,
                    current,
                    split.attribute_ops.iter().map(|(i, op)| (*i, op)),
                )
            },
            |current_members| {
                Ok(split
                    .member_plan(current_members)
                    .map(|plan| kinds.with_kinds(plan)))
            },
            needs_current,
        )
        .await
    }

    /// The read-modify-write cycle of PUT and PATCH. `attributes` computes the group's new
    /// attributes from the record read; `plan` the member change, given the current members when
    /// `needs_members`. A change that depends on what was read (attributes, an exact member list,
    /// `If-Match`) is conditional on the version read and retried on a lost race (412 with
    /// `If-Match`); adding or removing given ids is not, so concurrent member additions never
    /// conflict.
    async fn write_group<A, P>(
        &self,
        tenant: &TenantId,
        id: &str,
        if_match: Option<&str>,
        attributes: A,
        plan: P,
        needs_members: bool,
    ) -> Result<Resource, ScimError>
    where
        A: Fn(&Resource) -> Result<serde_json::Map<String, Value>, ScimError>,
        P: Fn(Option<&[Member]>) -> Result<Option<MemberPlan>, ScimError>,
    {
        for attempt in 0..MAX_WRITE_ATTEMPTS {
            let current = self.get_group_record(tenant, id).await?;
            check_if_match(if_match, &current)?;
            let next_attributes = attributes(&current)?;
            let attributes_changed = next_attributes != current.attributes;
            let current_members = if needs_members {
                Some(self.member_set(tenant, id).await?)
            } else {
                None
            };
            let diff = match plan(current_members.as_deref())? {
                None => Diff::default(),
                Some(p) => self.diff(tenant, id, p, current_members.as_deref()).await?,
            };
            if !attributes_changed && diff.is_empty() {
                // Nothing changes (Okta PUTs the whole group on every sync): no write, same ETag.
                return Ok(current);
            }
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
            let written = self.groups.update_group(tenant, &update).await;
            if let Some(version) = settle(written, if_match, || not_found(id))? {
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

    /// DELETE /Groups/{id}: the group and its memberships; afterwards 404.
    pub async fn delete_group(
        &self,
        tenant: &TenantId,
        id: &str,
        if_match: Option<&str>,
        request_id: &str,
    ) -> Result<(), ScimError> {
        audit::set_operation("groups.delete");
        for attempt in 0..MAX_WRITE_ATTEMPTS {
            let current = self.get_group_record(tenant, id).await?;
            check_if_match(if_match, &current)?;
            let deletion = Deletion {
                request_id: request_id.to_owned(),
                deleted_at: now_rfc3339(),
            };
            let written = self.groups.delete_group(tenant, &current, &deletion).await;
            if settle(written, if_match, || not_found(id))?.is_some() {
                return Ok(());
            }
            backoff(attempt).await;
        }
        Err(gave_up(id))
    }

    /// GET /Groups. `displayName eq` (Entra's and Okta's look-up) and `id eq` are direct
    /// look-ups, `members eq` goes through the member's memberships; other filters are evaluated
    /// over at most [`FILTER_EVALUATION_LIMIT`] groups. Members are read for the page only when
    /// `with_members`, bounded by [`MAX_MEMBERS_PER_RESPONSE`] for the whole page.
    pub async fn list_groups(
        &self,
        tenant: &TenantId,
        q: &ListQuery,
        with_members: bool,
    ) -> Result<GroupList, ScimError> {
        let page = if q.filter.is_none() && q.sort.is_none() {
            let page = self
                .groups
                .list_groups(
                    tenant,
                    &PageRequest {
                        start_index: q.start_index,
                        count: q.count,
                        cursor: q.cursor.clone(),
                    },
                )
                .await
                .map_err(store_error)?;
            super::ListResult {
                items: page.items,
                total_results: page.total_results,
                start_index: q.start_index,
                next_cursor: page.next_cursor,
            }
        } else {
            let mut matched = match &q.filter {
                Some(f) => self.filter_groups(tenant, f).await?,
                None => self.all_groups_bounded(tenant).await?,
            };
            if let Some(spec) = &q.sort {
                sort_resources(KIND, &mut matched, spec);
            }
            page_in_memory(tenant, matched, q)?
        };
        let mut items = Vec::with_capacity(page.items.len());
        let mut budget = MAX_MEMBERS_PER_RESPONSE;
        for group in page.items {
            let members = if with_members {
                let ms = self
                    .read_members(tenant, &group.id, budget)
                    .await?
                    .ok_or_else(too_many_members)?;
                budget -= ms.len();
                Some(ms)
            } else {
                None
            };
            items.push(GroupView { group, members });
        }
        Ok(GroupList {
            items,
            total_results: page.total_results,
            start_index: page.start_index,
            next_cursor: page.next_cursor,
        })
    }

    /// The groups matching `f`, from a direct look-up when the filter allows one.
    async fn filter_groups(
        &self,
        tenant: &TenantId,
        f: &Filter,
    ) -> Result<Vec<Resource>, ScimError> {
        let candidates = match self.indexed_groups(tenant, f).await? {
            Some(c) => c,
            None => self.all_groups_bounded(tenant).await?,
        };
        if !filter::mentions(f, "members") {
            return Ok(candidates
                .into_iter()
                .filter(|g| group_matches(f, &render(KIND, g, "")))
                .collect());
        }
        // `members` is not in the record: read it, within the same bound as the candidates.
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
            if group_matches(f, &render_group(&g, Some(&ms), "")) {
                out.push(g);
            }
        }
        Ok(out)
    }

    /// Candidates from the first indexed equality of the filter, or `None` if it has none.
    async fn indexed_groups(
        &self,
        tenant: &TenantId,
        f: &Filter,
    ) -> Result<Option<Vec<Resource>>, ScimError> {
        for (attr, value) in filter::indexed_equalities(f) {
            let found = match attr {
                IndexedAttr::Id => self
                    .groups
                    .get_group(tenant, &value)
                    .await
                    .map(|g| g.into_iter().collect()),
                IndexedAttr::DisplayName => {
                    let found = self
                        .groups
                        .find_groups_by_display_name(tenant, &value, FILTER_EVALUATION_LIMIT + 1)
                        .await
                        .map_err(store_error)?;
                    if found.len() > FILTER_EVALUATION_LIMIT {
                        return Err(ScimError::too_many(format!(
                            "More than {FILTER_EVALUATION_LIMIT} groups have this displayName. Filter on id instead."
                        )));
                    }
                    Ok(found)
                }
                IndexedAttr::Members => {
                    let mut out = Vec::new();
                    for r in self
                        .groups
                        .groups_of(tenant, &value)
                        .await
                        .map_err(store_error)?
                    {
                        if let Some(g) = self
                            .groups
                            .get_group(tenant, &r.id)
                            .await
                            .map_err(store_error)?
                        {
                            out.push(g);
                        }
                    }
                    Ok(out)
                }
                // Groups have neither of these: nothing can match.
                IndexedAttr::UserName | IndexedAttr::Groups => Ok(Vec::new()),
                IndexedAttr::ExternalId => continue,
            };
            return Ok(Some(found.map_err(store_error)?));
        }
        Ok(None)
    }

    /// Every group of the tenant, refusing with `tooMany` past [`FILTER_EVALUATION_LIMIT`].
    async fn all_groups_bounded(&self, tenant: &TenantId) -> Result<Vec<Resource>, ScimError> {
        const BATCH: usize = 1_000;
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .groups
                .list_groups(
                    tenant,
                    &PageRequest {
                        start_index: 1,
                        count: BATCH,
                        cursor,
                    },
                )
                .await
                .map_err(store_error)?;
            if page.total_results > FILTER_EVALUATION_LIMIT {
                return Err(ScimError::too_many(format!(
                    "This filter would have to be evaluated over more than {FILTER_EVALUATION_LIMIT} groups. Filter on id or displayName with eq, alone or inside an 'and'."
                )));
            }
            out.extend(page.items);
            match page.next_cursor {
                Some(c) if out.len() < FILTER_EVALUATION_LIMIT => cursor = Some(c),
                _ => return Ok(out),
            }
        }
    }
}

fn group_matches(f: &Filter, doc: &Value) -> bool {
    filter::matches(f, doc, &SchemaAttrInfo(KIND))
}
