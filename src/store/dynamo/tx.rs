//! The transaction builder shared by every write: items with exact condition expressions, each
//! recorded with its role (`Role` for users, `Part` for groups) so that a cancellation can be
//! read item by item. The user transactions are in `user_tx.rs`, the group ones in
//! `group_tx.rs`.

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};

use super::errors::Role;
use super::item::{self, Item, USER_ID, VERSION};
use super::keys::{self, Key, PK};
use crate::audit::{self, AuditRecord};
use crate::scim::resource::Version;
use crate::store::StoreError;
use crate::tenant::TenantId;

/// A condition expression with exactly the names and values it uses (real DynamoDB rejects
/// unused ones, even though moto accepts them).
pub struct Condition {
    expression: &'static str,
    names: &'static [(&'static str, &'static str)],
    values: Vec<(&'static str, AttributeValue)>,
}

impl Condition {
    /// The item does not exist yet.
    pub fn absent() -> Self {
        Condition {
            expression: "attribute_not_exists(#pk)",
            names: &[("#pk", PK)],
            values: Vec::new(),
        }
    }

    /// The item exists.
    pub fn present() -> Self {
        Condition {
            expression: "attribute_exists(#pk)",
            names: &[("#pk", PK)],
            values: Vec::new(),
        }
    }

    /// The stored item is still at the version the caller read (fails too if it is gone).
    pub fn at_version(version: Version) -> Self {
        Condition {
            expression: "#version = :version",
            names: &[("#version", VERSION)],
            values: vec![(":version", AttributeValue::N(version.to_string()))],
        }
    }

    /// A seats item has a free seat (`store::policies`): false when the item is missing, as
    /// a comparison with a missing attribute is.
    pub(super) fn seat_free() -> Self {
        Condition {
            expression: "#active < #limit",
            names: &[("#active", "active"), ("#limit", "limit")],
            values: Vec::new(),
        }
    }

    /// The guard belongs to this user.
    pub(super) fn owned_by(user_id: &str) -> Self {
        Condition {
            expression: "#user_id = :user_id",
            names: &[("#user_id", USER_ID)],
            values: vec![(":user_id", AttributeValue::S(user_id.to_owned()))],
        }
    }

    /// The guard is free, or already this user's (so a repeated move is harmless).
    pub(super) fn free_or_owned_by(user_id: &str) -> Self {
        Condition {
            expression: "attribute_not_exists(#pk) OR #user_id = :user_id",
            names: &[("#pk", PK), ("#user_id", USER_ID)],
            values: vec![(":user_id", AttributeValue::S(user_id.to_owned()))],
        }
    }
}

/// Add an optional condition (its expression, names and values) to a write builder and, with
/// `return_old`, ask for the stored item when it fails. The Put, Delete, Update and
/// ConditionCheck builders share these method names but no trait, hence a macro.
macro_rules! conditioned {
    ($builder:expr, $c:expr, $return_old:expr) => {{
        let mut b = $builder;
        let c: Option<Condition> = $c;
        if let Some(c) = c {
            b = b.condition_expression(c.expression);
            for (k, v) in c.names {
                b = b.expression_attribute_names(*k, *v);
            }
            for (k, v) in c.values {
                b = b.expression_attribute_values(k, v);
            }
        }
        if $return_old {
            b = b.return_values_on_condition_check_failure(
                ReturnValuesOnConditionCheckFailure::AllOld,
            );
        }
        b
    }};
}

pub fn build_failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("cannot build a transaction item: {e}"))
}

/// An update expression with exactly the names and values it uses.
pub struct UpdateExpr {
    pub expression: String,
    pub names: Vec<(&'static str, &'static str)>,
    pub values: Vec<(&'static str, AttributeValue)>,
}

/// The items of one transaction and what each is for (`R`: the caller's vocabulary of roles,
/// read back item by item when DynamoDB cancels the transaction).
pub struct Tx<R = Role> {
    table: String,
    pub items: Vec<TransactWriteItem>,
    pub roles: Vec<R>,
}

impl<R> Tx<R> {
    /// Record the change in the audit trail, in this same transaction (its key is unique, so it
    /// needs no condition), kept `retention_days` before DynamoDB's TTL removes it.
    pub fn audit(
        &mut self,
        role: R,
        tenant: &TenantId,
        record: &AuditRecord,
        retention_days: u32,
    ) -> Result<(), StoreError> {
        let expires_at = audit::expiry_epoch_seconds(retention_days);
        self.put(
            role,
            item::audit_item(tenant, record, expires_at)?,
            None,
            false,
        )
    }

    pub fn new(table: &str) -> Self {
        Tx {
            table: table.to_owned(),
            items: Vec::with_capacity(6),
            roles: Vec::with_capacity(6),
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Put `item`. With `c`, on that condition; `return_old` asks DynamoDB to return the stored
    /// item when the condition fails (to tell a changed item from a missing one).
    pub fn put(
        &mut self,
        role: R,
        item: Item,
        c: Option<Condition>,
        return_old: bool,
    ) -> Result<(), StoreError> {
        let b = Put::builder().table_name(&self.table).set_item(Some(item));
        let b = conditioned!(b, c, return_old);
        let put = b.build().map_err(build_failed)?;
        self.items
            .push(TransactWriteItem::builder().put(put).build());
        self.roles.push(role);
        Ok(())
    }

    pub fn delete(
        &mut self,
        role: R,
        key: &Key,
        c: Option<Condition>,
        return_old: bool,
    ) -> Result<(), StoreError> {
        let b = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key.to_attrs()));
        let b = conditioned!(b, c, return_old);
        let delete = b.build().map_err(build_failed)?;
        self.items
            .push(TransactWriteItem::builder().delete(delete).build());
        self.roles.push(role);
        Ok(())
    }

    /// Update `key` by `u` on condition `c`. The names of `c` and `u` must not clash with
    /// different meanings (they share one map).
    pub fn update(
        &mut self,
        role: R,
        key: &Key,
        u: UpdateExpr,
        c: Option<Condition>,
        return_old: bool,
    ) -> Result<(), StoreError> {
        let mut b = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key.to_attrs()))
            .update_expression(u.expression);
        for (k, v) in u.names {
            b = b.expression_attribute_names(k, v);
        }
        for (k, v) in u.values {
            b = b.expression_attribute_values(k, v);
        }
        let b = conditioned!(b, c, return_old);
        let update = b.build().map_err(build_failed)?;
        self.items
            .push(TransactWriteItem::builder().update(update).build());
        self.roles.push(role);
        Ok(())
    }

    /// An update built elsewhere (one whose names are not static: `group_refs.rs`).
    pub fn push_update(&mut self, role: R, update: Update) {
        self.items
            .push(TransactWriteItem::builder().update(update).build());
        self.roles.push(role);
    }

    /// Require `c` of `key` without writing it.
    pub fn check(&mut self, role: R, key: &Key, c: Condition) -> Result<(), StoreError> {
        let b = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key.to_attrs()));
        let b = conditioned!(b, Some(c), false);
        let check = b.build().map_err(build_failed)?;
        self.items
            .push(TransactWriteItem::builder().condition_check(check).build());
        self.roles.push(role);
        Ok(())
    }

    /// Add `delta` to the counter attribute `attr` of one of the tenant's counter shards, chosen
    /// at random (`ADD` creates the shard on first use). A shard may go below zero (a delete
    /// counted on another shard than its create): only the sum of the shards is a count.
    pub fn count(
        &mut self,
        role: R,
        tenant: &TenantId,
        attr: &'static str,
        delta: i64,
    ) -> Result<(), StoreError> {
        let u = UpdateExpr {
            expression: "ADD #n :delta".to_owned(),
            names: vec![("#n", attr)],
            values: vec![(":delta", AttributeValue::N(delta.to_string()))],
        };
        let shard = getrandom::u32().unwrap_or(0);
        self.update(role, &keys::counter_shard(tenant, shard), u, None, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `ttl` of the audit item a transaction carries.
    fn audit_ttl(retention_days: u32) -> i64 {
        let tenant = TenantId::parse("acme").unwrap();
        let record = AuditRecord::new(
            &tenant,
            &crate::audit::Actor::system(),
            crate::scim::schema::ResourceKind::Group,
            "g1",
            crate::audit::Action::MembershipChange,
            vec!["members".into()],
        );
        let mut tx: Tx = Tx::new("tbl");
        tx.audit(Role::AuditRecord, &tenant, &record, retention_days)
            .unwrap();
        let put = tx.items[0].put().unwrap();
        match put.item().get("ttl") {
            Some(AttributeValue::N(n)) => n.parse().unwrap(),
            other => panic!("no ttl: {other:?}"),
        }
    }

    #[test]
    fn the_audit_record_expires_after_the_retention_it_is_given() {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        for days in [1, 30, 400, 3650] {
            let ttl = audit_ttl(days);
            let expected = now + i64::from(days) * 86_400;
            assert!((expected..expected + 60).contains(&ttl), "{days}: {ttl}");
        }
    }
}
