//! The admin API's service side: one tenant's SCIM token (generate with an optional overlap,
//! revoke, status with "last used"), connection health, recent changes from the audit trail,
//! and setup links. The transport (`http/admin.rs`) authenticates the caller into an
//! [`AdminActor`] (an IAM principal from API Gateway, or a setup-link session) and calls one
//! method per request; every action that changes something is recorded in the audit trail with
//! that actor.
//!
//! The tenant's settings (`crate::settings`) are read and written here too, with the same
//! validation as `scimctl tenant set`.

pub mod health;

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{Action, Actor, AuditRecord};
use crate::auth::credentials::{self, CredentialStore, CredentialStoreError, GenerateOptions};
use crate::auth::setup_link::{is_link_id, Claims, IssueError, Kind, LinkError, SetupLinks};
use crate::error::ScimError;
use crate::settings::{TenantSettings, VersionedSettings};
use crate::store::admin::{AdminStore, HealthBucket, LastError};
use crate::store::policies::init_seats;
use crate::store::Store;
use crate::store::StoreError;
use crate::tenant::TenantId;
use health::HealthRecorder;

/// Largest page of recent changes.
pub const MAX_CHANGES_PAGE: usize = 100;
/// The IdP label recorded on admin actions' audit records.
const ADMIN_IDP: &str = "admin";

/// Who is calling the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminActor {
    /// The product's backend, authorised by API Gateway's IAM authorization: the caller's ARN.
    Iam(String),
    /// A customer admin with a session from a setup link of this tenant.
    Link(Claims),
    /// An operator tool on the machine (`scimctl`, `scim-local`), named.
    Operator(String),
}

impl AdminActor {
    /// How audit records and logs name the actor: never a credential.
    pub fn label(&self) -> String {
        match self {
            AdminActor::Iam(arn) => format!("iam:{arn}"),
            AdminActor::Link(c) => format!("link:{}", c.link_id),
            AdminActor::Operator(name) => format!("operator:{name}"),
        }
    }

    /// A setup link opens its own tenant only; IAM callers may act on any tenant (the IAM
    /// policy on the route decides who they are).
    pub fn may_act_on(&self, tenant: &TenantId) -> Result<(), ScimError> {
        match self {
            AdminActor::Iam(_) | AdminActor::Operator(_) => Ok(()),
            AdminActor::Link(c) if &c.tenant == tenant => Ok(()),
            AdminActor::Link(_) => Err(ScimError::admin_unauthorized(
                "This setup link is for another tenant.",
            )),
        }
    }
}

/// One admin request's caller.
pub struct AdminCaller {
    pub actor: AdminActor,
    pub request_id: String,
}

/// A session, as the page receives it.
#[derive(Serialize)]
pub struct SessionView {
    pub session: String,
    pub tenant: String,
    pub link_id: String,
    pub expires: i64,
}

#[derive(Serialize)]
pub struct GeneratedView {
    /// Shown once; never logged.
    pub token: String,
    pub id: String,
    /// Previous tokens still accepted, and until when (epoch seconds).
    pub previous: Vec<PreviousView>,
    pub stopped: usize,
}

#[derive(Serialize)]
pub struct PreviousView {
    pub id: String,
    pub until: Option<i64>,
}

#[derive(Serialize)]
pub struct TokenView {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub not_after: Option<i64>,
    pub role: credentials::Role,
    pub live: bool,
    /// Last request with this token in the last 24 hours, and from which IdP.
    pub last_used: Option<String>,
    pub last_used_idp: Option<String>,
}

#[derive(Serialize)]
pub struct IdpHealthView {
    pub idp: String,
    pub last_request: String,
    pub requests_24h: u64,
    pub errors_24h: u64,
    pub last_error: Option<LastError>,
}

#[derive(Serialize)]
pub struct ChangesView {
    pub changes: Vec<AuditRecord>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next: Option<String>,
}

/// A new setup link: the credential goes into the URL fragment.
pub struct NewLink {
    pub credential: SecretString,
    pub link_id: String,
    pub expires: i64,
}

pub struct AdminApi {
    credentials: Arc<dyn CredentialStore>,
    links: Arc<SetupLinks>,
    store: Arc<dyn AdminStore>,
    /// The settings record, and the seats item a seat limit needs (`store::policies`).
    settings: Arc<dyn Store>,
    health: Arc<HealthRecorder>,
}

/// A tenant's settings as the admin API shows them: every key with its value, and the version
/// of the stored record (0: none stored, all defaults).
#[derive(Serialize)]
pub struct SettingsView {
    pub settings: std::collections::BTreeMap<&'static str, String>,
    pub version: u64,
}

impl From<&VersionedSettings> for SettingsView {
    fn from(v: &VersionedSettings) -> Self {
        SettingsView {
            settings: v.settings.pairs().into_iter().collect(),
            version: v.version,
        }
    }
}

/// How often a settings write is retried after another writer changed the record meanwhile.
const SETTINGS_ATTEMPTS: usize = 5;

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn credential_error(e: CredentialStoreError) -> ScimError {
    match e {
        CredentialStoreError::Invalid(msg) => ScimError::invalid_value(msg),
        other => {
            tracing::error!(error = %other, "credential store failed");
            ScimError::unavailable(5)
        }
    }
}

fn key_error(e: impl std::fmt::Display) -> ScimError {
    tracing::error!(error = %e, "setup-link key unavailable");
    ScimError::unavailable(5)
}

fn link_refused(e: LinkError) -> ScimError {
    ScimError::admin_unauthorized(match e {
        LinkError::Expired => "This setup link has expired. Ask for a new one.",
        LinkError::Malformed | LinkError::Signature => {
            "This setup link is not valid. Check that it was copied whole, or ask for a new one."
        }
    })
}

impl AdminApi {
    pub fn new(
        credentials: Arc<dyn CredentialStore>,
        links: Arc<SetupLinks>,
        store: Arc<dyn AdminStore>,
        settings: Arc<dyn Store>,
        health: Arc<HealthRecorder>,
    ) -> Self {
        AdminApi {
            credentials,
            links,
            store,
            settings,
            health,
        }
    }

    /// The tenant's settings (defaults when none were ever stored).
    pub async fn tenant_settings(
        &self,
        caller: &AdminCaller,
        tenant: &TenantId,
    ) -> Result<SettingsView, ScimError> {
        caller.actor.may_act_on(tenant)?;
        let current = self
            .settings
            .get_settings(tenant)
            .await?
            .unwrap_or_default();
        Ok(SettingsView::from(&current))
    }

    /// Apply `pairs` (`KEY=VALUE`, validated as a whole as `scimctl tenant set` does: one bad
    /// pair refuses all, 400 `invalidValue` naming every problem) on top of the stored record,
    /// conditional on its version, and record the change with the keys set. Running functions
    /// apply it within the service's settings cache time.
    pub async fn set_tenant_settings(
        &self,
        caller: &AdminCaller,
        tenant: &TenantId,
        pairs: &[String],
    ) -> Result<SettingsView, ScimError> {
        caller.actor.may_act_on(tenant)?;
        let refused =
            |e: crate::settings::SettingsError| ScimError::invalid_value(e.problems.join("; "));
        TenantSettings::default().assign(pairs).map_err(refused)?;
        for _ in 0..SETTINGS_ATTEMPTS {
            let current = self
                .settings
                .get_settings(tenant)
                .await?
                .unwrap_or_default();
            let next = current.settings.assign(pairs).map_err(refused)?;
            if pairs
                .iter()
                .any(|p| p.trim_start().starts_with("seat_limit"))
            {
                // Before the settings, as `scimctl tenant set` does: an instance that learns the
                // limit must find the seats item (ARCHITECTURE.md, Tenant policies).
                init_seats(&*self.settings, tenant, next.seat_limit).await?;
            }
            match self
                .settings
                .put_settings(tenant, &next, current.version)
                .await
            {
                Ok(version) => {
                    let keys = pairs
                        .iter()
                        .filter_map(|p| p.split_once('=').map(|(k, _)| k.to_owned()))
                        .collect();
                    self.audit_changed(
                        caller,
                        tenant,
                        ("Settings", tenant.as_str()),
                        Action::SettingsChange,
                        keys,
                    )
                    .await;
                    self.recompute_in_background(caller, tenant, pairs, &current.settings, &next);
                    return Ok(SettingsView::from(&VersionedSettings {
                        settings: next,
                        version,
                    }));
                }
                Err(StoreError::VersionConflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ScimError::unavailable(1))
    }

    /// After a change of the role keys: recompute the tenant's users on a task and keep one
    /// audit record of it (`service::roles::recompute_roles`). The answer does not wait: the
    /// roles themselves are derived on read and already follow the new rules; the task only
    /// writes the trail and its event. Lambda may freeze the task after the answer and resume it
    /// on the next invocation; a lost task loses that record, never a role.
    fn recompute_in_background(
        &self,
        caller: &AdminCaller,
        tenant: &TenantId,
        pairs: &[String],
        old: &TenantSettings,
        new: &TenantSettings,
    ) {
        let keys = crate::service::roles::touches_roles(pairs);
        // Without rules before or after, no user has a role either way.
        if keys.is_empty() || !old.role_policy().is_on() && !new.role_policy().is_on() {
            return;
        }
        let actor = Actor {
            request_id: caller.request_id.clone(),
            token_id: caller.actor.label(),
            idp: ADMIN_IDP.to_owned(),
        };
        let (store, tenant) = (self.settings.clone(), tenant.clone());
        let (old, new) = (old.clone(), new.clone());
        tokio::spawn(async move {
            match crate::service::roles::recompute_roles(
                &*store,
                &tenant,
                &actor,
                keys,
                (&old, &new),
                |_| {},
            )
            .await
            {
                Ok(r) => {
                    tracing::info!(tenant = %tenant, users = r.users, changed = r.changed, "roles recomputed after a rules change")
                }
                Err(e) => {
                    tracing::error!(tenant = %tenant, error = %e, "roles not recomputed after a rules change")
                }
            }
        });
    }

    /// The recorder the transport counts SCIM requests into.
    pub fn health_recorder(&self) -> &HealthRecorder {
        &self.health
    }

    async fn verified(&self, text: &str, kind: Kind) -> Result<Claims, ScimError> {
        let claims = self
            .links
            .verify(text, kind, now())
            .await
            .map_err(key_error)?
            .map_err(link_refused)?;
        if self
            .store
            .link_revoked(&claims.tenant, &claims.link_id)
            .await?
        {
            return Err(ScimError::admin_unauthorized(
                "This setup link has been revoked. Ask for a new one.",
            ));
        }
        Ok(claims)
    }

    /// The actor of a session bearer credential (checked against revocation on every request).
    pub async fn session_actor(&self, session: &str) -> Result<AdminActor, ScimError> {
        Ok(AdminActor::Link(
            self.verified(session, Kind::Session).await?,
        ))
    }

    /// Exchange a setup link for a short-lived session.
    pub async fn exchange(&self, link: &str) -> Result<SessionView, ScimError> {
        let claims = self.verified(link, Kind::Link).await?;
        let s = self
            .links
            .issue_session(&claims, now())
            .await
            .map_err(key_error)?;
        Ok(SessionView {
            session: s.text.expose_secret().to_owned(),
            tenant: claims.tenant.to_string(),
            link_id: claims.link_id,
            expires: s.claims.expires,
        })
    }

    async fn audit(
        &self,
        caller: &AdminCaller,
        tenant: &TenantId,
        resource: (&str, &str),
        action: Action,
    ) {
        self.audit_changed(caller, tenant, resource, action, Vec::new())
            .await
    }

    /// [`Self::audit`], naming what changed (setting keys; never values).
    async fn audit_changed(
        &self,
        caller: &AdminCaller,
        tenant: &TenantId,
        resource: (&str, &str),
        action: Action,
        changed: Vec<String>,
    ) {
        let actor = Actor {
            request_id: caller.request_id.clone(),
            token_id: caller.actor.label(),
            idp: ADMIN_IDP.to_owned(),
        };
        let mut record = AuditRecord::admin(tenant, &actor, resource.0, resource.1, action);
        record.changed = changed;
        // The action is done (a token may already be shown only in this answer), so a failed
        // record cannot undo it: it is logged loudly instead of losing the token.
        if let Err(e) = self.store.record_admin_action(tenant, &record).await {
            tracing::error!(tenant = %tenant, action = ?action, actor = %record.token_id, error = %e, "admin action not recorded in the audit trail");
        }
    }

    /// Generate a SCIM token; the previous ones stop working, or after `overlap`.
    pub async fn generate_token(
        &self,
        caller: &AdminCaller,
        tenant: &TenantId,
        overlap: Option<Duration>,
    ) -> Result<GeneratedView, ScimError> {
        caller.actor.may_act_on(tenant)?;
        let opts = GenerateOptions {
            overlap,
            label: Some(
                format!("admin {}", caller.actor.label())
                    .chars()
                    .take(60)
                    .collect(),
            ),
            ..Default::default()
        };
        let g = credentials::generate(self.credentials.as_ref(), tenant, &opts)
            .await
            .map_err(credential_error)?;
        self.audit(caller, tenant, ("Token", &g.id), Action::TokenGenerate)
            .await;
        Ok(GeneratedView {
            token: g.token.expose_secret().to_owned(),
            id: g.id.clone(),
            previous: g
                .overlapping
                .iter()
                .map(|(id, until)| PreviousView {
                    id: id.clone(),
                    until: *until,
                })
                .collect(),
            stopped: g.dropped,
        })
    }

    /// Stop accepting every token of the tenant. Returns how many there were.
    pub async fn revoke_token(
        &self,
        caller: &AdminCaller,
        tenant: &TenantId,
    ) -> Result<usize, ScimError> {
        caller.actor.may_act_on(tenant)?;
        let n = credentials::revoke(self.credentials.as_ref(), tenant)
            .await
            .map_err(credential_error)?;
        self.audit(caller, tenant, ("Token", "*"), Action::TokenRevoke)
            .await;
        Ok(n)
    }

    pub async fn token_status(
        &self,
        caller: &AdminCaller,
        tenant: &TenantId,
    ) -> Result<Vec<TokenView>, ScimError> {
        caller.actor.may_act_on(tenant)?;
        let creds = credentials::status(self.credentials.as_ref(), tenant)
            .await
            .map_err(credential_error)?
            .unwrap_or_default();
        let buckets = self.health.read(tenant).await?;
        Ok(creds
            .into_iter()
            .map(|c| {
                let last = buckets
                    .iter()
                    .filter(|b| b.last_token == c.id)
                    .max_by(|a, b| a.last_at.cmp(&b.last_at));
                TokenView {
                    last_used: last.map(|b| b.last_at.clone()),
                    last_used_idp: last.map(|b| b.idp.clone()),
                    id: c.id,
                    created: c.created,
                    not_after: c.not_after,
                    role: c.role,
                    live: c.live,
                }
            })
            .collect())
    }

    /// Per IdP seen in the last 24 hours: last request, requests, errors, last error.
    pub async fn health(
        &self,
        caller: &AdminCaller,
        tenant: &TenantId,
    ) -> Result<Vec<IdpHealthView>, ScimError> {
        caller.actor.may_act_on(tenant)?;
        Ok(summarise(self.health.read(tenant).await?))
    }

    /// A page of the audit trail, newest first. `cursor` is a previous page's `next`.
    pub async fn recent_changes(
        &self,
        caller: &AdminCaller,
        tenant: &TenantId,
        cursor: Option<&str>,
        count: usize,
    ) -> Result<ChangesView, ScimError> {
        caller.actor.may_act_on(tenant)?;
        let cursor =
            match cursor {
                None => None,
                Some(c) => Some(parse_cursor(c).ok_or_else(|| {
                    ScimError::invalid_value("cursor is not a cursor of this API.")
                })?),
            };
        let limit = count.clamp(1, MAX_CHANGES_PAGE);
        // `<at>#~` sorts after every record key of that millisecond: they are all read again,
        // and the ones already shown are skipped.
        let before = cursor.map(|(at, _)| format!("{at}#~"));
        let skip = cursor.map_or(0, |c| c.1);
        let read = self
            .store
            .recent_audit(tenant, before.as_deref(), skip + limit + 1)
            .await?;
        let (changes, next) = page_newest_first(read, cursor, limit);
        Ok(ChangesView { changes, next })
    }

    /// A new setup link for `tenant`, valid for `ttl`.
    pub async fn create_link(
        &self,
        caller: &AdminCaller,
        tenant: &TenantId,
        ttl: Duration,
    ) -> Result<NewLink, ScimError> {
        caller.actor.may_act_on(tenant)?;
        let issued = self
            .links
            .issue_link(tenant, ttl, now())
            .await
            .map_err(|e| match e {
                IssueError::Ttl => ScimError::invalid_value(e.to_string()),
                IssueError::Key(k) => key_error(k),
            })?;
        let id = issued.claims.link_id.clone();
        self.audit(caller, tenant, ("SetupLink", &id), Action::LinkCreate)
            .await;
        Ok(NewLink {
            credential: issued.text,
            link_id: id,
            expires: issued.claims.expires,
        })
    }

    /// Revoke setup link `link_id` of `tenant` (and every session made from it).
    pub async fn revoke_link(
        &self,
        caller: &AdminCaller,
        tenant: &TenantId,
        link_id: &str,
    ) -> Result<(), ScimError> {
        caller.actor.may_act_on(tenant)?;
        if !is_link_id(link_id) {
            return Err(ScimError::invalid_value("link id is not a setup-link id."));
        }
        let until = now() + crate::auth::setup_link::MAX_LINK_TTL.as_secs() as i64;
        self.store.revoke_link(tenant, link_id, until).await?;
        self.audit(caller, tenant, ("SetupLink", link_id), Action::LinkRevoke)
            .await;
        Ok(())
    }
}

/// Sum a tenant's buckets per IdP, most recently seen first.
pub fn summarise(buckets: Vec<HealthBucket>) -> Vec<IdpHealthView> {
    let mut per: std::collections::BTreeMap<String, HealthBucket> = Default::default();
    for b in buckets {
        per.entry(b.idp.clone())
            .or_insert_with(|| HealthBucket {
                idp: b.idp.clone(),
                ..Default::default()
            })
            .merge(&b);
    }
    let mut out: Vec<IdpHealthView> = per
        .into_values()
        .map(|b| IdpHealthView {
            idp: b.idp,
            last_request: b.last_at,
            requests_24h: b.requests,
            errors_24h: b.errors,
            last_error: b.last_error,
        })
        .collect();
    out.sort_by(|a, b| b.last_request.cmp(&a.last_request));
    out
}

/// A recent-changes cursor: the `at` of the last record shown and how many records of that
/// millisecond were shown (several records often share one: one request's writes, or a burst).
fn parse_cursor(c: &str) -> Option<(&str, usize)> {
    let (at, n) = c.split_once('|')?;
    let at_ok = at.len() <= 30
        && at
            .bytes()
            .all(|b| b.is_ascii_digit() || b"-:.TZ".contains(&b));
    let n: usize = n.parse().ok()?;
    (at_ok && n <= 100_000).then_some((at, n))
}

/// Cut `read` (newest first, every record at or before the cursor's millisecond) into the page
/// after `cursor` and the cursor of the next page. Order within a millisecond is the store's
/// stable key order, so skipping by count is exact.
pub fn page_newest_first(
    read: Vec<AuditRecord>,
    cursor: Option<(&str, usize)>,
    limit: usize,
) -> (Vec<AuditRecord>, Option<String>) {
    let skip = cursor.map_or(0, |(at, n)| {
        read.iter().take(n).take_while(|r| r.at == at).count()
    });
    let more = read.len() > skip + limit;
    let page: Vec<AuditRecord> = read.into_iter().skip(skip).take(limit).collect();
    let next = page.last().filter(|_| more).map(|last| {
        let mut same = page.iter().filter(|r| r.at == last.at).count();
        if cursor.is_some_and(|(at, _)| at == last.at) {
            same += skip;
        }
        format!("{}|{same}", last.at)
    });
    (page, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Actor;
    use crate::scim::schema::ResourceKind;

    fn rec(at: &str) -> AuditRecord {
        let mut r = AuditRecord::new(
            &TenantId::parse("acme").unwrap(),
            &Actor::system(),
            ResourceKind::User,
            "u",
            Action::Patch,
            vec![],
        );
        r.at = at.into();
        r
    }

    #[test]
    fn pages_within_one_millisecond_skip_what_was_shown() {
        let ats = |v: &[AuditRecord]| v.iter().map(|r| r.at.clone()).collect::<Vec<_>>();
        let (p, next) = page_newest_first(vec![rec("3"), rec("2"), rec("1")], None, 2);
        assert_eq!(ats(&p), ["3", "2"]);
        assert_eq!(next.as_deref(), Some("2|1"));
        // Five records of one millisecond, two per page.
        let same = || vec![rec("5"), rec("5"), rec("5"), rec("5"), rec("5"), rec("4")];
        let (p, next) = page_newest_first(same(), None, 2);
        assert_eq!((p.len(), next.as_deref()), (2, Some("5|2")));
        let (p, next) = page_newest_first(same(), parse_cursor("5|2"), 2);
        assert_eq!((p.len(), next.as_deref()), (2, Some("5|4")));
        let (p, next) = page_newest_first(same(), parse_cursor("5|4"), 2);
        assert_eq!(
            (ats(&p), next),
            (vec!["5".to_owned(), "4".to_owned()], None)
        );
        let (p, next) = page_newest_first(vec![rec("3"), rec("2")], None, 2);
        assert_eq!((p.len(), next), (2, None));
        assert_eq!(parse_cursor("x|1"), None);
        assert_eq!(parse_cursor("5"), None);
    }

    #[test]
    fn a_link_actor_acts_on_its_own_tenant_only() {
        let acme = TenantId::parse("acme").unwrap();
        let link = AdminActor::Link(Claims {
            tenant: acme.clone(),
            link_id: "abc".into(),
            expires: 0,
        });
        assert!(link.may_act_on(&acme).is_ok());
        let e = link
            .may_act_on(&TenantId::parse("globex").unwrap())
            .unwrap_err();
        assert_eq!(e.status(), 401);
        assert!(AdminActor::Iam("arn:x".into()).may_act_on(&acme).is_ok());
        assert_eq!(link.label(), "link:abc");
    }
}
