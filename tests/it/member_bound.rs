//! Issue 14, item 4: the figure behind `scim::members::MAX_MEMBERS_PER_REQUEST`. Ignored by
//! default (it seeds 1,000 users); run once on moto and recorded in ARCHITECTURE.md:
//!
//!     VENV=.venv tests/tools/with_moto.sh cargo test --release --test it -- --ignored --nocapture member_bound::

use crate::common;

use std::sync::Arc;
use std::time::Instant;

use http::{Method, StatusCode};
use serde_json::{json, Value};

use common::moto::dynamo_fixture;
use common::new_app_with_store;
use common::requests::{id_of, patch_group, seed_user};
use scim_server::scim::members::MAX_MEMBERS_PER_REQUEST;

#[tokio::test]
#[ignore]
async fn a_request_at_the_member_bound_on_dynamodb() {
    let fx = dynamo_fixture().await;
    let t = new_app_with_store(Arc::new(fx.store.clone()));
    let n = MAX_MEMBERS_PER_REQUEST;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(seed_user(&t, &format!("bound{i}@example.com")).await);
    }
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    fx.calls.take();
    let start = Instant::now();
    let a = t
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "At the bound", "members": members})),
        )
        .await;
    let post = start.elapsed();
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let post_calls = fx.calls.take().len();
    let gid = id_of(&a.body);
    let start = Instant::now();
    let a = patch_group(
        &t,
        &gid,
        json!([{"op": "remove", "path": "members", "value": members}]),
    )
    .await;
    let remove = start.elapsed();
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let remove_calls = fx.calls.take().len();
    let start = Instant::now();
    let a = patch_group(
        &t,
        &gid,
        json!([{"op": "add", "path": "members", "value": members}]),
    )
    .await;
    let add = start.elapsed();
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let add_calls = fx.calls.take().len();
    println!(
        "members={n} POST {post:?} ({post_calls} calls), PATCH remove {remove:?} ({remove_calls} calls), PATCH add {add:?} ({add_calls} calls)"
    );
}
