//! The transport: one router for every SCIM request, whatever carried it (API Gateway through
//! lambda_http, or the local server). It parses HTTP (paths, query, headers, bodies), calls the
//! service, and renders SCIM JSON. Business rules live in `service` and `scim`, not here.

pub mod lambda;
pub mod local;
mod query;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{
    HeaderValue, ALLOW, CONTENT_TYPE, ETAG, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use serde_json::Value;

use crate::auth::{Authenticator, Principal};
use crate::error::ScimError;
use crate::scim::discovery;
use crate::scim::resource::{etag_matches, list_response, render, Resource};
use crate::scim::schema::ResourceKind;
use crate::service::ScimService;
use query::{list_query, Params};

/// The media type of every answer (RFC 7644 §3.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
/// Largest accepted request body. API Gateway allows more, but no SCIM request needs it.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The path prefix every SCIM route lives under.
pub const BASE_PATH: &str = "/scim/v2";

/// Transport settings shared by the Lambda and the local server.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// The public base URL (`https://api.example.com/scim/v2`) used in `Location` and
    /// `meta.location`; derived from the request's Host when unset.
    pub public_base_url: Option<String>,
    /// Scheme assumed when deriving the base URL and no `X-Forwarded-Proto` is present.
    pub default_scheme: &'static str,
}

/// Everything a request needs: built once at start, shared by all requests.
pub struct App {
    service: ScimService,
    auth: Authenticator,
    settings: HttpSettings,
}

/// A successful answer before it is turned into HTTP.
struct Reply {
    status: StatusCode,
    body: Option<Value>,
    location: Option<String>,
    etag: Option<String>,
}

impl Reply {
    fn json(status: StatusCode, body: Value) -> Self {
        Reply {
            status,
            body: Some(body),
            location: None,
            etag: None,
        }
    }
    fn ok(body: Value) -> Self {
        Self::json(StatusCode::OK, body)
    }
    fn resource(status: StatusCode, kind: ResourceKind, r: &Resource, base: &str) -> Self {
        let body = render(kind, r, base);
        let location = body["meta"]["location"].as_str().map(str::to_owned);
        Reply {
            status,
            body: Some(body),
            location,
            etag: Some(r.etag()),
        }
    }
    fn empty(status: StatusCode) -> Self {
        Reply {
            status,
            body: None,
            location: None,
            etag: None,
        }
    }
}

/// What the request log line says about a request.
#[derive(Default)]
struct LogContext {
    operation: &'static str,
    principal: Option<Principal>,
    resource_id: Option<String>,
}

impl App {
    pub fn new(service: ScimService, auth: Authenticator, settings: HttpSettings) -> Arc<Self> {
        Arc::new(App {
            service,
            auth,
            settings,
        })
    }

    /// Handle one request. Always produces a response: an error escaping here would become an
    /// opaque gateway 500.
    pub async fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        let started = Instant::now();
        let request_id = request_id(req.headers());
        let mut ctx = LogContext::default();
        let outcome = self.route(&req, &request_id, &mut ctx).await;
        let (response, scim_type) = match outcome {
            Ok(reply) => (reply_response(reply), ""),
            Err(e) => (
                error_response(&e),
                e.scim_type.map(|t| t.as_str()).unwrap_or(""),
            ),
        };
        let status = response.status().as_u16();
        tracing::info!(
            target: "scim::request",
            request_id = %request_id,
            tenant = ctx.principal.as_ref().map(|p| p.tenant.as_str()).unwrap_or("-"),
            token_id = ctx.principal.as_ref().map(|p| p.token_id.as_str()).unwrap_or("-"),
            method = %req.method(),
            operation = ctx.operation,
            resource_id = ctx.resource_id.as_deref().unwrap_or("-"),
            status,
            scim_type,
            latency_us = started.elapsed().as_micros() as u64,
            "request"
        );
        with_request_id(response, &request_id)
    }

    async fn route(
        &self,
        req: &Request<Bytes>,
        request_id: &str,
        ctx: &mut LogContext,
    ) -> Result<Reply, ScimError> {
        let path = req.uri().path();
        let Some((prefix, rest)) = split_base(path) else {
            ctx.operation = "unknown";
            return Err(ScimError::not_found(
                "No SCIM endpoint here. The SCIM base URL ends in /scim/v2.",
            ));
        };
        let principal = self
            .auth
            .authenticate(header_str(req.headers(), "authorization"))
            .await?;
        ctx.principal = Some(principal.clone());
        if req.body().len() > MAX_BODY_BYTES {
            return Err(ScimError::payload_too_large(MAX_BODY_BYTES));
        }
        let base = self.base_url(req.headers(), prefix);
        let tenant = &principal.tenant;
        let params = Params::parse(req.uri().query());
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let method = req.method();
        let if_match = header_str(req.headers(), "if-match");
        let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);

        match segments.as_slice() {
            [ep] if is(ep, "ServiceProviderConfig") => {
                ctx.operation = "discovery.spc";
                only(method, &[Method::GET], "GET")?;
                Ok(Reply::ok(discovery::service_provider_config(
                    &base,
                    &discovery::Capabilities::default(),
                )))
            }
            [ep] if is(ep, "ResourceTypes") => {
                ctx.operation = "discovery.resource_types";
                only(method, &[Method::GET], "GET")?;
                let all = discovery::resource_types(&base);
                let n = all.len();
                Ok(Reply::ok(list_response(all, n, 1)))
            }
            [ep, name] if is(ep, "ResourceTypes") => {
                ctx.operation = "discovery.resource_type";
                only(method, &[Method::GET], "GET")?;
                discovery::resource_type(&base, name)
                    .map(Reply::ok)
                    .ok_or_else(|| {
                        ScimError::not_found(format!("No resource type named {}.", clip(name)))
                    })
            }
            [ep] if is(ep, "Schemas") => {
                ctx.operation = "discovery.schemas";
                only(method, &[Method::GET], "GET")?;
                let all = discovery::schemas(&base);
                let n = all.len();
                Ok(Reply::ok(list_response(all, n, 1)))
            }
            [ep, id] if is(ep, "Schemas") => {
                ctx.operation = "discovery.schema";
                only(method, &[Method::GET], "GET")?;
                discovery::schema(&base, id)
                    .map(Reply::ok)
                    .ok_or_else(|| ScimError::not_found(format!("No schema with id {}.", clip(id))))
            }
            [ep] if is(ep, "Users") => match *method {
                Method::GET => {
                    ctx.operation = "users.list";
                    let q = list_query(&params)?;
                    let result = self.service.list_users(tenant, &q).await?;
                    let resources = result
                        .items
                        .iter()
                        .map(|u| render(ResourceKind::User, u, &base))
                        .collect();
                    let mut body =
                        list_response(resources, result.total_results, result.start_index);
                    if let Some(c) = result.next_cursor {
                        body["nextCursor"] = Value::String(c);
                    }
                    Ok(Reply::ok(body))
                }
                Method::POST => {
                    ctx.operation = "users.create";
                    let body = json_body(req)?;
                    let created = self.service.create_user(tenant, &body).await?;
                    ctx.resource_id = Some(created.resource().id.clone());
                    Ok(Reply::resource(
                        StatusCode::CREATED,
                        ResourceKind::User,
                        created.resource(),
                        &base,
                    ))
                }
                _ => Err(ScimError::method_not_allowed("GET, POST")),
            },
            [ep, id] if is(ep, "Users") => {
                ctx.resource_id = Some(clip(id));
                match *method {
                    Method::GET => {
                        ctx.operation = "users.get";
                        let user = self.service.get_user(tenant, id).await?;
                        if header_str(req.headers(), "if-none-match")
                            .is_some_and(|h| etag_matches(h, user.version))
                        {
                            let mut reply = Reply::empty(StatusCode::NOT_MODIFIED);
                            reply.etag = Some(user.etag());
                            return Ok(reply);
                        }
                        Ok(Reply::resource(
                            StatusCode::OK,
                            ResourceKind::User,
                            &user,
                            &base,
                        ))
                    }
                    Method::PUT => {
                        ctx.operation = "users.replace";
                        let body = json_body(req)?;
                        let user = self
                            .service
                            .replace_user(tenant, id, &body, if_match)
                            .await?;
                        Ok(Reply::resource(
                            StatusCode::OK,
                            ResourceKind::User,
                            &user,
                            &base,
                        ))
                    }
                    Method::PATCH => {
                        ctx.operation = "users.patch";
                        let body = json_body(req)?;
                        let user = self.service.patch_user(tenant, id, &body, if_match).await?;
                        Ok(Reply::resource(
                            StatusCode::OK,
                            ResourceKind::User,
                            &user,
                            &base,
                        ))
                    }
                    Method::DELETE => {
                        ctx.operation = "users.delete";
                        self.service
                            .delete_user(tenant, id, if_match, request_id)
                            .await?;
                        Ok(Reply::empty(StatusCode::NO_CONTENT))
                    }
                    _ => Err(ScimError::method_not_allowed("GET, PUT, PATCH, DELETE")),
                }
            }
            [ep, ..] if is(ep, "Groups") => {
                ctx.operation = "groups";
                Err(ScimError::not_implemented(
                    "Groups are not supported by this service yet.",
                ))
            }
            [ep, ..] if is(ep, "Bulk") => {
                ctx.operation = "bulk";
                Err(ScimError::not_implemented(
                    "Bulk operations are not supported (see /ServiceProviderConfig).",
                ))
            }
            [ep, ..] if is(ep, "Me") => {
                ctx.operation = "me";
                Err(ScimError::not_implemented(
                    "The /Me endpoint is not supported.",
                ))
            }
            _ => {
                ctx.operation = "unknown";
                Err(ScimError::not_found("No SCIM endpoint at this path."))
            }
        }
    }

    /// `https://host/scim/v2`: configured, or from the request (API Gateway sets Host and
    /// X-Forwarded-Proto).
    fn base_url(&self, headers: &HeaderMap, prefix: &str) -> String {
        if let Some(base) = &self.settings.public_base_url {
            return base.trim_end_matches('/').to_owned();
        }
        let scheme = header_str(headers, "x-forwarded-proto")
            .filter(|s| *s == "https" || *s == "http")
            .unwrap_or(self.settings.default_scheme);
        let host = header_str(headers, "host")
            .filter(|h| {
                h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .unwrap_or("localhost");
        format!("{scheme}://{host}{prefix}")
    }
}

/// Split `/anything/scim/v2/Users/1` into (`/anything/scim/v2`, `/Users/1`).
fn split_base(path: &str) -> Option<(&str, &str)> {
    let idx = path.find(BASE_PATH)?;
    let end = idx + BASE_PATH.len();
    let rest = &path[end..];
    (rest.is_empty() || rest.starts_with('/')).then(|| (&path[..end], rest))
}

fn only(method: &Method, allowed: &[Method], allow: &'static str) -> Result<(), ScimError> {
    if allowed.contains(method) {
        Ok(())
    } else {
        Err(ScimError::method_not_allowed(allow))
    }
}

/// A client-supplied string shortened for use in a message.
fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request id: the caller's `X-Request-Id` if it is short and plain, else a new one. (The
/// Lambda adapter sets it to the Lambda request id.)
fn request_id(headers: &HeaderMap) -> String {
    header_str(headers, "x-request-id")
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The JSON body of a write. RFC 7644 §3.1 media types are accepted with or without parameters;
/// a body with another declared type is 415. A missing Content-Type is tolerated.
fn json_body(req: &Request<Bytes>) -> Result<Value, ScimError> {
    if let Some(ct) = req.headers().get(CONTENT_TYPE) {
        let ct = ct
            .to_str()
            .map_err(|_| ScimError::unsupported_media_type())?;
        let media = ct.split(';').next().unwrap_or_default().trim();
        if !media.eq_ignore_ascii_case(SCIM_CONTENT_TYPE)
            && !media.eq_ignore_ascii_case("application/json")
        {
            return Err(ScimError::unsupported_media_type());
        }
    }
    let bytes = req.body();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax(
            "The request body is empty; a JSON object is required.",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let what = if std::str::from_utf8(bytes).is_err() {
            "is not valid UTF-8"
        } else {
            "is not valid JSON"
        };
        ScimError::invalid_syntax(format!(
            "The request body {what} (line {}, column {}).",
            e.line(),
            e.column()
        ))
    })
}

fn reply_response(reply: Reply) -> Response<Bytes> {
    let body = reply
        .body
        .map(|b| Bytes::from(serde_json::to_vec(&b).unwrap_or_default()))
        .unwrap_or_default();
    let mut resp = Response::new(body);
    *resp.status_mut() = reply.status;
    let h = resp.headers_mut();
    if reply.status != StatusCode::NO_CONTENT && reply.status != StatusCode::NOT_MODIFIED {
        h.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
    }
    if let Some(loc) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(LOCATION, loc);
    }
    if let Some(tag) = reply.etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        h.insert(ETAG, tag);
    }
    resp
}

/// The SCIM error response for `e` (RFC 7644 §3.12), with the headers its status requires.
pub fn error_response(e: &ScimError) -> Response<Bytes> {
    let body = serde_json::to_vec(&e.body()).unwrap_or_default();
    let mut resp = Response::new(Bytes::from(body));
    *resp.status_mut() =
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
    if e.status == 401 {
        h.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"scim\""),
        );
    }
    if let Some(secs) = e.retry_after_secs {
        h.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some(allow) = e.allow {
        h.insert(ALLOW, HeaderValue::from_static(allow));
    }
    resp
}

fn with_request_id(mut resp: Response<Bytes>, request_id: &str) -> Response<Bytes> {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_path_is_found_behind_any_stage_prefix() {
        assert_eq!(split_base("/scim/v2/Users"), Some(("/scim/v2", "/Users")));
        assert_eq!(split_base("/prod/scim/v2"), Some(("/prod/scim/v2", "")));
        assert_eq!(split_base("/scim/v2x/Users"), None);
        assert_eq!(split_base("/Users"), None);
    }
}
