//! The token format and its hash. The only module that sees a token's secret part.
//!
//! A token is `scim_<tenant>_<secret>`: the `scim_` prefix says what it is (and lets secret
//! scanners recognise it), the tenant id lets the server find the tenant's hashes without a scan,
//! and the secret is 32 bytes (256 bits) from the OS CSPRNG, base64url without padding.
//! Only the SHA-256 of the whole token is ever stored: the secret has full entropy, so a fast hash
//! is enough (no password-hashing KDF needed) and verification stays cheap.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::tenant::TenantId;

pub const PREFIX: &str = "scim_";
const SECRET_BYTES: usize = 32;
/// Length of the base64url (no padding) encoding of the secret.
const SECRET_CHARS: usize = 43;
/// Longest possible well-formed token; anything longer is rejected before hashing.
pub const MAX_TOKEN_LEN: usize = PREFIX.len() + TenantId::MAX_LEN + 1 + SECRET_CHARS;

/// The SHA-256 of a token. Compared in constant time; never printed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub fn of(token: &str) -> Self {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }

    /// Constant-time equality, so timing reveals nothing about how close a guess was.
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    pub fn to_hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hex = std::str::from_utf8(chunk).ok()?;
            out[i] = u8::from_str_radix(hex, 16).ok()?;
        }
        Some(TokenHash(out))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

/// A plaintext token (generated, or given to the local server): no `Debug` or `Display` shows
/// it, `expose_secret()` reads it, and its memory is wiped on drop.
pub type PlainToken = secrecy::SecretString;

/// A freshly generated token. The plain text exists only here, to be shown once.
pub struct NewToken {
    pub token: PlainToken,
    pub hash: TokenHash,
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewToken(<redacted>)")
    }
}

/// Generate a token for a tenant from the OS CSPRNG.
pub fn generate(tenant: &TenantId) -> Result<NewToken, getrandom::Error> {
    let mut secret = [0u8; SECRET_BYTES];
    getrandom::fill(&mut secret)?;
    let token = format!("{PREFIX}{tenant}_{}", URL_SAFE_NO_PAD.encode(secret));
    let hash = TokenHash::of(&token);
    Ok(NewToken {
        token: PlainToken::from(token),
        hash,
    })
}

/// The tenant a token claims to belong to, if it is well formed. Says nothing about validity.
pub fn claimed_tenant(token: &str) -> Option<TenantId> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let rest = token.strip_prefix(PREFIX)?;
    let (tenant, secret) = rest.split_once('_')?;
    if secret.len() != SECRET_CHARS
        || !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    TenantId::parse(tenant).ok()
}

/// A short, non-secret identifier of a credential for logs and `scimctl token status`:
/// the first 8 hex digits of a second hash, so it reveals nothing usable about the token hash.
pub fn token_id(hash: &TokenHash) -> String {
    let mut h = Sha256::new();
    h.update(b"scim-token-id:");
    h.update(hash.0);
    let digest = h.finalize();
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn tenant() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    #[test]
    fn generated_tokens_parse_back_to_their_tenant_and_differ() {
        let a = generate(&tenant()).unwrap();
        let b = generate(&tenant()).unwrap();
        let (a_text, b_text) = (a.token.expose_secret(), b.token.expose_secret());
        assert_ne!(a_text, b_text);
        assert_eq!(claimed_tenant(a_text), Some(tenant()));
        assert!(a_text.starts_with("scim_acme_"));
        assert_eq!(a_text.len(), "scim_acme_".len() + SECRET_CHARS);
        assert!(TokenHash::of(a_text).ct_eq(&a.hash));
        assert!(!a.hash.ct_eq(&b.hash));
    }

    #[test]
    fn malformed_tokens_claim_no_tenant() {
        let good = generate(&tenant())
            .unwrap()
            .token
            .expose_secret()
            .to_owned();
        let huge = "scim_acme_".to_owned() + &"A".repeat(10_000);
        let cases = [
            "",
            "scim_",
            "scim_acme",
            "scim_acme_short",
            "token_acme_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "scim_ACME_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "scim_acme_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA€",
            &huge,
            &good[..good.len() - 1],
        ];
        for bad in cases {
            assert_eq!(claimed_tenant(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hex_round_trip_and_debug_redacts() {
        let t = generate(&tenant()).unwrap();
        assert_eq!(TokenHash::from_hex(&t.hash.to_hex()), Some(t.hash));
        assert_eq!(TokenHash::from_hex("zz"), None);
        assert!(!format!("{:?}", t.hash).contains(&t.hash.to_hex()));
        assert!(!format!("{t:?}").contains(t.token.expose_secret()));
        // The plaintext itself has no Debug showing it.
        assert!(!format!("{:?}", t.token).contains(t.token.expose_secret()));
        assert_eq!(token_id(&t.hash).len(), 8);
    }
}
