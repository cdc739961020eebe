//! The Lambda entry point: read configuration, build clients once, run the runtime loop.

use scim_server::config::{init_tracing, Config, LogFormat};
use scim_server::{http, runtime};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let config = Config::from_env(LogFormat::Json)?;
    init_tracing(config.log_format);
    let built = runtime::build(&config, "https").await.map_err(|e| {
        tracing::error!(error = %e, "cannot start");
        e
    })?;
    tracing::info!(store = built.store_kind, "scim function initialised");
    http::lambda::run(built.app).await
}
