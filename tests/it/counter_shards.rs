//! The tenant's counter, sharded (`COUNTS#0..255`, ARCHITECTURE.md "Counter shards"): creates
//! and deletes spread over the shards, `totalResults` stays exact (the shards' sum, read by one
//! strongly consistent Query), a shard may go below zero, a counter item of the unsharded design
//! still counts, and one tenant's shards never count in another's total.

use crate::common;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use http::{Method, StatusCode};
use serde_json::json;
use tokio::task::JoinSet;

use common::moto::{dynamo_fixture, raw_put, DynamoFixture};
use common::requests::resource;
use common::{new_app_for_tenant, user_body};
use scim_server::store::dynamo::item::Item;
use scim_server::store::{GroupStore, UserStore};
use scim_server::tenant::TenantId;

/// The counter items of `tenant`, as (sort key, users) read raw.
async fn shards(fx: &DynamoFixture, tenant: &str) -> Vec<(String, i64)> {
    let items = fx
        .client
        .query()
        .table_name(&fx.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("T#{tenant}#META")))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    items
        .iter()
        .map(|i| {
            let sk = i["sk"].as_s().unwrap().clone();
            let users = match i.get("users") {
                Some(AttributeValue::N(n)) => n.parse().unwrap(),
                _ => 0,
            };
            (sk, users)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_and_deletes_keep_total_results_exact_across_shards() {
    let fx = dynamo_fixture().await;
    let store: Arc<dyn scim_server::store::Store> = Arc::new(fx.store.clone());
    let acme = new_app_for_tenant(store.clone(), "acme");
    let other = new_app_for_tenant(store.clone(), "other");
    // Another tenant's writes land on shards of its own partition.
    for i in 0..3 {
        let a = other
            .call(
                Method::POST,
                "/Users",
                Some(user_body(&format!("o{i}@example.com"))),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED);
    }
    // 40 concurrent creates, then 15 concurrent deletes.
    let acme = Arc::new(acme);
    let mut set = JoinSet::new();
    for i in 0..40 {
        let app = acme.clone();
        set.spawn(async move {
            let a = app
                .call(
                    Method::POST,
                    "/Users",
                    Some(user_body(&format!("c{i}@example.com"))),
                )
                .await;
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
            a.body["id"].as_str().unwrap().to_owned()
        });
    }
    let ids = set.join_all().await;
    let mut set = JoinSet::new();
    for id in ids.into_iter().take(15) {
        let app = acme.clone();
        set.spawn(async move {
            let a = app
                .call(Method::DELETE, &format!("/Users/{id}"), None)
                .await;
            assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
        });
    }
    set.join_all().await;

    let a = acme.call(Method::GET, "/Users?count=0", None).await;
    assert_eq!(a.body["totalResults"], 25, "{}", a.body);
    let a = other.call(Method::GET, "/Users?count=0", None).await;
    assert_eq!(a.body["totalResults"], 3, "{}", a.body);

    // The writes spread: 55 random picks of 256 shards land on well over one shard, and the
    // shards' sum is the count even where one went below zero.
    let acme_shards = shards(&fx, "acme").await;
    assert!(acme_shards.len() > 20, "{acme_shards:?}");
    assert!(acme_shards.iter().all(|(sk, _)| sk.starts_with("COUNTS#")));
    assert_eq!(acme_shards.iter().map(|(_, n)| n).sum::<i64>(), 25);
    // Groups count on the same shards, in their own attribute.
    let g = resource(json!({"displayName": "Counted"}));
    let t = TenantId::parse("acme").unwrap();
    fx.store
        .create_group(&t, &g, &[], &common::sys_audit())
        .await
        .unwrap();
    let a = acme.call(Method::GET, "/Groups?count=0", None).await;
    assert_eq!(a.body["totalResults"], 1, "{}", a.body);
    let a = acme.call(Method::GET, "/Users?count=0", None).await;
    assert_eq!(a.body["totalResults"], 25);
}

#[tokio::test]
async fn the_unsharded_counter_item_of_earlier_versions_still_counts() {
    let fx = dynamo_fixture().await;
    let t = TenantId::parse("legacy").unwrap();
    // A table written by the unsharded design: 2 users counted on `COUNTS`.
    for i in 0..2 {
        let u = resource(json!({"userName": format!("old{i}")}));
        fx.store
            .create_user(&t, &u, &common::sys_audit())
            .await
            .unwrap();
    }
    // Fold what the creates counted into the single item, as the earlier design left it.
    for (sk, _) in shards(&fx, "legacy").await {
        fx.client
            .delete_item()
            .table_name(&fx.table)
            .key("pk", AttributeValue::S("T#legacy#META".into()))
            .key("sk", AttributeValue::S(sk))
            .send()
            .await
            .unwrap();
    }
    let legacy: Item = HashMap::from([
        ("pk".to_owned(), AttributeValue::S("T#legacy#META".into())),
        ("sk".to_owned(), AttributeValue::S("COUNTS".into())),
        ("users".to_owned(), AttributeValue::N("2".into())),
    ]);
    raw_put(&fx, legacy).await;
    let store: Arc<dyn scim_server::store::Store> = Arc::new(fx.store.clone());
    let app = new_app_for_tenant(store, "legacy");
    let a = app
        .call(Method::POST, "/Users", Some(user_body("new@example.com")))
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a = app.call(Method::GET, "/Users?count=1", None).await;
    assert_eq!(a.body["totalResults"], 3, "{}", a.body);
    assert_eq!(a.body["Resources"].as_array().unwrap().len(), 1);
}
