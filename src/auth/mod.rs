//! Bearer-token authentication: token -> tenant.
//!
//! The [`Authenticator`] parses `Authorization: Bearer <token>`, finds the tenant the token names,
//! asks a [`TokenSource`] for that tenant's current credentials (hashes), and compares hashes in
//! constant time. Every kind of failure (no header, wrong scheme, malformed token, unknown tenant,
//! wrong secret, expired) is the same 401, so nothing reveals which tenants exist. A source that
//! cannot be reached is a 503, never a 401: an IdP that sees 401 concludes its token is wrong.

pub mod cache;
pub mod credentials;
pub mod embedded;
pub mod secrets;
pub mod setup_link;
pub mod token;

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::ScimError;
use crate::tenant::TenantId;
use token::TokenHash;

pub use cache::{CacheSettings, CachedTokenSource};
pub use embedded::EmbeddedTokenSource;
pub use secrets::SecretsManagerTokenSource;

/// One accepted token of a tenant, as stored: its hash and when it stops being accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub hash: TokenHash,
    /// Unix seconds after which the credential is no longer accepted (rotation overlap, expiry).
    pub not_after: Option<i64>,
}

/// Who is calling: the tenant and a short non-secret id of the token used (for logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: TenantId,
    pub token_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The source could not be reached or answered with an error: retry later (503).
    #[error("token source unavailable: {0}")]
    Unavailable(String),
}

/// Where the credentials of a tenant come from.
///
/// Contract: `credentials` returns the tenant's currently stored credentials (an empty list for
/// an unknown tenant or one without a token), and `Err(Unavailable)` only when it cannot know.
#[async_trait]
pub trait TokenSource: Send + Sync {
    async fn credentials(&self, tenant: &TenantId) -> Result<Vec<Credential>, SourceError>;

    /// The credentials to check `presented` against. Same contract as `credentials`; the
    /// presented hash lets a caching source re-read when it does not know that hash (a token
    /// generated a moment ago must work at once). Plain sources need not override it.
    async fn credentials_for(
        &self,
        tenant: &TenantId,
        presented: &TokenHash,
    ) -> Result<Vec<Credential>, SourceError> {
        let _ = presented;
        self.credentials(tenant).await
    }
}

/// Seconds a client is told to wait when the token source is down.
const RETRY_AFTER_SECS: u32 = 5;

pub struct Authenticator {
    source: Arc<dyn TokenSource>,
}

impl Authenticator {
    pub fn new(source: Arc<dyn TokenSource>) -> Self {
        Authenticator { source }
    }

    /// Check an `Authorization` header value.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, ScimError> {
        let token = authorization
            .and_then(bearer_token)
            .ok_or_else(ScimError::unauthorized)?;
        let tenant = token::claimed_tenant(token).ok_or_else(ScimError::unauthorized)?;
        let presented = TokenHash::of(token);
        let credentials = self
            .source
            .credentials_for(&tenant, &presented)
            .await
            .map_err(|e| {
                tracing::error!(tenant = %tenant, error = %e, "token source unavailable");
                ScimError::unavailable(RETRY_AFTER_SECS)
            })?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        // Compare against every credential, without stopping early, so the time taken does not
        // depend on which one matched.
        let mut matched = None;
        for c in &credentials {
            let live = c.not_after.is_none_or(|t| now < t);
            if presented.ct_eq(&c.hash) && live {
                matched = Some(c);
            }
        }
        let credential = matched.ok_or_else(ScimError::unauthorized)?;
        Ok(Principal {
            tenant,
            token_id: token::token_id(&credential.hash),
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 6750 §2.1).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    struct Down;

    #[async_trait]
    impl TokenSource for Down {
        async fn credentials(&self, _: &TenantId) -> Result<Vec<Credential>, SourceError> {
            Err(SourceError::Unavailable("connection refused".into()))
        }
    }

    fn acme() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    #[tokio::test]
    async fn valid_token_yields_its_tenant() {
        let source = Arc::new(EmbeddedTokenSource::new());
        let token = source
            .generate(&acme(), None)
            .unwrap()
            .expose_secret()
            .to_owned();
        let auth = Authenticator::new(source);
        let p = auth
            .authenticate(Some(&format!("Bearer {token}")))
            .await
            .unwrap();
        assert_eq!(p.tenant, acme());
        assert_eq!(p.token_id.len(), 8);
        // The scheme is case-insensitive.
        assert!(auth
            .authenticate(Some(&format!("bearer {token}")))
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn every_failure_is_the_same_401() {
        let source = Arc::new(EmbeddedTokenSource::new());
        let token = source
            .generate(&acme(), None)
            .unwrap()
            .expose_secret()
            .to_owned();
        let other = token::generate(&TenantId::parse("globex").unwrap())
            .unwrap()
            .token
            .expose_secret()
            .to_owned();
        let forged = token::generate(&acme())
            .unwrap()
            .token
            .expose_secret()
            .to_owned();
        let auth = Authenticator::new(source);
        let basic = format!("Basic {token}");
        let no_space = format!("Bearer{token}");
        let cases: Vec<Option<&str>> = vec![
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer "),
            Some(&basic),
            Some(&no_space),
            Some("Bearer scim_acme_x"),
            Some("Bearer ünïcödé"),
        ];
        let expected = ScimError::unauthorized();
        for c in cases {
            assert_eq!(auth.authenticate(c).await.unwrap_err(), expected, "{c:?}");
        }
        for t in [other, forged] {
            let h = format!("Bearer {t}");
            assert_eq!(auth.authenticate(Some(&h)).await.unwrap_err(), expected);
        }
    }

    #[tokio::test]
    async fn expired_credentials_are_rejected() {
        let source = Arc::new(EmbeddedTokenSource::new());
        let past = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
        let token = source
            .generate(&acme(), Some(past))
            .unwrap()
            .expose_secret()
            .to_owned();
        let auth = Authenticator::new(source);
        let e = auth
            .authenticate(Some(&format!("Bearer {token}")))
            .await
            .unwrap_err();
        assert_eq!(e.status(), 401);
    }

    #[tokio::test]
    async fn source_down_is_503_with_retry_after_not_401() {
        let auth = Authenticator::new(Arc::new(Down));
        let token = token::generate(&acme())
            .unwrap()
            .token
            .expose_secret()
            .to_owned();
        let e = auth
            .authenticate(Some(&format!("Bearer {token}")))
            .await
            .unwrap_err();
        assert_eq!(e.status(), 503);
        assert_eq!(e.retry_after_secs(), Some(RETRY_AFTER_SECS));
    }
}
