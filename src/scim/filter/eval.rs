//! Evaluation of a filter against a resource as returned to clients (RFC 7644 §3.4.2.2).

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::{is_core_schema_urn, AttrPath, CompValue, CompareOp, Filter};
use crate::scim::json::get_exact_or_ci;

/// What the evaluator needs from the schema (RFC 7643 §2.2 `caseExact`, §2.3.5 `dateTime`).
///
/// `path` is fully qualified: inside `emails[type eq "work"]` the evaluator asks about
/// `emails.type`. Implementations must be cheap and must not panic on unknown attributes
/// (answer `false`).
pub trait AttrInfo {
    /// Whether string values of `path` compare case-sensitively.
    fn case_exact(&self, path: &AttrPath) -> bool;
    /// Whether `path` is a `dateTime`, compared chronologically.
    fn is_date_time(&self, path: &AttrPath) -> bool;
}

/// Whether `resource` matches `filter`.
pub fn matches(filter: &Filter, resource: &Value, info: &dyn AttrInfo) -> bool {
    eval(filter, resource, None, info)
}

/// `parent` is the multi-valued attribute while evaluating inside its `[...]`, where `node`
/// is one element and attribute names are relative to it.
fn eval(filter: &Filter, node: &Value, parent: Option<&AttrPath>, info: &dyn AttrInfo) -> bool {
    match filter {
        Filter::And(l, r) => eval(l, node, parent, info) && eval(r, node, parent, info),
        Filter::Or(l, r) => eval(l, node, parent, info) || eval(r, node, parent, info),
        Filter::Not(inner) => !eval(inner, node, parent, info),
        Filter::Present(path) => resolve(node, path, parent.is_some())
            .into_iter()
            .any(has_value),
        Filter::Compare { path, op, value } => {
            let values = resolve(node, path, parent.is_some());
            let qualified = match parent {
                Some(p) => Cow::Owned(AttrPath {
                    urn: p.urn.clone(),
                    name: p.name.clone(),
                    sub_attr: Some(path.name.clone()),
                }),
                None => Cow::Borrowed(path),
            };
            compare(&values, *op, value, &qualified, info)
        }
        Filter::ValuePath { path, filter } => resolve(node, path, parent.is_some())
            .into_iter()
            .any(|element| element.is_object() && eval(filter, element, Some(path), info)),
    }
}

/// The values at `path`, with multi-valued attributes flattened to their elements.
fn resolve<'v>(node: &'v Value, path: &AttrPath, relative: bool) -> Vec<&'v Value> {
    let container = match &path.urn {
        // Extension attributes live under their schema URN (RFC 7643 §3.3).
        Some(urn) if !relative && !is_core_schema_urn(urn) => match get_exact_or_ci(node, urn) {
            Some(extension) => extension,
            None => return Vec::new(),
        },
        _ => node,
    };
    let Some(attr) = get_exact_or_ci(container, &path.name) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    match &path.sub_attr {
        None => push_flat(attr, &mut out),
        Some(sub) => {
            let elements: &[Value] = match attr {
                Value::Array(items) => items,
                other => std::slice::from_ref(other),
            };
            for element in elements {
                if let Some(v) = get_exact_or_ci(element, sub) {
                    push_flat(v, &mut out);
                }
            }
        }
    }
    out
}

fn push_flat<'v>(v: &'v Value, out: &mut Vec<&'v Value>) {
    match v {
        Value::Array(items) => out.extend(items),
        other => out.push(other),
    }
}

/// `pr`: "has a non-empty value, or contains a non-empty node for complex attributes".
fn has_value(v: &Value) -> bool {
    fn non_empty(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            Value::Bool(_) | Value::Number(_) => true,
        }
    }
    match v {
        Value::Array(a) => a.iter().any(non_empty),
        Value::Object(o) => o.values().any(non_empty),
        other => non_empty(other),
    }
}

fn compare(
    values: &[&Value],
    op: CompareOp,
    wanted: &CompValue,
    path: &AttrPath,
    info: &dyn AttrInfo,
) -> bool {
    match (op, wanted) {
        // `ne` is the complement of `eq`, so it holds for a missing attribute and, on a
        // multi-valued attribute, when no element equals the value.
        (CompareOp::Ne, _) => !compare(values, CompareOp::Eq, wanted, path, info),
        // `eq null` means "not present" (RFC 7644 §3.4.2.2, RFC 7643 §2.5 unassigned = null).
        (_, CompValue::Null) => !values.iter().copied().any(has_value),
        _ => {
            let case_exact = info.case_exact(path);
            let date_time = info.is_date_time(path);
            values
                .iter()
                .filter_map(|v| scalar(v))
                .any(|actual| compare_one(actual, op, wanted, case_exact, date_time))
        }
    }
}

/// A complex value compares through its `value` sub-attribute (`emails eq "x"`).
fn scalar(v: &Value) -> Option<&Value> {
    match v {
        Value::Object(_) => {
            get_exact_or_ci(v, "value").filter(|inner| !inner.is_object() && !inner.is_array())
        }
        Value::Null => None,
        other => Some(other),
    }
}

fn compare_one(
    actual: &Value,
    op: CompareOp,
    wanted: &CompValue,
    case_exact: bool,
    date_time: bool,
) -> bool {
    match (actual, wanted) {
        (Value::String(a), CompValue::Str(w)) => compare_strings(a, w, op, case_exact, date_time),
        (Value::Number(a), CompValue::Num(w)) => {
            compare_numbers(a, w).is_some_and(|o| holds(op, o))
        }
        (Value::Bool(a), CompValue::Bool(w)) => op == CompareOp::Eq && a == w,
        // Some IdPs store or send booleans as "True"/"False" (ARCHITECTURE.md, IdP shapes row 2).
        (Value::Bool(a), CompValue::Str(w)) => op == CompareOp::Eq && parse_bool(w) == Some(*a),
        (Value::String(a), CompValue::Bool(w)) => op == CompareOp::Eq && parse_bool(a) == Some(*w),
        _ => false,
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Whether `actual <op> wanted` holds, given `actual.cmp(wanted)`.
fn holds(op: CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn compare_strings(
    actual: &str,
    wanted: &str,
    op: CompareOp,
    case_exact: bool,
    date_time: bool,
) -> bool {
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;
    if date_time && !op.is_substring() {
        if let (Ok(a), Ok(w)) = (
            OffsetDateTime::parse(actual, &Rfc3339),
            OffsetDateTime::parse(wanted, &Rfc3339),
        ) {
            return holds(op, a.cmp(&w));
        }
    }
    let (a, w) = if case_exact {
        (Cow::Borrowed(actual), Cow::Borrowed(wanted))
    } else {
        (
            Cow::Owned(actual.to_lowercase()),
            Cow::Owned(wanted.to_lowercase()),
        )
    };
    match op {
        CompareOp::Co => a.contains(&*w),
        CompareOp::Sw => a.starts_with(&*w),
        CompareOp::Ew => a.ends_with(&*w),
        _ => holds(op, a.cmp(&w)),
    }
}

/// Exact for integers (i64/u64), f64 when either side is a decimal.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    fn int(n: &Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}
