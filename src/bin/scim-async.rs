//! The asynchronous bulk consumer Lambda: SQS batches of accepted `Prefer: respond-async` bulk
//! requests in, the changes made through the service, RFC 9967 `misc:asyncresp` completion
//! events on the EventBridge bus out, with a partial batch response (src/async_bulk/sqs.rs).

use std::sync::Arc;

use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};
use scim_server::async_bulk::sqs;
use scim_server::config::{init_tracing, Config, ConfigError, EventMode, LogFormat};
use scim_server::events::{self, publish::Publisher};
use scim_server::service::ScimService;
use scim_server::store::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = Config::from_env(LogFormat::Json)?;
    init_tracing(&config);
    let bus = config.events.bus_name.clone().ok_or_else(|| {
        ConfigError("SCIM_EVENT_BUS_NAME must name the EventBridge bus to publish to".into())
    })?;
    let table = config.table_name.clone().ok_or_else(|| {
        ConfigError("SCIM_TABLE_NAME must name the table the bulk operations write".into())
    })?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let store = DynamoStore::new(scim_server::store::dynamo::client::client(&sdk), &table)
        .with_audit_retention_days(config.audit_retention_days);
    let service = ScimService::new(Arc::new(store))
        .with_recorded_values(config.events.mode == EventMode::Full);
    let publisher = Publisher::new(&sdk, &bus, config.events.dlq_url.as_deref());
    let iss = events::issuer(&config);
    tracing::info!(bus = %bus, "scim asynchronous bulk consumer initialised");
    let (service, publisher, iss) = (&service, &publisher, iss.as_str());
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<sqs::SqsEvent>| async move {
            // The invocation's deadline (epoch ms), as a Tokio instant.
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or_default();
            let left = event.context.deadline.saturating_sub(now_ms);
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(left);
            Ok::<_, lambda_runtime::Error>(
                sqs::handle(service, publisher, iss, event.payload, Some(deadline)).await,
            )
        },
    ))
    .await
}
