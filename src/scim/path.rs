//! PATCH operation paths (RFC 7644 §3.5.2):
//!
//! ```text
//! PATH      = attrPath / valuePath [subAttr]
//! valuePath = attrPath "[" valFilter "]"     ; valFilter is a filter (filter.rs), not nested
//! subAttr   = "." ATTRNAME
//! ```
//!
//! e.g. `members`, `name.familyName`, `emails[type eq "work"].value`,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
//! The attribute path and the bracket are read by the filter parser, so both grammars agree;
//! errors are 400 `invalidPath` with a 1-based character position, under the same bounds.

use crate::error::ScimError;
use crate::scim::filter::{AttrPath, Filter, Grammar, Parser};
use std::fmt;

/// A parsed PATCH `path`.
///
/// Invariant from the grammar: with `filter` set, `attr` has no sub-attribute and the
/// element's sub-attribute (if any) is `sub_attr`; without `filter`, `sub_attr` is `None`
/// and a sub-attribute is in `attr.sub_attr` (`name.familyName`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchPath {
    pub attr: AttrPath,
    /// Selects elements of a multi-valued (or complex) attribute; names inside are relative.
    pub filter: Option<Filter>,
    /// The sub-attribute after `]`, as in `emails[type eq "work"].value`.
    pub sub_attr: Option<String>,
}

/// Parses a PATCH operation `path` (RFC 7644 §3.5.2). Surrounding whitespace is ignored.
pub fn parse_patch_path(input: &str) -> Result<PatchPath, ScimError> {
    let mut p = Parser::new(input, Grammar::Path)?;
    p.skip_ws();
    if p.at_end() {
        return Err(p.error(p.pos(), "the path is empty"));
    }
    let attr = p.attr_path()?;
    let (filter, sub_attr) = if p.peek() == Some(b'[') {
        let filter = p.value_filter(&attr)?;
        (Some(filter), p.sub_attr_after_bracket()?)
    } else {
        (None, None)
    };
    p.skip_ws();
    if !p.at_end() {
        let expected = match (&filter, &sub_attr) {
            (None, _) => "'[', a sub-attribute after '.', or the end of the path",
            (Some(_), None) => "'.' and a sub-attribute, or the end of the path",
            (Some(_), Some(_)) => "the end of the path",
        };
        return Err(p.expected(p.pos(), expected));
    }
    Ok(PatchPath {
        attr,
        filter,
        sub_attr,
    })
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::scim::filter::{parse_filter, MAX_DEPTH, MAX_LEN};
    use proptest::prelude::*;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn attr(urn: Option<&str>, name: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            urn: urn.map(str::to_owned),
            name: name.to_owned(),
            sub_attr: sub.map(str::to_owned),
        }
    }

    fn filter(text: &str) -> Option<Filter> {
        Some(parse_filter(text).unwrap())
    }

    #[test]
    fn rfc_and_idp_examples() {
        let cases = [
            ("members", attr(None, "members", None), None, None),
            ("name.familyName", attr(None, "name", Some("familyName")), None, None),
            (
                "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]",
                attr(None, "members", None),
                filter("value eq \"2819c223-7f76-453a-919d-413861904646\""),
                None,
            ),
            ("emails[type eq \"work\"].value", attr(None, "emails", None), filter("type eq \"work\""), Some("value")),
            ("addresses[type eq \"work\"].locality", attr(None, "addresses", None), filter("type eq \"work\""), Some("locality")),
            (&*format!("{ENTERPRISE}:manager"), attr(Some(ENTERPRISE), "manager", None), None, None),
            (&*format!("{ENTERPRISE}:manager.value"), attr(Some(ENTERPRISE), "manager", Some("value")), None, None),
            ("manager[value eq \"271\"]", attr(None, "manager", None), filter("value eq \"271\""), None),
            ("members[value eq \"x\"].display", attr(None, "members", None), filter("value eq \"x\""), Some("display")),
            ("members[value eq \"x\"].$ref", attr(None, "members", None), filter("value eq \"x\""), Some("$ref")),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\" and primary eq true].value",
                attr(Some("urn:ietf:params:scim:schemas:core:2.0:User"), "emails", None),
                filter("type eq \"work\" and primary eq true"),
                Some("value"),
            ),
            ("  Active ", attr(None, "Active", None), None, None),
        ];
        for (input, attr, filter, sub_attr) in cases {
            let want = PatchPath {
                attr,
                filter,
                sub_attr: sub_attr.map(str::to_owned),
            };
            let got = parse_patch_path(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got, want, "{input}");
            assert_eq!(got.to_string(), input.trim(), "{input}");
        }
        let p = parse_patch_path("emails[TYPE EQ \"work\" OR (type eq \"home\")].value").unwrap();
        assert_eq!(
            p.to_string(),
            "emails[TYPE eq \"work\" or type eq \"home\"].value"
        );
    }

    /// (input, 1-based character, fragment of the detail)
    const ERRORS: &[(&str, usize, &str)] = &[
        ("", 1, "the path is empty"),
        ("  ", 3, "the path is empty"),
        ("1members", 1, "expected an attribute name"),
        ("[value eq \"x\"]", 1, "expected an attribute name"),
        (
            "members extra",
            9,
            "expected '[', a sub-attribute after '.', or the end of the path, found 'extra'",
        ),
        (
            "members]",
            8,
            "expected '[', a sub-attribute after '.', or the end of the path, found ']'",
        ),
        ("members[", 9, "expected an attribute name, '(' or 'not ('"),
        (
            "members[value eq \"x\"",
            21,
            "expected 'and', 'or' or ']', found the end of the path",
        ),
        ("members[value eq]", 17, "expected a value"),
        ("members[value]", 14, "expected a comparison operator"),
        (
            "members[value eq \"x\"]value",
            22,
            "expected '.' and a sub-attribute, or the end of the path, found 'value'",
        ),
        (
            "members[value eq \"x\"][type pr]",
            22,
            "expected '.' and a sub-attribute",
        ),
        (
            "emails[type eq \"work\"].",
            24,
            "expected an attribute name",
        ),
        (
            "emails[type eq \"work\"].value.x",
            29,
            "expected the end of the path, found '.x'",
        ),
        (
            "emails[type eq \"work\"].urn:x",
            27,
            "expected the end of the path",
        ),
        (
            "emails[value[type pr]]",
            13,
            "value filters '[...]' cannot be nested",
        ),
        (
            "name.familyName[type pr]",
            16,
            "must follow a multi-valued attribute, not a sub-attribute",
        ),
        ("a.b.c", 4, "at most one sub-attribute"),
        ("urn:x:", 7, "expected an attribute name"),
        ("emails[type gt true]", 16, "'gt' compares strings"),
        (
            "emails[type eq \"work]",
            16,
            "this string has no closing '\"'",
        ),
    ];

    #[test]
    fn every_error_is_invalid_path_with_a_position() {
        for &(input, character, fragment) in ERRORS {
            let e = parse_patch_path(input).expect_err(input);
            assert_eq!(
                (e.status(), e.scim_type()),
                (400, Some(ScimType::InvalidPath)),
                "{input}"
            );
            let prefix = format!("invalid path at character {character}: ");
            assert!(e.detail().starts_with(&prefix), "{input}: {}", e.detail());
            assert!(e.detail().contains(fragment), "{input}: {}", e.detail());
        }
    }

    #[test]
    fn bounds() {
        let e = parse_patch_path(&"a".repeat(MAX_LEN + 1)).unwrap_err();
        assert_eq!(
            e.detail(),
            "invalid path at character 1: the path is longer than 4096 bytes"
        );
        assert!(parse_patch_path(&"a".repeat(MAX_LEN)).is_ok());
        let nested = |n: usize| format!("x[{}a pr{}]", "(".repeat(n), ")".repeat(n));
        assert!(parse_patch_path(&nested(MAX_DEPTH - 1)).is_ok());
        let e = parse_patch_path(&nested(MAX_DEPTH)).unwrap_err();
        assert!(
            e.detail()
                .contains("the path is nested more than 32 levels deep"),
            "{}",
            e.detail()
        );
        for input in [
            format!("x[{}", "(".repeat(100_000)),
            format!("x[{}", "(".repeat(MAX_LEN - 2)),
            "x[not (".repeat(500),
        ] {
            assert_eq!(
                parse_patch_path(&input).unwrap_err().scim_type(),
                Some(ScimType::InvalidPath)
            );
        }
    }

    fn arb_patch_path() -> impl Strategy<Value = PatchPath> {
        use crate::scim::filter::tests::{arb_element_filter, attr_path};
        let plain = attr_path(true).prop_map(|attr| PatchPath {
            attr,
            filter: None,
            sub_attr: None,
        });
        let filtered = (
            attr_path(false),
            arb_element_filter(),
            proptest::option::of("[a-zA-Z][a-zA-Z0-9_-]{0,6}"),
        )
            .prop_map(|(attr, filter, sub_attr)| PatchPath {
                attr,
                filter: Some(filter),
                sub_attr,
            });
        prop_oneof![1 => plain, 3 => filtered]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn printed_paths_parse_back(p in arb_patch_path()) {
            let text = p.to_string();
            prop_assert_eq!(parse_patch_path(&text).map_err(|e| e.detail().to_owned()), Ok(p), "{}", text);
        }

        #[test]
        fn arbitrary_text_never_panics(input in crate::scim::filter::tests::arb_text()) {
            match parse_patch_path(&input) {
                Ok(p) => prop_assert_eq!(parse_patch_path(&p.to_string()).map_err(|e| e.detail().to_owned()), Ok(p)),
                Err(e) => {
                    prop_assert_eq!(e.scim_type(), Some(ScimType::InvalidPath));
                    prop_assert!(e.detail().starts_with("invalid path at character "), "{}", e.detail());
                }
            }
        }
    }
}
