//! `scimctl events replay`: republish a tenant's changes from the audit trail to the event bus,
//! with the same `jti`s (src/events/replay.rs).

use aws_config::BehaviorVersion;
use clap::{Args, Subcommand};

use super::{AdminError, Output};
use crate::events::publish::Publisher;
use crate::events::{replay, SOURCE};
use crate::store::DynamoStore;
use crate::tenant::TenantId;

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Republish a tenant's events from the audit trail (within its retention).
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Tenant id.
    #[arg(long)]
    tenant: String,
    /// From this time on (RFC 3339, UTC: e.g. 2026-11-01T00:00:00Z).
    #[arg(long)]
    since: String,
    /// Up to (not including) this time.
    #[arg(long)]
    until: Option<String>,
    /// The DynamoDB table, as deployed (stack output TableName).
    #[arg(long, env = "SCIM_TABLE_NAME")]
    table: String,
    /// The event bus (stack output EventBusName).
    #[arg(long, env = "SCIM_EVENT_BUS_NAME")]
    bus: Option<String>,
    /// The dead-letter queue for events the bus refuses (stack output EventsDeadLetterQueueUrl).
    #[arg(long, env = "SCIM_EVENTS_DLQ_URL")]
    dlq_url: Option<String>,
    /// The events' `iss` (the deployment's public base URL, as the stream handler uses).
    #[arg(long, env = "SCIM_PUBLIC_BASE_URL")]
    iss: Option<String>,
    /// Print each event's detail as a JSON line instead of publishing.
    #[arg(long)]
    dry_run: bool,
}

fn rfc3339(name: &str, v: &str) -> Result<(), AdminError> {
    time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .map(|_| ())
        .map_err(|_| {
            AdminError::usage(format!(
                "--{name} must be an RFC 3339 time such as 2026-11-01T00:00:00Z, not {v:?}"
            ))
        })
}

pub async fn run(command: EventsCommand, output: Output) -> Result<(), AdminError> {
    let EventsCommand::Replay(args) = command;
    let tenant =
        TenantId::parse(&args.tenant).map_err(|e| AdminError::usage(format!("--tenant: {e}")))?;
    rfc3339("since", &args.since)?;
    if let Some(u) = &args.until {
        rfc3339("until", u)?;
    }
    let bus = match (&args.bus, args.dry_run) {
        (None, false) => {
            return Err(AdminError::usage(
                "--bus (or SCIM_EVENT_BUS_NAME) is required unless --dry-run",
            ))
        }
        (bus, _) => bus.clone(),
    };
    let aws = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let store = DynamoStore::new(crate::store::dynamo::client::client(&aws), args.table);
    let iss = args.iss.unwrap_or_else(|| SOURCE.to_owned());
    let events = replay::events_between(&store, &tenant, &args.since, args.until.as_deref(), &iss)
        .await
        .map_err(|e| AdminError::failed(format!("cannot read the audit trail: {e}")))?;
    let Some(bus) = bus.filter(|_| !args.dry_run) else {
        for e in &events {
            println!("{}", e.detail);
        }
        return Ok(());
    };
    let outcome = Publisher::new(&aws, &bus, args.dlq_url.as_deref())
        .publish(&events)
        .await;
    match output {
        Output::Json => println!(
            "{}",
            serde_json::json!({
                "events": events.len(),
                "published": outcome.published,
                "dead_lettered": outcome.dead_lettered,
                "undelivered": outcome.undelivered.len(),
            })
        ),
        Output::Text => println!(
            "{} events: {} published, {} to the dead-letter queue, {} undelivered",
            events.len(),
            outcome.published,
            outcome.dead_lettered,
            outcome.undelivered.len()
        ),
    }
    if outcome.undelivered.is_empty() {
        Ok(())
    } else {
        Err(AdminError::failed(
            "some events were not delivered; run the replay again",
        ))
    }
}
