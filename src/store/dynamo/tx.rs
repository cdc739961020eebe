//! The write transactions: which items each write touches, on which conditions.
//!
//! Every write of a user is one `TransactWriteItems` (never check-then-act): the user item, the
//! guard items of its unique values and the tenant's counter commit together or not at all. Each
//! item is recorded with its role ([`Role`] for users; group writes have their own, see
//! `group_tx.rs`) so that a cancellation can be read item by item.

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};

use super::errors::Role;
use super::item::{self, GuardKind, Item, USERS, USER_ID, VERSION};
use super::keys::{self, Key, PK};
use crate::audit::{self, AuditRecord};
use crate::scim::resource::{fold_user_name, Resource};
use crate::store::{Deletion, StoreError, UniqueAttr};
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
    pub fn at_version(version: u64) -> Self {
        Condition {
            expression: "#version = :version",
            names: &[("#version", VERSION)],
            values: vec![(":version", AttributeValue::N(version.to_string()))],
        }
    }

    /// The guard belongs to this user.
    fn owned_by(user_id: &str) -> Self {
        Condition {
            expression: "#user_id = :user_id",
            names: &[("#user_id", USER_ID)],
            values: vec![(":user_id", AttributeValue::S(user_id.to_owned()))],
        }
    }

    /// The guard is free, or already this user's (so a repeated move is harmless).
    fn free_or_owned_by(user_id: &str) -> Self {
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
    /// needs no condition).
    pub fn audit(
        &mut self,
        role: R,
        tenant: &TenantId,
        record: &AuditRecord,
    ) -> Result<(), StoreError> {
        let expires_at = audit::expiry_epoch_seconds();
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

    /// Add `delta` to the counter attribute `attr` of the tenant's counter item (`ADD` creates
    /// the counter on first use).
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
        self.update(role, &keys::counter(tenant), u, None, false)
    }
}

impl Tx<Role> {
    fn put_user(&mut self, role: Role, item: Item, c: Condition) -> Result<(), StoreError> {
        let return_old = role == Role::StoredUser;
        self.put(role, item, Some(c), return_old)
    }

    fn delete_user_item(&mut self, role: Role, key: &Key, c: Condition) -> Result<(), StoreError> {
        let return_old = role == Role::StoredUser;
        self.delete(role, key, Some(c), return_old)
    }

    fn count_users(&mut self, tenant: &TenantId, delta: i64) -> Result<(), StoreError> {
        self.count(Role::Counter, tenant, USERS, delta)
    }

    fn claim(
        &mut self,
        attr: UniqueAttr,
        key: &Key,
        user_id: &str,
        c: Condition,
    ) -> Result<(), StoreError> {
        let kind = match attr {
            UniqueAttr::UserName => GuardKind::UserName,
            UniqueAttr::ExternalId => GuardKind::ExternalId,
        };
        self.put_user(
            Role::NewGuard(attr),
            item::guard_item(kind, key, user_id)?,
            c,
        )
    }
}

/// Create: the user and its guards must not exist; the count goes up.
pub fn create(table: &str, tenant: &TenantId, user: &Resource) -> Result<Tx, StoreError> {
    let mut tx: Tx = Tx::new(table);
    tx.put_user(
        Role::NewUser,
        item::user_item(tenant, user)?,
        Condition::absent(),
    )?;
    let name = keys::user_name_guard(tenant, user.user_name());
    tx.claim(UniqueAttr::UserName, &name, &user.id, Condition::absent())?;
    if let Some(ext) = user.external_id() {
        let key = keys::external_id_guard(tenant, ext);
        tx.claim(UniqueAttr::ExternalId, &key, &user.id, Condition::absent())?;
    }
    tx.count_users(tenant, 1)?;
    let record = AuditRecord::new(
        tenant.as_str(),
        "User",
        &user.id,
        None,
        Some(&user.attributes),
    );
    tx.audit(Role::AuditRecord, tenant, &record)?;
    Ok(tx)
}

/// Update: the user must still be at `current.version`; guards move only when the (folded)
/// userName or the externalId changed.
pub fn update(
    table: &str,
    tenant: &TenantId,
    current: &Resource,
    next: &Resource,
) -> Result<Tx, StoreError> {
    let mut tx: Tx = Tx::new(table);
    let id = &current.id;
    tx.put_user(
        Role::StoredUser,
        item::user_item(tenant, next)?,
        Condition::at_version(current.version),
    )?;
    if fold_user_name(current.user_name()) != fold_user_name(next.user_name()) {
        let new = keys::user_name_guard(tenant, next.user_name());
        tx.claim(
            UniqueAttr::UserName,
            &new,
            id,
            Condition::free_or_owned_by(id),
        )?;
        let old = keys::user_name_guard(tenant, current.user_name());
        tx.delete_user_item(Role::OldGuard, &old, Condition::owned_by(id))?;
    }
    if current.external_id() != next.external_id() {
        if let Some(new) = next.external_id() {
            let key = keys::external_id_guard(tenant, new);
            tx.claim(
                UniqueAttr::ExternalId,
                &key,
                id,
                Condition::free_or_owned_by(id),
            )?;
        }
        if let Some(old) = current.external_id() {
            let key = keys::external_id_guard(tenant, old);
            tx.delete_user_item(Role::OldGuard, &key, Condition::owned_by(id))?;
        }
    }
    let record = AuditRecord::new(
        tenant.as_str(),
        "User",
        id,
        Some(&current.attributes),
        Some(&next.attributes),
    );
    tx.audit(Role::AuditRecord, tenant, &record)?;
    Ok(tx)
}

/// Delete: the user must still be at `current.version`; its guards go, the count goes down and a
/// deletion record (expiring at `expires_at`, epoch seconds) is written.
pub fn delete(
    table: &str,
    tenant: &TenantId,
    current: &Resource,
    deletion: &Deletion,
    expires_at: i64,
) -> Result<Tx, StoreError> {
    let mut tx: Tx = Tx::new(table);
    let id = &current.id;
    tx.delete_user_item(
        Role::StoredUser,
        &keys::user(tenant, id),
        Condition::at_version(current.version),
    )?;
    let name = keys::user_name_guard(tenant, current.user_name());
    tx.delete_user_item(Role::OldGuard, &name, Condition::owned_by(id))?;
    if let Some(ext) = current.external_id() {
        let key = keys::external_id_guard(tenant, ext);
        tx.delete_user_item(Role::OldGuard, &key, Condition::owned_by(id))?;
    }
    tx.count_users(tenant, -1)?;
    let record = item::deletion_item(tenant, current, deletion, expires_at)?;
    tx.put_user(Role::DeletionRecord, record, Condition::absent())?;
    let record = AuditRecord::new(tenant.as_str(), "User", id, Some(&current.attributes), None);
    tx.audit(Role::AuditRecord, tenant, &record)?;
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(name: &str, ext: Option<&str>, version: u64) -> Resource {
        let mut attrs = json!({"userName": name});
        if let Some(e) = ext {
            attrs["externalId"] = json!(e);
        }
        Resource {
            id: "u1".into(),
            version,
            created: "c".into(),
            last_modified: "m".into(),
            attributes: attrs.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn each_write_touches_exactly_the_items_it_must() {
        let t = TenantId::parse("acme").unwrap();
        let a = user("Bob", Some("x"), 1);
        let tx = create("tbl", &t, &a).unwrap();
        use Role::*;
        let un = NewGuard(UniqueAttr::UserName);
        let ex = NewGuard(UniqueAttr::ExternalId);
        assert_eq!(tx.roles, vec![NewUser, un, ex, Counter, AuditRecord]);

        // Only the case changed: same folded guard, nothing moves.
        let b = user("BOB", Some("x"), 2);
        assert_eq!(
            update("tbl", &t, &a, &b).unwrap().roles,
            vec![StoredUser, AuditRecord]
        );
        let c = user("carol", None, 2);
        assert_eq!(
            update("tbl", &t, &a, &c).unwrap().roles,
            vec![StoredUser, un, OldGuard, OldGuard, AuditRecord]
        );
        let d = user("Bob", Some("y"), 2);
        assert_eq!(
            update("tbl", &t, &a, &d).unwrap().roles,
            vec![StoredUser, ex, OldGuard, AuditRecord]
        );
        let del = Deletion {
            request_id: "r".into(),
            deleted_at: "2024-01-01T00:00:00Z".into(),
        };
        assert_eq!(
            delete("tbl", &t, &a, &del, 1).unwrap().roles,
            vec![
                StoredUser,
                OldGuard,
                OldGuard,
                Counter,
                DeletionRecord,
                AuditRecord
            ]
        );
        assert_eq!(tx.items.len(), tx.roles.len());
    }
}
