//! List planning: what a list query (RFC 7644 §3.4.2) can learn from its filter before
//! evaluating it, so that the service fetches candidates by key instead of scanning the tenant
//! (ARCHITECTURE.md, Decisions: filters). The hints narrow the candidates;
//! [`matches`](crate::scim::filter::matches) still decides.

use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};

/// Attributes the store can look up directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum IndexedAttr {
    Id,
    UserName,
    ExternalId,
    DisplayName,
    /// A Group's `members` (`members eq`, `members.value eq`, `members[value eq ...]`): answered
    /// from the member's memberships.
    Members,
    /// A User's `groups` (`groups eq`, `groups.value eq`, `groups[value eq ...]`): answered from
    /// the group's member list.
    Groups,
    /// A User's `emails` (`emails eq`, `emails.value eq`, `emails[type eq "work" and value eq
    /// ...]`, which is how Entra's `emails[type eq "work"].value eq` parses): answered from the
    /// email look-up entries, case-insensitively (RFC 7643 §4.1.2).
    Emails,
}

impl IndexedAttr {
    fn from_path(path: &AttrPath) -> Option<Self> {
        if !path.is_core() {
            return None;
        }
        if let Some(attr) = Self::keyed_by_value(&path.name) {
            // The id of a membership, or the address of an email, is its `value`, named or
            // implied (RFC 7644 §3.4.2.2: a complex attribute compares through `value`).
            return match path.sub_attr.as_deref() {
                None => Some(attr),
                Some(s) if s.eq_ignore_ascii_case("value") => Some(attr),
                Some(_) => None,
            };
        }
        if path.sub_attr.is_some() {
            return None;
        }
        [
            ("id", IndexedAttr::Id),
            ("userName", IndexedAttr::UserName),
            ("externalId", IndexedAttr::ExternalId),
            ("displayName", IndexedAttr::DisplayName),
        ]
        .into_iter()
        .find(|(name, _)| path.name.eq_ignore_ascii_case(name))
        .map(|(_, attr)| attr)
    }

    /// The multi-valued attributes whose elements are looked up by their `value`.
    fn keyed_by_value(name: &str) -> Option<Self> {
        [
            ("members", IndexedAttr::Members),
            ("groups", IndexedAttr::Groups),
            ("emails", IndexedAttr::Emails),
        ]
        .into_iter()
        .find(|(n, _)| name.eq_ignore_ascii_case(n))
        .map(|(_, attr)| attr)
    }
}

/// The `attr eq "string"` terms on indexed attributes that every match must satisfy: the
/// filter itself or conjuncts of its top-level `and` chain (never under `or`/`not`/`[...]`).
/// A caller may fetch candidates by any one of them and then run
/// [`matches`](crate::scim::filter::matches) on those. Values are as written; case-folding for
/// `userName` is the caller's rule.
pub(super) fn indexed_equalities(filter: &Filter) -> Vec<(IndexedAttr, String)> {
    let mut out = Vec::new();
    for f in and_chain(filter) {
        match f {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value: CompValue::Str(s),
            } => {
                if let Some(attr) = IndexedAttr::from_path(path) {
                    out.push((attr, s.clone()));
                }
            }
            // `members[value eq "id"]`: the same as `members.value eq "id"`; so is
            // `emails[type eq "work" and value eq "x"]` for `emails.value eq "x"`, as one element
            // that matches has that value (its `type` is left to the evaluator).
            Filter::ValuePath { path, filter } if path.is_core() && path.sub_attr.is_none() => {
                if let Some(attr) = IndexedAttr::keyed_by_value(&path.name) {
                    let values = and_chain(filter).into_iter();
                    out.extend(
                        values.filter_map(|f| Some((attr, f.element_value_eq()?.to_owned()))),
                    );
                }
            }
            _ => {}
        }
    }
    out
}

/// The conjuncts of the filter's top-level `and` chain, left to right (the filter itself when it
/// is no `and`).
fn and_chain(filter: &Filter) -> Vec<&Filter> {
    let mut out = Vec::new();
    let mut stack = vec![filter];
    while let Some(f) = stack.pop() {
        match f {
            Filter::And(l, r) => {
                stack.push(r);
                stack.push(l);
            }
            other => out.push(other),
        }
    }
    out
}

/// Whether the filter refers to the core attribute `name` anywhere (in any case, with or
/// without a sub-attribute or value filter). Attributes that are not stored with the resource
/// (a Group's `members`, a User's `groups`) must be read before such a filter is evaluated.
pub(super) fn mentions(filter: &Filter, name: &str) -> bool {
    let named = |p: &AttrPath| p.is_core() && p.name.eq_ignore_ascii_case(name);
    match filter {
        Filter::Compare { path, .. } | Filter::Present(path) => named(path),
        Filter::And(a, b) | Filter::Or(a, b) => mentions(a, name) || mentions(b, name),
        Filter::Not(f) => mentions(f, name),
        Filter::ValuePath { path, .. } => named(path),
    }
}

/// `groups.value eq "id"` (or `groups eq`, `groups[value eq]`) and nothing else: the group id.
/// Answered by paging over the group's member list, however large.
pub(super) fn exact_group_filter(f: &Filter) -> Option<String> {
    if !matches!(f, Filter::Compare { .. } | Filter::ValuePath { .. }) {
        return None;
    }
    match indexed_equalities(f).as_slice() {
        [(IndexedAttr::Groups, id)] => Some(id.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::scim::filter::matches;
    use crate::scim::filter::tests::{arb_text, parse, user, CoreSchema};
    use proptest::prelude::*;

    #[test]
    fn idp_lookup_queries() {
        let guid = "7c9bd2d1-2a0b-4e7c-a1b6-4f5e9e0f8a3d";
        let cases = [
            (
                "userName eq \"bjensen@example.com\"",
                IndexedAttr::UserName,
                "bjensen@example.com",
                true,
            ),
            (
                "USERNAME EQ \"BJensen@Example.com\"",
                IndexedAttr::UserName,
                "BJensen@Example.com",
                true,
            ),
            (
                "externalId eq \"701984\"",
                IndexedAttr::ExternalId,
                "701984",
                true,
            ),
            (
                "displayName eq \"babs jensen\"",
                IndexedAttr::DisplayName,
                "babs jensen",
                true,
            ),
            // Entra's "Test connection": a random GUID that matches nobody.
            (&*format!("id eq \"{guid}\""), IndexedAttr::Id, guid, false),
            ("userName eq \"x\"", IndexedAttr::UserName, "x", false),
        ];
        for (input, attr, value, want) in cases {
            let f = parse(input);
            assert_eq!(
                indexed_equalities(&f),
                vec![(attr, value.to_owned())],
                "{input}"
            );
            assert_eq!(matches(&f, &user(), &CoreSchema), want, "{input}");
        }
    }

    #[test]
    fn indexed_equalities_only_from_the_top_level_and_chain() {
        let cases: [(&str, Vec<(IndexedAttr, &str)>); 10] = [
            (
                "userName eq \"a\" and active eq true",
                vec![(IndexedAttr::UserName, "a")],
            ),
            (
                "title pr and (externalId eq \"e\") and id eq \"i\"",
                vec![(IndexedAttr::ExternalId, "e"), (IndexedAttr::Id, "i")],
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq \"g\"",
                vec![(IndexedAttr::DisplayName, "g")],
            ),
            ("userName eq \"a\" or userName eq \"b\"", vec![]),
            ("not (userName eq \"a\")", vec![]),
            ("userName ne \"a\"", vec![]),
            ("userName sw \"a\"", vec![]),
            ("id eq 5", vec![]),
            ("name.userName eq \"a\" and emails[id eq \"x\"]", vec![]),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:id eq \"a\"",
                vec![],
            ),
        ];
        for (input, want) in cases {
            let want: Vec<_> = want.into_iter().map(|(a, v)| (a, v.to_owned())).collect();
            assert_eq!(indexed_equalities(&parse(input)), want, "{input}");
        }
    }

    #[test]
    fn membership_equalities_and_mentions() {
        let cases = [
            ("members eq \"u1\"", vec![(IndexedAttr::Members, "u1")]),
            (
                "members.value eq \"u1\"",
                vec![(IndexedAttr::Members, "u1")],
            ),
            (
                "displayName eq \"g\" and members[value eq \"u1\"]",
                vec![
                    (IndexedAttr::DisplayName, "g"),
                    (IndexedAttr::Members, "u1"),
                ],
            ),
            ("groups.value eq \"g1\"", vec![(IndexedAttr::Groups, "g1")]),
            ("groups.display eq \"g1\"", vec![]),
            ("members[type eq \"User\"]", vec![]),
            (
                "members[type eq \"User\" and value eq \"u1\"]",
                vec![(IndexedAttr::Members, "u1")],
            ),
        ];
        for (input, want) in cases {
            let want: Vec<_> = want.into_iter().map(|(a, v)| (a, v.to_owned())).collect();
            assert_eq!(indexed_equalities(&parse(input)), want, "{input}");
        }
        assert!(mentions(
            &parse("title pr or not (GROUPS.display eq \"x\")"),
            "groups"
        ));
        assert!(mentions(&parse("members[value eq \"x\"]"), "members"));
        assert!(!mentions(&parse("displayName eq \"members\""), "members"));
    }

    /// The email shapes IdPs send (Entra ID matches users on their work email) are look-ups;
    /// shapes that do not pin one address are not.
    #[test]
    fn email_equalities() {
        let e = |v: &str| vec![(IndexedAttr::Emails, v.to_owned())];
        let cases = [
            ("emails.value eq \"B@x.org\"", e("B@x.org")),
            ("emails eq \"b@x.org\"", e("b@x.org")),
            ("EMAILS.VALUE EQ \"b@x.org\"", e("b@x.org")),
            (
                "emails[type eq \"work\"].value eq \"b@x.org\"",
                e("b@x.org"),
            ),
            (
                "emails[type eq \"work\" and value eq \"b@x.org\"]",
                e("b@x.org"),
            ),
            ("emails[value eq \"b@x.org\"]", e("b@x.org")),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:emails.value eq \"b@x.org\"",
                e("b@x.org"),
            ),
            (
                "active eq true and emails[type eq \"work\"].value eq \"b@x.org\"",
                e("b@x.org"),
            ),
            ("emails[type eq \"work\" or value eq \"b@x.org\"]", vec![]),
            ("emails[not (value eq \"b@x.org\")]", vec![]),
            ("emails.value co \"b@x.org\"", vec![]),
            ("emails.type eq \"work\"", vec![]),
            ("emails[type eq \"work\"]", vec![]),
            ("emails.value eq \"a\" or userName eq \"b\"", vec![]),
            ("emails[value.x eq \"b@x.org\"]", vec![]),
        ];
        for (input, want) in cases {
            assert_eq!(indexed_equalities(&parse(input)), want, "{input}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Whatever the parser accepts, token soup included, planning takes without panicking.
        #[test]
        fn indexed_equalities_never_panic(input in arb_text()) {
            match crate::scim::filter::parse_filter(&input) {
                Ok(f) => {
                    let _ = indexed_equalities(&f);
                }
                Err(e) => prop_assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter)),
            }
        }
    }
}
