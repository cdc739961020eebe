//! `scimctl table ...`: DynamoDB table management for local emulators and tests.

use std::time::Duration;

use aws_config::BehaviorVersion;
use clap::Subcommand;

use super::{AdminError, Output};
use crate::store::dynamo::table::{create_table, TableError, TABLE};

/// How long `table create` waits for the table to become ACTIVE (DynamoDB usually needs seconds,
/// emulators none).
const ACTIVE_WAIT: Duration = Duration::from_secs(120);

#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// Create a table with the project's key schema and indexes (production tables come from
    /// template.yaml).
    Create {
        /// Table name.
        #[arg(long)]
        table: String,
    },
}

pub async fn run(cmd: TableCommand, output: Output) -> Result<(), AdminError> {
    match cmd {
        TableCommand::Create { table } => {
            let aws = aws_config::defaults(BehaviorVersion::latest()).load().await;
            let client = aws_sdk_dynamodb::Client::new(&aws);
            create_table(&client, &table, ACTIVE_WAIT)
                .await
                .map_err(|e| match e {
                    TableError::AlreadyExists(_) => AdminError::usage(e.to_string()),
                    _ => AdminError::failed(e.to_string()),
                })?;
            match output {
                Output::Json => println!(
                    "{}",
                    serde_json::json!({
                        "table": table,
                        "status": "ACTIVE",
                        "billingMode": TABLE.billing_mode,
                        "ttlAttribute": TABLE.ttl_attribute,
                    })
                ),
                Output::Text => println!(
                    "created table {table} (keys pk/sk, {}, TTL on {})",
                    TABLE.billing_mode, TABLE.ttl_attribute
                ),
            }
            Ok(())
        }
    }
}
