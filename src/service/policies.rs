//! The tenant policies (ARCHITECTURE.md, Tenant policies): checks every user and group write
//! makes before it reaches the store, whatever request carries it (POST, PUT, PATCH, DELETE,
//! and each `/Bulk` operation, which goes through the same service calls).
//!
//! - `domains`: a `userName` that is an email, and every `emails.value`, must be in one of the
//!   tenant's verified domains: 400 `invalidValue` naming the attribute (RFC 7644 §3.12: "a
//!   required value was missing, or the value specified was not compatible"). Only values the
//!   write introduces are checked, so a user created before the policy (or outside it) stays
//!   readable, deletable and deactivatable.
//! - `protected`: the listed accounts cannot be deactivated, deleted, renamed or removed from a
//!   group through SCIM: 403 without `scimType` (RFC 7644 §3.12: "operation is not
//!   permitted"); the request is well-formed and the client may not make it, so neither 400 nor
//!   409 fits. The attempt is kept in the audit trail as [`Action::PolicyRefused`].
//!
//! A tenant without a policy set pays one settings-cache look-up (no store call when warm) and
//! behaves exactly as before.

use serde_json::{Map, Value};

use super::{Caller, ScimService};
use crate::audit::{changed_attributes, Action, AuditRecord};
use crate::error::ScimError;
use crate::scim::resource::{Folded, Resource};
use crate::scim::schema::ResourceKind;
use crate::settings::TenantSettings;
use crate::store::{StoreError, UserWrite};

/// The policy name of a seat-limit refusal in the audit trail and its event.
const SEAT_LIMIT: &str = "seat_limit";

/// Longest value echoed in a refusal's detail.
const SHOWN: usize = 120;

/// Whether `domain` (lower-case) is one of `domains`: equal to an entry, or a subdomain of an
/// entry written `*.base` (the apex itself only when listed on its own).
fn in_domains(domains: &[String], domain: &str) -> bool {
    domains.iter().any(|entry| match entry.strip_prefix("*.") {
        Some(base) => domain
            .strip_suffix(base)
            .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        None => entry == domain,
    })
}

/// Whether the address `email` is in one of `domains` (case-insensitively, RFC 5321 §2.4:
/// domain names are not case-sensitive). A value without `@` is in none.
fn email_allowed(domains: &[String], email: &str) -> bool {
    email
        .rsplit_once('@')
        .is_some_and(|(local, d)| !local.is_empty() && in_domains(domains, &d.to_lowercase()))
}

fn email_values(attributes: &Map<String, Value>) -> Vec<&str> {
    attributes
        .get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("value").and_then(Value::as_str))
        .collect()
}

fn shown(v: &str) -> String {
    v.chars().take(SHOWN).collect()
}

/// The `domains` check of a user write from `before` (`None`: a create) to `after`: the first
/// new value outside the domains, as the client's error.
pub(super) fn check_domains(
    settings: &TenantSettings,
    before: Option<&Map<String, Value>>,
    after: &Map<String, Value>,
) -> Result<(), ScimError> {
    let domains = &settings.domains;
    if domains.is_empty() {
        return Ok(());
    }
    let listed = domains.join(", ");
    let user_name =
        |m: &Map<String, Value>| m.get("userName").and_then(Value::as_str).map(Folded::of);
    if let Some(name) = after.get("userName").and_then(Value::as_str) {
        let renamed = before.is_none_or(|b| user_name(b) != Some(Folded::of(name)));
        // A userName that is not an email (an employee number) is not an address: the policy
        // is about addresses only.
        if renamed && name.contains('@') && !email_allowed(domains, name) {
            return Err(ScimError::invalid_value(format!(
                "userName \"{}\" is not in this tenant's verified domains ({listed}). Use an address in one of them, or ask the application's administrator to verify the domain.",
                shown(name)
            )));
        }
    }
    let old: Vec<String> = before
        .map(email_values)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_lowercase)
        .collect();
    for email in email_values(after) {
        if !old.contains(&email.to_lowercase()) && !email_allowed(domains, email) {
            return Err(ScimError::invalid_value(format!(
                "emails.value \"{}\" is not in this tenant's verified domains ({listed}). Remove the address or use one in these domains, or ask the application's administrator to verify the domain.",
                shown(email)
            )));
        }
    }
    Ok(())
}

/// Why `protected` refuses a change of `current` to `after` (`None`: a delete), if it does.
fn protected_refusal(
    settings: &TenantSettings,
    current: &Resource,
    after: Option<&Map<String, Value>>,
) -> Option<&'static str> {
    let name = Folded::of(current.user_name());
    if !settings.protected.iter().any(|p| p == name.as_str()) {
        return None;
    }
    let Some(after) = after else {
        return Some("deleted");
    };
    let active = after.get("active").and_then(Value::as_bool).unwrap_or(true);
    if current.active() && !active {
        return Some("deactivated");
    }
    let renamed = after
        .get("userName")
        .and_then(Value::as_str)
        .is_some_and(|n| Folded::of(n) != name);
    renamed.then_some("renamed")
}

fn protected_error(user_name: &str, what: &str) -> ScimError {
    ScimError::forbidden(format!(
        "User \"{}\" is a protected account of this tenant (its break-glass owner): it cannot be {what} through SCIM. Exclude it from this change in your identity provider (for example, keep it assigned), or ask the application's administrator to remove it from the protected accounts.",
        shown(user_name)
    ))
}

impl ScimService {
    /// The policies of a user write from `current` (`None`: a create) to `after` (`None`: a
    /// delete), after the bound on emails that every write keeps. A refusal by `protected` is recorded in the audit trail before it is answered.
    pub(super) async fn check_user_write(
        &self,
        caller: &Caller,
        current: Option<&Resource>,
        after: Option<&Map<String, Value>>,
    ) -> Result<(), ScimError> {
        if let Some(after) = after {
            // Every address is a look-up entry in the user's transaction (scim/emails.rs).
            crate::scim::emails::check_emails(after)?;
        }
        let settings = self.tenant_settings(&caller.tenant).await?;
        if let Some(after) = after {
            check_domains(&settings, current.map(|c| &c.attributes), after)?;
        }
        let Some(current) = current else {
            return Ok(());
        };
        if let Some(what) = protected_refusal(&settings, current, after) {
            let action = match after {
                None => Action::Delete,
                Some(a) => Action::of_update(false, &current.attributes, a),
            };
            let changed = changed_attributes(Some(&current.attributes), after);
            self.refuse(
                caller,
                ResourceKind::User,
                &current.id,
                action,
                changed,
                "protected",
            )
            .await?;
            return Err(protected_error(current.user_name(), what));
        }
        Ok(())
    }

    /// The `protected` check of a group write that removes `removed` member ids from group
    /// `group_id`: O(protected accounts) look-ups, none when the tenant protects nobody.
    pub(super) async fn check_member_removals(
        &self,
        caller: &Caller,
        group_id: &str,
        removed: &[String],
    ) -> Result<(), ScimError> {
        if removed.is_empty() {
            return Ok(());
        }
        let settings = self.tenant_settings(&caller.tenant).await?;
        for name in &settings.protected {
            let Some(user) = self
                .store
                .find_user_by_user_name(&caller.tenant, name)
                .await?
            else {
                continue;
            };
            if removed.contains(&user.id) {
                let changed = vec![crate::audit::MEMBERS.to_owned()];
                self.refuse(
                    caller,
                    ResourceKind::Group,
                    group_id,
                    Action::MembershipChange,
                    changed,
                    "protected",
                )
                .await?;
                return Err(protected_error(user.user_name(), "removed from a group"));
            }
        }
        Ok(())
    }

    /// A user write through the store, counted against the tenant's seats when it has a
    /// `seat_limit` (one conditional item in the same transaction; without a limit the plain
    /// write, so other tenants never serialise on a seats item). A write refused for want of a
    /// seat is kept in the audit trail and fails with `StoreError::SeatLimit` (403). Nobody is
    /// ever deactivated to make room.
    pub(super) async fn write_user(
        &self,
        caller: &Caller,
        write: UserWrite<'_>,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let tenant = &caller.tenant;
        let settings = match self.tenant_settings(tenant).await {
            Ok(s) => s,
            Err(_) => return Err(StoreError::Unavailable("tenant settings".into())),
        };
        let limited = settings.seat_limit.is_some();
        // Roles from groups: the record names the user's role after the write (`roles.rs`).
        let with_role = self
            .with_user_role(&settings, tenant, &write, audit)
            .await?;
        let audit = with_role.as_ref().unwrap_or(audit);
        let written = match (limited, write) {
            (true, w) => self.store.write_user_seated(tenant, w, audit).await,
            (false, UserWrite::Create(u)) => self.store.create_user(tenant, u, audit).await,
            (false, UserWrite::Update { current, next }) => {
                self.store.update_user(tenant, current, next, audit).await
            }
            (false, UserWrite::Delete(u, groups)) => {
                self.store.delete_user(tenant, u, groups, audit).await
            }
        };
        if written == Err(StoreError::SeatLimit) {
            let record = AuditRecord {
                version: None,
                values: None,
                ..audit.clone()
            }
            .refused_by(SEAT_LIMIT);
            tracing::info!(policy = SEAT_LIMIT, resource_id = %record.resource_id, "a tenant policy refused a change");
            self.store.record_refusal(tenant, &record).await?;
        }
        written
    }

    /// Keep the audit record of an attempt `policy` refused. Failing to keep it fails the
    /// request (503 when the store is unavailable): a refusal the trail does not show would
    /// leave the customer's admin without the record the policy promises.
    pub(super) async fn refuse(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        id: &str,
        action: Action,
        changed: Vec<String>,
        policy: &str,
    ) -> Result<(), ScimError> {
        let record = caller.record(kind, id, action, changed).refused_by(policy);
        tracing::info!(policy, resource_id = %id, "a tenant policy refused a change");
        Ok(self.store.record_refusal(&caller.tenant, &record).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(pairs: &[&str]) -> TenantSettings {
        TenantSettings::default().assign(pairs).unwrap()
    }

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn domains_match_exactly_or_by_listed_wildcard() {
        let d = vec!["example.com".to_owned(), "*.example.org".to_owned()];
        for (email, ok) in [
            ("a@example.com", true),
            ("a@EXAMPLE.COM", true),
            ("a@sub.example.com", false),
            ("a@example.org", false),
            ("a@eu.example.org", true),
            ("a@x.eu.example.org", true),
            ("a@badexample.org", false),
            ("a@.example.org", false),
            ("a@example.com.evil.net", false),
            ("a@evil.net@example.com", true),
            ("@example.com", false),
            ("example.com", false),
            ("", false),
        ] {
            assert_eq!(email_allowed(&d, email), ok, "{email}");
        }
    }

    #[test]
    fn only_new_values_are_checked() {
        let s = settings(&["domains=example.com"]);
        let none = TenantSettings::default();
        let foreign =
            attrs(json!({"userName": "a@other.net", "emails": [{"value": "a@other.net"}]}));
        assert!(check_domains(&none, None, &foreign).is_ok());
        let e = check_domains(&s, None, &foreign).unwrap_err();
        assert_eq!(
            (e.status(), e.detail().starts_with("userName")),
            (400, true)
        );
        // An existing foreign user may still be changed in other attributes.
        let mut next = foreign.clone();
        next.insert("active".into(), json!(false));
        assert!(check_domains(&s, Some(&foreign), &next).is_ok());
        // A userName that is not an email is not checked; a new foreign email is.
        let badge = attrs(
            json!({"userName": "E1234", "emails": [{"value": "e@example.com"}, {"value": "e@gmail.com"}]}),
        );
        let e = check_domains(&s, None, &badge).unwrap_err();
        assert!(
            e.detail().starts_with("emails.value \"e@gmail.com\""),
            "{}",
            e.detail()
        );
        // A rename into a foreign domain.
        let ok = attrs(json!({"userName": "a@example.com"}));
        let renamed = attrs(json!({"userName": "a@foreign.com"}));
        assert!(check_domains(&s, Some(&ok), &renamed).is_err());
    }

    #[test]
    fn protected_refuses_deactivate_delete_rename_only() {
        let s = settings(&["protected=Owner@Example.com"]);
        let owner = Resource {
            id: "1".into(),
            version: crate::scim::resource::Version::FIRST,
            created: String::new(),
            last_modified: String::new(),
            attributes: attrs(json!({"userName": "owner@example.com", "active": true})),
        };
        let with = |v: Value| attrs(v);
        assert_eq!(protected_refusal(&s, &owner, None), Some("deleted"));
        assert_eq!(
            protected_refusal(
                &s,
                &owner,
                Some(&with(
                    json!({"userName": "OWNER@example.com", "active": false})
                ))
            ),
            Some("deactivated")
        );
        assert_eq!(
            protected_refusal(
                &s,
                &owner,
                Some(&with(
                    json!({"userName": "boss@example.com", "active": true})
                ))
            ),
            Some("renamed")
        );
        assert_eq!(
            protected_refusal(
                &s,
                &owner,
                Some(&with(
                    json!({"userName": "Owner@Example.com", "active": true, "title": "CEO"})
                ))
            ),
            None
        );
        assert_eq!(
            protected_refusal(&TenantSettings::default(), &owner, None),
            None
        );
    }
}
