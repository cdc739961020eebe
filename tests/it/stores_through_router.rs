//! Races and limits through the router, on the embedded store and on DynamoDB (moto): what an
//! IdP sees when it sends requests in parallel, and when a user is too large to store.

use crate::common;

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::json;
use tokio::task::JoinSet;

use common::moto::dynamo_fixture;
use common::requests::{patch_body, seed_user};
use common::{new_app_with_store, user_body, TestApp};
use scim_server::store::MemoryStore;

const PARALLEL: usize = 16;

async fn memory_app() -> Arc<TestApp> {
    Arc::new(new_app_with_store(Arc::new(MemoryStore::new())))
}

async fn dynamo_app() -> Arc<TestApp> {
    Arc::new(new_app_with_store(Arc::new(dynamo_fixture().await.store)))
}

/// `n`-th spelling of `s` in upper/lower case (distinct for n < 2^letters).
fn casing(s: &str, n: usize) -> String {
    let mut bit = 0;
    s.chars()
        .map(|c| {
            if !c.is_ascii_alphabetic() {
                return c;
            }
            let upper = n >> bit & 1 == 1;
            bit += 1;
            if upper {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

async fn concurrent_creates_of_one_user_name_give_one_201(t: Arc<TestApp>) {
    let mut set = JoinSet::new();
    for i in 0..PARALLEL {
        let t = t.clone();
        let name = casing("racer@example.com", i);
        set.spawn(async move { t.call(Method::POST, "/Users", Some(user_body(&name))).await });
    }
    let mut created = 0;
    let mut conflicts = 0;
    for answer in set.join_all().await {
        match answer.status.as_u16() {
            201 => created += 1,
            409 => {
                answer.assert_error(409, Some("uniqueness"));
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    assert_eq!((created, conflicts), (1, PARALLEL - 1));
    let list = t.call(Method::GET, "/Users", None).await;
    assert_eq!(list.body["totalResults"], 1);
}

async fn concurrent_patches_without_if_match_all_apply(t: Arc<TestApp>) {
    let id = seed_user(&t, "busy@example.com").await;
    let path = format!("/Users/{id}");
    let mut set = JoinSet::new();
    for i in 0..PARALLEL {
        let (t, path) = (t.clone(), path.clone());
        set.spawn(async move {
            let body = patch_body(json!([
                {"op": "add", "path": "entitlements", "value": [{"value": format!("ent-{i}")}]}
            ]));
            t.call(Method::PATCH, &path, Some(body)).await
        });
    }
    for answer in set.join_all().await {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let a = t.call(Method::GET, &path, None).await;
    let mut got: Vec<String> = a.body["entitlements"]
        .as_array()
        .expect("entitlements")
        .iter()
        .map(|e| e["value"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..PARALLEL).map(|i| format!("ent-{i}")).collect();
    want.sort();
    assert_eq!(got, want, "an update was lost");
    assert_eq!(
        a.header("etag"),
        Some(format!("W/\"{}\"", PARALLEL + 1).as_str())
    );
}

async fn stale_if_match_is_412_and_changes_nothing(t: Arc<TestApp>) {
    let id = seed_user(&t, "etag@example.com").await;
    let path = format!("/Users/{id}");
    let fresh = t
        .request(Method::PATCH, &path)
        .header("content-type", "application/scim+json")
        .header("if-match", "W/\"1\"")
        .body(
            patch_body(json!([{"op": "replace", "path": "title", "value": "v2"}]))
                .to_string()
                .into(),
        )
        .unwrap();
    assert_eq!(t.send(fresh).await.status, StatusCode::OK);
    let before = t.call(Method::GET, &path, None).await;

    let stale_patch = patch_body(json!([{"op": "replace", "path": "title", "value": "stale"}]));
    let mut put_body = user_body("renamed@example.com");
    put_body["title"] = json!("stale");
    for (method, body) in [
        (Method::PATCH, Some(stale_patch)),
        (Method::PUT, Some(put_body)),
        (Method::DELETE, None),
    ] {
        let mut req = t
            .request(method.clone(), &path)
            .header("if-match", "W/\"1\"");
        if body.is_some() {
            req = req.header("content-type", "application/scim+json");
        }
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        t.send(req.body(bytes.into()).unwrap())
            .await
            .assert_error(412, None);
    }
    let after = t.call(Method::GET, &path, None).await;
    assert_eq!(after.body, before.body);
    assert_eq!(after.header("etag"), Some("W/\"2\""));
    let renamed = t
        .call(
            Method::GET,
            "/Users?filter=userName%20eq%20%22renamed@example.com%22",
            None,
        )
        .await;
    assert_eq!(renamed.body["totalResults"], 0);
}

async fn an_oversized_user_is_a_clear_400(t: Arc<TestApp>) {
    let mut body = user_body("huge@example.com");
    body["title"] = json!("x".repeat(500_000));
    let a = t.call(Method::POST, "/Users", Some(body)).await;
    a.assert_error(400, Some("invalidValue"));
    assert!(
        a.body["detail"].as_str().unwrap().contains("too large"),
        "{}",
        a.body
    );

    let id = seed_user(&t, "small@example.com").await;
    let path = format!("/Users/{id}");
    let before = t.call(Method::GET, &path, None).await;
    let grow = patch_body(json!([{"op": "add", "path": "title", "value": "y".repeat(500_000)}]));
    t.call(Method::PATCH, &path, Some(grow))
        .await
        .assert_error(400, Some("invalidValue"));
    assert_eq!(t.call(Method::GET, &path, None).await.body, before.body);
    let list = t.call(Method::GET, "/Users", None).await;
    assert_eq!(list.body["totalResults"], 1);
}

/// Each function becomes `memory::<name>` and `dynamodb::<name>`.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::memory_app().await).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::dynamo_app().await).await
                }
            )*
        }
    };
}

on_both_stores!(
    concurrent_creates_of_one_user_name_give_one_201,
    concurrent_patches_without_if_match_all_apply,
    stale_if_match_is_412_and_changes_nothing,
    an_oversized_user_is_a_clear_400,
);
