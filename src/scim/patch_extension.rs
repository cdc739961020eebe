//! PATCH on a whole extension object (RFC 7643 §3.3: an extension's attributes live in one
//! object under its schema URN): the no-path value keyed by the URN (ARCHITECTURE.md, IdP
//! shapes row 4) and a `path` that is the URN itself (row 24, as scim2-tester sends it).

use serde_json::{Map, Value};

use super::json::take_ci;
use super::path::PatchPath;
use super::schema::ResourceKind;
use super::urn;
use crate::error::ScimError;

/// What an operation whose path is a whole extension does to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExtensionChange {
    /// `add` (RFC 7644 §3.5.2.1): the value's attributes are set, the others kept.
    Merge,
    /// `replace` (RFC 7644 §3.5.2.3): the value becomes the extension.
    Replace,
    /// `remove` (RFC 7644 §3.5.2.2): the extension goes, and with it its URN from the rendered
    /// `schemas` (`validate::schemas_for` lists the extensions a resource has).
    Remove,
}

/// The canonical URN if `key` names one of `kind`'s extension schemas.
pub(crate) fn extension_urn(kind: ResourceKind, key: &str) -> Option<&'static str> {
    let canonical = urn::canonical_schema_urn(key)?;
    kind.extensions()
        .iter()
        .find(|e| e.id == canonical)
        .map(|e| e.id)
}

/// The extension schema a `path` names as a whole (`urn:...:enterprise:2.0:User`). The path
/// grammar reads the URN's last segment as an attribute name (RFC 7644 §3.10 `urn:name`), so
/// the URN is put back together and looked up.
pub(crate) fn whole_extension(kind: ResourceKind, path: &PatchPath) -> Option<&'static str> {
    if path.filter.is_some() || path.sub_attr.is_some() || path.attr.sub_attr.is_some() {
        return None;
    }
    let urn = path.attr.urn.as_deref()?;
    extension_urn(kind, &format!("{urn}:{}", path.attr.name))
}

/// Apply `change` with `value` (an object, unless removing) to the extension `ext` of `doc`.
pub(crate) fn change_extension(
    doc: &mut Map<String, Value>,
    ext: &'static str,
    change: ExtensionChange,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    match (change, value) {
        (ExtensionChange::Remove, _) => {
            take_ci(doc, ext);
            Ok(())
        }
        (_, Some(value @ Value::Object(_))) => {
            if change == ExtensionChange::Replace {
                take_ci(doc, ext);
            }
            merge_extension(doc, ext, value)
        }
        _ => Err(ScimError::invalid_value(format!(
            "The value of {ext} must be an object."
        ))),
    }
}

/// Set each non-null attribute of the object `value` in the extension `ext` (keeping the
/// client's spelling of a name it already had in another case).
pub(crate) fn merge_extension(
    doc: &mut Map<String, Value>,
    ext: &'static str,
    value: &Value,
) -> Result<(), ScimError> {
    let Value::Object(values) = value else {
        return Err(ScimError::invalid_value(format!(
            "The value of {ext} must be an object."
        )));
    };
    let target = extension_object(doc, ext)?;
    for (k, v) in values {
        take_ci(target, k);
        if !v.is_null() {
            target.insert(k.clone(), v.clone());
        }
    }
    Ok(())
}

/// The extension object `ext` of `doc`, created empty when missing (or not an object).
pub(crate) fn extension_object<'a>(
    doc: &'a mut Map<String, Value>,
    ext: &str,
) -> Result<&'a mut Map<String, Value>, ScimError> {
    let existing = take_ci(doc, ext).unwrap_or_else(|| Value::Object(Map::new()));
    let slot = doc.entry(ext.to_owned()).or_insert(existing);
    match slot {
        Value::Object(m) => Ok(m),
        _ => {
            *slot = Value::Object(Map::new());
            match slot {
                Value::Object(m) => Ok(m),
                _ => Err(ScimError::internal()),
            }
        }
    }
}
