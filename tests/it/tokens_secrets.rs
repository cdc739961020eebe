//! Tokens verified against Secrets Manager (moto, through the real SDK) end to end through the
//! router: generation, rotation with overlap, revocation, expiry, the cache's call counts,
//! tenant isolation, an unreachable Secrets Manager, and malformed tokens.
//! Needs the moto server: run via `make test`.

use crate::common;
use crate::token_support;

use secrecy::ExposeSecret;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::config::retry::RetryConfig;
use bytes::Bytes;
use http::header::HeaderValue;
use http::{Method, Request, StatusCode};
use serde_json::Value;

use common::user_body;
use scim_server::auth::credentials::{self, GenerateOptions};
use scim_server::auth::token;
use scim_server::auth::CacheSettings;
use scim_server::config::{Config, LogFormat};
use token_support::{hex_hash, moto_client, sm_app, sm_app_with, tenant, unique_prefix, SmApp};

async fn status_of(s: &SmApp, token: &str) -> StatusCode {
    s.t.call_as(token, Method::GET, "/Users", None).await.status
}

/// Short TTL so that "stops working within the TTL" is observable without long sleeps.
fn short_ttl() -> CacheSettings {
    CacheSettings {
        ttl: Duration::from_millis(500),
        ..Default::default()
    }
}

/// Wait until the wall clock is past `not_after` (unix seconds), bounded.
async fn wait_past(not_after: i64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while time::OffsetDateTime::now_utc().unix_timestamp() < not_after {
        assert!(Instant::now() < deadline, "clock did not reach {not_after}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_generated_token_works_at_once_and_a_new_one_replaces_it() {
    let s = sm_app(CacheSettings::default());
    let first = s.generate("acme", GenerateOptions::default()).await;
    assert_eq!(status_of(&s, &first).await, StatusCode::OK);

    let second = s.generate("acme", GenerateOptions::default()).await;
    // The unknown hash makes the cache re-read at once: the new token works immediately...
    assert_eq!(status_of(&s, &second).await, StatusCode::OK);
    // ...and that re-read no longer holds the old one.
    assert_eq!(status_of(&s, &first).await, StatusCode::UNAUTHORIZED);

    // The secret holds the documented layout, with the hash and never the token.
    let raw = moto_client()
        .get_secret_value()
        .secret_id(s.store.secret_name(&tenant("acme")))
        .send()
        .await
        .unwrap();
    let text = raw.secret_string().unwrap();
    assert!(!text.contains(&second) && !text.contains(&first));
    let doc: Value = serde_json::from_str(text).unwrap();
    assert_eq!(doc["version"], 1);
    let creds = doc["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0]["hash"], hex_hash(&second));
    assert_eq!(
        creds[0]["id"],
        token::token_id(&token::TokenHash::of(&second))
    );
    assert!(creds[0]["created"].as_str().unwrap().ends_with('Z'));
    assert!(creds[0]["not_after"].is_null());
}

#[tokio::test]
async fn a_replaced_token_stops_working_within_the_ttl() {
    let s = sm_app(short_ttl());
    let first = s.generate("acme", GenerateOptions::default()).await;
    assert_eq!(status_of(&s, &first).await, StatusCode::OK);
    let second = s.generate("acme", GenerateOptions::default()).await;
    // The old hash is still cached: it may be accepted until the TTL ends, not after.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(status_of(&s, &first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status_of(&s, &second).await, StatusCode::OK);
}

#[tokio::test]
async fn an_overlap_keeps_the_previous_token_until_the_window_ends() {
    let s = sm_app(CacheSettings::default());
    let first = s
        .generate(
            "acme",
            GenerateOptions {
                label: Some("okta".into()),
                ..Default::default()
            },
        )
        .await;
    let opts = GenerateOptions {
        overlap: Some(Duration::from_secs(3)),
        ..Default::default()
    };
    let g = credentials::generate(&s.store, &tenant("acme"), &opts)
        .await
        .unwrap();
    assert_eq!(g.overlapping.len(), 1);
    let end = g.overlapping[0].1.unwrap();
    assert_eq!(status_of(&s, g.token.expose_secret()).await, StatusCode::OK);
    assert_eq!(status_of(&s, &first).await, StatusCode::OK);

    let st = credentials::status(&s.store, &tenant("acme"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(st.len(), 2);
    assert_eq!(st[1].label.as_deref(), Some("okta"));
    assert_eq!(st[1].not_after, Some(end));

    wait_past(end).await;
    assert_eq!(status_of(&s, &first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status_of(&s, g.token.expose_secret()).await, StatusCode::OK);
    // A later rotation drops the expired credential from the secret.
    let third = s.generate("acme", opts).await;
    let st = credentials::status(&s.store, &tenant("acme"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        st.len(),
        2,
        "the expired overlap is dropped, the live previous one kept"
    );
    assert_eq!(status_of(&s, &third).await, StatusCode::OK);
}

#[tokio::test]
async fn an_expiring_token_stops_working_and_revoke_removes_every_token() {
    let s = sm_app(short_ttl());
    // Expiry is kept in whole seconds: 1 s could already be over at the first check.
    let opts = GenerateOptions {
        expires: Some(Duration::from_secs(3)),
        ..Default::default()
    };
    let g = credentials::generate(&s.store, &tenant("acme"), &opts)
        .await
        .unwrap();
    assert_eq!(status_of(&s, g.token.expose_secret()).await, StatusCode::OK);
    wait_past(g.not_after.unwrap()).await;
    assert_eq!(
        status_of(&s, g.token.expose_secret()).await,
        StatusCode::UNAUTHORIZED
    );

    let tok = s.generate("acme", GenerateOptions::default()).await;
    assert_eq!(status_of(&s, &tok).await, StatusCode::OK);
    assert_eq!(
        credentials::revoke(&s.store, &tenant("acme"))
            .await
            .unwrap(),
        1
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(status_of(&s, &tok).await, StatusCode::UNAUTHORIZED);
    // Revoke keeps the secret, with no credentials.
    assert_eq!(
        credentials::status(&s.store, &tenant("acme"))
            .await
            .unwrap(),
        Some(vec![])
    );
    // And the tenant can get a token again.
    let again = s.generate("acme", GenerateOptions::default()).await;
    assert_eq!(status_of(&s, &again).await, StatusCode::OK);
}

#[tokio::test]
async fn warm_requests_make_no_call_and_bad_token_floods_are_bounded() {
    let s = sm_app(CacheSettings::default());
    let tok = s.generate("acme", GenerateOptions::default()).await;
    for _ in 0..20 {
        assert_eq!(status_of(&s, &tok).await, StatusCode::OK);
    }
    let warm = s.counting.calls();
    eprintln!("Secrets Manager reads for 20 requests with one token: {warm}");
    assert_eq!(warm, 1, "only the first request reads Secrets Manager");

    // A token generated a moment ago works at once: one re-read.
    let new = s.generate("acme", GenerateOptions::default()).await;
    assert_eq!(status_of(&s, &new).await, StatusCode::OK);
    let after_new = s.counting.calls();
    eprintln!("reads after a new token: {after_new}");
    assert_eq!(after_new, 2);

    // 100 bad tokens for a warm tenant right after that re-read: no further call.
    for _ in 0..100 {
        let bad = token::generate(&tenant("acme"))
            .unwrap()
            .token
            .expose_secret()
            .to_owned();
        assert_eq!(status_of(&s, &bad).await, StatusCode::UNAUTHORIZED);
    }
    let warm_flood = s.counting.calls() - after_new;
    // 100 bad tokens for a tenant not yet cached: the first read plus at most one re-read.
    s.generate("globex", GenerateOptions::default()).await;
    let before = s.counting.calls();
    for _ in 0..100 {
        let bad = token::generate(&tenant("globex"))
            .unwrap()
            .token
            .expose_secret()
            .to_owned();
        assert_eq!(status_of(&s, &bad).await, StatusCode::UNAUTHORIZED);
    }
    let cold_flood = s.counting.calls() - before;
    eprintln!("reads for 100 bad tokens: warm tenant {warm_flood}, cold tenant {cold_flood}");
    assert_eq!(warm_flood, 0);
    assert!(cold_flood <= 2, "{cold_flood} reads");
}

#[tokio::test]
async fn unknown_tenant_floods_cost_one_read_per_name_and_never_evict_a_known_tenant() {
    let s = sm_app(CacheSettings {
        max_tenants: 2,
        max_unknown_tenants: 4,
        ..Default::default()
    });
    let tok = s.generate("acme", GenerateOptions::default()).await;
    assert_eq!(status_of(&s, &tok).await, StatusCode::OK);
    assert_eq!(s.counting.calls(), 1);

    // 100 well-formed tokens naming one tenant that has no secret: one read.
    for _ in 0..100 {
        let bad = token::generate(&tenant("ghost"))
            .unwrap()
            .token
            .expose_secret()
            .to_owned();
        assert_eq!(status_of(&s, &bad).await, StatusCode::UNAUTHORIZED);
    }
    let one_name = s.counting.calls() - 1;
    // 40 distinct unknown names, ten times the negative cache's bound: one read each.
    for i in 0..40 {
        let bad = token::generate(&tenant(&format!("ghost-{i}")))
            .unwrap()
            .token
            .expose_secret()
            .to_owned();
        assert_eq!(status_of(&s, &bad).await, StatusCode::UNAUTHORIZED);
    }
    let names = s.counting.calls() - 1 - one_name;
    eprintln!(
        "Secrets Manager reads: 100 tokens of one unknown tenant {one_name}, 40 names {names}"
    );
    assert_eq!(one_name, 1);
    assert_eq!(names, 40);
    // The known tenant is still cached: no read.
    let before = s.counting.calls();
    assert_eq!(status_of(&s, &tok).await, StatusCode::OK);
    assert_eq!(s.counting.calls(), before, "the known tenant was evicted");
}

#[tokio::test]
async fn each_token_sees_only_its_own_tenants_users() {
    let s = sm_app(CacheSettings::default());
    let a = s.generate("tenant-a", GenerateOptions::default()).await;
    let b = s.generate("tenant-b", GenerateOptions::default()).await;
    let mut ids = Vec::new();
    for (tok, name) in [
        (&a, "ann@a.example"),
        (&b, "bob@b.example"),
        (&b, "ann@a.example"),
    ] {
        let r =
            s.t.call_as(tok, Method::POST, "/Users", Some(user_body(name)))
                .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let list_a = s.t.call_as(&a, Method::GET, "/Users", None).await;
    assert_eq!(list_a.body["totalResults"], 1);
    assert_eq!(list_a.body["Resources"][0]["id"], ids[0].as_str());
    let list_b = s.t.call_as(&b, Method::GET, "/Users", None).await;
    assert_eq!(list_b.body["totalResults"], 2);
    // Another tenant's resource does not exist for this token, whatever the id.
    let cross =
        s.t.call_as(&a, Method::GET, &format!("/Users/{}", ids[1]), None)
            .await;
    cross.assert_error(404, None);
    let del =
        s.t.call_as(&a, Method::DELETE, &format!("/Users/{}", ids[1]), None)
            .await;
    del.assert_error(404, None);
    assert_eq!(
        s.t.call_as(&b, Method::GET, &format!("/Users/{}", ids[1]), None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn secrets_manager_down_is_503_with_retry_after_and_writes_nothing() {
    // A port that nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = token_support::client_for(&format!("http://127.0.0.1:{port}"));
    let client = aws_sdk_secretsmanager::Client::from_conf(
        client
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let s = sm_app_with(client, &unique_prefix(), CacheSettings::default());
    let tok = token::generate(&tenant("acme"))
        .unwrap()
        .token
        .expose_secret()
        .to_owned();
    let started = Instant::now();
    let r =
        s.t.call_as(
            &tok,
            Method::POST,
            "/Users",
            Some(user_body("carol@example.com")),
        )
        .await;
    r.assert_error(503, None);
    assert_eq!(r.header("retry-after"), Some("5"));
    assert!(
        r.header("www-authenticate").is_none(),
        "an outage must not look like a bad token"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let listed = s.inspector("acme").call(Method::GET, "/Users", None).await;
    assert_eq!(listed.body["totalResults"], 0, "nothing was written");
}

#[tokio::test]
async fn a_secret_that_is_not_a_credential_document_is_503_not_401() {
    let s = sm_app(CacheSettings::default());
    moto_client()
        .create_secret()
        .name(s.store.secret_name(&tenant("acme")))
        .secret_string("not json")
        .send()
        .await
        .unwrap();
    let tok = token::generate(&tenant("acme"))
        .unwrap()
        .token
        .expose_secret()
        .to_owned();
    s.t.call_as(&tok, Method::GET, "/Users", None)
        .await
        .assert_error(503, None);
    // `revoke` resets it.
    credentials::revoke(&s.store, &tenant("acme"))
        .await
        .unwrap();
    let tok = s.generate("acme", GenerateOptions::default()).await;
    // The failure is remembered for the backoff (1 s) before Secrets Manager is asked again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(status_of(&s, &tok).await, StatusCode::OK);
}

#[tokio::test]
async fn malformed_and_wrong_tokens_all_get_the_same_401() {
    let s = sm_app(CacheSettings::default());
    let good = s.generate("acme", GenerateOptions::default()).await;
    s.generate("globex", GenerateOptions::default()).await;
    let secret_part = good.rsplit('_').next().unwrap().to_owned();
    let huge = format!("scim_acme_{}", "A".repeat(100_000));
    let mut bytes_cases: Vec<Vec<u8>> = vec![
        b"Bearer ".to_vec(),
        format!("Bearer {huge}").into_bytes(),
        "Bearer scim_acme_ÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿ"
            .as_bytes()
            .to_vec(),
        format!("Bearer token_acme_{secret_part}").into_bytes(),
        format!("Bearer scim_globex_{secret_part}").into_bytes(),
        format!("Bearer scim_nobody_{secret_part}").into_bytes(),
        format!(
            "Bearer {}",
            token::generate(&tenant("acme"))
                .unwrap()
                .token
                .expose_secret()
                .to_owned()
        )
        .into_bytes(),
        format!("Basic {good}").into_bytes(),
        format!("Bearer {good}x").into_bytes(),
    ];
    // Raw bytes outside ASCII (obs-text) in the header value.
    let mut latin1 = b"Bearer scim_acme_".to_vec();
    latin1.extend(std::iter::repeat_n(0xE9u8, 43));
    bytes_cases.push(latin1);

    let mut bodies = Vec::new();
    let no_header = Request::builder()
        .method(Method::GET)
        .uri("/scim/v2/Users")
        .body(Bytes::new())
        .unwrap();
    bodies.push(s.t.send(no_header).await);
    for value in &bytes_cases {
        let req = Request::builder()
            .method(Method::GET)
            .uri("/scim/v2/Users")
            .header("authorization", HeaderValue::from_bytes(value).unwrap())
            .body(Bytes::new())
            .unwrap();
        bodies.push(s.t.send(req).await);
    }
    let first = &bodies[0];
    first.assert_error(401, None);
    for (i, a) in bodies.iter().enumerate() {
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "case {i}");
        assert_eq!(
            a.raw, first.raw,
            "case {i}: the body must not tell failures apart"
        );
        assert_eq!(
            a.header("www-authenticate"),
            first.header("www-authenticate"),
            "case {i}"
        );
    }
    assert_eq!(status_of(&s, &good).await, StatusCode::OK);
}

#[tokio::test]
async fn runtime_build_verifies_against_secrets_manager_when_a_prefix_is_configured() {
    // with_moto.sh exports AWS_ENDPOINT_URL and test credentials: the same path as the Lambda.
    token_support::moto_endpoint();
    let prefix = unique_prefix();
    let config = Config {
        table_name: None,
        secret_prefix: Some(prefix.clone()),
        public_base_url: None,
        log_format: LogFormat::Text,
        ..Config::default()
    };
    let built = scim_server::runtime::build(&config, "https").await.unwrap();
    assert!(built.embedded_tokens.is_none());
    let s = sm_app_with(moto_client(), &prefix, CacheSettings::default());
    let tok = s.generate("acme", GenerateOptions::default()).await;
    let req = Request::builder()
        .method(Method::GET)
        .uri("/scim/v2/Users")
        .header("authorization", format!("Bearer {tok}"))
        .body(Bytes::new())
        .unwrap();
    assert_eq!(built.app.handle(req).await.status(), StatusCode::OK);

    let bad = Config {
        secret_prefix: Some("no spaces allowed/".into()),
        ..config
    };
    let e = scim_server::runtime::build(&bad, "https")
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("SCIM_SECRET_PREFIX"), "{e}");
}

#[tokio::test]
async fn a_secret_scheduled_for_deletion_means_no_credentials() {
    let s = sm_app(CacheSettings::default());
    let tok = s.generate("acme", GenerateOptions::default()).await;
    moto_client()
        .delete_secret()
        .secret_id(s.store.secret_name(&tenant("acme")))
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    // 401 (the tenant has no token), not 503 (Secrets Manager refuses to read such a secret).
    s.t.call_as(&tok, Method::GET, "/Users", None)
        .await
        .assert_error(401, None);
}

#[tokio::test]
async fn tenant_listing_follows_every_page_and_keeps_only_tenant_secrets() {
    use scim_server::auth::credentials::CredentialStore;
    let s = sm_app(CacheSettings::default());
    let client = moto_client();
    // More than one ListSecrets page (100 per page by default).
    let mut expected = Vec::new();
    for i in 0..105 {
        let t = format!("t{i:03}");
        client
            .create_secret()
            .name(s.store.secret_name(&tenant(&t)))
            .secret_string("{}")
            .send()
            .await
            .unwrap();
        expected.push(tenant(&t));
    }
    // Not tenants: another id alphabet, and a name that only contains the prefix.
    let other = format!("{}Not_A_Tenant", s.store.prefix());
    client
        .create_secret()
        .name(other)
        .secret_string("{}")
        .send()
        .await
        .unwrap();
    client
        .create_secret()
        .name(format!("x/{}t000", s.store.prefix()))
        .secret_string("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(s.store.tenants().await.unwrap(), expected);
}
