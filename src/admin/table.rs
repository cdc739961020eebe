//! `scimctl table ...`: DynamoDB table management: creating a table for local emulators and
//! tests, and finishing membership clean-ups that a stopped Lambda left half done.

use std::time::Duration;

use aws_config::BehaviorVersion;
use clap::Subcommand;

use super::{AdminError, Output};
use crate::store::dynamo::table::{create_table, TableError, TABLE};
use crate::store::DynamoStore;
use crate::tenant::TenantId;

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
    /// Finish the membership clean-ups of a tenant's deleted users and groups (the Lambda
    /// removes memberships right after a delete; if it stopped half way, this completes it).
    /// Idempotent: running it again changes nothing.
    Cleanup {
        /// Table name.
        #[arg(long)]
        table: String,
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Only deletions at or after this RFC 3339 time (e.g. 2025-06-01T00:00:00Z); all
        /// deletions kept (400 days) when absent.
        #[arg(long, default_value = "")]
        since: String,
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
        TableCommand::Cleanup {
            table,
            tenant,
            since,
        } => {
            let tenant = TenantId::parse(&tenant)
                .map_err(|e| AdminError::usage(format!("--tenant: {e}")))?;
            let aws = aws_config::defaults(BehaviorVersion::latest()).load().await;
            let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), &table);
            let deletions = store
                .resume_cascades(&tenant, &since)
                .await
                .map_err(|e| AdminError::failed(e.to_string()))?;
            match output {
                Output::Json => println!(
                    "{}",
                    serde_json::json!({"table": table, "tenant": tenant.as_str(), "deletions": deletions})
                ),
                Output::Text => {
                    println!("{deletions} deletions of tenant {tenant} checked, clean-ups complete")
                }
            }
            Ok(())
        }
    }
}
