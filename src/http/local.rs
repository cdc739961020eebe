//! The local transport: the same router served over HTTP/1.1 with axum.

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use tokio::net::TcpListener;

use super::{error_response, App, MAX_BODY_BYTES};
use crate::error::ScimError;

async fn serve_one(app: Arc<App>, req: Request<Body>) -> Response<Body> {
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return error_response(&ScimError::payload_too_large(MAX_BODY_BYTES)).map(Body::from);
    }
    let (parts, body) = req.into_parts();
    // Read one byte past the limit so an oversized chunked body is recognised as such.
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES + 1).await {
        Ok(b) => b,
        Err(_) => {
            return error_response(&ScimError::payload_too_large(MAX_BODY_BYTES)).map(Body::from)
        }
    };
    app.handle(Request::from_parts(parts, bytes))
        .await
        .map(Body::from)
}

/// Serve `app` on `listener` until the future is dropped or the process ends.
pub async fn serve(app: Arc<App>, listener: TcpListener) -> std::io::Result<()> {
    let router =
        axum::Router::new().fallback(move |req: Request<Body>| serve_one(Arc::clone(&app), req));
    axum::serve(listener, router).await
}
