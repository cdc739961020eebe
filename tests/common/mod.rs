//! Shared test harness: an `App` on the embedded store with a token, and a request helper that
//! goes through the same router the Lambda and the local server use. `moto` has the DynamoDB
//! helpers (a fresh table per test on the moto server that `make test` starts).
#![allow(dead_code)]

pub mod counting;
pub mod moto;
pub mod replay;

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

/// An app on `store` (one store holds users, groups and memberships).
pub fn new_app_with_store(store: Arc<dyn Store>) -> TestApp {
    let tokens = Arc::new(EmbeddedTokenSource::new());
    let tenant = TenantId::parse("acme").unwrap();
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
        ScimService::new(Arc::clone(&store)),
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
