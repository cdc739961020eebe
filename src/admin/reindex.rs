//! `scimctl tenant reindex`: write the look-up entries that users stored before those entries
//! existed lack (email look-ups: `store::dynamo::reindex`). Idempotent; README, "Upgrade notes".

use aws_config::BehaviorVersion;
use clap::Args;
use serde_json::json;

use super::{AdminError, Output};
use crate::store::DynamoStore;
use crate::tenant::TenantId;

#[derive(Debug, Args)]
pub struct ReindexArgs {
    /// Tenant id.
    #[arg(long)]
    tenant: String,
    /// The DynamoDB table, as deployed (stack output TableName).
    #[arg(long, env = "SCIM_TABLE_NAME")]
    table: String,
}

pub async fn run(args: ReindexArgs, output: Output) -> Result<(), AdminError> {
    let tenant =
        TenantId::parse(&args.tenant).map_err(|e| AdminError::usage(format!("--tenant: {e}")))?;
    let aws = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let store = DynamoStore::new(crate::store::dynamo::client::client(&aws), &args.table);
    let done = store
        .reindex_emails(&tenant)
        .await
        .map_err(|e| AdminError::failed(format!("reindex stopped (run it again): {e}")))?;
    match output {
        Output::Json => println!(
            "{}",
            json!({
                "tenant": tenant.as_str(),
                "users": done.users,
                "emailEntries": done.email_entries,
            })
        ),
        Output::Text => println!(
            "tenant {tenant}: {} users read, {} email look-up entries written",
            done.users, done.email_entries
        ),
    }
    Ok(())
}
