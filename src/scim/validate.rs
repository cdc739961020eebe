//! Schema-driven normalisation of resource bodies (POST and PUT, RFC 7644 §3.3, §3.5.1), also used
//! to check the result of a PATCH before it is stored.
//!
//! [`normalize_resource`] turns whatever an IdP sent into the one canonical map we store: names
//! spelled as in [`crate::scim::schema`], extension attributes under their canonical URN key,
//! values of the declared type, and nothing the client may not set. The rules, and why:
//!
//! - **Unknown attributes are dropped, not rejected.** RFC 7644 §3.3: "the server is free to
//!   alter and/or ignore POSTed content", and clients learn what was kept from the returned
//!   representation. IdPs send attributes from their own mappings (Okta custom profile
//!   attributes, Entra's default mapping set); a 400 would block provisioning of every user for
//!   one unmapped field. The name (never the value) is logged at `debug`.
//! - **A schema URN declared in `schemas` that we do not support, used with data, is a 400**
//!   (`invalidValue`). RFC 7643 §3 makes `schemas` the list of schemas the resource claims to
//!   follow; silently dropping a whole claimed extension would lose data the admin believes is
//!   stored. Unknown URNs in `schemas` with no data are harmless and ignored.
//! - **readOnly attributes are ignored silently** (RFC 7644 §3.5.1: "readOnly: Any values
//!   provided SHALL be ignored"): Okta and Entra echo `id`, `meta`, `groups` back in PUT
//!   (IDP-BEHAVIOUR row 5). `password` is writeOnly (RFC 7643 §4.1.1) and is never kept here:
//!   we do not authenticate users. Checking `immutable` values against the stored resource
//!   (RFC 7644 §3.5.1) is the caller's job; this function sees only the request.
//! - **`null`, `[]` and `{}` mean unassigned** (RFC 7643 §2.5) and are dropped. An empty string
//!   sent for a *complex* attribute (Entra clearing `manager`) is unassigned too; empty strings of
//!   string attributes are kept as sent.
//! - **Types follow RFC 7643 §2.3**, with the string booleans `"True"`/`"False"` accepted (Entra,
//!   OneLogin; row 2). A multi-valued attribute given a single value is wrapped (§2.4 defines the
//!   array form; IdP templates often send the single form). A complex attribute given a string
//!   is read as its `value` (Entra's bare `manager`, row 10; `"emails": ["a@b.c"]`), or decoded
//!   when the string is JSON text for an object or array (Entra's `roles`, row 12).
//! - **At most one `primary: true`** per multi-valued attribute (RFC 7643 §2.4).
//! - **Nesting is bounded by the schema**: sub-attributes are never complex (RFC 7643 §2.3.8), so
//!   an object or array where a sub-attribute's simple value belongs is a type error.

use std::borrow::Cow;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::ScimError;
use crate::scim::json::{get_ci, get_ci_entry, take_ci};
use crate::scim::schema::{
    common_attribute, AttrType, AttributeDef, Mutability, ResourceKind, SchemaDef,
};
use crate::scim::urn;

/// RFC 7643 §2.3.6 asks for RFC 4648 §4 base64; padding is often stripped by IdP templates.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Normalise a User or Group body into the canonical map to store (see the module docs).
///
/// The result never contains `schemas`, `id`, `meta`, `groups`, `password` or any other readOnly
/// or writeOnly attribute; [`schemas_for`] renders `schemas` back from it. Normalising a
/// normalised map returns it unchanged.
pub fn normalize_resource(
    kind: ResourceKind,
    body: &Value,
) -> Result<Map<String, Value>, ScimError> {
    let obj = body.as_object().ok_or_else(|| {
        ScimError::invalid_syntax(format!(
            "The request body must be a JSON object representing a {}.",
            kind.name()
        ))
    })?;

    let unsupported = declared_unsupported_schemas(kind, obj)?;
    reject_data_under(obj, &unsupported)?;

    let core = kind.core_schema();
    let mut core_out = Map::new();
    let mut ext_out: Vec<(&'static SchemaDef, Map<String, Value>)> =
        kind.extensions().iter().map(|e| (*e, Map::new())).collect();

    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(def) = core_attribute(core, key) {
            put(&mut core_out, def, def.name, value)?;
            continue;
        }
        if let Some(schema_urn) = urn::canonical_schema_urn(key) {
            // An extension (or, leniently, the core schema) given as a URN-keyed object.
            let Some(target) = target_schema(kind, schema_urn) else {
                ignore_unknown(kind, key);
                continue;
            };
            if is_unassigned(value) {
                continue;
            }
            let Value::Object(inner) = value else {
                return Err(ScimError::invalid_value(format!(
                    "'{schema_urn}' must be a JSON object holding the attributes of that schema, but {} was sent.",
                    json_kind(value)
                )));
            };
            for (k, v) in inner {
                let out = output_for(&mut core_out, &mut ext_out, core, target);
                match schema_attribute(core, target, k) {
                    Some(def) => put(out, def, &qualified(target, core, def.name), v)?,
                    None => ignore_unknown(kind, k),
                }
            }
            continue;
        }
        if urn::is_ignorable_schema_urn(key) {
            continue;
        }
        if let Some((schema_urn, attr)) = urn::split_qualified_attribute(key) {
            // Entra's flat form: "urn:...:enterprise:2.0:User:department": "X" (RFC 7644 §3.10).
            if let Some(target) = target_schema(kind, schema_urn) {
                if let Some(def) = schema_attribute(core, target, attr) {
                    let out = output_for(&mut core_out, &mut ext_out, core, target);
                    put(out, def, &qualified(target, core, def.name), value)?;
                    continue;
                }
            }
        }
        ignore_unknown(kind, key);
    }

    for def in core.attributes.iter().filter(|d| d.required) {
        if !core_out.contains_key(def.name) {
            return Err(required_error(def));
        }
    }

    for (ext, map) in ext_out {
        if !map.is_empty() {
            core_out.insert(ext.id.to_owned(), Value::Object(map));
        }
    }
    Ok(core_out)
}

/// The `schemas` value of a stored (normalised) resource: the core schema, then each extension
/// that holds data (RFC 7643 §3: extension URNs are listed when the resource uses them).
pub fn schemas_for(kind: ResourceKind, resource: &Map<String, Value>) -> Vec<&'static str> {
    let mut out = vec![kind.core_schema().id];
    out.extend(
        kind.extensions()
            .iter()
            .filter(|e| resource.contains_key(e.id))
            .map(|e| e.id),
    );
    out
}

/// Validate and normalise one attribute value against its definition: the building block of
/// [`normalize_resource`], for callers (PATCH) that hold a single value. `path` names the
/// attribute in error messages. `Ok(None)` means the value is unassigned (RFC 7643 §2.5).
/// Mutability is not checked here.
pub fn normalize_attribute(
    def: &AttributeDef,
    path: &str,
    value: &Value,
) -> Result<Option<Value>, ScimError> {
    if is_unassigned(value) {
        return Ok(None);
    }
    if !def.multi_valued {
        if value.is_array() {
            return Err(type_error(
                path,
                &format!("a single value, not a list ({})", expected(def)),
                value,
            ));
        }
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

/// RFC 7643 §2.5: null, an empty array and an empty object are all "unassigned".
pub fn is_unassigned(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// URNs listed in `schemas` that neither belong to this resource type nor are ignorable.
fn declared_unsupported_schemas(
    kind: ResourceKind,
    obj: &Map<String, Value>,
) -> Result<Vec<&str>, ScimError> {
    let mut out = Vec::new();
    for (key, value) in obj
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("schemas"))
    {
        let items = match value {
            Value::Null => continue,
            Value::Array(items) => items,
            other => {
                return Err(ScimError::invalid_syntax(format!(
                    "'{key}' must be an array of schema URNs, but {} was sent.",
                    json_kind(other)
                )))
            }
        };
        for item in items {
            let Value::String(s) = item else {
                return Err(ScimError::invalid_syntax(format!(
                    "Every entry of '{key}' must be a schema URN string, but {} was sent.",
                    json_kind(item)
                )));
            };
            if urn::is_ignorable_schema_urn(s) {
                continue;
            }
            let supported =
                urn::canonical_schema_urn(s).is_some_and(|u| target_schema(kind, u).is_some());
            if !supported {
                out.push(s.as_str());
            }
        }
    }
    Ok(out)
}

/// RFC 7643 §3: never store data of a schema we cannot validate.
fn reject_data_under(obj: &Map<String, Value>, unsupported: &[&str]) -> Result<(), ScimError> {
    for (key, value) in obj {
        if is_unassigned(value) {
            continue;
        }
        if let Some(u) = unsupported.iter().find(|u| key_belongs_to(key, u)) {
            return Err(ScimError::invalid_value(format!(
                "The request contains attributes of the schema '{u}', which this service does not support. \
                 Remove those attributes (and the schema) from the provisioning mappings in your identity provider."
            )));
        }
    }
    Ok(())
}

/// Whether body key `key` is the URN `u` itself or an attribute qualified by it, allowing for
/// aliases of known URNs.
fn key_belongs_to(key: &str, u: &str) -> bool {
    let n = u.len();
    if key.eq_ignore_ascii_case(u)
        || (key.get(..n).is_some_and(|p| p.eq_ignore_ascii_case(u))
            && key.as_bytes().get(n) == Some(&b':'))
    {
        return true;
    }
    match urn::canonical_schema_urn(u) {
        Some(cu) => {
            urn::canonical_schema_urn(key) == Some(cu)
                || urn::split_qualified_attribute(key).is_some_and(|(k, _)| k == cu)
        }
        None => false,
    }
}

/// The schema of `kind` that canonical URN `u` names (its core schema or one of its extensions).
fn target_schema(kind: ResourceKind, u: &str) -> Option<&'static SchemaDef> {
    let core = kind.core_schema();
    if core.id == u {
        return Some(core);
    }
    kind.extensions().iter().copied().find(|e| e.id == u)
}

/// A top-level attribute of the core schema, or a common attribute (RFC 7643 §3.1).
fn core_attribute(core: &'static SchemaDef, name: &str) -> Option<&'static AttributeDef> {
    core.attribute(name).or_else(|| common_attribute(name))
}

fn schema_attribute(
    core: &'static SchemaDef,
    target: &'static SchemaDef,
    name: &str,
) -> Option<&'static AttributeDef> {
    if std::ptr::eq(core, target) {
        core_attribute(core, name)
    } else {
        target.attribute(name)
    }
}

fn output_for<'m>(
    core_out: &'m mut Map<String, Value>,
    ext_out: &'m mut [(&'static SchemaDef, Map<String, Value>)],
    core: &'static SchemaDef,
    target: &'static SchemaDef,
) -> &'m mut Map<String, Value> {
    if std::ptr::eq(core, target) {
        return core_out;
    }
    match ext_out.iter_mut().find(|(s, _)| std::ptr::eq(*s, target)) {
        Some((_, m)) => m,
        // Unreachable: ext_out holds every extension of the kind and target came from them.
        None => core_out,
    }
}

/// The name used in error messages: bare for core attributes, URN-qualified (RFC 7644 §3.10)
/// for extension attributes.
fn qualified(target: &SchemaDef, core: &SchemaDef, name: &str) -> String {
    if std::ptr::eq(target, core) {
        name.to_owned()
    } else {
        format!("{}:{name}", target.id)
    }
}

fn ignore_unknown(kind: ResourceKind, name: &str) {
    let shown: String = name.chars().take(120).collect();
    tracing::debug!(rule = "unknown-attribute-ignored", resource = kind.name(), attribute = %shown, "ignoring unknown attribute");
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

/// Normalise `value` for `def` and store it under the canonical name, refusing two different
/// values for one attribute (names are case-insensitive, RFC 7643 §2.1, so `userName` and
/// `USERNAME` are the same attribute).
fn put(
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

fn required_error(def: &AttributeDef) -> ScimError {
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

fn json_kind(v: &Value) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::scim::urn::{ENTERPRISE_USER, GROUP, USER};
    use serde_json::json;

    fn user(body: Value) -> Result<Value, ScimError> {
        normalize_resource(ResourceKind::User, &body).map(Value::Object)
    }

    fn group(body: Value) -> Result<Value, ScimError> {
        normalize_resource(ResourceKind::Group, &body).map(Value::Object)
    }

    /// Each case: input body, expected normalised map.
    fn check_ok(kind: ResourceKind, cases: &[(&str, Value, Value)]) {
        for (name, input, want) in cases {
            let got = normalize_resource(kind, input).map(Value::Object);
            assert_eq!(got.as_ref(), Ok(want), "case {name}");
            // Idempotent.
            let again = normalize_resource(kind, want).map(Value::Object);
            assert_eq!(again.as_ref(), Ok(want), "case {name} (second pass)");
        }
    }

    /// Each case: input body, expected scimType, a fragment the detail must contain.
    fn check_err(kind: ResourceKind, cases: &[(&str, Value, ScimType, &str)]) {
        for (name, input, ty, fragment) in cases {
            match normalize_resource(kind, input) {
                Ok(m) => panic!("case {name}: expected an error, got {m:?}"),
                Err(e) => {
                    assert_eq!(e.status, 400, "case {name}");
                    assert_eq!(e.scim_type, Some(*ty), "case {name}: {}", e.detail);
                    assert!(
                        e.detail.contains(fragment),
                        "case {name}: detail {:?} lacks {fragment:?}",
                        e.detail
                    );
                }
            }
        }
    }

    #[test]
    fn body_and_schemas_syntax() {
        check_err(
            ResourceKind::User,
            &[
                (
                    "array body",
                    json!([]),
                    ScimType::InvalidSyntax,
                    "JSON object",
                ),
                (
                    "string body",
                    json!("x"),
                    ScimType::InvalidSyntax,
                    "JSON object",
                ),
                (
                    "null body",
                    Value::Null,
                    ScimType::InvalidSyntax,
                    "JSON object",
                ),
                (
                    "schemas string",
                    json!({"schemas": USER, "userName": "a"}),
                    ScimType::InvalidSyntax,
                    "array",
                ),
                (
                    "schemas number item",
                    json!({"schemas": [USER, 7], "userName": "a"}),
                    ScimType::InvalidSyntax,
                    "URN string",
                ),
                (
                    "Schemas any case",
                    json!({"SCHEMAS": {}, "userName": "a"}),
                    ScimType::InvalidSyntax,
                    "SCHEMAS",
                ),
            ],
        );
    }

    #[test]
    fn schema_urns() {
        check_ok(
            ResourceKind::User,
            &[
                (
                    "no schemas",
                    json!({"userName": "a"}),
                    json!({"userName": "a"}),
                ),
                (
                    "null schemas",
                    json!({"schemas": null, "userName": "a"}),
                    json!({"userName": "a"}),
                ),
                (
                    "unknown URN without data ignored",
                    json!({"schemas": [USER, "urn:acme:custom:2.0:User"], "userName": "a"}),
                    json!({"userName": "a"}),
                ),
                (
                    "unknown URN with only null data ignored",
                    json!({"schemas": ["urn:acme:custom:2.0:User"], "userName": "a", "urn:acme:custom:2.0:User": null}),
                    json!({"userName": "a"}),
                ),
                (
                    "ADSCIM dropped with its data",
                    json!({
                        "schemas": [USER, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User"],
                        "userName": "a",
                        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User": {"x": 1}
                    }),
                    json!({"userName": "a"}),
                ),
                (
                    "OneLogin legacy URNs land under the canonical key",
                    json!({
                        "schemas": ["urn:scim:schemas:core:2.0", "urn:scim:schemas:extension:enterprise:2.0"],
                        "userName": "a",
                        "urn:scim:schemas:extension:enterprise:2.0": {"department": "R&D"}
                    }),
                    json!({"userName": "a", ENTERPRISE_USER: {"department": "R&D"}}),
                ),
                (
                    "typo URN",
                    json!({
                        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
                        "userName": "a",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0User": {"costCenter": "42"}
                    }),
                    json!({"userName": "a", ENTERPRISE_USER: {"costCenter": "42"}}),
                ),
                (
                    "lower-case extension key",
                    json!({"userName": "a", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Division": "d"}}),
                    json!({"userName": "a", ENTERPRISE_USER: {"division": "d"}}),
                ),
                (
                    "core attributes under the core URN",
                    json!({USER: {"userName": "a", "title": "t"}}),
                    json!({"userName": "a", "title": "t"}),
                ),
                (
                    "URN-qualified core attribute",
                    json!({"urn:ietf:params:scim:schemas:core:2.0:User:userName": "a"}),
                    json!({"userName": "a"}),
                ),
                (
                    "Group URN in a User body without data ignored",
                    json!({"schemas": [GROUP], "userName": "a"}),
                    json!({"userName": "a"}),
                ),
            ],
        );
        check_err(
            ResourceKind::User,
            &[
                (
                    "unknown URN with object data",
                    json!({"schemas": [USER, "urn:acme:custom:2.0:User"], "userName": "a", "urn:acme:custom:2.0:User": {"badge": "7"}}),
                    ScimType::InvalidValue,
                    "urn:acme:custom:2.0:User",
                ),
                (
                    "unknown URN with flat data, other case",
                    json!({"schemas": ["urn:acme:custom:2.0:User"], "userName": "a", "URN:ACME:CUSTOM:2.0:USER:badge": "7"}),
                    ScimType::InvalidValue,
                    "urn:acme:custom:2.0:User",
                ),
                (
                    "Group schema declared in a User body, with data",
                    json!({"schemas": [USER, GROUP], "userName": "a", "urn:scim:schemas:core:2.0:Group": {"displayName": "x"}}),
                    ScimType::InvalidValue,
                    GROUP,
                ),
                (
                    "extension value not an object",
                    json!({"userName": "a", ENTERPRISE_USER: "x"}),
                    ScimType::InvalidValue,
                    "JSON object",
                ),
            ],
        );
        // A Group does not have the enterprise extension.
        check_err(
            ResourceKind::Group,
            &[(
                "enterprise on group",
                json!({"schemas": [GROUP, ENTERPRISE_USER], "displayName": "g", ENTERPRISE_USER: {"department": "x"}}),
                ScimType::InvalidValue,
                ENTERPRISE_USER,
            )],
        );
    }

    #[test]
    fn unknown_and_read_only_attributes_are_dropped() {
        check_ok(
            ResourceKind::User,
            &[
                (
                    "Okta echo of read-only and write-only attributes",
                    json!({
                        "schemas": [USER],
                        "id": "abc", "meta": {"resourceType": "User"}, "groups": [{"value": "g1"}],
                        "password": "hunter2", "userName": "a",
                        "customAttr": {"deep": [1, {"x": 2}]},
                    }),
                    json!({"userName": "a"}),
                ),
                (
                    "read-only with wrong type is still ignored",
                    json!({"userName": "a", "id": 7, "meta": "x", "groups": "x"}),
                    json!({"userName": "a"}),
                ),
                (
                    "unknown sub-attributes and read-only sub-attributes",
                    json!({
                        "userName": "a",
                        "name": {"givenName": "B", "nickname": "x"},
                        ENTERPRISE_USER: {"manager": {"value": "271", "displayName": "Boss"}, "favouriteColour": "red"},
                    }),
                    json!({"userName": "a", "name": {"givenName": "B"}, ENTERPRISE_USER: {"manager": {"value": "271"}}}),
                ),
                (
                    "externalId kept, case of names canonicalised",
                    json!({"USERNAME": "a", "externalid": "E1", "DisplayName": "Bob", "Name": {"FAMILYNAME": "J"}}),
                    json!({"userName": "a", "externalId": "E1", "displayName": "Bob", "name": {"familyName": "J"}}),
                ),
                (
                    "URN-qualified unknown attribute of a known schema",
                    json!({"userName": "a", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:badge": "7"}),
                    json!({"userName": "a"}),
                ),
            ],
        );
    }

    #[test]
    fn unassigned_values_are_dropped() {
        check_ok(
            ResourceKind::User,
            &[
                (
                    "null, [] and {}",
                    json!({"userName": "a", "displayName": null, "roles": [], "name": {}, "emails": [null],
                           "addresses": [{"type": null}], ENTERPRISE_USER: {}}),
                    json!({"userName": "a"}),
                ),
                (
                    "empty strings of strings are kept",
                    json!({"userName": "a", "title": "", "name": {"middleName": ""}}),
                    json!({"userName": "a", "title": "", "name": {"middleName": ""}}),
                ),
                (
                    "blank manager string clears manager",
                    json!({"userName": "a", ENTERPRISE_USER: {"manager": "", "department": "d"}}),
                    json!({"userName": "a", ENTERPRISE_USER: {"department": "d"}}),
                ),
                (
                    "strings kept untrimmed",
                    json!({"userName": " a ", "displayName": "  Bob"}),
                    json!({"userName": " a ", "displayName": "  Bob"}),
                ),
            ],
        );
    }

    #[test]
    fn types() {
        let cert = "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx";
        check_ok(
            ResourceKind::User,
            &[
                (
                    "string booleans in any case",
                    json!({"userName": "a", "active": "False", "emails": [{"value": "x@y", "primary": "TRUE"}]}),
                    json!({"userName": "a", "active": false, "emails": [{"value": "x@y", "primary": true}]}),
                ),
                (
                    "real booleans",
                    json!({"userName": "a", "active": true}),
                    json!({"userName": "a", "active": true}),
                ),
                (
                    "binary",
                    json!({"userName": "a", "x509Certificates": [{"value": cert}, {"value": "YWJj"}, {"value": "YWI"}]}),
                    json!({"userName": "a", "x509Certificates": [{"value": cert}, {"value": "YWJj"}, {"value": "YWI"}]}),
                ),
                (
                    "references are strings",
                    json!({"userName": "a", "profileUrl": "https://x", "photos": "https://p"}),
                    json!({"userName": "a", "profileUrl": "https://x", "photos": [{"value": "https://p"}]}),
                ),
            ],
        );
        check_err(
            ResourceKind::User,
            &[
                ("boolean as number", json!({"userName": "a", "active": 1}), ScimType::InvalidValue, "'active' must be a boolean"),
                ("boolean as yes", json!({"userName": "a", "active": "yes"}), ScimType::InvalidValue, "'active' must be a boolean"),
                (
                    "primary as number",
                    json!({"userName": "a", "emails": [{"value": "x"}, {"value": "y", "primary": 1}]}),
                    ScimType::InvalidValue,
                    "'emails[1].primary' must be a boolean",
                ),
                ("string as number", json!({"userName": "a", "title": 3}), ScimType::InvalidValue, "'title' must be a string, but a number"),
                (
                    "sub-attribute as object (too deep)",
                    json!({"userName": "a", "name": {"givenName": {"first": "B"}}}),
                    ScimType::InvalidValue,
                    "'name.givenName' must be a string, but an object",
                ),
                (
                    "sub-attribute as list",
                    json!({"userName": "a", "emails": [{"value": ["a", "b"]}]}),
                    ScimType::InvalidValue,
                    "'emails[0].value' must be a single value",
                ),
                (
                    "complex without value as string",
                    json!({"userName": "a", "name": "Bob"}),
                    ScimType::InvalidValue,
                    "'name' must be an object",
                ),
                (
                    "single-valued complex as list",
                    json!({"userName": "a", "name": [{"givenName": "B"}]}),
                    ScimType::InvalidValue,
                    "'name' must be a single value",
                ),
                (
                    "nested list element",
                    json!({"userName": "a", "emails": [["x"]]}),
                    ScimType::InvalidValue,
                    "'emails[0]' must be an object",
                ),
                (
                    "bad base64",
                    json!({"userName": "a", "x509Certificates": [{"value": "not base64!"}]}),
                    ScimType::InvalidValue,
                    "'x509Certificates[0].value' must be base64",
                ),
                (
                    "extension attribute wrong type",
                    json!({"userName": "a", ENTERPRISE_USER: {"department": ["x"]}}),
                    ScimType::InvalidValue,
                    "'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department' must be a single value",
                ),
                (
                    "manager as number",
                    json!({"userName": "a", ENTERPRISE_USER: {"manager": 271}}),
                    ScimType::InvalidValue,
                    "manager' must be an object",
                ),
            ],
        );
    }

    #[test]
    fn scalar_types_not_used_by_core_schemas() {
        let with_type = |ty| AttributeDef {
            ty,
            ..*common_attribute("externalId").expect("externalId")
        };
        let (int, dec, dt) = (
            with_type(AttrType::Integer),
            with_type(AttrType::Decimal),
            with_type(AttrType::DateTime),
        );
        let cases: &[(&AttributeDef, Value, Option<Value>)] = &[
            (&int, json!(3), Some(json!(3))),
            (&int, json!(-3), Some(json!(-3))),
            (&int, json!(3.5), None),
            (&int, json!("3"), None),
            (&dec, json!(3.5), Some(json!(3.5))),
            (&dec, json!(3), Some(json!(3))),
            (&dec, json!("3.5"), None),
            (
                &dt,
                json!("2008-01-23T04:56:22Z"),
                Some(json!("2008-01-23T04:56:22Z")),
            ),
            (
                &dt,
                json!("2008-01-23T04:56:22.123+02:00"),
                Some(json!("2008-01-23T04:56:22.123+02:00")),
            ),
            (&dt, json!("2008-01-23"), None),
            (&dt, json!("yesterday"), None),
            (&dt, json!(1_700_000_000), None),
        ];
        for (def, input, want) in cases {
            let got = normalize_attribute(def, "x", input);
            match want {
                Some(w) => assert_eq!(got, Ok(Some(w.clone())), "{:?} {input}", def.ty),
                None => {
                    let e = got.expect_err("must fail");
                    assert_eq!(
                        e.scim_type,
                        Some(ScimType::InvalidValue),
                        "{:?} {input}",
                        def.ty
                    );
                }
            }
        }
    }

    #[test]
    fn multi_valued_shapes() {
        check_ok(
            ResourceKind::User,
            &[
                (
                    "single object wrapped",
                    json!({"userName": "a", "emails": {"value": "a@b.c", "type": "work"}}),
                    json!({"userName": "a", "emails": [{"value": "a@b.c", "type": "work"}]}),
                ),
                (
                    "bare strings become value",
                    json!({"userName": "a", "emails": ["a@b.c", "d@e.f"]}),
                    json!({"userName": "a", "emails": [{"value": "a@b.c"}, {"value": "d@e.f"}]}),
                ),
                (
                    "single bare string",
                    json!({"userName": "a", "phoneNumbers": "+1 555"}),
                    json!({"userName": "a", "phoneNumbers": [{"value": "+1 555"}]}),
                ),
                (
                    "Entra JSON-encoded roles",
                    json!({"userName": "a", "roles": [
                        "{\"value\":\"admin\",\"primary\":true,\"display\":\"Admin\"}",
                        "{\"value\":\"reader\",\"primary\":\"False\"}"
                    ]}),
                    json!({"userName": "a", "roles": [
                        {"value": "admin", "primary": true, "display": "Admin"},
                        {"value": "reader", "primary": false}
                    ]}),
                ),
                (
                    "Entra JSON-encoded roles array",
                    json!({"userName": "a", "roles": "[{\"value\":\"admin\",\"primary\":\"True\"},\"reader\"]"}),
                    json!({"userName": "a", "roles": [{"value": "admin", "primary": true}, {"value": "reader"}]}),
                ),
                (
                    "string that looks like JSON but is not",
                    json!({"userName": "a", "roles": ["{admin"]}),
                    json!({"userName": "a", "roles": [{"value": "{admin"}]}),
                ),
                (
                    "one primary is fine",
                    json!({"userName": "a", "emails": [{"value": "x", "primary": true}, {"value": "y", "primary": false}]}),
                    json!({"userName": "a", "emails": [{"value": "x", "primary": true}, {"value": "y", "primary": false}]}),
                ),
                (
                    "unknown-only element dropped",
                    json!({"userName": "a", "emails": [{"foo": "x"}, {"value": "y"}]}),
                    json!({"userName": "a", "emails": [{"value": "y"}]}),
                ),
            ],
        );
        check_err(
            ResourceKind::User,
            &[
                (
                    "two primaries",
                    json!({"userName": "a", "emails": [{"value": "x", "primary": true}, {"value": "y", "primary": "True"}]}),
                    ScimType::InvalidValue,
                    "More than one value of 'emails' is marked primary",
                ),
                (
                    "two primary roles via JSON strings",
                    json!({"userName": "a", "roles": ["{\"value\":\"a\",\"primary\":true}", "{\"value\":\"b\",\"primary\":true}"]}),
                    ScimType::InvalidValue,
                    "'roles'",
                ),
            ],
        );
        check_ok(
            ResourceKind::Group,
            &[(
                "members as bare ids and objects, display kept, read-only ignored",
                json!({"displayName": "g", "members": ["u1", {"value": "u2", "type": "User", "display": "Bo", "$ref": "https://x/Users/u2"}]}),
                json!({"displayName": "g", "members": [{"value": "u1"}, {"value": "u2", "type": "User", "display": "Bo", "$ref": "https://x/Users/u2"}]}),
            )],
        );
    }

    /// Entra's AppRoleAssignmentsComplex PATCH (row 12) and template placeholders that resolved to
    /// an empty `value` (OneLogin).
    #[test]
    fn role_json_in_value_and_empty_values() {
        check_ok(
            ResourceKind::User,
            &[
                (
                    "role object as JSON text in value",
                    json!({"userName": "a", "roles": [
                        {"value": "{\"id\":\"827f\",\"value\":\"Admin\",\"displayName\":\"Admin role\"}"},
                        {"value": "{\"value\":\"Reader\",\"display\":\"R\",\"displayName\":\"ignored\"}", "primary": "True"}
                    ]}),
                    json!({"userName": "a", "roles": [
                        {"value": "Admin", "display": "Admin role"},
                        {"value": "Reader", "display": "R", "primary": true}
                    ]}),
                ),
                (
                    "JSON whose value is JSON again is kept as text",
                    json!({"userName": "a", "roles": [{"value": "{\"value\":\"{\\\"value\\\":1}\"}"}]}),
                    json!({"userName": "a", "roles": [{"value": "{\"value\":\"{\\\"value\\\":1}\"}"}]}),
                ),
                (
                    "JSON without a value is kept as text",
                    json!({"userName": "a", "roles": [{"value": "{\"id\":\"1\"}"}]}),
                    json!({"userName": "a", "roles": [{"value": "{\"id\":\"1\"}"}]}),
                ),
                (
                    "empty manager value is unassigned",
                    json!({"userName": "a", ENTERPRISE_USER: {"manager": {"value": ""}, "department": "d"}}),
                    json!({"userName": "a", ENTERPRISE_USER: {"department": "d"}}),
                ),
                (
                    "email with an empty value is dropped",
                    json!({"userName": "a", "emails": [{"value": " ", "type": "work"}, {"value": "x@y.z"}]}),
                    json!({"userName": "a", "emails": [{"value": "x@y.z"}]}),
                ),
            ],
        );
    }

    #[test]
    fn enterprise_shapes() {
        check_ok(
            ResourceKind::User,
            &[
                (
                    "Entra bare manager",
                    json!({"userName": "a", ENTERPRISE_USER: {"manager": "271"}}),
                    json!({"userName": "a", ENTERPRISE_USER: {"manager": {"value": "271"}}}),
                ),
                (
                    "Entra flat URN-qualified keys",
                    json!({
                        "userName": "a",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "X",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "271",
                    }),
                    json!({"userName": "a", ENTERPRISE_USER: {"department": "X", "manager": {"value": "271"}}}),
                ),
                (
                    "flat and nested merge",
                    json!({
                        "userName": "a",
                        ENTERPRISE_USER: {"employeeNumber": "7"},
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "X",
                    }),
                    json!({"userName": "a", ENTERPRISE_USER: {"employeeNumber": "7", "department": "X"}}),
                ),
                (
                    "same value twice is fine",
                    json!({
                        "userName": "a",
                        ENTERPRISE_USER: {"department": "X"},
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "X",
                    }),
                    json!({"userName": "a", ENTERPRISE_USER: {"department": "X"}}),
                ),
            ],
        );
        check_err(
            ResourceKind::User,
            &[
                (
                    "conflicting values",
                    json!({
                        "userName": "a",
                        ENTERPRISE_USER: {"department": "X"},
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Y",
                    }),
                    ScimType::InvalidValue,
                    "more than once",
                ),
                (
                    "conflicting case variants",
                    json!({"userName": "a", "UserName": "b"}),
                    ScimType::InvalidValue,
                    "more than once",
                ),
            ],
        );
    }

    #[test]
    fn required_attributes() {
        check_err(
            ResourceKind::User,
            &[
                (
                    "missing",
                    json!({"displayName": "x"}),
                    ScimType::InvalidValue,
                    "userName is required",
                ),
                (
                    "null",
                    json!({"userName": null}),
                    ScimType::InvalidValue,
                    "userName is required",
                ),
                (
                    "blank",
                    json!({"userName": "  "}),
                    ScimType::InvalidValue,
                    "userName is required",
                ),
                (
                    "empty",
                    json!({"userName": ""}),
                    ScimType::InvalidValue,
                    "userName is required",
                ),
                (
                    "number",
                    json!({"userName": 42}),
                    ScimType::InvalidValue,
                    "userName is required",
                ),
                (
                    "object",
                    json!({"userName": {"value": "a"}}),
                    ScimType::InvalidValue,
                    "userName is required",
                ),
                (
                    "under unknown name",
                    json!({"user_name": "a"}),
                    ScimType::InvalidValue,
                    "userName is required",
                ),
            ],
        );
        check_err(
            ResourceKind::Group,
            &[
                (
                    "missing",
                    json!({"members": []}),
                    ScimType::InvalidValue,
                    "displayName is required",
                ),
                (
                    "blank",
                    json!({"displayName": ""}),
                    ScimType::InvalidValue,
                    "displayName is required",
                ),
                (
                    "userName is not a group attribute",
                    json!({"userName": "a"}),
                    ScimType::InvalidValue,
                    "displayName is required",
                ),
            ],
        );
        assert_eq!(
            group(json!({"displayName": "g"})),
            Ok(json!({"displayName": "g"}))
        );
        assert_eq!(
            user(json!({"userName": "a", "members": ["x"]})),
            Ok(json!({"userName": "a"}))
        );
    }

    #[test]
    fn schemas_for_lists_used_extensions() {
        let plain = normalize_resource(ResourceKind::User, &json!({"userName": "a"})).expect("ok");
        assert_eq!(schemas_for(ResourceKind::User, &plain), [USER]);
        let ext = normalize_resource(
            ResourceKind::User,
            &json!({"userName": "a", ENTERPRISE_USER: {"division": "d"}}),
        )
        .expect("ok");
        assert_eq!(
            schemas_for(ResourceKind::User, &ext),
            [USER, ENTERPRISE_USER]
        );
        assert_eq!(schemas_for(ResourceKind::Group, &Map::new()), [GROUP]);
    }

    /// Fixtures: `{"kind": "User"|"Group", "request": {...}, "expected": {...}}`, taken from the
    /// RFC examples and the IdPs' documented requests.
    #[test]
    fn fixtures() {
        let fixtures: &[(&str, &str)] = &[
            (
                "rfc7643-8.3-enterprise-user",
                include_str!("../../tests/fixtures/validate/rfc7643-8.3-enterprise-user.json"),
            ),
            (
                "rfc7643-8.4-group",
                include_str!("../../tests/fixtures/validate/rfc7643-8.4-group.json"),
            ),
            (
                "okta-put-user-echoes-readonly",
                include_str!("../../tests/fixtures/validate/okta-put-user-echoes-readonly.json"),
            ),
            (
                "okta-create-group",
                include_str!("../../tests/fixtures/validate/okta-create-group.json"),
            ),
            (
                "entra-create-user",
                include_str!("../../tests/fixtures/validate/entra-create-user.json"),
            ),
            (
                "entra-user-quirks",
                include_str!("../../tests/fixtures/validate/entra-user-quirks.json"),
            ),
            (
                "entra-create-group-adscim",
                include_str!("../../tests/fixtures/validate/entra-create-group-adscim.json"),
            ),
            (
                "onelogin-user-legacy-urns",
                include_str!("../../tests/fixtures/validate/onelogin-user-legacy-urns.json"),
            ),
        ];
        for (name, text) in fixtures {
            let f: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let kind = match f["kind"].as_str() {
                Some("User") => ResourceKind::User,
                Some("Group") => ResourceKind::Group,
                other => panic!("{name}: bad kind {other:?}"),
            };
            let got = normalize_resource(kind, &f["request"]).map(Value::Object);
            assert_eq!(got.as_ref(), Ok(&f["expected"]), "fixture {name}");
            let again = normalize_resource(kind, &f["expected"]).map(Value::Object);
            assert_eq!(
                again.as_ref(),
                Ok(&f["expected"]),
                "fixture {name} (second pass)"
            );
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn any_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(Value::from),
                "\\PC{0,12}".prop_map(Value::String),
                prop_oneof![
                    Just("True"),
                    Just("false"),
                    Just("{\"value\":\"v\",\"primary\":true}"),
                    Just("YWJj"),
                    Just("")
                ]
                .prop_map(|s| Value::String(s.to_owned())),
            ];
            leaf.prop_recursive(4, 48, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::vec((key(), inner), 0..6)
                        .prop_map(|kv| Value::Object(kv.into_iter().collect())),
                ]
            })
        }

        /// Keys that hit the interesting paths: real attribute names in odd case, URNs, junk.
        fn key() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "userName",
                    "USERNAME",
                    "displayName",
                    "name",
                    "givenName",
                    "familyName",
                    "emails",
                    "value",
                    "primary",
                    "type",
                    "display",
                    "active",
                    "roles",
                    "members",
                    "manager",
                    "department",
                    "x509Certificates",
                    "addresses",
                    "id",
                    "meta",
                    "groups",
                    "password",
                    "externalId",
                    "schemas",
                    "$ref",
                    "phoneNumbers",
                    "photos",
                    ENTERPRISE_USER,
                    USER,
                    GROUP,
                    "urn:scim:schemas:extension:enterprise:2.0",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User",
                    "urn:acme:x",
                ])
                .prop_map(str::to_owned),
                "\\PC{0,10}",
            ]
        }

        fn user_body() -> impl Strategy<Value = Value> {
            (
                prop::collection::vec((key(), any_json()), 0..8),
                "[a-z]{1,8}",
            )
                .prop_map(|(kv, name)| {
                    let mut m: Map<String, Value> = kv.into_iter().collect();
                    m.insert("userName".into(), Value::String(name.clone()));
                    m.insert("displayName".into(), Value::String(name));
                    Value::Object(m)
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn never_panics_and_is_idempotent(v in any_json()) {
                for kind in ResourceKind::ALL {
                    if let Ok(m) = normalize_resource(kind, &v) {
                        let again = normalize_resource(kind, &Value::Object(m.clone()));
                        prop_assert_eq!(again, Ok(m));
                    }
                }
            }

            #[test]
            fn plausible_bodies_are_idempotent(v in user_body()) {
                for kind in ResourceKind::ALL {
                    if let Ok(m) = normalize_resource(kind, &v) {
                        prop_assert!(!m.contains_key("id") && !m.contains_key("meta") && !m.contains_key("password"));
                        prop_assert!(!m.contains_key("groups") && !m.contains_key("schemas"));
                        let again = normalize_resource(kind, &Value::Object(m.clone()));
                        prop_assert_eq!(again, Ok(m));
                    }
                }
            }
        }
    }
}
