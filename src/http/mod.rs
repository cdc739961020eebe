//! The transport: one router for every SCIM request, whatever carried it (API Gateway through
//! lambda_http, or the local server). It parses HTTP (paths, query, headers, bodies), calls the
//! service, and renders SCIM JSON. Business rules live in `service` and `scim`, not here.

pub mod admin;
mod discovery;
mod groups;
mod idp;
pub mod lambda;
pub mod local;
mod prefer;
mod query;
mod reply;
mod search;
mod users;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::HeaderValue;
use http::{HeaderMap, Method, Request, Response};

use crate::audit::Actor;
use crate::auth::{Authenticator, Principal};
use crate::error::ScimError;
use crate::metrics::{self, RequestStats};
use crate::operation::Operation;
use crate::scim::resource::ETagCondition;
use crate::service::{Caller, ScimService};
use query::Params;
pub use reply::{error_response, SCIM_CONTENT_TYPE};

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
    /// The admin API and setup page (`/admin`), when built by `runtime::build`.
    admin: Option<admin::AdminHttp>,
}

/// What the request log line says about a request.
#[derive(Default)]
struct LogContext {
    operation: Operation,
    principal: Option<Principal>,
    resource_id: Option<String>,
}

/// One authenticated, routed request on its way to the service.
struct Ctx<'a> {
    app: &'a App,
    req: &'a Request<Bytes>,
    /// The tenant (from the verified token) and the actor its changes are recorded under.
    caller: Caller,
    /// `https://host/scim/v2`, for `Location` and `meta.location`.
    base: String,
    params: Params,
    log: &'a mut LogContext,
}

impl Ctx<'_> {
    /// A precondition header (`If-Match`, `If-None-Match`), parsed.
    fn precondition(&self, name: &str) -> Option<ETagCondition> {
        header_str(self.req.headers(), name).map(ETagCondition::parse)
    }
}

impl App {
    pub fn new(service: ScimService, auth: Authenticator, settings: HttpSettings) -> Arc<Self> {
        Arc::new(App {
            service,
            auth,
            settings,
            admin: None,
        })
    }

    /// [`App::new`] with the admin API and setup page under `/admin`, and SCIM requests counted
    /// into its connection health.
    pub fn with_admin(
        service: ScimService,
        auth: Authenticator,
        settings: HttpSettings,
        admin: admin::AdminHttp,
    ) -> Arc<Self> {
        Arc::new(App {
            service,
            auth,
            settings,
            admin: Some(admin),
        })
    }

    /// Handle one request. Always produces a response: an error escaping here would become an
    /// opaque gateway 500.
    pub async fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        self.handle_measured(req).await.0
    }

    /// [`App::handle`], also returning what the request cost downstream (for benchmarks).
    pub async fn handle_measured(
        &self,
        req: Request<Bytes>,
    ) -> (Response<Bytes>, Arc<RequestStats>) {
        let started = Instant::now();
        let request_id = request_id(req.headers());
        if admin::is_admin_path(req.uri().path()) {
            return (
                self.admin_logged(&req, &request_id, started).await,
                Arc::new(RequestStats::default()),
            );
        }
        let mut log = LogContext::default();
        let stats = Arc::new(RequestStats::default());
        let idp = idp::detect(header_str(req.headers(), "user-agent"));
        let routed = self.route(&req, &request_id, idp, &mut log);
        let outcome = metrics::scope(stats.clone(), routed).await;
        let (response, scim_type, detail) = match outcome {
            Ok(reply) => (reply::reply_response(reply), "", String::new()),
            Err(e) => (
                error_response(&e),
                e.scim_type().map(|t| t.as_str()).unwrap_or(""),
                e.detail().to_owned(),
            ),
        };
        let status = response.status().as_u16();
        if let (Some(admin), Some(p)) = (&self.admin, &log.principal) {
            admin
                .api
                .health_recorder()
                .record(&crate::admin_api::health::Observed {
                    tenant: &p.tenant,
                    idp,
                    token_id: &p.token_id,
                    status,
                    scim_type,
                    detail: &detail,
                });
        }
        tracing::info!(
            target: "scim::request",
            request_id = %request_id,
            tenant = log.principal.as_ref().map(|p| p.tenant.as_str()).unwrap_or("-"),
            token_id = log.principal.as_ref().map(|p| p.token_id.as_str()).unwrap_or("-"),
            idp,
            method = %req.method(),
            operation = log.operation.as_str(),
            resource_id = log.resource_id.as_deref().unwrap_or("-"),
            status,
            scim_type,
            ddb_calls = stats.ddb_calls(),
            ddb_capacity = stats.ddb_capacity(),
            latency_us = started.elapsed().as_micros() as u64,
            "request"
        );
        (with_request_id(response, &request_id), stats)
    }

    /// An admin request (`http/admin`), with its own log line: the route and the actor, never a
    /// credential.
    async fn admin_logged(
        &self,
        req: &Request<Bytes>,
        request_id: &str,
        started: Instant,
    ) -> Response<Bytes> {
        let mut log = admin::AdminLog::default();
        let response = self.handle_admin(req, request_id, &mut log).await;
        tracing::info!(
            target: "scim::admin",
            request_id = %request_id,
            method = %req.method(),
            route = log.route,
            actor = log.actor.as_deref().unwrap_or("-"),
            tenant = log.tenant.as_deref().unwrap_or("-"),
            status = response.status().as_u16(),
            latency_us = started.elapsed().as_micros() as u64,
            "admin request"
        );
        with_request_id(response, request_id)
    }

    async fn route(
        &self,
        req: &Request<Bytes>,
        request_id: &str,
        idp: &str,
        log: &mut LogContext,
    ) -> Result<reply::Reply, ScimError> {
        let path = req.uri().path();
        let Some((prefix, rest)) = split_base(path) else {
            return Err(ScimError::not_found(
                "No SCIM endpoint here. The SCIM base URL ends in /scim/v2.",
            ));
        };
        let principal = self
            .auth
            .authenticate(header_str(req.headers(), "authorization"))
            .await?;
        let caller = Caller {
            tenant: principal.tenant.clone(),
            actor: Actor {
                request_id: request_id.to_owned(),
                token_id: principal.token_id.clone(),
                idp: idp.to_owned(),
            },
        };
        log.principal = Some(principal);
        if req.body().len() > MAX_BODY_BYTES {
            return Err(ScimError::payload_too_large(MAX_BODY_BYTES));
        }
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let (operation, id) = resolve(req.method(), &segments)?;
        log.operation = operation;
        if let (Some(id), true) = (id, operation.is_users() || operation.is_groups()) {
            log.resource_id = Some(clip(id));
        }
        let mut ctx = Ctx {
            app: self,
            req,
            caller,
            base: self.base_url(req.headers(), prefix),
            params: Params::parse(req.uri().query()),
            log,
        };
        match operation {
            op if op.is_discovery() => discovery::handle(&ctx, op, id),
            op if op.is_users() => users::handle(&mut ctx, op, id).await,
            op if op.is_groups() => groups::handle(&mut ctx, op, id).await,
            Operation::RootSearch => search::root(&ctx).await,
            Operation::Bulk => Err(ScimError::not_implemented(
                "Bulk operations are not supported (see /ServiceProviderConfig).",
            )),
            Operation::Me => Err(ScimError::not_implemented(
                "The /Me endpoint is not supported.",
            )),
            _ => Err(ScimError::not_found("No SCIM endpoint at this path.")),
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

/// Which operation a request is, and the id or name it addresses: decided here, once, from the
/// path below the base URL and the method. Endpoint names are matched case-insensitively
/// (clients differ, and nothing else can live at these paths).
fn resolve<'p>(
    method: &Method,
    segments: &[&'p str],
) -> Result<(Operation, Option<&'p str>), ScimError> {
    use Operation::*;
    let Some((first, rest)) = segments.split_first() else {
        return Err(ScimError::not_found(
            "No SCIM endpoint at the root; see /ServiceProviderConfig.",
        ));
    };
    // Microsoft's SCIM test collection asks `/serviceConfiguration`: the same document.
    let first = match *first {
        f if f.eq_ignore_ascii_case("serviceConfiguration") => "ServiceProviderConfig",
        f => f,
    };
    let endpoint = [
        "ServiceProviderConfig",
        "ResourceTypes",
        "Schemas",
        "Users",
        "Groups",
        "Bulk",
        "Me",
        ".search",
    ]
    .into_iter()
    .find(|e| e.eq_ignore_ascii_case(first));
    let not_here = || ScimError::not_found("No SCIM endpoint at this path.");
    // (list, search, get, create, replace, patch, delete) of a resource endpoint.
    let resource = |ops: [Operation; 7]| match rest {
        [] => match *method {
            Method::GET => Ok((ops[0], None)),
            Method::POST => Ok((ops[3], None)),
            _ => Err(ScimError::method_not_allowed("GET, POST")),
        },
        [".search"] => only(method, &[Method::POST], "POST").map(|_| (ops[1], None)),
        [id] => match *method {
            Method::GET => Ok((ops[2], Some(*id))),
            Method::PUT => Ok((ops[4], Some(*id))),
            Method::PATCH => Ok((ops[5], Some(*id))),
            Method::DELETE => Ok((ops[6], Some(*id))),
            _ => Err(ScimError::method_not_allowed("GET, PUT, PATCH, DELETE")),
        },
        _ => Err(not_here()),
    };
    match endpoint {
        Some(e @ ("ServiceProviderConfig" | "ResourceTypes" | "Schemas")) => {
            only(method, &[Method::GET], "GET")?;
            match (e, rest) {
                ("ServiceProviderConfig", []) => Ok((ServiceProviderConfig, None)),
                ("ResourceTypes", []) => Ok((ResourceTypes, None)),
                ("ResourceTypes", [name]) => Ok((ResourceType, Some(*name))),
                ("Schemas", []) => Ok((Schemas, None)),
                ("Schemas", [id]) => Ok((Schema, Some(*id))),
                _ => Err(not_here()),
            }
        }
        Some("Users") => resource([
            UsersList,
            UsersSearch,
            UsersGet,
            UsersCreate,
            UsersReplace,
            UsersPatch,
            UsersDelete,
        ]),
        Some("Groups") => resource([
            GroupsList,
            GroupsSearch,
            GroupsGet,
            GroupsCreate,
            GroupsReplace,
            GroupsPatch,
            GroupsDelete,
        ]),
        // RFC 7644 §3.4.3: a search at the root spans every resource type.
        Some(".search") if rest.is_empty() => {
            only(method, &[Method::POST], "POST").map(|_| (RootSearch, None))
        }
        Some("Bulk") => Ok((Bulk, None)),
        Some("Me") => Ok((Me, None)),
        _ => Err(not_here()),
    }
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
