//! `startIndex` paging costs O(page) on DynamoDB (`src/store/dynamo/bookmarks.rs`): a walk of a
//! tenant by index, as Entra ID's Account Discovery and Okta's import do it, reads about the same
//! per page at any offset, sees every user once, and still answers correctly at an index no page
//! led to (the skip fallback). Bookmarks never cross tenants. The embedded store pages alike.
//!
//! Items read are DynamoDB's `ScannedCount` of each Query (what a Query is charged for, whatever
//! its projection), recorded by the call counter. Run with `--nocapture` for the figures.

use crate::common;

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use tokio::task::JoinSet;

use common::moto::{dynamo_fixture, raw_put, DynamoFixture};
use common::requests::{tenant, walk_by_index};
use common::seed::{entra_like, seed};
use scim_server::scim::resource::Resource;
use scim_server::store::dynamo::keys::{self, Partition};
use scim_server::store::{MemoryStore, PageRequest, UserStore};
use scim_server::tenant::TenantId;

/// Create `n` users in `t` through the store (8 in flight), guards and counter included, for
/// tests that delete some. Returns the ids in list order.
async fn create(fx: &DynamoFixture, t: &TenantId, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut set = JoinSet::new();
    for i in 0..n {
        let (store, t) = (fx.store.clone(), t.clone());
        let u = entra_like(i);
        ids.push(u.id.clone());
        set.spawn(async move {
            store
                .create_user(&t, &u, &common::sys_audit())
                .await
                .unwrap()
        });
        while set.len() >= 8 {
            set.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    ids.sort();
    ids
}

fn page(start_index: usize, count: usize) -> PageRequest {
    PageRequest {
        start_index,
        count,
        cursor: None,
    }
}

fn ids(items: &[Resource]) -> Vec<String> {
    items.iter().map(|r| r.id.clone()).collect()
}

/// A page of `t`'s users at `start_index` and the items its Queries read from the users
/// partition (the counter shards' Query is left out: it reads the same at any offset).
async fn page_and_reads(
    fx: &DynamoFixture,
    t: &TenantId,
    start_index: usize,
    count: usize,
) -> (Vec<String>, usize, Vec<String>) {
    fx.calls.take();
    fx.calls.take_query_reads();
    let p = fx
        .store
        .list_users(t, &page(start_index, count))
        .await
        .unwrap();
    let users_pk = Partition::Users.pk(t);
    let reads = fx.calls.take_query_reads();
    for r in &reads {
        // Every Query that read something read the caller's tenant only.
        if let Some(pk) = &r.pk {
            assert!(pk.starts_with(&format!("T#{t}#")), "{pk} read for {t}");
        }
    }
    let read: usize = reads
        .iter()
        .filter(|r| r.pk.as_deref().is_none_or(|pk| pk == users_pk))
        .map(|r| r.scanned)
        .sum();
    let mut ops = fx.calls.take();
    ops.sort();
    (ids(&p.items), read, ops)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_by_start_index_reads_the_same_per_page_at_any_offset() {
    const N: usize = 3_050;
    const COUNT: usize = 100;
    let fx = dynamo_fixture().await;
    let t = tenant("walker");
    let (all, mean_size) = seed(&fx, &t, N).await;

    let mut seen = Vec::new();
    let mut reads = Vec::new();
    let mut start = 1;
    loop {
        let (got, read, ops) = page_and_reads(&fx, &t, start, COUNT).await;
        if got.is_empty() {
            break;
        }
        assert_eq!(
            got,
            all[start - 1..(start - 1 + COUNT).min(N)],
            "page at {start}"
        );
        let last = start + got.len() > N;
        let wrote = ops.iter().any(|o| o == "PutItem");
        assert_eq!(wrote, start > 1 && !last, "bookmark at {start}: {ops:?}");
        reads.push((start, read));
        start += got.len();
        seen.extend(got);
    }
    // Every user exactly once, in list order.
    assert_eq!(seen, all);
    // Page 1 reads its page and one more (to know whether more follow); the second page skips
    // the first (no bookmark: see bookmarks.rs), every later page starts at its bookmark.
    for &(start, read) in &reads {
        let expected = match start {
            1 => COUNT + 1,
            101 => 2 * COUNT + 1,
            s if s + COUNT > N => N - s + 1,
            _ => COUNT + 1,
        };
        assert_eq!(read, expected, "items read by the page at {start}");
    }
    let at = |s: usize| reads.iter().find(|r| r.0 == s).unwrap().1;
    assert_eq!(
        at(2_901),
        at(1),
        "the page at 2,901 reads what page 1 reads"
    );

    // An index no page led to has no bookmark: the page skips (the O(startIndex) fallback), and
    // is still right.
    let (got, read, ops) = page_and_reads(&fx, &t, 2_950, COUNT).await;
    assert_eq!(got, all[2_949..3_049]);
    assert_eq!(read, 2_949 + COUNT + 1, "{ops:?}");
    assert!(ops.contains(&"GetItem".to_owned()), "{ops:?}");

    // Figures (BENCHMARKS.md): items and bytes read per page of 100, after and before.
    let kb = |items: usize| items * mean_size / 1024;
    println!("mean user item: {mean_size} bytes");
    for s in [1_001, 2_001, 2_901] {
        let skip = s - 1 + COUNT + 1;
        println!(
            "page at {s}: bookmark {} items ({} KB); skip {skip} items ({} KB)",
            at(s),
            kb(at(s)),
            kb(skip)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_sees_everyone_who_existed_throughout_once_despite_creates_and_deletes() {
    const N: usize = 600;
    const COUNT: usize = 50;
    let fx = dynamo_fixture().await;
    let t = tenant("churn");
    let all = create(&fx, &t, N).await;
    let audit = common::sys_audit();

    let mut seen: Vec<String> = Vec::new();
    let mut deleted = HashSet::new();
    let mut created = HashSet::new();
    let mut start = 1;
    let mut n = 0;
    loop {
        let p = fx.store.list_users(&t, &page(start, COUNT)).await.unwrap();
        if p.items.is_empty() {
            break;
        }
        start += p.items.len();
        seen.extend(ids(&p.items));
        // From the third page on (each starts at the previous page's bookmark), delete two users
        // already shown and create two, which land anywhere in the id order.
        if start > 2 * COUNT {
            for victim in [&seen[n * 7 % seen.len()], &seen[(n * 13 + 3) % seen.len()]] {
                if deleted.insert(victim.clone()) {
                    let current = fx.store.get_user(&t, victim).await.unwrap().unwrap();
                    fx.store
                        .delete_user(&t, &current, None, &audit)
                        .await
                        .unwrap();
                }
            }
            for _ in 0..2 {
                let u = entra_like(10_000 + n);
                fx.store.create_user(&t, &u, &audit).await.unwrap();
                created.insert(u.id);
                n += 1;
            }
        }
    }
    assert!(!deleted.is_empty() && !created.is_empty());
    // Each page starts after the last id shown: ids only grow, so nobody is shown twice.
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "ids in order, none twice"
    );
    let shown: BTreeSet<&String> = seen.iter().collect();
    let throughout: Vec<&String> = all.iter().filter(|id| !deleted.contains(*id)).collect();
    for id in &throughout {
        assert!(
            shown.contains(id),
            "{id} existed throughout and was skipped"
        );
    }
    // An offset walk would have skipped one user per delete before its position.
    assert!(
        seen.iter()
            .all(|id| all.contains(id) || created.contains(id)),
        "only this tenant's users"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_never_starts_from_another_tenants_bookmark() {
    const COUNT: usize = 100;
    let fx = dynamo_fixture().await;
    let (a, b) = (tenant("alpha"), tenant("beta"));
    let (a_ids, _) = seed(&fx, &a, 450).await;
    let (b_ids, _) = seed(&fx, &b, 450).await;

    // Tenant A walks: its bookmarks for 201, 301 and 401 are written in A's partition only.
    let mut start = 1;
    while start <= 450 {
        let (got, _, _) = page_and_reads(&fx, &a, start, COUNT).await;
        start += got.len();
    }
    let a_marks = fx
        .store
        .partition_items(&a, Partition::Bookmarks)
        .await
        .unwrap();
    assert_eq!(a_marks.len(), 3, "{a_marks:?}");
    assert!(fx
        .store
        .partition_items(&b, Partition::Bookmarks)
        .await
        .unwrap()
        .is_empty());

    // B's page at 201 finds no bookmark of its own and skips; A's is not used.
    let (got, read, ops) = page_and_reads(&fx, &b, 201, COUNT).await;
    assert_eq!(got, b_ids[200..300]);
    assert_eq!(read, 200 + COUNT + 1, "B skipped: {ops:?}");

    // A bookmark can only name an id, used inside the caller's partition: one naming A's user
    // (as if forged) moves B's start within B's own users, never into A's.
    let mut forged = keys::bookmark(&b, Partition::Users, 401).to_attrs();
    forged.insert("after".to_owned(), AttributeValue::S(a_ids[300].clone()));
    forged.insert(
        "ttl".to_owned(),
        AttributeValue::N("99999999999".to_owned()),
    );
    raw_put(&fx, forged).await;
    let (got, _, _) = page_and_reads(&fx, &b, 401, COUNT).await;
    let b_set: HashSet<&String> = b_ids.iter().collect();
    assert!(got.iter().all(|id| b_set.contains(id)), "{got:?}");
    assert!(got.iter().all(|id| id > &a_ids[300]));

    // A bookmark whose id could not be a cursor's, or past its TTL, is not used: the page skips.
    for (after, ttl) in [
        ("bad\u{0}id".to_owned(), "99999999999"),
        (b_ids[10].clone(), "1"),
    ] {
        let mut item = keys::bookmark(&b, Partition::Users, 301).to_attrs();
        item.insert("after".to_owned(), AttributeValue::S(after));
        item.insert("ttl".to_owned(), AttributeValue::N(ttl.to_owned()));
        raw_put(&fx, item).await;
        let (got, read, _) = page_and_reads(&fx, &b, 301, COUNT).await;
        assert_eq!(got, b_ids[300..400]);
        assert_eq!(read, 300 + COUNT + 1);
    }
}

#[tokio::test]
async fn groups_are_walked_by_index_through_their_own_bookmarks() {
    let fx = dynamo_fixture().await;
    let store = fx.store.clone();
    let t = common::new_app_with_store(Arc::new(store));
    let mut created = BTreeSet::new();
    for i in 0..7 {
        let a = t
            .call(
                http::Method::POST,
                "/Groups",
                Some(json!({"schemas": [common::requests::GROUP_URN], "displayName": format!("g{i}")})),
            )
            .await;
        created.insert(a.body["id"].as_str().unwrap().to_owned());
    }
    let seen: Vec<String> = walk_by_index(&t, "/Groups", 2)
        .await
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), created);
    assert_eq!(seen.len(), 7);
    let marks: Vec<String> = fx
        .store
        .partition_items(&t.tenant, Partition::Bookmarks)
        .await
        .unwrap()
        .iter()
        .map(|i| i["sk"].as_s().unwrap().clone())
        .collect();
    assert_eq!(marks, ["GROUP#5", "GROUP#7"]);
}

#[tokio::test]
async fn the_embedded_store_pages_by_index_alike() {
    let store = MemoryStore::new();
    let t = tenant("acme");
    let audit = common::sys_audit();
    let mut all = Vec::new();
    for i in 0..1_050 {
        let u = entra_like(i);
        store.create_user(&t, &u, &audit).await.unwrap();
        all.push(u.id);
    }
    all.sort();
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let p = store.list_users(&t, &page(start, 100)).await.unwrap();
        if p.items.is_empty() {
            break;
        }
        assert_eq!(p.total_results, 1_050);
        start += p.items.len();
        seen.extend(ids(&p.items));
    }
    assert_eq!(seen, all);
    let p = store.list_users(&t, &page(1_001, 100)).await.unwrap();
    assert_eq!(ids(&p.items), all[1_000..]);
    assert!(p.next_cursor.is_none());
}
