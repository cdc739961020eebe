//! The key design: where every item of the single table lives. ARCHITECTURE.md ("DynamoDB key
//! design") is the same design as a table; change both together.
//!
//! Every partition key is `T#<tenant>#<PARTITION>`. A tenant id cannot contain `#` (see
//! [`TenantId`]), so no key of one tenant can be spelt as a key of another. Each tenant has a
//! fixed set of partitions ([`Partition::ALL`]): all of a tenant's data can be read (exported,
//! purged, checked by a test) with one paged Query per partition, never a Scan.
//!
//! Reserved for Groups (a later issue; nothing here uses them yet): `GROUP` (sk = group id, like
//! `USER`), `DISPLAYNAME` (look-up, sk = `<digest of the folded displayName>#<group id>`: one
//! Query with `begins_with` answers `displayName eq`), `MEMBER` (sk = `<group id>#<member id>`,
//! one item per membership: a group's members are a paged Query with `begins_with`) and
//! `MEMBEROF` (sk = `<member id>#<group id>`, the reverse edge for a user's `groups` and for
//! cleaning up on delete).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::scim::resource::fold_user_name;
use crate::tenant::TenantId;

/// The table's partition key attribute (string).
pub const PK: &str = "pk";
/// The table's sort key attribute (string).
pub const SK: &str = "sk";
/// The epoch-seconds expiry attribute (the table's TTL attribute).
pub const TTL: &str = "ttl";

/// The sort key of the tenant's counter item.
const COUNTER_SK: &str = "COUNTS";

/// A pk that no tenant can own (tenant ids cannot start with `-`): read at start-up to check the
/// table and warm the connection.
pub const PROBE_PK: &str = "T#-#PROBE";

/// One of a tenant's partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// User items; sk = user id. A list page is a Query of this partition in sk order.
    Users,
    /// userName guards; sk = digest of the folded userName.
    UserNames,
    /// externalId guards; sk = digest of the externalId (case-sensitive).
    ExternalIds,
    /// The counter item (sk `COUNTS`).
    Meta,
    /// Deletion (audit) records; sk = `<deleted_at>#<user id>`, so they read oldest first.
    Deletions,
    /// The audit trail; sk = `<at>#<unique>`, so it reads oldest first and `--since` is a range.
    Audit,
}

impl Partition {
    /// Every partition a tenant's data can be in today.
    pub const ALL: [Partition; 6] = [
        Partition::Users,
        Partition::UserNames,
        Partition::ExternalIds,
        Partition::Meta,
        Partition::Deletions,
        Partition::Audit,
    ];

    pub fn tag(self) -> &'static str {
        match self {
            Partition::Users => "USER",
            Partition::UserNames => "USERNAME",
            Partition::ExternalIds => "EXTERNALID",
            Partition::Meta => "META",
            Partition::Deletions => "DELETED",
            Partition::Audit => "AUDIT",
        }
    }

    /// This partition's key for `tenant`.
    pub fn pk(self, tenant: &TenantId) -> String {
        format!("T#{tenant}#{}", self.tag())
    }
}

/// The primary key of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    fn new(partition: Partition, tenant: &TenantId, sk: String) -> Self {
        Key {
            pk: partition.pk(tenant),
            sk,
        }
    }

    /// The key as DynamoDB attributes (for GetItem, Delete, ExclusiveStartKey).
    pub fn to_attrs(&self) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (PK.to_owned(), AttributeValue::S(self.pk.clone())),
            (SK.to_owned(), AttributeValue::S(self.sk.clone())),
        ])
    }
}

pub fn user(tenant: &TenantId, id: &str) -> Key {
    Key::new(Partition::Users, tenant, id.to_owned())
}

/// The guard that reserves a userName, compared case-insensitively.
pub fn user_name_guard(tenant: &TenantId, user_name: &str) -> Key {
    Key::new(
        Partition::UserNames,
        tenant,
        digest(&fold_user_name(user_name)),
    )
}

/// The guard that reserves an externalId, compared case-sensitively (RFC 7643 §3.1).
pub fn external_id_guard(tenant: &TenantId, external_id: &str) -> Key {
    Key::new(Partition::ExternalIds, tenant, digest(external_id))
}

pub fn counter(tenant: &TenantId) -> Key {
    Key::new(Partition::Meta, tenant, COUNTER_SK.to_owned())
}

/// An audit record: time first, then a unique suffix (several records can share a millisecond).
pub fn audit(tenant: &TenantId, at: &str, unique: &str) -> Key {
    Key::new(Partition::Audit, tenant, format!("{at}#{unique}"))
}

pub fn deletion(tenant: &TenantId, deleted_at: &str, id: &str) -> Key {
    Key::new(Partition::Deletions, tenant, format!("{deleted_at}#{id}"))
}

/// Guard sort keys are a digest of the value, not the value: any length of userName gives a
/// valid 43-byte key (DynamoDB limits a sort key to 1024 bytes, SCIM sets no limit), and personal
/// data stays out of keys (keys appear in logs, error messages and CloudTrail data events).
fn digest(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TenantId {
        TenantId::parse(s).unwrap()
    }

    #[test]
    fn every_key_begins_with_its_tenant() {
        let acme = t("acme");
        let keys = [
            user(&acme, "u1"),
            user_name_guard(&acme, "Bob"),
            external_id_guard(&acme, "x"),
            counter(&acme),
            deletion(&acme, "2024-01-01T00:00:00Z", "u1"),
        ];
        for k in keys {
            assert!(k.pk.starts_with("T#acme#"), "{k:?}");
        }
        for p in Partition::ALL {
            assert!(!p.pk(&acme).starts_with("T#acme-"));
            assert_ne!(p.pk(&acme), PROBE_PK);
        }
    }

    #[test]
    fn user_name_guards_fold_case_and_external_id_guards_do_not() {
        let acme = t("acme");
        assert_eq!(
            user_name_guard(&acme, "BJensen@Example.com"),
            user_name_guard(&acme, "bjensen@example.com")
        );
        assert_ne!(
            external_id_guard(&acme, "ABC"),
            external_id_guard(&acme, "abc")
        );
        assert_ne!(
            user_name_guard(&acme, "bob"),
            user_name_guard(&t("other"), "bob")
        );
        assert_eq!(user_name_guard(&acme, &"x".repeat(100_000)).sk.len(), 43);
    }
}
