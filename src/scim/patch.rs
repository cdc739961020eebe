//! The PATCH engine (RFC 7644 §3.5.2): parse a PatchOp request, apply its operations to a copy of
//! the stored attributes, and validate the result as a whole. A PATCH is atomic: any failing
//! operation fails the request and nothing is written.
//!
//! IdP dialects (ARCHITECTURE.md, IdP shapes) are accepted here: ops in any case (row 1), no-path values
//! whose keys are paths (rows 3, 4), read-only attributes inside values (row 5), removal by value
//! list (row 6), filtered removal (row 7), upsert of a missing filtered element (rows 8, 9), a
//! filter on a single complex attribute such as `manager[value eq "x"]` (row 11), `replace` with
//! `null` as removal (row 14). Value coercions (`"False"`, bare-string manager, JSON-encoded
//! roles) happen in the final validation, which every PATCH result goes through.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::filter::{self, CompValue, CompareOp, Filter};
use super::json::{get_ci, get_ci_mut, take_ci};
use super::patch_extension::{
    change_extension, extension_object, extension_urn, merge_extension, whole_extension,
    ExtensionChange,
};
use super::path::{parse_patch_path, PatchPath};
use super::resource::Resource;
use super::schema::{AttrType, AttributeDef, Mutability, ResourceKind};
use super::{attribute_def, urn, validate, ElementAttrInfo};
use crate::error::ScimError;

/// Most operations one request may carry.
pub const MAX_OPERATIONS: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub op: Op,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// Parse a PatchOp body (RFC 7644 §3.5.2). `schemas` is not required: some clients omit it and
/// the body's shape is unambiguous.
pub fn parse_request(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let Value::Object(map) = body else {
        return Err(ScimError::invalid_syntax(
            "A PATCH body must be a JSON object with an \"Operations\" array.",
        ));
    };
    let Some(Value::Array(raw_ops)) = get_ci(map, "Operations") else {
        return Err(ScimError::invalid_syntax(
            "A PATCH body must have an \"Operations\" array.",
        ));
    };
    if raw_ops.is_empty() {
        return Err(ScimError::invalid_syntax(
            "\"Operations\" must not be empty.",
        ));
    }
    if raw_ops.len() > MAX_OPERATIONS {
        return Err(ScimError::too_many(format!(
            "A PATCH request may carry at most {MAX_OPERATIONS} operations; split it into several requests."
        )));
    }
    raw_ops
        .iter()
        .enumerate()
        .map(|(i, raw)| parse_operation(raw).map_err(|e| in_operation(e, i)))
        .collect()
}

/// Prefix an error with the (1-based) number of the operation that caused it.
pub(crate) fn in_operation(e: ScimError, index: usize) -> ScimError {
    e.within(format_args!("Operation {}", index + 1))
}

fn parse_operation(raw: &Value) -> Result<Operation, ScimError> {
    let Value::Object(m) = raw else {
        return Err(ScimError::invalid_syntax(
            "each operation must be a JSON object.",
        ));
    };
    let raw_op = get_ci(m, "op").and_then(Value::as_str);
    if raw_op.is_some_and(|o| o.bytes().any(|b| b.is_ascii_uppercase())) {
        // Row 1: Entra sends `Replace`, `Add`, `Remove`.
        tracing::debug!(rule = "capitalised-op", "normalised the case of a PATCH op");
    }
    let op = match raw_op.map(str::to_ascii_lowercase).as_deref() {
        Some("add") => Op::Add,
        Some("replace") => Op::Replace,
        Some("remove") => Op::Remove,
        _ => {
            return Err(ScimError::invalid_syntax(
                "\"op\" must be \"add\", \"replace\" or \"remove\".",
            ))
        }
    };
    let path = match get_ci(m, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(parse_patch_path(s.trim())?),
        Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string.")),
    };
    let value = get_ci(m, "value").cloned();
    match (op, &path, &value) {
        // RFC 7644 §3.5.2.2: remove without a path fails with noTarget.
        (Op::Remove, None, _) => Err(ScimError::no_target(
            "\"remove\" needs a \"path\" naming what to remove.",
        )),
        (Op::Add, _, None | Some(Value::Null)) => {
            Err(ScimError::invalid_value("\"add\" needs a \"value\"."))
        }
        (Op::Replace, None, None | Some(Value::Null)) => Err(ScimError::invalid_value(
            "\"replace\" without a \"path\" needs an object \"value\".",
        )),
        // Replacing with null makes the attribute unassigned (RFC 7643 §2.5).
        (Op::Replace, Some(_), Some(Value::Null) | None) => {
            tracing::debug!(
                rule = "null-as-remove",
                "read a replace with a null value as a remove"
            );
            Ok(Operation {
                op: Op::Remove,
                path,
                value: None,
            })
        }
        _ => Ok(Operation { op, path, value }),
    }
}

/// Apply `ops` to `current` and return the validated attributes to store.
pub fn apply(
    kind: ResourceKind,
    current: &Resource,
    ops: &[Operation],
) -> Result<Map<String, Value>, ScimError> {
    apply_indexed(kind, current, ops.iter().enumerate())
}

/// [`apply`] for operations picked out of a larger request (a Group PATCH whose member
/// operations are handled apart): each comes with its position in the request, so error
/// messages name the operation the client wrote.
pub fn apply_indexed<'a>(
    kind: ResourceKind,
    current: &Resource,
    ops: impl IntoIterator<Item = (usize, &'a Operation)>,
) -> Result<Map<String, Value>, ScimError> {
    let mut doc = current.attributes.clone();
    for (i, op) in ops {
        apply_one(kind, current, &mut doc, op).map_err(|e| in_operation(e, i))?;
    }
    validate::normalize_resource(kind, &Value::Object(doc))
}

fn apply_one(
    kind: ResourceKind,
    current: &Resource,
    doc: &mut Map<String, Value>,
    op: &Operation,
) -> Result<(), ScimError> {
    match (&op.path, &op.value) {
        (Some(path), value) => match whole_extension(kind, path) {
            Some(ext) => {
                let change = match op.op {
                    Op::Add => ExtensionChange::Merge,
                    Op::Replace => ExtensionChange::Replace,
                    Op::Remove => ExtensionChange::Remove,
                };
                change_extension(doc, ext, change, value.as_ref())
            }
            None => apply_at(kind, current, doc, op.op, path, value.as_ref()),
        },
        (None, Some(Value::Object(values))) => apply_no_path(kind, current, doc, op.op, values),
        (None, _) => Err(ScimError::invalid_value(
            "Without a \"path\", \"value\" must be an object of attribute names and values.",
        )),
    }
}

/// `add`/`replace` without a path (RFC 7644 §3.5.2.1, §3.5.2.3; rows 3 and 4): each key is an
/// attribute path, an extension URN, the core schema URN, or a read-only attribute echoed back
/// (ignored).
fn apply_no_path(
    kind: ResourceKind,
    current: &Resource,
    doc: &mut Map<String, Value>,
    op: Op,
    values: &Map<String, Value>,
) -> Result<(), ScimError> {
    for (key, value) in values {
        let key: &str = key;
        if let Some(ext) = extension_urn(kind, key) {
            merge_extension(doc, ext, value)?;
            continue;
        }
        if urn::canonical_schema_urn(key) == Some(kind.core_schema().id) {
            // `{"urn:...:core:2.0:User": {"title": "x"}}`: the core attributes, spelled out.
            let Value::Object(inner) = value else {
                return Err(ScimError::invalid_value(format!(
                    "The value of {key} must be an object."
                )));
            };
            apply_no_path(kind, current, doc, op, inner)?;
            continue;
        }
        if is_ignored_key(key) {
            // Row 5: Okta and Entra echo read-only attributes back.
            tracing::debug!(rule = "read-only-ignored", attribute = %key, "ignoring a read-only attribute in a PATCH value");
            continue;
        }
        let path = parse_patch_path(key)?;
        let Some((def, path)) = resolve(kind, &path) else {
            // Same rule as PUT: unknown attributes in a body are ignored.
            tracing::debug!(rule = "unknown-attribute-ignored", attribute = %path.attr, "ignoring unknown attribute in PATCH value");
            continue;
        };
        if targets_read_only(def, &path) {
            // Row 5 again, for echoed read-only values under a path key (`meta.version`).
            tracing::debug!(
                rule = "read-only-ignored",
                attribute = def.name,
                "ignoring a read-only attribute in a PATCH value"
            );
            continue;
        }
        if path.attr.urn.is_some() {
            tracing::debug!(
                rule = "no-path-urn-key",
                attribute = def.name,
                "no-path PATCH value key is a URN-qualified path"
            );
        } else if path.filter.is_some() || path.attr.sub_attr.is_some() {
            tracing::debug!(
                rule = "no-path-dotted-key",
                attribute = def.name,
                "no-path PATCH value key is an attribute path"
            );
        }
        if value.is_null() {
            apply_at(kind, current, doc, Op::Remove, &path, None)?;
        } else {
            apply_at(kind, current, doc, op, &path, Some(value))?;
        }
    }
    Ok(())
}

/// Whether `path` names a readOnly attribute or a readOnly sub-attribute (`manager.displayName`).
fn targets_read_only(def: &AttributeDef, path: &PatchPath) -> bool {
    let sub = path.attr.sub_attr.as_deref().or(path.sub_attr.as_deref());
    def.mutability == Mutability::ReadOnly
        || sub
            .and_then(|s| def.sub_attribute(s))
            .is_some_and(|s| s.mutability == Mutability::ReadOnly)
}

fn is_ignored_key(key: &str) -> bool {
    ["schemas", "meta", "id", "groups"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(key))
}

/// The definition `path` names, and the path to apply. A name that is not in the core schema but
/// belongs to exactly one extension is read as that extension's attribute: Entra sends
/// `manager[value eq "x"]` for the enterprise `manager` (row 11). RFC 7644 §3.10 only defines
/// unqualified names for the core schema, so this is leniency, never ambiguity.
fn resolve<'p>(
    kind: ResourceKind,
    path: &'p PatchPath,
) -> Option<(&'static AttributeDef, Cow<'p, PatchPath>)> {
    if let Some(def) = attribute_def(kind, &path.attr) {
        return Some((def, Cow::Borrowed(path)));
    }
    if path.attr.urn.is_some() {
        return None;
    }
    let mut owners = kind
        .extensions()
        .iter()
        .filter_map(|e| e.attribute(&path.attr.name).map(|d| (e.id, d)));
    let (ext, def) = owners.next()?;
    if owners.next().is_some() {
        return None;
    }
    tracing::debug!(
        rule = "unqualified-extension-attribute",
        attribute = def.name,
        "read an unqualified PATCH path as an extension attribute"
    );
    let mut qualified = path.clone();
    qualified.attr.urn = Some(ext.to_owned());
    Some((def, Cow::Owned(qualified)))
}

/// The object holding the attribute a path names: the resource itself, or an extension object.
/// `None` when removing from an extension the resource does not have.
fn container<'a>(
    kind: ResourceKind,
    doc: &'a mut Map<String, Value>,
    path: &PatchPath,
    create: bool,
) -> Result<Option<&'a mut Map<String, Value>>, ScimError> {
    let Some(u) = &path.attr.urn else {
        return Ok(Some(doc));
    };
    let canonical = urn::canonical_schema_urn(u);
    if canonical == Some(kind.core_schema().id) {
        return Ok(Some(doc));
    }
    match canonical.and_then(|c| extension_urn(kind, c)) {
        Some(ext) if create => extension_object(doc, ext).map(Some),
        Some(ext) => Ok(get_ci_mut(doc, ext).and_then(Value::as_object_mut)),
        None => Err(ScimError::invalid_path(format!(
            "The schema {u} is not supported for {} resources.",
            kind.name()
        ))),
    }
}

fn apply_at(
    kind: ResourceKind,
    current: &Resource,
    doc: &mut Map<String, Value>,
    op: Op,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let Some((def, path)) = resolve(kind, path) else {
        return Err(ScimError::invalid_path(format!(
            "\"{path}\" is not an attribute of a {}.",
            kind.name()
        )));
    };
    let path: &PatchPath = &path;
    let key = def.name;
    let sub = path.attr.sub_attr.as_deref().or(path.sub_attr.as_deref());
    let sub_def = match sub {
        Some(s) => Some(def.sub_attribute(s).ok_or_else(|| {
            ScimError::invalid_path(format!("\"{s}\" is not a sub-attribute of {key}."))
        })?),
        None => None,
    };
    let whole = path.filter.is_none() && sub.is_none();
    if def.mutability == Mutability::ReadOnly {
        // Row 5: `id` set to its own value is an echo (Okta, Entra), not a change.
        if def.name == "id"
            && whole
            && op != Op::Remove
            && value.and_then(Value::as_str) == Some(current.id.as_str())
        {
            tracing::debug!(
                rule = "read-only-ignored",
                attribute = def.name,
                "ignoring a PATCH that sets id to its own value"
            );
            return Ok(());
        }
        // RFC 7644 §3.5.2: a client MUST NOT modify a readOnly attribute, and an operation
        // incompatible with an attribute's mutability fails (§3.12 `mutability`). Only values
        // echoed inside a no-path value object are ignored (row 5); a path is a deliberate target.
        return Err(read_only_error(def.name));
    }
    if let Some(s) = sub_def.filter(|s| s.mutability == Mutability::ReadOnly) {
        return Err(read_only_error(&format!("{key}.{}", s.name)));
    }
    if op == Op::Remove && whole && def.required {
        // RFC 7644 §3.5.2.2: removing a required attribute fails with `mutability`.
        return Err(ScimError::mutability(format!(
            "{key} is required and cannot be removed; replace it with a new value instead."
        )));
    }
    let Some(target) = container(kind, doc, path, op != Op::Remove)? else {
        return Ok(());
    };
    let existing = take_ci(target, key);
    let result = match &path.filter {
        None => apply_plain(def, existing, op, sub, value),
        Some(f) => apply_filtered(def, existing, op, f, sub, value),
    }?;
    if let Some(v) = result {
        target.insert(key.to_owned(), v);
    }
    Ok(())
}

/// Okta shows `detail` to the customer's admin: say what to do.
fn read_only_error(name: &str) -> ScimError {
    let hint = if name.starts_with("groups") {
        " Group membership is changed through /Groups."
    } else {
        ""
    };
    ScimError::mutability(format!(
        "{name} is read-only and cannot be changed; remove this operation from the request.{hint}"
    ))
}

fn is_truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Keep at most one `primary` (RFC 7643 §2.4): when one of `touched` is primary, every other
/// value that was primary gets `"primary": false` (RFC 7644 §3.5.2: "the server SHALL
/// automatically set 'primary' to 'false' for any other values in the array"). Values that were
/// not primary are left as they are.
fn enforce_single_primary(items: &mut [Value], touched: &[usize]) {
    let Some(&winner) = touched.iter().rev().find(|&&i| {
        is_truthy(
            items
                .get(i)
                .and_then(|v| v.as_object())
                .and_then(|m| get_ci(m, "primary")),
        )
    }) else {
        return;
    };
    for (i, item) in items.iter_mut().enumerate() {
        if i == winner {
            continue;
        }
        if let Value::Object(m) = item {
            if is_truthy(get_ci(m, "primary")) {
                take_ci(m, "primary");
                m.insert("primary".to_owned(), Value::Bool(false));
            }
        }
    }
}

/// The values of a multi-valued attribute an operation carries: an array, one value, or (Entra,
/// row 12) an array sent as JSON text, read as POST and PUT read it.
fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::String(s) if s.trim_start().starts_with('[') => {
            match serde_json::from_str::<Vec<Value>>(s) {
                Ok(a) => {
                    tracing::debug!(
                        rule = "json-encoded-role",
                        "decoded a JSON-encoded list of values"
                    );
                    a
                }
                Err(_) => vec![v.clone()],
            }
        }
        other => vec![other.clone()],
    }
}

/// Do two multi-valued elements denote the same value? Complex ones compare by `value` when both
/// have one (RFC 7644 §3.5.2.1: adding an existing value changes nothing).
fn same_element(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => match (get_ci(x, "value"), get_ci(y, "value")) {
            (Some(va), Some(vb)) => va == vb,
            _ => a == b,
        },
        _ => a == b,
    }
}

fn merge_into(target: &mut Map<String, Value>, values: &Map<String, Value>) {
    for (k, v) in values {
        take_ci(target, k);
        if !v.is_null() {
            target.insert(k.clone(), v.clone());
        }
    }
}

/// An operation on a whole attribute, or on a sub-attribute without a filter.
fn apply_plain(
    def: &AttributeDef,
    existing: Option<Value>,
    op: Op,
    sub: Option<&str>,
    value: Option<&Value>,
) -> Result<Option<Value>, ScimError> {
    if let Some(sub) = sub {
        // `name.givenName`, or `emails.type` (every element of a multi-valued attribute).
        let mut holder = existing.unwrap_or_else(|| {
            if def.multi_valued {
                Value::Array(vec![])
            } else {
                Value::Object(Map::new())
            }
        });
        let objects: Vec<&mut Map<String, Value>> = match &mut holder {
            Value::Object(m) => vec![m],
            Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).collect(),
            _ => {
                return Err(ScimError::invalid_path(format!(
                    "{} has no sub-attributes.",
                    def.name
                )))
            }
        };
        for m in objects {
            take_ci(m, sub);
            if op != Op::Remove {
                if let Some(v) = value {
                    m.insert(sub.to_owned(), v.clone());
                }
            }
        }
        return Ok(Some(holder));
    }
    match op {
        Op::Remove => match (def.multi_valued, value, existing) {
            // Row 6: remove only the listed values; row 17: no value clears the attribute.
            (true, Some(listed), Some(Value::Array(items))) => {
                tracing::debug!(
                    rule = "value-list-removal",
                    attribute = def.name,
                    "removing only the listed values"
                );
                let listed = as_list(listed);
                let kept: Vec<Value> = items
                    .into_iter()
                    .filter(|i| !listed.iter().any(|l| same_element(i, l)))
                    .collect();
                Ok((!kept.is_empty()).then_some(Value::Array(kept)))
            }
            _ => Ok(None),
        },
        Op::Add if def.multi_valued => {
            let mut items = match existing {
                Some(Value::Array(a)) => a,
                Some(other) => vec![other],
                None => vec![],
            };
            let mut touched = Vec::new();
            for v in as_list(value.unwrap_or(&Value::Null)) {
                match items.iter().position(|i| same_element(i, &v)) {
                    Some(pos) => {
                        if let (Value::Object(t), Value::Object(n)) = (&mut items[pos], &v) {
                            merge_into(t, n);
                        }
                        touched.push(pos);
                    }
                    None => {
                        items.push(v);
                        touched.push(items.len() - 1);
                    }
                }
            }
            enforce_single_primary(&mut items, &touched);
            Ok(Some(Value::Array(items)))
        }
        Op::Replace if def.multi_valued => {
            let mut items = as_list(value.unwrap_or(&Value::Null));
            let all: Vec<usize> = (0..items.len()).collect();
            enforce_single_primary(&mut items, &all);
            Ok(Some(Value::Array(items)))
        }
        // RFC 7644 §3.5.2.1/§3.5.2.3: a complex value merges into the existing one.
        _ if def.ty == AttrType::Complex => match (existing, value) {
            (Some(Value::Object(mut m)), Some(Value::Object(v))) => {
                merge_into(&mut m, v);
                Ok(Some(Value::Object(m)))
            }
            (_, v) => Ok(v.cloned()),
        },
        _ => Ok(value.cloned()),
    }
}

/// An operation on the elements of an attribute selected by a value filter (`emails[type eq "work"]`).
fn apply_filtered(
    def: &'static AttributeDef,
    existing: Option<Value>,
    op: Op,
    f: &Filter,
    sub: Option<&str>,
    value: Option<&Value>,
) -> Result<Option<Value>, ScimError> {
    // A single complex attribute (manager) is filtered as a list of one (row 11).
    let single = !def.multi_valued;
    if single {
        tracing::debug!(
            rule = "filtered-single-complex",
            attribute = def.name,
            "filtering a single complex attribute as a list of one"
        );
    }
    let mut items = match existing {
        Some(Value::Array(a)) => a,
        Some(v @ Value::Object(_)) => vec![v],
        Some(_) | None => vec![],
    };
    let info = ElementAttrInfo(def);
    let matched: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| filter::matches(f, item, &info))
        .map(|(i, _)| i)
        .collect();
    let mut touched = matched.clone();
    match op {
        Op::Remove => {
            if let Some(s) = sub {
                for &i in &matched {
                    if let Some(m) = items[i].as_object_mut() {
                        take_ci(m, s);
                    }
                }
            } else {
                let mut i = 0;
                items.retain(|_| {
                    let keep = !matched.contains(&i);
                    i += 1;
                    keep
                });
            }
            // Removing what is not there is a no-op: IdPs retry removals and must not fail.
            touched.clear();
        }
        Op::Add | Op::Replace => {
            let value =
                value.ok_or_else(|| ScimError::invalid_value("a \"value\" is required."))?;
            if matched.is_empty() {
                // Rows 8 and 9: create the element the filter describes. (RFC 7644 §3.5.2.3 says
                // noTarget here; Entra relies on the upsert, so only filters that cannot describe
                // an element get noTarget.)
                let Some(mut element) = equalities(f) else {
                    return Err(ScimError::no_target(format!(
                        "No value of {} matches the filter, and the filter does not describe a value to create (use eq conditions).",
                        def.name
                    )));
                };
                match (sub, value) {
                    (Some(s), v) => {
                        element.insert(s.to_owned(), v.clone());
                    }
                    (None, Value::Object(v)) => merge_into(&mut element, v),
                    (None, _) => {
                        return Err(ScimError::invalid_value(format!(
                            "The value for a filtered {} path must be an object.",
                            def.name
                        )))
                    }
                }
                tracing::debug!(
                    rule = "filtered-upsert",
                    attribute = def.name,
                    "created the element a filtered path describes"
                );
                items.push(Value::Object(element));
                touched = vec![items.len() - 1];
            } else {
                for &i in &matched {
                    let Some(m) = items[i].as_object_mut() else {
                        continue;
                    };
                    match (sub, value) {
                        (Some(s), v) => {
                            take_ci(m, s);
                            m.insert(s.to_owned(), v.clone());
                        }
                        (None, Value::Object(v)) if op == Op::Add => merge_into(m, v),
                        (None, Value::Object(v)) => *m = v.clone(),
                        (None, _) => {
                            return Err(ScimError::invalid_value(format!(
                                "The value for a filtered {} path must be an object.",
                                def.name
                            )))
                        }
                    }
                }
            }
        }
    }
    enforce_single_primary(&mut items, &touched);
    if items.is_empty() {
        return Ok(None);
    }
    if single {
        return Ok(items.into_iter().next());
    }
    Ok(Some(Value::Array(items)))
}

/// The attribute values an `eq`-only filter pins down (`type eq "work" and primary eq true`).
fn equalities(f: &Filter) -> Option<Map<String, Value>> {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.urn.is_none() && path.sub_attr.is_none() => {
            let v = match value {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Num(n) => Value::Number(n.clone()),
                CompValue::Null => return None,
            };
            let mut m = Map::new();
            m.insert(path.name.clone(), v);
            Some(m)
        }
        Filter::And(a, b) => {
            let mut m = equalities(a)?;
            m.extend(equalities(b)?);
            Some(m)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::urn::ENTERPRISE_USER;
    use serde_json::json;
    use std::sync::{Arc, Mutex};

    fn user(attributes: Value) -> Resource {
        Resource {
            id: "u1".into(),
            version: crate::scim::resource::Version::new(1),
            created: "2024-01-01T00:00:00Z".into(),
            last_modified: "2024-01-01T00:00:00Z".into(),
            attributes: attributes.as_object().cloned().unwrap_or_default(),
        }
    }

    fn run(current: &Resource, ops: Value) -> Result<Value, ScimError> {
        let ops = parse_request(&json!({ "Operations": ops }))?;
        apply(ResourceKind::User, current, &ops).map(Value::Object)
    }

    #[test]
    fn a_new_primary_sets_the_old_one_to_false() {
        let mut items = vec![
            json!({"value": "a", "primary": true}),
            json!({"value": "b", "primary": false}),
            json!({"value": "c"}),
            json!({"value": "d", "PRIMARY": "True"}),
        ];
        enforce_single_primary(&mut items, &[2, 3]);
        assert_eq!(
            items,
            [
                json!({"value": "a", "primary": false}),
                json!({"value": "b", "primary": false}),
                json!({"value": "c"}),
                json!({"value": "d", "PRIMARY": "True"}),
            ]
        );
        // No touched value is primary: nothing changes.
        let before = items.clone();
        enforce_single_primary(&mut items, &[1, 2]);
        assert_eq!(items, before);
    }

    #[test]
    fn unqualified_extension_attributes_resolve() {
        let p = parse_patch_path("manager[value eq \"1\"]").unwrap_or_else(|e| panic!("{e}"));
        let (def, resolved) = resolve(ResourceKind::User, &p).expect("manager");
        assert_eq!(def.name, "manager");
        assert_eq!(resolved.attr.urn.as_deref(), Some(ENTERPRISE_USER));
        for unknown in ["nope", "urn:acme:x:manager"] {
            let p = parse_patch_path(unknown).unwrap_or_else(|e| panic!("{e}"));
            assert!(resolve(ResourceKind::User, &p).is_none(), "{unknown}");
        }
        // Core names are never rewritten.
        let p = parse_patch_path("title").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            resolve(ResourceKind::User, &p),
            Some((_, Cow::Borrowed(_)))
        ));
    }

    #[test]
    fn required_and_read_only_targets_are_mutability_errors() {
        let u = user(json!({"userName": "a", "title": "t"}));
        for ops in [
            json!([{"op": "remove", "path": "userName"}]),
            json!([{"op": "replace", "path": "userName", "value": null}]),
            json!([{"op": "remove", "path": "meta"}]),
            json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
            json!([{"op": "replace", "path": "id", "value": "u2"}]),
            json!([{"op": "remove", "path": "id"}]),
            json!([{"op": "replace", "path": format!("{ENTERPRISE_USER}:manager.displayName"), "value": "x"}]),
        ] {
            let e = run(&u, ops.clone()).expect_err(&ops.to_string());
            assert_eq!(
                e.scim_type(),
                Some(crate::error::ScimType::Mutability),
                "{ops}: {}",
                e.detail()
            );
        }
        // Echoes are ignored: `id` with its own value, read-only keys in a no-path value.
        let same = run(
            &u,
            json!([
                {"op": "replace", "path": "id", "value": "u1"},
                {"op": "replace", "value": {"id": "zzz", "meta.version": "W/\"3\"", "groups": [],
                    format!("{ENTERPRISE_USER}:manager.displayName"): "Boss"}}
            ]),
        );
        assert_eq!(same, Ok(json!({"userName": "a", "title": "t"})));
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(b);
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Every IdP-dialect normalisation logs the rule that fired, and never the value.
    #[test]
    fn normalisations_log_their_rule_and_never_the_value() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let current = user(json!({
            "userName": "a",
            "emails": [{"value": "old-secret@example.com", "type": "home", "primary": true}],
            "entitlements": [{"value": "ent-secret-1"}, {"value": "ent-secret-2"}],
            ENTERPRISE_USER: {"manager": {"value": "mgr-secret-1"}}
        }));
        let result = tracing::subscriber::with_default(subscriber, || {
            run(
                &current,
                json!([
                    {"op": "Replace", "path": "active", "value": "False"},
                    {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "new-secret@example.com"},
                    {"op": "Add", "path": "emails[type eq \"work\"].primary", "value": "True"},
                    {"op": "Remove", "path": "entitlements", "value": [{"value": "ent-secret-1"}]},
                    {"op": "Remove", "path": "manager[value eq \"mgr-secret-1\"]"},
                    {"op": "Add", "path": format!("{ENTERPRISE_USER}:manager"), "value": "mgr-secret-2"},
                    {"op": "Add", "path": "roles", "value": [{"value": "{\"value\":\"role-secret\",\"displayName\":\"R\"}"}]},
                    {"op": "Replace", "path": "title", "value": null},
                    {"op": "Replace", "value": {
                        "name.givenName": "given-secret",
                        "urn:scim:schemas:extension:enterprise:2.0:department": "dept-secret",
                        "id": "id-secret",
                        "password": "pw-secret",
                        "customThing": "custom-secret"
                    }}
                ]),
            )
        });
        let out = result.unwrap_or_else(|e| panic!("{}", e.detail()));
        assert_eq!(out["active"], false);
        assert_eq!(
            out[ENTERPRISE_USER]["manager"],
            json!({"value": "mgr-secret-2"})
        );
        assert_eq!(
            out["roles"],
            json!([{"value": "role-secret", "display": "R"}])
        );
        assert_eq!(out[ENTERPRISE_USER]["department"], "dept-secret");
        assert_eq!(out["name"], json!({"givenName": "given-secret"}));
        assert_eq!(
            out["emails"],
            json!([
                {"value": "old-secret@example.com", "type": "home", "primary": false},
                {"type": "work", "value": "new-secret@example.com", "primary": true}
            ])
        );
        assert_eq!(out["entitlements"], json!([{"value": "ent-secret-2"}]));
        assert!(out.get("title").is_none() && out.get("password").is_none());
        let log = captured
            .0
            .lock()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        for rule in [
            "capitalised-op",
            "string-boolean",
            "filtered-upsert",
            "value-list-removal",
            "unqualified-extension-attribute",
            "filtered-single-complex",
            "bare-string-manager",
            "json-encoded-role",
            "null-as-remove",
            "no-path-dotted-key",
            "no-path-urn-key",
            "urn-alias",
            "read-only-ignored",
            "write-only-dropped",
            "unknown-attribute-ignored",
        ] {
            assert!(
                log.contains(&format!("rule=\"{rule}\"")),
                "rule {rule} not logged:\n{log}"
            );
        }
        assert!(!log.contains("secret"), "a value was logged:\n{log}");
    }
}
