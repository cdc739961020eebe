//! The admin API and the setup page, under `/admin` (never under `/scim/v2`). JSON in and out.
//!
//! Two ways in, decided here, per request:
//! - `/admin/v1/...`: the product's backend. API Gateway's IAM authorization guards these
//!   routes (template.yaml) and the Lambda transport passes the verified caller on as an
//!   [`IamPrincipal`] extension, which no client can set. Without one (the local server, or a
//!   page calling it there), a setup-link session is accepted as on `/admin/s/v1`.
//! - `/admin/s/v1/...`: the setup page's own API (public at API Gateway), opened only by a
//!   session that a setup link was exchanged for (`POST /admin/s/v1/session`).
//!
//! A SCIM bearer token never opens these routes (it is not a session), and a session or link
//! never opens `/scim/v2` (it is not a SCIM token). Credentials are never logged: the log line
//! names the actor (`iam:<arn>`, `link:<id>`).
//!
//! The page (`GET /admin/setup`, `/admin/page.js`, `/admin/page.css`) needs no credential: it
//! holds no data until the page exchanges the link in its URL fragment, which browsers never
//! send to a server (RFC 3986 §3.5), so it stays out of access logs.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{error_response, header_str, App, MAX_BODY_BYTES};
use crate::admin_api::{AdminActor, AdminApi, AdminCaller};
use crate::error::ScimError;
use crate::tenant::TenantId;

/// The backend's API prefix (IAM-authorized at API Gateway).
pub const API_PREFIX: &str = "/admin/v1";
/// The page's API prefix (setup-link sessions only).
pub const PAGE_API_PREFIX: &str = "/admin/s/v1";
/// Where a setup link points; the credential follows in the fragment.
pub const PAGE_PATH: &str = "/admin/setup";

const PAGE_HTML: &str = include_str!("page.html");
const PAGE_JS: &str = include_str!("page.js");
const PAGE_CSS: &str = include_str!("page.css");

/// The IAM caller that API Gateway verified (set only by the Lambda transport, from the request
/// context of an IAM-authorized route).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamPrincipal(pub String);

/// The admin surface of an [`App`].
pub struct AdminHttp {
    pub api: Arc<AdminApi>,
    /// CSP `frame-ancestors` sources allowed to embed the page (`SCIM_ADMIN_FRAME_ANCESTORS`,
    /// e.g. `https://app.example.com`); `None`: the page cannot be framed at all.
    pub frame_ancestors: Option<String>,
}

/// The setup-link URL for `credential` on `origin` (`https://host`).
pub fn link_url(origin: &str, credential: &str) -> String {
    format!("{}{PAGE_PATH}#{credential}", origin.trim_end_matches('/'))
}

/// Does this path belong to the admin surface?
pub fn is_admin_path(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

/// What the log line says about an admin request.
#[derive(Default)]
pub struct AdminLog {
    pub route: &'static str,
    pub actor: Option<String>,
    pub tenant: Option<String>,
}

impl App {
    /// Answer one admin request.
    pub(super) async fn handle_admin(
        &self,
        req: &Request<Bytes>,
        request_id: &str,
        log: &mut AdminLog,
    ) -> Response<Bytes> {
        let Some(admin) = &self.admin else {
            return error_response(&ScimError::not_found("No admin API on this server."));
        };
        let path = req.uri().path();
        let result = match path {
            "/admin" | "/admin/" | PAGE_PATH => {
                log.route = "page";
                return page(admin, "text/html; charset=utf-8", PAGE_HTML);
            }
            "/admin/page.js" => {
                log.route = "page";
                return page(admin, "text/javascript; charset=utf-8", PAGE_JS);
            }
            "/admin/page.css" => {
                log.route = "page";
                return page(admin, "text/css; charset=utf-8", PAGE_CSS);
            }
            _ => api(self, admin, req, request_id, log).await,
        };
        let mut resp = match result {
            Ok((status, body)) => {
                let mut r = Response::new(Bytes::from(body.to_string()));
                *r.status_mut() = status;
                r.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                r
            }
            Err(e) => error_response(&e),
        };
        // Answers may hold a token or a session: never cached anywhere.
        resp.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}

/// A static part of the page, with the security headers.
fn page(admin: &AdminHttp, content_type: &'static str, body: &'static str) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from_static(body.as_bytes()));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    let ancestors = admin.frame_ancestors.as_deref().unwrap_or("'none'");
    // No inline script or style anywhere: everything comes from this origin's files.
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert("content-security-policy", v);
    }
    if admin.frame_ancestors.is_none() {
        // For browsers without CSP level 2; `frame-ancestors` wins where both are known.
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExchangeBody {
    link: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GenerateBody {
    /// Keep the previous token(s) working this many seconds (at most 7 days).
    #[serde(default)]
    overlap_seconds: Option<u64>,
}

/// `PUT settings`: `{"settings": {"profile": "strict"}}`, each key as `scimctl tenant set`
/// takes it (the values are strings, as written after `KEY=`; `role_rules` may also be given
/// as the JSON array itself).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    settings: std::collections::BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    ttl_seconds: u64,
}

fn body_json<T: for<'de> Deserialize<'de> + Default>(req: &Request<Bytes>) -> Result<T, ScimError> {
    if req.body().is_empty() {
        return Ok(T::default());
    }
    parse_json(req)
}

fn parse_json<T: for<'de> Deserialize<'de>>(req: &Request<Bytes>) -> Result<T, ScimError> {
    if req.body().len() > MAX_BODY_BYTES {
        return Err(ScimError::payload_too_large(MAX_BODY_BYTES));
    }
    serde_json::from_slice(req.body())
        .map_err(|e| ScimError::invalid_syntax(format!("The request body is not valid: {e}")))
}

type Answer = Result<(StatusCode, Value), ScimError>;

async fn api(
    app: &App,
    admin: &AdminHttp,
    req: &Request<Bytes>,
    request_id: &str,
    log: &mut AdminLog,
) -> Answer {
    let path = req.uri().path();
    let (rest, iam_allowed) = if let Some(r) = path.strip_prefix(PAGE_API_PREFIX) {
        (r, false)
    } else if let Some(r) = path.strip_prefix(API_PREFIX) {
        (r, true)
    } else {
        log.route = "unknown";
        return Err(ScimError::not_found("No admin endpoint at this path."));
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let api = &admin.api;
    if segments == ["session"] {
        log.route = "session";
        if req.method() != Method::POST {
            return Err(ScimError::method_not_allowed("POST"));
        }
        let body: ExchangeBody = parse_json(req)?;
        let s = api.exchange(body.link.trim()).await?;
        log.actor = Some(format!("link:{}", s.link_id));
        log.tenant = Some(s.tenant.clone());
        return Ok((StatusCode::OK, json!(s)));
    }
    let actor = authenticate(admin, req, iam_allowed).await?;
    log.actor = Some(actor.label());
    let caller = AdminCaller {
        actor,
        request_id: request_id.to_owned(),
    };
    let ["tenants", tenant, tail @ ..] = segments.as_slice() else {
        log.route = "unknown";
        return Err(ScimError::not_found("No admin endpoint at this path."));
    };
    let tenant =
        TenantId::parse(tenant).map_err(|e| ScimError::invalid_value(format!("tenant: {e}")))?;
    log.tenant = Some(tenant.to_string());
    // Refuse another tenant before anything else is parsed.
    caller.actor.may_act_on(&tenant)?;
    let method = req.method().clone();
    match (tail, method) {
        ([], Method::GET) => {
            log.route = "tenant";
            Ok((
                StatusCode::OK,
                json!({"tenant": tenant.to_string(), "scim_base_url": app.base_url(req.headers(), super::BASE_PATH)}),
            ))
        }
        (["token"], Method::GET) => {
            log.route = "token_status";
            let tokens = api.token_status(&caller, &tenant).await?;
            Ok((StatusCode::OK, json!({"tokens": tokens})))
        }
        (["token"], Method::POST) => {
            log.route = "token_generate";
            let body: GenerateBody = body_json(req)?;
            let overlap = body
                .overlap_seconds
                .filter(|s| *s > 0)
                .map(Duration::from_secs);
            let g = api.generate_token(&caller, &tenant, overlap).await?;
            Ok((StatusCode::CREATED, json!(g)))
        }
        (["token"], Method::DELETE) => {
            log.route = "token_revoke";
            let n = api.revoke_token(&caller, &tenant).await?;
            Ok((StatusCode::OK, json!({"revoked": n})))
        }
        (["health"], Method::GET) => {
            log.route = "health";
            let idps = api.health(&caller, &tenant).await?;
            Ok((StatusCode::OK, json!({"idps": idps})))
        }
        (["changes"], Method::GET) => {
            log.route = "changes";
            let (cursor, count) = changes_query(req.uri().query())?;
            let page = api
                .recent_changes(&caller, &tenant, cursor.as_deref(), count)
                .await?;
            Ok((StatusCode::OK, json!(page)))
        }
        (["settings"], Method::GET) => {
            log.route = "settings";
            Ok((
                StatusCode::OK,
                json!(api.tenant_settings(&caller, &tenant).await?),
            ))
        }
        (["settings"], Method::PUT) => {
            log.route = "settings_set";
            let body: SettingsBody = parse_json(req)?;
            let pairs: Vec<String> = body
                .settings
                .iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect();
            let view = api.set_tenant_settings(&caller, &tenant, &pairs).await?;
            Ok((StatusCode::OK, json!(view)))
        }
        (["setup-links"], Method::POST) => {
            log.route = "link_create";
            let body: LinkBody = parse_json(req)?;
            let link = api
                .create_link(&caller, &tenant, Duration::from_secs(body.ttl_seconds))
                .await?;
            let origin = origin(app.base_url(req.headers(), super::BASE_PATH));
            Ok((
                StatusCode::CREATED,
                json!({"url": link_url(&origin, link.credential.expose_secret()), "link_id": link.link_id, "expires": link.expires}),
            ))
        }
        (["setup-links", id], Method::DELETE) => {
            log.route = "link_revoke";
            api.revoke_link(&caller, &tenant, id).await?;
            Ok((StatusCode::OK, json!({"revoked": id})))
        }
        (
            []
            | ["token"]
            | ["health"]
            | ["changes"]
            | ["settings"]
            | ["setup-links"]
            | ["setup-links", _],
            _,
        ) => {
            log.route = "method";
            Err(ScimError::method_not_allowed(match tail {
                [] | ["health"] | ["changes"] => "GET",
                ["token"] => "GET, POST, DELETE",
                ["settings"] => "GET, PUT",
                ["setup-links"] => "POST",
                _ => "DELETE",
            }))
        }
        _ => {
            log.route = "unknown";
            Err(ScimError::not_found("No admin endpoint at this path."))
        }
    }
}

/// `https://host` of a SCIM base URL `https://host/scim/v2`.
fn origin(base: String) -> String {
    match base.strip_suffix(super::BASE_PATH) {
        Some(o) => o.to_owned(),
        None => base,
    }
}

fn changes_query(query: Option<&str>) -> Result<(Option<String>, usize), ScimError> {
    let mut cursor = None;
    let mut count = 20;
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "cursor" if !v.is_empty() => cursor = Some(v.into_owned()),
            "count" => {
                count = v
                    .parse()
                    .map_err(|_| ScimError::invalid_value("count must be a whole number."))?
            }
            _ => {}
        }
    }
    Ok((cursor, count))
}

/// The caller: API Gateway's IAM principal where allowed, else a session bearer.
async fn authenticate(
    admin: &AdminHttp,
    req: &Request<Bytes>,
    iam_allowed: bool,
) -> Result<AdminActor, ScimError> {
    if iam_allowed {
        if let Some(IamPrincipal(arn)) = req.extensions().get::<IamPrincipal>() {
            return Ok(AdminActor::Iam(arn.clone()));
        }
    }
    let session = header_str(req.headers(), "authorization")
        .and_then(|h| h.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ScimError::admin_unauthorized(
                "Open this page from a setup link, or call it with IAM authorization.",
            )
        })?;
    admin.api.session_actor(session).await
}
