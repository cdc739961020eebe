//! The Lambda entry point: read configuration, build clients once, run the runtime loop.

use scim_server::auth::token::PlainToken;
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
    // Local runs and benchmarks only (embedded token source): a fixed token to accept.
    if let Some(token) = env_var("SCIM_LOCAL_TOKEN").map(PlainToken::from) {
        let tenant = env_var("SCIM_LOCAL_TENANT").unwrap_or_else(|| "local".to_owned());
        if !runtime::install_fixed_token(&built, &tenant, &token)? {
            tracing::warn!(
                "SCIM_LOCAL_TOKEN is ignored: tokens are verified against Secrets Manager"
            );
        }
    }
    tracing::info!(store = built.store_kind, "scim function initialised");
    http::lambda::run(built.app).await
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
