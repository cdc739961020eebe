//! `scimctl audit`: what the IdPs changed in a tenant, and when, from the audit trail in DynamoDB.

use aws_config::BehaviorVersion;
use clap::Args;

use super::{AdminError, Output};
use crate::store::audit::{AuditLog, AuditQuery};
use crate::store::DynamoStore;
use crate::tenant::TenantId;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Tenant id.
    #[arg(long)]
    tenant: String,
    /// Only changes at or after this time (RFC 3339, UTC: e.g. 2026-11-01T00:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// Only changes of this user (or group) id.
    #[arg(long = "user", alias = "resource")]
    resource: Option<String>,
    /// At most this many records, oldest first.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    /// The DynamoDB table, as deployed (stack output TableName).
    #[arg(long, env = "SCIM_TABLE_NAME")]
    table: String,
}

pub async fn run(args: AuditArgs, output: Output) -> Result<(), AdminError> {
    let tenant =
        TenantId::parse(&args.tenant).map_err(|e| AdminError::usage(format!("--tenant: {e}")))?;
    if let Some(s) = &args.since {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map_err(
            |_| {
                AdminError::usage(format!(
                    "--since must be an RFC 3339 time such as 2026-11-01T00:00:00Z, not {s:?}"
                ))
            },
        )?;
    }
    let aws = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), args.table);
    let query = AuditQuery {
        since: args.since,
        resource_id: args.resource,
        limit: args.limit,
    };
    let records = store
        .audit_records(&tenant, &query)
        .await
        .map_err(|e| AdminError::failed(format!("cannot read the audit trail: {e}")))?;
    match output {
        Output::Json => {
            let text = serde_json::to_string_pretty(&records)
                .map_err(|e| AdminError::failed(e.to_string()))?;
            println!("{text}");
        }
        Output::Text => {
            for r in &records {
                println!(
                    "{}  {:<17} {}/{}  changed=[{}]  idp={} token={} request={}",
                    r.at,
                    format!("{:?}", r.action).to_lowercase(),
                    r.resource_type,
                    r.resource_id,
                    r.changed.join(","),
                    r.idp,
                    r.token_id,
                    r.request_id
                );
            }
            if records.is_empty() {
                eprintln!("no audit records for tenant {tenant}");
            }
        }
    }
    Ok(())
}
