//! The stream handler Lambda: DynamoDB stream batches of audit items in, SCIM events
//! (RFC 9967) on the EventBridge bus out, with a partial batch response (src/events/stream.rs).

use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};
use scim_server::config::{init_tracing, Config, LogFormat};
use scim_server::events::{self, publish::Publisher, stream};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = Config::from_env(LogFormat::Json)?;
    init_tracing(&config);
    let bus = config.required_event_bus()?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let publisher = Publisher::new(&sdk, &bus, config.events.dlq_url.as_deref());
    let iss = events::issuer(&config);
    tracing::info!(bus = %bus, "scim event stream handler initialised");
    let publisher = &publisher;
    let iss = iss.as_str();
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<stream::StreamEvent>| async move {
            Ok::<_, lambda_runtime::Error>(stream::handle(publisher, iss, event.payload).await)
        },
    ))
    .await
}
