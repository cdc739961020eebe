//! Per-tenant settings (issue 18, item 1): the settings store contract on both adapters, the
//! per-instance cache (no store call per request on a warm tenant, counted on DynamoDB), and
//! `scimctl tenant show|set` against moto.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use serde_json::{json, Value};

use crate::common::moto::{dynamo_fixture, endpoint};
use crate::common::requests::tenant;
use crate::common::{new_app_configured, new_app_with_store};
use scim_server::settings::{Profile, TenantSettings};
use scim_server::store::{MemoryStore, PolicyStore, SettingsStore, StoreError};

fn strict() -> TenantSettings {
    TenantSettings::default()
        .assign(&["profile=strict"])
        .unwrap()
}

/// The contract of `store::settings`, on any adapter.
async fn contract(store: Arc<dyn SettingsStore>) {
    let (acme, other) = (tenant("acme"), tenant("other"));
    assert_eq!(store.get_settings(&acme).await.unwrap(), None);
    // Version 0 means "nothing stored": a create.
    assert_eq!(store.put_settings(&acme, &strict(), 0).await.unwrap(), 1);
    let read = store.get_settings(&acme).await.unwrap().unwrap();
    assert_eq!((read.settings.profile, read.version), (Profile::Strict, 1));
    // A writer that read nothing, or an old version, loses and writes nothing.
    let tolerant = TenantSettings::default();
    assert_eq!(
        store.put_settings(&acme, &tolerant, 0).await,
        Err(StoreError::VersionConflict)
    );
    assert_eq!(store.put_settings(&acme, &tolerant, 1).await.unwrap(), 2);
    assert_eq!(
        store.put_settings(&acme, &strict(), 1).await,
        Err(StoreError::VersionConflict)
    );
    let read = store.get_settings(&acme).await.unwrap().unwrap();
    assert_eq!(
        (read.settings.profile, read.version),
        (Profile::Tolerant, 2)
    );
    // Tenant isolation: the other tenant has no record, and its own is separate.
    assert_eq!(store.get_settings(&other).await.unwrap(), None);
    assert_eq!(store.put_settings(&other, &strict(), 0).await.unwrap(), 1);
    assert_eq!(
        store.get_settings(&acme).await.unwrap().unwrap().version,
        2,
        "another tenant's write leaves acme's record alone"
    );
    // Concurrent writers that all read version 2: exactly one wins, no update is lost silently.
    let racers = (0..8).map(|_| {
        let store = store.clone();
        let acme = acme.clone();
        tokio::spawn(async move { store.put_settings(&acme, &strict(), 2).await })
    });
    let results: Vec<_> = futures_join(racers).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "{results:?}");
    assert!(results
        .iter()
        .all(|r| matches!(r, Ok(3) | Err(StoreError::VersionConflict))));
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn contract_on_the_embedded_store() {
    contract(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contract_on_dynamodb() {
    contract(Arc::new(dynamo_fixture().await.store)).await;
}

#[tokio::test]
async fn the_item_lives_in_the_tenants_key_space() {
    let fx = dynamo_fixture().await;
    fx.store
        .put_settings(&tenant("acme"), &strict(), 0)
        .await
        .unwrap();
    let items = fx
        .store
        .partition_items(
            &tenant("acme"),
            scim_server::store::dynamo::keys::Partition::Settings,
        )
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    let pk = items[0]["pk"].as_s().unwrap();
    assert_eq!(pk, "T#acme#SETTINGS");
}

/// A stored record this build cannot read is a 500 for that tenant, never the default profile.
#[tokio::test]
async fn an_unreadable_record_is_not_served_as_the_default() {
    let fx = dynamo_fixture().await;
    let mut item = scim_server::store::dynamo::keys::settings(&tenant("acme")).to_attrs();
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    item.insert("version".into(), N("1".into()));
    item.insert("settings".into(), S(r#"{"profile":"lenient"}"#.into()));
    crate::common::moto::raw_put(&fx, item).await;
    let t = new_app_with_store(Arc::new(fx.store));
    let a = t.call(Method::GET, "/ServiceProviderConfig", None).await;
    assert_eq!(a.status, 500, "{}", a.body);
}

/// Warm tenants cost no DynamoDB call for their settings: 20 discovery requests read the record
/// once; a change shows after the TTL, not before.
#[tokio::test]
async fn settings_are_read_once_per_ttl_per_tenant_on_dynamodb() {
    let fx = dynamo_fixture().await;
    let calls = fx.calls.clone();
    let store = Arc::new(fx.store.clone());
    let t = new_app_configured(store.clone(), "acme", |s| {
        s.with_settings_ttl(Duration::from_millis(800))
    });
    calls.take();
    for _ in 0..20 {
        let a = t.call(Method::GET, "/ServiceProviderConfig", None).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body.get("interopProfileConformant"), None);
    }
    assert_eq!(
        calls.take(),
        ["GetItem"],
        "one settings read for 20 requests"
    );
    // Another tenant is read on its own.
    let other = t.token_for("other");
    let a = t
        .call_as(&other, Method::GET, "/ServiceProviderConfig", None)
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(calls.take(), ["GetItem"]);
    // Set strict behind the cache's back: the cached answer holds until the TTL ends.
    store
        .put_settings(&tenant("acme"), &strict(), 0)
        .await
        .unwrap();
    calls.take();
    let a = t.call(Method::GET, "/ServiceProviderConfig", None).await;
    assert_eq!(a.body.get("interopProfileConformant"), None);
    assert!(calls.take().is_empty());
    tokio::time::sleep(Duration::from_millis(900)).await;
    let a = t.call(Method::GET, "/ServiceProviderConfig", None).await;
    assert_eq!(a.body["interopProfileConformant"], Value::Bool(true));
    assert_eq!(calls.take(), ["GetItem"]);
}

/// Reads and lists never read settings (the profile does not change them).
#[tokio::test]
async fn reads_do_not_read_settings() {
    let fx = dynamo_fixture().await;
    let calls = fx.calls.clone();
    let t = new_app_with_store(Arc::new(fx.store));
    calls.take();
    let a = t.call(Method::GET, "/Users/nobody", None).await;
    assert_eq!(a.status, 404);
    assert_eq!(calls.take(), ["GetItem"], "the user read only");
}

fn scimctl_raw(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_scimctl"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint())
        .output()
        .unwrap()
}

/// `scimctl tenant <cmd> --tenant acme --table <table> <extra>...`
fn tenant_args<'a>(cmd: &'a str, table: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["tenant", cmd, "--tenant", "acme", "--table", table];
    args.extend_from_slice(extra);
    args
}

#[tokio::test]
async fn scimctl_tenant_set_and_show() {
    use crate::common::moto::scimctl;
    let fx = dynamo_fixture().await;
    let table = fx.table.as_str();
    const NO_POLICY: &str = "seat_limit=none\ndomains=none\nprotected=none\nroles=viewer,member,admin,owner\nrole_rules=none\nrole_ceiling=none\n";
    assert_eq!(
        scimctl(&tenant_args("show", table, &[])),
        format!("profile=tolerant\n{NO_POLICY}")
    );
    let set = scimctl(&tenant_args("set", table, &["profile=strict"]));
    assert_eq!(set, format!("profile=strict\n{NO_POLICY}"));
    let mut json_args = vec!["--json"];
    json_args.extend(tenant_args("show", table, &[]));
    let v: Value = serde_json::from_str(&scimctl(&json_args)).unwrap();
    assert_eq!(v["settings"]["profile"], "strict");
    assert_eq!(v["version"], 1);
    // Invalid settings are refused with every problem named, exit 2, and nothing written.
    let bad = scimctl_raw(&tenant_args(
        "set",
        table,
        &["profile=lenient", "color=blue"],
    ));
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("profile=\"lenient\" is not valid: profile accepts tolerant or strict"),
        "{err}"
    );
    assert!(err.contains("unknown setting \"color\""), "{err}");
    let after = fx
        .store
        .get_settings(&tenant("acme"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (after.settings.profile, after.version),
        (Profile::Strict, 1)
    );
    // The other tenant is untouched.
    assert_eq!(fx.store.get_settings(&tenant("other")).await.unwrap(), None);

    // seat_limit: the active users are counted when it is set, and `show` reports seats used.
    use scim_server::store::UserStore;
    for (name, active) in [("a", true), ("b", true), ("c", false)] {
        let user = crate::common::requests::resource(json!({"userName": name, "active": active}));
        fx.store
            .create_user(&tenant("acme"), &user, &crate::common::sys_audit())
            .await
            .unwrap();
    }
    let set = scimctl(&tenant_args("set", table, &["seat_limit=5"]));
    assert!(
        set.contains("seat_limit=5\n") && set.ends_with("seats_used=2\n"),
        "{set}"
    );
    let seats = fx.store.get_seats(&tenant("acme")).await.unwrap().unwrap();
    assert_eq!((seats.active, seats.limit), (2, 5));
    let set = scimctl(&tenant_args("set", table, &["seat_limit=none"]));
    assert!(!set.contains("seats_used"), "{set}");
    let seats = fx.store.get_seats(&tenant("acme")).await.unwrap().unwrap();
    assert_eq!(seats.limit, scim_server::store::policies::NO_LIMIT);
}
