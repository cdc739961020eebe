//! An unindexed filter without a sort is answered in one pass (`service/listing.rs`,
//! `page_of_matches`): every match counted, only the requested page kept. These check that the
//! pages it gives are exactly the pages of the full match list (by `startIndex` and by cursor),
//! across the store's scan batches of 1,000, that `totalResults` is exact on every page, and that
//! a sort (which needs every match first) gives the same set. On the embedded store at scale, and
//! on DynamoDB (moto) at a small size.

use crate::common;

use std::sync::Arc;

use common::moto::dynamo_fixture;
use common::requests::{enc, walk_by_index};
use common::{new_app, new_app_with_store, TestApp};
use http::{Method, StatusCode};
use serde_json::{json, Value};

/// `n` users `p0000`..; every third (i % 3 == 0) has the title "match". Returns the ids of the
/// matching ones in the store's list order (what an unsorted filter pages through).
async fn seed(t: &TestApp, n: usize) -> Vec<String> {
    for i in 0..n {
        let mut body = json!({"userName": format!("p{i:04}")});
        if i % 3 == 0 {
            body["title"] = json!("match");
        }
        let a = t.call(Method::POST, "/Users", Some(body)).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
    // The store's order, from plain paging (no filter), then the matching ones.
    let order = walk_by_index(t, "/Users", 1000).await;
    assert_eq!(order.len(), n);
    order
        .iter()
        .filter(|r| r["title"] == "match")
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(a: &Value) -> Vec<String> {
    a["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn pages_equal_the_full_match_list(t: &TestApp, expected: &[String], count: usize) {
    let filter = enc(r#"title eq "match""#);
    let total = expected.len();
    // By startIndex, page after page.
    let mut got = Vec::new();
    let mut start = 1;
    while start <= total {
        let a = t
            .call(
                Method::GET,
                &format!("/Users?filter={filter}&startIndex={start}&count={count}"),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(a.body["totalResults"], total, "page at {start}");
        assert_eq!(a.body["startIndex"], start);
        let page = ids(&a.body);
        assert_eq!(page.len(), count.min(total + 1 - start), "page at {start}");
        assert_eq!(a.body["itemsPerPage"], page.len());
        got.extend(page);
        start += count;
    }
    assert_eq!(got, expected);
    // Past the end: no items, the same total.
    let a = t
        .call(
            Method::GET,
            &format!(
                "/Users?filter={filter}&startIndex={}&count={count}",
                total + 1
            ),
            None,
        )
        .await;
    assert_eq!(a.body["totalResults"], total);
    assert!(ids(&a.body).is_empty());
    // count=0: the total alone.
    let a = t
        .call(
            Method::GET,
            &format!("/Users?filter={filter}&count=0"),
            None,
        )
        .await;
    assert_eq!(a.body["totalResults"], total);
    assert!(a.body["Resources"].as_array().is_none_or(Vec::is_empty));
    // By cursor (RFC 9865): the same list, and the last page has no nextCursor.
    let mut got = Vec::new();
    let mut cursor = String::new();
    for _ in 0..=total / count + 1 {
        let a = t
            .call(
                Method::GET,
                &format!(
                    "/Users?filter={filter}&count={count}&cursor={}",
                    enc(&cursor)
                ),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        got.extend(ids(&a.body));
        match a.body.get("nextCursor").and_then(Value::as_str) {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(got, expected);
    // A sort takes the other path (every match first): the same total, pages drawn from the
    // same set.
    let a = t
        .call(
            Method::GET,
            &format!("/Users?filter={filter}&sortBy=userName&count={count}"),
            None,
        )
        .await;
    assert_eq!(a.body["totalResults"], total);
    let sorted = ids(&a.body);
    assert_eq!(sorted.len(), count.min(total));
    let want: std::collections::HashSet<&String> = expected.iter().collect();
    assert!(sorted.iter().all(|id| want.contains(id)));
    // Another tenant sees none of them.
    let other = t.token_for("globex");
    let a = t
        .call_as(
            &other,
            Method::GET,
            &format!("/Users?filter={filter}"),
            None,
        )
        .await;
    assert_eq!(a.body["totalResults"], 0);
}

#[tokio::test]
async fn unindexed_filter_pages_across_scan_batches_on_the_embedded_store() {
    let t = new_app();
    // 2,500 users: three scan batches of 1,000; 834 matches spread over all three.
    let expected = seed(&t, 2_500).await;
    assert_eq!(expected.len(), 834);
    pages_equal_the_full_match_list(&t, &expected, 100).await;
    pages_equal_the_full_match_list(&t, &expected, 7).await;
}

#[tokio::test]
async fn unindexed_filter_pages_on_dynamodb() {
    let fx = dynamo_fixture().await;
    let t = new_app_with_store(Arc::new(fx.store));
    let expected = seed(&t, 14).await;
    assert_eq!(expected.len(), 5);
    pages_equal_the_full_match_list(&t, &expected, 2).await;
}
