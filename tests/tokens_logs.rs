//! Logs of full request cycles against Secrets Manager (moto) never contain a token or its hash.
//! Its own test binary: it installs a tracing subscriber for the test's thread, which must not
//! race with other tests' callsite registrations. Needs the moto server: run via `make test`.

mod common;
mod token_support;

use http::{Method, StatusCode};
use secrecy::ExposeSecret;

use common::log_capture::Buffer;
use common::user_body;
use scim_server::auth::credentials::GenerateOptions;
use scim_server::auth::token::{self, TokenHash};
use scim_server::auth::CacheSettings;
use token_support::{sm_app, tenant};

#[tokio::test]
async fn request_logs_name_tokens_by_id_only() {
    let buffer = Buffer::default();
    // Every level of every crate, the AWS SDK's included: the most a deployment could log.
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(buffer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let s = sm_app(CacheSettings::default());
    let old = s.generate("acme", GenerateOptions::default()).await;
    let tok = s.generate("acme", GenerateOptions::default()).await;
    let created =
        s.t.call_as(
            &tok,
            Method::POST,
            "/Users",
            Some(user_body("dana@example.com")),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(
        s.t.call_as(&tok, Method::GET, &format!("/Users/{id}"), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        s.t.call_as(&old, Method::GET, "/Users", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let forged = token::generate(&tenant("acme"))
        .unwrap()
        .token
        .expose_secret()
        .to_owned();
    assert_eq!(
        s.t.call_as(&forged, Method::GET, "/Users", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    let logs = buffer.text();
    let token_id = token::token_id(&TokenHash::of(&tok));
    // The capture works: the request lines are there, naming the token by its id.
    assert_eq!(logs.matches("scim::request").count(), 4, "{logs}");
    assert!(logs.contains(&format!("token_id=\"{token_id}\"")), "{logs}");
    for secret in [&tok, &old, &forged] {
        // Everything after `scim_<tenant>_` (the secret itself may contain '_').
        let secret_part = secret.splitn(3, '_').nth(2).unwrap();
        assert!(secret_part.len() >= 43);
        let hash = TokenHash::of(secret).to_hex();
        assert!(!logs.contains(secret_part), "a token appears in the logs");
        assert!(!logs.contains(&hash), "a token hash appears in the logs");
    }
}
