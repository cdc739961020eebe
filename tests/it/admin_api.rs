//! The admin API (`/admin/v1`, `/admin/s/v1`) and setup links, through the router, on both
//! stores: the embedded store with embedded tokens, and DynamoDB + Secrets Manager on moto.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use scim_server::admin_api::health::{HealthRecorder, Observed};
use scim_server::admin_api::{AdminActor, AdminApi, AdminCaller};
use scim_server::auth::credentials::CredentialStore;
use scim_server::auth::secrets::SecretsManagerTokenSource;
use scim_server::auth::setup_link::SetupLinks;
use scim_server::auth::{Authenticator, EmbeddedTokenSource, TokenSource};
use scim_server::http::admin::{AdminHttp, IamPrincipal};
use scim_server::http::{App, HttpSettings};
use scim_server::service::ScimService;
use scim_server::store::admin::AdminStore;
use scim_server::store::{MemoryStore, Store};
use scim_server::tenant::TenantId;

use crate::common::moto::dynamo_fixture;
use crate::common::on_store;
use crate::token_support::{moto_client, unique_prefix};

/// The signing key of these tests' apps, so a test can forge an expired (but well-signed) link.
const KEY: &[u8] = b"admin-api-tests-key-0123456789abcdef";

struct Admin {
    app: Arc<App>,
    api: Arc<AdminApi>,
    store: Arc<dyn AdminStore>,
    acme: TenantId,
    globex: TenantId,
}

fn build<S: Store + AdminStore + 'static>(
    store: Arc<S>,
    credentials: Arc<dyn CredentialStore>,
    tokens: Arc<dyn TokenSource>,
) -> Admin {
    let admin_store: Arc<dyn AdminStore> = store.clone();
    let api = Arc::new(AdminApi::new(
        credentials,
        Arc::new(SetupLinks::with_key(KEY.to_vec())),
        admin_store.clone(),
        store.clone(),
        Arc::new(HealthRecorder::new(admin_store.clone())),
    ));
    let app = App::with_admin(
        ScimService::new(store),
        Authenticator::new(tokens),
        HttpSettings {
            public_base_url: None,
            default_scheme: "https",
        },
        AdminHttp {
            api: api.clone(),
            frame_ancestors: None,
        },
    );
    Admin {
        app,
        api,
        store: admin_store,
        acme: TenantId::parse("acme").unwrap(),
        globex: TenantId::parse("globex").unwrap(),
    }
}

fn embedded() -> Admin {
    let tokens = Arc::new(EmbeddedTokenSource::new());
    build(Arc::new(MemoryStore::new()), tokens.clone(), tokens)
}

/// DynamoDB on a fresh table, tokens in Secrets Manager under a fresh prefix (uncached, so a
/// rotation is seen by the next request).
async fn on_moto() -> Admin {
    let fx = dynamo_fixture().await;
    let sm = Arc::new(SecretsManagerTokenSource::new(moto_client(), &unique_prefix()).unwrap());
    build(Arc::new(fx.store), sm.clone(), sm)
}

fn operator() -> AdminCaller {
    AdminCaller {
        actor: AdminActor::Operator("test".into()),
        request_id: "-".into(),
    }
}

struct Reply {
    status: StatusCode,
    body: Value,
    headers: http::HeaderMap,
}

impl Admin {
    async fn link(&self, tenant: &TenantId) -> (String, String) {
        let l = self
            .api
            .create_link(&operator(), tenant, Duration::from_secs(3600))
            .await
            .unwrap();
        (l.credential.expose_secret().to_owned(), l.link_id)
    }

    async fn send(&self, req: Request<Bytes>) -> Reply {
        let resp = self.app.handle(req).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        Reply {
            status,
            body,
            headers,
        }
    }

    async fn call(&self, method: Method, path: &str, bearer: &str, body: Option<Value>) -> Reply {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "scim.test")
            .header("user-agent", "Okta SCIM Client");
        if !bearer.is_empty() {
            b = b.header("authorization", format!("Bearer {bearer}"));
        }
        let body = body.map_or_else(Bytes::new, |v| Bytes::from(v.to_string()));
        self.send(b.body(body).unwrap()).await
    }

    async fn session(&self, link: &str) -> Reply {
        self.call(
            Method::POST,
            "/admin/s/v1/session",
            "",
            Some(json!({ "link": link })),
        )
        .await
    }

    async fn session_of(&self, tenant: &TenantId) -> String {
        let (link, _) = self.link(tenant).await;
        let s = self.session(&link).await;
        assert_eq!(s.status, StatusCode::OK, "{}", s.body);
        s.body["session"].as_str().unwrap().to_owned()
    }

    async fn generate(&self, session: &str, tenant: &TenantId, overlap: u64) -> String {
        let r = self
            .call(
                Method::POST,
                &format!("/admin/s/v1/tenants/{tenant}/token"),
                session,
                Some(json!({ "overlap_seconds": overlap })),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["token"].as_str().unwrap().to_owned()
    }

    async fn scim_status(&self, token: &str) -> StatusCode {
        self.call(Method::GET, "/scim/v2/Users", token, None)
            .await
            .status
    }
}

/// Poll `f` until it gives a value (at most 2 s): health counts land from a spawned flush.
async fn eventually<T, F, Fut>(f: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..100 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition not reached within 2 s");
}

/// A settings write refused as a whole: 400 `invalidValue` whose detail names each of `names`.
#[track_caller]
fn assert_settings_refused(r: &Reply, names: &[&str]) {
    assert_eq!(
        (r.status, r.body["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidValue")),
        "{}",
        r.body
    );
    let detail = r.body["detail"].as_str().unwrap_or_default();
    assert!(names.iter().all(|n| detail.contains(n)), "{detail}");
}

#[track_caller]
fn assert_401(r: &Reply) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(r.body["status"], "401");
    assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

async fn generate_rotates_and_overlap_keeps_the_previous_token(t: &Admin) {
    let s = t.session_of(&t.acme).await;
    let first = t.generate(&s, &t.acme, 0).await;
    assert_eq!(t.scim_status(&first).await, StatusCode::OK);
    let second = t.generate(&s, &t.acme, 0).await;
    assert_eq!(t.scim_status(&first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(t.scim_status(&second).await, StatusCode::OK);
    let third = t.generate(&s, &t.acme, 600).await;
    assert_eq!(
        t.scim_status(&second).await,
        StatusCode::OK,
        "kept by the overlap"
    );
    assert_eq!(t.scim_status(&third).await, StatusCode::OK);
    // Health is flushed off the request path: wait for the first flush to land.
    let status = eventually(|| async {
        let r = t
            .call(Method::GET, "/admin/s/v1/tenants/acme/token", &s, None)
            .await;
        (r.body["tokens"][0]["last_used_idp"] == "okta").then_some(r)
    })
    .await;
    let roles: Vec<&str> = status.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["current", "previous"]);
    // "Last used" is kept per IdP and hour for the token that IdP used last: the new one.
    assert!(status.body["tokens"][0]["last_used"].is_string());
    assert!(status.body["tokens"][1]["last_used"].is_null());
    let revoked = t
        .call(Method::DELETE, "/admin/s/v1/tenants/acme/token", &s, None)
        .await;
    assert_eq!(revoked.body["revoked"], 2, "{}", revoked.body);
    assert_eq!(t.scim_status(&third).await, StatusCode::UNAUTHORIZED);
}

async fn expired_tampered_and_revoked_links_get_401(t: &Admin) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let same_key = SetupLinks::with_key(KEY.to_vec());
    let expired = same_key
        .issue_link(&t.acme, Duration::from_secs(60), now - 120)
        .await
        .unwrap();
    let r = t.session(expired.text.expose_secret()).await;
    assert_401(&r);
    assert!(r.body["detail"].as_str().unwrap().contains("expired"));

    let (link, link_id) = t.link(&t.acme).await;
    let tampered = link.replacen(".acme.", ".globex.", 1);
    assert_ne!(tampered, link);
    assert_401(&t.session(&tampered).await);
    let other_key = SetupLinks::with_key(b"another-key-another-key-another-key".to_vec())
        .issue_link(&t.acme, Duration::from_secs(600), now)
        .await
        .unwrap();
    assert_401(&t.session(other_key.text.expose_secret()).await);

    // A session made before the revocation ends with it.
    let s = t.session(&link).await.body["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoke = t
        .call(
            Method::DELETE,
            &format!("/admin/s/v1/tenants/acme/setup-links/{link_id}"),
            &s,
            None,
        )
        .await;
    assert_eq!(revoke.status, StatusCode::OK, "{}", revoke.body);
    assert_401(&t.session(&link).await);
    let r = t
        .call(Method::GET, "/admin/s/v1/tenants/acme/token", &s, None)
        .await;
    assert_401(&r);
    assert!(r.body["detail"].as_str().unwrap().contains("revoked"));
}

async fn scim_tokens_and_setup_credentials_never_cross(t: &Admin) {
    let s = t.session_of(&t.acme).await;
    let token = t.generate(&s, &t.acme, 0).await;
    let (link, _) = t.link(&t.acme).await;
    for path in [
        "/admin/v1/tenants/acme/token",
        "/admin/s/v1/tenants/acme/token",
    ] {
        assert_401(&t.call(Method::GET, path, &token, None).await);
        assert_401(&t.call(Method::GET, path, "", None).await);
        // The link itself is not a session.
        assert_401(&t.call(Method::GET, path, &link, None).await);
    }
    for bearer in [&link, &s] {
        let r = t.call(Method::GET, "/scim/v2/Users", bearer, None).await;
        assert_401(&r);
    }
    // The token still works: nothing above changed anything.
    assert_eq!(t.scim_status(&token).await, StatusCode::OK);
}

async fn a_link_for_one_tenant_cannot_touch_another(t: &Admin) {
    let acme = t.session_of(&t.acme).await;
    let globex = t.session_of(&t.globex).await;
    let globex_token = t.generate(&globex, &t.globex, 0).await;
    for (method, path) in [
        (Method::POST, "/admin/s/v1/tenants/globex/token"),
        (Method::DELETE, "/admin/s/v1/tenants/globex/token"),
        (Method::GET, "/admin/s/v1/tenants/globex/token"),
        (Method::GET, "/admin/s/v1/tenants/globex/health"),
        (Method::GET, "/admin/s/v1/tenants/globex/changes"),
        (Method::POST, "/admin/s/v1/tenants/globex/setup-links"),
        (Method::DELETE, "/admin/v1/tenants/globex/token"),
    ] {
        let r = t.call(method.clone(), path, &acme, Some(json!({}))).await;
        assert_401(&r);
    }
    assert_eq!(t.scim_status(&globex_token).await, StatusCode::OK);
    let changes = t
        .call(
            Method::GET,
            "/admin/s/v1/tenants/globex/changes",
            &globex,
            None,
        )
        .await;
    // globex's trail holds globex's own link and token only: nothing acme's session tried.
    let actions: Vec<&str> = changes.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["token_generate", "link_create"]);
}

async fn iam_principal_opens_the_backend_api_only(t: &Admin) {
    let arn = "arn:aws:sts::123456789012:assumed-role/product-backend/session";
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/admin/v1/tenants/acme/token")
        .header("host", "scim.test")
        .body(Bytes::new())
        .unwrap();
    req.extensions_mut().insert(IamPrincipal(arn.into()));
    let r = t.send(req).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.headers.get("cache-control").unwrap(), "no-store");
    let token = r.body["token"].as_str().unwrap().to_owned();
    assert_eq!(t.scim_status(&token).await, StatusCode::OK);
    // The page's API never takes an IAM principal (it is public at API Gateway).
    let mut req = Request::builder()
        .uri("/admin/s/v1/tenants/acme/token")
        .header("host", "scim.test")
        .body(Bytes::new())
        .unwrap();
    req.extensions_mut().insert(IamPrincipal(arn.into()));
    assert_401(&t.send(req).await);
    // Recorded with its actor.
    let recent = t
        .api
        .recent_changes(&operator(), &t.acme, None, 10)
        .await
        .unwrap();
    let mine = &recent.changes[0];
    assert_eq!(
        (
            mine.token_id.as_str(),
            mine.resource_type.as_str(),
            mine.resource_id.len()
        ),
        (format!("iam:{arn}").as_str(), "Token", 8)
    );
}

async fn recent_changes_page_newest_first(t: &Admin) {
    let s = t.session_of(&t.acme).await;
    let token = t.generate(&s, &t.acme, 0).await;
    for i in 0..4 {
        let body = crate::common::user_body(&format!("user{i}@example.com"));
        let r = t
            .call(Method::POST, "/scim/v2/Users", &token, Some(body))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    // link_create + token_generate + 4 creates, newest first, two at a time.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let q = cursor
            .as_ref()
            .map_or(String::new(), |c| format!("&cursor={}", urlencode(c)));
        let r = t
            .call(
                Method::GET,
                &format!("/admin/s/v1/tenants/acme/changes?count=2{q}"),
                &s,
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let page = r.body["changes"].as_array().unwrap().clone();
        assert!(page.len() <= 2);
        seen.extend(page);
        match r.body["next"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let actions: Vec<&str> = seen.iter().map(|c| c["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "create",
            "create",
            "create",
            "create",
            "token_generate",
            "link_create"
        ]
    );
    let ats: Vec<&str> = seen.iter().map(|c| c["at"].as_str().unwrap()).collect();
    assert!(ats.windows(2).all(|w| w[0] >= w[1]), "{ats:?}");
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn bad_input_gets_a_scim_error_and_changes_nothing(t: &Admin) {
    let s = t.session_of(&t.acme).await;
    let token = t.generate(&s, &t.acme, 0).await;
    let raw = |method: Method, path: &str, body: &'static str| {
        Request::builder()
            .method(method)
            .uri(path.to_owned())
            .header("host", "scim.test")
            .header("authorization", format!("Bearer {s}"))
            .body(Bytes::from_static(body.as_bytes()))
            .unwrap()
    };
    let cases = [
        (
            raw(Method::POST, "/admin/s/v1/tenants/acme/token", "{"),
            400,
            Some("invalidSyntax"),
        ),
        (
            raw(
                Method::POST,
                "/admin/s/v1/tenants/acme/token",
                r#"{"overlap_seconds":"x"}"#,
            ),
            400,
            Some("invalidSyntax"),
        ),
        (
            raw(
                Method::POST,
                "/admin/s/v1/tenants/acme/token",
                r#"{"nope":1}"#,
            ),
            400,
            Some("invalidSyntax"),
        ),
        (
            raw(
                Method::POST,
                "/admin/s/v1/tenants/acme/token",
                r#"{"overlap_seconds":999999999}"#,
            ),
            400,
            Some("invalidValue"),
        ),
        (
            raw(
                Method::POST,
                "/admin/s/v1/tenants/acme/setup-links",
                r#"{"ttl_seconds":999999999}"#,
            ),
            400,
            Some("invalidValue"),
        ),
        (
            raw(Method::GET, "/admin/s/v1/tenants/acme/changes?count=x", ""),
            400,
            Some("invalidValue"),
        ),
        (
            raw(
                Method::GET,
                "/admin/s/v1/tenants/acme/changes?cursor=%27%3B--",
                "",
            ),
            400,
            Some("invalidValue"),
        ),
        (
            raw(Method::GET, "/admin/s/v1/tenants/ACME!/token", ""),
            400,
            Some("invalidValue"),
        ),
        (
            raw(
                Method::DELETE,
                "/admin/s/v1/tenants/acme/setup-links/bad%20id",
                "",
            ),
            400,
            Some("invalidValue"),
        ),
        (
            raw(Method::PUT, "/admin/s/v1/tenants/acme/token", ""),
            405,
            None,
        ),
        (
            raw(Method::GET, "/admin/s/v1/tenants/acme/nothing", ""),
            404,
            None,
        ),
        (raw(Method::GET, "/admin/s/v1/session", ""), 405, None),
        (
            raw(Method::POST, "/admin/s/v1/session", "[]"),
            400,
            Some("invalidSyntax"),
        ),
    ];
    for (req, status, scim_type) in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let r = t.send(req).await;
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.body);
        assert_eq!(
            r.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(
            r.body.get("scimType").and_then(Value::as_str),
            scim_type,
            "{what}"
        );
    }
    let long_link = "v1.l.".to_owned() + &"a".repeat(5000);
    assert_401(&t.session(&long_link).await);
    assert_eq!(t.scim_status(&token).await, StatusCode::OK);
    let status = t
        .call(Method::GET, "/admin/s/v1/tenants/acme/token", &s, None)
        .await;
    assert_eq!(status.body["tokens"].as_array().unwrap().len(), 1);
}

async fn health_counts_per_idp_with_the_last_error(t: &Admin) {
    let s = t.session_of(&t.acme).await;
    let token = t.generate(&s, &t.acme, 0).await;
    assert_eq!(t.scim_status(&token).await, StatusCode::OK);
    let missing = t
        .call(Method::GET, "/scim/v2/Users/does-not-exist", &token, None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let entra = Request::builder()
        .uri("/scim/v2/Users")
        .header("host", "scim.test")
        .header("user-agent", "Microsoft.Identity.Provisioning")
        .header("authorization", format!("Bearer {token}"))
        .body(Bytes::new())
        .unwrap();
    assert_eq!(t.send(entra).await.status, StatusCode::OK);
    let h = eventually(|| async {
        let r = t
            .call(Method::GET, "/admin/s/v1/tenants/acme/health", &s, None)
            .await;
        let total: u64 = r.body["idps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["requests_24h"].as_u64().unwrap())
            .sum();
        (total == 3).then_some(r)
    })
    .await;
    let idps = h.body["idps"].as_array().unwrap();
    let okta = idps.iter().find(|i| i["idp"] == "okta").unwrap();
    assert_eq!(
        (okta["requests_24h"].as_u64(), okta["errors_24h"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(okta["last_error"]["status"], 404);
    assert_eq!(okta["last_error"]["detail"], missing.body["detail"]);
    let entra = idps.iter().find(|i| i["idp"] == "entra").unwrap();
    assert_eq!(entra["requests_24h"], 1);
    assert!(entra["last_error"].is_null());
}

/// Two function instances flushing into one store: counts add up (DynamoDB `ADD`), and one
/// instance writes at most once per interval per tenant, not once per request.
async fn health_flushes_are_rare_and_add_up_across_instances(t: &Admin) {
    let a = Arc::new(HealthRecorder::new(t.store.clone()));
    let b = Arc::new(HealthRecorder::new(t.store.clone()));
    let mut tasks = Vec::new();
    for r in [a.clone(), b.clone()] {
        tasks.push(tokio::spawn(async move {
            let acme = TenantId::parse("acme").unwrap();
            for i in 0..50u16 {
                r.record(&Observed {
                    tenant: &acme,
                    idp: "okta",
                    token_id: "abcd1234",
                    status: if i % 10 == 0 { 500 } else { 200 },
                    scim_type: "",
                    detail: "",
                });
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Only each instance's first request was flushed (by a spawned task).
    let stored = |store: Arc<dyn AdminStore>, acme: TenantId| async move {
        store
            .health(&acme, 0)
            .await
            .unwrap()
            .iter()
            .map(|b| b.requests)
            .sum::<u64>()
    };
    let mut flushed = 0;
    for _ in 0..50 {
        flushed = stored(t.store.clone(), t.acme.clone()).await;
        if flushed == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(flushed, 2, "one write per instance so far");
    tokio::join!(a.flush_all(), b.flush_all());
    let buckets = t.store.health(&t.acme, 0).await.unwrap();
    let (requests, errors) = buckets
        .iter()
        .fold((0, 0), |(r, e), b| (r + b.requests, e + b.errors));
    assert_eq!((requests, errors), (100, 10));
}

/// The tenant's settings through the page's API: read (defaults), set as `scimctl tenant set`
/// would (one bad pair refuses all and changes nothing), applied to the tenant's SCIM endpoint,
/// recorded with the actor, and closed to another tenant's link.
async fn settings_are_read_and_set_through_the_admin_api(t: &Admin) {
    let s = t.session_of(&t.acme).await;
    let path = format!("/admin/s/v1/tenants/{}/settings", t.acme);
    let r = t.call(Method::GET, &path, &s, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["settings"]["profile"].as_str(),
            r.body["version"].as_u64()
        ),
        (Some("tolerant"), Some(0))
    );

    let set = json!({"settings": {"profile": "strict"}});
    let r = t.call(Method::PUT, &path, &s, Some(set)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["settings"]["profile"].as_str(),
            r.body["version"].as_u64()
        ),
        (Some("strict"), Some(1))
    );

    // One bad pair refuses the whole set: 400 invalidValue naming each problem, nothing written.
    let bad = json!({"settings": {"profile": "loose", "colour": "blue"}});
    let r = t.call(Method::PUT, &path, &s, Some(bad)).await;
    assert_settings_refused(&r, &["loose", "colour"]);
    let r = t
        .call(Method::PUT, &path, &s, Some(json!({"profile": "strict"})))
        .await;
    assert_eq!(
        (r.status, r.body["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidSyntax")),
        "{}",
        r.body
    );
    let r = t.call(Method::GET, &path, &s, None).await;
    assert_eq!(
        (
            r.body["settings"]["profile"].as_str(),
            r.body["version"].as_u64()
        ),
        (Some("strict"), Some(1))
    );

    // The tenant's SCIM endpoint follows it.
    let token = t.generate(&s, &t.acme, 0).await;
    let spc = t
        .call(Method::GET, "/scim/v2/ServiceProviderConfig", &token, None)
        .await;
    assert_eq!(spc.body["interopProfileConformant"], true, "{}", spc.body);

    // Recorded with the link's actor, naming the key, never the value; no other tenant's link.
    let recent = t
        .api
        .recent_changes(&operator(), &t.acme, None, 10)
        .await
        .unwrap();
    let rec = recent
        .changes
        .iter()
        .find(|c| c.resource_type == "Settings")
        .expect("a settings record");
    assert_eq!(rec.changed, ["profile"]);
    assert!(rec.token_id.starts_with("link:"), "{}", rec.token_id);
    let other = t.session_of(&t.globex).await;
    assert_401(&t.call(Method::GET, &path, &other, None).await);

    // A seat limit set here counts the tenant's seats first, as `scimctl tenant set` does, so
    // the limit holds from the first write (globex: no SCIM request has cached its settings).
    let globex = format!("/admin/s/v1/tenants/{}/settings", t.globex);
    let limit = json!({"settings": {"seat_limit": "1"}});
    let r = t.call(Method::PUT, &globex, &other, Some(limit)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let token = t.generate(&other, &t.globex, 0).await;
    let user =
        |n: &str| json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": n});
    let first = t
        .call(
            Method::POST,
            "/scim/v2/Users",
            &token,
            Some(user("a@globex.test")),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let second = t
        .call(
            Method::POST,
            "/scim/v2/Users",
            &token,
            Some(user("b@globex.test")),
        )
        .await;
    assert_eq!(second.status, StatusCode::FORBIDDEN, "{}", second.body);
}

/// Every scenario runs on both stores: `embedded::<name>` and `dynamodb::<name>`.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        on_store!(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            embedded, super::embedded(), [$($name),*]
        );
        on_store!(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            dynamodb, super::on_moto().await, [$($name),*]
        );
    };
}

/// Roles from groups through the admin API: rules as a JSON array, a bad rule 400 naming it and
/// writing nothing, and one `roles_recompute` audit record written by the background task.
async fn role_rules_through_the_admin_api(t: &Admin) {
    let s = t.session_of(&t.acme).await;
    let path = format!("/admin/s/v1/tenants/{}/settings", t.acme);
    let bad = json!({"settings": {"role_rules": [{"group": "Admins", "role": "admin"}]}});
    let r = t.call(Method::PUT, &path, &s, Some(bad)).await;
    assert_settings_refused(&r, &["role_rules", "priority"]);
    let r = t.call(Method::GET, &path, &s, None).await;
    assert_eq!(r.body["version"].as_u64(), Some(0), "nothing written");

    let rules = json!([{"group": "Admins", "role": "admin", "priority": 10}]);
    let set = json!({"settings": {"role_rules": rules, "role_ceiling": "member"}});
    let r = t.call(Method::PUT, &path, &s, Some(set)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["settings"]["role_ceiling"], "member");
    let shown: Value =
        serde_json::from_str(r.body["settings"]["role_rules"].as_str().unwrap()).unwrap();
    assert_eq!(shown, rules);
    let recomputed = eventually(|| async {
        let all = t
            .store
            .recent_audit(&t.acme, None, 100)
            .await
            .unwrap_or_default();
        all.into_iter()
            .find(|r| r.action == scim_server::audit::Action::RolesRecompute)
    })
    .await;
    assert_eq!(recomputed.changed, ["role_ceiling", "role_rules"]);
    assert_eq!(recomputed.roles_changed, Some(0), "no user yet");
}

on_both_stores!(
    role_rules_through_the_admin_api,
    generate_rotates_and_overlap_keeps_the_previous_token,
    expired_tampered_and_revoked_links_get_401,
    scim_tokens_and_setup_credentials_never_cross,
    a_link_for_one_tenant_cannot_touch_another,
    iam_principal_opens_the_backend_api_only,
    recent_changes_page_newest_first,
    bad_input_gets_a_scim_error_and_changes_nothing,
    health_counts_per_idp_with_the_last_error,
    health_flushes_are_rare_and_add_up_across_instances,
    settings_are_read_and_set_through_the_admin_api,
);

/// The cost figure in ARCHITECTURE.md ("Admin API"): 500 SCIM requests of one tenant from one
/// IdP within a minute cost one health write in total, not one per request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_costs_one_write_per_tenant_per_minute_not_per_request() {
    let fx = dynamo_fixture().await;
    let calls = fx.calls.clone();
    let tokens = Arc::new(EmbeddedTokenSource::new());
    let t = build(Arc::new(fx.store), tokens.clone(), tokens.clone());
    let token = tokens
        .generate(&t.acme, None)
        .unwrap()
        .expose_secret()
        .to_owned();
    calls.take();
    for _ in 0..500 {
        assert_eq!(t.scim_status(&token).await, StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ops = calls.take();
    let health_writes = ops.iter().filter(|o| o.as_str() == "UpdateItem").count();
    let reads = ops.iter().filter(|o| o.as_str() == "Query").count();
    eprintln!(
        "500 requests: {} DynamoDB calls, {health_writes} health writes",
        ops.len()
    );
    assert_eq!(health_writes, 1, "{ops:?}");
    // A list request reads its page and the counter shards (two Queries, concurrently).
    assert_eq!(
        reads, 1000,
        "two list Queries per request, nothing else per request"
    );
    assert_eq!(ops.len(), 1001, "{ops:?}");
}

/// Production wiring: the link key comes from Secrets Manager (moto), read on first use.
#[tokio::test]
async fn runtime_signs_links_with_the_key_in_secrets_manager() {
    let sm = moto_client();
    let name = format!("{}link-key", unique_prefix());
    let key = "k".repeat(48);
    sm.create_secret()
        .name(&name)
        .secret_string(&key)
        .send()
        .await
        .unwrap();
    let config = scim_server::config::Config {
        link_key_secret: Some(name),
        ..Default::default()
    };
    let built = scim_server::runtime::build(&config, "https").await.unwrap();
    let acme = TenantId::parse("acme").unwrap();
    let link = built
        .admin
        .create_link(&operator(), &acme, Duration::from_secs(600))
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let verified = SetupLinks::with_key(key.into_bytes())
        .verify(
            link.credential.expose_secret(),
            scim_server::auth::setup_link::Kind::Link,
            now,
        )
        .await
        .unwrap();
    assert_eq!(verified.map(|c| c.tenant), Ok(acme));

    // A missing secret is a 503 with Retry-After, never a 401 or a panic.
    let config = scim_server::config::Config {
        link_key_secret: Some(format!("{}missing", unique_prefix())),
        ..Default::default()
    };
    let built = scim_server::runtime::build(&config, "https").await.unwrap();
    let resp = built
        .app
        .handle(
            Request::post("/admin/s/v1/session")
                .header("host", "scim.test")
                .body(Bytes::from(format!(
                    "{{\"link\":\"{}\"}}",
                    link.credential.expose_secret()
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().contains_key("retry-after"));
}

/// The page: strict CSP (no inline script), framing refused unless configured.
#[tokio::test]
async fn the_page_is_served_with_a_strict_content_security_policy() {
    let t = embedded();
    let r = t.call(Method::GET, "/admin/setup", "", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let csp = r
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.headers.get("x-frame-options").unwrap(), "DENY");
    let html = t
        .app
        .handle(Request::get("/admin/setup").body(Bytes::new()).unwrap())
        .await;
    let html = String::from_utf8_lossy(html.body()).into_owned();
    assert!(!html.contains("<script>") && html.contains(r#"<script src="/admin/page.js""#));
    assert!(!html.contains(" style="), "no inline style either");
}
