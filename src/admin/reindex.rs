//! `scimctl tenant reindex`: write what users stored before them lack: email look-up entries
//! and group references on the user item (`store::dynamo::reindex`). Idempotent; README,
//! "Upgrade notes".

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
    let stopped = |e| AdminError::failed(format!("reindex stopped (run it again): {e}"));
    let done = store.reindex_emails(&tenant).await.map_err(stopped)?;
    let refs = store.reindex_group_refs(&tenant).await.map_err(stopped)?;
    match output {
        Output::Json => println!(
            "{}",
            json!({
                "tenant": tenant.as_str(),
                "users": done.users,
                "emailEntries": done.email_entries,
                "groupReferences": refs.users,
                "changedMeanwhile": refs.changed_meanwhile,
            })
        ),
        Output::Text => println!(
            "tenant {tenant}: {} users read, {} email look-up entries written, {} users given their group references{}",
            done.users,
            done.email_entries,
            refs.users,
            match refs.changed_meanwhile {
                0 => String::new(),
                n => format!(" ({n} changed meanwhile: run it again)"),
            }
        ),
    }
    Ok(())
}
