//! Schema and message URNs (RFC 7643 §3, §8.7; RFC 7644 §3.4.2, §3.5.2, §3.12), and the mapping
//! from the non-standard URNs that real identity providers send to the canonical ones.
//!
//! URNs are compared case-insensitively: RFC 7643 §2.1 makes attribute names, including their
//! URN prefix, case-insensitive, and OneLogin and Entra send URNs in mixed case. We always answer
//! with the canonical spelling (ARCHITECTURE.md, IdP shapes row 15).

/// The core User schema (RFC 7643 §4.1).
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The Enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Our extension of User holding the read-only product `role` derived from the user's groups
/// (ARCHITECTURE.md, Roles from groups). RFC 7643 §3.3: a service provider may define its own
/// extension schemas; the URN is under our own namespace, not `urn:ietf:params:scim`.
pub const ROLES_USER: &str = "urn:scim-server:schemas:extension:roles:1.0:User";
/// The core Group schema (RFC 7643 §4.2).
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// List responses (RFC 7644 §3.4.2).
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// PATCH request bodies (RFC 7644 §3.5.2).
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// `POST .search` request bodies (RFC 7644 §3.4.3).
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// Error bodies (RFC 7644 §3.12).
pub const ERROR: &str = crate::error::ERROR_URN;
/// The service provider configuration resource (RFC 7643 §5).
pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// Resource type descriptions (RFC 7643 §6).
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// Schema descriptions (RFC 7643 §7).
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// Every canonical URN this service knows.
const CANONICAL: &[&str] = &[
    USER,
    ENTERPRISE_USER,
    ROLES_USER,
    GROUP,
    LIST_RESPONSE,
    PATCH_OP,
    SEARCH_REQUEST,
    ERROR,
    SERVICE_PROVIDER_CONFIG,
    RESOURCE_TYPE,
    SCHEMA,
];

/// Non-standard spellings seen in the wild, and the canonical URN each one means.
/// (Case variants such as `...:enterprise:2.0:user` need no entry: matching ignores case.)
const ALIASES: &[(&str, &str)] = &[
    // Pre-RFC draft URNs, still the default in OneLogin's SCIM templates.
    ("urn:scim:schemas:core:2.0", USER),
    ("urn:scim:schemas:core:2.0:User", USER),
    ("urn:scim:schemas:core:2.0:Group", GROUP),
    ("urn:scim:schemas:extension:enterprise:2.0", ENTERPRISE_USER),
    (
        "urn:scim:schemas:extension:enterprise:2.0:User",
        ENTERPRISE_USER,
    ),
    // A missing colon, copied from a long-lived typo in IdP templates.
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
        ENTERPRISE_USER,
    ),
];

/// URNs that carry no data we model and are accepted and dropped: Microsoft's ADSCIM schemas,
/// which Entra (and its predecessors) put in `schemas` next to the core ones.
const IGNORABLE: &[&str] = &[
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User",
];

/// The canonical URN for `s`, if `s` is a canonical URN or a known alias of one, in any case.
/// Surrounding whitespace (left by hand-edited IdP templates) is ignored.
pub fn canonical_schema_urn(s: &str) -> Option<&'static str> {
    let s = s.trim();
    CANONICAL
        .iter()
        .copied()
        .find(|c| c.eq_ignore_ascii_case(s))
        .or_else(|| {
            let (_, canonical) = ALIASES.iter().find(|(a, _)| a.eq_ignore_ascii_case(s))?;
            log_alias();
            Some(*canonical)
        })
}

/// Row 15: a non-standard URN was read as its canonical one (the rule, never the request).
fn log_alias() {
    tracing::debug!(
        rule = "urn-alias",
        "read a non-standard schema URN as the canonical one"
    );
}

/// Whether `s` is a schema URN that is accepted in requests but carries nothing we keep.
pub fn is_ignorable_schema_urn(s: &str) -> bool {
    let s = s.trim();
    IGNORABLE.iter().any(|i| i.eq_ignore_ascii_case(s))
}

/// Splits a fully qualified attribute name (RFC 7644 §3.10: `<schema URN>:<attribute>`, as in
/// Entra's `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`) into the
/// canonical schema URN and the attribute part (which may still contain `.subAttribute`).
///
/// The longest known URN or alias that prefixes `s` wins, so `urn:scim:schemas:core:2.0:User:x`
/// is read as the aliased User URN plus `x`, not as `urn:scim:schemas:core:2.0` plus `User:x`.
/// Returns `None` when no known URN prefixes `s` or the attribute part is empty or contains `:`.
pub fn split_qualified_attribute(s: &str) -> Option<(&'static str, &str)> {
    let candidates = CANONICAL
        .iter()
        .map(|c| (*c, *c, false))
        .chain(ALIASES.iter().map(|(a, c)| (*a, *c, true)));
    let mut best: Option<(usize, &'static str, bool)> = None;
    for (spelling, canonical, alias) in candidates {
        let n = spelling.len();
        let matches = s.get(..n).is_some_and(|p| p.eq_ignore_ascii_case(spelling))
            && s.as_bytes().get(n) == Some(&b':');
        if matches && best.is_none_or(|(m, _, _)| n > m) {
            best = Some((n, canonical, alias));
        }
    }
    let (n, canonical, alias) = best?;
    let rest = s.get(n + 1..)?;
    if rest.is_empty() || rest.contains(':') {
        return None;
    }
    if alias {
        log_alias();
    }
    Some((canonical, rest))
}

/// The completion event of an asynchronous request (RFC 9967 §2.5.1.3), lower case as
/// registered.
pub const EVENT_ASYNCRESP: &str = "urn:ietf:params:scim:event:misc:asyncresp";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalises_standard_and_alias_urns() {
        let cases: &[(&str, Option<&str>)] = &[
            (USER, Some(USER)),
            ("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER", Some(USER)),
            (ENTERPRISE_USER, Some(ENTERPRISE_USER)),
            (GROUP, Some(GROUP)),
            ("urn:ietf:params:scim:schemas:core:2.0:group", Some(GROUP)),
            (PATCH_OP, Some(PATCH_OP)),
            (
                "urn:ietf:params:scim:api:messages:2.0:patchop",
                Some(PATCH_OP),
            ),
            (LIST_RESPONSE, Some(LIST_RESPONSE)),
            (SEARCH_REQUEST, Some(SEARCH_REQUEST)),
            (ERROR, Some(ERROR)),
            (SERVICE_PROVIDER_CONFIG, Some(SERVICE_PROVIDER_CONFIG)),
            (RESOURCE_TYPE, Some(RESOURCE_TYPE)),
            (SCHEMA, Some(SCHEMA)),
            // OneLogin
            ("urn:scim:schemas:core:2.0", Some(USER)),
            ("urn:scim:schemas:core:2.0:User", Some(USER)),
            ("urn:scim:schemas:core:2.0:Group", Some(GROUP)),
            (
                "urn:scim:schemas:extension:enterprise:2.0",
                Some(ENTERPRISE_USER),
            ),
            // Typos
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
                Some(ENTERPRISE_USER),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user",
                Some(ENTERPRISE_USER),
            ),
            ("  urn:ietf:params:scim:schemas:core:2.0:User ", Some(USER)),
            // Unknown
            ("urn:ietf:params:scim:schemas:extension:acme:2.0:User", None),
            ("urn:ietf:params:scim:schemas:core:2.0", None),
            ("", None),
            ("User", None),
        ];
        for (input, want) in cases {
            assert_eq!(canonical_schema_urn(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn ignorable_urns() {
        let cases: &[(&str, bool)] = &[
            (
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
                true,
            ),
            (
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User",
                true,
            ),
            (
                "HTTP://SCHEMAS.MICROSOFT.COM/2006/11/ResourceManagement/ADSCIM/2.0/group",
                true,
            ),
            (
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Other",
                false,
            ),
            (USER, false),
            ("", false),
        ];
        for (input, want) in cases {
            assert_eq!(is_ignorable_schema_urn(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn splits_qualified_attribute_names() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                Some((ENTERPRISE_USER, "department")),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                Some((ENTERPRISE_USER, "manager.value")),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0User:costCenter",
                Some((ENTERPRISE_USER, "costCenter")),
            ),
            (
                "urn:scim:schemas:core:2.0:User:userName",
                Some((USER, "userName")),
            ),
            (
                "urn:scim:schemas:core:2.0:nickName",
                Some((USER, "nickName")),
            ),
            (
                "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:name.givenName",
                Some((USER, "name.givenName")),
            ),
            (ENTERPRISE_USER, None),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:",
                None,
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:a:b",
                None,
            ),
            (
                "urn:ietf:params:scim:schemas:extension:acme:2.0:User:x",
                None,
            ),
            ("department", None),
            ("", None),
            ("ü:€", None),
        ];
        for (input, want) in cases {
            assert_eq!(split_qualified_attribute(input), *want, "input {input:?}");
        }
    }
}
