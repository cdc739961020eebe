//! Sorting list results (RFC 7644 §3.4.2.3): `sortBy` an attribute path, `sortOrder` ascending
//! (default) or descending. Strings compare per the attribute's `caseExact`; dateTimes
//! chronologically; a multi-valued attribute sorts by its primary value, else its first.
//! Resources without a value sort last, in either order.

use std::cmp::Ordering;

use serde_json::Value;

use super::filter::{AttrInfo, AttrPath};
use super::json::get_ci;
use super::path::parse_patch_path;
use super::resource::{render, Resource};
use super::schema::ResourceKind;
use super::SchemaAttrInfo;
use crate::error::ScimError;

#[derive(Debug, Clone, PartialEq)]
pub struct SortSpec {
    pub by: AttrPath,
    pub descending: bool,
}

/// Parse `sortBy` / `sortOrder`. A `sortOrder` without `sortBy` is ignored.
pub fn parse_sort(
    sort_by: Option<&str>,
    sort_order: Option<&str>,
) -> Result<Option<SortSpec>, ScimError> {
    let descending = match sort_order.map(str::trim) {
        None | Some("") => false,
        Some(o) if o.eq_ignore_ascii_case("ascending") => false,
        Some(o) if o.eq_ignore_ascii_case("descending") => true,
        Some(_) => {
            return Err(ScimError::invalid_value(
                "sortOrder must be \"ascending\" or \"descending\".",
            ))
        }
    };
    let Some(by) = sort_by.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let path = parse_patch_path(by)
        .map_err(|e| ScimError::invalid_value(format!("sortBy: {}", e.detail())))?;
    if path.filter.is_some() || path.sub_attr.is_some() {
        return Err(ScimError::invalid_value(
            "sortBy must be an attribute name, without a filter.",
        ));
    }
    Ok(Some(SortSpec {
        by: path.attr,
        descending,
    }))
}

#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Key {
    Bool(bool),
    Num(f64),
    Text(String),
}

/// The value `path` names in a rendered resource.
fn lookup<'a>(doc: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let holder = match &path.urn {
        Some(u) if !super::filter::is_core_schema_urn(u) => {
            let canonical = super::urn::canonical_schema_urn(u)?;
            get_ci(doc, canonical)?
        }
        _ => doc,
    };
    let v = get_ci(holder, &path.name)?;
    // Multi-valued: the primary element, else the first (RFC 7644 §3.4.2.3).
    let v = match v {
        Value::Array(items) => items
            .iter()
            .find(|i| get_ci(*i, "primary").and_then(Value::as_bool) == Some(true))
            .or_else(|| items.first())?,
        other => other,
    };
    match (&path.sub_attr, v) {
        (Some(s), _) => get_ci(v, s),
        (None, Value::Object(_)) => get_ci(v, "value"),
        (None, other) => Some(other),
    }
}

fn key(doc: &Value, path: &AttrPath, info: &SchemaAttrInfo) -> Option<Key> {
    match lookup(doc, path)? {
        Value::Bool(b) => Some(Key::Bool(*b)),
        Value::Number(n) => n.as_f64().map(Key::Num),
        Value::String(s) if info.is_date_time(path) => {
            match time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
                Ok(t) => Some(Key::Num(t.unix_timestamp_nanos() as f64)),
                Err(_) => Some(Key::Text(s.clone())),
            }
        }
        Value::String(s) if info.case_exact(path) => Some(Key::Text(s.clone())),
        Value::String(s) => Some(Key::Text(s.to_lowercase())),
        _ => None,
    }
}

/// Sort resources in place; ties keep the store's order (the sort is stable).
pub fn sort_resources(kind: ResourceKind, items: &mut Vec<Resource>, spec: &SortSpec) {
    let info = SchemaAttrInfo(kind);
    let mut keyed: Vec<(Option<Key>, Resource)> = items
        .drain(..)
        .map(|r| (key(&render(kind, &r, ""), &spec.by, &info), r))
        .collect();
    keyed.sort_by(|(a, _), (b, _)| match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => {
            let o = x.partial_cmp(y).unwrap_or(Ordering::Equal);
            if spec.descending {
                o.reverse()
            } else {
                o
            }
        }
    });
    items.extend(keyed.into_iter().map(|(_, r)| r));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(id: &str, attrs: Value) -> Resource {
        Resource {
            id: id.into(),
            version: crate::scim::resource::Version::new(1),
            created: format!("2024-01-0{}T00:00:00Z", id.len()),
            last_modified: "2024-01-01T00:00:00Z".into(),
            attributes: attrs.as_object().unwrap().clone(),
        }
    }

    fn ids(items: &[Resource]) -> Vec<&str> {
        items.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn sorts_case_insensitively_with_missing_last_in_both_orders() {
        let mut items = vec![
            user("a", json!({"userName": "carol"})),
            user("b", json!({"userName": "Alice", "title": "z"})),
            user("c", json!({"userName": "bob", "title": "a"})),
        ];
        let spec = parse_sort(Some("userName"), None).unwrap().unwrap();
        sort_resources(ResourceKind::User, &mut items, &spec);
        assert_eq!(ids(&items), ["b", "c", "a"]);
        let spec = parse_sort(Some("title"), Some("Descending"))
            .unwrap()
            .unwrap();
        sort_resources(ResourceKind::User, &mut items, &spec);
        assert_eq!(ids(&items), ["b", "c", "a"]);
        let spec = parse_sort(Some("title"), Some("ascending"))
            .unwrap()
            .unwrap();
        sort_resources(ResourceKind::User, &mut items, &spec);
        assert_eq!(ids(&items), ["c", "b", "a"]);
    }

    #[test]
    fn multi_valued_sorts_by_primary_and_meta_by_time() {
        let mut items = vec![
            user(
                "xx",
                json!({"emails": [{"value": "z@x"}, {"value": "a@x", "primary": true}]}),
            ),
            user("x", json!({"emails": [{"value": "m@x"}]})),
        ];
        let spec = parse_sort(Some("emails"), None).unwrap().unwrap();
        sort_resources(ResourceKind::User, &mut items, &spec);
        assert_eq!(ids(&items), ["xx", "x"]);
        let spec = parse_sort(Some("meta.created"), None).unwrap().unwrap();
        sort_resources(ResourceKind::User, &mut items, &spec);
        assert_eq!(ids(&items), ["x", "xx"]);
    }

    #[test]
    fn bad_sort_parameters_are_invalid_value() {
        assert!(parse_sort(None, Some("descending")).unwrap().is_none());
        for (by, order) in [
            (Some("userName"), Some("sideways")),
            (Some("emails[type eq \"w\"]"), None),
            (Some("1x"), None),
        ] {
            let e = parse_sort(by, order).unwrap_err();
            assert_eq!(e.scim_type(), Some(crate::error::ScimType::InvalidValue));
        }
    }
}
