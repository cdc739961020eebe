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

/// The subscriber the binaries install: `filter` levels, `format` lines, written to `writer`
/// (stderr in the binaries; a buffer in tests, so they check the exact production format).
pub fn subscriber<W>(
    format: LogFormat,
    filter: &str,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::new(filter);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        // Lambda adds its own timestamp and request id to each record.
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .without_time()
                .finish(),
        ),
        LogFormat::Text => Box::new(builder.with_ansi(false).finish()),
    }
}

/// Install the global tracing subscriber. `RUST_LOG` sets the level (default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    let _ = tracing::subscriber::set_global_default(subscriber(format, &filter, std::io::stderr));
}
