//! Builds the application from configuration: the one place that chooses the store and the token
//! source, so the Lambda and the local server cannot drift apart.

use std::sync::Arc;

use crate::auth::{Authenticator, EmbeddedTokenSource, TokenSource};
use crate::config::{Config, ConfigError};
use crate::http::{App, HttpSettings};
use crate::service::ScimService;
use crate::store::{MemoryStore, Store};

/// What `build` made, with handles the local server needs (to print a token).
pub struct Built {
    pub app: Arc<App>,
    /// Present when tokens are held in process (no `SCIM_SECRET_PREFIX`).
    pub embedded_tokens: Option<Arc<EmbeddedTokenSource>>,
    pub store_kind: &'static str,
}

pub async fn build(config: &Config, default_scheme: &'static str) -> Result<Built, ConfigError> {
    let (store, store_kind): (Arc<dyn Store>, &'static str) = match &config.table_name {
        None => (Arc::new(MemoryStore::new()), "embedded"),
        Some(_) => {
            return Err(ConfigError(
                "SCIM_TABLE_NAME is set, but this build has no DynamoDB store yet; unset it to use the embedded store".into(),
            ))
        }
    };
    let (tokens, embedded_tokens): (Arc<dyn TokenSource>, _) =
        match &config.secret_prefix {
            None => {
                let src = Arc::new(EmbeddedTokenSource::new());
                (src.clone(), Some(src))
            }
            Some(_) => return Err(ConfigError(
                "SCIM_SECRET_PREFIX is set, but this build has no Secrets Manager token source yet"
                    .into(),
            )),
        };
    let settings = HttpSettings {
        public_base_url: config.public_base_url.clone(),
        default_scheme,
    };
    let app = App::new(
        ScimService::new(store),
        Authenticator::new(tokens),
        settings,
    );
    Ok(Built {
        app,
        embedded_tokens,
        store_kind,
    })
}
