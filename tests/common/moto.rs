//! Tests against moto (the AWS emulator `make test` starts): SDK clients and a fresh DynamoDB
//! table per test, created by the same code as `scimctl table create`.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::Client;

use scim_server::store::dynamo::calls::CallCounter;
use scim_server::store::dynamo::item::Item;
use scim_server::store::dynamo::table::create_table;
use scim_server::store::DynamoStore;

/// The moto endpoint. Not set means the tests were not started by `make test`: fail loudly (CI
/// always sets it; a silent skip would hide that DynamoDB was never tested).
pub fn endpoint() -> String {
    match std::env::var("SCIM_TEST_AWS_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "SCIM_TEST_AWS_ENDPOINT is not set: the DynamoDB tests need the moto server. Run them via \
             `make test`, or `VENV=.venv tests/tools/with_moto.sh cargo test ...`"
        ),
    }
}

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .load()
        .await
}

pub async fn dynamo_client() -> Client {
    Client::new(&sdk_config().await)
}

/// A new, uniquely named table with the project's definition.
pub async fn new_table(client: &Client) -> String {
    let name = format!("scim-test-{}", uuid::Uuid::new_v4());
    create_table(client, &name, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("create table {name}: {e}"));
    name
}

/// A store on a fresh table, with a counter of its DynamoDB calls.
pub struct DynamoFixture {
    pub store: DynamoStore,
    pub calls: CallCounter,
    pub client: Client,
    pub table: String,
}

pub async fn dynamo_fixture() -> DynamoFixture {
    let client = dynamo_client().await;
    let table = new_table(&client).await;
    let (store, calls) = DynamoStore::with_call_counter(&client, table.clone());
    DynamoFixture {
        store,
        calls,
        client,
        table,
    }
}

/// Write `item` to the fixture's table with the raw client, past the store (what a crashed
/// writer would leave behind).
pub async fn raw_put(fx: &DynamoFixture, item: Item) {
    fx.client
        .put_item()
        .table_name(&fx.table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

/// Read one item with the raw client (strongly consistent), past the store.
pub async fn raw_get(fx: &DynamoFixture, pk: &str, sk: &str) -> Option<Item> {
    fx.client
        .get_item()
        .table_name(&fx.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(pk.to_owned()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(sk.to_owned()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

/// A `TestApp` (embedded tokens, the router) on a DynamoDB store with a fresh table: the
/// scenario suites run on it exactly as on the embedded store.
pub async fn dynamo_app() -> super::TestApp {
    super::new_app_with_store(std::sync::Arc::new(dynamo_fixture().await.store))
}

/// Run `scimctl` with `args` against moto; its stdout (the test fails with its stderr if it does).
pub fn scimctl(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimctl"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scimctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `$answer` (an expression awaiting one request) with the DynamoDB operations it made, as sorted
/// operation names read from `$calls` (a `CallCounter`; concurrent reads have no order).
#[allow(unused_macros)]
macro_rules! costed {
    ($calls:expr, $answer:expr) => {{
        $calls.take();
        let answer = $answer;
        let mut ops = $calls.take();
        ops.sort();
        (answer, ops)
    }};
}
#[allow(unused_imports)]
pub(crate) use costed;
