//! `/Bulk` requests (RFC 7644 §3.7), the protocol part: parsing a BulkRequest into operations,
//! finding `bulkId:` references, ordering the operations so that each runs after those it
//! refers to (forward references, §3.7.2), finding circular references (§3.7.1), and
//! substituting the ids once known. Pure: no I/O; the service runs the operations.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::ScimError;
use crate::scim::json::get_ci;
use crate::scim::schema::ResourceKind;

/// The prefix of a reference to another operation's resource (RFC 7644 §3.7.2).
const REF_PREFIX: &str = "bulkId:";
/// Longest `bulkId` accepted (a label; long values only cost memory and log space).
const MAX_BULK_ID_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl BulkMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

/// One operation as the client sent it. `target` is `Err` when the operation itself is
/// malformed: it is answered with that error in its place, and the others still run.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    /// `method` as sent (for the answer even when it is not a valid one), upper-cased.
    pub method_name: String,
    pub bulk_id: Option<String>,
    /// `version`: the ETag the operation is conditional on (RFC 7644 §3.7: as `If-Match`).
    pub version: Option<String>,
    /// The `path` as sent, for the request log.
    pub path: String,
    pub target: Result<Target, ScimError>,
}

/// What a well-formed operation does.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub method: BulkMethod,
    pub kind: ResourceKind,
    /// The resource id in the path (`/Users/{id}`), possibly a `bulkId:` reference.
    pub id: Option<String>,
    pub data: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    /// Stop after this many errors (RFC 7644 §3.7.3); `None`: run every operation.
    pub fail_on_errors: Option<usize>,
    pub operations: Vec<BulkOperation>,
}

/// Parse a BulkRequest. The request as a whole fails (400, or 413 past `max_operations`) only
/// when it is not a BulkRequest at all; a malformed operation fails alone.
pub fn parse(body: &Value, max_operations: usize) -> Result<BulkRequest, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("A bulk request must be a JSON object."))?;
    let ops = get_ci(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ScimError::invalid_syntax(
                "A bulk request needs an \"Operations\" array (RFC 7644 §3.7).",
            )
        })?;
    if ops.len() > max_operations {
        return Err(ScimError::too_many_operations(ops.len(), max_operations));
    }
    let fail_on_errors = match get_ci(obj, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => {
                return Err(ScimError::invalid_value(
                    "failOnErrors must be a whole number of at least 1.",
                ))
            }
        },
    };
    let operations: Vec<BulkOperation> = ops.iter().map(parse_operation).collect();
    let mut seen = HashMap::new();
    for op in &operations {
        if let Some(id) = &op.bulk_id {
            if seen.insert(id.as_str(), ()).is_some() {
                return Err(ScimError::invalid_value(format!(
                    "bulkId {:?} is used by more than one operation; each must be unique within the request (RFC 7644 §3.7).",
                    clip(id)
                )));
            }
        }
    }
    Ok(BulkRequest {
        fail_on_errors,
        operations,
    })
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

fn parse_operation(v: &Value) -> BulkOperation {
    let obj = v.as_object();
    let text = |name: &str| {
        obj.and_then(|o| get_ci(o, name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let method_name = text("method").unwrap_or_default().to_ascii_uppercase();
    let path = text("path").unwrap_or_default();
    let bulk_id = text("bulkId").filter(|b| !b.is_empty());
    let version = text("version");
    let data = obj.and_then(|o| get_ci(o, "data")).cloned();
    let target = target(obj.is_some(), &method_name, &path, bulk_id.as_deref(), data);
    BulkOperation {
        method_name,
        bulk_id,
        version,
        path: clip(&path),
        target,
    }
}

fn target(
    is_object: bool,
    method_name: &str,
    path: &str,
    bulk_id: Option<&str>,
    data: Option<Value>,
) -> Result<Target, ScimError> {
    if !is_object {
        return Err(ScimError::invalid_syntax(
            "Each operation must be a JSON object.",
        ));
    }
    let method = match method_name {
        "POST" => BulkMethod::Post,
        "PUT" => BulkMethod::Put,
        "PATCH" => BulkMethod::Patch,
        "DELETE" => BulkMethod::Delete,
        _ => {
            return Err(ScimError::invalid_syntax(
                "An operation's method must be POST, PUT, PATCH or DELETE.",
            ))
        }
    };
    if bulk_id.is_some_and(|b| b.chars().count() > MAX_BULK_ID_CHARS) {
        return Err(ScimError::invalid_value(format!(
            "bulkId is longer than {MAX_BULK_ID_CHARS} characters."
        )));
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (kind, id) = match segments.as_slice() {
        [e] => (kind_of(e)?, None),
        [e, id] => (kind_of(e)?, Some((*id).to_owned())),
        _ => return Err(bad_path()),
    };
    match (method, &id) {
        (BulkMethod::Post, Some(_))
        | (BulkMethod::Put | BulkMethod::Patch | BulkMethod::Delete, None) => {
            return Err(bad_path())
        }
        _ => {}
    }
    // RFC 7644 §3.7: bulkId is REQUIRED with POST, so the created resource can be named.
    if method == BulkMethod::Post && bulk_id.is_none() {
        return Err(ScimError::invalid_syntax(
            "A POST operation needs a bulkId (RFC 7644 §3.7).",
        ));
    }
    let data = match (method, data) {
        (BulkMethod::Delete, _) => None,
        (_, Some(d @ Value::Object(_))) => Some(d),
        _ => {
            return Err(ScimError::invalid_syntax(
                "POST, PUT and PATCH operations need a \"data\" object.",
            ))
        }
    };
    Ok(Target {
        method,
        kind,
        id,
        data,
    })
}

fn bad_path() -> ScimError {
    ScimError::invalid_path(
        "An operation's path must be /Users or /Groups (POST), or /Users/{id} or /Groups/{id} (PUT, PATCH, DELETE).",
    )
}

fn kind_of(segment: &str) -> Result<ResourceKind, ScimError> {
    ResourceKind::ALL
        .iter()
        .copied()
        .find(|k| {
            k.endpoint()
                .trim_start_matches('/')
                .eq_ignore_ascii_case(segment)
        })
        .ok_or_else(bad_path)
}

/// The bulkIds an operation refers to: its path id and every string in its data that is
/// exactly `bulkId:<id>`, in order of appearance, without repeats.
pub fn references(t: &Target) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                if let Some(r) = s.strip_prefix(REF_PREFIX) {
                    if !out.iter().any(|o| o == r) {
                        out.push(r.to_owned());
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(id) = &t.id {
        walk(&Value::String(id.clone()), &mut out);
    }
    if let Some(d) = &t.data {
        walk(d, &mut out);
    }
    out
}

/// The same target with every reference replaced by its resource id from `resolved`, or the
/// first bulkId it cannot resolve.
pub fn substitute(t: &Target, resolved: &HashMap<String, String>) -> Result<Target, String> {
    fn walk(v: &mut Value, resolved: &HashMap<String, String>) -> Result<(), String> {
        match v {
            Value::String(s) => {
                if let Some(r) = s.strip_prefix(REF_PREFIX) {
                    *s = resolved.get(r).cloned().ok_or_else(|| r.to_owned())?;
                }
                Ok(())
            }
            Value::Array(a) => a.iter_mut().try_for_each(|x| walk(x, resolved)),
            Value::Object(o) => o.values_mut().try_for_each(|x| walk(x, resolved)),
            _ => Ok(()),
        }
    }
    let mut t = t.clone();
    if let Some(id) = &mut t.id {
        let mut v = Value::String(std::mem::take(id));
        walk(&mut v, resolved)?;
        *id = v.as_str().unwrap_or_default().to_owned();
    }
    if let Some(d) = &mut t.data {
        walk(d, resolved)?;
    }
    Ok(t)
}

/// The order to run the operations in: each after the operations whose bulkIds it refers to
/// (RFC 7644 §3.7.2: a forward reference is resolved by running the referenced POST first),
/// otherwise in request order. Returns `(order, circular)`: `circular[i]` is true for an
/// operation on a reference cycle, which cannot run (§3.7.1: answered 409).
pub fn execution_order(ops: &[BulkOperation]) -> (Vec<usize>, Vec<bool>) {
    let by_bulk_id: HashMap<&str, usize> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.bulk_id.as_deref().map(|b| (b, i)))
        .collect();
    let deps: Vec<Vec<usize>> = ops
        .iter()
        .map(|o| match &o.target {
            Ok(t) => references(t)
                .iter()
                .filter_map(|r| by_bulk_id.get(r.as_str()).copied())
                .collect(),
            Err(_) => Vec::new(),
        })
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        OnStack,
        Done,
    }
    let n = ops.len();
    let mut state = vec![State::New; n];
    let mut circular = vec![false; n];
    let mut order = Vec::with_capacity(n);
    // Iterative depth-first search (a request of many chained references must not overflow the
    // stack): (operation, index of the next dependency to visit).
    for root in 0..n {
        if state[root] != State::New {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = State::OnStack;
        while let Some((i, next)) = stack.last_mut() {
            let i = *i;
            if let Some(&j) = deps[i].get(*next) {
                *next += 1;
                match state[j] {
                    State::New => {
                        state[j] = State::OnStack;
                        stack.push((j, 0));
                    }
                    State::OnStack => {
                        // j .. i on the stack form a cycle.
                        let from = stack.iter().position(|(k, _)| *k == j).unwrap_or(0);
                        for (k, _) in &stack[from..] {
                            circular[*k] = true;
                        }
                    }
                    State::Done => {}
                }
            } else {
                state[i] = State::Done;
                order.push(i);
                stack.pop();
            }
        }
    }
    (order, circular)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(ops: Value) -> BulkRequest {
        parse(
            &json!({"schemas": [crate::scim::urn::BULK_REQUEST], "Operations": ops}),
            10,
        )
        .unwrap()
    }

    #[test]
    fn forward_references_run_first_and_request_order_is_kept_otherwise() {
        let r = req(json!([
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"displayName": "G", "members": [{"value": "bulkId:u"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "x"}},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"userName": "u"}},
        ]));
        let (order, circular) = execution_order(&r.operations);
        assert_eq!(order, vec![2, 0, 1]);
        assert!(circular.iter().all(|c| !c));
    }

    #[test]
    fn cycles_are_found_and_only_their_members_are_marked() {
        let r = req(json!([
            {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {"displayName": "A", "members": [{"value": "bulkId:b"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {"displayName": "B", "members": [{"value": "bulkId:a"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "c", "data": {"displayName": "C", "members": [{"value": "bulkId:a"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "s", "data": {"displayName": "S", "members": [{"value": "bulkId:s"}]}},
        ]));
        let (order, circular) = execution_order(&r.operations);
        assert_eq!(order.len(), 4);
        assert_eq!(circular, vec![true, true, false, true]);
    }

    #[test]
    fn substitution_replaces_exact_references_only() {
        let r = req(json!([
            {"method": "PATCH", "path": "/Groups/bulkId:g", "data": {"Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:u"}]}], "note": "xbulkId:u"}},
        ]));
        let t = r.operations[0].target.clone().unwrap();
        assert_eq!(references(&t), vec!["g".to_owned(), "u".to_owned()]);
        let resolved = HashMap::from([
            ("g".to_owned(), "G1".to_owned()),
            ("u".to_owned(), "U1".to_owned()),
        ]);
        let s = substitute(&t, &resolved).unwrap();
        assert_eq!(s.id.as_deref(), Some("G1"));
        assert_eq!(
            s.data.as_ref().unwrap()["Operations"][0]["value"][0]["value"],
            "U1"
        );
        assert_eq!(s.data.as_ref().unwrap()["note"], "xbulkId:u");
        assert_eq!(substitute(&t, &HashMap::new()), Err("g".to_owned()));
    }

    #[test]
    fn malformed_operations_fail_alone_and_malformed_requests_fail_whole() {
        let r = req(json!([
            {"method": "GET", "path": "/Users"},
            {"method": "POST", "path": "/Users/1", "bulkId": "a", "data": {}},
            {"method": "POST", "path": "/Users", "data": {}},
            {"method": "PUT", "path": "/Users/1"},
            "nonsense",
            {"method": "DELETE", "path": "/Widgets/1"},
            {"method": "delete", "path": "/Users/1"},
        ]));
        let errs: Vec<_> = r
            .operations
            .iter()
            .map(|o| o.target.as_ref().err().map(|e| e.status()))
            .collect();
        assert_eq!(
            errs,
            vec![
                Some(400),
                Some(400),
                Some(400),
                Some(400),
                Some(400),
                Some(400),
                None
            ]
        );
        for bad in [
            json!([]),
            json!({}),
            json!({"Operations": {}}),
            json!({"Operations": [], "failOnErrors": 0}),
        ] {
            assert_eq!(parse(&bad, 10).unwrap_err().status(), 400, "{bad}");
        }
        let dup = json!({"Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {}},
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {}}]});
        assert_eq!(parse(&dup, 10).unwrap_err().status(), 400);
        let many = json!({"Operations": vec![json!({}); 11]});
        assert_eq!(parse(&many, 10).unwrap_err().status(), 413);
    }
}
