//! The Groups surface end to end through the router (RFC 7644 §3 for Groups, memberships, the
//! User `groups` attribute, the root `.search`). Each scenario is a function over a `TestApp`, so
//! it can run on every store.

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use common::counting::CountingStore;
use common::requests::{
    create_group, enc, id_of, member_ids, patch_group, resource_at, seed_user, user_groups,
    GROUP_URN,
};
use common::store_ext::GroupStoreTestExt;
use common::TestApp;
use http::{Method, StatusCode};
use serde_json::{json, Value};

use scim_server::scim::members::{Member, MemberKind};
use scim_server::scim::resource::now_rfc3339;
use scim_server::store::MemoryStore;

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

async fn members(t: &TestApp, gid: &str) -> BTreeSet<String> {
    let a = t.call(Method::GET, &format!("/Groups/{gid}"), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    member_ids(&a.body)
}

/// The ids of the groups a user's answer lists, each a direct membership with display and $ref.
async fn groups_of_user(t: &TestApp, uid: &str) -> BTreeSet<String> {
    user_groups(t, uid)
        .await
        .iter()
        .map(|g| {
            assert_eq!(g["type"], "direct");
            assert!(g["display"].is_string() && g["$ref"].is_string(), "{g}");
            g["value"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

async fn list_ids(t: &TestApp, path: &str) -> Vec<String> {
    let a = t.call(Method::GET, path, None).await;
    assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
    a.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect()
}

pub async fn every_route_answers(t: &TestApp) {
    let alice = seed_user(t, "alice@example.com").await;
    let bob = seed_user(t, "bob@example.com").await;
    // POST: 201, Location, ETag, members rendered with $ref and the real type.
    let created = t
        .call(
            Method::POST,
            "/Groups",
            Some(
                json!({"schemas": [GROUP_URN], "displayName": "Engineering", "externalId": "eng",
                        "members": [{"value": alice, "display": "Alice"}]}),
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let gid = id_of(&created.body);
    assert_eq!(
        created.header("location"),
        Some(format!("https://scim.test/scim/v2/Groups/{gid}").as_str())
    );
    assert_eq!(created.header("etag"), Some("W/\"1\""));
    assert_eq!(created.body["meta"]["resourceType"], "Group");
    assert_eq!(created.body["schemas"], json!([GROUP_URN]));
    assert_eq!(
        created.body["members"],
        json!([{"value": alice, "display": "Alice", "type": "User",
                "$ref": format!("https://scim.test/scim/v2/Users/{alice}")}])
    );
    // GET, and 304 on a matching If-None-Match.
    let got = t.call(Method::GET, &format!("/Groups/{gid}"), None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, created.body);
    let req = t
        .request(Method::GET, &format!("/Groups/{gid}"))
        .header("if-none-match", "W/\"1\"")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(t.send(req).await.status, StatusCode::NOT_MODIFIED);
    // List, filter (displayName is case-insensitive), .search.
    create_group(t, "Sales", &[]).await;
    assert_eq!(list_ids(t, "/Groups").await.len(), 2);
    let filter = enc("displayName eq \"ENGINEERING\"");
    assert_eq!(
        list_ids(t, &format!("/Groups?filter={filter}")).await,
        [gid.as_str()]
    );
    let a = t
        .call(
            Method::POST,
            "/Groups/.search",
            Some(json!({"filter": "displayName eq \"engineering\"", "excludedAttributes": ["members"]})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["totalResults"], 1);
    assert!(a.body["Resources"][0].get("members").is_none());
    let sorted: Vec<String> = t
        .call(
            Method::GET,
            "/Groups?sortBy=displayName&sortOrder=descending",
            None,
        )
        .await
        .body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(sorted, ["Sales", "Engineering"]);
    // PATCH: 204 with the new ETag; 200 with the resource when attributes are asked for.
    let a = patch_group(
        t,
        &gid,
        json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert!(a.raw.is_empty());
    assert_eq!(a.header("etag"), Some("W/\"2\""));
    let a = t
        .call(
            Method::PATCH,
            &format!("/Groups/{gid}?attributes=displayName,members"),
            Some(json!({"Operations": [{"op": "replace", "path": "displayName", "value": "Eng"}]})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["displayName"], "Eng");
    assert_eq!(member_ids(&a.body), set(&[&alice, &bob]));
    assert!(a.body.get("externalId").is_none());
    assert_eq!(a.header("etag"), Some("W/\"3\""));
    // A PATCH that changes nothing writes nothing.
    let a = patch_group(
        t,
        &gid,
        json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]),
    )
    .await;
    assert_eq!(a.header("etag"), Some("W/\"3\""));
    // PUT replaces attributes and members; the same PUT again keeps the ETag.
    let put = json!({"schemas": [GROUP_URN], "id": gid, "displayName": "Engineering", "members": [{"value": bob}]});
    let a = t
        .call(Method::PUT, &format!("/Groups/{gid}"), Some(put.clone()))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(member_ids(&a.body), set(&[&bob]));
    assert!(
        a.body.get("externalId").is_none(),
        "PUT replaces: {}",
        a.body
    );
    let etag = a.header("etag").map(str::to_owned);
    let again = t
        .call(Method::PUT, &format!("/Groups/{gid}"), Some(put))
        .await;
    assert_eq!(again.header("etag").map(str::to_owned), etag);
    // If-Match: stale is 412 and changes nothing.
    let req = t
        .request(Method::PATCH, &format!("/Groups/{gid}"))
        .header("if-match", "W/\"1\"")
        .header("content-type", "application/scim+json")
        .body(Bytes::from(
            json!({"Operations": [{"op": "remove", "path": "members"}]}).to_string(),
        ))
        .unwrap();
    t.send(req).await.assert_error(412, None);
    assert_eq!(members(t, &gid).await, set(&[&bob]));
    // DELETE: 204, then 404 everywhere.
    let a = t
        .call(Method::DELETE, &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    for m in [Method::GET, Method::DELETE] {
        t.call(m, &format!("/Groups/{gid}"), None)
            .await
            .assert_error(404, None);
    }
    patch_group(t, &gid, json!([{"op": "remove", "path": "members"}]))
        .await
        .assert_error(404, None);
    assert!(groups_of_user(t, &bob).await.is_empty());
    t.call(Method::PUT, "/Groups", None)
        .await
        .assert_error(405, None);
}

pub async fn patch_accepts_every_member_shape(t: &TestApp) {
    let u: Vec<String> = {
        let mut v = Vec::new();
        for i in 0..5 {
            v.push(seed_user(t, &format!("m{i}@example.com")).await);
        }
        v
    };
    let gid = id_of(&create_group(t, "Shapes", &[]).await);
    let nested = id_of(&create_group(t, "Nested", &[]).await);
    // Capitalised ops, $ref null (Entra), no type (Okta, row 13), a group member.
    let a = patch_group(t, &gid, json!([
        {"op": "Add", "path": "members", "value": [{"$ref": null, "value": u[0]}, {"value": u[1]}, {"value": u[2]}, {"value": u[3]}]},
        {"op": "ADD", "path": "members", "value": {"value": nested, "type": "User"}}
    ]))
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let doc = t
        .call(Method::GET, &format!("/Groups/{gid}"), None)
        .await
        .body;
    let kind_of_nested = doc["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["value"] == nested.as_str())
        .unwrap()["type"]
        .clone();
    assert_eq!(kind_of_nested, "Group", "the store decides the type");
    // Row 6: remove with a value list removes only those.
    patch_group(
        t,
        &gid,
        json!([{"op": "Remove", "path": "members", "value": [{"value": u[0]}]}]),
    )
    .await;
    assert_eq!(members(t, &gid).await, set(&[&u[1], &u[2], &u[3], &nested]));
    // Row 7: filtered removal; removing an absent member is not an error.
    let a = patch_group(
        t,
        &gid,
        json!([
            {"op": "remove", "path": format!("members[value eq \"{}\"]", u[1])},
            {"op": "remove", "path": format!("members[value eq \"{}\"]", u[4])}
        ]),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(members(t, &gid).await, set(&[&u[2], &u[3], &nested]));
    // A general value filter.
    patch_group(
        t,
        &gid,
        json!([{"op": "remove", "path": "members[type eq \"Group\"]"}]),
    )
    .await;
    assert_eq!(members(t, &gid).await, set(&[&u[2], &u[3]]));
    // Okta's rename: no path, `id` inside; members in a no-path value.
    let a = patch_group(t, &gid, json!([{"op": "replace", "value": {"id": gid, "displayName": "Renamed", "members": [{"value": u[4]}]}}])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let doc = t
        .call(Method::GET, &format!("/Groups/{gid}"), None)
        .await
        .body;
    assert_eq!(doc["displayName"], "Renamed");
    assert_eq!(member_ids(&doc), set(&[&u[4]]));
    // replace members, then row 17: remove with no value clears.
    patch_group(
        t,
        &gid,
        json!([{"op": "replace", "path": "members", "value": [{"value": u[0]}, {"value": u[1]}]}]),
    )
    .await;
    assert_eq!(members(t, &gid).await, set(&[&u[0], &u[1]]));
    patch_group(t, &gid, json!([{"op": "remove", "path": "members"}])).await;
    assert!(members(t, &gid).await.is_empty());
    // Sub-attributes of members are immutable; filtered adds are not a thing.
    patch_group(t, &gid, json!([{"op": "replace", "path": format!("members[value eq \"{}\"].display", u[0]), "value": "x"}]))
        .await
        .assert_error(400, Some("mutability"));
    patch_group(
        t,
        &gid,
        json!([{"op": "add", "path": "members[value eq \"x\"]", "value": {"value": "x"}}]),
    )
    .await
    .assert_error(400, Some("invalidPath"));
}

pub async fn bad_members_are_invalid_value_and_change_nothing(t: &TestApp) {
    let alice = seed_user(t, "alice@example.com").await;
    let other = t.token_for("globex");
    let foreign = t
        .call_as(
            &other,
            Method::POST,
            "/Users",
            Some(common::user_body("eve@globex.com")),
        )
        .await;
    let foreign = id_of(&foreign.body);
    let gid = id_of(&create_group(t, "Team", &[&alice]).await);
    for missing in [
        foreign.as_str(),
        "2f1c1c0e-0000-4000-8000-000000000000",
        "not-an-id",
    ] {
        let a = patch_group(
            t,
            &gid,
            json!([
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "add", "path": "members", "value": [{"value": missing}]}
            ]),
        )
        .await;
        a.assert_error(400, Some("invalidValue"));
        let put = json!({"displayName": "Changed", "members": [{"value": missing}]});
        t.call(Method::PUT, &format!("/Groups/{gid}"), Some(put))
            .await
            .assert_error(400, Some("invalidValue"));
        let post = json!({"displayName": "New", "members": [{"value": alice}, {"value": missing}]});
        t.call(Method::POST, "/Groups", Some(post))
            .await
            .assert_error(400, Some("invalidValue"));
    }
    let a = t.call(Method::GET, &format!("/Groups/{gid}"), None).await;
    assert_eq!(a.body["displayName"], "Team");
    assert_eq!(a.header("etag"), Some("W/\"1\""));
    assert_eq!(member_ids(&a.body), set(&[&alice]));
    assert_eq!(list_ids(t, "/Groups").await, [gid.as_str()]);
    // A group is not its own member; a member needs a value.
    patch_group(
        t,
        &gid,
        json!([{"op": "add", "path": "members", "value": [{"value": gid}]}]),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    patch_group(
        t,
        &gid,
        json!([{"op": "add", "path": "members", "value": [{"display": "x"}]}]),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    t.call(Method::POST, "/Groups", Some(json!({"members": []})))
        .await
        .assert_error(400, Some("invalidValue"));
}

pub async fn memberships_agree_from_both_sides(t: &TestApp) {
    let a = seed_user(t, "a@example.com").await;
    let b = seed_user(t, "b@example.com").await;
    let c = seed_user(t, "c@example.com").await;
    let d = seed_user(t, "d@example.com").await;
    let g1 = id_of(&create_group(t, "G1", &[&a, &b]).await);
    let g2 = id_of(&create_group(t, "G2", &[&b, &c]).await);
    let g3 = id_of(&create_group(t, "G3", &[&g1, &d]).await);
    patch_group(
        t,
        &g1,
        json!([{"op": "add", "path": "members", "value": [{"value": c}]}]),
    )
    .await;
    patch_group(
        t,
        &g2,
        json!([{"op": "remove", "path": "members", "value": [{"value": b}]}]),
    )
    .await;
    let put = json!({"displayName": "G3", "members": [{"value": g1}, {"value": a}]});
    assert_eq!(
        t.call(Method::PUT, &format!("/Groups/{g3}"), Some(put))
            .await
            .status,
        StatusCode::OK
    );
    // Deleting a user removes it from its groups, and changes those groups' ETags.
    let before = t.call(Method::GET, &format!("/Groups/{g1}"), None).await;
    assert_eq!(
        t.call(Method::DELETE, &format!("/Users/{b}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let after = t.call(Method::GET, &format!("/Groups/{g1}"), None).await;
    assert_ne!(before.header("etag"), after.header("etag"));
    // Deleting a group removes its memberships (here: none as a member; c's membership in it).
    assert_eq!(
        t.call(Method::DELETE, &format!("/Groups/{g2}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );

    assert_eq!(members(t, &g1).await, set(&[&a, &c]));
    assert_eq!(members(t, &g3).await, set(&[&g1, &a]));
    // Both directions: (group, user) pairs from the groups' members and from the users' groups.
    let mut from_groups = BTreeSet::new();
    for g in [&g1, &g3] {
        let doc = t
            .call(Method::GET, &format!("/Groups/{g}"), None)
            .await
            .body;
        for m in doc["members"].as_array().unwrap() {
            if m["type"] == "User" {
                from_groups.insert((g.to_string(), m["value"].as_str().unwrap().to_owned()));
            }
        }
    }
    let mut from_users = BTreeSet::new();
    for u in [&a, &c, &d] {
        for g in groups_of_user(t, u).await {
            from_users.insert((g, u.to_string()));
        }
    }
    assert_eq!(from_groups, from_users);
    assert_eq!(groups_of_user(t, &a).await, set(&[&g1, &g3]));
    assert!(groups_of_user(t, &d).await.is_empty());
    // The same relation through filters.
    let f = enc(&format!("groups.value eq \"{g1}\""));
    let mut listed = list_ids(t, &format!("/Users?filter={f}")).await;
    listed.sort();
    let mut want = vec![a.clone(), c.clone()];
    want.sort();
    assert_eq!(listed, want);
    let f = enc(&format!("members.value eq \"{a}\""));
    let mut listed = list_ids(t, &format!("/Groups?filter={f}&excludedAttributes=members")).await;
    listed.sort();
    let mut want = vec![g1.clone(), g3.clone()];
    want.sort();
    assert_eq!(listed, want);
    let f = enc(&format!("groups[value eq \"{g3}\"] and userName sw \"a\""));
    assert_eq!(
        list_ids(t, &format!("/Users?filter={f}")).await,
        [a.as_str()]
    );
    // `groups` is read-only and follows the projection.
    let doc = t
        .call(
            Method::GET,
            &format!("/Users/{a}?excludedAttributes=groups"),
            None,
        )
        .await
        .body;
    assert!(doc.get("groups").is_none());
    let doc = t
        .call(Method::GET, &format!("/Users/{a}?attributes=groups"), None)
        .await
        .body;
    assert_eq!(doc["groups"].as_array().map(Vec::len), Some(2));
    assert!(doc.get("userName").is_none());
    let a_put = json!({"userName": "a@example.com", "groups": [{"value": g2}]});
    let put = t
        .call(Method::PUT, &format!("/Users/{a}"), Some(a_put))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(
        member_ids(&json!({"members": put.body["groups"]})),
        set(&[&g1, &g3])
    );
}

pub async fn concurrent_member_patches_lose_nothing(t: &TestApp) {
    let gid = id_of(&create_group(t, "Busy", &[]).await);
    let mut users = Vec::new();
    for i in 0..16 {
        users.push(seed_user(t, &format!("c{i}@example.com")).await);
    }
    let run = |ops: Vec<Value>| {
        let tasks: Vec<_> = ops
            .into_iter()
            .map(|ops| {
                let t = t.clone();
                let gid = gid.clone();
                tokio::spawn(async move { patch_group(&t, &gid, ops).await.status })
            })
            .collect();
        async move {
            for task in tasks {
                assert_eq!(task.await.unwrap(), StatusCode::NO_CONTENT);
            }
        }
    };
    // Adds are idempotent and unconditioned: none conflicts, none is lost.
    run(users
        .iter()
        .map(|u| json!([{"op": "add", "path": "members", "value": [{"value": u}]}]))
        .collect())
    .await;
    let a = t.call(Method::GET, &format!("/Groups/{gid}"), None).await;
    assert_eq!(member_ids(&a.body).len(), 16);
    assert_eq!(a.header("etag"), Some("W/\"17\""));
    // With an attribute change each PATCH is conditional: lost races are retried, not lost.
    run(users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            json!([
                {"op": "replace", "path": "externalId", "value": format!("x{i}")},
                {"op": "remove", "path": format!("members[value eq \"{u}\"]")}
            ])
        })
        .collect())
    .await;
    let a = t.call(Method::GET, &format!("/Groups/{gid}"), None).await;
    assert!(member_ids(&a.body).is_empty(), "{}", a.body);
    assert_eq!(a.header("etag"), Some("W/\"33\""));
}

pub async fn groups_are_tenant_isolated(t: &TestApp) {
    let alice = seed_user(t, "alice@example.com").await;
    let gid = id_of(&create_group(t, "Private", &[&alice]).await);
    let other = t.token_for("globex");
    let path = format!("/Groups/{gid}");
    for (m, body) in [
        (Method::GET, None),
        (Method::PUT, Some(json!({"displayName": "Mine"}))),
        (
            Method::PATCH,
            Some(json!({"Operations": [{"op": "remove", "path": "members"}]})),
        ),
        (Method::DELETE, None),
    ] {
        t.call_as(&other, m, &path, body)
            .await
            .assert_error(404, None);
    }
    let a = t
        .call_as(
            &other,
            Method::GET,
            &format!("/Groups?filter={}", enc("displayName eq \"Private\"")),
            None,
        )
        .await;
    assert_eq!(a.body["totalResults"], 0);
    let a = t.call_as(&other, Method::GET, "/Groups", None).await;
    assert_eq!(a.body["totalResults"], 0);
    let a = t
        .call_as(
            &other,
            Method::GET,
            &format!(
                "/Users?filter={}",
                enc(&format!("groups.value eq \"{gid}\""))
            ),
            None,
        )
        .await;
    assert_eq!(a.body["totalResults"], 0);
    // globex cannot put acme's user into its own group.
    let post = json!({"displayName": "Theirs", "members": [{"value": alice}]});
    t.call_as(&other, Method::POST, "/Groups", Some(post))
        .await
        .assert_error(400, Some("invalidValue"));
    assert_eq!(members(t, &gid).await, set(&[&alice]));
}

pub async fn root_search_spans_users_then_groups(t: &TestApp) {
    let mut users = Vec::new();
    for n in ["x-ann", "x-ben", "x-cat"] {
        let a = t
            .call(
                Method::POST,
                "/Users",
                Some(json!({"userName": n, "displayName": n})),
            )
            .await;
        users.push(id_of(&a.body));
    }
    let g1 = id_of(&create_group(t, "x-one", &[&users[0]]).await);
    let g2 = id_of(&create_group(t, "x-two", &[]).await);
    let search = |start: usize, count: usize| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
               "filter": "displayName sw \"x-\"", "startIndex": start, "count": count})
    };
    let page = |body: &Value| -> Vec<(String, String)> {
        body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["meta"]["resourceType"].as_str().unwrap().to_owned(),
                    id_of(r),
                )
            })
            .collect()
    };
    let a = t.call(Method::POST, "/.search", Some(search(1, 10))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["totalResults"], 5);
    let all = page(&a.body);
    assert_eq!(all.iter().filter(|(k, _)| k == "User").count(), 3);
    assert_eq!(
        all[3..]
            .iter()
            .map(|(_, id)| id.clone())
            .collect::<BTreeSet<_>>(),
        set(&[&g1, &g2])
    );
    // Pages over the concatenation.
    let a = t.call(Method::POST, "/.search", Some(search(3, 2))).await;
    assert_eq!(page(&a.body), all[2..4].to_vec());
    assert_eq!(
        (
            a.body["startIndex"].as_u64(),
            a.body["itemsPerPage"].as_u64()
        ),
        (Some(3), Some(2))
    );
    let a = t.call(Method::POST, "/.search", Some(search(5, 2))).await;
    assert_eq!(page(&a.body), all[4..].to_vec());
    // Cursors walk the same list.
    let mut walked = Vec::new();
    let mut body = json!({"filter": "displayName sw \"x-\"", "count": 2, "cursor": ""});
    for _ in 0..10 {
        let a = t.call(Method::POST, "/.search", Some(body.clone())).await;
        walked.extend(page(&a.body));
        match a.body.get("nextCursor").and_then(Value::as_str) {
            Some(c) => body["cursor"] = json!(c),
            None => break,
        }
    }
    assert_eq!(walked, all);
    // Each type is projected by its own schema.
    let a = t
        .call(
            Method::POST,
            "/.search",
            Some(json!({"filter": "displayName sw \"x-\"", "attributes": ["displayName"]})),
        )
        .await;
    assert!(a.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r.get("members").is_none() && r.get("groups").is_none()));
}

/// A group too large to return with its members: reads say so, the documented ways around work,
/// writes still answer.
pub async fn large_groups_stay_within_the_response_bound(t: &TestApp) {
    let n = scim_server::service::MAX_MEMBERS_PER_RESPONSE + 1;
    let gid = id_of(&create_group(t, "Everyone", &[]).await);
    let now = now_rfc3339();
    let mut members = Vec::with_capacity(n);
    for i in 0..n {
        let u = resource_at(json!({"userName": format!("bulk{i}@example.com")}), &now);
        t.store
            .create_user(&t.tenant, &u, &common::sys_audit())
            .await
            .unwrap();
        members.push(Member {
            value: u.id,
            kind: MemberKind::User,
            display: Some(format!("bulk{i}@example.com")),
        });
    }
    t.store
        .add_members(&t.tenant, &gid, &members, &now)
        .await
        .unwrap();
    let a = t.call(Method::GET, &format!("/Groups/{gid}"), None).await;
    a.assert_error(400, Some("tooMany"));
    let detail = a.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("excludedAttributes=members") && detail.contains("groups.value eq"),
        "{detail}"
    );
    let a = t
        .call(
            Method::GET,
            &format!("/Groups/{gid}?excludedAttributes=members"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    t.call(Method::GET, "/Groups", None)
        .await
        .assert_error(400, Some("tooMany"));
    let a = t
        .call(Method::GET, "/Groups?excludedAttributes=members", None)
        .await;
    assert_eq!(a.body["totalResults"], 1);
    // The members, paged as users.
    let f = enc(&format!("groups.value eq \"{gid}\""));
    let a = t
        .call(Method::GET, &format!("/Users?filter={f}&count=100"), None)
        .await;
    assert_eq!(
        (
            a.body["totalResults"].as_u64(),
            a.body["itemsPerPage"].as_u64()
        ),
        (Some(n as u64), Some(100))
    );
    let last = t
        .call(
            Method::GET,
            &format!("/Users?filter={f}&startIndex={n}"),
            None,
        )
        .await;
    assert_eq!(last.body["itemsPerPage"], 1);
    let first_cursor = t
        .call(
            Method::GET,
            &format!("/Users?filter={f}&count=100&cursor="),
            None,
        )
        .await;
    let c = first_cursor.body["nextCursor"].as_str().unwrap().to_owned();
    let second = t
        .call(
            Method::GET,
            &format!("/Users?filter={f}&count=100&cursor={}", enc(&c)),
            None,
        )
        .await;
    assert_eq!(second.body["startIndex"], 101);
    // Writes still answer: a PATCH needs no member read; a PUT shrinks the group by a diff.
    let extra = seed_user(t, "extra@example.com").await;
    let a = patch_group(
        t,
        &gid,
        json!([{"op": "add", "path": "members", "value": [{"value": extra}]}]),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = t
        .call(
            Method::PATCH,
            &format!("/Groups/{gid}?attributes=displayName,members"),
            Some(json!({"Operations": [{"op": "replace", "path": "displayName", "value": "All"}]})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.get("members").is_none(), "left out past the bound");
    let put = json!({"displayName": "All", "members": [{"value": extra}]});
    let a = t
        .call(Method::PUT, &format!("/Groups/{gid}"), Some(put))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(member_ids(&a.body), set(&[&extra]));
}

/// Reads that leave members out cost one group read, whatever the group's size.
pub async fn member_free_reads_do_not_read_members(t: &TestApp, counts: &CountingStore) {
    let alice = seed_user(t, "alice@example.com").await;
    let gid = id_of(&create_group(t, "Counted", &[&alice]).await);
    counts.take();
    let a = t
        .call(
            Method::GET,
            &format!("/Groups/{gid}?excludedAttributes=members"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        counts.take().into_iter().collect::<Vec<_>>(),
        [("get_group", 1)]
    );
    let f = enc("displayName eq \"counted\"");
    let a = t
        .call(
            Method::GET,
            &format!("/Groups?excludedAttributes=members&filter={f}"),
            None,
        )
        .await;
    assert_eq!(a.body["totalResults"], 1);
    assert_eq!(
        counts.take().into_iter().collect::<Vec<_>>(),
        [("find_groups_by_display_name", 1)]
    );
    // A member add: a check that the member exists and whether it already is one, one write.
    let bob = seed_user(t, "bob@example.com").await;
    counts.take();
    let a = patch_group(
        t,
        &gid,
        json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let calls = counts.take();
    assert_eq!(calls.get("list_members"), None, "{calls:?}");
    assert_eq!(calls.get("update_group"), Some(&1), "{calls:?}");
    // A user without its groups is one read; with them, one read of the user with its groups
    // (on DynamoDB one GetItem: the item carries its group references).
    t.call(
        Method::GET,
        &format!("/Users/{alice}?excludedAttributes=groups"),
        None,
    )
    .await;
    assert_eq!(
        counts.take().into_iter().collect::<Vec<_>>(),
        [("get_user", 1)]
    );
    t.call(Method::GET, &format!("/Users/{alice}"), None).await;
    assert_eq!(
        counts.take().into_iter().collect::<Vec<_>>(),
        [("get_user_with_groups", 1)]
    );
}

common::on_store!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    embedded,
    crate::common::new_app(),
    [
        every_route_answers,
        patch_accepts_every_member_shape,
        bad_members_are_invalid_value_and_change_nothing,
        memberships_agree_from_both_sides,
        concurrent_member_patches_lose_nothing,
        groups_are_tenant_isolated,
        root_search_spans_users_then_groups,
        large_groups_stay_within_the_response_bound,
    ]
);

common::on_store!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    dynamodb,
    crate::common::moto::dynamo_app().await,
    [
        every_route_answers,
        patch_accepts_every_member_shape,
        bad_members_are_invalid_value_and_change_nothing,
        memberships_agree_from_both_sides,
        concurrent_member_patches_lose_nothing,
        groups_are_tenant_isolated,
        root_search_spans_users_then_groups,
    ]
);

/// The same scenario on DynamoDB needs 10,001 users and memberships on moto (about 3 minutes,
/// most of it creating the users one transaction at a time): run by `make test-scale`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "10,001 users on moto take minutes: make test-scale"]
async fn dynamodb_large_groups_stay_within_the_response_bound() {
    large_groups_stay_within_the_response_bound(&common::moto::dynamo_app().await).await;
}

#[tokio::test]
async fn embedded_member_free_reads_do_not_read_members() {
    let counts = Arc::new(CountingStore::new(Arc::new(MemoryStore::new())));
    let t = common::new_app_with_store(counts.clone());
    member_free_reads_do_not_read_members(&t, &counts).await;
}

#[tokio::test]
async fn dynamodb_member_free_reads_do_not_read_members() {
    let store = common::moto::dynamo_fixture().await.store;
    let counts = Arc::new(CountingStore::new(Arc::new(store)));
    let t = common::new_app_with_store(counts.clone());
    member_free_reads_do_not_read_members(&t, &counts).await;
}
