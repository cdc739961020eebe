//! A User's email addresses as look-up keys: `emails.value eq "x"`, `emails eq "x"` and
//! `emails[type eq "work" and value eq "x"]` (Entra ID's `emails[type eq "work"].value eq "x"`)
//! are answered from an index of the folded addresses, not by evaluating every user
//! (ARCHITECTURE.md, "Email look-ups").
//!
//! `emails.value` is caseExact false (RFC 7643 §4.1.2, §8.7.1), so the index holds the addresses
//! folded as the filter evaluator compares them ([`Folded`]: the same `to_lowercase` as
//! `userName`); the evaluator still decides on the candidates, so `type eq "work"` is checked
//! there.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::scim::resource::Folded;

/// Most email addresses a user may have. Each indexed address is one look-up entry written in the
/// same DynamoDB transaction as the user (at most 100 items): an update that replaces every
/// address moves 2 x 20 entries next to the user, its userName guard, its externalId entries and
/// the audit record, far below the limit. IdPs send one to three (work, home, other); RFC 7643
/// sets no bound.
pub const MAX_EMAILS: usize = 20;

/// The distinct folded addresses of a user's attributes that the index lists, in order; at most
/// [`MAX_EMAILS`] (a user stored before the bound existed keeps only its first ones indexed, so a
/// later update of it still fits one transaction). Takes every string the evaluator could
/// compare: an element's `value`, and a bare string element.
pub fn indexed_emails(attributes: &Map<String, Value>) -> BTreeSet<Folded> {
    let mut out = BTreeSet::new();
    for v in elements(attributes) {
        let value = match v {
            Value::Object(o) => o.get("value"),
            other => Some(other),
        };
        if let Some(Value::String(s)) = value {
            if out.len() == MAX_EMAILS {
                break;
            }
            out.insert(Folded::of(s));
        }
    }
    out
}

/// 400 `invalidValue` for more than [`MAX_EMAILS`] addresses (checked before every user write).
pub fn check_emails(attributes: &Map<String, Value>) -> Result<(), ScimError> {
    let n = elements(attributes).len();
    if n > MAX_EMAILS {
        return Err(ScimError::invalid_value(format!(
            "A user may have at most {MAX_EMAILS} emails; this one would have {n}."
        )));
    }
    Ok(())
}

/// The elements of `emails` (normalised resources always hold an array of objects).
fn elements(attributes: &Map<String, Value>) -> &[Value] {
    match attributes.get("emails") {
        Some(Value::Array(items)) => items,
        Some(other) => std::slice::from_ref(other),
        None => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn addresses_are_folded_distinct_and_bounded() {
        let a = attrs(json!({"emails": [
            {"value": "B@Example.com", "type": "work"},
            {"value": "b@example.COM", "type": "home"},
            {"type": "other"},
            {"value": 5},
            "bare@x.org"
        ]}));
        let set = indexed_emails(&a);
        let got: Vec<&str> = set.iter().map(Folded::as_str).collect();
        assert_eq!(got, ["b@example.com", "bare@x.org"]);
        assert!(indexed_emails(&attrs(json!({"userName": "x"}))).is_empty());

        let many: Vec<Value> = (0..MAX_EMAILS + 5)
            .map(|i| json!({"value": format!("u{i}@x")}))
            .collect();
        let a = attrs(json!({ "emails": many }));
        assert_eq!(indexed_emails(&a).len(), MAX_EMAILS);
        let e = check_emails(&a).unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::error::ScimType::InvalidValue));
        let ok: Vec<Value> = many[..MAX_EMAILS].to_vec();
        assert!(check_emails(&attrs(json!({ "emails": ok }))).is_ok());
    }
}
