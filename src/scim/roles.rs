//! The read-only `role` of our roles extension of User (`urn::ROLES_USER`) in a client's view:
//! added to a rendered user, and recognised in filters (ARCHITECTURE.md, Roles from groups).
//! The role itself is decided by the service from the user's groups and the tenant's rules;
//! this module only shapes it (no I/O).

use serde_json::{json, Value};

use super::filter::{AttrPath, Filter};
use super::urn;

/// The attribute's name in the extension.
pub const ROLE: &str = "role";

/// `doc` (a rendered User) with `role` under the extension's URN, and the URN listed in
/// `schemas` (RFC 7643 §3: a resource lists the extensions it carries).
pub fn render_role(doc: &mut Value, role: &str) {
    let Value::Object(obj) = doc else {
        return;
    };
    if let Some(Value::Array(schemas)) = obj.get_mut("schemas") {
        schemas.push(json!(urn::ROLES_USER));
    }
    obj.insert(urn::ROLES_USER.to_owned(), json!({ ROLE: role }));
}

/// Whether the filter names anything of the roles extension (its URN, in any case or alias).
pub fn mentions_role(filter: &Filter) -> bool {
    let named = |p: &AttrPath| {
        p.urn
            .as_deref()
            .and_then(urn::canonical_schema_urn)
            .is_some_and(|u| u == urn::ROLES_USER)
    };
    match filter {
        Filter::Compare { path, .. } | Filter::Present(path) => named(path),
        Filter::And(a, b) | Filter::Or(a, b) => mentions_role(a) || mentions_role(b),
        Filter::Not(f) => mentions_role(f),
        Filter::ValuePath { path, .. } => named(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse_filter;

    #[test]
    fn role_is_rendered_under_its_urn_and_found_in_filters() {
        let mut doc = json!({"schemas": [urn::USER], "id": "u"});
        render_role(&mut doc, "admin");
        assert_eq!(doc["schemas"], json!([urn::USER, urn::ROLES_USER]));
        assert_eq!(doc[urn::ROLES_USER]["role"], "admin");
        let f = |s: &str| parse_filter(s).unwrap();
        assert!(mentions_role(&f(&format!(
            "userName eq \"a\" and {}:role eq \"admin\"",
            urn::ROLES_USER.to_uppercase()
        ))));
        assert!(!mentions_role(&f("userName eq \"role\"")));
    }
}
