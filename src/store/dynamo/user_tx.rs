//! The user write transactions: which items each write of a user touches, on which conditions.
//!
//! Every write of a user is one `TransactWriteItems` (never check-then-act): the user item, the
//! userName guard, its externalId and email look-up entries and the tenant's counter commit
//! together or not at all. Each
//! item is recorded with its [`Role`] so that a cancellation can be read item by item. The
//! transaction builder itself is in `tx.rs`; group writes are in `group_tx.rs`.

use super::errors::Role;
use super::group_tx::{self, Leave};
use super::item::{self, Item, USERS};
use super::keys::{self, Key};
use super::tx::{Condition, Tx};
use super::user_item::{self, GuardKind};
use crate::audit::AuditRecord;
use crate::scim::emails::indexed_emails;
use crate::scim::resource::{fold_user_name, Folded, Resource};
use crate::store::{Deletion, StoreError, UniqueAttr};
use crate::tenant::TenantId;

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

    fn claim(&mut self, key: &Key, user_id: &str, c: Condition) -> Result<(), StoreError> {
        self.put_user(
            Role::NewGuard(UniqueAttr::UserName),
            user_item::guard_item(GuardKind::UserName, key, user_id)?,
            c,
        )
    }

    /// List (`true`) or unlist the externalId look-up entry of user `id`: not unique (RFC 7643
    /// §3.1), so written and removed without a condition, like a group's displayName entry.
    fn external_id_entry(
        &mut self,
        tenant: &TenantId,
        ext: &str,
        id: &str,
        list: bool,
    ) -> Result<(), StoreError> {
        let key = keys::external_id_entry(tenant, ext, id);
        self.index_entry(GuardKind::ExternalIdEntry, &key, id, list)
    }

    /// List or unlist the email look-up entries of user `id` for the addresses in `emails`
    /// (folded; not unique, so unconditioned like the externalId entry).
    fn email_entries<'a>(
        &mut self,
        tenant: &TenantId,
        emails: impl IntoIterator<Item = &'a Folded>,
        id: &str,
        list: bool,
    ) -> Result<(), StoreError> {
        for email in emails {
            let key = keys::email_entry(tenant, email, id);
            self.index_entry(GuardKind::EmailEntry, &key, id, list)?;
        }
        Ok(())
    }

    fn index_entry(
        &mut self,
        kind: GuardKind,
        key: &Key,
        id: &str,
        list: bool,
    ) -> Result<(), StoreError> {
        if list {
            let entry = user_item::guard_item(kind, key, id)?;
            self.put(Role::IndexEntry, entry, None, false)
        } else {
            self.delete(Role::IndexEntry, key, None, false)
        }
    }
}

/// Create: the user and its userName guard must not exist; its externalId entry is listed; the
/// count goes up. (`audit_days`: how long
/// the audit record is kept, here and below.)
pub fn create(
    table: &str,
    tenant: &TenantId,
    user: &Resource,
    audit: &AuditRecord,
    audit_days: u32,
) -> Result<Tx, StoreError> {
    let mut tx: Tx = Tx::new(table);
    tx.put_user(
        Role::NewUser,
        user_item::user_item(tenant, user)?,
        Condition::absent(),
    )?;
    let name = keys::user_name_guard(tenant, user.user_name());
    tx.claim(&name, &user.id, Condition::absent())?;
    if let Some(ext) = user.external_id() {
        tx.external_id_entry(tenant, ext, &user.id, true)?;
    }
    tx.email_entries(tenant, &indexed_emails(&user.attributes), &user.id, true)?;
    tx.count_users(tenant, 1)?;
    tx.audit(Role::AuditRecord, tenant, audit, audit_days)?;
    Ok(tx)
}

/// Update: the user must still be at `current.version`; the guard moves only when the (folded)
/// userName changed, the externalId entry only when the externalId did.
pub fn update(
    table: &str,
    tenant: &TenantId,
    current: &Resource,
    next: &Resource,
    audit: &AuditRecord,
    audit_days: u32,
) -> Result<Tx, StoreError> {
    let mut tx: Tx = Tx::new(table);
    let id = &current.id;
    // An update, not a put: the item's group references (`group_refs.rs`) stay as they are.
    tx.update(
        Role::StoredUser,
        &keys::user(tenant, id),
        user_item::attributes_update(next)?,
        Some(Condition::at_version(current.version)),
        true,
    )?;
    if fold_user_name(current.user_name()) != fold_user_name(next.user_name()) {
        let new = keys::user_name_guard(tenant, next.user_name());
        tx.claim(&new, id, Condition::free_or_owned_by(id))?;
        let old = keys::user_name_guard(tenant, current.user_name());
        tx.delete_user_item(Role::OldGuard, &old, Condition::owned_by(id))?;
    }
    if current.external_id() != next.external_id() {
        if let Some(new) = next.external_id() {
            tx.external_id_entry(tenant, new, id, true)?;
        }
        if let Some(old) = current.external_id() {
            tx.external_id_entry(tenant, old, id, false)?;
        }
    }
    // Only the addresses that changed move (at most 2 x MAX_EMAILS entries).
    let (old, new) = (
        indexed_emails(&current.attributes),
        indexed_emails(&next.attributes),
    );
    tx.email_entries(tenant, new.difference(&old), id, true)?;
    tx.email_entries(tenant, old.difference(&new), id, false)?;
    tx.audit(Role::AuditRecord, tenant, audit, audit_days)?;
    Ok(tx)
}

/// Delete: the user must still be at `current.version`; its guards go, the count goes down and a
/// deletion record (expiring at `expires_at`, epoch seconds) is written. `leave`: the groups
/// it leaves in this same transaction (`group_tx::leave_items`; the caller knows them from its
/// read at that version, and keeps to [`leaves_that_fit`]).
pub fn delete(
    table: &str,
    tenant: &TenantId,
    current: &Resource,
    leave: &[Leave],
    audit: &AuditRecord,
    expires_at: i64,
    audit_days: u32,
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
        tx.external_id_entry(tenant, ext, id, false)?;
    }
    tx.email_entries(tenant, &indexed_emails(&current.attributes), id, false)?;
    tx.count_users(tenant, -1)?;
    let record = item::deletion_item(tenant, current, &Deletion::of(audit), expires_at)?;
    tx.put_user(Role::DeletionRecord, record, Condition::absent())?;
    tx.audit(Role::AuditRecord, tenant, audit, audit_days)?;
    group_tx::leave_items(&mut tx, tenant, id, leave, &audit.at, Role::Leave)?;
    Ok(tx)
}

/// How many groups the delete of `current` leaves in its own transaction: 100 items, less the
/// delete's own (user, guard, externalId entry, counter, deletion record, audit record, seats:
/// 7, and one per email entry, at most 20), 3 per group: 24 to 31. A user in more groups leaves
/// the rest in further transactions right after.
pub fn leaves_that_fit(current: &Resource) -> usize {
    let own = 7 + indexed_emails(&current.attributes).len();
    group_tx::MAX_TX_ITEMS.saturating_sub(own) / 3
}

#[cfg(test)]
mod tests {
    use super::super::errors::LeavePart;
    use super::*;
    use serde_json::json;

    fn user(name: &str, ext: Option<&str>, version: u64) -> Resource {
        let mut attrs = json!({"userName": name});
        if let Some(e) = ext {
            attrs["externalId"] = json!(e);
        }
        Resource {
            id: "u1".into(),
            version: crate::scim::resource::Version::new(version),
            created: "c".into(),
            last_modified: "m".into(),
            attributes: attrs.as_object().cloned().unwrap_or_default(),
        }
    }

    fn record(t: &TenantId) -> crate::audit::AuditRecord {
        crate::audit::AuditRecord::new(
            t,
            &crate::audit::Actor::system(),
            crate::scim::schema::ResourceKind::User,
            "u1",
            crate::audit::Action::Patch,
            Vec::new(),
        )
    }

    #[test]
    fn each_write_touches_exactly_the_items_it_must() {
        let t = TenantId::parse("acme").unwrap();
        let a = user("Bob", Some("x"), 1);
        let rec = record(&t);
        let tx = create("tbl", &t, &a, &rec, 400).unwrap();
        use Role::*;
        let un = NewGuard(UniqueAttr::UserName);
        let ex = IndexEntry;
        assert_eq!(tx.roles, vec![NewUser, un, ex, Counter, AuditRecord]);

        // Only the case changed: same folded guard, nothing moves.
        let b = user("BOB", Some("x"), 2);
        assert_eq!(
            update("tbl", &t, &a, &b, &rec, 400).unwrap().roles,
            vec![StoredUser, AuditRecord]
        );
        let c = user("carol", None, 2);
        assert_eq!(
            update("tbl", &t, &a, &c, &rec, 400).unwrap().roles,
            vec![StoredUser, un, OldGuard, IndexEntry, AuditRecord]
        );
        let d = user("Bob", Some("y"), 2);
        assert_eq!(
            update("tbl", &t, &a, &d, &rec, 400).unwrap().roles,
            vec![StoredUser, ex, IndexEntry, AuditRecord]
        );
        assert_eq!(
            delete("tbl", &t, &a, &[], &rec, 1, 400).unwrap().roles,
            vec![
                StoredUser,
                OldGuard,
                IndexEntry,
                Counter,
                DeletionRecord,
                AuditRecord
            ]
        );
        assert_eq!(tx.items.len(), tx.roles.len());
    }

    fn with_emails(mut u: Resource, emails: &[String]) -> Resource {
        let list: Vec<_> = emails.iter().map(|e| json!({"value": e})).collect();
        u.attributes.insert("emails".into(), json!(list));
        u
    }

    #[test]
    fn email_entries_move_with_the_user_and_fit_one_transaction() {
        use crate::scim::emails::MAX_EMAILS;
        let t = TenantId::parse("acme").unwrap();
        let rec = record(&t);
        let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = with_emails(user("Bob", None, 1), &e(&["a@x", "B@x", "b@X"]));
        use Role::*;
        let un = NewGuard(UniqueAttr::UserName);
        // Two distinct folded addresses: two entries.
        assert_eq!(
            create("tbl", &t, &a, &rec, 400).unwrap().roles,
            vec![NewUser, un, IndexEntry, IndexEntry, Counter, AuditRecord]
        );
        // Case only: nothing moves. One address replaced: one entry in, one out.
        let b = with_emails(user("Bob", None, 2), &e(&["A@X", "b@x"]));
        assert_eq!(
            update("tbl", &t, &a, &b, &rec, 400).unwrap().roles,
            vec![StoredUser, AuditRecord]
        );
        let c = with_emails(user("Bob", None, 2), &e(&["c@x", "b@x"]));
        let tx = update("tbl", &t, &a, &c, &rec, 400).unwrap();
        assert_eq!(
            tx.roles,
            vec![StoredUser, IndexEntry, IndexEntry, AuditRecord]
        );
        assert!(tx.items[1].put.is_some() && tx.items[2].delete.is_some());
        assert_eq!(
            delete("tbl", &t, &a, &[], &rec, 1, 400).unwrap().roles,
            vec![
                StoredUser,
                OldGuard,
                IndexEntry,
                IndexEntry,
                Counter,
                DeletionRecord,
                AuditRecord
            ]
        );
        // The worst update: every address replaced, with userName and externalId moving too.
        let old: Vec<String> = (0..MAX_EMAILS).map(|i| format!("old{i}@x")).collect();
        let new: Vec<String> = (0..MAX_EMAILS).map(|i| format!("new{i}@x")).collect();
        let (a, b) = (
            with_emails(user("Bob", Some("x"), 1), &old),
            with_emails(user("Carol", Some("y"), 2), &new),
        );
        let tx = update("tbl", &t, &a, &b, &rec, 400).unwrap();
        assert_eq!(tx.len(), 6 + 2 * MAX_EMAILS);
        assert!(tx.len() <= 100);
        // A user stored before the bound, with more addresses, still fits: only its first
        // MAX_EMAILS are indexed.
        let legacy: Vec<String> = (0..500).map(|i| format!("l{i}@x")).collect();
        let a = with_emails(user("Bob", None, 1), &legacy);
        assert_eq!(
            delete("tbl", &t, &a, &[], &rec, 1, 400).unwrap().len(),
            5 + MAX_EMAILS
        );
    }

    #[test]
    fn a_delete_leaves_as_many_groups_as_fit_its_transaction() {
        use crate::scim::emails::MAX_EMAILS;
        let t = TenantId::parse("acme").unwrap();
        let rec = record(&t);
        let plain = user("Bob", Some("x"), 1);
        let fit = leaves_that_fit(&plain);
        assert_eq!(fit, 31, "7 items of its own, 3 per group");
        let groups: Vec<Leave> = (0..fit).map(|i| Leave::of(&format!("g{i}"))).collect();
        let tx = delete("tbl", &t, &plain, &groups, &rec, 1, 400).unwrap();
        // With the seats item a limited tenant adds, still within DynamoDB's 100.
        assert!(tx.len() < 100, "{}", tx.len());
        assert_eq!(
            tx.roles[tx.len() - 3..],
            [
                Role::Leave(LeavePart::Membership, fit - 1),
                Role::Leave(LeavePart::Reverse, fit - 1),
                Role::Leave(LeavePart::Bump, fit - 1)
            ]
        );
        // Email entries take room: the most addresses leave room for 24 groups.
        let emails: Vec<String> = (0..MAX_EMAILS).map(|i| format!("e{i}@x")).collect();
        let many = with_emails(user("Bob", Some("x"), 1), &emails);
        let fit = leaves_that_fit(&many);
        assert_eq!(fit, 24);
        let groups: Vec<Leave> = (0..fit).map(|i| Leave::of(&format!("g{i}"))).collect();
        assert!(
            delete("tbl", &t, &many, &groups, &rec, 1, 400)
                .unwrap()
                .len()
                < 100
        );
    }
}
