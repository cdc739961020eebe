//! The Lambda transport: API Gateway HTTP API (payload 2.0) events through lambda_http.

use std::sync::Arc;

use bytes::Bytes;
use lambda_http::{Body, Error, Request, RequestExt, Response};

use super::App;

/// Turn a lambda_http request into the router's form and back. The Lambda request id becomes the
/// request id, so log lines and answers can be matched with CloudWatch's.
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let lambda_request_id = req.lambda_context_ref().map(|c| c.request_id.clone());
    let (mut parts, body) = req.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(s) => Bytes::from(s),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    if let Some(id) = lambda_request_id.and_then(|id| http::HeaderValue::from_str(&id).ok()) {
        parts.headers.insert("x-request-id", id);
    }
    let resp = app.handle(http::Request::from_parts(parts, bytes)).await;
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
