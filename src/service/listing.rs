//! What users and groups share: reading one, reading all (bounded), the look-ups a filter allows,
//! and answering a list request. One path for both resource types; what differs is a `match` on
//! the [`ResourceKind`].

use super::paging::{offset, page_in_memory, ListQuery, ListResult};
use super::plan::{indexed_equalities, mentions, IndexedAttr};
use super::{not_found, ScimService, FILTER_EVALUATION_LIMIT};
use crate::error::ScimError;
use crate::scim::filter::{self, Filter};
use crate::scim::resource::Resource;
use crate::scim::schema::ResourceKind;
use crate::scim::sort::sort_resources;
use crate::store::{Page, PageRequest};
use crate::tenant::TenantId;

/// Resources read per store call when a filter must see all of them.
const SCAN_BATCH: usize = 1_000;

impl ScimService {
    /// The stored record (a group without its members), if it exists: one store read.
    pub(super) async fn read_resource(
        &self,
        kind: ResourceKind,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<Resource>, ScimError> {
        Ok(match kind {
            ResourceKind::User => self.store.get_user(tenant, id).await?,
            ResourceKind::Group => self.store.get_group(tenant, id).await?,
        })
    }

    /// [`Self::read_resource`], 404 when it does not exist.
    pub(super) async fn read_existing(
        &self,
        kind: ResourceKind,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Resource, ScimError> {
        self.read_resource(kind, tenant, id)
            .await?
            .ok_or_else(|| not_found(kind, id))
    }

    async fn store_page(
        &self,
        kind: ResourceKind,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page, ScimError> {
        Ok(match kind {
            ResourceKind::User => self.store.list_users(tenant, page).await?,
            ResourceKind::Group => self.store.list_groups(tenant, page).await?,
        })
    }

    /// A list request answered with records (users without `groups`, groups without
    /// `members`): plain paging is the store's (one Query per page, in its stable order); a
    /// filter is answered from a look-up when it has an indexed equality, else evaluated over at
    /// most [`FILTER_EVALUATION_LIMIT`] resources; a sort orders what matched.
    pub(super) async fn list_records(
        &self,
        kind: ResourceKind,
        tenant: &TenantId,
        q: &ListQuery,
    ) -> Result<ListResult<Resource>, ScimError> {
        if q.filter.is_none() && q.sort.is_none() {
            let request = PageRequest {
                start_index: q.start_index,
                count: q.count,
                cursor: q.cursor.clone(),
            };
            let page = self.store_page(kind, tenant, &request).await?;
            return Ok(ListResult::from_page(page, q));
        }
        let mut matched = match &q.filter {
            Some(f) => {
                let candidates = match self.indexed(kind, tenant, f).await? {
                    Some(c) => c,
                    None if q.sort.is_none() && !needs_relations(kind, f) => {
                        return self.page_of_matches(kind, tenant, f, q).await;
                    }
                    None => self.all_bounded(kind, tenant).await?,
                };
                self.matching(kind, tenant, f, candidates).await?
            }
            None => self.all_bounded(kind, tenant).await?,
        };
        if let Some(spec) = &q.sort {
            sort_resources(kind, &mut matched, spec);
        }
        page_in_memory(tenant, matched, q)
    }

    /// Every resource of the kind in the tenant, refusing with `tooMany` past
    /// [`FILTER_EVALUATION_LIMIT`].
    async fn all_bounded(
        &self,
        kind: ResourceKind,
        tenant: &TenantId,
    ) -> Result<Vec<Resource>, ScimError> {
        let mut out = Vec::new();
        self.scan_bounded(kind, tenant, |batch| out.extend(batch))
            .await?;
        Ok(out)
    }

    /// An unindexed filter without a sort, answered in one pass over the store's pages: each
    /// resource is evaluated, every match is counted (`totalResults`, RFC 7644 §3.4.2) and only
    /// the requested page is kept. Nothing else outlives its store page of [`SCAN_BATCH`], so a
    /// `count=5` over 10,000 matches holds 5 of them, not 10,000 (BENCHMARKS.md, "unindexed
    /// filter"). A sort needs every match first and keeps the [`page_in_memory`] path.
    async fn page_of_matches(
        &self,
        kind: ResourceKind,
        tenant: &TenantId,
        f: &Filter,
        q: &ListQuery,
    ) -> Result<ListResult<Resource>, ScimError> {
        let offset = offset(tenant, q)?;
        let mut total = 0usize;
        let mut page = Vec::with_capacity(q.count.min(SCAN_BATCH));
        self.scan_bounded(kind, tenant, |batch| {
            for r in batch {
                if !matches_as_seen(kind, f, &r) {
                    continue;
                }
                if total >= offset && page.len() < q.count {
                    page.push(r);
                }
                total += 1;
            }
        })
        .await?;
        let kept = page.len();
        Ok(ListResult::at_offset(
            tenant,
            q,
            (page, kept),
            offset,
            total,
        ))
    }

    /// Hand every resource of the kind in the tenant to `visit`, one store page of
    /// [`SCAN_BATCH`] at a time, refusing with `tooMany` (before any is visited) when there are
    /// more than [`FILTER_EVALUATION_LIMIT`].
    async fn scan_bounded(
        &self,
        kind: ResourceKind,
        tenant: &TenantId,
        mut visit: impl FnMut(Vec<Resource>),
    ) -> Result<(), ScimError> {
        let mut seen = 0usize;
        let mut cursor = None;
        loop {
            let request = PageRequest {
                start_index: 1,
                count: SCAN_BATCH,
                cursor,
            };
            let page = self.store_page(kind, tenant, &request).await?;
            if page.total_results > FILTER_EVALUATION_LIMIT {
                let look_ups = match kind {
                    ResourceKind::User => "id, userName, externalId or emails.value",
                    ResourceKind::Group => "id or displayName",
                };
                return Err(ScimError::too_many(format!(
                    "This filter would have to be evaluated over more than {FILTER_EVALUATION_LIMIT} {}s. Filter on {look_ups} with eq, alone or inside an 'and'.",
                    kind.name().to_lowercase()
                )));
            }
            seen += page.items.len();
            visit(page.items);
            match page.next_cursor {
                Some(c) if seen < FILTER_EVALUATION_LIMIT => cursor = Some(c),
                _ => return Ok(()),
            }
        }
    }

    /// The resources that can match `f`, from the first indexed equality the filter has, or
    /// `None` if it has none (then every resource must be evaluated).
    async fn indexed(
        &self,
        kind: ResourceKind,
        tenant: &TenantId,
        f: &Filter,
    ) -> Result<Option<Vec<Resource>>, ScimError> {
        use IndexedAttr as A;
        use ResourceKind::{Group, User};
        for (attr, value) in indexed_equalities(f) {
            let found = match (kind, attr) {
                (_, A::Id) => self
                    .read_resource(kind, tenant, &value)
                    .await?
                    .into_iter()
                    .collect(),
                (User, A::UserName) => self
                    .store
                    .find_user_by_user_name(tenant, &value)
                    .await?
                    .into_iter()
                    .collect(),
                (User, A::ExternalId | A::Emails) => {
                    self.users_listed(tenant, attr, &value).await?
                }
                (User, A::Groups) => self.group_user_candidates(tenant, &value).await?,
                (Group, A::DisplayName) => self.groups_named(tenant, &value).await?,
                (Group, A::Members) => self.groups_with_member(tenant, &value).await?,
                // Groups have none of these (normalisation keeps only schema attributes): nothing
                // can match.
                (Group, A::UserName | A::Groups | A::Emails) => Vec::new(),
                // Not indexed for this kind: try the next equality.
                (User, A::DisplayName | A::Members) | (Group, A::ExternalId) => continue,
            };
            return Ok(Some(found));
        }
        Ok(None)
    }

    /// Users whose externalId is `value` (case-sensitive, not unique: RFC 7643 §3.1) or with the
    /// email address `value` (case-insensitive, not unique: §4.1.2), bounded like any other
    /// evaluation; the caller evaluates the whole filter on them (an email's `type eq "work"`,
    /// and entries a concurrent change made stale).
    async fn users_listed(
        &self,
        tenant: &TenantId,
        attr: IndexedAttr,
        value: &str,
    ) -> Result<Vec<Resource>, ScimError> {
        let limit = FILTER_EVALUATION_LIMIT + 1;
        let (found, what) = if attr == IndexedAttr::Emails {
            let found = self.store.find_users_by_email(tenant, value, limit).await?;
            (found, "users have this email")
        } else {
            let found = self
                .store
                .find_users_by_external_id(tenant, value, limit)
                .await?;
            (found, "users have this externalId")
        };
        within_limit(found, what, "id or userName")
    }

    /// Groups whose displayName is `name` (case-insensitive, not unique), bounded.
    async fn groups_named(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<Vec<Resource>, ScimError> {
        let found = self
            .store
            .find_groups_by_display_name(tenant, name, FILTER_EVALUATION_LIMIT + 1)
            .await?;
        within_limit(found, "groups have this displayName", "id")
    }

    /// Evaluate `f` over `candidates` as the client would see them: with a user's `groups` or a
    /// group's `members` read only when the filter names them.
    async fn matching(
        &self,
        kind: ResourceKind,
        tenant: &TenantId,
        f: &Filter,
        candidates: Vec<Resource>,
    ) -> Result<Vec<Resource>, ScimError> {
        match kind {
            ResourceKind::User if mentions(f, "groups") => {
                self.filter_users_with_groups(tenant, f, candidates).await
            }
            ResourceKind::Group if mentions(f, "members") => {
                self.filter_groups_with_members(tenant, f, candidates).await
            }
            _ => Ok(candidates
                .into_iter()
                .filter(|r| matches_as_seen(kind, f, r))
                .collect()),
        }
    }
}

/// The resources a non-unique look-up found (asked for one more than the limit), or `tooMany`
/// naming the look-ups that stay unique.
fn within_limit(
    found: Vec<Resource>,
    what: &str,
    instead: &str,
) -> Result<Vec<Resource>, ScimError> {
    if found.len() > FILTER_EVALUATION_LIMIT {
        return Err(ScimError::too_many(format!(
            "More than {FILTER_EVALUATION_LIMIT} {what}. Filter on {instead} instead."
        )));
    }
    Ok(found)
}

/// Whether evaluating `f` needs more than the stored record: a user's `groups` or a group's
/// `members`, read by [`ScimService::matching`] in batches.
fn needs_relations(kind: ResourceKind, f: &Filter) -> bool {
    match kind {
        ResourceKind::User => mentions(f, "groups"),
        ResourceKind::Group => mentions(f, "members"),
    }
}

/// Does `f` match the resource as a client sees it (with `id`, `meta`, `schemas`; without a
/// user's `groups` or a group's `members`, which the callers read when a filter names them)?
fn matches_as_seen(kind: ResourceKind, f: &Filter, r: &Resource) -> bool {
    let doc = crate::scim::resource::render(kind, r, "");
    filter::matches(f, &doc, &crate::scim::SchemaAttrInfo(kind))
}
