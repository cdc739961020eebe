//! IdP replay tests: the request sequences Okta, Entra ID and OneLogin send, from
//! `tests/fixtures/idp/`, replayed through the router (see `common::replay` for the format).
//!
//! Each flow is a function over a [`TestApp`], so another store can run the same fixtures by
//! adding one `on_store!` line.

use crate::common;

use common::replay::run_flow;
use common::requests::{fixture, fixtures_dir};
use common::TestApp;
use serde_json::Value;

/// Every flow this file replays; `every_fixture_is_replayed` keeps it in step with the directory.
const FLOWS: &[&str] = &[
    "okta-user-lifecycle",
    "entra-user-lifecycle",
    "entra-compliant-dialect",
    "onelogin-user-put",
];

/// The fixture of one flow.
fn load(flow: &str) -> Value {
    fixture(&format!("idp/{flow}.json"))
}

async fn replay(t: &TestApp, flow: &str) {
    if let Err(e) = run_flow(t, &load(flow)).await {
        panic!("{e}");
    }
}

pub async fn okta_user_lifecycle(t: &TestApp) {
    replay(t, "okta-user-lifecycle").await;
}

pub async fn entra_user_lifecycle(t: &TestApp) {
    replay(t, "entra-user-lifecycle").await;
}

pub async fn entra_compliant_dialect(t: &TestApp) {
    replay(t, "entra-compliant-dialect").await;
}

pub async fn onelogin_user_put(t: &TestApp) {
    replay(t, "onelogin-user-put").await;
}

#[test]
fn every_fixture_is_replayed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures_dir("idp"))
        .expect("fixture directory")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .map(str::to_owned)
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = FLOWS.iter().map(|s| (*s).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
    for flow in FLOWS {
        let f = load(flow);
        assert_eq!(f["flow"], *flow, "the \"flow\" field names the file");
        assert!(f["steps"].as_array().is_some_and(|s| !s.is_empty()));
    }
}

/// The runner itself: a wrong expectation must fail, with the step named.
#[tokio::test]
async fn the_runner_reports_mismatches() {
    let t = common::new_app();
    let bad = serde_json::json!({
        "flow": "self-test",
        "steps": [{
            "name": "create",
            "method": "POST",
            "path": "/Users",
            "body": {"userName": "x@example.com"},
            "expect": {"status": 201, "body_contains": {"userName": "y@example.com"}}
        }]
    });
    let e = run_flow(&t, &bad).await.expect_err("must fail");
    assert!(
        e.contains("self-test step 1 (create)") && e.contains("/userName"),
        "{e}"
    );
}

common::on_store!(
    embedded,
    crate::common::new_app(),
    [
        okta_user_lifecycle,
        entra_user_lifecycle,
        entra_compliant_dialect,
        onelogin_user_put,
    ]
);

common::on_store!(
    dynamodb,
    crate::common::moto::dynamo_app().await,
    [
        okta_user_lifecycle,
        entra_user_lifecycle,
        entra_compliant_dialect,
        onelogin_user_put,
    ]
);
