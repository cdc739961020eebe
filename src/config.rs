//! Configuration: one typed struct read from the environment at start. The Lambda and the local
//! server read the same variables (README.md lists them).

use std::env;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `SCIM_TABLE_NAME`: the DynamoDB table. Unset: the embedded store.
    pub table_name: Option<String>,
    /// `SCIM_SECRET_PREFIX`: Secrets Manager name prefix of the tenants' token hashes. Unset: the
    /// embedded token source.
    pub secret_prefix: Option<String>,
    /// `SCIM_PUBLIC_BASE_URL`: e.g. `https://scim.example.com/scim/v2`, for a custom domain.
    pub public_base_url: Option<String>,
    /// `SCIM_LOG_FORMAT`: `json` (default in Lambda) or `text`.
    pub log_format: LogFormat,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

fn var(name: &str) -> Option<String> {
    env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl Config {
    /// Read the configuration; `default_log_format` differs between the Lambda and a terminal.
    pub fn from_env(default_log_format: LogFormat) -> Result<Self, ConfigError> {
        let log_format = match var("SCIM_LOG_FORMAT").as_deref() {
            None => default_log_format,
            Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            Some(other) => {
                return Err(ConfigError(format!(
                    "SCIM_LOG_FORMAT must be json or text, not {other:?}"
                )))
            }
        };
        let public_base_url = var("SCIM_PUBLIC_BASE_URL");
        if let Some(u) = &public_base_url {
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(ConfigError(format!(
                    "SCIM_PUBLIC_BASE_URL must be an http(s) URL, not {u:?}"
                )));
            }
        }
        Ok(Config {
            table_name: var("SCIM_TABLE_NAME"),
            secret_prefix: var("SCIM_SECRET_PREFIX"),
            public_base_url,
            log_format,
        })
    }
}

/// Install the global tracing subscriber. `RUST_LOG` sets the level (default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        // Lambda adds its own timestamp and request id to each record.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .without_time()
            .try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}
