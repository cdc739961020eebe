//! The key design: where every item of the single table lives. ARCHITECTURE.md ("DynamoDB key
//! design") is the same design as a table; change both together.
//!
//! Every partition key is `T#<tenant>#<PARTITION>`. A tenant id cannot contain `#` (see
//! [`TenantId`]), so no key of one tenant can be spelt as a key of another. Each tenant has a
//! fixed set of partitions ([`Partition::ALL`]): all of a tenant's data can be read (exported,
//! purged, checked by a test) with one paged Query per partition, never a Scan.
//!
//! Groups: `GROUP` (sk = group id, like `USER`) and `DISPLAYNAME` (look-up entries, sk =
//! `<digest of the folded displayName>#<group id>`: one Query with `begins_with` answers
//! `displayName eq`, which need not be unique). Memberships are one item per direction, in
//! partitions of their own per group and per member: `MEMBER#<group id>` (sk = member id) and
//! `MEMBEROF#<member id>` (sk = group id). A group's members are then one paged Query on an
//! exact key, and a 50,000-member group spreads its reverse items over 50,000 partition keys
//! instead of loading one per-tenant key with every membership of the tenant (see
//! ARCHITECTURE.md for the trade-off). These two are not in [`Partition::ALL`]: a tenant's
//! memberships are reached through its groups (one Query per group's `MEMBER#` partition).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::scim::resource::{fold_user_name, Folded};
use crate::tenant::TenantId;

/// The table's partition key attribute (string).
pub const PK: &str = "pk";
/// The table's sort key attribute (string).
pub const SK: &str = "sk";
/// The epoch-seconds expiry attribute (the table's TTL attribute).
pub const TTL: &str = "ttl";

const SETTINGS_SK: &str = "CURRENT";

/// The sort-key prefix of the tenant's counter items: shard `n` is `COUNTS#<n>`. The unsharded
/// item of earlier versions (`COUNTS` alone) has the same prefix, so one `begins_with` Query sums
/// it with the shards and an existing table needs no migration.
pub const COUNTER_SK_PREFIX: &str = "COUNTS";

/// How many counter shards a tenant's writes spread over. Every create and delete adds to one
/// shard in its transaction, and DynamoDB cancels a transaction that touches an item another
/// transaction holds (`TransactionConflict`): with one item, a tenant's writes queue on it. With
/// 256 shards chosen at random, 100 writes/s per tenant conflict on a first try 0.6 % of the time
/// (the model in `counter_model.rs`, ARCHITECTURE.md "Counter shards"); the Query that sums them
/// reads at most 256 items of about 40 bytes (3 strongly consistent read units).
pub const COUNTER_SHARDS: u32 = 256;

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
    /// externalId look-up entries of users; sk = `<digest of the externalId>#<user id>`
    /// (case-sensitive, not unique: RFC 7643 §3.1).
    ExternalIds,
    /// The counter shards (sk `COUNTS#<n>`, [`counter_shard`]).
    Meta,
    /// Email look-up entries of users; sk = `<digest of the folded address>#<user id>`
    /// (caseExact false, not unique: RFC 7643 §4.1.2).
    Emails,
    /// Deletion (audit) records; sk = `<deleted_at>#<user or group id>`, oldest first.
    Deletions,
    /// Group items; sk = group id. A list page is a Query of this partition in sk order.
    Groups,
    /// displayName look-up entries; sk = `<digest of the folded displayName>#<group id>`.
    DisplayNames,
    /// The audit trail; sk = `<at>#<unique>`, so it reads oldest first and `--since` is a range.
    Audit,
    /// The tenant's settings record (sk `CURRENT`), read by each function instance about once a
    /// minute (`service::settings`).
    Settings,
    /// Admin-API state: setup-link revocations (sk `LINKREV#<link id>`) and connection-health
    /// buckets (sk `HEALTH#<idp>#<hour>`), all with a TTL (`dynamo/admin.rs`).
    Admin,
    /// `startIndex` bookmarks: where the last page that ended just before an index stopped
    /// (sk `<USER|GROUP>#<index>`, [`bookmark`]), kept 15 minutes (`dynamo/bookmarks.rs`).
    Bookmarks,
}

impl Partition {
    /// Every fixed partition of a tenant (the per-group and per-member membership partitions
    /// come on top: [`members_pk`], [`member_of_pk`]).
    pub const ALL: [Partition; 12] = [
        Partition::Users,
        Partition::UserNames,
        Partition::ExternalIds,
        Partition::Emails,
        Partition::Meta,
        Partition::Deletions,
        Partition::Groups,
        Partition::DisplayNames,
        Partition::Audit,
        Partition::Settings,
        Partition::Admin,
        Partition::Bookmarks,
    ];

    pub fn tag(self) -> &'static str {
        match self {
            Partition::Users => "USER",
            Partition::UserNames => "USERNAME",
            Partition::ExternalIds => "EXTERNALID",
            Partition::Emails => "EMAIL",
            Partition::Meta => "META",
            Partition::Deletions => "DELETED",
            Partition::Groups => "GROUP",
            Partition::DisplayNames => "DISPLAYNAME",
            Partition::Audit => "AUDIT",
            Partition::Settings => "SETTINGS",
            Partition::Admin => "ADMIN",
            Partition::Bookmarks => "BOOKMARK",
        }
    }

    /// This partition's key for `tenant`.
    pub fn pk(self, tenant: &TenantId) -> String {
        format!("T#{tenant}#{}", self.tag())
    }
}

/// The primary key of one item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
        digest(fold_user_name(user_name).as_str()),
    )
}

/// The sort-key prefix of every look-up entry of one externalId, compared case-sensitively
/// (RFC 7643 §3.1: caseExact, and not unique). It has no `#`, so it is also the whole sort key
/// of a guard item written while externalId was unique (`<digest>`): a look-up finds those too,
/// and the user it names decides, so tables written before need no migration.
pub fn external_id_prefix(external_id: &str) -> String {
    digest(external_id)
}

/// The look-up entry that lists user `user_id` under its externalId.
pub fn external_id_entry(tenant: &TenantId, external_id: &str, user_id: &str) -> Key {
    Key::new(
        Partition::ExternalIds,
        tenant,
        format!("{}#{user_id}", external_id_prefix(external_id)),
    )
}

/// The sort-key prefix of every look-up entry of one (folded) email address: the digest has a
/// fixed length and no `#`, so the prefix matches exactly that address's entries.
pub fn email_prefix(email: &Folded) -> String {
    format!("{}#", digest(email.as_str()))
}

/// The look-up entry that lists user `user_id` under one of its email addresses.
pub fn email_entry(tenant: &TenantId, email: &Folded, user_id: &str) -> Key {
    Key::new(
        Partition::Emails,
        tenant,
        format!("{}{user_id}", email_prefix(email)),
    )
}

/// The tenant's settings record.
pub fn settings(tenant: &TenantId) -> Key {
    Key::new(Partition::Settings, tenant, SETTINGS_SK.to_owned())
}

/// Counter shard `shard` (taken modulo [`COUNTER_SHARDS`]).
pub fn counter_shard(tenant: &TenantId, shard: u32) -> Key {
    Key::new(
        Partition::Meta,
        tenant,
        format!("{COUNTER_SK_PREFIX}#{}", shard % COUNTER_SHARDS),
    )
}

/// An audit record: time first, then a unique suffix (several records can share a millisecond).
pub fn audit(tenant: &TenantId, at: &str, unique: &str) -> Key {
    Key::new(Partition::Audit, tenant, format!("{at}#{unique}"))
}

pub fn deletion(tenant: &TenantId, deleted_at: &str, id: &str) -> Key {
    Key::new(Partition::Deletions, tenant, format!("{deleted_at}#{id}"))
}

pub fn group(tenant: &TenantId, id: &str) -> Key {
    Key::new(Partition::Groups, tenant, id.to_owned())
}

/// The sort-key prefix of every look-up entry of one displayName, compared case-insensitively
/// (RFC 7643 §4.2: displayName is not caseExact). The digest has a fixed length and no `#`, so
/// the prefix matches exactly that name's entries.
pub fn display_name_prefix(display_name: &str) -> String {
    format!("{}#", digest(fold_user_name(display_name).as_str()))
}

/// The look-up entry that lists group `group_id` under its displayName.
pub fn display_name_entry(tenant: &TenantId, display_name: &str, group_id: &str) -> Key {
    Key::new(
        Partition::DisplayNames,
        tenant,
        format!("{}{group_id}", display_name_prefix(display_name)),
    )
}

/// The bookmark of the page of `listed` (users or groups) that starts at `start_index`.
pub fn bookmark(tenant: &TenantId, listed: Partition, start_index: usize) -> Key {
    Key::new(
        Partition::Bookmarks,
        tenant,
        format!("{}#{start_index}", listed.tag()),
    )
}

/// The partition of one group's members (group -> member items).
pub fn members_pk(tenant: &TenantId, group_id: &str) -> String {
    format!("T#{tenant}#MEMBER#{group_id}")
}

/// The partition of the groups one resource is a direct member of (member -> group items).
pub fn member_of_pk(tenant: &TenantId, member_id: &str) -> String {
    format!("T#{tenant}#MEMBEROF#{member_id}")
}

/// The group -> member item of one membership.
pub fn member(tenant: &TenantId, group_id: &str, member_id: &str) -> Key {
    Key {
        pk: members_pk(tenant, group_id),
        sk: member_id.to_owned(),
    }
}

/// The member -> group item of one membership.
pub fn member_of(tenant: &TenantId, member_id: &str, group_id: &str) -> Key {
    Key {
        pk: member_of_pk(tenant, member_id),
        sk: group_id.to_owned(),
    }
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
            external_id_entry(&acme, "x", "u1"),
            email_entry(&acme, &Folded::of("b@x"), "u1"),
            counter_shard(&acme, 7),
            settings(&acme),
            deletion(&acme, "2024-01-01T00:00:00Z", "u1"),
            group(&acme, "g1"),
            display_name_entry(&acme, "Admins", "g1"),
            member(&acme, "g1", "u1"),
            member_of(&acme, "u1", "g1"),
            bookmark(&acme, Partition::Users, 201),
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
    fn user_name_guards_fold_case_and_external_id_entries_do_not() {
        let acme = t("acme");
        assert_eq!(
            user_name_guard(&acme, "BJensen@Example.com"),
            user_name_guard(&acme, "bjensen@example.com")
        );
        assert_ne!(
            external_id_entry(&acme, "ABC", "u1"),
            external_id_entry(&acme, "abc", "u1")
        );
        // Several users share one externalId: one entry each, under one prefix.
        let (a, b) = (
            external_id_entry(&acme, "x", "u1"),
            external_id_entry(&acme, "x", "u2"),
        );
        assert_ne!(a, b);
        assert!(
            a.sk.starts_with(&external_id_prefix("x"))
                && b.sk.starts_with(&external_id_prefix("x"))
        );
        assert!(!external_id_entry(&acme, "y", "u1")
            .sk
            .starts_with(&external_id_prefix("x")));
        assert_ne!(
            user_name_guard(&acme, "bob"),
            user_name_guard(&t("other"), "bob")
        );
        assert_eq!(user_name_guard(&acme, &"x".repeat(100_000)).sk.len(), 43);
    }

    #[test]
    fn display_name_entries_fold_case_and_share_one_prefix_per_name() {
        let acme = t("acme");
        let a = display_name_entry(&acme, "Admins", "g1");
        let b = display_name_entry(&acme, "ADMINS", "g2");
        let prefix = display_name_prefix("admins");
        assert!(a.sk.starts_with(&prefix) && b.sk.starts_with(&prefix));
        assert_eq!(a.pk, b.pk);
        assert!(!display_name_entry(&acme, "Admins2", "g1")
            .sk
            .starts_with(&prefix));
        assert_eq!(a.sk, format!("{prefix}g1"));
    }

    #[test]
    fn email_entries_share_one_prefix_per_folded_address() {
        let acme = t("acme");
        let a = email_entry(&acme, &Folded::of("B@Example.com"), "u1");
        let b = email_entry(&acme, &Folded::of("b@example.com"), "u2");
        let prefix = email_prefix(&Folded::of("b@EXAMPLE.com"));
        assert!(a.sk.starts_with(&prefix) && b.sk.starts_with(&prefix));
        assert_eq!(a.pk, "T#acme#EMAIL");
        assert_eq!(a.sk, format!("{prefix}u1"));
        assert!(!email_entry(&acme, &Folded::of("b@example.co"), "u1")
            .sk
            .starts_with(&prefix));
        assert_ne!(a.pk, email_entry(&t("other"), &Folded::of("b@x"), "u1").pk);
    }

    #[test]
    fn counter_shards_share_one_prefix_and_stay_in_range() {
        let acme = t("acme");
        assert_eq!(counter_shard(&acme, 0).sk, "COUNTS#0");
        assert_eq!(counter_shard(&acme, COUNTER_SHARDS + 3).sk, "COUNTS#3");
        assert_eq!(counter_shard(&acme, 9).pk, Partition::Meta.pk(&acme));
        assert!(counter_shard(&acme, 255).sk.starts_with(COUNTER_SK_PREFIX));
    }

    #[test]
    fn membership_partitions_are_per_group_and_per_member() {
        let acme = t("acme");
        assert_eq!(member(&acme, "g1", "u1").pk, "T#acme#MEMBER#g1");
        assert_eq!(member(&acme, "g1", "u1").sk, "u1");
        assert_eq!(member_of(&acme, "u1", "g1").pk, "T#acme#MEMBEROF#u1");
        assert_eq!(member_of(&acme, "u1", "g1").sk, "g1");
        assert_ne!(members_pk(&acme, "g1"), members_pk(&t("other"), "g1"));
    }
}
