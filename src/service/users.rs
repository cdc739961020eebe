//! User operations (RFC 7644 §3.3 create, §3.4 query, §3.5 replace and modify; delete is
//! `write.rs`'s, shared with groups).

use serde_json::{Map, Value};

use super::paging::{ListQuery, ListResult};
use super::plan::exact_group_filter;
use super::roles::role_of;
use super::write::{backoff, check_if_match, gave_up, settle, MAX_WRITE_ATTEMPTS};
use super::{not_found, Caller, Fetched, ScimService};
use crate::audit::{changed_attributes, Action};
use crate::error::ScimError;
use crate::scim::members::{render_user, GroupRef};
use crate::scim::projection::Projection;
use crate::scim::resource::{now_rfc3339, ETagCondition, Resource, Version};
use crate::scim::roles::{mentions_role, render_role};
use crate::scim::schema::ResourceKind;
use crate::scim::urn::ROLES_USER;
use crate::scim::{patch, validate};
use crate::store::{StoreError, UserWrite};
use crate::tenant::TenantId;

const KIND: ResourceKind = ResourceKind::User;

/// A user as the answer shows it: with its read-only `groups` (RFC 7643 §4.1.2) when they were
/// read (`None`: the projection leaves them out, and they were not read), and its read-only
/// product `role` (roles from groups: `None` without rules, without a matching rule, or when the
/// projection leaves it out).
#[derive(Debug, Clone, PartialEq)]
pub struct UserView {
    pub user: Resource,
    pub groups: Option<Vec<GroupRef>>,
    pub role: Option<String>,
}

impl UserView {
    pub fn render(&self, base_url: &str) -> Value {
        let mut doc = render_user(&self.user, self.groups.as_deref(), base_url);
        if let Some(role) = &self.role {
            render_role(&mut doc, role);
        }
        doc
    }
}

/// A page of users (RFC 7644 §3.4.2).
pub type UserList = ListResult<UserView>;

impl ScimService {
    /// POST /Users. A new user is in no group: its `groups` need no read (Okta creates users one
    /// by one on every assignment). A POST for a deactivated user restores it (ARCHITECTURE.md,
    /// IdP shapes row 20), which keeps its groups.
    pub async fn create_user(
        &self,
        caller: &Caller,
        body: &Value,
        answer: Option<&Projection>,
    ) -> Result<UserView, ScimError> {
        self.check_body(&caller.tenant, KIND, body).await?;
        let mut attributes = validate::normalize_resource(KIND, body)?;
        attributes.entry("active").or_insert(Value::Bool(true));
        let now = now_rfc3339();
        let user = Resource {
            id: uuid::Uuid::new_v4().to_string(),
            version: Version::FIRST,
            created: now.clone(),
            last_modified: now,
            attributes,
        };
        self.check_user_write(caller, None, Some(&user.attributes))
            .await?;
        let changed = changed_attributes(None, Some(&user.attributes));
        let audit = self.versioned(
            caller.record(KIND, &user.id, Action::Create, changed),
            user.version,
            &user.attributes,
        );
        match self
            .write_user(caller, UserWrite::Create(&user), &audit)
            .await
        {
            // Nor has it a role: no rule matches a user in no group.
            Ok(()) => Ok(UserView {
                user,
                groups: Some(Vec::new()),
                role: None,
            }),
            Err(StoreError::Uniqueness(attr)) => {
                // Okta re-assigns a person by POSTing again after deactivating them: restore the
                // deactivated user (same id) instead of answering 409 forever. An active user
                // still conflicts.
                match self.find_deactivated_owner(&caller.tenant, &user).await? {
                    Some(existing) => {
                        let restored = self.restore_user(caller, existing, user.attributes).await?;
                        self.user_view(&caller.tenant, restored, answer).await
                    }
                    None => Err(StoreError::Uniqueness(attr).into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The deactivated user that holds `user`'s userName, if that is who blocks it. Only
    /// userName is unique, so only it can block a create: a POST whose externalId alone matches
    /// one or several users (deactivated or not) creates a new user, since externalId is not
    /// unique (RFC 7643 §3.1; ARCHITECTURE.md, IdP shapes rows 20 and 25).
    async fn find_deactivated_owner(
        &self,
        tenant: &TenantId,
        user: &Resource,
    ) -> Result<Option<Resource>, ScimError> {
        let owner = self
            .store
            .find_user_by_user_name(tenant, user.user_name())
            .await?;
        Ok(owner.filter(|u| !u.active()))
    }

    async fn restore_user(
        &self,
        caller: &Caller,
        existing: Resource,
        attributes: Map<String, Value>,
    ) -> Result<Resource, ScimError> {
        self.check_user_write(caller, Some(&existing), Some(&attributes))
            .await?;
        let next = Resource {
            version: existing.version.next(),
            last_modified: now_rfc3339(),
            attributes,
            ..existing.clone()
        };
        let changed = changed_attributes(Some(&existing.attributes), Some(&next.attributes));
        let audit = self.versioned(
            caller.record(KIND, &next.id, Action::Restore, changed),
            next.version,
            &next.attributes,
        );
        let write = UserWrite::Update {
            current: &existing,
            next: &next,
        };
        match self.write_user(caller, write, &audit).await {
            Ok(()) => {
                tracing::info!(rule = "reprovision-deactivated", user_id = %next.id, "restored a deactivated user on create");
                Ok(next)
            }
            // Lost a race with another writer: the client may retry its create.
            Err(StoreError::VersionConflict) => Err(ScimError::uniqueness(
                "The user was changed concurrently while being restored. Retry the request.",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// GET /Users/{id}: the user, with its groups unless the projection leaves them out, in one
    /// store read; 304 when `If-None-Match` names its version.
    pub async fn get_user(
        &self,
        tenant: &TenantId,
        id: &str,
        proj: &Projection,
        if_none_match: Option<&ETagCondition>,
    ) -> Result<Fetched<UserView>, ScimError> {
        let (user, groups) = self.read_user(tenant, id, Some(proj)).await?;
        if if_none_match.is_some_and(|c| c.matches(user.version)) {
            return Ok(Fetched::NotModified(user.version));
        }
        Ok(Fetched::Found(
            self.view(tenant, user, groups, Some(proj)).await?,
        ))
    }

    /// A user, with its groups when `answer` shows them: one store read either way (on
    /// DynamoDB the user item carries its group references).
    async fn read_user(
        &self,
        tenant: &TenantId,
        id: &str,
        answer: Option<&Projection>,
    ) -> Result<(Resource, Option<Vec<GroupRef>>), ScimError> {
        if !shows_groups(answer) {
            return Ok((self.read_existing(KIND, tenant, id).await?, None));
        }
        match self.store.get_user_with_groups(tenant, id).await? {
            Some((user, groups)) => Ok((user, Some(groups))),
            None => Err(not_found(KIND, id)),
        }
    }

    /// A single user's answer: its `groups` (one more store read) unless the projection leaves
    /// them out, or no representation is wanted (`None`: `Prefer: return=minimal`).
    async fn user_view(
        &self,
        tenant: &TenantId,
        user: Resource,
        answer: Option<&Projection>,
    ) -> Result<UserView, ScimError> {
        let groups = match shows_groups(answer) {
            true => Some(self.user_groups(tenant, &user.id).await?),
            false => None,
        };
        self.view(tenant, user, groups, answer).await
    }

    /// The answer for `user` with the groups read with it (if shown), and its role for tenants
    /// with role rules (from those groups, or one more read when they were not read).
    async fn view(
        &self,
        tenant: &TenantId,
        user: Resource,
        groups: Option<Vec<GroupRef>>,
        answer: Option<&Projection>,
    ) -> Result<UserView, ScimError> {
        let role = match answer {
            Some(proj) if !proj.omits_extension(ROLES_USER) => {
                self.user_role(tenant, &user.id, groups.as_deref()).await?
            }
            _ => None,
        };
        Ok(UserView { user, groups, role })
    }

    /// PUT (RFC 7644 §3.5.1): replace every client-settable attribute. `active` is kept when the
    /// body leaves it out (ARCHITECTURE.md, IdP shapes row 18: Okta's PUT may omit it; omitting
    /// must neither deactivate nor reactivate).
    pub async fn replace_user(
        &self,
        caller: &Caller,
        id: &str,
        body: &Value,
        if_match: Option<&ETagCondition>,
        answer: Option<&Projection>,
    ) -> Result<UserView, ScimError> {
        self.check_body(&caller.tenant, KIND, body).await?;
        let attributes = validate::normalize_resource(KIND, body)?;
        let (user, groups) = self
            .modify_user(caller, id, if_match, true, answer, |current| {
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
            .await?;
        self.view(&caller.tenant, user, groups, answer).await
    }

    /// PATCH (RFC 7644 §3.5.2): all operations apply, or none.
    pub async fn patch_user(
        &self,
        caller: &Caller,
        id: &str,
        body: &Value,
        if_match: Option<&ETagCondition>,
        answer: Option<&Projection>,
    ) -> Result<UserView, ScimError> {
        let ops = patch::parse_request(body)?;
        self.check_patch(&caller.tenant, &ops).await?;
        let (user, groups) = self
            .modify_user(caller, id, if_match, false, answer, |current| {
                patch::apply(KIND, current, &ops)
            })
            .await?;
        self.view(&caller.tenant, user, groups, answer).await
    }

    /// Read, compute, and write conditionally on the version read (see `write.rs`). `replace`
    /// names the change a PUT in the audit trail. The user's groups come with the read when
    /// `answer` shows them: a write of the user does not change them, and any membership change
    /// since the read moves the version the write is conditioned on.
    async fn modify_user<F>(
        &self,
        caller: &Caller,
        id: &str,
        if_match: Option<&ETagCondition>,
        replace: bool,
        answer: Option<&Projection>,
        compute: F,
    ) -> Result<(Resource, Option<Vec<GroupRef>>), ScimError>
    where
        F: Fn(&Resource) -> Result<Map<String, Value>, ScimError>,
    {
        for attempt in 0..MAX_WRITE_ATTEMPTS {
            let (current, groups) = self.read_user(&caller.tenant, id, answer).await?;
            check_if_match(if_match, &current)?;
            let attributes = compute(&current)?;
            if attributes == current.attributes {
                // Nothing changed (Okta PUTs the whole user on every sync): no write, same ETag.
                return Ok((current, groups));
            }
            self.check_user_write(caller, Some(&current), Some(&attributes))
                .await?;
            let next = Resource {
                version: current.version.next(),
                last_modified: now_rfc3339(),
                attributes,
                ..current.clone()
            };
            let action = Action::of_update(replace, &current.attributes, &next.attributes);
            let changed = changed_attributes(Some(&current.attributes), Some(&next.attributes));
            let audit = self.versioned(
                caller.record(KIND, id, action, changed),
                next.version,
                &next.attributes,
            );
            let write = UserWrite::Update {
                current: &current,
                next: &next,
            };
            let written = self.write_user(caller, write, &audit).await;
            if settle(written, if_match, KIND, id)?.is_some() {
                return Ok((next, groups));
            }
            backoff(attempt).await;
        }
        Err(gave_up(id))
    }

    /// GET /Users. A lone `groups.value eq "id"` pages over the group's member list, however
    /// large. Users' `groups` are read only when `attributes` asks for them: each is one more
    /// store read, and a page of 100 users must stay one Query (plus the count), not 101. IdPs
    /// never read `groups` from lists.
    pub async fn list_users(
        &self,
        tenant: &TenantId,
        q: &ListQuery,
        proj: &Projection,
    ) -> Result<UserList, ScimError> {
        if q.filter.as_ref().is_some_and(mentions_role) {
            // Evaluating it would read every candidate's groups; `groups.value eq` lists the
            // users of the group a rule names (ARCHITECTURE.md, Roles from groups).
            return Err(ScimError::invalid_filter(format!(
                "{ROLES_USER}:role cannot be filtered on: it is derived from the user's groups. Filter on groups.value eq \"<group id>\" for the members of a group that a role rule names."
            )));
        }
        let page = match q.filter.as_ref().and_then(exact_group_filter) {
            Some(group_id) => self.list_group_users(tenant, &group_id, q).await?,
            None => self.list_records(KIND, tenant, q).await?,
        };
        self.user_views(tenant, page, proj).await
    }

    /// A page of users as a list answer shows them.
    pub(super) async fn user_views(
        &self,
        tenant: &TenantId,
        page: ListResult<Resource>,
        proj: &Projection,
    ) -> Result<UserList, ScimError> {
        // The role, like `groups`, only when `attributes` names it: one groups read per user.
        let role_rules = if proj.asks_for_extension(ROLES_USER) {
            self.role_rules(tenant).await?
        } else {
            None
        };
        if !proj.asks_for("groups") && role_rules.is_none() {
            return Ok(page.map(|user| UserView {
                user,
                groups: None,
                role: None,
            }));
        }
        // One batched read of the page's users' groups (DynamoDB: their items hold them).
        let ids: Vec<String> = page.items.iter().map(|u| u.id.clone()).collect();
        let mut all = self.store.groups_of_users(tenant, &ids).await?;
        let mut read = Vec::with_capacity(page.items.len());
        for user in &page.items {
            let groups = all.remove(&user.id).unwrap_or_default();
            let role = role_rules.as_deref().and_then(|s| role_of(s, &groups));
            read.push((proj.asks_for("groups").then_some(groups), role));
        }
        Ok(page.joined(read, |user, extra| {
            let (groups, role) = extra.unwrap_or_default();
            UserView { user, groups, role }
        }))
    }
}

/// Whether an answer (`None`: no representation, `Prefer: return=minimal`) shows `groups`.
fn shows_groups(answer: Option<&Projection>) -> bool {
    answer.is_some_and(|proj| !proj.omits("groups"))
}
