//! Setup links and the sessions they are exchanged for: stateless credentials signed with
//! HMAC-SHA-256 (RFC 2104) under a key kept in Secrets Manager (`SCIM_LINK_KEY_SECRET`), or
//! generated in process for the local server.
//!
//! A credential is `v1.<kind>.<tenant>.<link id>.<expiry>.<signature>`: `kind` is `l` for a setup
//! link (at most [`MAX_LINK_TTL`], travels in a URL fragment, never in a query, so it stays out of
//! access logs) or `s` for a session (at most [`SESSION_TTL`], held in the page's memory, sent as
//! a bearer token). The signature covers every other field, so neither the tenant, the link id
//! nor the expiry can be changed; a session carries its link's id, so revoking the link (a record
//! in the store, checked by `admin_api`) ends its sessions too. The key is never logged; a
//! credential is never logged either (it is a bearer credential): only its link id is.

use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use tokio::sync::OnceCell;

use crate::tenant::TenantId;

/// The longest a setup link may live (the issue's bound: 7 days).
pub const MAX_LINK_TTL: Duration = Duration::from_secs(7 * 86_400);
/// A session ends after 30 minutes, or with its link, whichever is first.
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 60);
/// Shortest accepted signing key: 32 bytes, the HMAC-SHA-256 block's recommended minimum
/// (RFC 2104 §3: keys shorter than the output length are discouraged).
pub const MIN_KEY_BYTES: usize = 32;
/// Longest credential examined; anything longer is refused before any work.
const MAX_CREDENTIAL_LEN: usize = 256;
const VERSION: &str = "v1";

/// What a credential is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Link,
    Session,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Link => "l",
            Kind::Session => "s",
        }
    }
}

/// The verified content of a link or session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub tenant: TenantId,
    pub link_id: String,
    /// Epoch seconds after which the credential is refused.
    pub expires: i64,
}

/// A credential refused. Callers answer every case with the same 401; the variant is for the
/// page's message ("this link has expired") and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("malformed credential")]
    Malformed,
    #[error("bad signature")]
    Signature,
    #[error("expired")]
    Expired,
}

/// A key could not be had (Secrets Manager unreachable, or the secret too short).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setup-link key unavailable: {0}")]
pub struct KeyError(pub String);

/// A signed credential and what it says.
pub struct Issued {
    pub text: SecretString,
    pub claims: Claims,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

enum KeySource {
    Fixed,
    Secret {
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
    },
}

/// Signs and verifies links and sessions. The key is read once, on first use.
pub struct SetupLinks {
    source: KeySource,
    key: OnceCell<SecretBox<Vec<u8>>>,
}

impl SetupLinks {
    /// A fresh random key held in process (the local server, tests): links do not survive a
    /// restart, which is what a local run wants.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut key = vec![0u8; MIN_KEY_BYTES];
        getrandom::fill(&mut key)?;
        Ok(Self::with_key(key))
    }

    /// A given key (tests, and a key already read by `scimctl`).
    pub fn with_key(key: Vec<u8>) -> Self {
        SetupLinks {
            source: KeySource::Fixed,
            key: OnceCell::new_with(Some(SecretBox::new(Box::new(key)))),
        }
    }

    /// The key is the string value of `secret_id` in Secrets Manager (template.yaml generates
    /// it), read with the client's deadlines on first use; a failed read is retried next time.
    pub fn from_secret(client: aws_sdk_secretsmanager::Client, secret_id: &str) -> Self {
        SetupLinks {
            source: KeySource::Secret {
                client,
                secret_id: secret_id.to_owned(),
            },
            key: OnceCell::new(),
        }
    }

    async fn key(&self) -> Result<&[u8], KeyError> {
        let key = self
            .key
            .get_or_try_init(|| async {
                let KeySource::Secret { client, secret_id } = &self.source else {
                    return Err(KeyError("no key".into()));
                };
                let out = client
                    .get_secret_value()
                    .secret_id(secret_id)
                    .send()
                    .await
                    .map_err(|e| {
                        KeyError(format!(
                            "Secrets Manager GetSecretValue {secret_id}: {}",
                            aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                        ))
                    })?;
                let text = out.secret_string().unwrap_or_default();
                if text.len() < MIN_KEY_BYTES {
                    return Err(KeyError(format!(
                        "secret {secret_id} must hold at least {MIN_KEY_BYTES} characters"
                    )));
                }
                Ok(SecretBox::new(Box::new(text.as_bytes().to_vec())))
            })
            .await?;
        Ok(key.expose_secret().as_slice())
    }

    /// A new setup link for `tenant`, valid for `ttl` (1 minute to [`MAX_LINK_TTL`]).
    pub async fn issue_link(
        &self,
        tenant: &TenantId,
        ttl: Duration,
        now: i64,
    ) -> Result<Issued, IssueError> {
        if ttl < Duration::from_secs(60) || ttl > MAX_LINK_TTL {
            return Err(IssueError::Ttl);
        }
        let mut id = [0u8; 12];
        getrandom::fill(&mut id).map_err(|e| IssueError::Key(KeyError(e.to_string())))?;
        let claims = Claims {
            tenant: tenant.clone(),
            link_id: URL_SAFE_NO_PAD.encode(id),
            expires: now + ttl.as_secs() as i64,
        };
        self.sign(Kind::Link, claims).await.map_err(IssueError::Key)
    }

    /// The session a verified link is exchanged for: same tenant and link id, ending after
    /// [`SESSION_TTL`] or with the link.
    pub async fn issue_session(&self, link: &Claims, now: i64) -> Result<Issued, KeyError> {
        let claims = Claims {
            expires: link.expires.min(now + SESSION_TTL.as_secs() as i64),
            ..link.clone()
        };
        self.sign(Kind::Session, claims).await
    }

    async fn sign(&self, kind: Kind, claims: Claims) -> Result<Issued, KeyError> {
        let payload = payload(kind, &claims);
        let tag = mac(self.key().await?, &payload).finalize().into_bytes();
        let text = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag));
        Ok(Issued {
            text: SecretString::from(text),
            claims,
        })
    }

    /// Check a credential of `kind`: format, signature (constant time), then expiry.
    pub async fn verify(
        &self,
        text: &str,
        kind: Kind,
        now: i64,
    ) -> Result<Result<Claims, LinkError>, KeyError> {
        let Some((payload, sig)) = split(text) else {
            return Ok(Err(LinkError::Malformed));
        };
        let Some(claims) = parse_payload(payload, kind) else {
            return Ok(Err(LinkError::Malformed));
        };
        let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
            return Ok(Err(LinkError::Malformed));
        };
        if mac(self.key().await?, payload).verify_slice(&sig).is_err() {
            return Ok(Err(LinkError::Signature));
        }
        if now >= claims.expires {
            return Ok(Err(LinkError::Expired));
        }
        Ok(Ok(claims))
    }
}

/// A link could not be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("a setup link must live between 1 minute and 7 days")]
    Ttl,
    #[error(transparent)]
    Key(KeyError),
}

fn mac(key: &[u8], payload: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length (RFC 2104 §2), so this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(payload.as_bytes());
    m
}

fn payload(kind: Kind, c: &Claims) -> String {
    format!(
        "{VERSION}.{}.{}.{}.{}",
        kind.tag(),
        c.tenant,
        c.link_id,
        c.expires
    )
}

/// Link ids are base64url (no `.`, so they cannot break the credential's fields), at most 32
/// characters.
pub fn is_link_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn split(text: &str) -> Option<(&str, &str)> {
    if text.len() > MAX_CREDENTIAL_LEN || !text.is_ascii() {
        return None;
    }
    text.rsplit_once('.')
}

fn parse_payload(payload: &str, kind: Kind) -> Option<Claims> {
    let mut parts = payload.split('.');
    let (v, k, tenant, link_id, expires) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some() || v != VERSION || k != kind.tag() {
        return None;
    }
    if !is_link_id(link_id) {
        return None;
    }
    Some(Claims {
        tenant: TenantId::parse(tenant).ok()?,
        link_id: link_id.to_owned(),
        expires: expires.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    #[tokio::test]
    async fn a_link_verifies_until_it_expires_and_only_as_a_link() {
        let links = SetupLinks::random().unwrap();
        let l = links
            .issue_link(&acme(), Duration::from_secs(3600), 1000)
            .await
            .unwrap();
        let text = l.text.expose_secret();
        let ok = links.verify(text, Kind::Link, 1000).await.unwrap();
        assert_eq!(ok, Ok(l.claims.clone()));
        assert_eq!(
            links.verify(text, Kind::Link, 4600).await.unwrap(),
            Err(LinkError::Expired)
        );
        assert_eq!(
            links.verify(text, Kind::Session, 1000).await.unwrap(),
            Err(LinkError::Malformed)
        );
        let s = links.issue_session(&l.claims, 1000).await.unwrap();
        assert_eq!(s.claims.expires, 1000 + SESSION_TTL.as_secs() as i64);
        assert!(links
            .verify(s.text.expose_secret(), Kind::Session, 1000)
            .await
            .unwrap()
            .is_ok());
    }

    #[tokio::test]
    async fn tampering_with_any_field_or_key_breaks_the_signature() {
        let links = SetupLinks::random().unwrap();
        let l = links
            .issue_link(&acme(), Duration::from_secs(3600), 1000)
            .await
            .unwrap();
        let text = l.text.expose_secret().to_owned();
        let other_tenant = text.replacen(".acme.", ".globex.", 1);
        let later = text.replacen(".4600.", ".9999999.", 1);
        for bad in [other_tenant, later] {
            assert_eq!(
                links.verify(&bad, Kind::Link, 1000).await.unwrap(),
                Err(LinkError::Signature)
            );
        }
        let other_key = SetupLinks::random().unwrap();
        assert_eq!(
            other_key.verify(&text, Kind::Link, 1000).await.unwrap(),
            Err(LinkError::Signature)
        );
        for junk in [
            "",
            ".",
            "v1.l.acme",
            "v1.l.ACME.x.1.sig",
            &"a".repeat(300),
            "é",
        ] {
            assert_eq!(
                links.verify(junk, Kind::Link, 0).await.unwrap(),
                Err(LinkError::Malformed),
                "{junk}"
            );
        }
    }

    #[tokio::test]
    async fn ttl_is_bounded_and_sessions_end_with_their_link() {
        let links = SetupLinks::random().unwrap();
        for ttl in [
            Duration::from_secs(59),
            MAX_LINK_TTL + Duration::from_secs(1),
        ] {
            assert!(matches!(
                links.issue_link(&acme(), ttl, 0).await,
                Err(IssueError::Ttl)
            ));
        }
        let l = links
            .issue_link(&acme(), Duration::from_secs(120), 0)
            .await
            .unwrap();
        let s = links.issue_session(&l.claims, 0).await.unwrap();
        assert_eq!(s.claims.expires, 120);
        assert!(!format!("{s:?}").contains(s.text.expose_secret()));
    }
}
