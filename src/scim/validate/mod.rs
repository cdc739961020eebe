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
//!   (ARCHITECTURE.md, IdP shapes row 5). `password` is writeOnly (RFC 7643 §4.1.1) and is never kept here:
//!   we do not authenticate users. Checking `immutable` values against the stored resource
//!   (RFC 7644 §3.5.1) is the caller's job; this function sees only the request.
//! - **`null`, `[]` and `{}` mean unassigned** (RFC 7643 §2.5) and are dropped, where the
//!   attribute can hold them: `[]` for a multi-valued attribute, `{}` for a complex one, `null`
//!   for any. A singular attribute given a list, or a simple one given an object (`"active": {}`,
//!   `"name": {"givenName": []}`), is 400 `invalidValue`: an IdP mapping mistake must not
//!   silently remove the attribute. An empty string
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
//!
//! This file holds the resource-level rules (which schema and attribute each key of the body
//! belongs to, `schemas`, required attributes); `value.rs` normalises one attribute's value.

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::scim::schema::{common_attribute, AttributeDef, ResourceKind, SchemaDef};
use crate::scim::urn;

#[cfg(test)]
mod tests;
mod value;

pub use value::{is_unassigned, normalize_attribute};
use value::{json_kind, put, required_error};

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
