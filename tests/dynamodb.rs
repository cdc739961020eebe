//! DynamoDB specifics beyond the store contract: round trips per SCIM operation, the wiring from
//! configuration, and the table definition (template.yaml == `scimctl table create`).

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use serde_json::json;
use serde_yaml_ng::Value as Yaml;

use common::moto::{dynamo_client, dynamo_fixture, endpoint, new_table};
use common::{new_app_with_store, user_body};
use scim_server::config::{Config, LogFormat};
use scim_server::runtime;
use scim_server::store::dynamo::table::{create_table, TableError, TABLE};
use scim_server::store::{DynamoStore, UserStore};
use scim_server::tenant::TenantId;

// --- round trips -------------------------------------------------------------------------------

#[tokio::test]
async fn each_scim_operation_costs_the_minimum_round_trips() {
    let fx = dynamo_fixture().await;
    let calls = fx.calls.clone();
    let t = new_app_with_store(Arc::new(fx.store));
    // Round trips of one request, as sorted operation names (the list's two reads are concurrent).
    macro_rules! cost {
        ($answer:expr) => {{
            calls.take();
            let a = $answer;
            let mut ops = calls.take();
            ops.sort();
            (a, ops)
        }};
    }

    // Warm the connection and credentials (not DynamoDB operations, but keep them out).
    t.call(Method::GET, "/Users?count=1", None).await;

    let (a, ops) = cost!(
        t.call(Method::POST, "/Users", Some(user_body("rt@example.com")))
            .await
    );
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(ops, ["TransactWriteItems"], "create");
    let id = a.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    for i in 0..4 {
        t.create_user(&format!("other{i}@example.com")).await;
    }

    let (a, ops) = cost!(t.call(Method::GET, &path, None).await);
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(ops, ["GetItem"], "get by id");

    let (a, ops) = cost!(t.call(Method::GET, "/Users/no-such-user", None).await);
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(ops, ["GetItem"], "get of a missing id");

    let filter = "/Users?filter=userName%20eq%20%22RT@example.com%22";
    let (a, ops) = cost!(t.call(Method::GET, filter, None).await);
    assert_eq!(a.body["totalResults"], 1);
    assert_eq!(
        ops,
        ["GetItem", "GetItem"],
        "userName eq (guard, then user)"
    );

    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "externalId", "value": "ext-rt"}]});
    let (a, ops) = cost!(t.call(Method::PATCH, &path, Some(patch.clone())).await);
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        ops,
        ["GetItem", "TransactWriteItems"],
        "PATCH (moves a guard)"
    );

    let (a, ops) = cost!(t.call(Method::PATCH, &path, Some(patch)).await);
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        ops,
        ["GetItem"],
        "PATCH that changes nothing writes nothing"
    );

    let filter = "/Users?filter=externalId%20eq%20%22ext-rt%22";
    let (a, ops) = cost!(t.call(Method::GET, filter, None).await);
    assert_eq!(a.body["totalResults"], 1);
    assert_eq!(ops, ["GetItem", "GetItem"], "externalId eq");

    let mut put = user_body("rt@example.com");
    put["title"] = json!("Engineer");
    let (a, ops) = cost!(t.call(Method::PUT, &path, Some(put)).await);
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(ops, ["GetItem", "TransactWriteItems"], "PUT");

    let (a, ops) = cost!(t.call(Method::GET, "/Users?count=2&cursor=", None).await);
    assert_eq!(a.body["totalResults"], 5);
    assert_eq!(
        ops,
        ["GetItem", "Query"],
        "list page (counter + page, concurrent)"
    );
    let cursor = a.body["nextCursor"]
        .as_str()
        .expect("a next cursor")
        .to_owned();

    let (a, ops) = cost!(
        t.call(
            Method::GET,
            &format!("/Users?count=2&cursor={cursor}"),
            None
        )
        .await
    );
    assert_eq!(a.body["Resources"].as_array().unwrap().len(), 2);
    assert_eq!(ops, ["GetItem", "Query"], "cursor page");

    // Index paging past the first page adds one keys-only Query to skip.
    let (a, ops) = cost!(
        t.call(Method::GET, "/Users?startIndex=3&count=2", None)
            .await
    );
    assert_eq!(a.body["Resources"].as_array().unwrap().len(), 2);
    assert_eq!(ops, ["GetItem", "Query", "Query"], "startIndex page");

    let (a, ops) = cost!(t.call(Method::GET, "/Users?count=0", None).await);
    assert_eq!(a.body["totalResults"], 5);
    assert_eq!(ops, ["GetItem"], "count=0 reads only the counter");

    let (a, ops) = cost!(t.call(Method::DELETE, &path, None).await);
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(ops, ["GetItem", "TransactWriteItems"], "DELETE");

    let (a, ops) = cost!(
        t.call(Method::GET, "/Users?cursor=bm90LWEtY3Vyc29y", None)
            .await
    );
    a.assert_error(400, Some("invalidCursor"));
    assert!(
        ops.is_empty(),
        "a bad cursor is refused before any call: {ops:?}"
    );
}

// --- wiring ------------------------------------------------------------------------------------

fn config(table: &str) -> Config {
    Config {
        table_name: Some(table.to_owned()),
        secret_prefix: None,
        public_base_url: None,
        log_format: LogFormat::Text,
    }
}

#[tokio::test]
async fn runtime_uses_dynamodb_when_a_table_is_configured() {
    let client = dynamo_client().await;
    let table = new_table(&client).await;
    // runtime::build reads the standard AWS_* variables, as the Lambda does.
    assert_eq!(std::env::var("AWS_ENDPOINT_URL").ok(), Some(endpoint()));
    let built = runtime::build(&config(&table), "https").await.unwrap();
    assert_eq!(built.store_kind, "dynamodb");

    let acme = TenantId::parse("acme").unwrap();
    let token = built
        .embedded_tokens
        .as_ref()
        .unwrap()
        .generate(&acme, None)
        .unwrap();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/scim/v2/Users")
        .header("host", "scim.test")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(Bytes::from(user_body("wired@example.com").to_string()))
        .unwrap();
    assert_eq!(built.app.handle(req).await.status(), StatusCode::CREATED);

    // The user is in the table.
    let store = DynamoStore::new(client, table);
    let found = store
        .find_user_by_user_name(&acme, "wired@example.com")
        .await;
    assert!(found.unwrap().is_some());
}

#[tokio::test]
async fn runtime_refuses_to_start_on_a_missing_table() {
    endpoint();
    let Err(e) = runtime::build(&config("scim-test-no-such-table"), "https").await else {
        panic!("started without a table");
    };
    assert!(e.0.contains("ResourceNotFoundException"), "{e}");
    assert!(e.0.contains("scimctl table create"), "{e}");
}

// --- the table definition ----------------------------------------------------------------------

/// template.yaml's `ScimTable` properties. The template uses CloudFormation short tags (`!Ref`,
/// `!Sub`, ...), which serde_yaml_ng keeps as tagged values: only plain values are compared.
fn template_table() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .expect("read template.yaml");
    let doc: Yaml = serde_yaml_ng::from_str(&text).expect("parse template.yaml");
    let table = &doc["Resources"]["ScimTable"];
    assert_eq!(table["Type"].as_str(), Some("AWS::DynamoDB::Table"));
    table["Properties"].clone()
}

fn pairs(list: &Yaml, a: &str, b: &str) -> Vec<(String, String)> {
    list.as_sequence()
        .map(|s| {
            s.iter()
                .map(|e| {
                    let get = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                    (get(a), get(b))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn owned(def: &[(&str, &str)]) -> Vec<(String, String)> {
    def.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn template_scim_table_matches_the_table_definition() {
    let p = template_table();
    let mut attrs = pairs(&p["AttributeDefinitions"], "AttributeName", "AttributeType");
    attrs.sort();
    let mut want = owned(TABLE.attribute_definitions);
    want.sort();
    assert_eq!(attrs, want, "AttributeDefinitions");
    assert_eq!(
        pairs(&p["KeySchema"], "AttributeName", "KeyType"),
        owned(TABLE.key_schema),
        "KeySchema"
    );
    assert_eq!(p["BillingMode"].as_str(), Some(TABLE.billing_mode));
    assert_eq!(
        p["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some(TABLE.ttl_attribute)
    );
    assert_eq!(
        p["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );

    let indexes = p["GlobalSecondaryIndexes"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        indexes.len(),
        TABLE.global_secondary_indexes.len(),
        "GlobalSecondaryIndexes"
    );
    for (ix, def) in indexes.iter().zip(TABLE.global_secondary_indexes) {
        assert_eq!(ix["IndexName"].as_str(), Some(def.name));
        assert_eq!(
            pairs(&ix["KeySchema"], "AttributeName", "KeyType"),
            owned(def.key_schema)
        );
        assert_eq!(
            ix["Projection"]["ProjectionType"].as_str(),
            Some(def.projection)
        );
    }
}

#[tokio::test]
async fn table_create_builds_the_template_table() {
    let client = dynamo_client().await;
    let name = new_table(&client).await;
    let p = template_table();

    let described = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let table = described.table().unwrap();
    let mut attrs: Vec<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    attrs.sort();
    let mut want = pairs(&p["AttributeDefinitions"], "AttributeName", "AttributeType");
    want.sort();
    assert_eq!(attrs, want);
    let keys: Vec<(String, String)> = table
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(keys, pairs(&p["KeySchema"], "AttributeName", "KeyType"));
    assert!(table.global_secondary_indexes().is_empty());
    let billing = table
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .map(|m| m.as_str().to_owned());
    assert_eq!(billing.as_deref(), p["BillingMode"].as_str());

    let ttl = client
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(
        ttl.attribute_name(),
        p["TimeToLiveSpecification"]["AttributeName"].as_str()
    );
    assert_eq!(
        ttl.time_to_live_status().map(|s| s.as_str()),
        Some("ENABLED")
    );

    // A second create is refused, not silently accepted.
    let again = create_table(&client, &name, Duration::from_secs(5)).await;
    assert!(
        matches!(again, Err(TableError::AlreadyExists(_))),
        "{again:?}"
    );
}
