//! Shared test harness: an `App` on the embedded store with a token, and a request helper that
//! goes through the same router the Lambda and the local server use. `moto` has the DynamoDB
//! helpers (a fresh table per test on the moto server that `make test` starts), `requests` the
//! request builders and fixtures the test files share, `store_ext` the store methods only tests
//! use, `log_capture` a tracing writer the log tests read back, and [`on_store!`] runs scenario functions on each store.
#![allow(dead_code)]

pub mod counting;
pub mod log_capture;
pub mod moto;
pub mod replay;
pub mod requests;
pub mod seed;
pub mod store_ext;

/// Each scenario function `async fn name(t: &TestApp)` becomes the test `<store>::<name>`, run on
/// the `TestApp` that `$make` gives (`crate::common::new_app()`,
/// `crate::common::moto::dynamo_app().await`). The test attribute defaults to `#[tokio::test]`;
/// pass another one first: `on_store!(#[tokio::test(flavor = "multi_thread")] embedded, ...)`.
#[allow(unused_macros)]
macro_rules! on_store {
    (#[$test:meta] $store:ident, $make:expr, [$($name:ident),* $(,)?]) => {
        mod $store {
            $(
                #[$test]
                async fn $name() {
                    let t = $make;
                    super::$name(&t).await;
                }
            )*
        }
    };
    ($store:ident, $make:expr, [$($name:ident),* $(,)?]) => {
        $crate::common::on_store!(#[tokio::test] $store, $make, [$($name),*]);
    };
}
#[allow(unused_imports)]
pub(crate) use on_store;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use secrecy::ExposeSecret;
use serde_json::Value;

use scim_server::auth::{Authenticator, EmbeddedTokenSource};
use scim_server::http::{App, HttpSettings};
use scim_server::service::ScimService;
use scim_server::store::{MemoryStore, Store};
use scim_server::tenant::TenantId;

#[derive(Clone)]
pub struct TestApp {
    pub app: Arc<App>,
    pub tokens: Arc<EmbeddedTokenSource>,
    pub token: String,
    pub tenant: TenantId,
    /// The store behind the app, for seeding large data sets and checking what was written.
    pub store: Arc<dyn Store>,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Bytes,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Assert a SCIM error with this status and scimType (None: no scimType).
    #[track_caller]
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.header("content-type"), Some("application/scim+json"));
        assert_eq!(
            self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status.to_string());
        assert_eq!(
            self.body.get("scimType").and_then(Value::as_str),
            scim_type,
            "{}",
            self.body
        );
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
}

/// An app on `store` (one store holds users, groups and memberships), with a token of "acme".
pub fn new_app_with_store(store: Arc<dyn Store>) -> TestApp {
    new_app_for_tenant(store, "acme")
}

/// An app on `store` with its own embedded token source and a token of `tenant`.
pub fn new_app_for_tenant(store: Arc<dyn Store>, tenant: &str) -> TestApp {
    new_app_configured(store, tenant, |s| s)
}

/// [`new_app_for_tenant`] with the service adjusted by `configure` (e.g. a short settings TTL).
pub fn new_app_configured(
    store: Arc<dyn Store>,
    tenant: &str,
    configure: impl FnOnce(ScimService) -> ScimService,
) -> TestApp {
    let tokens = Arc::new(EmbeddedTokenSource::new());
    let tenant = TenantId::parse(tenant).unwrap();
    let token = tokens
        .generate(&tenant, None)
        .unwrap()
        .expose_secret()
        .to_owned();
    let settings = HttpSettings {
        public_base_url: None,
        default_scheme: "https",
    };
    let app = App::new(
        configure(ScimService::new(Arc::clone(&store))),
        Authenticator::new(tokens.clone()),
        settings,
    );
    TestApp {
        app,
        tokens,
        token,
        tenant,
        store,
    }
}

pub fn new_app() -> TestApp {
    new_app_with_store(Arc::new(MemoryStore::new()))
}

impl TestApp {
    /// A token for another tenant of the same app.
    pub fn token_for(&self, tenant: &str) -> String {
        self.tokens
            .generate(&TenantId::parse(tenant).unwrap(), None)
            .unwrap()
            .expose_secret()
            .to_owned()
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let token = self.token.clone();
        self.call_as(&token, method, path, body).await
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("/scim/v2{path}"))
            .header("host", "scim.test");
        if !token.is_empty() {
            b = b.header("authorization", format!("Bearer {token}"));
        }
        let bytes = match body {
            Some(v) => {
                b = b.header("content-type", "application/scim+json");
                Bytes::from(serde_json::to_vec(&v).unwrap())
            }
            None => Bytes::new(),
        };
        self.send(b.body(bytes).unwrap()).await
    }

    pub async fn send(&self, req: Request<Bytes>) -> Answer {
        let resp = self.app.handle(req).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let raw = resp.into_body();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&raw).expect("answer is JSON")
        };
        Answer {
            status,
            headers,
            body,
            raw,
        }
    }

    /// A raw request with this token, for header and body edge cases.
    pub fn request(&self, method: Method, path: &str) -> http::request::Builder {
        Request::builder()
            .method(method)
            .uri(format!("/scim/v2{path}"))
            .header("host", "scim.test")
            .header("authorization", format!("Bearer {}", self.token))
    }

    pub async fn create_user(&self, user_name: &str) -> Value {
        let a = self
            .call(Method::POST, "/Users", Some(user_body(user_name)))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        a.body
    }
}

pub fn user_body(user_name: &str) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": true
    })
}

/// The audit record a store write made directly by a test carries (in production the service
/// builds it); store tests that look at audit records build their own.
pub fn sys_audit() -> scim_server::audit::AuditRecord {
    scim_server::audit::AuditRecord::new(
        &TenantId::parse("test").unwrap(),
        &scim_server::audit::Actor::system(),
        scim_server::scim::schema::ResourceKind::User,
        "-",
        scim_server::audit::Action::Patch,
        Vec::new(),
    )
}

/// The audit record of a delete that keeps `deletion` as its deletion record.
pub fn deleting(deletion: &scim_server::store::Deletion) -> scim_server::audit::AuditRecord {
    scim_server::audit::AuditRecord {
        at: deletion.deleted_at.clone(),
        request_id: deletion.request_id.clone(),
        action: scim_server::audit::Action::Delete,
        ..sys_audit()
    }
}
