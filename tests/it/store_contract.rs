//! The `UserStore` contract (src/store/mod.rs), run unchanged against the embedded store and
//! against DynamoDB (moto, real SDK, a fresh table per test).

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use common::moto::{dynamo_fixture, DynamoFixture};
use common::requests::{resource, tenant};
use scim_server::scim::resource::{now_rfc3339, Resource};
use scim_server::store::dynamo::keys::Partition;
use scim_server::store::{
    Deletion, MemoryStore, PageRequest, StoreError, UniqueAttr, UserStore, MAX_RESOURCE_BYTES,
};
use scim_server::tenant::TenantId;

/// A store under test, plus a way to look behind it.
struct Fx {
    store: Arc<dyn UserStore>,
    backend: Backend,
}

enum Backend {
    Memory(Arc<MemoryStore>),
    Dynamo(DynamoFixture),
}

async fn memory() -> Fx {
    let m = Arc::new(MemoryStore::new());
    Fx {
        store: m.clone(),
        backend: Backend::Memory(m),
    }
}

async fn dynamo() -> Fx {
    let d = dynamo_fixture().await;
    Fx {
        store: Arc::new(d.store.clone()),
        backend: Backend::Dynamo(d),
    }
}

impl Fx {
    async fn deletions(&self, t: &TenantId) -> Vec<(String, Deletion)> {
        match &self.backend {
            Backend::Memory(m) => m.deletions(t),
            Backend::Dynamo(d) => d.store.deletions(t).await.unwrap(),
        }
    }

    /// Everything the tenant holds that a store method can show, and on DynamoDB every item of
    /// every partition of the tenant (guards and counter included).
    async fn snapshot(&self, t: &TenantId) -> Vec<String> {
        let mut out: Vec<String> = all_users(self, t)
            .await
            .into_iter()
            .map(|u| serde_json::to_string(&u).unwrap())
            .collect();
        out.extend(self.deletions(t).await.iter().map(|d| format!("{d:?}")));
        if let Backend::Dynamo(d) = &self.backend {
            for p in Partition::ALL {
                for item in d.store.partition_items(t, p).await.unwrap() {
                    let mut fields: Vec<String> =
                        item.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                    fields.sort();
                    out.push(fields.join(","));
                }
            }
        }
        out
    }
}

fn user(user_name: &str, external_id: Option<&str>) -> Resource {
    let mut attrs = json!({
        "userName": user_name,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": user_name, "primary": true}],
        "active": true,
    });
    if let Some(e) = external_id {
        attrs["externalId"] = json!(e);
    }
    resource(attrs)
}

/// `current` with `changes` merged into its attributes (null removes), at the next version.
fn changed(current: &Resource, changes: Value) -> Resource {
    let mut next = current.clone();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            next.attributes.remove(k);
        } else {
            next.attributes.insert(k.clone(), v.clone());
        }
    }
    next.version = next.version.next();
    next.last_modified = now_rfc3339();
    next
}

fn deletion(request_id: &str) -> Deletion {
    Deletion {
        request_id: request_id.to_owned(),
        deleted_at: now_rfc3339(),
    }
}

fn page(start_index: usize, count: usize, cursor: Option<String>) -> PageRequest {
    PageRequest {
        start_index,
        count,
        cursor,
    }
}

async fn all_users(fx: &Fx, t: &TenantId) -> Vec<Resource> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let p = fx.store.list_users(t, &page(1, 50, cursor)).await.unwrap();
        out.extend(p.items);
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

/// Every user with this externalId (not unique: RFC 7643 §3.1).
async fn by_ext(s: &Arc<dyn UserStore>, t: &TenantId, external_id: &str) -> Vec<Resource> {
    s.find_users_by_external_id(t, external_id, 100)
        .await
        .unwrap()
}

async fn total(fx: &Fx, t: &TenantId) -> usize {
    fx.store
        .list_users(t, &page(1, 0, None))
        .await
        .unwrap()
        .total_results
}

async fn create_get_and_find(fx: Fx) {
    let s = &fx.store;
    let t = tenant("acme");
    let u = user("BJensen@Example.com", Some("Ext-1"));
    s.create_user(&t, &u, &common::sys_audit()).await.unwrap();

    assert_eq!(s.get_user(&t, &u.id).await.unwrap(), Some(u.clone()));
    for name in [
        "BJensen@Example.com",
        "bjensen@example.com",
        "BJENSEN@EXAMPLE.COM",
    ] {
        let found = s.find_user_by_user_name(&t, name).await.unwrap();
        assert_eq!(found.as_ref(), Some(&u), "{name}");
    }
    assert_eq!(by_ext(s, &t, "Ext-1").await, vec![u.clone()]);
    // externalId is caseExact (RFC 7643 §3.1).
    assert!(by_ext(s, &t, "ext-1").await.is_empty());
    assert_eq!(s.find_user_by_user_name(&t, "nobody").await.unwrap(), None);
    let long = "x".repeat(5_000);
    for id in ["", "no-such-id", long.as_str(), "a\u{0}b", "T#acme#USER"] {
        assert_eq!(s.get_user(&t, id).await.unwrap(), None, "{id:?}");
    }
    assert_eq!(s.find_user_by_user_name(&t, &long).await.unwrap(), None);
    assert_eq!(total(&fx, &t).await, 1);
}

async fn user_name_is_unique_and_external_id_is_not(fx: Fx) {
    let s = &fx.store;
    let t = tenant("acme");
    let alice = user("alice@example.com", Some("e-1"));
    s.create_user(&t, &alice, &common::sys_audit())
        .await
        .unwrap();

    let same_name = user("ALICE@example.com", Some("e-2"));
    assert_eq!(
        s.create_user(&t, &same_name, &common::sys_audit()).await,
        Err(StoreError::Uniqueness(UniqueAttr::UserName))
    );
    // IdP shapes row 25: several users may share an externalId; a look-up returns each, in id
    // order, and `limit` bounds it.
    let same_ext = user("alice2@example.com", Some("e-1"));
    s.create_user(&t, &same_ext, &common::sys_audit())
        .await
        .unwrap();
    let third = user("alice3@example.com", Some("e-1"));
    s.create_user(&t, &third, &common::sys_audit())
        .await
        .unwrap();
    let mut sharing = vec![alice.clone(), same_ext.clone(), third.clone()];
    sharing.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(by_ext(s, &t, "e-1").await, sharing);
    assert_eq!(
        s.find_users_by_external_id(&t, "e-1", 2).await.unwrap(),
        sharing[..2].to_vec()
    );
    assert!(s
        .find_users_by_external_id(&t, "e-1", 0)
        .await
        .unwrap()
        .is_empty());
    // Both userName and a shared externalId: userName is reported.
    let both = user("Alice@Example.com", Some("e-1"));
    assert_eq!(
        s.create_user(&t, &both, &common::sys_audit()).await,
        Err(StoreError::Uniqueness(UniqueAttr::UserName))
    );
    // externalId compares case-sensitively; users without externalId are not listed.
    let carol = user("carol@example.com", Some("E-1"));
    s.create_user(&t, &carol, &common::sys_audit())
        .await
        .unwrap();
    assert_eq!(by_ext(s, &t, "E-1").await, vec![carol]);
    s.create_user(&t, &user("dave@example.com", None), &common::sys_audit())
        .await
        .unwrap();
    s.create_user(&t, &user("erin@example.com", None), &common::sys_audit())
        .await
        .unwrap();
    assert_eq!(total(&fx, &t).await, 6);
    // The refused creates claimed nothing.
    assert_eq!(
        s.find_user_by_user_name(&t, "alice2@example.com")
            .await
            .unwrap(),
        Some(same_ext.clone())
    );
    assert!(by_ext(s, &t, "e-2").await.is_empty());
    assert_eq!(by_ext(s, &t, "e-1").await, sharing);

    // Deleting or moving one of them leaves the others listed.
    s.delete_user(&t, &alice, None, &common::deleting(&deletion("r-1")))
        .await
        .unwrap();
    let moved = changed(&third, json!({"externalId": "e-9"}));
    s.update_user(&t, &third, &moved, &common::sys_audit())
        .await
        .unwrap();
    assert_eq!(by_ext(s, &t, "e-1").await, vec![same_ext]);
    assert_eq!(by_ext(s, &t, "e-9").await, vec![moved]);
}

async fn updates_move_guards(fx: Fx) {
    let s = &fx.store;
    let t = tenant("acme");
    let a = user("a@example.com", Some("ext-a"));
    let b = user("b@example.com", Some("ext-b"));
    s.create_user(&t, &a, &common::sys_audit()).await.unwrap();
    s.create_user(&t, &b, &common::sys_audit()).await.unwrap();

    let a2 = changed(
        &a,
        json!({"userName": "a2@example.com", "externalId": "ext-a2"}),
    );
    s.update_user(&t, &a, &a2, &common::sys_audit())
        .await
        .unwrap();
    assert_eq!(s.get_user(&t, &a.id).await.unwrap(), Some(a2.clone()));
    assert_eq!(
        s.find_user_by_user_name(&t, "A2@example.com")
            .await
            .unwrap(),
        Some(a2.clone())
    );
    assert_eq!(by_ext(s, &t, "ext-a2").await, vec![a2.clone()]);
    // The old values are free again...
    assert_eq!(
        s.find_user_by_user_name(&t, "a@example.com").await.unwrap(),
        None
    );
    assert!(by_ext(s, &t, "ext-a").await.is_empty());
    // ...and the new ones are taken.
    assert_eq!(
        s.create_user(&t, &user("A2@EXAMPLE.COM", None), &common::sys_audit())
            .await,
        Err(StoreError::Uniqueness(UniqueAttr::UserName))
    );
    let z = user("z@example.com", Some("ext-a2"));
    s.create_user(&t, &z, &common::sys_audit()).await.unwrap();
    let reuse = user("a@example.com", Some("ext-a"));
    s.create_user(&t, &reuse, &common::sys_audit())
        .await
        .unwrap();

    // Renaming onto a taken value fails and changes nothing.
    let b_clash = changed(&b, json!({"userName": "A2@example.com"}));
    assert_eq!(
        s.update_user(&t, &b, &b_clash, &common::sys_audit()).await,
        Err(StoreError::Uniqueness(UniqueAttr::UserName))
    );
    assert_eq!(s.get_user(&t, &b.id).await.unwrap(), Some(b.clone()));

    // A change of case only keeps the same claim; removing externalId unlists the user.
    let a3 = changed(
        &a2,
        json!({"userName": "A2@Example.COM", "externalId": null}),
    );
    s.update_user(&t, &a2, &a3, &common::sys_audit())
        .await
        .unwrap();
    assert_eq!(
        s.find_user_by_user_name(&t, "a2@example.com")
            .await
            .unwrap(),
        Some(a3.clone())
    );
    assert_eq!(by_ext(s, &t, "ext-a2").await, vec![z.clone()]);
    let b2 = changed(&b, json!({"externalId": "ext-a2"}));
    s.update_user(&t, &b, &b2, &common::sys_audit())
        .await
        .unwrap();
    let mut sharing = vec![z, b2];
    sharing.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(by_ext(s, &t, "ext-a2").await, sharing);
    assert_eq!(total(&fx, &t).await, 4);
}

async fn version_conflicts_and_not_found(fx: Fx) {
    let s = &fx.store;
    let t = tenant("acme");
    let v1 = user("v@example.com", Some("ext-v"));
    s.create_user(&t, &v1, &common::sys_audit()).await.unwrap();
    let v2 = changed(&v1, json!({"title": "two"}));
    s.update_user(&t, &v1, &v2, &common::sys_audit())
        .await
        .unwrap();

    // Writes based on the stale v1 are refused and change nothing.
    let stale = changed(&v1, json!({"title": "stale", "userName": "w@example.com"}));
    assert_eq!(
        s.update_user(&t, &v1, &stale, &common::sys_audit()).await,
        Err(StoreError::VersionConflict)
    );
    assert_eq!(
        s.delete_user(&t, &v1, None, &common::deleting(&deletion("r-stale")))
            .await,
        Err(StoreError::VersionConflict)
    );
    assert_eq!(s.get_user(&t, &v1.id).await.unwrap(), Some(v2.clone()));
    assert_eq!(
        s.find_user_by_user_name(&t, "w@example.com").await.unwrap(),
        None
    );

    s.delete_user(&t, &v2, None, &common::deleting(&deletion("r-1")))
        .await
        .unwrap();
    let v3 = changed(&v2, json!({"title": "three"}));
    assert_eq!(
        s.update_user(&t, &v2, &v3, &common::sys_audit()).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        s.delete_user(&t, &v2, None, &common::deleting(&deletion("r-2")))
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(s.get_user(&t, &v1.id).await.unwrap(), None);
    assert_eq!(fx.deletions(&t).await.len(), 1);
}

async fn delete_frees_guards_counts_down_and_keeps_a_record(fx: Fx) {
    let s = &fx.store;
    let t = tenant("acme");
    let keep = user("keep@example.com", None);
    let gone = user("Gone@Example.com", Some("ext-gone"));
    s.create_user(&t, &keep, &common::sys_audit())
        .await
        .unwrap();
    s.create_user(&t, &gone, &common::sys_audit())
        .await
        .unwrap();
    assert_eq!(total(&fx, &t).await, 2);

    let d = deletion("req-123");
    s.delete_user(&t, &gone, None, &common::deleting(&d))
        .await
        .unwrap();
    assert_eq!(s.get_user(&t, &gone.id).await.unwrap(), None);
    assert_eq!(
        s.find_user_by_user_name(&t, "gone@example.com")
            .await
            .unwrap(),
        None
    );
    assert!(by_ext(s, &t, "ext-gone").await.is_empty());
    assert_eq!(total(&fx, &t).await, 1);
    assert_eq!(fx.deletions(&t).await, vec![(gone.id.clone(), d)]);

    // The userName and externalId can be used again, by a new user.
    let again = user("gone@example.com", Some("ext-gone"));
    s.create_user(&t, &again, &common::sys_audit())
        .await
        .unwrap();
    assert_eq!(total(&fx, &t).await, 2);
    let listed: Vec<String> = all_users(&fx, &t).await.into_iter().map(|u| u.id).collect();
    assert_eq!(
        listed.into_iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([keep.id.clone(), again.id.clone()])
    );
}

async fn list_order_is_stable_across_pages_and_cursors(fx: Fx) {
    let s = &fx.store;
    let t = tenant("acme");
    let mut ids = BTreeSet::new();
    for i in 0..7 {
        let u = user(&format!("user{i}@example.com"), None);
        ids.insert(u.id.clone());
        s.create_user(&t, &u, &common::sys_audit()).await.unwrap();
    }

    // Index paging (RFC 7644 §3.4.2.4).
    let mut by_index = Vec::new();
    for start in [1, 4, 7] {
        let p = s.list_users(&t, &page(start, 3, None)).await.unwrap();
        assert_eq!(p.total_results, 7);
        by_index.extend(p.items.into_iter().map(|u| u.id));
    }
    assert_eq!(by_index.len(), 7);
    assert_eq!(by_index.iter().cloned().collect::<BTreeSet<_>>(), ids);

    // Cursor paging (RFC 9865) walks the same order; the last page has no cursor.
    let mut by_cursor = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let p = s.list_users(&t, &page(1, 3, cursor)).await.unwrap();
        assert_eq!(p.total_results, 7);
        pages += 1;
        by_cursor.extend(p.items.iter().map(|u| u.id.clone()));
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(by_cursor, by_index);

    // Stable: the same request gives the same order.
    let again: Vec<String> = s
        .list_users(&t, &page(1, 10, None))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(again, by_index);

    // A page that ends exactly at the last user has no cursor; beyond the end is empty.
    let p = s.list_users(&t, &page(1, 7, None)).await.unwrap();
    assert_eq!((p.items.len(), p.next_cursor), (7, None));
    let p = s.list_users(&t, &page(8, 3, None)).await.unwrap();
    assert_eq!(
        (p.items.len(), p.total_results, p.next_cursor),
        (0, 7, None)
    );
    let p = s.list_users(&t, &page(100, 3, None)).await.unwrap();
    assert_eq!((p.items.len(), p.total_results), (0, 7));
    let p = s.list_users(&t, &page(1, 0, None)).await.unwrap();
    assert_eq!(
        (p.items.len(), p.total_results, p.next_cursor),
        (0, 7, None)
    );
}

async fn bad_and_foreign_cursors_are_refused(fx: Fx) {
    let s = &fx.store;
    let a = tenant("acme");
    let b = tenant("globex");
    for i in 0..3 {
        s.create_user(
            &a,
            &user(&format!("a{i}@example.com"), None),
            &common::sys_audit(),
        )
        .await
        .unwrap();
        s.create_user(
            &b,
            &user(&format!("b{i}@example.com"), None),
            &common::sys_audit(),
        )
        .await
        .unwrap();
    }
    let first = s.list_users(&a, &page(1, 1, None)).await.unwrap();
    let cursor = first.next_cursor.expect("a cursor after the first page");

    // A cursor of tenant A is refused for tenant B, never answered with either tenant's data.
    assert_eq!(
        s.list_users(&b, &page(1, 1, Some(cursor.clone()))).await,
        Err(StoreError::InvalidCursor)
    );
    let mut tampered = vec![
        format!("{cursor}!"),
        cursor[..cursor.len() / 2].to_owned(),
        "not a cursor".to_owned(),
        URL_SAFE_NO_PAD.encode("globex\n"),
        URL_SAFE_NO_PAD.encode("acme"),
        URL_SAFE_NO_PAD.encode(format!("acme\n{}", "x".repeat(5_000))),
        URL_SAFE_NO_PAD.encode([0xc3, 0x28, b'\n', b'x']),
        "x".repeat(100_000),
    ];
    let mut flipped = cursor.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    tampered.push(String::from_utf8(flipped).unwrap());
    for c in tampered {
        assert_eq!(
            s.list_users(&a, &page(1, 1, Some(c.clone()))).await,
            Err(StoreError::InvalidCursor),
            "{c:.60}"
        );
    }
    // The genuine cursor still works for its tenant.
    let next = s.list_users(&a, &page(1, 5, Some(cursor))).await.unwrap();
    assert_eq!(next.items.len(), 2);
}

async fn tenants_are_isolated(fx: Fx) {
    let s = &fx.store;
    let a = tenant("acme");
    let b = tenant("acme-2");
    let ua = user("shared@example.com", Some("shared-ext"));
    s.create_user(&a, &ua, &common::sys_audit()).await.unwrap();

    // B sees nothing of A...
    assert_eq!(s.get_user(&b, &ua.id).await.unwrap(), None);
    assert_eq!(
        s.find_user_by_user_name(&b, "shared@example.com")
            .await
            .unwrap(),
        None
    );
    assert!(by_ext(s, &b, "shared-ext").await.is_empty());
    let p = s.list_users(&b, &page(1, 10, None)).await.unwrap();
    assert_eq!((p.items.len(), p.total_results), (0, 0));
    // ...cannot change or delete A's user...
    let hijack = changed(&ua, json!({"title": "hijacked"}));
    assert_eq!(
        s.update_user(&b, &ua, &hijack, &common::sys_audit()).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        s.delete_user(&b, &ua, None, &common::deleting(&deletion("r")))
            .await,
        Err(StoreError::NotFound)
    );
    // ...and A's unique values do not bind B.
    let ub = user("SHARED@example.com", Some("shared-ext"));
    s.create_user(&b, &ub, &common::sys_audit()).await.unwrap();
    assert_eq!(
        s.find_user_by_user_name(&b, "shared@example.com")
            .await
            .unwrap(),
        Some(ub.clone())
    );
    assert_eq!(
        s.find_user_by_user_name(&a, "shared@example.com")
            .await
            .unwrap(),
        Some(ua.clone())
    );
    s.delete_user(&b, &ub, None, &common::deleting(&deletion("rb")))
        .await
        .unwrap();
    assert_eq!(s.get_user(&a, &ua.id).await.unwrap(), Some(ua.clone()));
    assert_eq!(total(&fx, &a).await, 1);
    assert_eq!(total(&fx, &b).await, 0);
    assert!(fx.deletions(&a).await.is_empty());
    assert_eq!(fx.deletions(&b).await.len(), 1);
}

async fn a_failed_write_leaves_no_partial_state(fx: Fx) {
    let s = &fx.store;
    let t = tenant("acme");
    let a = user("a@example.com", Some("ext-a"));
    let b = user("b@example.com", Some("ext-b"));
    s.create_user(&t, &a, &common::sys_audit()).await.unwrap();
    s.create_user(&t, &b, &common::sys_audit()).await.unwrap();
    let before = fx.snapshot(&t).await;

    // A create whose externalId is free but whose userName is taken: the externalId must not be
    // left listed, the counter must not move.
    let c = user("A@example.com", Some("ext-new"));
    assert!(s.create_user(&t, &c, &common::sys_audit()).await.is_err());
    // A rename that takes a new externalId but collides on userName.
    let b_bad = changed(
        &b,
        json!({"userName": "A@example.com", "externalId": "ext-new"}),
    );
    assert!(s
        .update_user(&t, &b, &b_bad, &common::sys_audit())
        .await
        .is_err());
    assert_eq!(fx.snapshot(&t).await, before);
    // A rename from a stale version.
    let b_ok = changed(&b, json!({"title": "t"}));
    s.update_user(&t, &b, &b_ok, &common::sys_audit())
        .await
        .unwrap();
    let after_ok = fx.snapshot(&t).await;
    let b_stale = changed(
        &b,
        json!({"userName": "fresh@example.com", "externalId": "ext-fresh"}),
    );
    assert_eq!(
        s.update_user(&t, &b, &b_stale, &common::sys_audit()).await,
        Err(StoreError::VersionConflict)
    );
    assert_eq!(
        s.delete_user(&t, &b, None, &common::deleting(&deletion("r")))
            .await,
        Err(StoreError::VersionConflict)
    );
    assert_eq!(fx.snapshot(&t).await, after_ok);
    assert_ne!(after_ok, before);

    for name in ["c@example.com", "fresh@example.com"] {
        assert_eq!(s.find_user_by_user_name(&t, name).await.unwrap(), None);
    }
    for ext in ["ext-new", "ext-fresh"] {
        assert!(by_ext(s, &t, ext).await.is_empty());
    }
    s.create_user(
        &t,
        &user("c@example.com", Some("ext-new")),
        &common::sys_audit(),
    )
    .await
    .unwrap();
    assert_eq!(total(&fx, &t).await, 3);
}

async fn oversized_users_are_refused(fx: Fx) {
    let s = &fx.store;
    let t = tenant("acme");
    let mut big = user("big@example.com", None);
    big.attributes
        .insert("title".into(), json!("x".repeat(MAX_RESOURCE_BYTES + 1)));
    assert_eq!(
        s.create_user(&t, &big, &common::sys_audit()).await,
        Err(StoreError::TooLarge)
    );
    assert_eq!(
        s.find_user_by_user_name(&t, "big@example.com")
            .await
            .unwrap(),
        None
    );

    let small = user("small@example.com", None);
    s.create_user(&t, &small, &common::sys_audit())
        .await
        .unwrap();
    let before = fx.snapshot(&t).await;
    let grown = changed(&small, json!({"title": "y".repeat(500_000)}));
    assert_eq!(
        s.update_user(&t, &small, &grown, &common::sys_audit())
            .await,
        Err(StoreError::TooLarge)
    );
    assert_eq!(fx.snapshot(&t).await, before);
    assert_eq!(total(&fx, &t).await, 1);
}

/// Each contract function becomes `memory::<name>` and `dynamodb::<name>`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::memory().await).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::dynamo().await).await
                }
            )*
        }
    };
}

contract!(
    create_get_and_find,
    user_name_is_unique_and_external_id_is_not,
    updates_move_guards,
    version_conflicts_and_not_found,
    delete_frees_guards_counts_down_and_keeps_a_record,
    list_order_is_stable_across_pages_and_cursors,
    bad_and_foreign_cursors_are_refused,
    tenants_are_isolated,
    a_failed_write_leaves_no_partial_state,
    oversized_users_are_refused,
);
