//! The stored shape of group items: the group record, its displayName look-up entry, and the two
//! items of each membership. Like users, a group's SCIM attributes are one JSON string (`attrs`),
//! never with `members`: members are items of their own, so a group of 50,000 is 100,000 small
//! membership items and one group item of a few hundred bytes.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};
use serde_json::{Map, Value};

use super::item::{corrupt, item_size, unserialisable, Item};
use super::keys::{self, Key};
use crate::scim::members::{Member, MemberKind};
use crate::scim::resource::{Resource, Version};
use crate::store::{StoreError, MAX_RESOURCE_BYTES};
use crate::tenant::TenantId;

/// Attribute names used in expressions.
pub const ATTRS: &str = "attrs";
pub const LAST_MODIFIED: &str = "last_modified";
pub const MEMBER_COUNT: &str = "member_count";
/// The tenant counter's group count.
pub const GROUPS: &str = "groups";

const GROUP_TYPE: &str = "Group";
const DISPLAY_NAME_ENTRY_TYPE: &str = "DisplayNameEntry";
const MEMBER_TYPE: &str = "Member";
const MEMBER_OF_TYPE: &str = "MemberOf";

#[derive(Debug, Serialize, Deserialize)]
struct GroupItem {
    pk: String,
    sk: String,
    #[serde(rename = "type")]
    kind: String,
    id: String,
    version: Version,
    created: String,
    last_modified: String,
    /// The SCIM attributes as a JSON object, without `members`.
    attrs: String,
    /// How many membership items the group has: kept exact by the conditions of every
    /// membership write (an add only counts if the item was absent, a removal if it was there),
    /// for diagnostics and capacity planning; SCIM answers never depend on it.
    #[serde(default)]
    member_count: i64,
}

#[derive(Debug, Serialize)]
struct DisplayNameEntry<'a> {
    pk: &'a str,
    sk: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    group_id: &'a str,
}

#[derive(Debug, Serialize, Deserialize)]
struct MemberItem {
    pk: String,
    sk: String,
    #[serde(rename = "type")]
    kind: String,
    group_id: String,
    member_id: String,
    member_type: String,
    /// As the client sent it (bounded by `scim::members::MAX_DISPLAY_CHARS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    display: Option<String>,
}

#[derive(Debug, Serialize)]
struct MemberOfItem<'a> {
    pk: &'a str,
    sk: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    member_id: &'a str,
    group_id: &'a str,
    member_type: &'a str,
}

/// The group item for `group` holding `member_count` memberships, refused with `TooLarge`
/// before any call if DynamoDB would refuse it.
pub fn group_item(
    tenant: &TenantId,
    group: &Resource,
    member_count: i64,
) -> Result<Item, StoreError> {
    crate::store::check_group_attributes(&group.attributes)?;
    let attrs = serde_json::to_string(&group.attributes).map_err(|e| unserialisable("group", e))?;
    let Key { pk, sk } = keys::group(tenant, &group.id);
    let item = to_item(GroupItem {
        pk,
        sk,
        kind: GROUP_TYPE.to_owned(),
        id: group.id.clone(),
        version: group.version,
        created: group.created.clone(),
        last_modified: group.last_modified.clone(),
        attrs,
        member_count,
    })
    .map_err(|e| unserialisable("group", e))?;
    if item_size(&item) > MAX_RESOURCE_BYTES {
        return Err(StoreError::TooLarge);
    }
    Ok(item)
}

/// `attributes` as stored in a group item, refused with `TooLarge` if the group item holding
/// them would be: the size of `group` with these attributes, counted as [`group_item`] does.
pub fn group_attrs(
    tenant: &TenantId,
    group: &Resource,
    attributes: &Map<String, Value>,
) -> Result<AttributeValue, StoreError> {
    let next = Resource {
        attributes: attributes.clone(),
        ..group.clone()
    };
    let mut item = group_item(tenant, &next, i64::MAX)?;
    item.remove(ATTRS)
        .ok_or_else(|| StoreError::Internal("a group item without attrs".into()))
}

pub fn group_from_item(item: Item) -> Result<Resource, StoreError> {
    let g: GroupItem = from_item(item).map_err(|e| corrupt("group", e))?;
    let attributes: Map<String, Value> =
        serde_json::from_str(&g.attrs).map_err(|e| corrupt("group", e))?;
    Ok(Resource {
        id: g.id,
        version: g.version,
        created: g.created,
        last_modified: g.last_modified,
        attributes,
    })
}

/// The version held by a group item (as returned with a failed condition).
pub fn group_version(item: &Item) -> Result<Version, StoreError> {
    match item.get(super::item::VERSION) {
        Some(AttributeValue::N(n)) => n.parse().map(Version::new).map_err(|e| corrupt("group", e)),
        _ => Err(corrupt("group", "no version")),
    }
}

/// The folded displayName a group is listed under (missing counts as empty, as in the
/// embedded store: displayName is required, but an old record must still be findable).
pub fn display_name_of(group: &Resource) -> &str {
    group.display_name().unwrap_or_default()
}

pub fn display_name_entry_item(key: &Key, group_id: &str) -> Result<Item, StoreError> {
    to_item(DisplayNameEntry {
        pk: &key.pk,
        sk: &key.sk,
        kind: DISPLAY_NAME_ENTRY_TYPE,
        group_id,
    })
    .map_err(|e| unserialisable("displayName entry", e))
}

/// The group id a look-up entry or a member -> group item points to (its `group_id`).
pub fn group_id_of(item: &Item) -> Result<&str, StoreError> {
    match item.get("group_id") {
        Some(AttributeValue::S(id)) => Ok(id),
        _ => Err(corrupt("membership", "no group_id")),
    }
}

/// The group -> member item of `member` in `group_id`.
pub fn member_item(tenant: &TenantId, group_id: &str, member: &Member) -> Result<Item, StoreError> {
    let Key { pk, sk } = keys::member(tenant, group_id, &member.value);
    to_item(MemberItem {
        pk,
        sk,
        kind: MEMBER_TYPE.to_owned(),
        group_id: group_id.to_owned(),
        member_id: member.value.clone(),
        member_type: member.kind.as_str().to_owned(),
        display: member.display.clone(),
    })
    .map_err(|e| unserialisable("member", e))
}

/// The member -> group item of `member` in `group_id`.
pub fn member_of_item(
    tenant: &TenantId,
    group_id: &str,
    member: &Member,
) -> Result<Item, StoreError> {
    let key = keys::member_of(tenant, &member.value, group_id);
    to_item(MemberOfItem {
        pk: &key.pk,
        sk: &key.sk,
        kind: MEMBER_OF_TYPE,
        member_id: &member.value,
        group_id,
        member_type: member.kind.as_str(),
    })
    .map_err(|e| unserialisable("member", e))
}

pub fn member_from_item(item: Item) -> Result<Member, StoreError> {
    let m: MemberItem = from_item(item).map_err(|e| corrupt("member", e))?;
    let kind = MemberKind::parse(&m.member_type)
        .ok_or_else(|| corrupt("member", format!("member_type {}", m.member_type)))?;
    Ok(Member {
        value: m.member_id,
        kind,
        display: m.display,
    })
}

/// The sort key of an item (a member id in a `MEMBER#` partition, a group id in `MEMBEROF#`).
pub fn sort_key(item: &Item) -> Result<&str, StoreError> {
    match item.get(keys::SK) {
        Some(AttributeValue::S(sk)) => Ok(sk),
        _ => Err(corrupt("item", "no sort key")),
    }
}

/// The partition key of an item.
pub fn partition_key(item: &Item) -> Result<&str, StoreError> {
    match item.get(keys::PK) {
        Some(AttributeValue::S(pk)) => Ok(pk),
        _ => Err(corrupt("item", "no partition key")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn acme() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    fn group(attrs: Value) -> Resource {
        Resource {
            id: "g1".into(),
            version: crate::scim::resource::Version::new(4),
            created: "2024-01-01T00:00:00Z".into(),
            last_modified: "2024-01-02T00:00:00Z".into(),
            attributes: attrs.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn group_items_round_trip_and_carry_their_member_count() {
        let g = group(json!({"displayName": "Admins", "externalId": "x"}));
        let item = group_item(&acme(), &g, 7).unwrap();
        assert_eq!(item.get(MEMBER_COUNT), Some(&AttributeValue::N("7".into())));
        assert_eq!(group_version(&item), Ok(Version::new(4)));
        assert_eq!(group_from_item(item).unwrap(), g);
    }

    #[test]
    fn oversized_group_attributes_are_refused_before_any_call() {
        let g = group(json!({"displayName": "A"}));
        let big = json!({"displayName": "x".repeat(MAX_RESOURCE_BYTES)});
        assert_eq!(
            group_attrs(&acme(), &g, big.as_object().unwrap()),
            Err(StoreError::TooLarge)
        );
        let ok = json!({"displayName": "B"});
        assert_eq!(
            group_attrs(&acme(), &g, ok.as_object().unwrap()),
            Ok(AttributeValue::S(r#"{"displayName":"B"}"#.into()))
        );
    }

    #[test]
    fn member_items_round_trip_with_kind_and_display() {
        let m = Member {
            value: "u1".into(),
            kind: MemberKind::Group,
            display: Some("Babs".into()),
        };
        let item = member_item(&acme(), "g1", &m).unwrap();
        assert_eq!(sort_key(&item), Ok("u1"));
        assert_eq!(member_from_item(item).unwrap(), m);
        let reverse = member_of_item(&acme(), "g1", &m).unwrap();
        assert_eq!(group_id_of(&reverse), Ok("g1"));
        assert_eq!(partition_key(&reverse), Ok("T#acme#MEMBEROF#u1"));
        let mut bad = member_item(&acme(), "g1", &m).unwrap();
        bad.insert("member_type".into(), AttributeValue::S("Robot".into()));
        assert!(matches!(
            member_from_item(bad),
            Err(StoreError::Internal(_))
        ));
    }
}
