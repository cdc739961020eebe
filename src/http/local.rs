//! The local transport: the same router served over HTTP/1.1 with axum.
//!
//! hyper answers a request line or header block it will not parse (a URL over 64 KiB, headers
//! over its ~400 KiB buffer or more than 100 of them) itself, with a bare 414 or 431 and no
//! body, before any handler runs. [`ScimHeadErrors`] turns exactly those answers into SCIM
//! error responses (RFC 7644 §3.12) on their way out, so every answer an IdP gets has a SCIM
//! body.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

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
    axum::serve(ScimListener(listener), router).await
}

/// A TCP listener whose connections are [`ScimHeadErrors`].
struct ScimListener(TcpListener);

impl axum::serve::Listener for ScimListener {
    type Io = ScimHeadErrors<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (ScimHeadErrors::new(io), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// The SCIM answer that replaces hyper's bodiless `status` answer, as bytes on the wire.
fn scim_head_error(status: StatusCode) -> Vec<u8> {
    let error = if status == StatusCode::URI_TOO_LONG {
        ScimError::uri_too_long()
    } else {
        ScimError::headers_too_large()
    };
    let resp = error_response(&error);
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    for (name, value) in resp.headers() {
        out.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap_or("")));
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        resp.body().len()
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(resp.body());
    bytes
}

/// hyper's own answer to an unparseable request head: a 414 or 431 with an empty body. Our
/// handlers never send those statuses without a body.
fn hyper_head_error(buf: &[u8]) -> Option<StatusCode> {
    let status = [b"HTTP/1.1 ", b"HTTP/1.0 "]
        .iter()
        .find_map(|p| buf.strip_prefix(&p[..]))
        .and_then(|rest| rest.get(..4))
        .and_then(|code| match code {
            b"414 " => Some(StatusCode::URI_TOO_LONG),
            b"431 " => Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
            _ => None,
        })?;
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    (head.contains("\r\ncontent-length: 0") && head_end + 4 == buf.len()).then_some(status)
}

/// A connection that rewrites hyper's bodiless 414 / 431 answers into SCIM errors.
/// Vectored writes are off, so hyper writes a response head in one piece.
pub struct ScimHeadErrors<S> {
    inner: S,
    /// A replacement being written: its bytes, how many are written, and the length of the
    /// buffer it replaces (reported as written once the replacement is).
    replacing: Option<(Vec<u8>, usize, usize)>,
}

impl<S> ScimHeadErrors<S> {
    pub fn new(inner: S) -> Self {
        ScimHeadErrors {
            inner,
            replacing: None,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ScimHeadErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ScimHeadErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacing.is_none() {
            match hyper_head_error(buf) {
                Some(status) => this.replacing = Some((scim_head_error(status), 0, buf.len())),
                None => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
        while let Some((bytes, written, _)) = this.replacing.as_mut() {
            if *written == bytes.len() {
                break;
            }
            match ready!(Pin::new(&mut this.inner).poll_write(cx, &bytes[*written..])) {
                Ok(0) => {
                    this.replacing = None;
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                Ok(n) => *written += n,
                Err(e) => {
                    this.replacing = None;
                    return Poll::Ready(Err(e));
                }
            }
        }
        let replaced = this.replacing.take().map_or(0, |(_, _, len)| len);
        Poll::Ready(Ok(replaced))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
