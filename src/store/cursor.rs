//! RFC 9865 paging cursors, shared by every store so that they behave alike.
//!
//! A cursor names the last resource of the previous page: the base64url of
//! `<tenant>\n<last id>\n<check>`, where `check` is a short SHA-256 digest of the rest. It is
//! opaque to clients and checked on every use: an edited, truncated or foreign cursor is refused
//! as `invalidCursor` instead of quietly starting somewhere else. The check is not a secret and
//! need not be: a store derives every key from the *caller's* tenant and takes only the id from
//! the cursor, so even a forged cursor can at most move the start within the caller's own data.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::StoreError;
use crate::tenant::TenantId;

/// Longest resource id a cursor (or a look-up by id) may name. Ids this service mints are UUIDs;
/// the bound keeps a crafted id from reaching a store key limit (DynamoDB: 1024-byte sort key).
pub const MAX_ID_BYTES: usize = 256;

/// Hex digits of the check digest (64 bits: enough to catch any edit, not meant as a MAC).
const CHECK_LEN: usize = 16;

/// Longest cursor accepted (and issued), so that decoding work is bounded.
pub const MAX_CURSOR_CHARS: usize =
    4 * (TenantId::MAX_LEN + 1 + MAX_ID_BYTES + 1 + CHECK_LEN).div_ceil(3);

fn check(tenant: &str, last_id: &str) -> String {
    let digest = Sha256::digest(format!("scim-cursor-v1\n{tenant}\n{last_id}"));
    digest[..CHECK_LEN / 2]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Is `id` something a store could hold? Used to answer "not found" without a store call.
pub fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_BYTES && !id.chars().any(char::is_control)
}

/// The cursor for the page that follows the resource `last_id`.
pub fn encode(tenant: &TenantId, last_id: &str) -> String {
    let check = check(tenant.as_str(), last_id);
    URL_SAFE_NO_PAD.encode(format!("{tenant}\n{last_id}\n{check}"))
}

/// The id after which the next page starts, if `cursor` is a well-formed cursor of `tenant`.
pub fn decode(tenant: &TenantId, cursor: &str) -> Result<String, StoreError> {
    if cursor.len() > MAX_CURSOR_CHARS {
        return Err(StoreError::InvalidCursor);
    }
    let raw = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let text = String::from_utf8(raw).map_err(|_| StoreError::InvalidCursor)?;
    let mut parts = text.splitn(3, '\n');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(t), Some(id), Some(c))
            if t == tenant.as_str() && plausible_id(id) && c == check(t, id) =>
        {
            Ok(id.to_owned())
        }
        _ => Err(StoreError::InvalidCursor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(s: &str) -> TenantId {
        TenantId::parse(s).unwrap()
    }

    #[test]
    fn round_trips_for_its_tenant_only() {
        let c = encode(&tenant("acme"), "2c1e-id");
        assert_eq!(decode(&tenant("acme"), &c), Ok("2c1e-id".to_owned()));
        assert_eq!(decode(&tenant("other"), &c), Err(StoreError::InvalidCursor));
        assert_eq!(decode(&tenant("acm"), &c), Err(StoreError::InvalidCursor));
    }

    #[test]
    fn refuses_malformed_cursors() {
        let t = tenant("acme");
        let long = "A".repeat(MAX_CURSOR_CHARS + 1);
        let bad = [
            String::new(),
            "!!!".to_owned(),
            "YWNtZQ".to_owned(), // "acme": no separator
            URL_SAFE_NO_PAD.encode("acme\n"),
            URL_SAFE_NO_PAD.encode("acme\nid"),
            URL_SAFE_NO_PAD.encode(format!("acme\nid\n{}", "0".repeat(CHECK_LEN))),
            URL_SAFE_NO_PAD.encode(format!("acme\nid\u{0}x\n{}", check("acme", "id\u{0}x"))),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe, b'\n', b'x']),
            URL_SAFE_NO_PAD.encode(format!("acme\n{}", "x".repeat(MAX_ID_BYTES + 1))),
            long,
        ];
        for c in &bad {
            assert_eq!(decode(&t, c), Err(StoreError::InvalidCursor), "{c:?}");
        }
    }

    #[test]
    fn any_edit_of_a_cursor_is_refused() {
        let t = tenant("acme");
        let good = encode(&t, "7d1c2f3e-0000-4000-8000-000000000001");
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(&good).unwrap()).unwrap();
        // Truncations and single-character edits of the decoded text, re-encoded validly.
        let mut edits: Vec<String> = (1..text.len()).map(|n| text[..n].to_owned()).collect();
        for i in 0..text.len() {
            let mut b = text.clone().into_bytes();
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            edits.push(String::from_utf8(b).unwrap());
        }
        for e in edits.into_iter().filter(|e| *e != text) {
            let c = URL_SAFE_NO_PAD.encode(&e);
            assert_eq!(decode(&t, &c), Err(StoreError::InvalidCursor), "{e:?}");
        }
    }

    #[test]
    fn a_cursor_for_the_longest_id_fits_the_length_bound() {
        let t = tenant(&"a".repeat(TenantId::MAX_LEN));
        let c = encode(&t, &"x".repeat(MAX_ID_BYTES));
        assert!(c.len() <= MAX_CURSOR_CHARS);
        assert!(decode(&t, &c).is_ok());
    }
}
