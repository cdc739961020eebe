//! Builds the application from configuration: the one place that chooses the store and the token
//! source, so the Lambda and the local server cannot drift apart.

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};
use tokio::sync::OnceCell;

use crate::admin_api::health::HealthRecorder;
use crate::admin_api::AdminApi;
use crate::async_bulk::local::LocalBulkQueue;
use crate::async_bulk::sqs::SqsBulkQueue;
use crate::auth::credentials::CredentialStore;
use crate::auth::setup_link::SetupLinks;
use crate::auth::token::PlainToken;
use crate::auth::{
    secrets, Authenticator, CacheSettings, CachedTokenSource, EmbeddedTokenSource, TokenSource,
};
use crate::config::{Config, ConfigError, EventMode};
use crate::events::sink::FileSink;
use crate::http::admin::AdminHttp;
use crate::http::{App, HttpSettings};
use crate::service::ScimService;
use crate::store::admin::AdminStore;
use crate::store::dynamo::follow_up::DEFAULT_FOLLOW_UP_BUDGET;
use crate::store::{DynamoStore, MemoryStore, Store, StoreError};
use crate::tenant::TenantId;

/// What `build` made, with handles the local server needs (to print a token).
pub struct Built {
    pub app: Arc<App>,
    /// The admin API behind `/admin` (the local server issues its setup link through it).
    pub admin: Arc<AdminApi>,
    /// Present when tokens are held in process (no `SCIM_SECRET_PREFIX`).
    pub embedded_tokens: Option<Arc<EmbeddedTokenSource>>,
    pub store_kind: &'static str,
}

pub async fn build(config: &Config, default_scheme: &'static str) -> Result<Built, ConfigError> {
    // One SDK configuration (region, credentials, `AWS_ENDPOINT_URL`) for every AWS client: loaded
    // at most once, and only if an AWS service is configured.
    let aws = OnceCell::new();
    let sdk_config = || aws.get_or_init(|| aws_config::defaults(BehaviorVersion::latest()).load());
    // One store object serves SCIM and the admin API (same table, same audit trail).
    let mut local_sink = None;
    // On DynamoDB, the asynchronous queue (one SQS client) carries /Bulk jobs and group
    // follow-ups alike.
    let sqs_queue = match (&config.table_name, &config.events.async_queue_url) {
        (Some(_), Some(url)) => Some(Arc::new(SqsBulkQueue::new(sdk_config().await, url))),
        _ => None,
    };
    let (store, admin_store, store_kind): (Arc<dyn Store>, Arc<dyn AdminStore>, &'static str) =
        match &config.table_name {
            None => {
                let (s, sink) = embedded_store(config)?;
                local_sink = sink;
                let s = Arc::new(s);
                (s.clone(), s, "embedded")
            }
            Some(_) if config.events.file.is_some() => {
                // DynamoDB's feed is its stream (the stream handler); a file would silently miss
                // every change made by another process.
                return Err(ConfigError(
                    "SCIM_EVENTS_FILE applies to the embedded store only; with SCIM_TABLE_NAME events come from the table's stream".into(),
                ));
            }
            Some(table) => {
                let mut s =
                    dynamo_store(sdk_config().await, table, config.audit_retention_days).await?;
                // With the asynchronous queue (the Lambda), a large group rename or delete
                // does what fits its budget and leaves the rest to the worker (follow_up.rs).
                if let Some(queue) = &sqs_queue {
                    s = s.with_follow_ups(queue.clone(), DEFAULT_FOLLOW_UP_BUDGET);
                }
                let s = Arc::new(s);
                (s.clone(), s, "dynamodb")
            }
        };
    let (tokens, credentials, embedded_tokens): (
        Arc<dyn TokenSource>,
        Arc<dyn CredentialStore>,
        _,
    ) = match &config.secret_prefix {
        None => {
            let src = Arc::new(EmbeddedTokenSource::new());
            (src.clone(), src.clone(), Some(src))
        }
        Some(prefix) => {
            let (cached, source) = secrets_manager_tokens(sdk_config().await, prefix)?;
            (cached, source, None)
        }
    };
    let links = match &config.link_key_secret {
        Some(secret) => SetupLinks::from_secret(secrets::client(sdk_config().await), secret),
        None => SetupLinks::random()
            .map_err(|e| ConfigError(format!("cannot make a setup-link key: {e}")))?,
    };
    let health = Arc::new(HealthRecorder::new(admin_store.clone()));
    let admin = Arc::new(AdminApi::new(
        credentials,
        Arc::new(links),
        admin_store,
        store.clone(),
        health,
    ));
    let settings = HttpSettings {
        public_base_url: config.public_base_url.clone(),
        default_scheme,
    };
    let full = config.events.mode == EventMode::Full;
    let mut service = ScimService::new(store.clone()).with_recorded_values(full);
    if store_kind == "embedded" {
        // The worker's own service over the same store: the API's holds the queue to it.
        let worker = ScimService::new(store).with_recorded_values(full);
        let iss = crate::events::issuer(config);
        let queue = LocalBulkQueue::spawn(worker, local_sink, iss);
        service = service.with_bulk_queue(Arc::new(queue));
    } else if let Some(queue) = sqs_queue {
        service = service.with_bulk_queue(queue);
    }
    let app = App::with_admin(
        service,
        Authenticator::new(tokens),
        settings,
        AdminHttp {
            api: admin.clone(),
            frame_ancestors: config.admin_frame_ancestors.clone(),
        },
    );
    Ok(Built {
        app,
        admin,
        embedded_tokens,
        store_kind,
    })
}

/// The embedded store, telling the local event feed (`SCIM_EVENTS_FILE`) of every change, and
/// that feed (asynchronous bulk completions are written to it too).
fn embedded_store(config: &Config) -> Result<(MemoryStore, Option<Arc<FileSink>>), ConfigError> {
    let store = MemoryStore::new();
    let Some(path) = &config.events.file else {
        return Ok((store, None));
    };
    let iss = crate::events::issuer(config);
    let sink = FileSink::open(path, &iss).map_err(|e| {
        ConfigError(format!(
            "SCIM_EVENTS_FILE={}: cannot open for appending ({e})",
            path.display()
        ))
    })?;
    let sink = Arc::new(sink);
    Ok((store.with_sink(sink.clone()), Some(sink)))
}

/// Accept exactly `token` for `tenant` in the embedded token source (`SCIM_LOCAL_TOKEN` and
/// `SCIM_LOCAL_TENANT`), so a script or benchmark can call a process that prints no token, such as
/// the Lambda binary under a runtime emulator. Returns `Ok(false)` when tokens are in Secrets
/// Manager (the token is then ignored: it never bypasses the production source).
pub fn install_fixed_token(
    built: &Built,
    tenant: &str,
    token: &PlainToken,
) -> Result<bool, ConfigError> {
    let Some(tokens) = &built.embedded_tokens else {
        return Ok(false);
    };
    let tenant =
        TenantId::parse(tenant).map_err(|e| ConfigError(format!("SCIM_LOCAL_TENANT: {e}")))?;
    if tokens.install(&tenant, token) {
        Ok(true)
    } else {
        Err(ConfigError(format!(
            "SCIM_LOCAL_TOKEN is not a well-formed token of tenant {tenant}"
        )))
    }
}

/// Tokens as requests check them, and as the admin API writes them.
type TokenSources = (Arc<dyn TokenSource>, Arc<dyn CredentialStore>);

/// The Secrets Manager token source behind the bounded cache (for requests), and uncached (for
/// the admin API's writes).
fn secrets_manager_tokens(aws: &SdkConfig, prefix: &str) -> Result<TokenSources, ConfigError> {
    let source = Arc::new(
        secrets::SecretsManagerTokenSource::new(secrets::client(aws), prefix)
            .map_err(|e| ConfigError(format!("SCIM_SECRET_PREFIX: {e}")))?,
    );
    let cached = Arc::new(CachedTokenSource::new(
        source.clone(),
        CacheSettings::default(),
    ));
    Ok((cached, source))
}

/// The DynamoDB store, checked once at start: a missing table or missing permissions stop the
/// process with a clear message (every request would fail otherwise), while a transient failure
/// is only logged (the table may be fine a moment later, and requests answer 503 meanwhile).
async fn dynamo_store(
    aws: &SdkConfig,
    table: &str,
    audit_retention_days: u32,
) -> Result<DynamoStore, ConfigError> {
    let store = DynamoStore::new(crate::store::dynamo::client::client(aws), table)
        .with_audit_retention_days(audit_retention_days);
    match store.check_table().await {
        Ok(()) => Ok(store),
        Err(StoreError::Unavailable(cause)) => {
            tracing::warn!(table, cause = %cause, "DynamoDB not reachable at start; continuing");
            Ok(store)
        }
        Err(e) => Err(ConfigError(format!(
            "SCIM_TABLE_NAME={table}: the table cannot be read ({e}). Create it with `scimctl table create --table {table}` (local) or deploy template.yaml, and check the credentials and region."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token;
    use crate::config::LogFormat;
    use secrecy::ExposeSecret;

    fn embedded_config() -> Config {
        Config {
            log_format: LogFormat::Text,
            ..Config::default()
        }
    }

    async fn status(built: &Built, bearer: &str) -> http::StatusCode {
        let req = http::Request::get("/scim/v2/ServiceProviderConfig")
            .header("host", "test.local")
            .header("authorization", format!("Bearer {bearer}"))
            .body(bytes::Bytes::new())
            .unwrap();
        built.app.handle(req).await.status()
    }

    #[tokio::test]
    async fn fixed_token_is_accepted_by_the_embedded_source() {
        let built = build(&embedded_config(), "https").await.unwrap();
        let fixed = token::generate(&TenantId::parse("bench").unwrap())
            .unwrap()
            .token
            .expose_secret()
            .to_owned();
        assert_eq!(status(&built, &fixed).await, http::StatusCode::UNAUTHORIZED);
        assert_eq!(
            install_fixed_token(&built, "bench", &PlainToken::from(fixed.as_str())),
            Ok(true)
        );
        assert_eq!(status(&built, &fixed).await, http::StatusCode::OK);
    }

    #[tokio::test]
    async fn fixed_token_must_belong_to_the_tenant() {
        let built = build(&embedded_config(), "https").await.unwrap();
        let other = token::generate(&TenantId::parse("other").unwrap())
            .unwrap()
            .token
            .expose_secret()
            .to_owned();
        assert!(install_fixed_token(&built, "bench", &PlainToken::from(other.as_str())).is_err());
        assert!(install_fixed_token(&built, "bench", &PlainToken::from("not-a-token")).is_err());
        assert!(
            install_fixed_token(&built, "Not A Tenant!", &PlainToken::from(other.as_str()))
                .is_err()
        );
        assert_eq!(status(&built, &other).await, http::StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn fixed_token_is_ignored_without_the_embedded_source() {
        let mut built = build(&embedded_config(), "https").await.unwrap();
        built.embedded_tokens = None;
        let fixed = token::generate(&TenantId::parse("bench").unwrap())
            .unwrap()
            .token
            .expose_secret()
            .to_owned();
        assert_eq!(
            install_fixed_token(&built, "bench", &PlainToken::from(fixed.as_str())),
            Ok(false)
        );
    }
}
