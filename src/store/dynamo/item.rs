//! Item plumbing shared by users and groups, with serde_dynamo: the item type and its size
//! against DynamoDB's limit, deletion and audit records, and the tenant's counter. User items are
//! in `user_item.rs`, group items in `group_item.rs`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::audit::AuditRecord;
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use super::keys::{self, Key};
use crate::scim::resource::Resource;
use crate::store::{Deletion, StoreError};
use crate::tenant::TenantId;

pub type Item = HashMap<String, AttributeValue>;

/// Attribute names used in expressions (kept in one place so expressions and items agree).
pub const VERSION: &str = "version";
pub const USER_ID: &str = "user_id";
pub const USERS: &str = "users";

/// Item type tags (`type` attribute): lets a reader of a raw export tell items apart.
const USER_DELETION_TYPE: &str = "UserDeletion";
const GROUP_DELETION_TYPE: &str = "GroupDeletion";

#[derive(Debug, Serialize, Deserialize)]
struct DeletionItem {
    pk: String,
    sk: String,
    #[serde(rename = "type")]
    kind: String,
    tenant: String,
    id: String,
    /// Users only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    /// Groups only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    deleted_at: String,
    request_id: String,
    /// Epoch seconds after which DynamoDB's TTL may remove the record.
    ttl: i64,
}

pub(super) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("unreadable {what} item: {e}"))
}

pub(super) fn unserialisable(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("cannot serialise a {what} item: {e}"))
}

/// The audit record of a user's deletion, kept until `expires_at` (epoch seconds).
pub fn deletion_item(
    tenant: &TenantId,
    user: &Resource,
    deletion: &Deletion,
    expires_at: i64,
) -> Result<Item, StoreError> {
    let Key { pk, sk } = keys::deletion(tenant, &deletion.deleted_at, &user.id);
    to_item(DeletionItem {
        pk,
        sk,
        kind: USER_DELETION_TYPE.to_owned(),
        tenant: tenant.to_string(),
        id: user.id.clone(),
        user_name: Some(user.user_name().to_owned()),
        external_id: user.external_id().map(str::to_owned),
        display_name: None,
        deleted_at: deletion.deleted_at.clone(),
        request_id: deletion.request_id.clone(),
        ttl: expires_at,
    })
    .map_err(|e| unserialisable("deletion", e))
}

#[derive(Debug, Serialize, Deserialize)]
struct AuditItem {
    pk: String,
    sk: String,
    #[serde(rename = "type")]
    kind: String,
    resource_id: String,
    /// The record as JSON: names of changed attributes, never their values.
    record: String,
    ttl: i64,
}

const AUDIT_TYPE: &str = "audit";

/// The audit record of a change, kept until `expires_at` (epoch seconds).
pub fn audit_item(
    tenant: &TenantId,
    record: &AuditRecord,
    expires_at: i64,
) -> Result<Item, StoreError> {
    let Key { pk, sk } = keys::audit(
        tenant,
        &record.at,
        &uuid::Uuid::new_v4().simple().to_string(),
    );
    let json = serde_json::to_string(record).map_err(|e| unserialisable("audit", e))?;
    to_item(AuditItem {
        pk,
        sk,
        kind: AUDIT_TYPE.to_owned(),
        resource_id: record.resource_id.clone(),
        record: json,
        ttl: expires_at,
    })
    .map_err(|e| unserialisable("audit", e))
}

pub fn audit_from_item(item: Item) -> Result<AuditRecord, StoreError> {
    let a: AuditItem = from_item(item).map_err(|e| corrupt("audit", e))?;
    let mut record: AuditRecord =
        serde_json::from_str(&a.record).map_err(|e| corrupt("audit", e))?;
    if record.id.is_empty() {
        // Written before records had ids: the unique sort key is a stable stand-in, so a
        // replayed event keeps one `jti` too.
        record.id = a.sk;
    }
    Ok(record)
}

/// The audit record of a group's deletion, kept until `expires_at` (epoch seconds). It is also
/// what lets an interrupted clean-up of the group's memberships be finished later
/// (`DynamoStore::resume_cascades`).
pub fn group_deletion_item(
    tenant: &TenantId,
    group: &Resource,
    deletion: &Deletion,
    expires_at: i64,
) -> Result<Item, StoreError> {
    let Key { pk, sk } = keys::deletion(tenant, &deletion.deleted_at, &group.id);
    to_item(DeletionItem {
        pk,
        sk,
        kind: GROUP_DELETION_TYPE.to_owned(),
        tenant: tenant.to_string(),
        id: group.id.clone(),
        user_name: None,
        external_id: group.external_id().map(str::to_owned),
        display_name: group.display_name().map(str::to_owned),
        deleted_at: deletion.deleted_at.clone(),
        request_id: deletion.request_id.clone(),
        ttl: expires_at,
    })
    .map_err(|e| unserialisable("deletion", e))
}

/// What a deletion record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    User,
    Group,
}

/// The kind and id of the resource a deletion record is about.
pub fn deleted_resource(item: Item) -> Result<(Deleted, String), StoreError> {
    let d: DeletionItem = from_item(item).map_err(|e| corrupt("deletion", e))?;
    match d.kind.as_str() {
        USER_DELETION_TYPE => Ok((Deleted::User, d.id)),
        GROUP_DELETION_TYPE => Ok((Deleted::Group, d.id)),
        other => Err(corrupt("deletion", format!("unknown type {other}"))),
    }
}

/// A deletion record as (user or group id, what the store keeps of the deletion).
pub fn deletion_from_item(item: Item) -> Result<(String, Deletion), StoreError> {
    let d: DeletionItem = from_item(item).map_err(|e| corrupt("deletion", e))?;
    Ok((
        d.id,
        Deletion {
            request_id: d.request_id,
            deleted_at: d.deleted_at,
        },
    ))
}

/// The user count held by one counter shard (0 when the tenant has none yet; may be negative).
pub fn counter_users(item: Option<&Item>) -> Result<i64, StoreError> {
    counter_value(item, USERS)
}

/// What one counter shard adds to the count `attr` (`users`, `groups`): 0 when not counted yet,
/// below zero when it counted more deletes than creates (only the sum of the shards is a count).
pub fn counter_value(item: Option<&Item>, attr: &str) -> Result<i64, StoreError> {
    match item.and_then(|i| i.get(attr)) {
        None => Ok(0),
        Some(AttributeValue::N(n)) => n.parse::<i64>().map_err(|e| corrupt("counter", e)),
        Some(_) => Err(corrupt("counter", format!("{attr} is not a number"))),
    }
}

/// DynamoDB's size of an item: attribute name lengths plus value sizes, by the rules of the
/// developer guide ("Item sizes and formats"). Slightly pessimistic for numbers, exact for the
/// strings that make up nearly all of a user item.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, e)| 1 + k.len() + value_size(e))
                .sum::<usize>()
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::dynamo::user_item::{user_from_item, user_item};
    use crate::store::MAX_RESOURCE_BYTES;
    use serde_json::json;
    use serde_json::Value;

    fn user(attrs: Value) -> Resource {
        Resource {
            id: "u1".into(),
            version: crate::scim::resource::Version::new(3),
            created: "2024-01-01T00:00:00Z".into(),
            last_modified: "2024-01-02T00:00:00Z".into(),
            attributes: attrs.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn user_items_round_trip_exactly() {
        let acme = TenantId::parse("acme").unwrap();
        let u = user(json!({
            "userName": "bjensen", "externalId": "x1", "active": true,
            "emails": [], "name": {"givenName": ""}, "x:y": {"n": 1.5, "i": 7, "z": null}
        }));
        let item = user_item(&acme, &u).unwrap();
        assert_eq!(
            item.get("pk"),
            Some(&AttributeValue::S("T#acme#USER".into()))
        );
        assert_eq!(item.get(VERSION), Some(&AttributeValue::N("3".into())));
        assert_eq!(user_from_item(item).unwrap(), u);
    }

    #[test]
    fn oversized_users_are_refused_before_any_call() {
        let acme = TenantId::parse("acme").unwrap();
        let big = user(json!({"userName": "b", "title": "x".repeat(MAX_RESOURCE_BYTES)}));
        assert_eq!(user_item(&acme, &big), Err(StoreError::TooLarge));
        let fits = user(json!({"userName": "b", "title": "x".repeat(MAX_RESOURCE_BYTES - 500)}));
        assert!(user_item(&acme, &fits).is_ok());
    }

    #[test]
    fn deletion_records_skip_a_missing_external_id() {
        let acme = TenantId::parse("acme").unwrap();
        let u = user(json!({"userName": "bjensen"}));
        let d = Deletion {
            request_id: "r1".into(),
            deleted_at: "2024-01-03T00:00:00Z".into(),
        };
        let item = deletion_item(&acme, &u, &d, 42).unwrap();
        assert!(!item.contains_key("external_id"));
        assert_eq!(item.get("ttl"), Some(&AttributeValue::N("42".into())));
        assert_eq!(deletion_from_item(item).unwrap(), ("u1".to_owned(), d));
    }

    #[test]
    fn a_corrupt_item_is_an_error_not_a_panic() {
        let mut item = user_item(&TenantId::parse("acme").unwrap(), &user(json!({}))).unwrap();
        item.insert("attrs".into(), AttributeValue::S("{not json".into()));
        assert!(matches!(user_from_item(item), Err(StoreError::Internal(_))));
        let item: Item = HashMap::from([("users".to_owned(), AttributeValue::S("x".into()))]);
        assert!(counter_users(Some(&item)).is_err());
        assert_eq!(counter_users(None), Ok(0));
    }
}
