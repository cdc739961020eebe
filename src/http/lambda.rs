//! The Lambda transport: API Gateway HTTP API (payload 2.0) events through lambda_http.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use lambda_http::{Body, Error, Request, RequestExt, Response};

use super::admin::IamPrincipal;
use super::{error_response, App};
use crate::error::ScimError;
use lambda_http::request::RequestContext;

/// The longest a request may take before it is answered 503 with `Retry-After`: the function's
/// timeout is 10 s (template.yaml), after which API Gateway answers an opaque 503 without a SCIM
/// body. Each DynamoDB call fails within 2 s and each Secrets Manager call within 4 s, so a
/// request meeting an unresponsive service answers sooner; this bounds requests whose several
/// sequential calls are each slow but succeed (ARCHITECTURE.md, "Deadlines").
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(8);

/// Turn a lambda_http request into the router's form and back. The Lambda request id becomes the
/// request id, so log lines and answers can be matched with CloudWatch's. Answers within
/// [`REQUEST_DEADLINE`].
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    handle_within(app, req, REQUEST_DEADLINE).await
}

/// [`handle`] with another deadline (tests).
pub async fn handle_within(app: &App, req: Request, deadline: Duration) -> Response<Body> {
    match tokio::time::timeout(deadline, handle_unbounded(app, req)).await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::warn!(
                deadline_ms = deadline.as_millis() as u64,
                "request deadline passed; answered 503"
            );
            to_lambda(error_response(&ScimError::unavailable(1)))
        }
    }
}

async fn handle_unbounded(app: &App, req: Request) -> Response<Body> {
    let lambda_request_id = req.lambda_context_ref().map(|c| c.request_id.clone());
    let iam = iam_principal(&req);
    let (mut parts, body) = req.into_parts();
    // Only API Gateway can have put this in the request context (an IAM-authorized route):
    // the admin API trusts it, and nothing a client sends can produce it.
    if let Some(p) = iam {
        parts.extensions.insert(p);
    }
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(s) => Bytes::from(s),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    if let Some(id) = lambda_request_id.and_then(|id| http::HeaderValue::from_str(&id).ok()) {
        parts.headers.insert("x-request-id", id);
    }
    to_lambda(app.handle(http::Request::from_parts(parts, bytes)).await)
}

/// The caller API Gateway verified with IAM authorization (SigV4), if the route has it.
fn iam_principal(req: &Request) -> Option<IamPrincipal> {
    let RequestContext::ApiGatewayV2(ctx) = req.request_context_ref()? else {
        return None;
    };
    let iam = ctx.authorizer.as_ref()?.iam.as_ref()?;
    iam.user_arn
        .clone()
        .or_else(|| iam.caller_id.clone())
        .filter(|a| !a.is_empty())
        .map(IamPrincipal)
}

fn to_lambda(resp: http::Response<Bytes>) -> Response<Body> {
    resp.map(|b| {
        if b.is_empty() {
            Body::Empty
        } else {
            // Bodies are JSON we rendered ourselves: always UTF-8.
            Body::Text(String::from_utf8_lossy(&b).into_owned())
        }
    })
}

/// Run the Lambda runtime loop until the process is stopped.
pub async fn run(app: Arc<App>) -> Result<(), Error> {
    lambda_http::run(lambda_http::service_fn(move |req: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Error>(handle(&app, req).await) }
    }))
    .await
}
