//! Issue 14 (hardening), the items that need no AWS: every spelling of a group's `members` goes
//! through the membership rules (item 3), a bound on the members one request names (item 4),
//! `{}` and `[]` are not a way to remove a singular attribute (item 5), huge paging numbers
//! (item 6), user pages within Lambda's 6 MB response limit (item 7). On the embedded store,
//! through the router.

use crate::common;

use std::time::{Duration, Instant};

use base64::Engine;
use http::{Method, StatusCode};
use serde_json::{json, Value};

use common::requests::{
    create_group, enc, id_of, member_ids, ok, patch_group, patch_user, seed_user, GROUP_URN,
};
use common::{new_app, user_body, TestApp};
/// `scim::members::MAX_MEMBERS_PER_REQUEST`, spelt out so that this file also builds against the
/// code before the bound (to show the tests fail there).
const MAX_MEMBERS_PER_REQUEST: usize = 1_000;

async fn group(t: &TestApp, name: &str) -> String {
    id_of(&create_group(t, name, &[]).await)
}

async fn members_of(t: &TestApp, gid: &str) -> Vec<String> {
    let body = ok(&t.call(Method::GET, &format!("/Groups/{gid}"), None).await);
    member_ids(&body).into_iter().collect()
}

/// The group as stored holds no `members` among its attributes.
async fn assert_no_stored_members(t: &TestApp, gid: &str) {
    let stored = t.store.get_group(&t.tenant, gid).await.unwrap().unwrap();
    assert!(
        stored
            .attributes
            .keys()
            .all(|k| !k.to_lowercase().contains("members") && k != GROUP_URN),
        "{:?}",
        stored.attributes
    );
}

#[tokio::test]
async fn every_spelling_of_members_goes_through_the_membership_rules() {
    let t = new_app();
    let mine = seed_user(&t, "alice@example.com").await;
    // A user of another tenant of the same app: its id must never become a member here.
    let other = t
        .call_as(
            &t.token_for("globex"),
            Method::POST,
            "/Users",
            Some(user_body("mallory@example.com")),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED);
    let foreign = id_of(&other.body);
    let gid = group(&t, "Engineering").await;

    // The three shapes that bypassed the member plan, each with the foreign id.
    let bypasses = [
        (
            json!([{"op": "replace", "value": {GROUP_URN: {"members": [{"value": foreign}]}}}]),
            "invalidValue",
        ),
        (
            json!([{"op": "add", "value": {format!("members[value eq \"{foreign}\"]"): {"value": foreign}}}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "value": {"members.display": "x"}}]),
            "mutability",
        ),
        (
            json!([{"op": "add", "value": {format!("{GROUP_URN}:Members"): [{"value": foreign}]}}]),
            "invalidValue",
        ),
    ];
    for (ops, scim_type) in bypasses {
        let a = patch_group(&t, &gid, ops.clone()).await;
        a.assert_error(400, Some(scim_type));
        assert!(members_of(&t, &gid).await.is_empty(), "{ops}");
        assert_no_stored_members(&t, &gid).await;
    }

    // The same spellings with a member of this tenant go through the plan.
    let a = patch_group(
        &t,
        &gid,
        json!([{"op": "add", "value": {GROUP_URN: {"members": [{"value": mine}], "displayName": "Eng"}}}]),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(members_of(&t, &gid).await, std::slice::from_ref(&mine));
    let body = ok(&t.call(Method::GET, &format!("/Groups/{gid}"), None).await);
    assert_eq!(body["displayName"], "Eng");
    assert_no_stored_members(&t, &gid).await;
    // A no-path filtered key with null removes that member (row 14's null, row 7's filter).
    let a = patch_group(
        &t,
        &gid,
        json!([{"op": "replace", "value": {format!("members[value eq \"{mine}\"]"): null}}]),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert!(members_of(&t, &gid).await.is_empty());
}

#[tokio::test]
async fn members_per_request_are_bounded_and_parsed_in_linear_time() {
    let t = new_app();
    let gid = group(&t, "Big").await;
    let too_many: Vec<Value> = (0..=MAX_MEMBERS_PER_REQUEST)
        .map(|i| json!({"value": format!("u{i}")}))
        .collect();
    let a = t
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "x", "members": too_many})),
        )
        .await;
    a.assert_error(400, Some("tooMany"));
    let bound = MAX_MEMBERS_PER_REQUEST.to_string();
    assert!(
        a.body["detail"].as_str().unwrap().contains(&bound),
        "{}",
        a.body
    );
    let a = t
        .call(
            Method::PUT,
            &format!("/Groups/{gid}"),
            Some(json!({"displayName": "Big", "members": too_many})),
        )
        .await;
    a.assert_error(400, Some("tooMany"));
    // Spread over several operations of one PATCH: the bound is per request.
    let half: Vec<Value> = too_many[..MAX_MEMBERS_PER_REQUEST / 2 + 1].to_vec();
    let a = patch_group(
        &t,
        &gid,
        json!([
            {"op": "add", "path": "members", "value": half},
            {"op": "remove", "path": "members", "value": half}
        ]),
    )
    .await;
    a.assert_error(400, Some("tooMany"));
    // 40,000 ids in one POST (bare ids, to stay under the 1 MiB body limit) are refused at
    // once, whatever the machine: no per-member work happens past the bound.
    let huge: Vec<Value> = (0..40_000).map(|i| json!(format!("{i:x}"))).collect();
    let start = Instant::now();
    let a = t
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "y", "members": huge})),
        )
        .await;
    a.assert_error(400, Some("tooMany"));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(members_of(&t, &gid).await.is_empty());
}

#[tokio::test]
async fn a_singular_attribute_given_an_empty_object_or_list_is_invalid_value() {
    let t = new_app();
    let id = seed_user(&t, "bjensen@example.com").await;
    let before = ok(&t.call(Method::GET, &format!("/Users/{id}"), None).await);
    assert_eq!(before["active"], true);
    for ops in [
        json!([{"op": "replace", "path": "active", "value": {}}]),
        json!([{"op": "replace", "path": "active", "value": []}]),
        json!([{"op": "add", "path": "active", "value": {}}]),
        json!([{"op": "replace", "value": {"active": {}}}]),
        json!([{"op": "replace", "value": {"active": []}}]),
        json!([{"op": "replace", "path": "name.givenName", "value": {}}]),
        json!([{"op": "replace", "value": {"name.givenName": {}}}]),
        json!([{"op": "replace", "path": "name", "value": {"givenName": []}}]),
        json!([{"op": "replace", "path": "title", "value": []}]),
        json!([{"op": "replace", "path": "name", "value": []}]),
    ] {
        let a = patch_user(&t, &id, ops.clone()).await;
        a.assert_error(400, Some("invalidValue"));
        let now = ok(&t.call(Method::GET, &format!("/Users/{id}"), None).await);
        assert_eq!(now, before, "{ops} changed the user");
    }
    // POST and PUT likewise.
    let mut body = user_body("new@example.com");
    body["active"] = json!({});
    t.call(Method::POST, "/Users", Some(body))
        .await
        .assert_error(400, Some("invalidValue"));
    let mut body = user_body("bjensen@example.com");
    body["title"] = json!([]);
    t.call(Method::PUT, &format!("/Users/{id}"), Some(body))
        .await
        .assert_error(400, Some("invalidValue"));
    let mut body = user_body("bjensen@example.com");
    body["name"] = json!({"givenName": {}});
    t.call(Method::PUT, &format!("/Users/{id}"), Some(body))
        .await
        .assert_error(400, Some("invalidValue"));
    // `null` keeps its meaning: remove (ARCHITECTURE.md, IdP shapes row 14); so do `[]` for a
    // multi-valued attribute and `{}` for a complex one.
    let a = patch_user(
        &t,
        &id,
        json!([
            {"op": "replace", "path": "active", "value": null},
            {"op": "replace", "path": "emails", "value": []},
            {"op": "replace", "value": {"name": {}}}
        ]),
    )
    .await;
    let after = ok(&a);
    assert!(after.get("active").is_none(), "{after}");
    assert!(after.get("emails").is_none(), "{after}");
}

/// A valid offset cursor of tenant "acme" carrying `n`.
fn offset_cursor(n: &str) -> String {
    format!(
        "o.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("acme\n{n}"))
    )
}

#[tokio::test]
async fn huge_paging_numbers_are_refused_or_clamped_never_a_panic() {
    let t = new_app();
    let uid = seed_user(&t, "a@example.com").await;
    let gid = group(&t, "G").await;
    let a = patch_group(
        &t,
        &gid,
        json!([{"op": "add", "path": "members", "value": [{"value": uid}]}]),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let max = i64::MAX.to_string();
    let in_group = enc(&format!("groups.value eq \"{gid}\""));
    let by_name = enc("userName sw \"a\"");
    // startIndex at the largest integer: an empty page, echoing it; never a wrap or a panic.
    for path in [
        format!("/Users?startIndex={max}"),
        format!("/Users?startIndex={max}&count={max}"),
        format!("/Users?startIndex={max}&filter={by_name}"),
        format!("/Users?startIndex={max}&sortBy=userName"),
        format!("/Users?startIndex={max}&filter={in_group}"),
        format!("/Groups?startIndex={max}"),
        format!("/Groups?startIndex={max}&sortBy=displayName"),
    ] {
        let body = ok(&t.call(Method::GET, &path, None).await);
        assert_eq!(body["Resources"], json!([]), "{path}");
        assert_eq!(body["startIndex"], json!(i64::MAX), "{path}");
        assert_eq!(body["totalResults"], 1, "{path}");
    }
    let body = ok(&t
        .call(
            Method::POST,
            "/.search",
            Some(json!({"startIndex": i64::MAX, "count": 200})),
        )
        .await);
    assert_eq!(body["Resources"], json!([]));
    assert_eq!(body["totalResults"], 2);
    // Past i64: not an integer the service reads.
    t.call(Method::GET, "/Users?startIndex=99999999999999999999", None)
        .await
        .assert_error(400, Some("invalidValue"));
    // Offset cursors with numbers past the bound, or not numbers at all: invalidCursor.
    for n in [
        u64::MAX.to_string(),
        "4294967297".into(),
        "-1".into(),
        "1e9".into(),
    ] {
        let c = enc(&offset_cursor(&n));
        for path in [
            format!("/Users?filter={by_name}&cursor={c}"),
            format!("/Users?filter={in_group}&cursor={c}"),
            format!("/Groups?sortBy=displayName&cursor={c}"),
        ] {
            t.call(Method::GET, &path, None)
                .await
                .assert_error(400, Some("invalidCursor"));
        }
        t.call(
            Method::POST,
            "/.search",
            Some(json!({"cursor": offset_cursor(&n)})),
        )
        .await
        .assert_error(400, Some("invalidCursor"));
    }
    // The largest offset accepted gives an empty page.
    let c = enc(&offset_cursor("4294967296"));
    let body = ok(&t
        .call(
            Method::GET,
            &format!("/Users?filter={by_name}&cursor={c}"),
            None,
        )
        .await);
    assert_eq!(body["Resources"], json!([]));
    let body = ok(&t
        .call(
            Method::POST,
            "/.search",
            Some(json!({"cursor": offset_cursor("4294967296")})),
        )
        .await);
    assert_eq!(body["Resources"], json!([]));
    // An offset cursor where a store cursor belongs, and the reverse.
    t.call(Method::GET, &format!("/Users?cursor={c}"), None)
        .await
        .assert_error(400, Some("invalidCursor"));
}

/// Lambda answers at most 6 MB; the transport keeps a margin (`MAX_LAMBDA_PAYLOAD_BYTES`).
const LAMBDA_BUDGET: usize = 5_800_000;

#[tokio::test]
async fn user_pages_fit_lambdas_response_limit() {
    let t = new_app();
    // 20 users of about 380 KB each (the store allows 400 KB): 7.6 MB for one page of 20.
    let mut ids = Vec::new();
    for i in 0..20 {
        let mut body = user_body(&format!("big{i:02}@example.com"));
        body["title"] = json!("t".repeat(380_000));
        let a = t.call(Method::POST, "/Users", Some(body)).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        ids.push(id_of(&a.body));
    }
    ids.sort();
    // Cursor paging: every page fits, nextCursor continues exactly after the cut.
    let mut seen = Vec::new();
    let mut path = "/Users?count=20&cursor=".to_owned();
    let mut pages = 0;
    loop {
        let a = t.call(Method::GET, &path, None).await;
        let body = ok(&a);
        assert!(a.raw.len() <= LAMBDA_BUDGET, "{} bytes", a.raw.len());
        let items = body["Resources"].as_array().unwrap();
        assert!(!items.is_empty());
        assert_eq!(body["itemsPerPage"], items.len());
        seen.extend(items.iter().map(id_of));
        pages += 1;
        match body.get("nextCursor").and_then(Value::as_str) {
            Some(c) => path = format!("/Users?count=20&cursor={}", enc(c)),
            None => break,
        }
    }
    assert!(pages >= 2, "a 7.6 MB page was not cut");
    assert_eq!(seen, ids, "every user exactly once, in order");
    // startIndex paging continues at startIndex + itemsPerPage.
    let mut seen = Vec::new();
    let mut start = 1;
    while start <= ids.len() {
        let a = t
            .call(
                Method::GET,
                &format!("/Users?count=20&startIndex={start}"),
                None,
            )
            .await;
        let body = ok(&a);
        assert!(a.raw.len() <= LAMBDA_BUDGET, "{} bytes", a.raw.len());
        let items = body["Resources"].as_array().unwrap();
        assert!(!items.is_empty());
        seen.extend(items.iter().map(id_of));
        start += items.len();
    }
    assert_eq!(seen, ids);
    // An in-memory page (sorted): the offset cursor continues after the cut too.
    let a = t
        .call(Method::GET, "/Users?count=20&sortBy=userName&cursor=", None)
        .await;
    let body = ok(&a);
    assert!(a.raw.len() <= LAMBDA_BUDGET);
    let first = body["Resources"].as_array().unwrap().len();
    assert!(first < 20);
    let c = enc(body["nextCursor"].as_str().unwrap());
    let body = ok(&t
        .call(
            Method::GET,
            &format!("/Users?count=20&sortBy=userName&cursor={c}"),
            None,
        )
        .await);
    assert_eq!(body["startIndex"], first + 1);
}
