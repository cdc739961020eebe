//! Builds the application from configuration: the one place that chooses the store and the token
//! source, so the Lambda and the local server cannot drift apart.

use std::sync::Arc;

use crate::auth::{
    secrets, Authenticator, CacheSettings, CachedTokenSource, EmbeddedTokenSource, TokenSource,
};
use crate::config::{Config, ConfigError};
use crate::http::{App, HttpSettings};
use crate::service::ScimService;
use crate::store::{MemoryStore, UserStore};

/// What `build` made, with handles the local server needs (to print a token).
pub struct Built {
    pub app: Arc<App>,
    /// Present when tokens are held in process (no `SCIM_SECRET_PREFIX`).
    pub embedded_tokens: Option<Arc<EmbeddedTokenSource>>,
    pub store_kind: &'static str,
}

pub async fn build(config: &Config, default_scheme: &'static str) -> Result<Built, ConfigError> {
    let (users, store_kind): (Arc<dyn UserStore>, &'static str) = match &config.table_name {
        None => (Arc::new(MemoryStore::new()), "embedded"),
        Some(_) => {
            return Err(ConfigError(
                "SCIM_TABLE_NAME is set, but this build has no DynamoDB store yet; unset it to use the embedded store".into(),
            ))
        }
    };
    let (tokens, embedded_tokens): (Arc<dyn TokenSource>, _) = match &config.secret_prefix {
        None => {
            let src = Arc::new(EmbeddedTokenSource::new());
            (src.clone(), Some(src))
        }
        Some(prefix) => (secrets_manager_tokens(prefix).await?, None),
    };
    let settings = HttpSettings {
        public_base_url: config.public_base_url.clone(),
        default_scheme,
    };
    let app = App::new(
        ScimService::new(users),
        Authenticator::new(tokens),
        settings,
    );
    Ok(Built {
        app,
        embedded_tokens,
        store_kind,
    })
}

/// The Secrets Manager token source behind the bounded cache. The SDK configuration (region,
/// credentials, `AWS_ENDPOINT_URL` for emulators) comes from the environment, once, at init.
async fn secrets_manager_tokens(prefix: &str) -> Result<Arc<dyn TokenSource>, ConfigError> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let source = secrets::SecretsManagerTokenSource::new(secrets::client(&sdk), prefix)
        .map_err(|e| ConfigError(format!("SCIM_SECRET_PREFIX: {e}")))?;
    Ok(Arc::new(CachedTokenSource::new(
        Arc::new(source),
        CacheSettings::default(),
    )))
}
