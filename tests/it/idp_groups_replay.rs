//! Replays of the group request sequences identity providers send, from the JSON fixtures in
//! `tests/fixtures/groups/` (each names its source). A fixture lists users to create first and
//! then steps: a request (`${user:<userName>}` and saved `${name}` values are substituted) and
//! what the answer must hold: `status`, a `body` subset, the exact `members` (by userName),
//! `member_type`, and paths that must be `absent`.

use crate::common;

use std::collections::{BTreeSet, HashMap};

use common::replay::{check_detail, subset, Transcript};
use common::requests::{self, seed_user};
use common::TestApp;
use http::Method;
use serde_json::Value;

struct Vars(HashMap<String, String>);

impl Vars {
    fn substitute(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (k, v) in &self.0 {
            out = out.replace(&format!("${{{k}}}"), v);
        }
        assert!(!out.contains("${"), "unresolved placeholder in {out}");
        out
    }

    fn substitute_json(&self, v: &Value) -> Value {
        serde_json::from_str(&self.substitute(&v.to_string())).expect("substituted JSON")
    }
}

/// The value at a dotted path (`Resources.0.members`), if any.
fn at_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(v, |cur, seg| match seg.parse::<usize>() {
            Ok(i) => cur.get(i),
            Err(_) => cur.get(seg),
        })
}

/// The fixture `groups/<fixture>` as stored.
pub fn load(fixture: &str) -> Value {
    requests::fixture(&format!("groups/{fixture}"))
}

pub async fn replay(t: &TestApp, fixture: &str) {
    replay_doc(t, fixture, &load(fixture)).await;
}

/// Replay `doc` (a fixture, possibly edited by the caller; `fixture` names it in failures) and
/// return every answer of its steps. Panics on the first mismatch.
pub async fn replay_doc(t: &TestApp, fixture: &str, doc: &Value) -> Transcript {
    let mut transcript = Transcript::new();
    let mut vars = Vars(HashMap::new());
    let mut names_by_id = HashMap::new();
    for name in doc["users"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let id = seed_user(t, name).await;
        names_by_id.insert(id.clone(), name.to_owned());
        vars.0.insert(format!("user:{name}"), id);
    }
    for step in doc["steps"].as_array().expect("steps") {
        let name = step["name"].as_str().unwrap_or("?");
        let ctx = format!("{fixture}: {name}");
        let req = &step["request"];
        let method =
            Method::from_bytes(req["method"].as_str().expect("method").as_bytes()).expect("method");
        let path = vars.substitute(req["path"].as_str().expect("path"));
        let body = req.get("body").map(|b| vars.substitute_json(b));
        let a = t.call(method, &path, body).await;
        let expect = &step["expect"];
        assert_eq!(
            a.status.as_u16() as u64,
            expect["status"].as_u64().expect("status"),
            "{ctx}: {}",
            a.body
        );
        if let Err(e) = check_detail(expect, &a.body) {
            panic!("{ctx}: {e}");
        }
        if let Some(want) = expect.get("body") {
            if let Err(e) = subset(&vars.substitute_json(want), &a.body, "body") {
                panic!("{ctx}: {e}\n{}", a.body);
            }
        }
        if let Some(want) = expect.get("members").and_then(Value::as_array) {
            let want: BTreeSet<&str> = want.iter().filter_map(Value::as_str).collect();
            let got: BTreeSet<&str> = a.body["members"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    let id = m["value"].as_str().unwrap_or_default();
                    names_by_id.get(id).map(String::as_str).unwrap_or(id)
                })
                .collect();
            assert_eq!(got, want, "{ctx}: {}", a.body);
        }
        if let Some(kind) = expect.get("member_type") {
            for m in a.body["members"].as_array().into_iter().flatten() {
                assert_eq!(&m["type"], kind, "{ctx}: {m}");
                assert!(
                    m["$ref"]
                        .as_str()
                        .is_some_and(|r| r.ends_with(m["value"].as_str().unwrap_or("?"))),
                    "{ctx}: {m}"
                );
            }
        }
        for p in expect
            .get("absent")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            // A key may itself hold dots (an extension URN such as `...:roles:1.0:User`).
            assert!(
                a.body.get(p).is_none() && at_path(&a.body, p).is_none(),
                "{ctx}: {p} should be absent: {}",
                a.body
            );
        }
        if let Some(key) = step.get("save").and_then(Value::as_str) {
            let id = a.body["id"]
                .as_str()
                .expect("saved step answers with an id")
                .to_owned();
            vars.0.insert(key.to_owned(), id);
        }
        transcript.push((a.status.as_u16(), a.body));
    }
    transcript
}

pub async fn okta_group_push(t: &TestApp) {
    replay(t, "okta-group-push.json").await;
}

pub async fn entra_group_sync(t: &TestApp) {
    replay(t, "entra-group-sync.json").await;
}

pub async fn rfc_member_removal(t: &TestApp) {
    replay(t, "rfc-member-removal.json").await;
}

common::on_store!(
    embedded,
    crate::common::new_app(),
    [okta_group_push, entra_group_sync, rfc_member_removal]
);

common::on_store!(
    dynamodb,
    crate::common::moto::dynamo_app().await,
    [okta_group_push, entra_group_sync, rfc_member_removal]
);
