//! User operations (RFC 7644 §3.3 create, §3.4 query, §3.5 replace and modify, §3.6 delete).

use std::time::Duration;

use serde_json::{Map, Value};

use super::memberships::exact_group_filter;
use super::{store_error, ScimService, FILTER_EVALUATION_LIMIT};
use crate::audit;
use crate::error::ScimError;
use crate::scim::filter::{self, Filter, IndexedAttr};
use crate::scim::resource::{etag_matches, now_rfc3339, render, Resource};
use crate::scim::schema::ResourceKind;
use crate::scim::sort::{sort_resources, SortSpec};
use crate::scim::{patch, validate, SchemaAttrInfo};
use crate::store::{Deletion, PageRequest, StoreError};
use crate::tenant::TenantId;

/// How often a read-modify-write without `If-Match` is retried after losing a race.
pub(super) const MAX_WRITE_ATTEMPTS: u32 = 25;

const KIND: ResourceKind = ResourceKind::User;

/// A parsed list request (RFC 7644 §3.4.2, RFC 9865).
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sort: Option<SortSpec>,
    /// 1-based.
    pub start_index: usize,
    pub count: usize,
    /// The cursor to continue from (RFC 9865); `None` on the first page.
    pub cursor: Option<String>,
    /// The client pages with cursors (it sent a `cursor` parameter, even empty).
    pub cursor_requested: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListResult {
    pub items: Vec<Resource>,
    pub total_results: usize,
    pub start_index: usize,
    pub next_cursor: Option<String>,
}

/// What a create did: made a new user, or restored a deactivated one (IDP-BEHAVIOUR.md row 20).
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    New(Resource),
    Restored(Resource),
}

impl Created {
    pub fn resource(&self) -> &Resource {
        match self {
            Created::New(r) | Created::Restored(r) => r,
        }
    }
}

fn not_found(id: &str) -> ScimError {
    // The id is the client's own path segment; echoing it helps the admin match the error.
    let shown: String = id.chars().take(80).collect();
    ScimError::not_found(format!("User {shown} not found."))
}

pub(super) fn check_if_match(if_match: Option<&str>, current: &Resource) -> Result<(), ScimError> {
    match if_match {
        Some(h) if !etag_matches(h, current.version) => Err(ScimError::precondition_failed()),
        _ => Ok(()),
    }
}

/// A short random pause after a lost race, so that competing writers spread out.
pub(super) async fn backoff(attempt: u32) {
    let mut b = [0u8; 1];
    let jitter = getrandom::fill(&mut b)
        .map(|_| u64::from(b[0] % 8))
        .unwrap_or(3);
    tokio::time::sleep(Duration::from_millis(u64::from(attempt.min(5)) + jitter)).await;
}

/// The outcome of one conditional write in a read-modify-write loop: `Some(value)` when it stuck,
/// `None` when a lost race should be retried from a fresh read (only without `If-Match`; with it
/// the answer is 412, RFC 7644 §3.14), or the error to answer with.
pub(super) fn settle<T>(
    written: Result<T, StoreError>,
    if_match: Option<&str>,
    not_found: impl FnOnce() -> ScimError,
) -> Result<Option<T>, ScimError> {
    match written {
        Ok(v) => Ok(Some(v)),
        Err(StoreError::VersionConflict) if if_match.is_none() => Ok(None),
        Err(StoreError::NotFound) => Err(not_found()),
        Err(e) => Err(store_error(e)),
    }
}

/// The answer after [`MAX_WRITE_ATTEMPTS`] lost races: retry later.
pub(super) fn gave_up(id: &str) -> ScimError {
    tracing::warn!(resource_id = %id, "gave up after repeated write conflicts");
    ScimError::unavailable(1)
}

impl ScimService {
    pub async fn create_user(&self, tenant: &TenantId, body: &Value) -> Result<Created, ScimError> {
        audit::set_operation("users.create");
        let mut attributes = validate::normalize_resource(KIND, body)?;
        attributes.entry("active").or_insert(Value::Bool(true));
        let now = now_rfc3339();
        let user = Resource {
            id: uuid::Uuid::new_v4().to_string(),
            version: 1,
            created: now.clone(),
            last_modified: now,
            attributes,
        };
        match self.users.create_user(tenant, &user).await {
            Ok(()) => Ok(Created::New(user)),
            Err(StoreError::Uniqueness(attr)) => {
                // Okta re-assigns a person by POSTing again after deactivating them: restore the
                // deactivated user (same id) instead of answering 409 forever. An active user
                // still conflicts.
                match self.find_deactivated_owner(tenant, &user).await? {
                    Some(existing) => self.restore_user(tenant, existing, user.attributes).await,
                    None => Err(store_error(StoreError::Uniqueness(attr))),
                }
            }
            Err(e) => Err(store_error(e)),
        }
    }

    /// The deactivated user that holds `user`'s userName or externalId, if that is who blocks it.
    async fn find_deactivated_owner(
        &self,
        tenant: &TenantId,
        user: &Resource,
    ) -> Result<Option<Resource>, ScimError> {
        let by_name = self
            .users
            .find_user_by_user_name(tenant, user.user_name())
            .await
            .map_err(store_error)?;
        let owner = match (by_name, user.external_id()) {
            (Some(u), _) => Some(u),
            (None, Some(ext)) => self
                .users
                .find_user_by_external_id(tenant, ext)
                .await
                .map_err(store_error)?,
            (None, None) => None,
        };
        Ok(owner.filter(|u| !u.active()))
    }

    async fn restore_user(
        &self,
        tenant: &TenantId,
        existing: Resource,
        attributes: Map<String, Value>,
    ) -> Result<Created, ScimError> {
        let next = Resource {
            version: existing.version + 1,
            last_modified: now_rfc3339(),
            attributes,
            ..existing.clone()
        };
        match self.users.update_user(tenant, &existing, &next).await {
            Ok(()) => {
                tracing::info!(rule = "reprovision-deactivated", user_id = %next.id, "restored a deactivated user on create");
                Ok(Created::Restored(next))
            }
            // Lost a race with another writer: the client may retry its create.
            Err(StoreError::VersionConflict) => Err(ScimError::uniqueness(
                "The user was changed concurrently while being restored. Retry the request.",
            )),
            Err(e) => Err(store_error(e)),
        }
    }

    pub async fn get_user(&self, tenant: &TenantId, id: &str) -> Result<Resource, ScimError> {
        self.users
            .get_user(tenant, id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| not_found(id))
    }

    /// PUT (RFC 7644 §3.5.1): replace every client-settable attribute. `active` is kept when the
    /// body leaves it out (IDP-BEHAVIOUR.md row 18: Okta's PUT may omit it; omitting must neither
    /// deactivate nor reactivate).
    pub async fn replace_user(
        &self,
        tenant: &TenantId,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Resource, ScimError> {
        audit::set_operation("users.replace");
        let attributes = validate::normalize_resource(KIND, body)?;
        self.modify_user(tenant, id, if_match, |current| {
            let mut next = attributes.clone();
            if !next.contains_key("active") {
                tracing::debug!(
                    rule = "put-keeps-active",
                    "PUT without active keeps the current value"
                );
                next.insert("active".into(), Value::Bool(current.active()));
            }
            Ok(next)
        })
        .await
    }

    /// PATCH (RFC 7644 §3.5.2): all operations apply, or none.
    pub async fn patch_user(
        &self,
        tenant: &TenantId,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Resource, ScimError> {
        audit::set_operation("users.patch");
        let ops = patch::parse_request(body)?;
        self.modify_user(tenant, id, if_match, |current| {
            patch::apply(KIND, current, &ops)
        })
        .await
    }

    /// Read, compute, and write conditionally on the version read. Without `If-Match`, a lost race
    /// is retried from a fresh read (no update is ever lost); with it, the answer is 412.
    async fn modify_user<F>(
        &self,
        tenant: &TenantId,
        id: &str,
        if_match: Option<&str>,
        compute: F,
    ) -> Result<Resource, ScimError>
    where
        F: Fn(&Resource) -> Result<Map<String, Value>, ScimError>,
    {
        for attempt in 0..MAX_WRITE_ATTEMPTS {
            let current = self.get_user(tenant, id).await?;
            check_if_match(if_match, &current)?;
            let attributes = compute(&current)?;
            if attributes == current.attributes {
                // Nothing changed (Okta PUTs the whole user on every sync): no write, same ETag.
                return Ok(current);
            }
            let next = Resource {
                version: current.version + 1,
                last_modified: now_rfc3339(),
                attributes,
                ..current.clone()
            };
            let written = self.users.update_user(tenant, &current, &next).await;
            if settle(written, if_match, || not_found(id))?.is_some() {
                return Ok(next);
            }
            backoff(attempt).await;
        }
        Err(gave_up(id))
    }

    pub async fn delete_user(
        &self,
        tenant: &TenantId,
        id: &str,
        if_match: Option<&str>,
        request_id: &str,
    ) -> Result<(), ScimError> {
        audit::set_operation("users.delete");
        for attempt in 0..MAX_WRITE_ATTEMPTS {
            let current = self.get_user(tenant, id).await?;
            check_if_match(if_match, &current)?;
            let deletion = Deletion {
                request_id: request_id.to_owned(),
                deleted_at: now_rfc3339(),
            };
            let written = self.users.delete_user(tenant, &current, &deletion).await;
            if settle(written, if_match, || not_found(id))?.is_some() {
                return Ok(());
            }
            backoff(attempt).await;
        }
        Err(gave_up(id))
    }

    pub async fn list_users(
        &self,
        tenant: &TenantId,
        q: &ListQuery,
    ) -> Result<ListResult, ScimError> {
        if let Some(group_id) = q.filter.as_ref().and_then(exact_group_filter) {
            // A group's user members: paged over its member list, however large.
            return self.list_group_users(tenant, &group_id, q).await;
        }
        if q.filter.is_none() && q.sort.is_none() {
            // Plain paging is the store's: one Query per page, in its stable order.
            let page = self
                .users
                .list_users(
                    tenant,
                    &PageRequest {
                        start_index: q.start_index,
                        count: q.count,
                        cursor: q.cursor.clone(),
                    },
                )
                .await
                .map_err(store_error)?;
            return Ok(ListResult {
                items: page.items,
                total_results: page.total_results,
                start_index: q.start_index,
                next_cursor: page.next_cursor,
            });
        }
        let mut matched = match q.filter.as_ref() {
            Some(f) => {
                let candidates = match self.indexed_candidates(tenant, f).await? {
                    Some(c) => c,
                    None => self.all_users_bounded(tenant).await?,
                };
                if filter::mentions(f, "groups") {
                    // `groups` is not stored with the user: read it for each candidate.
                    self.filter_users_with_groups(tenant, f, candidates).await?
                } else {
                    candidates
                        .into_iter()
                        .filter(|u| user_matches(f, u))
                        .collect()
                }
            }
            None => self.all_users_bounded(tenant).await?,
        };
        if let Some(spec) = &q.sort {
            sort_resources(KIND, &mut matched, spec);
        }
        page_in_memory(tenant, matched, q)
    }

    /// Users that can match `f` found by direct look-up, or `None` if the filter has no indexed
    /// equality (then every user must be evaluated).
    async fn indexed_candidates(
        &self,
        tenant: &TenantId,
        f: &Filter,
    ) -> Result<Option<Vec<Resource>>, ScimError> {
        for (attr, value) in filter::indexed_equalities(f) {
            let found = match attr {
                IndexedAttr::Id => self.users.get_user(tenant, &value).await,
                IndexedAttr::UserName => self.users.find_user_by_user_name(tenant, &value).await,
                IndexedAttr::ExternalId => {
                    self.users.find_user_by_external_id(tenant, &value).await
                }
                IndexedAttr::Groups => {
                    return Ok(Some(self.group_user_candidates(tenant, &value).await?))
                }
                IndexedAttr::DisplayName | IndexedAttr::Members => continue,
            };
            return Ok(Some(found.map_err(store_error)?.into_iter().collect()));
        }
        Ok(None)
    }

    /// Every user of the tenant, refusing with `tooMany` past [`FILTER_EVALUATION_LIMIT`].
    async fn all_users_bounded(&self, tenant: &TenantId) -> Result<Vec<Resource>, ScimError> {
        const BATCH: usize = 1_000;
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .users
                .list_users(
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
                    "This filter would have to be evaluated over more than {FILTER_EVALUATION_LIMIT} users. Filter on id, userName or externalId with eq, alone or inside an 'and'."
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

/// Evaluate a filter against a user as a client would see it (with `id`, `meta`, `schemas`).
fn user_matches(f: &Filter, user: &Resource) -> bool {
    filter::matches(f, &render(KIND, user, ""), &SchemaAttrInfo(KIND))
}

/// Page a result set computed in memory (filtered or sorted). Its cursors are offsets, marked
/// with a `.` that store cursors (base64url) never contain, and bound to the tenant.
pub(super) fn page_in_memory(
    tenant: &TenantId,
    all: Vec<Resource>,
    q: &ListQuery,
) -> Result<ListResult, ScimError> {
    let offset = match &q.cursor {
        Some(c) => decode_offset_cursor(tenant, c)?,
        None => q.start_index.saturating_sub(1),
    };
    let total_results = all.len();
    let items: Vec<Resource> = all.into_iter().skip(offset).take(q.count).collect();
    let next = offset + items.len();
    let next_cursor =
        (q.count > 0 && next < total_results).then(|| encode_offset_cursor(tenant, next));
    Ok(ListResult {
        items,
        total_results,
        start_index: offset + 1,
        next_cursor,
    })
}

pub(super) fn encode_offset_cursor(tenant: &TenantId, offset: usize) -> String {
    use base64::Engine;
    format!(
        "o.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{tenant}\n{offset}"))
    )
}

pub(super) fn decode_offset_cursor(tenant: &TenantId, cursor: &str) -> Result<usize, ScimError> {
    use base64::Engine;
    let invalid = || store_error(StoreError::InvalidCursor);
    let raw = cursor.strip_prefix("o.").ok_or_else(invalid)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    match text.split_once('\n') {
        Some((t, n)) if t == tenant.as_str() => n.parse().map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}
