//! The audit trail: who changed what, when, for every write (DESIGN.md: nothing is silently
//! destroyed; customers ask "what did my IdP change, and when?").
//!
//! The router runs each request inside [`scope`] with the caller's identity (token id, IdP,
//! request id, operation). A store builds an [`AuditRecord`] from that context and the resource
//! it is writing, and writes it *in the same transaction* as the change, so a change without its
//! audit record cannot exist. Outside a scope (admin tools, store tests) the actor is `system`.
//!
//! Records hold attribute *names*, never values: the audit trail must not become a second copy
//! of personal data.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::scim::resource::now_rfc3339;

/// Days an audit record is kept before DynamoDB's TTL removes it (configurable with
/// `SCIM_AUDIT_RETENTION_DAYS`).
pub const DEFAULT_RETENTION_DAYS: u32 = 400;

/// Epoch seconds at which a record written now and kept `days` may be removed by DynamoDB's TTL.
pub fn expiry_epoch_seconds(days: u32) -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp() + i64::from(days) * 86_400
}

/// Who is making the current request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    pub request_id: String,
    pub token_id: String,
    pub idp: String,
    /// The SCIM operation (`users.patch`, `groups.replace`, ...).
    pub operation: String,
}

tokio::task_local! {
    static ACTOR: Arc<Mutex<Actor>>;
}

/// Run `f` on behalf of `actor`. The router opens the scope when a request arrives and fills in
/// what it learns later (the token after authentication; the service names the operation).
pub async fn scope<F: Future>(actor: Actor, f: F) -> F::Output {
    ACTOR.scope(Arc::new(Mutex::new(actor)), f).await
}

fn update(f: impl FnOnce(&mut Actor)) {
    let _ = ACTOR.try_with(|a| f(&mut a.lock().unwrap_or_else(|p| p.into_inner())));
}

/// The current request was authenticated with this token (its non-secret id).
pub fn set_token_id(token_id: &str) {
    update(|a| a.token_id = token_id.to_owned());
}

/// The current request performs this SCIM operation (`users.patch`, ...).
pub fn set_operation(operation: &str) {
    update(|a| a.operation = operation.to_owned());
}

/// The current request's actor, or `system` outside a request.
pub fn current_actor() -> Actor {
    ACTOR
        .try_with(|a| a.lock().unwrap_or_else(|p| p.into_inner()).clone())
        .unwrap_or_else(|_| Actor {
            request_id: "-".into(),
            token_id: "system".into(),
            idp: "-".into(),
            operation: "system".into(),
        })
}

/// What happened to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    /// A create that restored a deactivated user (Okta re-assignment).
    Restore,
    Replace,
    Patch,
    Deactivate,
    Reactivate,
    Delete,
    MembershipChange,
}

/// One audit record. Serialised as it is stored and as `scimctl audit --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: String,
    pub tenant: String,
    pub resource_type: String,
    pub resource_id: String,
    pub action: Action,
    /// Names of the top-level attributes that changed (extension attributes as `urn:...:name`).
    pub changed: Vec<String>,
    pub request_id: String,
    pub token_id: String,
    pub idp: String,
}

impl AuditRecord {
    /// A record for a change of `resource_id` by the current actor. `before`/`after` are the
    /// stored attributes (None for a create or a delete).
    pub fn new(
        tenant: &str,
        resource_type: &str,
        resource_id: &str,
        before: Option<&Map<String, Value>>,
        after: Option<&Map<String, Value>>,
    ) -> Self {
        let actor = current_actor();
        let changed = changed_attributes(before, after);
        let action = classify(&actor.operation, before, after);
        AuditRecord {
            at: now_rfc3339(),
            tenant: tenant.to_owned(),
            resource_type: resource_type.to_owned(),
            resource_id: resource_id.to_owned(),
            action,
            changed,
            request_id: actor.request_id,
            token_id: actor.token_id,
            idp: actor.idp,
        }
    }

    /// A membership change of a group (members added or removed).
    pub fn membership(tenant: &str, group_id: &str) -> Self {
        let mut r = Self::new(tenant, "Group", group_id, None, None);
        r.action = Action::MembershipChange;
        r.changed = vec!["members".into()];
        r
    }
}

fn active(m: Option<&Map<String, Value>>) -> Option<bool> {
    m.and_then(|m| m.get("active")).and_then(Value::as_bool)
}

fn classify(
    operation: &str,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
) -> Action {
    match (before, after) {
        (None, _) => Action::Create,
        (Some(_), None) => Action::Delete,
        (Some(_), Some(_)) if operation.ends_with(".create") => Action::Restore,
        (b @ Some(_), a @ Some(_)) => match (active(b), active(a)) {
            (Some(true) | None, Some(false)) => Action::Deactivate,
            (Some(false), Some(true)) => Action::Reactivate,
            _ if operation.ends_with(".replace") => Action::Replace,
            _ => Action::Patch,
        },
    }
}

/// The names of attributes that differ between two attribute maps; extension attributes are
/// named `urn:...:attribute`.
pub fn changed_attributes(
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
) -> Vec<String> {
    let empty = Map::new();
    let (b, a) = (before.unwrap_or(&empty), after.unwrap_or(&empty));
    let mut out = BTreeSet::new();
    for key in b.keys().chain(a.keys()) {
        let (bv, av) = (b.get(key), a.get(key));
        if bv == av {
            continue;
        }
        match (bv, av) {
            // Extension objects: name the attributes inside that changed.
            (bo, ao)
                if key.starts_with("urn:")
                    && bo.is_none_or(Value::is_object)
                    && ao.is_none_or(Value::is_object) =>
            {
                for sub in
                    changed_attributes(bo.and_then(Value::as_object), ao.and_then(Value::as_object))
                {
                    out.insert(format!("{key}:{sub}"));
                }
            }
            _ => {
                out.insert(key.clone());
            }
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn changed_names_only_with_extension_attributes_qualified() {
        let b = map(
            json!({"userName": "a", "title": "x", "urn:ext:User": {"department": "A", "costCenter": "1"}}),
        );
        let a = map(
            json!({"userName": "a", "nickName": "n", "urn:ext:User": {"department": "B", "costCenter": "1"}}),
        );
        assert_eq!(
            changed_attributes(Some(&b), Some(&a)),
            ["nickName", "title", "urn:ext:User:department"]
        );
        assert_eq!(
            changed_attributes(None, Some(&map(json!({"userName": "a"})))),
            ["userName"]
        );
    }

    #[tokio::test]
    async fn actions_follow_the_operation_and_active() {
        let on = map(json!({"userName": "a", "active": true}));
        let off = map(json!({"userName": "a", "active": false}));
        let actor = |op: &str| Actor {
            request_id: "r".into(),
            token_id: "t".into(),
            idp: "okta".into(),
            operation: op.into(),
        };
        let rec = scope(actor("users.get"), async {
            set_operation("users.patch");
            set_token_id("abcd1234");
            AuditRecord::new("acme", "User", "1", Some(&on), Some(&off))
        })
        .await;
        assert_eq!(
            (rec.action, rec.request_id.as_str(), rec.idp.as_str()),
            (Action::Deactivate, "r", "okta")
        );
        assert_eq!(rec.token_id, "abcd1234");
        let rec = scope(actor("users.replace"), async {
            AuditRecord::new("acme", "User", "1", Some(&off), Some(&on))
        })
        .await;
        assert_eq!(rec.action, Action::Reactivate);
        let titled = map(json!({"userName": "a", "active": true, "title": "t"}));
        let rec = scope(actor("users.replace"), async {
            AuditRecord::new("acme", "User", "1", Some(&on), Some(&titled))
        })
        .await;
        assert_eq!(
            (rec.action, rec.changed.clone()),
            (Action::Replace, vec!["title".to_owned()])
        );
        let rec = scope(actor("users.create"), async {
            AuditRecord::new("acme", "User", "1", Some(&off), Some(&on))
        })
        .await;
        assert_eq!(rec.action, Action::Restore);
        let rec = AuditRecord::new("acme", "User", "1", Some(&on), None);
        assert_eq!(
            (rec.action, rec.token_id.as_str()),
            (Action::Delete, "system")
        );
    }
}
