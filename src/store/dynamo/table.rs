//! The table definition, as one constant shared by `scimctl table create`, the tests that create
//! their own tables, and the test that holds template.yaml's `ScimTable` to the same definition.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus,
    TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use super::keys::{PK, SK, TTL};

/// A global secondary index of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDefinition {
    pub name: &'static str,
    /// (attribute, `HASH` | `RANGE`)
    pub key_schema: &'static [(&'static str, &'static str)],
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection: &'static str,
}

/// What a table needs to hold this store's items, in CloudFormation's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDefinition {
    /// (attribute, `S` | `N` | `B`) for every key attribute of the table and its indexes.
    pub attribute_definitions: &'static [(&'static str, &'static str)],
    /// (attribute, `HASH` | `RANGE`)
    pub key_schema: &'static [(&'static str, &'static str)],
    pub global_secondary_indexes: &'static [IndexDefinition],
    pub billing_mode: &'static str,
    /// The epoch-seconds attribute DynamoDB's TTL removes expired items by.
    pub ttl_attribute: &'static str,
    /// The table's stream (`NEW_IMAGE`): the event feed reads committed audit items from it.
    pub stream_view_type: &'static str,
}

/// The table: generic `pk`/`sk` string keys (see `keys.rs`), no index (every access path is a key
/// of the base table, which also keeps every read strongly consistent), on-demand capacity, TTL
/// for deletion records.
pub const TABLE: TableDefinition = TableDefinition {
    attribute_definitions: &[(PK, "S"), (SK, "S")],
    key_schema: &[(PK, "HASH"), (SK, "RANGE")],
    global_secondary_indexes: &[],
    billing_mode: "PAY_PER_REQUEST",
    ttl_attribute: TTL,
    stream_view_type: "NEW_IMAGE",
};

/// Why a table could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("table {0} already exists")]
    AlreadyExists(String),
    #[error("table {table} was not ACTIVE after {waited:?}")]
    NotActive { table: String, waited: Duration },
    #[error("{0}")]
    Aws(String),
}

fn aws(op: &str, e: impl std::error::Error) -> TableError {
    TableError::Aws(format!("{op}: {}", DisplayErrorContext(e)))
}

fn key_schema(def: &[(&str, &str)]) -> Result<Vec<KeySchemaElement>, TableError> {
    def.iter()
        .map(|(name, key_type)| {
            KeySchemaElement::builder()
                .attribute_name(*name)
                .key_type(KeyType::from(*key_type))
                .build()
                .map_err(|e| aws("key schema", e))
        })
        .collect()
}

/// Create `name` as [`TABLE`] defines it, wait (at most `wait`) until it is ACTIVE, then turn on
/// TTL (which DynamoDB accepts only on an existing table).
pub async fn create_table(client: &Client, name: &str, wait: Duration) -> Result<(), TableError> {
    let attributes = TABLE
        .attribute_definitions
        .iter()
        .map(|(attr, ty)| {
            AttributeDefinition::builder()
                .attribute_name(*attr)
                .attribute_type(ScalarAttributeType::from(*ty))
                .build()
                .map_err(|e| aws("attribute definition", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let indexes = TABLE
        .global_secondary_indexes
        .iter()
        .map(|ix| {
            GlobalSecondaryIndex::builder()
                .index_name(ix.name)
                .set_key_schema(Some(key_schema(ix.key_schema)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(ix.projection))
                        .build(),
                )
                .build()
                .map_err(|e| aws("index definition", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let created = client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(TABLE.key_schema)?))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .billing_mode(BillingMode::from(TABLE.billing_mode))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(TABLE.stream_view_type))
                .build()
                .map_err(|e| aws("stream specification", e))?,
        )
        .send()
        .await;
    if let Err(e) = created {
        if e.as_service_error()
            .is_some_and(|s| s.is_resource_in_use_exception())
        {
            return Err(TableError::AlreadyExists(name.to_owned()));
        }
        return Err(aws("CreateTable", e));
    }
    wait_until_active(client, name, wait).await?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TABLE.ttl_attribute)
                .enabled(true)
                .build()
                .map_err(|e| aws("TTL specification", e))?,
        )
        .send()
        .await
        .map_err(|e| aws("UpdateTimeToLive", e))?;
    Ok(())
}

async fn wait_until_active(client: &Client, name: &str, wait: Duration) -> Result<(), TableError> {
    let started = Instant::now();
    loop {
        let described = client.describe_table().table_name(name).send().await;
        match described {
            Ok(out) => {
                let status = out.table().and_then(|t| t.table_status());
                if status == Some(&TableStatus::Active) {
                    return Ok(());
                }
            }
            // Eventually consistent right after CreateTable: not found yet is "not yet".
            Err(e) if e.code() == Some("ResourceNotFoundException") => {}
            Err(e) => return Err(aws("DescribeTable", e)),
        }
        if started.elapsed() >= wait {
            return Err(TableError::NotActive {
                table: name.to_owned(),
                waited: wait,
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
