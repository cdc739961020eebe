//! The audit trail: who changed what, when, for every write (ARCHITECTURE.md, Invariants: nothing
//! is silently destroyed; customers ask "what did my IdP change, and when?").
//!
//! The transport names the caller (an [`Actor`]: request id, token id, IdP); the service builds
//! the [`AuditRecord`] of each change it decides (action, changed attribute names) and hands it
//! to the store write, which persists it *in the same transaction* as the change, so a change
//! without its audit record cannot exist, and a failed write leaves none.
//!
//! Records hold attribute *names*, not values: the audit trail must not become a second copy of
//! personal data. The one exception is [`AuditRecord::values`], kept only when the deployment
//! publishes `full` events (`SCIM_EVENTS_MODE=full`), under the record's own TTL, and never holding
//! a password. A record is also the source of its SCIM event (`src/events/`): it carries what an
//! event needs (a stable `id` for the event's `jti`, the resource `version` after the change, the
//! member ids a group change added and removed).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::scim::resource::{now_rfc3339, Version};
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
    /// Admin API: the tenant's settings changed; `changed` names the keys set.
    SettingsChange,
    /// The tenant's role rules changed (`role_rules`, `role_ceiling`, `roles`) and its users'
    /// roles were recomputed: one record per change, `roles` naming the users whose role it
    /// altered (ARCHITECTURE.md, Roles from groups). `resource_type` `Tenant`.
    RolesRecompute,
    /// A SCIM change a tenant policy refused (ARCHITECTURE.md, Tenant policies): nothing was
    /// written but this record. `refused` names the policy, `changed` the attributes the
    /// attempt would have changed.
    PolicyRefused,
}

impl Action {
    /// An admin action (tokens, setup links), not a change of a SCIM resource.
    pub fn is_admin(self) -> bool {
        matches!(
            self,
            Action::TokenGenerate
                | Action::TokenRevoke
                | Action::LinkCreate
                | Action::LinkRevoke
                | Action::SettingsChange
        )
    }

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

/// Told of every audit record as its change commits, in commit order: the embedded store's
/// counterpart of a DynamoDB stream (the local event feed, `SCIM_EVENTS_FILE`). Called under the
/// store's lock, so it must be quick and must not call the store.
pub trait AuditSink: Send + Sync {
    fn committed(&self, record: &AuditRecord);
}

/// Most users a record's `roles` names (about 60 bytes each: a record stays far below
/// DynamoDB's 400 KB item limit); `roles_changed` gives the whole count beyond it.
pub const MAX_ROLES_PER_RECORD: usize = 1_000;

/// The attribute name a record lists when a group's members changed.
pub const MEMBERS: &str = "members";

/// One audit record: the typed description of one committed change. The service builds it; the
/// store persists it in the same transaction as the change. Serialised as it is stored and as
/// `scimctl audit --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// A unique id of this record: the `jti` of its event, so a replayed event is recognisable.
    /// Records written before events existed have none in their JSON; the store fills it from
    /// the record's key.
    #[serde(default)]
    pub id: String,
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
    /// The resource's version after the change (for a delete: the last version + 1), so that a
    /// consumer can drop an event older than one it already applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Member ids this change added to a group (exactly those it wrote).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members_added: Vec<String>,
    /// Member ids this change removed from a group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members_removed: Vec<String>,
    /// The policy that refused the attempt (`seat_limit`, `protected`) of a
    /// [`Action::PolicyRefused`] record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Roles from groups, for tenants with role rules only: user id -> the user's product role
    /// after the change (`null`: none). A user change names its user; a group change, and a
    /// rules change, the users whose role it altered (at most [`MAX_ROLES_PER_RECORD`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, Option<String>>,
    /// How many users' roles the change altered, when that is more than `roles` lists, and
    /// always on a [`Action::RolesRecompute`] record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles_changed: Option<u64>,
    /// The new values of the changed attributes (`full` events only; see the module
    /// documentation). Never `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Map<String, Value>>,
}

/// Attributes never copied into a record's `values` (RFC 7643 §4.1.1: `password` is write-only,
/// never returned; it is not stored either, this is the second line).
const NEVER_RECORDED: &[&str] = &["password"];

/// A fresh record id (random, 128 bits).
fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
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
        Self::of(tenant, actor, kind.name(), resource_id, action, changed)
    }

    /// A record of an admin action (`TokenGenerate`, `LinkCreate`, ...) on something that is not
    /// a SCIM resource (`resource_type` `Token`, `SetupLink`): no SCIM event comes of it.
    pub fn admin(
        tenant: &TenantId,
        actor: &Actor,
        resource_type: &str,
        resource_id: &str,
        action: Action,
    ) -> Self {
        Self::of(
            tenant,
            actor,
            resource_type,
            resource_id,
            action,
            Vec::new(),
        )
    }

    fn of(
        tenant: &TenantId,
        actor: &Actor,
        resource_type: &str,
        resource_id: &str,
        action: Action,
        changed: Vec<String>,
    ) -> Self {
        AuditRecord {
            id: new_id(),
            at: now_rfc3339(),
            tenant: tenant.to_string(),
            resource_type: resource_type.to_owned(),
            resource_id: resource_id.to_owned(),
            action,
            changed,
            request_id: actor.request_id.clone(),
            token_id: actor.token_id.clone(),
            idp: actor.idp.clone(),
            version: None,
            members_added: Vec::new(),
            members_removed: Vec::new(),
            refused: None,
            roles: BTreeMap::new(),
            roles_changed: None,
            values: None,
        }
    }

    /// The same record as the refusal of its change by `policy`: [`Action::PolicyRefused`].
    pub fn refused_by(mut self, policy: &str) -> Self {
        self.action = Action::PolicyRefused;
        self.refused = Some(policy.to_owned());
        self.version = None;
        self
    }

    /// The same record, naming the resource's version after the change.
    pub fn at_version(mut self, version: Version) -> Self {
        self.version = Some(version.get());
        self
    }

    /// The same record, naming users' roles after the change (`roles`), at most
    /// [`MAX_ROLES_PER_RECORD`] of them, with the whole count when there are more.
    pub fn with_roles(mut self, roles: BTreeMap<String, Option<String>>) -> Self {
        if roles.len() > MAX_ROLES_PER_RECORD {
            self.roles_changed = Some(roles.len() as u64);
        }
        self.roles = roles.into_iter().take(MAX_ROLES_PER_RECORD).collect();
        self
    }

    /// The same record, naming the member ids the change added and removed.
    pub fn with_member_ids(
        mut self,
        added: impl IntoIterator<Item = String>,
        removed: impl IntoIterator<Item = String>,
    ) -> Self {
        self.members_added = added.into_iter().collect();
        self.members_removed = removed.into_iter().collect();
        self
    }

    /// The same record, keeping the new values of its `changed` attributes from `after` (for
    /// `full` events). Extension attributes named `urn:...:name` keep their extension object's
    /// member. `password` is never kept.
    pub fn with_values(mut self, after: &Map<String, Value>) -> Self {
        let mut values = Map::new();
        for name in &self.changed {
            let top = name.split(':').next().unwrap_or(name);
            let key = if name.starts_with("urn:") {
                // `urn:...:User:department` lives under the extension's object.
                let Some((ext, _)) = name.rsplit_once(':') else {
                    continue;
                };
                ext
            } else {
                top
            };
            if NEVER_RECORDED.iter().any(|n| n.eq_ignore_ascii_case(key)) {
                continue;
            }
            if let Some(v) = after.get(key) {
                values.insert(key.to_owned(), without_password(v));
            }
        }
        self.values = Some(values);
        self
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
            id: new_id(),
            at: now_rfc3339(),
            members_added: Vec::new(),
            members_removed: Vec::new(),
            // Still a `full` event if the first part was one, with no attribute values.
            values: self.values.as_ref().map(|_| Map::new()),
            action: Action::MembershipChange,
            changed: vec![MEMBERS.into()],
            // The first part names the roles the change altered.
            roles: BTreeMap::new(),
            roles_changed: None,
            ..self.clone()
        }
    }
}

/// `v` without any `password` member at any depth (an extension could nest one).
fn without_password(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !NEVER_RECORDED.iter().any(|n| n.eq_ignore_ascii_case(k)))
                .map(|(k, v)| (k.clone(), without_password(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_password).collect()),
        other => other.clone(),
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
        assert_ne!(next.id, rec.id, "each committed part has its own event id");
    }

    #[test]
    fn values_hold_the_changed_attributes_and_never_a_password() {
        let t = TenantId::parse("acme").unwrap();
        let after = map(json!({
            "userName": "a", "title": "t", "password": "hunter2", "nickName": "same",
            "urn:ext:User": {"department": "B", "password": "x"}
        }));
        let rec = AuditRecord::new(
            &t,
            &Actor::system(),
            ResourceKind::User,
            "u",
            Action::Patch,
            vec![
                "password".into(),
                "title".into(),
                "urn:ext:User:department".into(),
            ],
        )
        .with_values(&after);
        let values = Value::Object(rec.values.clone().unwrap());
        assert_eq!(
            values,
            json!({"title": "t", "urn:ext:User": {"department": "B"}})
        );
        assert!(!serde_json::to_string(&rec).unwrap().contains("hunter2"));
        // Without `with_values` nothing but names is kept, and the JSON has no `values` key.
        let plain = AuditRecord::new(
            &t,
            &Actor::system(),
            ResourceKind::User,
            "u",
            Action::Patch,
            vec!["title".into()],
        );
        assert!(!serde_json::to_string(&plain)
            .unwrap()
            .contains("\"values\""));
    }
}
