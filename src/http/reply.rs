//! Turning answers into HTTP: SCIM JSON bodies, `Location`, `ETag`, and SCIM error responses.

use bytes::Bytes;
use http::header::{
    HeaderValue, ALLOW, CONTENT_TYPE, ETAG, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{Request, Response, StatusCode};
use serde_json::Value;

use super::prefer::ReturnPreference;
use crate::error::ScimError;
use crate::scim::projection::Projection;
use crate::scim::resource::{list_response, Resource};
use crate::scim::schema::ResourceKind;

/// The media type of every answer (RFC 7644 §3.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// A successful answer before it is turned into HTTP.
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    pub location: Option<String>,
    pub etag: Option<String>,
    /// `Preference-Applied` (RFC 7240 §3): the `Prefer` preference this answer honours.
    pub preference_applied: Option<&'static str>,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Reply {
            status: StatusCode::OK,
            body: Some(body),
            location: None,
            etag: None,
            preference_applied: None,
        }
    }

    /// A resource rendered by the caller (a user with its groups, a group with its members),
    /// projected, with its `ETag` (and `Location` on 201).
    pub fn rendered(
        status: StatusCode,
        kind: ResourceKind,
        r: &Resource,
        body: Value,
        projection: &Projection,
    ) -> Self {
        let location = (status == StatusCode::CREATED)
            .then(|| body["meta"]["location"].as_str().map(str::to_owned))
            .flatten();
        Reply {
            status,
            body: Some(projection.apply(kind, body)),
            location,
            etag: Some(r.etag()),
            preference_applied: None,
        }
    }

    /// The answer to a write under `Prefer: return=minimal` (RFC 7240 §4.2): no body; 201 for a
    /// create, else 204; `ETag` and `Location` (taken from the rendered `meta.location`) so the
    /// client can address and version the resource without a read.
    pub fn minimal(status: StatusCode, r: &Resource, rendered: &Value) -> Self {
        let status = if status == StatusCode::CREATED {
            status
        } else {
            StatusCode::NO_CONTENT
        };
        Reply {
            status,
            body: None,
            location: rendered["meta"]["location"].as_str().map(str::to_owned),
            etag: Some(r.etag()),
            preference_applied: Some(ReturnPreference::Minimal.applied()),
        }
    }

    /// Names the preference this answer honours in `Preference-Applied`.
    pub fn applied(mut self, preference: Option<ReturnPreference>) -> Self {
        self.preference_applied = preference.map(ReturnPreference::applied);
        self
    }

    pub fn empty(status: StatusCode) -> Self {
        Reply {
            status,
            body: None,
            location: None,
            etag: None,
            preference_applied: None,
        }
    }
}

/// The JSON body of a write. RFC 7644 §3.1 media types are accepted with or without parameters;
/// a body with another declared type is 415. A missing Content-Type is tolerated.
pub fn json_body(req: &Request<Bytes>) -> Result<Value, ScimError> {
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

/// An RFC 7644 §3.4.2 ListResponse body, with RFC 9865's `nextCursor` when there is one to
/// give (the client pages with cursors and more follow).
pub fn list_body(
    resources: Vec<Value>,
    total_results: usize,
    start_index: usize,
    next_cursor: Option<String>,
) -> Value {
    let mut body = list_response(resources, total_results, start_index);
    if let Some(c) = next_cursor {
        body["nextCursor"] = Value::String(c);
    }
    body
}

/// Lambda's limit on a synchronous response is 6 MB, counted on the whole payload; the body
/// travels inside it as a JSON string. Keep a margin for the envelope and headers.
pub const MAX_LAMBDA_PAYLOAD_BYTES: usize = 5_800_000;

/// Would `body` fit in a Lambda response? The body is sent as a JSON string (lambda_http
/// `Body::Text`), where every `"` and `\` takes one more byte.
pub fn fits_lambda_payload(body: &Value) -> bool {
    payload_bytes(body) <= MAX_LAMBDA_PAYLOAD_BYTES
}

/// The bytes `v` takes inside a Lambda response payload (see [`fits_lambda_payload`]);
/// `usize::MAX` if it cannot be serialised.
fn payload_bytes(v: &Value) -> usize {
    let Ok(bytes) = serde_json::to_vec(v) else {
        return usize::MAX;
    };
    let escapes = bytes.iter().filter(|b| matches!(b, b'"' | b'\\')).count();
    bytes.len().saturating_add(escapes)
}

/// How many of `resources`, from the first, fit a Lambda response together with `envelope` (the
/// ListResponse around them, with the longest `nextCursor` it may carry). Linear in the size of
/// what is kept.
pub fn lambda_payload_prefix(envelope: &Value, resources: &[Value]) -> usize {
    let mut used = payload_bytes(envelope);
    for (i, r) in resources.iter().enumerate() {
        // One more byte for the comma between resources.
        used = used.saturating_add(payload_bytes(r)).saturating_add(1);
        if used > MAX_LAMBDA_PAYLOAD_BYTES {
            return i;
        }
    }
    resources.len()
}

pub fn reply_response(reply: Reply) -> Response<Bytes> {
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
    if let Some(applied) = reply.preference_applied {
        h.insert("preference-applied", HeaderValue::from_static(applied));
    }
    resp
}

/// The SCIM error response for `e` (RFC 7644 §3.12), with the headers its status requires.
pub fn error_response(e: &ScimError) -> Response<Bytes> {
    let body = serde_json::to_vec(&e.body()).unwrap_or_default();
    let mut resp = Response::new(Bytes::from(body));
    *resp.status_mut() =
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
    if e.status() == 401 {
        h.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"scim\""),
        );
    }
    if let Some(secs) = e.retry_after_secs() {
        h.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some(allow) = e.allow() {
        h.insert(ALLOW, HeaderValue::from_static(allow));
    }
    resp
}
