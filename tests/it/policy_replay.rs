//! Issue 19, "Done when": the IdP-shaped request sequences of `tests/fixtures/idp/` (users) and
//! `tests/fixtures/groups/` (groups) replayed through the router, on both stores,
//!
//! 1. against tenants with no policy: one that never had a settings record, one whose every
//!    policy was set and then cleared. Each answers what the fixtures expect (today's answers),
//!    and both answer byte for byte the same once ids and timestamps are masked;
//! 2. against a tenant per IdP shape with all four policies set (ARCHITECTURE.md, Tenant
//!    policies and Roles from groups): the fixture is replayed with the steps a policy answers
//!    otherwise re-expected (the refusal's status, `scimType` and detail), and IdP-shaped steps of
//!    our own added where the fixture has no such request (a create beyond the seats, a foreign
//!    domain, a rename, a role read). Every other step keeps the fixture's expectation, so a
//!    refusal that leaves the rest of the sequence running is checked step by step after it.

use std::sync::Arc;

use http::Method;
use serde_json::{json, Value};

use crate::common::replay::{run_flow, Transcript};
use crate::common::requests::{fixture, tenant};
use crate::common::{new_app_for_tenant, TestApp};
use crate::idp_groups_replay::{load as load_group_flow, replay_doc};
use scim_server::audit::Action;
use scim_server::store::audit::{AuditLog, AuditQuery};
use scim_server::store::policies::init_seats;
use scim_server::store::Store;

const ROLES: &str = "urn:scim-server:schemas:extension:roles:1.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

const USER_FLOWS: &[&str] = &[
    "okta-user-lifecycle",
    "entra-user-lifecycle",
    "entra-compliant-dialect",
    "onelogin-user-put",
];
const GROUP_FLOWS: &[&str] = &[
    "okta-group-push.json",
    "entra-group-sync.json",
    "rfc-member-removal.json",
];

/// Every policy key, cleared.
const CLEARED: &[&str] = &[
    "seat_limit=none",
    "domains=none",
    "protected=none",
    "roles=none",
    "role_rules=none",
    "role_ceiling=none",
];

/// One store and its audit trail (the same object).
pub struct Stores {
    store: Arc<dyn Store>,
    log: Arc<dyn AuditLog>,
}

fn stores<S: Store + AuditLog + 'static>(s: S) -> Stores {
    let s = Arc::new(s);
    Stores {
        store: s.clone(),
        log: s,
    }
}

/// Set `pairs` on `name` as `scimctl tenant set` does (the seats counted before the settings
/// when the pairs name `seat_limit`), and an app with a token of that tenant.
async fn set(s: &Stores, name: &str, pairs: &[&str]) -> TestApp {
    let t = tenant(name);
    let current = s.store.get_settings(&t).await.unwrap().unwrap_or_default();
    let next = current.settings.assign(pairs).unwrap();
    if pairs.iter().any(|p| p.starts_with("seat_limit=")) {
        init_seats(&*s.store, &t, next.seat_limit).await.unwrap();
    }
    s.store
        .put_settings(&t, &next, current.version)
        .await
        .unwrap();
    new_app_for_tenant(s.store.clone(), name)
}

fn user_flow(flow: &str) -> Value {
    fixture(&format!("idp/{flow}.json"))
}

/// `s` with every UUID (resource ids, and the `$ref`/`location` URLs holding them) as `<id>`.
fn without_ids(s: &str) -> String {
    let is_uuid = |b: &[u8]| {
        b.len() == 36
            && b.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    let mut out = String::with_capacity(s.len());
    let mut skip_to = 0;
    for (i, ch) in s.char_indices() {
        if i < skip_to {
            continue;
        }
        if s.len() >= i + 36 && is_uuid(&s.as_bytes()[i..i + 36]) {
            out.push_str("<id>");
            skip_to = i + 36;
        } else {
            out.push(ch);
        }
    }
    out
}

/// An answer with ids and timestamps masked: what two tenants replaying the same sequence must
/// answer alike. Versions are kept: the same writes give the same versions. Lists of resources
/// and of members are in id order, which masking hides, so they are compared sorted.
fn masked(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(without_ids(s)),
        Value::Array(a) => Value::Array(a.iter().map(masked).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| match (k.as_str(), masked(x)) {
                    ("created" | "lastModified", _) => (k.clone(), json!("<time>")),
                    ("Resources" | "members" | "groups", Value::Array(mut a)) => {
                        a.sort_by_key(Value::to_string);
                        (k.clone(), Value::Array(a))
                    }
                    (_, x) => (without_ids(k), x),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn masked_all(t: &Transcript) -> Vec<(u16, Value)> {
    t.iter().map(|(s, b)| (*s, masked(b))).collect()
}

/// Policy refusals in `t`'s audit trail: (policy, resource type) of each.
async fn refusals(s: &Stores, t: &TestApp) -> Vec<(String, String)> {
    let all = AuditQuery {
        limit: 1000,
        ..AuditQuery::default()
    };
    let mut r: Vec<(String, String)> = s
        .log
        .audit_records(&t.tenant, &all)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == Action::PolicyRefused)
        .map(|r| (r.refused.unwrap_or_default(), r.resource_type))
        .collect();
    r.sort();
    r
}

/// A tenant without a settings record and one whose policies were all set and then cleared
/// answer every fixture as the fixture expects, and alike (item 1 of the module documentation).
async fn no_policies_answer_as_today(s: &Stores) {
    let every = [
        "seat_limit=50",
        "domains=example.com",
        "protected=alice@example.com",
        r#"role_rules=[{"group": "Admins", "role": "admin", "priority": 1}]"#,
        "role_ceiling=member",
    ];
    let flows = USER_FLOWS
        .iter()
        .map(|f| (true, *f))
        .chain(GROUP_FLOWS.iter().map(|f| (false, *f)));
    for (i, (users, flow)) in flows.enumerate() {
        // A fresh pair of tenants per flow: each fixture starts from an empty tenant.
        let plain = new_app_for_tenant(s.store.clone(), &format!("plain{i}"));
        set(s, &format!("cleared{i}"), &every).await;
        let cleared = set(s, &format!("cleared{i}"), CLEARED).await;
        assert_eq!(s.store.get_settings(&plain.tenant).await.unwrap(), None);
        let mut answers = Vec::new();
        for t in [&plain, &cleared] {
            let transcript = if users {
                run_flow(t, &user_flow(flow))
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", t.tenant))
            } else {
                replay_doc(t, flow, &load_group_flow(flow)).await
            };
            assert!(refusals(s, t).await.is_empty(), "{flow}: no refusal");
            answers.push(masked_all(&transcript));
        }
        assert!(!answers[0].is_empty());
        assert_eq!(answers[0], answers[1], "{flow}: the two tenants differ");
    }
}

/// How the policies change a fixture: steps are numbered from 1 as the fixture lists them.
enum Edit {
    /// The step is answered otherwise: its new `expect`.
    Expect(usize, Value),
    /// Steps of our own (in the fixture's format) right after it.
    Then(usize, Vec<Value>),
}

fn edited(mut doc: Value, edits: Vec<Edit>) -> Value {
    let steps = doc["steps"].as_array().cloned().expect("steps");
    for e in &edits {
        let (Edit::Expect(n, _) | Edit::Then(n, _)) = e;
        assert!((1..=steps.len()).contains(n), "no step {n}");
    }
    let mut out = Vec::new();
    for (i, mut step) in steps.into_iter().enumerate() {
        let mut after = Vec::new();
        for e in &edits {
            match e {
                Edit::Expect(n, expect) if *n == i + 1 => step["expect"] = expect.clone(),
                Edit::Then(n, extra) if *n == i + 1 => after.extend(extra.iter().cloned()),
                _ => {}
            }
        }
        out.push(step);
        out.extend(after);
    }
    doc["steps"] = Value::Array(out);
    doc
}

/// The `expect` of a SCIM error (users-fixture format) whose detail contains `detail`.
fn refusal(status: u16, scim_type: Option<&str>, detail: &str) -> Value {
    let mut body = json!({"schemas": [ERROR], "status": status.to_string()});
    let mut absent = Vec::new();
    match scim_type {
        Some(t) => body["scimType"] = t.into(),
        None => absent.push("scimType"),
    }
    json!({"status": status, "body_contains": body, "absent": absent, "detail_contains": detail})
}

/// `protected` refused the step: 403, no `scimType`, the detail says what may not be done.
fn protected(what: &str) -> Value {
    refusal(
        403,
        None,
        &format!("is a protected account of this tenant (its break-glass owner): it cannot be {what} through SCIM"),
    )
}

fn seat_limit() -> Value {
    refusal(403, None, "This tenant has reached its seat limit")
}

/// `domains` refused `value` of `attribute`: 400 `invalidValue` naming both.
fn foreign(attribute: &str, value: &str) -> Value {
    refusal(
        400,
        Some("invalidValue"),
        &format!("{attribute} \"{value}\" is not in this tenant's verified domains"),
    )
}

/// A users-fixture expectation in the groups-fixture format (`body` for `body_contains`).
fn as_group_expect(mut expect: Value) -> Value {
    if let Some(b) = expect
        .as_object_mut()
        .and_then(|m| m.remove("body_contains"))
    {
        expect["body"] = b;
    }
    expect
}

fn user_step(name: &str, method: &str, path: &str, body: Option<Value>, expect: Value) -> Value {
    let mut step = json!({"name": name, "method": method, "path": path, "expect": expect});
    if let Some(b) = body {
        step["body"] = b;
    }
    step
}

fn group_step(name: &str, method: &str, path: &str, body: Option<Value>, expect: Value) -> Value {
    let mut request = json!({"method": method, "path": path});
    if let Some(b) = body {
        request["body"] = b;
    }
    json!({"name": name, "request": request, "expect": as_group_expect(expect)})
}

/// A groups-fixture step reading a seeded user: active, with `role` (or none) from its groups.
fn role_of(user: &str, role: Option<&str>) -> Value {
    let expect = match role {
        Some(r) => json!({"status": 200, "body": {"active": true, ROLES: {"role": r}}}),
        None => json!({"status": 200, "body": {"active": true}, "absent": [ROLES]}),
    };
    json!({
        "name": format!("{user} has role {role:?}"),
        "request": {"method": "GET", "path": format!("/Users/${{user:{user}}}")},
        "expect": expect
    })
}

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// After the replays: nobody was deactivated to make room (every user is active and they hold
/// exactly the `limit` seats), and the trail holds exactly `want` refusals.
async fn check_end(s: &Stores, t: &TestApp, limit: u64, want: &[(&str, &str, usize)]) {
    let list = t.call(Method::GET, "/Users?count=100", None).await;
    assert_eq!(list.body["totalResults"], limit, "{}", list.body);
    let users = list.body["Resources"].as_array().unwrap();
    assert!(
        users.iter().all(|u| u["active"] == true),
        "nobody is deactivated: {}",
        list.body
    );
    let seats = s.store.get_seats(&t.tenant).await.unwrap().unwrap();
    assert_eq!((seats.active, seats.limit), (limit as i64, limit as i64));
    let mut expected: Vec<(String, String)> = want
        .iter()
        .flat_map(|(p, r, n)| std::iter::repeat_n((p.to_string(), r.to_string()), *n))
        .collect();
    expected.sort();
    assert_eq!(refusals(s, t).await, expected);
}

/// Okta: the user lifecycle (no-path PATCH and PUT deactivations of a protected user), then a
/// group push (a protected member removed by filter and by PUT; the group's rename into a rule).
async fn okta_with_every_policy(s: &Stores) {
    let t = set(
        s,
        "okta",
        &[
            "seat_limit=4",
            "domains=okta.local,example.com",
            "protected=test.user@okta.local,alice@example.com",
            r#"role_rules=[{"group": "Test SCIMv2 Renamed", "role": "owner", "priority": 10}]"#,
            "role_ceiling=member",
        ],
    )
    .await;
    let doc = user_flow("okta-user-lifecycle");
    let okta_user = |name: &str, email: &str| {
        let mut u = doc["steps"][2]["body"].clone();
        u["userName"] = name.into();
        u["emails"][0]["value"] = email.into();
        u
    };
    let okta_put = |f: &dyn Fn(&mut Value)| {
        let mut u = doc["steps"][5]["body"].clone();
        f(&mut u);
        u
    };
    let the_user = |version: &str| json!({"status": 200, "body_contains": {"id": "{id}", "userName": "test.user@okta.local", "active": true, "meta": {"version": version}}});
    let found_active = json!({"status": 200, "body_contains": {"totalResults": 1, "Resources": [{"id": "{id}", "active": true}]}});
    let extra = vec![
        user_step(
            "a create outside the verified domains",
            "POST",
            "/Users",
            Some(okta_user("contractor@gmail.com", "contractor@gmail.com")),
            foreign("userName", "contractor@gmail.com"),
        ),
        user_step(
            "a profile push adding an address outside the domains",
            "PUT",
            "/Users/{id}",
            Some(okta_put(&|u| {
                u["emails"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"value": "test.user@gmail.com", "type": "home"}))
            })),
            foreign("emails.value", "test.user@gmail.com"),
        ),
        // `domains` answers first: a rename of a protected user into a foreign domain is a 400.
        user_step(
            "a profile push renaming the protected user into a foreign domain",
            "PUT",
            "/Users/{id}",
            Some(okta_put(&|u| u["userName"] = "test.user@gmail.com".into())),
            foreign("userName", "test.user@gmail.com"),
        ),
        user_step(
            "a profile push renaming the protected user",
            "PUT",
            "/Users/{id}",
            Some(okta_put(&|u| u["userName"] = "t.user@okta.local".into())),
            protected("renamed"),
        ),
        user_step(
            "other attributes of the protected user still change",
            "PUT",
            "/Users/{id}",
            Some(okta_put(&|u| u["title"] = "Engineer".into())),
            json!({"status": 200, "body_contains": {"title": "Engineer", "active": true, "meta": {"version": "W/\"3\""}}}),
        ),
    ];
    let users = edited(
        doc.clone(),
        vec![
            Edit::Expect(9, protected("deactivated")),
            Edit::Expect(10, found_active.clone()),
            // Nothing to change: the user is still active, version 2.
            Edit::Expect(11, the_user("W/\"2\"")),
            Edit::Expect(12, the_user("W/\"2\"")),
            Edit::Expect(13, protected("deactivated")),
            // The user is active, so the re-POST is no restore: the 409 of step 15.
            Edit::Expect(
                14,
                json!({"status": 409, "body_contains": {"scimType": "uniqueness"}}),
            ),
            Edit::Expect(17, the_user("W/\"2\"")),
            Edit::Then(17, extra),
        ],
    );
    run_flow(&t, &users).await.unwrap_or_else(|e| panic!("{e}"));

    let flow = "okta-group-push.json";
    let members = |m: &[&str]| json!({"status": 200, "members": m});
    let groups = edited(
        load_group_flow(flow),
        vec![
            // The group was renamed into the rule (step 4): owner, capped at the ceiling.
            Edit::Then(5, vec![role_of("alice@example.com", Some("member"))]),
            Edit::Expect(8, as_group_expect(protected("removed from a group"))),
            Edit::Expect(9, members(&["alice@example.com", "bob@example.com"])),
            Edit::Expect(10, as_group_expect(protected("removed from a group"))),
            Edit::Then(9, vec![role_of("bob@example.com", Some("member"))]),
            Edit::Expect(
                11,
                json!({"status": 200, "absent": ["groups", ROLES], "body": {"active": true}}),
            ),
            // The group's delete is allowed with a protected member: it goes, the user stays.
            Edit::Then(
                14,
                vec![
                    role_of("alice@example.com", None),
                    group_step(
                        "a fifth user is beyond the four seats",
                        "POST",
                        "/Users",
                        Some(okta_user("dave@example.com", "dave@example.com")),
                        seat_limit(),
                    ),
                ],
            ),
        ],
    );
    replay_doc(&t, flow, &groups).await;
    check_end(
        s,
        &t,
        4,
        &[
            ("protected", "User", 3),
            ("protected", "Group", 2),
            ("seat_limit", "User", 1),
        ],
    )
    .await;
}

/// Entra ID: both PATCH dialects (the string `"False"`, a no-path replace carrying a filtered
/// email), deletes of protected users, then a group sync (value-list removal of a protected
/// member; a rule by the group's externalId survives its rename).
async fn entra_with_every_policy(s: &Stores) {
    let t = set(
        s,
        "entra",
        &[
            "seat_limit=7",
            "domains=testuser.com,contoso.com",
            "protected=Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1,Test_User_Eqpj@testuser.com,alice@contoso.com",
            r#"role_rules=[{"external_id": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "role": "admin", "priority": 5}]"#,
            "role_ceiling=member",
        ],
    )
    .await;
    let active_user = json!({"status": 200, "body_contains": {"id": "{id}", "active": true}});
    let found_active = json!({"status": 200, "body_contains": {"totalResults": 1, "Resources": [{"id": "{id}", "active": true}]}});
    let lifecycle = edited(
        user_flow("entra-user-lifecycle"),
        vec![
            Edit::Expect(10, foreign("emails.value", "updatedEmail@microsoft.com")),
            Edit::Expect(19, protected("deactivated")),
            Edit::Expect(20, found_active.clone()),
            Edit::Expect(21, protected("deleted")),
            Edit::Expect(22, active_user.clone()),
            // Entra's reactivation of an active user changes nothing.
            Edit::Expect(23, active_user.clone()),
            Edit::Expect(24, protected("deleted")),
            Edit::Expect(25, found_active),
            Edit::Then(
                25,
                vec![
                    user_step(
                        "soft delete by a no-path Replace with the string False",
                        "PATCH",
                        "/Users/{id}",
                        Some(patch(
                            json!([{"op": "Replace", "value": {"active": "False"}}]),
                        )),
                        protected("deactivated"),
                    ),
                    user_step(
                        "the lower-case string false",
                        "PATCH",
                        "/Users/{id}",
                        Some(patch(
                            json!([{"op": "replace", "path": "active", "value": "false"}]),
                        )),
                        protected("deactivated"),
                    ),
                ],
            ),
        ],
    );
    run_flow(&t, &lifecycle)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // The refused no-path replace (step 5) changed nothing: employeeNumber is still "100".
    let q = "?aadOptscim062020";
    let compliant = edited(
        user_flow("entra-compliant-dialect"),
        vec![
            Edit::Expect(5, foreign("emails.value", "TestBcwqnm@test.microsoft.com")),
            Edit::Expect(
                6,
                json!({"status": 200, "body_contains": {ENTERPRISE: {"employeeNumber": "100", "manager": {"value": "{managerId}"}}}}),
            ),
            Edit::Expect(
                8,
                json!({"status": 200, "body_contains": {ENTERPRISE: {"employeeNumber": "100"}}, "absent": [format!("/{ENTERPRISE}/manager")]}),
            ),
            Edit::Expect(9, protected("deactivated")),
            Edit::Expect(10, protected("deleted")),
            Edit::Expect(
                11,
                json!({"status": 200, "body_contains": {"userName": "Test_User_Eqpj@testuser.com", "active": true, "nickName": "Babs"}}),
            ),
            Edit::Then(
                12,
                vec![
                    user_step(
                        "rename the protected user",
                        "PATCH",
                        &format!("/Users/{{id}}{q}"),
                        Some(patch(
                            json!([{"op": "Replace", "path": "userName", "value": "Test_User_Eqpj2@testuser.com"}]),
                        )),
                        protected("renamed"),
                    ),
                    user_step(
                        "create outside the domains",
                        "POST",
                        &format!("/Users{q}"),
                        Some(
                            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Test_User_Zrx@fabrikam.com", "externalId": "Zrx", "active": true}),
                        ),
                        foreign("userName", "Test_User_Zrx@fabrikam.com"),
                    ),
                ],
            ),
        ],
    );
    run_flow(&t, &compliant)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let flow = "entra-group-sync.json";
    let groups = edited(
        load_group_flow(flow),
        vec![
            Edit::Then(6, vec![role_of("bob@contoso.com", Some("member"))]),
            Edit::Expect(7, as_group_expect(protected("removed from a group"))),
            Edit::Expect(
                8,
                json!({"status": 200, "members": ["alice@contoso.com", "bob@contoso.com"]}),
            ),
            // The rule names the externalId, which the rename keeps.
            Edit::Then(9, vec![role_of("alice@contoso.com", Some("member"))]),
            Edit::Then(
                12,
                vec![
                    role_of("alice@contoso.com", None),
                    group_step(
                        "an eighth user is beyond the seven seats",
                        "POST",
                        "/Users",
                        Some(
                            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "externalId": "late", "userName": "Test_User_Late@testuser.com", "active": true}),
                        ),
                        seat_limit(),
                    ),
                ],
            ),
        ],
    );
    replay_doc(&t, flow, &groups).await;
    check_end(
        s,
        &t,
        7,
        &[
            ("protected", "Group", 1),
            ("protected", "User", 8),
            ("seat_limit", "User", 1),
        ],
    )
    .await;
}

/// OneLogin: PUTs from the template (string booleans, legacy URNs) against a protected user, a
/// no-path PATCH, then the RFC 7644 §3.5.2.2 removal shapes against a protected member.
async fn onelogin_with_every_policy(s: &Stores) {
    let t = set(
        s,
        "onelogin",
        &[
            "seat_limit=4",
            "domains=example.com",
            "protected=katie.smith@example.com,u1@example.com",
            r#"role_rules=[{"group": "Removal", "role": "owner", "priority": 1}]"#,
        ],
    )
    .await;
    let doc = user_flow("onelogin-user-put");
    let template = |name: &str, email: &str| {
        let mut u = doc["steps"][4]["body"].clone();
        u["userName"] = name.into();
        u["emails"][0]["value"] = email.into();
        u["active"] = "true".into();
        u
    };
    let users = edited(
        doc.clone(),
        vec![
            Edit::Expect(5, protected("deactivated")),
            Edit::Expect(
                6,
                json!({"status": 200, "body_contains": {"totalResults": 1, "Resources": [{"id": "{id}", "active": true}]}}),
            ),
            Edit::Expect(7, protected("deleted")),
            Edit::Expect(
                8,
                json!({"status": 200, "body_contains": {"id": "{id}", "active": true, "title": "VP Sales"}}),
            ),
            Edit::Then(
                8,
                vec![
                    user_step(
                        "rename by PUT from the template",
                        "PUT",
                        "/Users/{id}",
                        Some(template(
                            "katie.jones@example.com",
                            "katie.smith@example.com",
                        )),
                        protected("renamed"),
                    ),
                    user_step(
                        "suspend by a no-path PATCH with a string",
                        "PATCH",
                        "/Users/{id}",
                        Some(patch(
                            json!([{"op": "replace", "value": {"active": "false"}}]),
                        )),
                        protected("deactivated"),
                    ),
                    user_step(
                        "create outside the domains",
                        "POST",
                        "/Users",
                        Some(template(
                            "temp.worker@example.net",
                            "temp.worker@example.net",
                        )),
                        foreign("userName", "temp.worker@example.net"),
                    ),
                    user_step(
                        "create with an address outside the domains",
                        "POST",
                        "/Users",
                        Some(template("sam.lee@example.com", "sam.lee@example.net")),
                        foreign("emails.value", "sam.lee@example.net"),
                    ),
                ],
            ),
        ],
    );
    run_flow(&t, &users).await.unwrap_or_else(|e| panic!("{e}"));

    let flow = "rfc-member-removal.json";
    let removed = || as_group_expect(protected("removed from a group"));
    let groups = edited(
        load_group_flow(flow),
        vec![
            // owner, capped at the default ceiling (admin).
            Edit::Then(1, vec![role_of("u2@example.com", Some("admin"))]),
            Edit::Expect(2, removed()),
            Edit::Expect(
                3,
                json!({"status": 200, "members": ["u1@example.com", "u2@example.com", "u3@example.com"]}),
            ),
            Edit::Expect(4, removed()),
            Edit::Expect(5, removed()),
            Edit::Then(
                5,
                vec![
                    group_step(
                        "another member may go",
                        "PATCH",
                        "/Groups/${group}",
                        Some(patch(
                            json!([{"op": "remove", "path": "members", "value": [{"value": "${user:u2@example.com}"}]}]),
                        )),
                        json!({"status": 204}),
                    ),
                    role_of("u2@example.com", None),
                    role_of("u1@example.com", Some("admin")),
                    group_step(
                        "a fifth user is beyond the four seats",
                        "POST",
                        "/Users",
                        Some(template("new.hire@example.com", "new.hire@example.com")),
                        seat_limit(),
                    ),
                ],
            ),
        ],
    );
    replay_doc(&t, flow, &groups).await;
    check_end(
        s,
        &t,
        4,
        &[
            ("protected", "Group", 3),
            ("protected", "User", 4),
            ("seat_limit", "User", 1),
        ],
    )
    .await;
}

crate::common::on_store!(
    embedded,
    super::stores(scim_server::store::MemoryStore::new()),
    [
        no_policies_answer_as_today,
        okta_with_every_policy,
        entra_with_every_policy,
        onelogin_with_every_policy,
    ]
);

crate::common::on_store!(
    dynamodb,
    super::stores(crate::common::moto::dynamo_fixture().await.store),
    [
        no_policies_answer_as_today,
        okta_with_every_policy,
        entra_with_every_policy,
        onelogin_with_every_policy,
    ]
);
