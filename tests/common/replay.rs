//! Replays an identity provider's request sequence (a fixture under `tests/fixtures/idp/`) through
//! the router and checks every answer, then checks that the store holds what the answers said.
//!
//! A fixture is `{"flow", "sources", "steps": [...]}`; each step is
//! `{"name", "method", "path", "headers"?, "body"?, "expect": {"status", "body_contains"?,
//! "absent"?, "bind"?}}`:
//! - `path` is written decoded (`/Users?filter=userName eq "x"`); the runner encodes the query.
//! - `{name}` in the path, headers, body and expectations is replaced by a value bound earlier.
//! - `body_contains` is partial JSON: objects must hold at least the given keys, arrays must have
//!   exactly the given length with each element matching in order, scalars must be equal.
//! - `absent` lists top-level keys, or JSON pointers (`/name/middleName`), that must not exist.
//! - `detail_contains` is text the error's `detail` must contain (a policy refusal's reason).
//! - `bind` maps a name to a JSON pointer into the answer (`"/id"`) or to `header:<name>`.
//!
//! The runner takes a [`TestApp`], not a store, so the same fixtures can run against any store.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::Value;

use super::{Answer, TestApp};

/// Checks that hold for every answer, whatever the fixture expects.
fn check_invariants(step: &str, method: &Method, a: &Answer) -> Result<(), String> {
    let no_body = a.status == StatusCode::NO_CONTENT || a.status == StatusCode::NOT_MODIFIED;
    if no_body {
        if !a.raw.is_empty() {
            return Err(format!("{step}: {} must have no body", a.status));
        }
        return Ok(());
    }
    if a.header("content-type") != Some("application/scim+json") {
        return Err(format!(
            "{step}: content-type is {:?}",
            a.header("content-type")
        ));
    }
    if a.status.is_client_error() || a.status.is_server_error() {
        if a.body["schemas"][0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
            return Err(format!(
                "{step}: error without the SCIM error body: {}",
                a.body
            ));
        }
        return Ok(());
    }
    if contains_key(&a.body, "password") {
        return Err(format!("{step}: a password was returned"));
    }
    if let Some(version) = a.body.pointer("/meta/version").and_then(Value::as_str) {
        // Every resource answer carries its ETag (ARCHITECTURE.md, IdP behaviour: answers).
        if a.header("etag") != Some(version) {
            return Err(format!(
                "{step}: ETag {:?} does not match meta.version {version}",
                a.header("etag")
            ));
        }
    }
    if a.status == StatusCode::CREATED {
        let location = a.body.pointer("/meta/location").and_then(Value::as_str);
        if location.is_none() || a.header("location") != location {
            return Err(format!("{step}: 201 without a matching Location header"));
        }
    }
    if *method == Method::GET
        && a.body["schemas"][0] == "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    {
        for key in ["totalResults", "startIndex", "itemsPerPage"] {
            if !a.body[key].is_u64() {
                return Err(format!("{step}: {key} is not a JSON integer"));
            }
        }
    }
    Ok(())
}

fn contains_key(v: &Value, key: &str) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case(key) || contains_key(v, key)),
        Value::Array(a) => a.iter().any(|v| contains_key(v, key)),
        _ => false,
    }
}

/// Whether `want` is a subset of `got` (see the module documentation); the error names the path.
pub fn subset(want: &Value, got: &Value, at: &str) -> Result<(), String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let gv = g.get(k).ok_or_else(|| format!("{at}/{k} is missing"))?;
                subset(wv, gv, &format!("{at}/{k}"))?;
            }
            Ok(())
        }
        (Value::Array(w), Value::Array(g)) => {
            if w.len() != g.len() {
                return Err(format!(
                    "{at} has {} elements, expected {}: {got}",
                    g.len(),
                    w.len()
                ));
            }
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                subset(wv, gv, &format!("{at}/{i}"))?;
            }
            Ok(())
        }
        _ if want == got => Ok(()),
        _ => Err(format!("{at} is {got}, expected {want}")),
    }
}

/// Replace `{name}` by bound values in every string of `v`.
fn substitute(v: &Value, vars: &HashMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(substitute_str(s, vars)),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, vars)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (substitute_str(k, vars), substitute(x, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn substitute_str(s: &str, vars: &HashMap<String, String>) -> String {
    let mut out = s.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// `/Users?filter=userName eq "x"&count=1` -> the same with the query form-encoded.
fn encode_path(path: &str) -> String {
    let Some((base, query)) = path.split_once('?') else {
        return path.to_owned();
    };
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => format!("{}={}", enc(k), enc(v)),
            None => enc(pair),
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

fn has_projection(path: &str) -> bool {
    path.split_once('?').is_some_and(|(_, q)| {
        q.split('&').any(|p| {
            let k = p.split('=').next().unwrap_or_default();
            k.eq_ignore_ascii_case("attributes") || k.eq_ignore_ascii_case("excludedAttributes")
        })
    })
}

/// What the last answer about each user said it is (`None`: deleted).
type Seen = BTreeMap<String, Option<Value>>;

fn record(seen: &mut Seen, method: &Method, path: &str, a: &Answer) {
    let target = path
        .split('?')
        .next()
        .and_then(|p| p.strip_prefix("/Users/"))
        .map(str::to_owned);
    if *method == Method::DELETE && a.status == StatusCode::NO_CONTENT {
        if let Some(id) = target {
            seen.insert(id, None);
        }
        return;
    }
    if has_projection(path) || !(a.status == StatusCode::OK || a.status == StatusCode::CREATED) {
        return;
    }
    if a.body.pointer("/meta/resourceType") == Some(&Value::from("User")) {
        if let Some(id) = a.body["id"].as_str() {
            seen.insert(id.to_owned(), Some(a.body.clone()));
        }
    }
}

/// Every answer of a replay, in order: its status and body.
pub type Transcript = Vec<(u16, Value)>;

/// `Err` unless the answer's `detail` contains `expect.detail_contains` (when the step has one).
pub fn check_detail(expect: &Value, body: &Value) -> Result<(), String> {
    let Some(want) = expect.get("detail_contains").and_then(Value::as_str) else {
        return Ok(());
    };
    match body["detail"].as_str() {
        Some(d) if d.contains(want) => Ok(()),
        _ => Err(format!("detail does not contain {want:?}: {body}")),
    }
}

/// Run one fixture. Returns every answer, or a description of the first mismatch.
pub async fn run_flow(t: &TestApp, fixture: &Value) -> Result<Transcript, String> {
    let flow = fixture["flow"].as_str().unwrap_or("unnamed flow");
    let steps = fixture["steps"]
        .as_array()
        .ok_or_else(|| format!("{flow}: no \"steps\" array"))?;
    let mut vars: HashMap<String, String> = HashMap::new();
    let mut seen = Seen::new();
    let mut transcript = Transcript::new();
    for (i, raw) in steps.iter().enumerate() {
        let step = substitute(raw, &vars);
        let name = format!(
            "{flow} step {} ({})",
            i + 1,
            step["name"].as_str().unwrap_or("?")
        );
        let method = step["method"]
            .as_str()
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .ok_or_else(|| format!("{name}: bad method"))?;
        let path = step["path"]
            .as_str()
            .ok_or_else(|| format!("{name}: no path"))?
            .to_owned();
        let mut req = t.request(method.clone(), &encode_path(&path));
        let mut has_content_type = false;
        if let Some(headers) = step["headers"].as_object() {
            for (k, v) in headers {
                has_content_type |= k.eq_ignore_ascii_case("content-type");
                req = req.header(k.as_str(), v.as_str().unwrap_or_default());
            }
        }
        let body = match step.get("body") {
            Some(b) => {
                if !has_content_type {
                    req = req.header("content-type", "application/scim+json");
                }
                Bytes::from(serde_json::to_vec(b).map_err(|e| e.to_string())?)
            }
            None => Bytes::new(),
        };
        let a = t
            .send(req.body(body).map_err(|e| format!("{name}: {e}"))?)
            .await;

        let expect = &step["expect"];
        let status = expect["status"]
            .as_u64()
            .ok_or_else(|| format!("{name}: expect.status missing"))?;
        if u64::from(a.status.as_u16()) != status {
            return Err(format!(
                "{name}: status {}, expected {status}: {}",
                a.status, a.body
            ));
        }
        check_invariants(&name, &method, &a)?;
        check_detail(expect, &a.body).map_err(|e| format!("{name}: {e}"))?;
        if let Some(want) = expect.get("body_contains") {
            subset(want, &a.body, "").map_err(|e| format!("{name}: {e}\nanswer: {}", a.body))?;
        }
        for key in expect["absent"].as_array().into_iter().flatten() {
            let key = key.as_str().unwrap_or_default();
            let present = if key.starts_with('/') {
                a.body.pointer(key).is_some()
            } else {
                a.body.get(key).is_some()
            };
            if present {
                return Err(format!("{name}: {key} must be absent: {}", a.body));
            }
        }
        if let Some(bind) = expect["bind"].as_object() {
            for (var, source) in bind {
                let source = source.as_str().unwrap_or_default();
                let value = match source.strip_prefix("header:") {
                    Some(h) => a.header(h).map(str::to_owned),
                    None => a.body.pointer(source).and_then(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Null => None,
                        other => Some(other.to_string()),
                    }),
                };
                let value = value.ok_or_else(|| format!("{name}: nothing at {source} to bind"))?;
                vars.insert(var.clone(), value);
            }
        }
        record(&mut seen, &method, &path, &a);
        transcript.push((a.status.as_u16(), a.body));
    }

    // The store holds exactly what the last answer about each user said.
    for (id, last) in &seen {
        let a = t.call(Method::GET, &format!("/Users/{id}"), None).await;
        match last {
            Some(body) if a.status == StatusCode::OK && a.body == *body => {}
            None if a.status == StatusCode::NOT_FOUND => {}
            _ => {
                return Err(format!(
                    "{flow}: stored user {id} is {} {}, but the last answer was {}",
                    a.status,
                    a.body,
                    last.as_ref().map_or("deleted".to_owned(), Value::to_string)
                ))
            }
        }
    }
    Ok(transcript)
}
