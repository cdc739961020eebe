//! RFC 9865 paging cursors, shared by every store so that they behave alike.
//!
//! A cursor names the last resource of the previous page: the base64url of
//! `<tenant>\n<last id>`. It is opaque to clients and checked on every use. It carries no secret
//! and needs none: a store derives every key from the *caller's* tenant and only takes the id from
//! the cursor, so an edited cursor can at most move the start within the caller's own data. The
//! tenant inside it only lets a cursor that was issued to another tenant (or corrupted) be refused
//! as `invalidCursor` instead of quietly starting somewhere else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::StoreError;
use crate::tenant::TenantId;

/// Longest resource id a cursor (or a look-up by id) may name. Ids this service mints are UUIDs;
/// the bound keeps a crafted id from reaching a store key limit (DynamoDB: 1024-byte sort key).
pub const MAX_ID_BYTES: usize = 256;

/// Longest cursor accepted, so that decoding work is bounded.
const MAX_CURSOR_CHARS: usize = 4 * (TenantId::MAX_LEN + 1 + MAX_ID_BYTES).div_ceil(3);

/// Is `id` something a store could hold? Used to answer "not found" without a store call.
pub fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_BYTES && !id.chars().any(char::is_control)
}

/// The cursor for the page that follows the resource `last_id`.
pub fn encode(tenant: &TenantId, last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{tenant}\n{last_id}"))
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
    match text.split_once('\n') {
        Some((t, id)) if t == tenant.as_str() && plausible_id(id) => Ok(id.to_owned()),
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
            URL_SAFE_NO_PAD.encode("acme\nid\u{0}x"),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe, b'\n', b'x']),
            URL_SAFE_NO_PAD.encode(format!("acme\n{}", "x".repeat(MAX_ID_BYTES + 1))),
            long,
        ];
        for c in &bad {
            assert_eq!(decode(&t, c), Err(StoreError::InvalidCursor), "{c:?}");
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
