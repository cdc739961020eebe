//! The Lambda entry point: read configuration, build clients once, run the runtime loop.

use scim_server::config::{init_tracing, Config, LogFormat};
use scim_server::{http, runtime};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let config = Config::from_env(LogFormat::Json)?;
    init_tracing(&config);
    let built = runtime::build(&config, "https").await.map_err(|e| {
        tracing::error!(error = %e, "cannot start");
        e
    })?;
    // Local runs and benchmarks only (embedded token source): a fixed token to accept.
    if let Some(token) = &config.local_token {
        if !runtime::install_fixed_token(&built, &config.local_tenant, token)? {
            tracing::warn!(
                "SCIM_LOCAL_TOKEN is ignored: tokens are verified against Secrets Manager"
            );
        }
    }
    tracing::info!(store = built.store_kind, "scim function initialised");
    http::lambda::run(built.app).await
}
