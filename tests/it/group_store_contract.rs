//! The `GroupStore` contract (src/store/mod.rs), as functions over any `Store`, run on the
//! embedded store and on DynamoDB (moto, a fresh table per test).

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;

use common::requests::{resource_at, tenant, user_member};
use common::store_ext::GroupStoreTestExt;
use scim_server::scim::members::{Member, MemberKind};
use scim_server::scim::resource::Resource;
use scim_server::scim::resource::Version;
use scim_server::store::{Deletion, GroupUpdate, MemoryStore, PageRequest, Store, StoreError};
use scim_server::tenant::TenantId;

const T0: &str = "2024-01-01T00:00:00.000Z";
const T1: &str = "2024-01-02T00:00:00.000Z";

/// A new record created at `T0`.
fn resource(attributes: serde_json::Value) -> Resource {
    resource_at(attributes, T0)
}

async fn user(s: &dyn Store, t: &TenantId, name: &str) -> String {
    let u = resource(json!({"userName": name}));
    s.create_user(t, &u, &common::sys_audit()).await.unwrap();
    u.id
}

async fn group(s: &dyn Store, t: &TenantId, name: &str, members: &[&str]) -> Resource {
    let g = resource(json!({"displayName": name}));
    let ms: Vec<Member> = members.iter().map(|m| user_member(m)).collect();
    assert_eq!(
        s.create_group(t, &g, &ms, &common::sys_audit()).await,
        Ok(g.version)
    );
    g
}

async fn member_ids(s: &dyn Store, t: &TenantId, gid: &str) -> BTreeSet<String> {
    let page = s.list_members(t, gid, None, 100_000).await.unwrap();
    page.members.into_iter().map(|m| m.value).collect()
}

async fn version(s: &dyn Store, t: &TenantId, gid: &str) -> u64 {
    s.get_group(t, gid)
        .await
        .unwrap()
        .map_or(0, |g| g.version.get())
}

fn deletion() -> Deletion {
    Deletion {
        request_id: "req-1".into(),
        deleted_at: T1.into(),
    }
}

pub async fn records_lookups_and_lists(s: &dyn Store) {
    let t = tenant("acme");
    let a = group(s, &t, "Admins", &[]).await;
    let b = group(s, &t, "ADMINS", &[]).await;
    group(s, &t, "Sales", &[]).await;
    let got = s.get_group(&t, &a.id).await.unwrap().unwrap();
    assert_eq!(got, a);
    assert!(!got.attributes.contains_key("members"));
    // displayName is not unique, and is looked up case-insensitively, in id order, bounded.
    let found = s
        .find_groups_by_display_name(&t, "admins", 10)
        .await
        .unwrap();
    let mut want = vec![a.id.clone(), b.id.clone()];
    want.sort();
    assert_eq!(found.iter().map(|g| g.id.clone()).collect::<Vec<_>>(), want);
    assert_eq!(
        s.find_groups_by_display_name(&t, "admins", 1)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(s
        .find_groups_by_display_name(&t, "nobody", 10)
        .await
        .unwrap()
        .is_empty());
    // Paging with cursors covers every group once, with the total.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = s
            .list_groups(
                &t,
                &PageRequest {
                    start_index: 1,
                    count: 2,
                    cursor,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.total_results, 3);
        seen.extend(page.items.into_iter().map(|g| g.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 3);
}

pub async fn updates_are_versioned_and_conditional(s: &dyn Store) {
    let t = tenant("acme");
    let g = group(s, &t, "Old", &[]).await;
    let renamed = json!({"displayName": "New"}).as_object().cloned().unwrap();
    let update = GroupUpdate {
        id: &g.id,
        expected_version: Some(Version::new(1)),
        attributes: Some(&renamed),
        add: &[],
        remove: &[],
        last_modified: T1,
        current: None,
    };
    assert_eq!(
        s.update_group(&t, &update, &common::sys_audit()).await,
        Ok(Version::new(2))
    );
    let got = s.get_group(&t, &g.id).await.unwrap().unwrap();
    assert_eq!((got.version.get(), got.last_modified.as_str()), (2, T1));
    assert_eq!(got.display_name(), Some("New"));
    // The name index moved.
    assert!(s
        .find_groups_by_display_name(&t, "old", 5)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.find_groups_by_display_name(&t, "NEW", 5)
            .await
            .unwrap()
            .len(),
        1
    );
    // A stale version changes nothing.
    assert_eq!(
        s.update_group(&t, &update, &common::sys_audit()).await,
        Err(StoreError::VersionConflict)
    );
    assert_eq!(version(s, &t, &g.id).await, 2);
    // An empty update writes nothing.
    let empty = GroupUpdate {
        attributes: None,
        expected_version: None,
        ..update
    };
    assert_eq!(
        s.update_group(&t, &empty, &common::sys_audit()).await,
        Ok(Version::new(2))
    );
    let missing = GroupUpdate {
        id: "00000000-0000-4000-8000-000000000000",
        ..update
    };
    assert_eq!(
        s.update_group(&t, &missing, &common::sys_audit()).await,
        Err(StoreError::NotFound)
    );
}

pub async fn memberships_are_idempotent_items(s: &dyn Store) {
    let t = tenant("acme");
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(user(s, &t, &format!("u{i}")).await);
    }
    let g = group(s, &t, "G", &[&users[0]]).await;
    let nested = group(s, &t, "Nested", &[]).await;
    // Kinds come from the store, not from the caller.
    let add = vec![
        Member {
            kind: MemberKind::Group,
            ..user_member(&users[1])
        },
        user_member(&nested.id),
        user_member(&users[2]),
    ];
    let v = s.add_members(&t, &g.id, &add, T1).await.unwrap();
    assert_eq!(v, 2);
    let page = s.list_members(&t, &g.id, None, 100).await.unwrap();
    let kinds: Vec<(String, MemberKind)> = page
        .members
        .iter()
        .map(|m| (m.value.clone(), m.kind))
        .collect();
    assert!(
        kinds.contains(&(users[1].clone(), MemberKind::User)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(nested.id.clone(), MemberKind::Group)),
        "{kinds:?}"
    );
    // Adding again, or removing what is not there, changes nothing (not even the version).
    assert_eq!(
        s.add_members(&t, &g.id, &add, T1).await,
        Ok(Version::new(2))
    );
    assert_eq!(
        s.remove_members(&t, &g.id, &[users[4].clone()], T1).await,
        Ok(Version::new(2))
    );
    // Missing resources and the group itself are never added.
    let bogus = [
        user_member("00000000-0000-4000-8000-000000000000"),
        user_member(&g.id),
    ];
    assert_eq!(
        s.add_members(&t, &g.id, &bogus, T1).await,
        Ok(Version::new(2))
    );
    assert_eq!(member_ids(s, &t, &g.id).await.len(), 4);
    // members_among reads just the ids asked about.
    let asked = vec![users[0].clone(), users[3].clone(), nested.id.clone()];
    let among = s.members_among(&t, &g.id, &asked).await.unwrap();
    assert_eq!(
        among,
        [users[0].clone(), nested.id.clone()].into_iter().collect()
    );
    // Member pages are in id order and resume from a cursor.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = s
            .list_members(&t, &g.id, cursor.as_deref(), 3)
            .await
            .unwrap();
        assert!(page.members.len() <= 3);
        walked.extend(page.members.into_iter().map(|m| m.value));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut sorted = walked.clone();
    sorted.sort();
    assert_eq!(walked, sorted);
    assert_eq!(walked.len(), 4);
    // Removal, and the reverse direction.
    assert_eq!(
        s.remove_members(&t, &g.id, &[users[0].clone()], T1).await,
        Ok(Version::new(3))
    );
    assert!(s.groups_of(&t, &users[0]).await.unwrap().is_empty());
    let of = s.groups_of(&t, &users[1]).await.unwrap();
    assert_eq!((of.len(), of[0].display_name.as_str()), (1, "G"));
    assert_eq!(s.groups_of(&t, &nested.id).await.unwrap()[0].id, g.id);
    // replace_members writes the difference, conditional on the version read.
    let current = s.get_group(&t, &g.id).await.unwrap().unwrap();
    let v = s
        .replace_members(
            &t,
            &current,
            &[user_member(&users[1]), user_member(&users[4])],
            T1,
        )
        .await
        .unwrap();
    assert!(v > current.version);
    assert_eq!(
        member_ids(s, &t, &g.id).await,
        [users[1].clone(), users[4].clone()].into_iter().collect()
    );
    assert_eq!(
        s.replace_members(&t, &current, &[], T1).await,
        Err(StoreError::VersionConflict)
    );
    assert_eq!(member_ids(s, &t, &g.id).await.len(), 2);
}

pub async fn deletes_cascade_to_memberships(s: &dyn Store) {
    let t = tenant("acme");
    let u = user(s, &t, "leaver").await;
    let stays = user(s, &t, "stays").await;
    let child = group(s, &t, "Child", &[&u, &stays]).await;
    let parent = group(s, &t, "Parent", &[&child.id, &u]).await;
    // Deleting a user removes its memberships and gives each group a new version.
    let stored = s.get_user(&t, &u).await.unwrap().unwrap();
    s.delete_user(&t, &stored, None, &common::deleting(&deletion()))
        .await
        .unwrap();
    assert_eq!(
        member_ids(s, &t, &child.id).await,
        [stays.clone()].into_iter().collect()
    );
    assert_eq!(
        member_ids(s, &t, &parent.id).await,
        [child.id.clone()].into_iter().collect()
    );
    assert_eq!(version(s, &t, &child.id).await, 2);
    assert_eq!(version(s, &t, &parent.id).await, 2);
    // Deleting a group: conditional, then invisible, in both directions.
    let current = s.get_group(&t, &child.id).await.unwrap().unwrap();
    assert_eq!(
        s.delete_group(&t, &child, &common::deleting(&deletion()))
            .await,
        Err(StoreError::VersionConflict)
    );
    s.delete_group(&t, &current, &common::deleting(&deletion()))
        .await
        .unwrap();
    assert_eq!(s.get_group(&t, &child.id).await, Ok(None));
    assert!(s
        .find_groups_by_display_name(&t, "child", 5)
        .await
        .unwrap()
        .is_empty());
    assert!(s.groups_of(&t, &stays).await.unwrap().is_empty());
    assert!(member_ids(s, &t, &parent.id).await.is_empty());
    assert_eq!(version(s, &t, &parent.id).await, 3);
    assert_eq!(
        s.delete_group(&t, &current, &common::deleting(&deletion()))
            .await,
        Err(StoreError::NotFound)
    );
    let after = s
        .list_groups(
            &t,
            &PageRequest {
                start_index: 1,
                count: 10,
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(after.total_results, 1);
}

pub async fn tenants_do_not_see_each_other(s: &dyn Store) {
    let acme = tenant("acme");
    let globex = tenant("globex");
    let u = user(s, &acme, "alice").await;
    let g = group(s, &acme, "Acme", &[&u]).await;
    assert!(s
        .resolve_members(&globex, &[u.clone(), g.id.clone()])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.resolve_members(&acme, std::slice::from_ref(&u))
            .await
            .unwrap()
            .get(&u),
        Some(&MemberKind::User)
    );
    assert_eq!(s.get_group(&globex, &g.id).await, Ok(None));
    assert!(s.groups_of(&globex, &u).await.unwrap().is_empty());
    assert!(s
        .find_groups_by_display_name(&globex, "acme", 5)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .members_among(&globex, &g.id, std::slice::from_ref(&u))
        .await
        .unwrap()
        .is_empty());
    let theirs = group(s, &globex, "Theirs", &[&u]).await;
    assert!(
        member_ids(s, &globex, &theirs.id).await.is_empty(),
        "acme's user is not globex's"
    );
    let attempt = GroupUpdate {
        id: &g.id,
        expected_version: None,
        attributes: None,
        add: &[],
        remove: std::slice::from_ref(&u),
        last_modified: T1,
        current: None,
    };
    assert_eq!(
        s.update_group(&globex, &attempt, &common::sys_audit())
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(member_ids(s, &acme, &g.id).await.len(), 1);
}

/// Memberships are items of their own: a group's stored attributes never hold `members`, and a
/// write that tries is refused and changes nothing (issue 14, item 3).
pub async fn group_attributes_never_hold_members(s: &dyn Store) {
    let t = tenant("acme");
    let u = user(s, &t, "alice").await;
    let smuggled = resource(json!({"displayName": "Smuggled", "members": [{"value": u}]}));
    assert!(matches!(
        s.create_group(&t, &smuggled, &[], &common::sys_audit())
            .await,
        Err(StoreError::Internal(_))
    ));
    assert_eq!(s.get_group(&t, &smuggled.id).await, Ok(None));
    let g = group(s, &t, "Plain", &[]).await;
    let attrs = json!({"displayName": "Renamed", "MEMBERS": [{"value": u}]});
    let update = GroupUpdate {
        id: &g.id,
        expected_version: Some(g.version),
        attributes: attrs.as_object(),
        add: &[],
        remove: &[],
        last_modified: T1,
        current: Some(&g),
    };
    assert!(matches!(
        s.update_group(&t, &update, &common::sys_audit()).await,
        Err(StoreError::Internal(_))
    ));
    let stored = s.get_group(&t, &g.id).await.unwrap().unwrap();
    assert_eq!(stored, g, "a refused write changes nothing");
    assert!(member_ids(s, &t, &g.id).await.is_empty());
    // Every group the other contract functions leave behind has member-free attributes too.
    for found in s
        .find_groups_by_display_name(&t, "plain", 10)
        .await
        .unwrap()
    {
        assert!(found
            .attributes
            .keys()
            .all(|k| !k.eq_ignore_ascii_case("members")));
    }
}

macro_rules! on_store {
    ($store:ident, $make:expr, [$($name:ident),* $(,)?]) => {
        mod $store {
            $(
                #[tokio::test]
                async fn $name() {
                    let s: std::sync::Arc<dyn scim_server::store::Store> = $make;
                    super::$name(s.as_ref()).await;
                }
            )*
        }
    };
}

on_store!(
    embedded,
    super::Arc::new(super::MemoryStore::new()),
    [
        records_lookups_and_lists,
        updates_are_versioned_and_conditional,
        memberships_are_idempotent_items,
        deletes_cascade_to_memberships,
        tenants_do_not_see_each_other,
        group_attributes_never_hold_members,
    ]
);

on_store!(
    dynamodb,
    super::Arc::new(crate::common::moto::dynamo_fixture().await.store),
    [
        records_lookups_and_lists,
        updates_are_versioned_and_conditional,
        memberships_are_idempotent_items,
        deletes_cascade_to_memberships,
        tenants_do_not_see_each_other,
        group_attributes_never_hold_members,
    ]
);
