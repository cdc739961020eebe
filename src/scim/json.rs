//! Case-insensitive access to the members of a JSON object.
//!
//! RFC 7643 §2.1: "Attribute names are case insensitive", so a client may send `userName`,
//! `USERNAME` or `username` for the same attribute, and filters, PATCH paths, `attributes` and
//! `sortBy` may spell a name differently from the stored resource. The protocol layer looks up
//! one member of an object by name (in a request body or a rendered resource) through here.
//!
//! Lookups scan the object linearly (objects here hold a few dozen members at most). When an
//! object holds several keys that differ only in case (possible in a raw request body, never in
//! a normalised resource: [`crate::scim::validate`] keeps one canonical name), the first in the
//! map's iteration order wins, except in [`get_exact_or_ci`].

use serde_json::{Map, Value};

/// A JSON object, or a JSON value that may be one: lets the lookups below take either a
/// [`Map`] or a [`Value`] (a value that is not an object has no members).
pub trait JsonObject {
    /// The members, when this is an object.
    fn as_map(&self) -> Option<&Map<String, Value>>;
}

impl JsonObject for Map<String, Value> {
    fn as_map(&self) -> Option<&Map<String, Value>> {
        Some(self)
    }
}

impl JsonObject for Value {
    fn as_map(&self) -> Option<&Map<String, Value>> {
        self.as_object()
    }
}

/// The first member whose key equals `key` ignoring ASCII case, with the key as spelled in the
/// object (for callers that write the member back, or skip it, under its original spelling).
pub fn get_ci_entry<'a>(object: &'a impl JsonObject, key: &str) -> Option<(&'a String, &'a Value)> {
    object
        .as_map()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
}

/// The value of the first member whose key equals `key` ignoring ASCII case.
pub fn get_ci<'a>(object: &'a impl JsonObject, key: &str) -> Option<&'a Value> {
    get_ci_entry(object, key).map(|(_, v)| v)
}

/// Like [`get_ci`], but a key spelled exactly as `key` wins over its other-case twins. Used by
/// the filter evaluator, which runs on every candidate of a list query: clients mostly spell
/// names as the schema does, which is how a normalised resource stores them, and that spelling
/// is found by the map's own lookup before any scan.
pub fn get_exact_or_ci<'a>(object: &'a impl JsonObject, key: &str) -> Option<&'a Value> {
    let map = object.as_map()?;
    map.get(key).or_else(|| get_ci(map, key))
}

/// Mutable access to the value of the first member whose key equals `key` ignoring ASCII case.
pub fn get_ci_mut<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Value> {
    map.iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Removes the first member whose key equals `key` ignoring ASCII case, returning its value.
pub fn take_ci(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let found = map.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()?;
    map.remove(&found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn lookups_ignore_case_on_maps_and_values() {
        let v = json!({"userName": "a", "Emails": [], "n": 1});
        let m = object(v.clone());
        assert_eq!(get_ci(&m, "USERNAME"), Some(&json!("a")));
        assert_eq!(get_ci(&v, "username"), Some(&json!("a")));
        assert_eq!(get_ci(&v, "missing"), None);
        assert_eq!(get_ci(&json!("not an object"), "n"), None);
        assert_eq!(get_ci(&json!([{"n": 1}]), "n"), None);
        let (k, val) = get_ci_entry(&m, "emails").unwrap();
        assert_eq!((k.as_str(), val), ("Emails", &json!([])));
        assert_eq!(get_exact_or_ci(&v, "N"), Some(&json!(1)));
        assert_eq!(get_exact_or_ci(&json!(null), "n"), None);
    }

    #[test]
    fn exact_spelling_wins_only_in_get_exact_or_ci() {
        // Two spellings of one name can only come from a raw body; iteration order decides for
        // the plain lookups.
        let v = json!({"KEY": 1, "key": 2});
        let first = v.as_object().unwrap().iter().next().map(|(_, v)| v);
        assert_eq!(get_ci(&v, "key"), first);
        assert_eq!(get_exact_or_ci(&v, "key"), Some(&json!(2)));
        assert_eq!(get_exact_or_ci(&v, "KEY"), Some(&json!(1)));
    }

    #[test]
    fn mutable_access_and_removal_keep_the_other_members() {
        let mut m = object(json!({"Primary": true, "value": "x"}));
        *get_ci_mut(&mut m, "primary").unwrap() = json!(false);
        assert_eq!(m["Primary"], json!(false));
        assert_eq!(get_ci_mut(&mut m, "missing"), None);
        assert_eq!(take_ci(&mut m, "PRIMARY"), Some(json!(false)));
        assert_eq!(take_ci(&mut m, "primary"), None);
        assert_eq!(Value::Object(m), json!({"value": "x"}));
    }
}
