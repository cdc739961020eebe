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

/// Install the global tracing subscriber. `RUST_LOG` sets the level (default `info`), scoped by
/// [`scoped_filter`].
pub fn init_tracing(format: LogFormat) {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    let filter = scoped_filter(&spec);
    let _ = tracing::subscriber::set_global_default(subscriber(format, &filter, std::io::stderr));
}

/// Targets of this crate: the library (`scim_server::...`, and `scim::request` for the request
/// log) and the three binaries.
const OUR_TARGETS: &[&str] = &["scim_server", "scim", "bootstrap", "scim_local", "scimctl"];

/// The most verbose level a dependency may log at. Below it, lambda_runtime logs each raw event
/// (its `Authorization` header and body), hyper and the AWS SDK log requests and responses.
const DEPENDENCY_MAX: &str = "info";

const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];

fn level_rank(level: &str) -> Option<usize> {
    LEVELS.iter().position(|l| l.eq_ignore_ascii_case(level))
}

/// The less verbose of `level` and [`DEPENDENCY_MAX`] (an unknown level counts as the maximum).
fn capped(level: &str) -> &'static str {
    let max = level_rank(DEPENDENCY_MAX).unwrap_or(3);
    LEVELS[level_rank(level).map_or(max, |r| r.min(max))]
}

/// The filter directives for a `RUST_LOG` value: a bare level applies to this crate's targets,
/// while dependencies log at that level or `info`, whichever is less verbose (`trace` gives
/// `info,scim_server=trace,scim=trace,...`). Directives naming a dependency are capped the same
/// way; those naming this crate are kept. So no level prints a token or a request body: this
/// crate never logs them, and the dependencies that would (lambda_runtime's raw events) only do
/// below `info`.
pub fn scoped_filter(spec: &str) -> String {
    let mut default = capped("info");
    let mut ours: Option<&str> = None;
    let mut directives = Vec::new();
    for d in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        match d.rsplit_once('=') {
            None if level_rank(d).is_some() => {
                default = capped(d);
                ours = Some(d);
            }
            // A bare target (`hyper`) means every level: capped like any dependency.
            None => directives.push(target_directive(d, "trace")),
            Some((target, level)) => directives.push(target_directive(target, level)),
        }
    }
    let mut out = vec![default.to_owned()];
    if let Some(level) = ours {
        out.extend(OUR_TARGETS.iter().map(|t| format!("{t}={level}")));
    }
    out.extend(directives);
    out.join(",")
}

fn target_directive(target: &str, level: &str) -> String {
    // `target[span{field=value}]`: the target is what precedes `[`.
    let name = target.split('[').next().unwrap_or_default();
    let ours = OUR_TARGETS
        .iter()
        .any(|t| name == *t || name.starts_with(&format!("{t}::")));
    if ours && level_rank(level).is_some() {
        format!("{target}={level}")
    } else {
        format!("{name}={}", capped(level))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_level_applies_to_this_crate_and_dependencies_stay_at_info_or_less() {
        assert_eq!(
            scoped_filter("trace"),
            "info,scim_server=trace,scim=trace,bootstrap=trace,scim_local=trace,scimctl=trace"
        );
        assert_eq!(
            scoped_filter("debug"),
            "info,scim_server=debug,scim=debug,bootstrap=debug,scim_local=debug,scimctl=debug"
        );
        assert!(scoped_filter("warn").starts_with("warn,scim_server=warn,"));
        assert!(scoped_filter("error").starts_with("error,"));
        assert_eq!(scoped_filter(""), "info");
    }

    #[test]
    fn directives_for_dependencies_are_capped_and_ours_kept() {
        assert_eq!(
            scoped_filter("info,lambda_runtime=trace,hyper=debug,aws_smithy_runtime=warn"),
            "info,scim_server=info,scim=info,bootstrap=info,scim_local=info,scimctl=info,lambda_runtime=info,hyper=info,aws_smithy_runtime=warn"
        );
        assert_eq!(
            scoped_filter("scim_server::auth=trace,lambda_http"),
            "info,scim_server::auth=trace,lambda_http=info"
        );
        assert_eq!(
            scoped_filter("lambda_runtime=nonsense"),
            "info,lambda_runtime=info"
        );
    }

    #[test]
    fn the_scoped_filter_keeps_dependency_traces_out() {
        use tracing::Level;
        let sub = subscriber(LogFormat::Text, &scoped_filter("trace"), std::io::sink);
        tracing::subscriber::with_default(sub, || {
            // lambda_runtime logs each raw event (Authorization header, body) below info.
            assert!(!tracing::enabled!(target: "lambda_runtime::layers", Level::DEBUG));
            assert!(!tracing::enabled!(target: "hyper", Level::TRACE));
            assert!(tracing::enabled!(target: "lambda_runtime", Level::INFO));
            assert!(tracing::enabled!(target: "scim_server::auth", Level::TRACE));
            assert!(tracing::enabled!(target: "scim::request", Level::TRACE));
        });
    }
}
