//! Configuration: one typed struct read from the environment at start. The Lambda and the local
//! server read the same variables (README.md lists them). Every variable the library and the
//! binaries read is read here; an invalid value stops start-up with a [`ConfigError`] naming it,
//! never a silent default. (`scim-local`'s and `scimctl`'s own options, some of which may come
//! from the environment, are clap arguments of those binaries.)

use std::env;

use secrecy::ExposeSecret;

use crate::auth::token::PlainToken;

use crate::audit::DEFAULT_RETENTION_DAYS;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// The accepted range of `SCIM_AUDIT_RETENTION_DAYS`: one day to ten years.
pub const AUDIT_RETENTION_DAYS: std::ops::RangeInclusive<u32> = 1..=3650;

/// The log filter when `RUST_LOG` is unset.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// The tenant of `SCIM_LOCAL_TOKEN` when `SCIM_LOCAL_TENANT` is unset.
pub const DEFAULT_LOCAL_TENANT: &str = "local";

/// `Config::default()` is what an empty environment gives, with text logs.
#[derive(Debug, Clone)]
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
    /// `RUST_LOG`: the log filter (`info`, `scim_server=debug,info`, ...); default `info`.
    pub log_filter: String,
    /// `SCIM_AUDIT_RETENTION_DAYS`: days an audit record is kept before DynamoDB's TTL removes
    /// it, 1 to 3650; default [`DEFAULT_RETENTION_DAYS`] (400).
    pub audit_retention_days: u32,
    /// `SCIM_LOCAL_TENANT`: with the embedded token source, the tenant of `local_token`
    /// (default `local`). Read by `bootstrap`; `scim-local` takes it as its `--tenant` option.
    pub local_tenant: String,
    /// `SCIM_LOCAL_TOKEN`: with the embedded token source, a fixed token to accept (runs of
    /// `bootstrap` under a runtime emulator, as the cold-start bench does). Read by `bootstrap`;
    /// `scim-local` takes it as its `--token` option.
    pub local_token: Option<PlainToken>,
    /// The SCIM event feed (`SCIM_EVENTS_*`, `SCIM_EVENT_BUS_NAME`).
    pub events: EventsConfig,
    /// `SCIM_LINK_KEY_SECRET`: name or ARN of the Secrets Manager secret whose value signs setup
    /// links (template.yaml creates it). Unset: a random key per process (local runs).
    pub link_key_secret: Option<String>,
    /// `SCIM_ADMIN_FRAME_ANCESTORS`: CSP `frame-ancestors` sources that may embed the admin page
    /// (space-separated origins, e.g. `https://app.example.com`). Unset: no framing.
    pub admin_frame_ancestors: Option<String>,
}

/// Whether events carry the changed attributes (RFC 9967 `full`) or only ids (`notice`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventMode {
    /// Ids and version only: the product fetches the resource. Nothing personal is kept in the
    /// audit trail.
    #[default]
    Notice,
    /// The changed attributes' new values (never a password), kept in the audit record.
    Full,
}

/// The event feed's settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventsConfig {
    /// `SCIM_EVENTS_MODE`: `notice` (default) or `full`. Read by the API (what audit records
    /// keep) and by the stream handler.
    pub mode: EventMode,
    /// `SCIM_EVENTS_FILE`: with the embedded store, append each event's `detail` to this file,
    /// one JSON line each (the local feed).
    pub file: Option<std::path::PathBuf>,
    /// `SCIM_EVENT_BUS_NAME`: the EventBridge bus the stream handler publishes to.
    pub bus_name: Option<String>,
    /// `SCIM_EVENTS_DLQ_URL`: the SQS queue that receives events still unpublished after
    /// retries.
    pub dlq_url: Option<String>,
    /// `SCIM_ASYNC_QUEUE_URL`: the SQS queue of `Prefer: respond-async` bulk requests (with
    /// DynamoDB; the embedded store runs them on a task). Unset: they run synchronously.
    pub async_queue_url: Option<String>,
}

impl EventsConfig {
    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mode = match var("SCIM_EVENTS_MODE").as_deref() {
            None | Some("notice") => EventMode::Notice,
            Some("full") => EventMode::Full,
            Some(other) => {
                return Err(ConfigError(format!(
                    "SCIM_EVENTS_MODE must be notice or full, not {other:?}"
                )))
            }
        };
        Ok(EventsConfig {
            mode,
            file: var("SCIM_EVENTS_FILE").map(std::path::PathBuf::from),
            bus_name: var("SCIM_EVENT_BUS_NAME"),
            dlq_url: var("SCIM_EVENTS_DLQ_URL"),
            async_queue_url: var("SCIM_ASYNC_QUEUE_URL"),
        })
    }
}

/// Equal when every setting is; the local token is compared by value (its `Debug` is redacted).
impl PartialEq for Config {
    fn eq(&self, other: &Self) -> bool {
        let token = |c: &Config| c.local_token.as_ref().map(|t| t.expose_secret().to_owned());
        self.table_name == other.table_name
            && self.secret_prefix == other.secret_prefix
            && self.public_base_url == other.public_base_url
            && self.log_format == other.log_format
            && self.log_filter == other.log_filter
            && self.audit_retention_days == other.audit_retention_days
            && self.local_tenant == other.local_tenant
            && token(self) == token(other)
            && self.events == other.events
            && self.link_key_secret == other.link_key_secret
            && self.admin_frame_ancestors == other.admin_frame_ancestors
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            table_name: None,
            secret_prefix: None,
            public_base_url: None,
            log_format: LogFormat::Text,
            log_filter: DEFAULT_LOG_FILTER.to_owned(),
            audit_retention_days: DEFAULT_RETENTION_DAYS,
            local_tenant: DEFAULT_LOCAL_TENANT.to_owned(),
            local_token: None,
            events: EventsConfig::default(),
            link_key_secret: None,
            admin_frame_ancestors: None,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// `SCIM_EVENT_BUS_NAME`, which the functions that publish events cannot start without.
    pub fn required_event_bus(&self) -> Result<String, ConfigError> {
        self.events.bus_name.clone().ok_or_else(|| {
            ConfigError("SCIM_EVENT_BUS_NAME must name the EventBridge bus to publish to".into())
        })
    }

    /// Read the configuration; `default_log_format` differs between the Lambda and a terminal.
    pub fn from_env(default_log_format: LogFormat) -> Result<Self, ConfigError> {
        Self::from_vars(|name| env::var(name).ok(), default_log_format)
    }

    /// Read the configuration from `lookup` (the environment in [`Config::from_env`]; a map in
    /// the tests). Values are trimmed; an empty value counts as unset.
    pub fn from_vars(
        lookup: impl Fn(&str) -> Option<String>,
        default_log_format: LogFormat,
    ) -> Result<Self, ConfigError> {
        let var = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
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
        let log_filter = var("RUST_LOG").unwrap_or_else(|| DEFAULT_LOG_FILTER.to_owned());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log_filter) {
            return Err(ConfigError(format!(
                "RUST_LOG is not a valid log filter ({e}): {log_filter:?}"
            )));
        }
        let audit_retention_days = match var("SCIM_AUDIT_RETENTION_DAYS") {
            None => DEFAULT_RETENTION_DAYS,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|d| AUDIT_RETENTION_DAYS.contains(d))
                .ok_or_else(|| {
                    ConfigError(format!(
                        "SCIM_AUDIT_RETENTION_DAYS must be a whole number of days from {} to {}, not {v:?}",
                        AUDIT_RETENTION_DAYS.start(),
                        AUDIT_RETENTION_DAYS.end()
                    ))
                })?,
        };
        let admin_frame_ancestors = var("SCIM_ADMIN_FRAME_ANCESTORS");
        if let Some(a) = &admin_frame_ancestors {
            // Each source is an origin or a quoted keyword; nothing may end the directive.
            let ok = a.split_whitespace().all(|src| {
                (src == "'self'" || src.starts_with("https://") || src.starts_with("http://"))
                    && !src.contains([';', ',', '"'])
            });
            if !ok {
                return Err(ConfigError(format!(
                    "SCIM_ADMIN_FRAME_ANCESTORS must be space-separated origins (https://app.example.com) or 'self', not {a:?}"
                )));
            }
        }
        Ok(Config {
            link_key_secret: var("SCIM_LINK_KEY_SECRET"),
            admin_frame_ancestors,
            table_name: var("SCIM_TABLE_NAME"),
            secret_prefix: var("SCIM_SECRET_PREFIX"),
            public_base_url,
            log_format,
            log_filter,
            audit_retention_days,
            local_tenant: var("SCIM_LOCAL_TENANT")
                .unwrap_or_else(|| DEFAULT_LOCAL_TENANT.to_owned()),
            local_token: var("SCIM_LOCAL_TOKEN").map(PlainToken::from),
            events: EventsConfig::from_vars(var)?,
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

/// Install the global tracing subscriber, as configured (`SCIM_LOG_FORMAT`, `RUST_LOG` scoped by
/// [`scoped_filter`]).
pub fn init_tracing(config: &Config) {
    let filter = scoped_filter(&config.log_filter);
    let _ = tracing::subscriber::set_global_default(subscriber(
        config.log_format,
        &filter,
        std::io::stderr,
    ));
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
mod filter_tests {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration an environment of exactly `vars` gives (the process environment is
    /// never touched: tests run in parallel).
    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_vars(
            |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            LogFormat::Json,
        )
    }

    fn error(vars: &[(&str, &str)]) -> String {
        from(vars).unwrap_err().to_string()
    }

    #[test]
    fn an_empty_environment_gives_the_defaults() {
        let c = from(&[]).unwrap();
        assert_eq!(
            c,
            Config {
                log_format: LogFormat::Json,
                ..Config::default()
            }
        );
        assert_eq!(c.audit_retention_days, 400);
        assert_eq!(c.log_filter, "info");
        assert_eq!(c.local_tenant, "local");
        assert_eq!(c.table_name, None);
        assert!(c.local_token.is_none());
    }

    #[test]
    fn valid_values_are_read_and_trimmed() {
        let c = from(&[
            ("SCIM_TABLE_NAME", " scim-dev "),
            ("SCIM_SECRET_PREFIX", "scim/dev/tenants/"),
            ("SCIM_PUBLIC_BASE_URL", "https://scim.example.com/scim/v2"),
            ("SCIM_LOG_FORMAT", "text"),
            ("RUST_LOG", "scim_server=debug,info"),
            ("SCIM_AUDIT_RETENTION_DAYS", " 30 "),
            ("SCIM_LOCAL_TENANT", "bench"),
            ("SCIM_LOCAL_TOKEN", "scim_bench_x"),
        ])
        .unwrap();
        assert_eq!(c.table_name.as_deref(), Some("scim-dev"));
        assert_eq!(c.secret_prefix.as_deref(), Some("scim/dev/tenants/"));
        assert_eq!(
            c.public_base_url.as_deref(),
            Some("https://scim.example.com/scim/v2")
        );
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.log_filter, "scim_server=debug,info");
        assert_eq!(c.audit_retention_days, 30);
        assert_eq!(c.local_tenant, "bench");
        assert_eq!(
            c.local_token.as_ref().map(|t| t.expose_secret()),
            Some("scim_bench_x")
        );
    }

    #[test]
    fn events_settings_are_read_and_a_bad_mode_stops_start_up() {
        let c = from(&[
            ("SCIM_EVENTS_MODE", "full"),
            ("SCIM_EVENTS_FILE", "/tmp/ev.jsonl"),
            ("SCIM_EVENT_BUS_NAME", "bus"),
        ])
        .unwrap();
        assert_eq!(c.events.mode, EventMode::Full);
        assert_eq!(
            c.events.file.as_deref(),
            Some(std::path::Path::new("/tmp/ev.jsonl"))
        );
        assert_eq!(c.events.bus_name.as_deref(), Some("bus"));
        assert_eq!(from(&[]).unwrap().events, EventsConfig::default());
        let err = from(&[("SCIM_EVENTS_MODE", "everything")]).unwrap_err();
        assert!(err.0.contains("SCIM_EVENTS_MODE"), "{err}");
    }

    #[test]
    fn audit_retention_accepts_one_day_to_ten_years() {
        for (value, days) in [("1", 1), ("400", 400), ("3650", 3650)] {
            let c = from(&[("SCIM_AUDIT_RETENTION_DAYS", value)]).unwrap();
            assert_eq!(c.audit_retention_days, days);
        }
    }

    #[test]
    fn an_empty_value_counts_as_missing() {
        let c = from(&[
            ("SCIM_AUDIT_RETENTION_DAYS", "  "),
            ("SCIM_TABLE_NAME", ""),
            ("RUST_LOG", ""),
            ("SCIM_LOG_FORMAT", ""),
        ])
        .unwrap();
        assert_eq!(c.audit_retention_days, DEFAULT_RETENTION_DAYS);
        assert_eq!(c.table_name, None);
        assert_eq!(c.log_filter, DEFAULT_LOG_FILTER);
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn an_invalid_audit_retention_stops_start_up_naming_the_variable() {
        for bad in [
            "0",
            "3651",
            "-5",
            "30d",
            "1.5",
            "four hundred",
            "99999999999",
        ] {
            let e = error(&[("SCIM_AUDIT_RETENTION_DAYS", bad)]);
            assert!(e.contains("SCIM_AUDIT_RETENTION_DAYS"), "{e}");
            assert!(e.contains("1 to 3650"), "{e}");
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn other_invalid_values_stop_start_up_naming_the_variable() {
        let e = error(&[("SCIM_LOG_FORMAT", "yaml")]);
        assert!(e.contains("SCIM_LOG_FORMAT"), "{e}");
        let e = error(&[("SCIM_PUBLIC_BASE_URL", "scim.example.com")]);
        assert!(e.contains("SCIM_PUBLIC_BASE_URL"), "{e}");
        let e = error(&[("RUST_LOG", "scim_server=loud")]);
        assert!(e.contains("RUST_LOG"), "{e}");
    }
}
