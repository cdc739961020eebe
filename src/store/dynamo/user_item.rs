//! The stored shape of user items: the user itself and the guard items that reserve its
//! unique values. Shared item plumbing (sizes, audit and deletion records, the counter) is in
//! `item.rs`; groups are in `group_item.rs`.
//!
//! A user's SCIM attributes are one JSON string attribute (`attrs`), not a DynamoDB map: it is
//! compact, keeps JSON exactly as it was (number forms, nulls inside values, empty arrays), has no
//! nesting-depth limit, and nothing ever needs to address an attribute inside DynamoDB (filters
//! are evaluated in the service). The fields that DynamoDB does need (`version` for conditions,
//! keys) are top-level attributes, and so are the user's group references (`group_refs.rs`),
//! which the membership transactions set and remove one by one.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};
use serde_json::{Map, Value};

use super::item::{corrupt, item_size, unserialisable, Item, USER_ID, VERSION};
use super::keys::{self, Key};
use super::tx::UpdateExpr;
use crate::scim::resource::{Resource, Version};
use crate::store::{StoreError, MAX_RESOURCE_BYTES};
use crate::tenant::TenantId;

const USER_TYPE: &str = "User";
const USER_NAME_GUARD_TYPE: &str = "UserNameGuard";
const EXTERNAL_ID_ENTRY_TYPE: &str = "ExternalIdEntry";
const EMAIL_ENTRY_TYPE: &str = "EmailEntry";

#[derive(Debug, Serialize, Deserialize)]
struct UserItem {
    pk: String,
    sk: String,
    #[serde(rename = "type")]
    kind: String,
    id: String,
    version: Version,
    created: String,
    last_modified: String,
    /// The SCIM attributes as a JSON object (see the module documentation).
    attrs: String,
    /// How many group references the item holds (`group_refs.rs`); written as 0 by a create,
    /// absent on items written before references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gi: Option<u32>,
}

#[derive(Debug, Serialize)]
struct GuardItem<'a> {
    pk: &'a str,
    sk: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    user_id: &'a str,
}

/// The user item for `user`, refused with `TooLarge` before any call if DynamoDB would refuse it.
pub fn user_item(tenant: &TenantId, user: &Resource) -> Result<Item, StoreError> {
    let attrs = serde_json::to_string(&user.attributes).map_err(|e| unserialisable("user", e))?;
    let Key { pk, sk } = keys::user(tenant, &user.id);
    let item = to_item(UserItem {
        pk,
        sk,
        kind: USER_TYPE.to_owned(),
        id: user.id.clone(),
        version: user.version,
        created: user.created.clone(),
        last_modified: user.last_modified.clone(),
        attrs,
        gi: Some(0),
    })
    .map_err(|e| unserialisable("user", e))?;
    if item_size(&item) > MAX_RESOURCE_BYTES {
        return Err(StoreError::TooLarge);
    }
    Ok(item)
}

/// The update that replaces a stored user's attributes by `next`'s (its version and
/// lastModified with them), leaving the item's group references as they are. Refused with
/// `TooLarge` like [`user_item`].
pub fn attributes_update(next: &Resource) -> Result<UpdateExpr, StoreError> {
    let attrs = serde_json::to_string(&next.attributes).map_err(|e| unserialisable("user", e))?;
    if attrs.len() > MAX_RESOURCE_BYTES {
        return Err(StoreError::TooLarge);
    }
    Ok(UpdateExpr {
        expression: "SET #attrs = :attrs, #v = :v, #lm = :lm".to_owned(),
        names: vec![
            ("#attrs", "attrs"),
            ("#v", VERSION),
            ("#lm", "last_modified"),
        ],
        values: vec![
            (":attrs", AttributeValue::S(attrs)),
            (":v", AttributeValue::N(next.version.to_string())),
            (":lm", AttributeValue::S(next.last_modified.clone())),
        ],
    })
}

pub fn user_from_item(item: Item) -> Result<Resource, StoreError> {
    let u: UserItem = from_item(item).map_err(|e| corrupt("user", e))?;
    let attributes: Map<String, Value> =
        serde_json::from_str(&u.attrs).map_err(|e| corrupt("user", e))?;
    Ok(Resource {
        id: u.id,
        version: u.version,
        created: u.created,
        last_modified: u.last_modified,
        attributes,
    })
}

/// What a guard-shaped item (a key and the `user_id` it points to) is: the guard that reserves
/// a userName, or a (non-unique) externalId or email look-up entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardKind {
    UserName,
    ExternalIdEntry,
    EmailEntry,
}

pub fn guard_item(kind: GuardKind, key: &Key, user_id: &str) -> Result<Item, StoreError> {
    to_item(GuardItem {
        pk: &key.pk,
        sk: &key.sk,
        kind: match kind {
            GuardKind::UserName => USER_NAME_GUARD_TYPE,
            GuardKind::ExternalIdEntry => EXTERNAL_ID_ENTRY_TYPE,
            GuardKind::EmailEntry => EMAIL_ENTRY_TYPE,
        },
        user_id,
    })
    .map_err(|e| unserialisable("guard", e))
}

/// The user id a guard item points to.
pub fn guard_owner(item: &Item) -> Result<&str, StoreError> {
    match item.get(USER_ID) {
        Some(AttributeValue::S(id)) => Ok(id),
        _ => Err(corrupt("guard", "no user_id")),
    }
}
