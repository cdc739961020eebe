//! The event of an audit record, as an RFC 9967 SET (RFC 8417 claims), and its EventBridge form.
//!
//! Claims (RFC 8417 §2.2): `jti` = the audit record's id (a replay of the record carries the same
//! `jti`, so a consumer recognises it), `iat` = the change's time (epoch seconds), `iss`,
//! `txn` = the request id of the change (RFC 8417 §2.2 "txn"), `sub_id` = the resource as an
//! RFC 9967 `scim` subject identifier (`{"format":"scim","uri":"/Users/<id>"}`), and `events`
//! with exactly one event URI (RFC 9967 §2.1: one event per SET). Private claims: `tenant`, and
//! `resource_version` (the resource's version after the change, a number, so a consumer can drop
//! an event older than one it already applied; the payload's `version` is the same as the
//! resource's ETag, RFC 7644 §3.14).
//!
//! Event URIs (RFC 9967 §2.3, provisioning events): `prov:create:full`/`:notice`,
//! `prov:put:full`/`:notice`, `prov:patch:full`/`:notice`, `prov:delete`, `prov:activate`,
//! `prov:deactivate`, all under `urn:ietf:params:scim:event:`. `full` events carry `data` (the
//! changed attributes for create and put, an RFC 7644 §3.5.2 PatchOp message for patch); `notice`
//! events only `attributes` (names). A group's membership change is a `patch` event whose payload
//! also lists `membersAdded` and `membersRemoved` (ids), in either mode.

use serde_json::{json, Map, Value};

use crate::audit::{Action, AuditRecord};
use crate::scim::resource::Version;

/// The EventBridge `source` of every event: fixed, so a rule can select the feed by it.
pub const SOURCE: &str = "scim-server";

/// The largest `detail` an event may have: EventBridge takes 256 KB per entry, `source`,
/// `detail-type` and the entry's framing included; 8 KB are left for those.
pub const MAX_DETAIL_BYTES: usize = 248 * 1024;

const PREFIX: &str = "urn:ietf:params:scim:event:prov:";
/// The event URI of a change a tenant policy refused (ARCHITECTURE.md, Tenant policies): the
/// payload names the policy (`{"policy": "seat_limit"}`), so a product can alert its customer.
pub const POLICY_REFUSED: &str = "urn:scim-server:event:policy:refused";
/// The event URI of a rules change (`role_rules`, `role_ceiling`, `roles`): the payload's
/// `roles` names the users whose role it altered, `rolesChanged` how many there were.
pub const ROLES_CHANGED: &str = "urn:scim-server:event:roles:changed";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// One event, ready to publish: `detail_type` is its event URI, `detail` the SET.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub detail_type: String,
    pub detail: Value,
}

/// The event URI of a record: RFC 9967 §2.3. A restored user (Okta re-assignment) is active
/// again: `activate`.
pub fn event_uri(record: &AuditRecord, full: bool) -> String {
    let mode = if full { "full" } else { "notice" };
    let name = match record.action {
        Action::Create => format!("create:{mode}"),
        Action::Replace => format!("put:{mode}"),
        Action::Patch | Action::MembershipChange => format!("patch:{mode}"),
        Action::Delete => "delete".to_owned(),
        Action::Deactivate => "deactivate".to_owned(),
        Action::Reactivate | Action::Restore => "activate".to_owned(),
        // Never asked: `events_of` gives admin actions no event.
        Action::TokenGenerate
        | Action::TokenRevoke
        | Action::LinkCreate
        | Action::LinkRevoke
        | Action::SettingsChange => "admin".to_owned(),
        Action::RolesRecompute => return ROLES_CHANGED.to_owned(),
        // RFC 9967 defines events of changes only; a refused attempt changed nothing, so it is
        // not a `prov:` event a consumer would apply, but one of ours it can alert on.
        Action::PolicyRefused => return POLICY_REFUSED.to_owned(),
    };
    format!("{PREFIX}{name}")
}

/// The events of one record: one, or several parts when its member lists would not fit one
/// EventBridge entry (each part marked `part: {index, total}`, `jti` = `<id>.<index>`). A `full`
/// event whose values alone would not fit falls back to its `notice` form. `iss` names the
/// issuer (the public base URL, or [`SOURCE`]).
pub fn events_of(record: &AuditRecord, iss: &str) -> Vec<Event> {
    if record.action.is_admin() {
        // Tokens and setup links are not SCIM resources: the trail keeps them, the feed does not.
        return Vec::new();
    }
    let full = record.values.is_some();
    let one = build(
        record,
        iss,
        full,
        &record.members_added,
        &record.members_removed,
    );
    if size(&one) <= MAX_DETAIL_BYTES {
        return vec![one];
    }
    let members = record.members_added.len() + record.members_removed.len();
    // What one part may hold besides member ids: the event without any.
    let base = size(&build(record, iss, full, &[], &[]));
    let full = full && base <= MAX_DETAIL_BYTES;
    let base = if full {
        base
    } else {
        size(&build(record, iss, false, &[], &[]))
    };
    if members == 0 {
        return vec![build(record, iss, false, &[], &[])];
    }
    // An id is at most 64 bytes of JSON string plus separators (store ids are 36).
    let per_part = (MAX_DETAIL_BYTES.saturating_sub(base) / 80).max(1);
    let ids: Vec<(bool, &String)> = record
        .members_added
        .iter()
        .map(|i| (true, i))
        .chain(record.members_removed.iter().map(|i| (false, i)))
        .collect();
    let chunks: Vec<&[(bool, &String)]> = ids.chunks(per_part).collect();
    let total = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let added: Vec<String> = chunk.iter().filter(|c| c.0).map(|c| c.1.clone()).collect();
            let removed: Vec<String> = chunk.iter().filter(|c| !c.0).map(|c| c.1.clone()).collect();
            let mut e = build(record, iss, full && i == 0, &added, &removed);
            if let Some(d) = e.detail.as_object_mut() {
                d.insert("jti".into(), json!(format!("{}.{}", record.id, i + 1)));
                d.insert("part".into(), json!({"index": i + 1, "total": total}));
            }
            e
        })
        .collect()
}

fn size(e: &Event) -> usize {
    serde_json::to_vec(&e.detail)
        .map(|v| v.len())
        .unwrap_or(usize::MAX)
}

/// The event of `record` with the given member ids.
fn build(
    record: &AuditRecord,
    iss: &str,
    full: bool,
    added: &[String],
    removed: &[String],
) -> Event {
    let uri = event_uri(record, full);
    let mut payload = Map::new();
    if let Some(v) = record.version {
        payload.insert("version".into(), json!(Version::new(v).etag()));
    }
    let (is_create_or_put, is_patch) = match record.action {
        Action::Create | Action::Replace => (true, false),
        Action::Patch | Action::MembershipChange => (false, true),
        _ => (false, false),
    };
    if is_create_or_put || is_patch {
        let names: Vec<&String> = record.changed.iter().collect();
        payload.insert("attributes".into(), json!(names));
    }
    if full {
        let values = record.values.clone().unwrap_or_default();
        if is_create_or_put {
            payload.insert("data".into(), Value::Object(values));
        } else if is_patch {
            payload.insert(
                "data".into(),
                patch_message(record, &values, added, removed),
            );
        }
    }
    if let Some(policy) = &record.refused {
        payload.insert("policy".into(), json!(policy));
    }
    if let Some(policy) = &record.refused {
        payload.insert("policy".into(), json!(policy));
    }
    // Roles from groups (ARCHITECTURE.md): the role of each user this change set or altered.
    if !record.roles.is_empty() {
        payload.insert("roles".into(), json!(record.roles));
    }
    if let Some(n) = record.roles_changed {
        payload.insert("rolesChanged".into(), json!(n));
    }
    if !added.is_empty() {
        payload.insert("membersAdded".into(), json!(added));
    }
    if !removed.is_empty() {
        payload.insert("membersRemoved".into(), json!(removed));
    }
    let mut set = Map::new();
    set.insert("jti".into(), json!(record.id));
    set.insert("iat".into(), json!(epoch_seconds(&record.at)));
    set.insert("iss".into(), json!(iss));
    set.insert("txn".into(), json!(record.request_id));
    set.insert(
        "sub_id".into(),
        json!({"format": "scim", "uri": format!("/{}s/{}", record.resource_type, record.resource_id)}),
    );
    set.insert("tenant".into(), json!(record.tenant));
    if let Some(v) = record.version {
        set.insert("resource_version".into(), json!(v));
    }
    let mut events = Map::new();
    events.insert(uri.clone(), Value::Object(payload));
    set.insert("events".into(), Value::Object(events));
    Event {
        detail_type: uri,
        detail: Value::Object(set),
    }
}

/// The PatchOp message (RFC 7644 §3.5.2) that turns the previous resource into the new one: a
/// `replace` per changed attribute that has a value, a `remove` per one that is gone, and the
/// member changes.
fn patch_message(
    record: &AuditRecord,
    values: &Map<String, Value>,
    added: &[String],
    removed: &[String],
) -> Value {
    let mut ops = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for name in &record.changed {
        if name == crate::audit::MEMBERS {
            continue;
        }
        // Extension attributes are named `urn:...:Schema:attr`; their values sit under the schema.
        let key = if name.starts_with("urn:") {
            name.rsplit_once(':').map(|(s, _)| s).unwrap_or(name)
        } else {
            name.as_str()
        };
        if !seen.insert(key.to_owned()) {
            continue;
        }
        match values.get(key) {
            Some(v) => ops.push(json!({"op": "replace", "path": key, "value": v})),
            None => ops.push(json!({"op": "remove", "path": key})),
        }
    }
    if !added.is_empty() {
        let members: Vec<Value> = added.iter().map(|id| json!({"value": id})).collect();
        ops.push(json!({"op": "add", "path": "members", "value": members}));
    }
    for id in removed {
        ops.push(json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}));
    }
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// Epoch seconds of an RFC 3339 time; 0 if it cannot be read (records are written by this
/// service in RFC 3339, so only a corrupted record gets 0).
fn epoch_seconds(at: &str) -> i64 {
    time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Actor;
    use crate::scim::schema::ResourceKind;
    use crate::tenant::TenantId;

    fn record(action: Action, kind: ResourceKind) -> AuditRecord {
        let actor = Actor {
            request_id: "req-1".into(),
            token_id: "tok".into(),
            idp: "okta".into(),
        };
        AuditRecord::new(
            &TenantId::parse("acme").unwrap(),
            &actor,
            kind,
            "42",
            action,
            vec!["active".into(), "title".into()],
        )
        .at_version(crate::scim::resource::Version::new(3))
    }

    #[test]
    fn uris_follow_rfc_9967() {
        let uri = |a, full| event_uri(&record(a, ResourceKind::User), full);
        assert_eq!(
            uri(Action::Create, true),
            "urn:ietf:params:scim:event:prov:create:full"
        );
        assert_eq!(
            uri(Action::Create, false),
            "urn:ietf:params:scim:event:prov:create:notice"
        );
        assert_eq!(
            uri(Action::Replace, false),
            "urn:ietf:params:scim:event:prov:put:notice"
        );
        assert_eq!(
            uri(Action::Patch, true),
            "urn:ietf:params:scim:event:prov:patch:full"
        );
        assert_eq!(
            uri(Action::MembershipChange, false),
            "urn:ietf:params:scim:event:prov:patch:notice"
        );
        assert_eq!(
            uri(Action::Delete, true),
            "urn:ietf:params:scim:event:prov:delete"
        );
        assert_eq!(
            uri(Action::Deactivate, true),
            "urn:ietf:params:scim:event:prov:deactivate"
        );
        assert_eq!(
            uri(Action::Reactivate, false),
            "urn:ietf:params:scim:event:prov:activate"
        );
        assert_eq!(
            uri(Action::Restore, false),
            "urn:ietf:params:scim:event:prov:activate"
        );
    }

    #[test]
    fn notice_events_carry_ids_version_and_names_only() {
        let rec = record(Action::Deactivate, ResourceKind::User);
        let events = events_of(&rec, SOURCE);
        assert_eq!(events.len(), 1);
        let d = &events[0].detail;
        assert_eq!(d["jti"], json!(rec.id));
        assert_eq!(d["txn"], "req-1");
        assert_eq!(d["tenant"], "acme");
        assert_eq!(d["resource_version"], 3);
        assert_eq!(d["sub_id"], json!({"format": "scim", "uri": "/Users/42"}));
        assert!(d["iat"].as_i64().unwrap() > 1_700_000_000);
        let payload = &d["events"]["urn:ietf:params:scim:event:prov:deactivate"];
        assert_eq!(payload["version"], "W/\"3\"");
        assert!(
            !d.to_string().contains("tok"),
            "the token id is not an event's business"
        );
    }

    #[test]
    fn full_patch_events_carry_a_patch_message_without_password() {
        let after = serde_json::from_value(json!({"title": "Boss", "password": "p"})).unwrap();
        let mut rec = record(Action::Patch, ResourceKind::User);
        rec.changed = vec!["nickName".into(), "password".into(), "title".into()];
        let rec = rec.with_values(&after);
        let d = &events_of(&rec, SOURCE)[0].detail;
        let data = &d["events"]["urn:ietf:params:scim:event:prov:patch:full"]["data"];
        assert_eq!(data["schemas"], json!([PATCH_OP]));
        let ops = data["Operations"].as_array().unwrap();
        assert!(ops.contains(&json!({"op": "replace", "path": "title", "value": "Boss"})));
        assert!(ops.contains(&json!({"op": "remove", "path": "nickName"})));
        assert!(!d.to_string().contains("\"p\""), "never a password: {d}");
    }

    #[test]
    fn large_membership_changes_are_split_into_marked_parts() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("{i:036}")).collect();
        let rec = record(Action::MembershipChange, ResourceKind::Group)
            .with_member_ids(ids.clone(), vec!["gone".to_owned()]);
        let events = events_of(&rec, SOURCE);
        assert!(events.len() > 1);
        let mut seen = Vec::new();
        for (i, e) in events.iter().enumerate() {
            assert!(serde_json::to_vec(&e.detail).unwrap().len() <= MAX_DETAIL_BYTES);
            assert_eq!(
                e.detail["part"],
                json!({"index": i + 1, "total": events.len()})
            );
            assert_eq!(e.detail["jti"], json!(format!("{}.{}", rec.id, i + 1)));
            let p = &e.detail["events"]["urn:ietf:params:scim:event:prov:patch:notice"];
            for id in p["membersAdded"].as_array().into_iter().flatten() {
                seen.push(id.as_str().unwrap().to_owned());
            }
        }
        assert_eq!(seen, ids, "every added id once, in order");
        let small = record(Action::MembershipChange, ResourceKind::Group)
            .with_member_ids(vec!["a".to_owned()], Vec::new());
        let one = events_of(&small, SOURCE);
        assert_eq!(one.len(), 1);
        assert!(one[0].detail.get("part").is_none());
        assert_eq!(one[0].detail["sub_id"]["uri"], "/Groups/42");
    }
}
