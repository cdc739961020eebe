//! Normalisation of one attribute value against its definition (RFC 7643 §2.3 types, §2.4
//! multi-valued attributes, §2.5 unassigned values), with the IdP leniencies the parent module
//! lists. Complex values recurse into their sub-attributes one level deep (RFC 7643 §2.3.8).

use std::borrow::Cow;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::ScimError;
use crate::scim::json::{get_ci, get_ci_entry, take_ci};
use crate::scim::schema::{AttrType, AttributeDef, Mutability};

/// RFC 7643 §2.3.6 asks for RFC 4648 §4 base64; padding is often stripped by IdP templates.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Validate and normalise one attribute value against its definition: the building block of
/// [`normalize_resource`](super::normalize_resource), for callers (PATCH) that hold a single
/// value. `path` names the attribute in error messages. `Ok(None)` means the value is unassigned
/// (RFC 7643 §2.5). Mutability is not checked here.
pub fn normalize_attribute(
    def: &AttributeDef,
    path: &str,
    value: &Value,
) -> Result<Option<Value>, ScimError> {
    if !def.multi_valued {
        // `"active": {}` or `"active": []` is a mapping mistake, not a removal: reading it as
        // unassigned (RFC 7643 §2.5) silently dropped `active`. `null` still removes.
        if value.is_array() {
            return Err(type_error(
                path,
                &format!("a single value, not a list ({})", expected(def)),
                value,
            ));
        }
        if is_misplaced_container(def, value) {
            return Err(type_error(path, &expected(def), value));
        }
    }
    if is_unassigned(value) {
        return Ok(None);
    }
    if !def.multi_valued {
        return normalize_single(def, path, value);
    }
    // Entra also sends a whole multi-valued complex value as JSON text: "[{\"value\":...}]".
    let decoded = match value {
        Value::String(s) if def.ty == AttrType::Complex => decode_json_array(s),
        _ => None,
    };
    if decoded.is_some() {
        log_json_encoded(def);
    }
    let items: Vec<&Value> = match (value, &decoded) {
        (_, Some(a)) | (Value::Array(a), None) => a.iter().collect(),
        (other, None) => {
            tracing::debug!(
                rule = "single-value-wrapped",
                attribute = def.name,
                "read a single value of a multi-valued attribute as a list of one"
            );
            vec![other]
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        if item.is_array() {
            return Err(type_error(&format!("{path}[{i}]"), &expected(def), item));
        }
        if let Some(v) = normalize_single(def, &format!("{path}[{i}]"), item)? {
            out.push(v);
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    if def.ty == AttrType::Complex {
        let primaries = out
            .iter()
            .filter(|e| e.get("primary") == Some(&Value::Bool(true)))
            .count();
        if primaries > 1 {
            return Err(ScimError::invalid_value(format!(
                "More than one value of '{path}' is marked primary. At most one may have \"primary\": true (RFC 7643 §2.4)."
            )));
        }
    }
    Ok(Some(Value::Array(out)))
}

/// An object or a list where a single value belongs: any list for a single-valued attribute, an
/// object for a simple (non-complex) one. Only `null` unassigns a singular attribute; an empty
/// complex value (`"name": {}`) has no sub-attribute set and stays unassigned.
fn is_misplaced_container(def: &AttributeDef, value: &Value) -> bool {
    value.is_array() || (value.is_object() && def.ty != AttrType::Complex)
}

/// RFC 7643 §2.5: null, an empty array and an empty object are all "unassigned".
pub fn is_unassigned(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Normalise `value` for `def` and store it under the canonical name, refusing two different
/// values for one attribute (names are case-insensitive, RFC 7643 §2.1, so `userName` and
/// `USERNAME` are the same attribute).
pub(super) fn put(
    out: &mut Map<String, Value>,
    def: &AttributeDef,
    path: &str,
    value: &Value,
) -> Result<(), ScimError> {
    if !def.is_client_settable() {
        // Row 5 (readOnly echoed back) and row 14 (`password` is writeOnly and never kept).
        let rule = if def.mutability == Mutability::WriteOnly {
            "write-only-dropped"
        } else {
            "read-only-ignored"
        };
        tracing::debug!(rule, attribute = %path, "dropping an attribute the client may not set");
        return Ok(());
    }
    if def.required {
        let ok = match value {
            Value::String(s) => !s.trim().is_empty(),
            Value::Null => false,
            _ => def.ty != AttrType::String,
        };
        if !ok {
            return Err(required_error(def));
        }
    }
    let Some(v) = normalize_attribute(def, path, value)? else {
        if !value.is_null() {
            tracing::debug!(rule = "unassigned-dropped", attribute = %path, "dropping an empty value (RFC 7643 §2.5 unassigned)");
        }
        return Ok(());
    };
    match out.get(def.name) {
        Some(existing) if *existing != v => Err(ScimError::invalid_value(format!(
            "The attribute '{path}' was sent more than once with different values (attribute names are case-insensitive). Send it once."
        ))),
        Some(_) => Ok(()),
        None => {
            out.insert(def.name.to_owned(), v);
            Ok(())
        }
    }
}

/// The 400 for a missing or blank required attribute (RFC 7643 §2.2 `required`); raised here for
/// a blank value and by the parent module for an absent one.
pub(super) fn required_error(def: &AttributeDef) -> ScimError {
    ScimError::invalid_value(format!(
        "{} is required and must be a non-empty string. Check that your identity provider maps a value to {}.",
        def.name, def.name
    ))
}

fn normalize_single(
    def: &AttributeDef,
    path: &str,
    value: &Value,
) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    let mismatch = || type_error(path, &expected(def), value);
    match def.ty {
        AttrType::String | AttrType::Reference => match value {
            Value::String(_) => Ok(Some(value.clone())),
            _ => Err(mismatch()),
        },
        AttrType::Boolean => match value {
            Value::Bool(_) => Ok(Some(value.clone())),
            Value::String(s) => {
                let b = if s.eq_ignore_ascii_case("true") {
                    true
                } else if s.eq_ignore_ascii_case("false") {
                    false
                } else {
                    return Err(mismatch());
                };
                tracing::debug!(rule = "string-boolean", attribute = %path, "read a string as a boolean");
                Ok(Some(Value::Bool(b)))
            }
            _ => Err(mismatch()),
        },
        AttrType::Integer => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(value.clone())),
            _ => Err(mismatch()),
        },
        AttrType::Decimal => match value {
            Value::Number(_) => Ok(Some(value.clone())),
            _ => Err(mismatch()),
        },
        AttrType::DateTime => match value {
            Value::String(s) if OffsetDateTime::parse(s, &Rfc3339).is_ok() => Ok(Some(value.clone())),
            Value::String(_) => Err(ScimError::invalid_value(format!(
                "'{path}' must be a date and time in xsd:dateTime / RFC 3339 form with a time zone, e.g. 2024-05-01T12:00:00Z (RFC 7643 §2.3.5)."
            ))),
            _ => Err(mismatch()),
        },
        AttrType::Binary => match value {
            Value::String(s) if BASE64.decode(s).is_ok() => Ok(Some(value.clone())),
            Value::String(_) => Err(ScimError::invalid_value(format!(
                "'{path}' must be base64-encoded binary data (RFC 7643 §2.3.6), but the text sent is not valid base64."
            ))),
            _ => Err(mismatch()),
        },
        AttrType::Complex => {
            let obj: Cow<'_, Map<String, Value>> = match value {
                Value::Object(m) => Cow::Borrowed(m),
                Value::String(s) => match decode_json_object(s) {
                    Some(m) => {
                        log_json_encoded(def);
                        Cow::Owned(m)
                    }
                    None if s.trim().is_empty() => return Ok(None),
                    None if def.sub_attribute("value").is_some() => {
                        let rule = if def.name == "manager" {
                            "bare-string-manager"
                        } else {
                            "bare-string-value"
                        };
                        tracing::debug!(rule, attribute = %path, "read a bare string as the value of a complex attribute");
                        let mut m = Map::new();
                        m.insert("value".to_owned(), value.clone());
                        Cow::Owned(m)
                    }
                    None => return Err(mismatch()),
                },
                _ => return Err(mismatch()),
            };
            let obj = match decode_value_sub_attribute(def, &obj) {
                Some(m) => {
                    log_json_encoded(def);
                    Cow::Owned(m)
                }
                None => obj,
            };
            let m = normalize_complex(def, path, &obj)?;
            // Not for Group `members`: there an empty `value` is a membership change that names
            // no one, and dropping it silently would hide the IdP's mistake (400 instead, in
            // `scim::members::parse_members`).
            if def.sub_attribute("value").is_some()
                && def.name != "members"
                && m.get("value")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.trim().is_empty())
            {
                // A value whose `value` is empty says nothing: an IdP template placeholder that
                // resolved to nothing (OneLogin's `"manager": {"value": ""}`). Unassigned, like
                // Entra's bare `""`.
                tracing::debug!(rule = "empty-template-value", attribute = %path, "dropping a complex value with an empty value");
                return Ok(None);
            }
            Ok((!m.is_empty()).then_some(Value::Object(m)))
        }
    }
}

/// Entra sends some complex values (`roles`) as JSON text: `"{\"value\":\"admin\"}"`.
fn decode_json_object(s: &str) -> Option<Map<String, Value>> {
    if !s.trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str::<Map<String, Value>>(s).ok()
}

/// Entra's AppRoleAssignmentsComplex PATCH puts a whole role, as JSON text, in the element's
/// `value`: `{"value": "{\"id\":\"..\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}`
/// (row 12). Returns the element to normalise instead: the decoded object (its `displayName` read
/// as `display`) plus the outer element's other sub-attributes.
///
/// Only when the decoded `value` is itself plain text, so that normalising twice gives the same
/// result (a decoded value is never decoded again).
fn decode_value_sub_attribute(
    def: &AttributeDef,
    obj: &Map<String, Value>,
) -> Option<Map<String, Value>> {
    def.sub_attribute("value")?;
    let (outer_key, text) =
        get_ci_entry(obj, "value").and_then(|(k, v)| v.as_str().map(|s| (k, s)))?;
    let mut inner = decode_json_object(text)?;
    let plain = get_ci(&inner, "value")
        .and_then(Value::as_str)
        .is_some_and(|v| !v.trim_start().starts_with('{'));
    if !plain {
        return None;
    }
    if def.sub_attribute("display").is_some() && get_ci(&inner, "display").is_none() {
        if let Some(d) = take_ci(&mut inner, "displayName") {
            inner.insert("display".to_owned(), d);
        }
    }
    for (k, v) in obj {
        if k != outer_key && get_ci(&inner, k).is_none() {
            inner.insert(k.clone(), v.clone());
        }
    }
    Some(inner)
}

fn decode_json_array(s: &str) -> Option<Vec<Value>> {
    if !s.trim_start().starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<Value>>(s).ok()
}

fn normalize_complex(
    def: &AttributeDef,
    path: &str,
    obj: &Map<String, Value>,
) -> Result<Map<String, Value>, ScimError> {
    let mut out = Map::new();
    for (key, value) in obj {
        let Some(sub) = def.sub_attribute(key) else {
            let shown: String = key.chars().take(120).collect();
            tracing::debug!(attribute = %path, sub_attribute = %shown, "ignoring unknown sub-attribute");
            continue;
        };
        // RFC 7643 §2.3.8: sub-attributes are simple, so an object or array here is rejected by
        // the type check in `normalize_attribute`; recursion stops at this level.
        put(&mut out, sub, &format!("{path}.{}", sub.name), value)?;
    }
    Ok(out)
}

/// Entra's JSON text for complex values (row 12): named for roles, where Entra sends it.
fn log_json_encoded(def: &AttributeDef) {
    if def.name == "roles" {
        tracing::debug!(
            rule = "json-encoded-role",
            attribute = def.name,
            "decoded a JSON-encoded value"
        );
    } else {
        tracing::debug!(
            rule = "json-encoded-complex",
            attribute = def.name,
            "decoded a JSON-encoded value"
        );
    }
}

fn expected(def: &AttributeDef) -> String {
    match def.ty {
        AttrType::String => "a string".into(),
        AttrType::Reference => "a URI string".into(),
        AttrType::Boolean => "a boolean (true or false)".into(),
        AttrType::Integer => "a whole number".into(),
        AttrType::Decimal => "a number".into(),
        AttrType::DateTime => "a date and time string such as 2024-05-01T12:00:00Z".into(),
        AttrType::Binary => "a base64 string".into(),
        AttrType::Complex => {
            let subs: Vec<&str> = def
                .sub_attributes
                .iter()
                .filter(|s| s.is_client_settable())
                .map(|s| s.name)
                .collect();
            format!("an object with the sub-attributes {}", subs.join(", "))
        }
    }
}

/// What was sent, in words, for error details that say what was expected instead.
pub(super) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn type_error(path: &str, expected: &str, got: &Value) -> ScimError {
    ScimError::invalid_value(format!(
        "'{path}' must be {expected}, but {} was sent. Check how this attribute is mapped in your identity provider.",
        json_kind(got)
    ))
}
