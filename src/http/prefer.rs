//! The `Prefer` request header (RFC 7240), as it applies to SCIM writes: `return=minimal` (no
//! representation in the answer) and `return=representation` (the resource, projected by
//! `attributes` / `excludedAttributes`), RFC 7240 §4.2. Other preferences are ignored, as
//! RFC 7240 §2 requires of preferences a server does not support.
//!
//! The transport only parses the header into a [`ReturnPreference`]; what is read to answer is
//! the service's decision, told by whether it is given a projection (`None`: no representation).

use http::HeaderMap;

/// `Prefer: return=...` (RFC 7240 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnPreference {
    Minimal,
    Representation,
}

impl ReturnPreference {
    /// The `Preference-Applied` value (RFC 7240 §3) naming this preference.
    pub fn applied(self) -> &'static str {
        match self {
            ReturnPreference::Minimal => "return=minimal",
            ReturnPreference::Representation => "return=representation",
        }
    }
}

/// The `return` preference of the request, if it states one this server knows.
///
/// RFC 7240 §2: a `Prefer` header is a comma-separated list of `token [= word] *(; parameter)`,
/// may appear several times (read as one list, in order), names and values compare
/// case-insensitively here, and when a preference appears more than once only the first counts.
/// A value we do not know (`return=everything`) is ignored like an unknown preference.
pub fn return_preference(headers: &HeaderMap) -> Option<ReturnPreference> {
    let first_return = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|pref| {
            let main = pref.split(';').next().unwrap_or_default();
            let (name, value) = main.split_once('=').unwrap_or((main, ""));
            name.trim()
                .eq_ignore_ascii_case("return")
                .then(|| value.trim().trim_matches('"').to_ascii_lowercase())
        })
        .next()?;
    match first_return.as_str() {
        "minimal" => Some(ReturnPreference::Minimal),
        "representation" => Some(ReturnPreference::Representation),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn parse(values: &[&str]) -> Option<ReturnPreference> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("prefer", HeaderValue::from_str(v).unwrap());
        }
        return_preference(&h)
    }

    #[test]
    fn reads_rfc7240_preference_lists() {
        use ReturnPreference::*;
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&["return=minimal"]), Some(Minimal));
        assert_eq!(
            parse(&["Return = \"Representation\""]),
            Some(Representation)
        );
        assert_eq!(
            parse(&["respond-async, wait=10, return=minimal; x=1"]),
            Some(Minimal)
        );
        assert_eq!(
            parse(&["handling=lenient", "return=representation"]),
            Some(Representation)
        );
        // RFC 7240 §2: only the first instance of a preference counts.
        assert_eq!(
            parse(&["return=minimal, return=representation"]),
            Some(Minimal)
        );
        assert_eq!(parse(&["return=everything"]), None);
        assert_eq!(parse(&["return"]), None);
        assert_eq!(parse(&["returns=minimal", ",,;", "="]), None);
    }

    #[test]
    fn applied_names_the_preference() {
        assert_eq!(ReturnPreference::Minimal.applied(), "return=minimal");
        assert_eq!(
            ReturnPreference::Representation.applied(),
            "return=representation"
        );
    }
}
