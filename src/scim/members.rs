//! Group membership as the protocol sees it: the member references a client sends
//! (RFC 7643 §4.2 `members`), and how memberships are rendered back, both as a Group's `members`
//! and as a User's read-only `groups` (§4.1.2).
//!
//! Memberships are never stored inside the group's attributes (a group can have tens of
//! thousands of members): the store keeps them as items of their own, and these types are what
//! crosses that boundary. `$ref` is never stored; it is rendered from the member's type and id.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::resource::{render, Resource};
use super::schema::{AttributeDef, ResourceKind, GROUP_SCHEMA};
use super::validate;
use crate::error::ScimError;

/// Longest `display` kept for a member, in characters. `display` is a hint for humans (the IdP
/// holds the real name); bounding it bounds the size of a member in storage (DynamoDB items are
/// at most 400 KB) and in responses (see `service::groups::MAX_MEMBERS_PER_RESPONSE`).
pub const MAX_DISPLAY_CHARS: usize = 256;

/// Most members one request may name (a POST or PUT body's `members`, or all the member values
/// of one PATCH together). Every named member costs a read (its existence check) and every added
/// one a third of a transaction slot (three items per add, 32 adds per DynamoDB transaction), so
/// the bound keeps the slowest request of this size well inside the Lambda timeout: measured on
/// moto, see ARCHITECTURE.md, "Member bound". IdPs send batches of hundreds (Entra: 250 per
/// PATCH; Okta pushes in batches of at most 1,000).
pub const MAX_MEMBERS_PER_REQUEST: usize = 1_000;

/// What a member is. Members may be Users or Groups (RFC 7643 §4.2, `type` canonical values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemberKind {
    User,
    Group,
}

impl MemberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::User => "User",
            MemberKind::Group => "Group",
        }
    }

    pub fn resource_kind(self) -> ResourceKind {
        match self {
            MemberKind::User => ResourceKind::User,
            MemberKind::Group => ResourceKind::Group,
        }
    }

    /// The type a client named, if it is one we know (in any case).
    pub fn parse(s: &str) -> Option<Self> {
        [MemberKind::User, MemberKind::Group]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// One member of a group: the member's id, its kind, and the `display` the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The id of a User or Group of the same tenant.
    pub value: String,
    /// As sent by the client (ARCHITECTURE.md, IdP shapes row 13: missing means `User`) until
    /// the service replaces it with the kind of the resource that actually holds the id.
    pub kind: MemberKind,
    pub display: Option<String>,
}

/// A group a user (or group) belongs to, for the read-only `groups` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub id: String,
    pub display_name: String,
    /// The group's `externalId`: a role rule may name the group by it (`settings::roles`).
    pub external_id: Option<String>,
}

fn members_def() -> &'static AttributeDef {
    // GROUP_SCHEMA is a static table that defines `members`; the schema tests pin it.
    GROUP_SCHEMA
        .attributes
        .iter()
        .find(|a| a.name == "members")
        .unwrap_or(&GROUP_SCHEMA.attributes[0])
}

/// The definition of `members`, for value filters on its elements.
pub fn members_attribute() -> &'static AttributeDef {
    members_def()
}

/// `display` as kept: control characters removed, at most [`MAX_DISPLAY_CHARS`] characters.
fn clean_display(s: &str) -> Option<String> {
    let cleaned: String = s
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_DISPLAY_CHARS)
        .collect();
    (!cleaned.trim().is_empty()).then_some(cleaned)
}

/// Parse a `members` value (a list, a single object, or bare ids), as sent in POST, PUT and
/// PATCH. `$ref` is ignored (we render our own; Entra sends `"$ref": null`), a missing `type`
/// means `User` (row 13), duplicates collapse to the last one sent. `what` names the value in
/// error messages.
///
/// Linear in the number of members (de-duplication by a hash index), and refused with `tooMany`
/// past [`MAX_MEMBERS_PER_REQUEST`] before any per-member work.
pub fn parse_members(value: &Value, what: &str) -> Result<Vec<Member>, ScimError> {
    if let Value::Array(raw) = value {
        check_member_count(raw.len())?;
    }
    let Some(Value::Array(items)) = validate::normalize_attribute(members_def(), what, value)?
    else {
        return Ok(Vec::new());
    };
    let mut out: Vec<Member> = Vec::with_capacity(items.len());
    let mut position: HashMap<String, usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let id = item
            .get("value")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "{what}[{i}] has no \"value\". Each member needs a \"value\" holding the id of a User or Group."
                ))
            })?;
        let member = Member {
            value: id.to_owned(),
            kind: item
                .get("type")
                .and_then(Value::as_str)
                .and_then(MemberKind::parse)
                .unwrap_or(MemberKind::User),
            display: item
                .get("display")
                .and_then(Value::as_str)
                .and_then(clean_display),
        };
        match position.get(&member.value) {
            Some(&at) => {
                if let Some(slot) = out.get_mut(at) {
                    *slot = member;
                }
            }
            None => {
                position.insert(member.value.clone(), out.len());
                out.push(member);
            }
        }
    }
    Ok(out)
}

/// `tooMany` when one request names more than [`MAX_MEMBERS_PER_REQUEST`] members (RFC 7644
/// §3.12: "the specified request cannot be completed, due to the passing of too many ...").
pub fn check_member_count(n: usize) -> Result<(), ScimError> {
    if n > MAX_MEMBERS_PER_REQUEST {
        return Err(ScimError::too_many(format!(
            "A request may name at most {MAX_MEMBERS_PER_REQUEST} group members; this one names {n}. \
             Send the members in batches of at most {MAX_MEMBERS_PER_REQUEST} with PATCH \"add\" operations."
        )));
    }
    Ok(())
}

/// The member ids in a `remove` value list (row 6): `[{"value": "id"}, ...]` or bare ids.
pub fn parse_member_ids(value: &Value, what: &str) -> Result<Vec<String>, ScimError> {
    Ok(parse_members(value, what)?
        .into_iter()
        .map(|m| m.value)
        .collect())
}

/// Take `members` out of a normalised group body (POST, PUT): the rest is what the group
/// record keeps.
pub fn take_members(attributes: &mut Map<String, Value>) -> Result<Vec<Member>, ScimError> {
    match attributes.remove("members") {
        Some(v) => parse_members(&v, "members"),
        None => Ok(Vec::new()),
    }
}

/// One element of a group's `members` as a client sees it.
pub fn member_json(m: &Member, base_url: &str) -> Value {
    let mut out = Map::with_capacity(4);
    out.insert("value".into(), Value::String(m.value.clone()));
    out.insert(
        "$ref".into(),
        Value::String(format!(
            "{base_url}{}/{}",
            m.kind.resource_kind().endpoint(),
            m.value
        )),
    );
    if let Some(d) = &m.display {
        out.insert("display".into(), Value::String(d.clone()));
    }
    out.insert("type".into(), Value::String(m.kind.as_str().to_owned()));
    Value::Object(out)
}

/// A member as value filters see it (no `$ref`: filters select by id, type and display).
pub fn member_for_filter(m: &Member) -> Value {
    member_json(m, "")
}

/// A group as a client sees it, with `members` when they were read (`None`: left out, e.g.
/// `excludedAttributes=members`). An empty list is left out too: RFC 7643 §2.5 unassigned.
pub fn render_group(group: &Resource, members: Option<&[Member]>, base_url: &str) -> Value {
    let mut doc = render(ResourceKind::Group, group, base_url);
    if let (Some(ms), Value::Object(obj)) = (members, &mut doc) {
        if !ms.is_empty() {
            let items = ms.iter().map(|m| member_json(m, base_url)).collect();
            obj.insert("members".into(), Value::Array(items));
        }
    }
    doc
}

/// A user as a client sees it, with its read-only `groups` (RFC 7643 §4.1.2) when they were
/// read. Only direct memberships are listed: nested groups are not expanded.
pub fn render_user(user: &Resource, groups: Option<&[GroupRef]>, base_url: &str) -> Value {
    let mut doc = render(ResourceKind::User, user, base_url);
    if let (Some(gs), Value::Object(obj)) = (groups, &mut doc) {
        if !gs.is_empty() {
            let items = gs
                .iter()
                .map(|g| {
                    serde_json::json!({
                        "value": g.id,
                        "$ref": format!("{base_url}/Groups/{}", g.id),
                        "display": g.display_name,
                        "type": "direct",
                    })
                })
                .collect();
            obj.insert("groups".into(), Value::Array(items));
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_accept_every_idp_shape() {
        let got = parse_members(
            &json!([
                {"value": "u1"},
                {"value": "u2", "$ref": null},
                {"value": "g1", "type": "group", "display": "Admins", "$ref": "https://elsewhere/Groups/g1"},
                "u3",
                {"value": "u1", "display": "again"}
            ]),
            "members",
        )
        .unwrap();
        let kinds: Vec<(&str, MemberKind, Option<&str>)> = got
            .iter()
            .map(|m| (m.value.as_str(), m.kind, m.display.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("u1", MemberKind::User, Some("again")),
                ("u2", MemberKind::User, None),
                ("g1", MemberKind::Group, Some("Admins")),
                ("u3", MemberKind::User, None),
            ]
        );
        assert_eq!(
            parse_members(&json!({"value": "u9"}), "members").unwrap()[0].value,
            "u9"
        );
        assert!(parse_members(&json!([]), "members").unwrap().is_empty());
    }

    #[test]
    fn a_member_without_value_is_invalid_value() {
        for bad in [json!([{"display": "x"}]), json!([{"value": "  "}])] {
            let e = parse_members(&bad, "members").unwrap_err();
            assert_eq!(e.scim_type(), Some(crate::error::ScimType::InvalidValue));
        }
        let e = parse_members(&json!([{"value": 5}]), "members").unwrap_err();
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn display_is_bounded_and_cleaned() {
        let long = "é".repeat(MAX_DISPLAY_CHARS + 10);
        let m = parse_members(&json!([{"value": "u", "display": long}]), "m").unwrap();
        assert_eq!(
            m[0].display.as_ref().map(|d| d.chars().count()),
            Some(MAX_DISPLAY_CHARS)
        );
        let m = parse_members(&json!([{"value": "u", "display": "a\u{0}b\n"}]), "m").unwrap();
        assert_eq!(m[0].display.as_deref(), Some("ab"));
    }

    #[test]
    fn rendering_adds_ref_and_type() {
        let m = Member {
            value: "u1".into(),
            kind: MemberKind::User,
            display: None,
        };
        assert_eq!(
            member_json(&m, "https://h/scim/v2"),
            json!({"value": "u1", "$ref": "https://h/scim/v2/Users/u1", "type": "User"})
        );
        let user = Resource {
            id: "u1".into(),
            version: crate::scim::resource::Version::new(1),
            created: "2024-01-01T00:00:00Z".into(),
            last_modified: "2024-01-01T00:00:00Z".into(),
            attributes: json!({"userName": "a"}).as_object().cloned().unwrap(),
        };
        let g = GroupRef {
            id: "g1".into(),
            display_name: "Admins".into(),
            external_id: None,
        };
        let doc = render_user(&user, Some(&[g]), "https://h/scim/v2");
        assert_eq!(
            doc["groups"],
            json!([{"value": "g1", "$ref": "https://h/scim/v2/Groups/g1", "display": "Admins", "type": "direct"}])
        );
        assert!(render_user(&user, Some(&[]), "b").get("groups").is_none());
    }
}
