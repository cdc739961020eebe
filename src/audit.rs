//! The audit trail: who changed what, when, for every write (ARCHITECTURE.md, Invariants: nothing
//! is silently destroyed; customers ask "what did my IdP change, and when?").
//!
//! The transport names the caller (an [`Actor`]: request id, token id, IdP); the service builds
//! the [`AuditRecord`] of each change it decides (action, changed attribute names) and hands it
//! to the store write, which persists it *in the same transaction* as the change, so a change
//! without its audit record cannot exist, and a failed write leaves none.
//!
//! Records hold attribute *names*, never values: the audit trail must not become a second copy
//! of personal data.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::scim::resource::now_rfc3339;
use crate::scim::schema::ResourceKind;
use crate::tenant::TenantId;

/// Days an audit record is kept before DynamoDB's TTL removes it (configurable with
/// `SCIM_AUDIT_RETENTION_DAYS`).
pub const DEFAULT_RETENTION_DAYS: u32 = 400;

/// Epoch seconds at which a record written now and kept `days` may be removed by DynamoDB's TTL.
pub fn expiry_epoch_seconds(days: u32) -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp() + i64::from(days) * 86_400
}

/// Who made a change: the request, the token's non-secret id, and the IdP (from the
/// `User-Agent`). The transport builds it once it has authenticated the request; admin tools
/// act as [`Actor::system`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    pub request_id: String,
    pub token_id: String,
    pub idp: String,
}

impl Actor {
    /// An operator tool or a background task, not an IdP request.
    pub fn system() -> Self {
        Actor {
            request_id: "-".into(),
            token_id: "system".into(),
            idp: "-".into(),
        }
    }
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
    /// Admin API (`admin_api`): a SCIM token generated, or every token revoked; `resource_id`
    /// is the token id, `token_id` names the admin actor (`iam:<principal>`, `link:<id>`).
    TokenGenerate,
    TokenRevoke,
    /// Admin API: a setup link issued or revoked; `resource_id` is the link id.
    LinkCreate,
    LinkRevoke,
}

impl Action {
    /// The action of a change from `before` to `after` (both present) requested as a PUT
    /// (`replace`) or a PATCH: deactivation and reactivation are named as such, since they are
    /// what a product must act on.
    pub fn of_update(
        replace: bool,
        before: &Map<String, Value>,
        after: &Map<String, Value>,
    ) -> Action {
        let active = |m: &Map<String, Value>| m.get("active").and_then(Value::as_bool);
        match (active(before), active(after)) {
            (Some(true) | None, Some(false)) => Action::Deactivate,
            (Some(false), Some(true)) => Action::Reactivate,
            _ if replace => Action::Replace,
            _ => Action::Patch,
        }
    }
}

/// The attribute name a record lists when a group's members changed.
pub const MEMBERS: &str = "members";

/// One audit record: the typed description of one committed change. The service builds it; the
/// store persists it in the same transaction as the change. Serialised as it is stored and as
/// `scimctl audit --json` prints it.
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
    /// A record of `action` on a resource by `actor`, now. `changed` names attributes, never
    /// values.
    pub fn new(
        tenant: &TenantId,
        actor: &Actor,
        kind: ResourceKind,
        resource_id: &str,
        action: Action,
        changed: Vec<String>,
    ) -> Self {
        AuditRecord {
            at: now_rfc3339(),
            tenant: tenant.to_string(),
            resource_type: kind.name().to_owned(),
            resource_id: resource_id.to_owned(),
            action,
            changed,
            request_id: actor.request_id.clone(),
            token_id: actor.token_id.clone(),
            idp: actor.idp.clone(),
        }
    }

    /// The same record, also naming `members` (its change moved members too).
    pub fn with_members(mut self, moved: bool) -> Self {
        if moved && !self.changed.iter().any(|c| c == MEMBERS) {
            self.changed.push(MEMBERS.into());
            self.changed.sort();
        }
        self
    }

    /// The record of a later part of a change too large for one transaction: only members
    /// move there, so it is a membership change whatever the first part was.
    pub fn continuation(&self) -> Self {
        AuditRecord {
            at: now_rfc3339(),
            action: Action::MembershipChange,
            changed: vec![MEMBERS.into()],
            ..self.clone()
        }
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

    #[test]
    fn actions_name_deactivation_and_reactivation() {
        let on = map(json!({"userName": "a", "active": true}));
        let off = map(json!({"userName": "a", "active": false}));
        let titled = map(json!({"userName": "a", "active": true, "title": "t"}));
        assert_eq!(Action::of_update(false, &on, &off), Action::Deactivate);
        assert_eq!(Action::of_update(true, &off, &on), Action::Reactivate);
        assert_eq!(Action::of_update(true, &on, &titled), Action::Replace);
        assert_eq!(Action::of_update(false, &on, &titled), Action::Patch);
    }

    #[test]
    fn records_carry_the_actor_and_continuations_only_members() {
        let t = TenantId::parse("acme").unwrap();
        let actor = Actor {
            request_id: "r".into(),
            token_id: "abcd1234".into(),
            idp: "okta".into(),
        };
        let rec = AuditRecord::new(
            &t,
            &actor,
            ResourceKind::Group,
            "g",
            Action::Patch,
            vec!["displayName".into()],
        )
        .with_members(true);
        assert_eq!(rec.changed, ["displayName", "members"]);
        assert_eq!(
            (
                rec.request_id.as_str(),
                rec.token_id.as_str(),
                rec.idp.as_str()
            ),
            ("r", "abcd1234", "okta")
        );
        let next = rec.continuation();
        assert_eq!(
            (next.action, next.changed.clone()),
            (Action::MembershipChange, vec!["members".to_owned()])
        );
        assert_eq!(next.resource_id, "g");
    }
}
