//! The asynchronous bulk consumer Lambda: SQS batches of accepted `Prefer: respond-async` bulk
//! requests in, the changes made through the service, RFC 9967 `misc:asyncresp` completion
//! events on the EventBridge bus out, with a partial batch response (src/async_bulk/sqs.rs).
//! The same queue carries the follow-ups of large group renames and deletes, run here until
//! the invocation's deadline, the rest sent back to the queue (`SCIM_ASYNC_QUEUE_URL`).

use std::sync::Arc;

use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};
use scim_server::async_bulk::sqs;
use scim_server::config::{init_tracing, Config, ConfigError, EventMode, LogFormat};
use scim_server::events::{self, publish::Publisher};
use scim_server::service::ScimService;
use scim_server::store::dynamo::follow_up::DEFAULT_FOLLOW_UP_BUDGET;
use scim_server::store::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = Config::from_env(LogFormat::Json)?;
    init_tracing(&config);
    let bus = config.required_event_bus()?;
    let table = config.table_name.clone().ok_or_else(|| {
        ConfigError("SCIM_TABLE_NAME must name the table the bulk operations write".into())
    })?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let queue_url = config.events.async_queue_url.clone().ok_or_else(|| {
        ConfigError(
            "SCIM_ASYNC_QUEUE_URL must name the function's own queue (what a group follow-up leaves goes back to it)".into(),
        )
    })?;
    let store = DynamoStore::new(scim_server::store::dynamo::client::client(&sdk), &table)
        .with_audit_retention_days(config.audit_retention_days)
        .with_follow_ups(
            Arc::new(sqs::SqsBulkQueue::new(&sdk, &queue_url)),
            DEFAULT_FOLLOW_UP_BUDGET,
        );
    let service = ScimService::new(Arc::new(store.clone()))
        .with_recorded_values(config.events.mode == EventMode::Full);
    let publisher = Publisher::new(&sdk, &bus, config.events.dlq_url.as_deref());
    let iss = events::issuer(&config);
    tracing::info!(bus = %bus, "scim asynchronous bulk consumer initialised");
    let consumer = sqs::Consumer {
        service: &service,
        publisher: &publisher,
        iss: iss.as_str(),
        follow_ups: Some(&store),
    };
    let consumer = &consumer;
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
                sqs::handle(consumer, event.payload, Some(deadline)).await,
            )
        },
    ))
    .await
}
