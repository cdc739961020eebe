//! Tenant identity. The tenant of a request comes from its verified token only (ARCHITECTURE.md,
//! Invariants 1).

use std::fmt;

/// A tenant id: 1 to 63 characters of `[a-z0-9-]`, starting with a letter or digit.
///
/// The alphabet is deliberately narrow: tenant ids appear inside tokens (`scim_<tenant>_<secret>`),
/// DynamoDB keys (`T#<tenant>#...`) and Secrets Manager names, and must never be able to contain a
/// separator of any of them.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    pub const MAX_LEN: usize = 63;

    pub fn parse(s: &str) -> Result<Self, InvalidTenantId> {
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-');
        if ok {
            Ok(TenantId(s.to_owned()))
        } else {
            Err(InvalidTenantId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a tenant id is 1 to 63 characters of a-z, 0-9 and '-', not starting with '-'")]
pub struct InvalidTenantId;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_simple_ids() {
        for ok in ["acme", "a", "acme-corp-2", "0abc"] {
            assert_eq!(TenantId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_separators_case_and_length() {
        let long = "a".repeat(64);
        for bad in [
            "",
            "-acme",
            "Acme",
            "ac_me",
            "ac#me",
            "ac/me",
            "ac me",
            "é",
            long.as_str(),
        ] {
            assert!(TenantId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
