//! The one error type of the SCIM surface.
//!
//! Every failure a client can see is a [`ScimError`]: an HTTP status, an optional RFC 7644 §3.12
//! `scimType`, and a `detail` written for the customer's admin (Okta shows it verbatim). Internal
//! causes are logged where they happen and never put into `detail`.

use serde_json::{json, Value};
use std::fmt;

/// The URN of the SCIM error message schema (RFC 7644 §3.12).
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// RFC 7644 §3.12 Table 9 `scimType` values, plus RFC 9865's `invalidCursor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
    InvalidCursor,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
        }
    }
}

/// A SCIM error response: status, optional scimType, human detail, and the few headers some
/// statuses require (`WWW-Authenticate` on 401, `Retry-After` on 503, `Allow` on 405).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    status: u16,
    scim_type: Option<ScimType>,
    detail: String,
    retry_after_secs: Option<u32>,
    allow: Option<&'static str>,
}

impl ScimError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// RFC 7644 §3.12 `scimType`, for 400 and 409.
    pub fn scim_type(&self) -> Option<ScimType> {
        self.scim_type
    }
    /// The human-readable `detail`, written for the customer's admin.
    pub fn detail(&self) -> &str {
        &self.detail
    }
    /// The same error with its detail prefixed (`Operation 2: ...`), to say where it arose.
    pub fn within(mut self, context: impl std::fmt::Display) -> Self {
        self.detail = format!("{context}: {}", self.detail);
        self
    }
    /// `Retry-After` seconds, for 503.
    pub fn retry_after_secs(&self) -> Option<u32> {
        self.retry_after_secs
    }
    /// The `Allow` header, for 405.
    pub fn allow(&self) -> Option<&'static str> {
        self.allow
    }

    fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            retry_after_secs: None,
            allow: None,
        }
    }

    fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::TooMany, detail)
    }
    pub fn invalid_cursor(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidCursor, detail)
    }
    /// 409 with scimType `uniqueness` (RFC 7644 §3.3).
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }
    pub fn unauthorized() -> Self {
        Self::new(401, None, "The bearer token is missing, malformed, revoked or not valid for this service. Generate a new SCIM token and update it in your identity provider.")
    }
    /// A 401 of the admin API (setup link or session refused), with a detail the admin page
    /// shows as it is ("This setup link has expired ...").
    pub fn admin_unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, None, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }
    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut e = Self::new(
            405,
            None,
            format!("This endpoint does not support that HTTP method. Allowed: {allow}."),
        );
        e.allow = Some(allow);
        e
    }
    pub fn precondition_failed() -> Self {
        Self::new(412, None, "The resource was changed since it was read (If-Match does not match the current ETag). Read it again and retry.")
    }
    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            413,
            None,
            format!("The request body exceeds the limit of {limit_bytes} bytes."),
        )
    }
    pub fn unsupported_media_type() -> Self {
        Self::new(
            415,
            None,
            "Content-Type must be application/scim+json or application/json.",
        )
    }
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::new(501, None, detail)
    }
    pub fn unavailable(retry_after_secs: u32) -> Self {
        let mut e = Self::new(
            503,
            None,
            "The service is temporarily unavailable. Retry shortly.",
        );
        e.retry_after_secs = Some(retry_after_secs);
        e
    }
    /// 414: the request URL is longer than the server reads.
    pub fn uri_too_long() -> Self {
        Self::new(
            414,
            None,
            "The request URL is too long. Use POST /.search with the filter in the body.",
        )
    }
    /// 431: the request headers are too large or too many.
    pub fn headers_too_large() -> Self {
        Self::new(431, None, "The request headers are too large or too many.")
    }
    /// 500. The cause must have been logged by the caller; the client learns nothing of it.
    pub fn internal() -> Self {
        Self::new(500, None, "An internal error occurred. It has been logged; retry later or contact support with the request id.")
    }

    /// The RFC 7644 §3.12 error body. `status` is a string there, by the RFC's own examples.
    pub fn body(&self) -> Value {
        let mut v = json!({
            "schemas": [ERROR_URN],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            v["scimType"] = Value::String(t.as_str().to_owned());
        }
        v
    }
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scim_type {
            Some(t) => write!(f, "{} {}: {}", self.status, t.as_str(), self.detail),
            None => write!(f, "{}: {}", self.status, self.detail),
        }
    }
}

impl std::error::Error for ScimError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_string_status_and_scim_type() {
        let b = ScimError::uniqueness("taken").body();
        assert_eq!(b["schemas"][0], ERROR_URN);
        assert_eq!(b["status"], "409");
        assert_eq!(b["scimType"], "uniqueness");
        assert_eq!(b["detail"], "taken");
    }

    #[test]
    fn body_omits_scim_type_when_none() {
        let b = ScimError::not_found("gone").body();
        assert!(b.get("scimType").is_none());
        assert_eq!(b["status"], "404");
    }
}
