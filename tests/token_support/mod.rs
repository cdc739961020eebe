//! Test support for the token tests: a Secrets Manager client on the private moto server that
//! `make test` starts (tests/tools/with_moto.sh), a per-test secret prefix, a call-counting
//! wrapper around a real token source, and an `App` verifying against Secrets Manager.
#![allow(dead_code)]

use secrecy::ExposeSecret;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_secretsmanager::Client;

use scim_server::auth::credentials::{self, GenerateOptions};
use scim_server::auth::secrets::{self, SecretsManagerTokenSource};
use scim_server::auth::token::TokenHash;
use scim_server::auth::{
    Authenticator, CacheSettings, CachedTokenSource, Credential, EmbeddedTokenSource, SourceError,
    TokenSource,
};
use scim_server::http::{App, HttpSettings};
use scim_server::service::ScimService;
use scim_server::store::{MemoryStore, Store};
use scim_server::tenant::TenantId;

use crate::common::TestApp;

/// The moto endpoint exported by tests/tools/with_moto.sh. CI always sets it.
pub fn moto_endpoint() -> String {
    match std::env::var("SCIM_TEST_AWS_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "SCIM_TEST_AWS_ENDPOINT is not set: this test needs the moto server. Run it via `make test` \
             (or `VENV=.venv tests/tools/with_moto.sh cargo test --test NAME`)."
        ),
    }
}

/// A Secrets Manager client for `endpoint`, with fixed test credentials (nothing is read from
/// the developer's AWS configuration).
pub fn client_for(endpoint: &str) -> Client {
    let conf = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .timeout_config(secrets::timeouts())
        .build();
    Client::from_conf(conf)
}

pub fn moto_client() -> Client {
    client_for(&moto_endpoint())
}

/// A secret-name prefix no other test uses, so tests run in parallel on one moto server.
pub fn unique_prefix() -> String {
    format!("scim-test-{}/", uuid::Uuid::new_v4())
}

pub use crate::common::requests::tenant;

/// Counts the reads that reach the wrapped (real) source.
pub struct Counting {
    inner: Arc<dyn TokenSource>,
    calls: AtomicUsize,
}

impl Counting {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl TokenSource for Counting {
    async fn credentials(&self, tenant: &TenantId) -> Result<Vec<Credential>, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.credentials(tenant).await
    }
}

/// An app whose tokens are verified against Secrets Manager (through the cache).
pub struct SmApp {
    pub t: TestApp,
    /// The store scimctl would use: generate / revoke / status write here.
    pub store: SecretsManagerTokenSource,
    /// Counts the Secrets Manager reads made by the app's authenticator.
    pub counting: Arc<Counting>,
    pub users: Arc<MemoryStore>,
}

pub fn sm_app_with(client: Client, prefix: &str, cache: CacheSettings) -> SmApp {
    let store = SecretsManagerTokenSource::new(client, prefix).unwrap();
    let counting = Arc::new(Counting {
        inner: Arc::new(store.clone()),
        calls: AtomicUsize::new(0),
    });
    let source = Arc::new(CachedTokenSource::new(counting.clone(), cache));
    let users = Arc::new(MemoryStore::new());
    let settings = HttpSettings {
        public_base_url: None,
        default_scheme: "https",
    };
    let app = App::new(
        ScimService::new(users.clone() as Arc<dyn Store>),
        Authenticator::new(source),
        settings,
    );
    let t = TestApp {
        app,
        tokens: Arc::new(EmbeddedTokenSource::new()),
        token: String::new(),
        tenant: tenant("acme"),
        store: users.clone(),
    };
    SmApp {
        t,
        store,
        counting,
        users,
    }
}

/// An app on moto with its own prefix and the given cache settings.
pub fn sm_app(cache: CacheSettings) -> SmApp {
    sm_app_with(moto_client(), &unique_prefix(), cache)
}

impl SmApp {
    /// Generate a token the way `scimctl token generate` does.
    pub async fn generate(&self, tenant: &str, opts: GenerateOptions) -> String {
        credentials::generate(&self.store, &TenantId::parse(tenant).unwrap(), &opts)
            .await
            .unwrap()
            .token
            .expose_secret()
            .to_owned()
    }

    /// An app on the same users store whose embedded token for `tenant` is returned, to look at
    /// the stored data without going through Secrets Manager.
    pub fn inspector(&self, tenant: &str) -> TestApp {
        crate::common::new_app_for_tenant(self.users.clone(), tenant)
    }
}

pub fn hex_hash(token: &str) -> String {
    TokenHash::of(token).to_hex()
}
