//! Attribute projection: `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9),
//! honouring each attribute's `returned` characteristic (RFC 7643 §2.4, §7): `always` is returned
//! whatever the client asks, `never` is never returned, `request` only when asked for by name.

use serde_json::{Map, Value};

use super::filter::{matches, AttrPath, Filter};
use super::json::{get_ci, get_ci_entry, get_ci_mut};
use super::path::parse_patch_path;
use super::schema::{AttrType, AttributeDef, ResourceKind, Returned};
use super::{attribute_def, urn, ElementAttrInfo};
use crate::error::ScimError;

/// Most attribute names one projection may list.
const MAX_NAMES: usize = 100;

/// One requested attribute: a whole extension object, an attribute with an optional
/// sub-attribute, or the values of a multi-valued complex attribute that match a value filter
/// (`emails[type eq "work"]`, as Microsoft's SCIM test collection asks: ARCHITECTURE.md, IdP
/// shapes row 23).
#[derive(Debug, Clone, PartialEq)]
enum Target {
    Extension(&'static str),
    Attribute {
        ext: Option<&'static str>,
        name: String,
        sub: Option<String>,
    },
    Values {
        ext: Option<&'static str>,
        name: String,
        filter: Filter,
    },
}

impl Target {
    /// The name of a core attribute this target is about, whatever part of it it selects.
    fn core_name(&self) -> Option<&str> {
        match self {
            Target::Attribute {
                ext: None, name, ..
            }
            | Target::Values {
                ext: None, name, ..
            } => Some(name),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    include: Vec<Target>,
    exclude: Vec<Target>,
}

fn parse_target(kind: ResourceKind, raw: &str, param: &str) -> Result<Target, ScimError> {
    let raw = raw.trim();
    if let Some(ext) = urn::canonical_schema_urn(raw) {
        if kind.extensions().iter().any(|e| e.id == ext) {
            return Ok(Target::Extension(ext));
        }
    }
    let invalid = |why: String| ScimError::invalid_value(format!("{param}: {why}"));
    let path = parse_patch_path(raw).map_err(|e| invalid(e.detail().to_owned()))?;
    if path.sub_attr.is_some() {
        return Err(invalid(format!(
            "{raw:?}: a value filter '[...]' here cannot be followed by a sub-attribute."
        )));
    }
    let ext = match &path.attr.urn {
        None => None,
        Some(u) => match urn::canonical_schema_urn(u) {
            Some(c) if c == kind.core_schema().id => None,
            Some(c) if kind.extensions().iter().any(|e| e.id == c) => Some(c),
            _ => {
                return Err(invalid(format!(
                    "the schema {u} is not used by {} resources.",
                    kind.name()
                )))
            }
        },
    };
    if let Some(filter) = path.filter {
        let def = attribute_def(kind, &path.attr);
        if !def.is_some_and(|d| d.multi_valued && d.ty == AttrType::Complex) {
            return Err(invalid(format!(
                "{raw:?}: a value filter '[...]' selects values of a multi-valued complex attribute (emails, addresses, ...)."
            )));
        }
        return Ok(Target::Values {
            ext,
            name: path.attr.name,
            filter,
        });
    }
    Ok(Target::Attribute {
        ext,
        name: path.attr.name,
        sub: path.attr.sub_attr,
    })
}

/// Split a comma-separated list of names, keeping commas inside `[...]` and quoted strings
/// (`emails[type eq "a,b"]`) with their name.
fn split_names(s: &str) -> Vec<&str> {
    let (mut out, mut start, mut depth, mut quoted, mut escaped) =
        (Vec::new(), 0, 0usize, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn parse_list(kind: ResourceKind, names: &[&str], param: &str) -> Result<Vec<Target>, ScimError> {
    let names: Vec<&str> = names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect();
    if names.len() > MAX_NAMES {
        return Err(ScimError::invalid_value(format!(
            "{param}: at most {MAX_NAMES} attribute names."
        )));
    }
    names.iter().map(|n| parse_target(kind, n, param)).collect()
}

impl Projection {
    /// From the comma-separated query parameters (or the joined arrays of a SearchRequest).
    pub fn parse(
        kind: ResourceKind,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Self, ScimError> {
        fn split(s: Option<&str>) -> Vec<&str> {
            s.map(split_names).unwrap_or_default()
        }
        Ok(Projection {
            include: parse_list(kind, &split(attributes), "attributes")?,
            exclude: parse_list(kind, &split(excluded), "excludedAttributes")?,
        })
    }

    /// Does this projection leave out the top-level core attribute `name` entirely? (A group's
    /// members are only read when they will be returned.)
    pub fn omits(&self, name: &str) -> bool {
        let named = |t: &Target| t.core_name().is_some_and(|n| n.eq_ignore_ascii_case(name));
        let whole = |t: &Target| matches!(t, Target::Attribute { ext: None, name: n, sub: None } if n.eq_ignore_ascii_case(name));
        if !self.include.is_empty() {
            return !self.include.iter().any(named);
        }
        self.exclude.iter().any(whole)
    }

    /// Does `attributes` name the top-level core attribute `name` (or one of its sub-attributes)
    /// explicitly?
    pub fn asks_for(&self, name: &str) -> bool {
        self.include
            .iter()
            .any(|t| t.core_name().is_some_and(|n| n.eq_ignore_ascii_case(name)))
    }

    /// Does this projection leave out every attribute of the extension `ext` (a canonical URN)?
    /// (A user's role is only computed when it will be returned.)
    pub fn omits_extension(&self, ext: &str) -> bool {
        if !self.include.is_empty() {
            return !self.asks_for_extension(ext);
        }
        self.exclude.iter().any(|t| match t {
            Target::Extension(e) => *e == ext,
            // The roles extension has one attribute: excluding it excludes the extension.
            Target::Attribute {
                ext: Some(e),
                sub: None,
                ..
            } => *e == ext && ext == urn::ROLES_USER,
            _ => false,
        })
    }

    /// Does `attributes` name the extension `ext` or one of its attributes explicitly?
    pub fn asks_for_extension(&self, ext: &str) -> bool {
        self.include.iter().any(|t| match t {
            Target::Extension(e)
            | Target::Attribute { ext: Some(e), .. }
            | Target::Values { ext: Some(e), .. } => *e == ext,
            _ => false,
        })
    }

    /// Project a rendered resource.
    pub fn apply(&self, kind: ResourceKind, doc: Value) -> Value {
        let Value::Object(src) = doc else { return doc };
        let mut out = if self.include.is_empty() {
            src
        } else {
            let mut out = Map::new();
            for (k, v) in &src {
                if k == "schemas" || top_level_returned(kind, k) == Some(Returned::Always) {
                    out.insert(k.clone(), v.clone());
                }
            }
            for t in &self.include {
                copy_target(kind, &src, &mut out, t);
            }
            out
        };
        for t in &self.exclude {
            if !is_always(kind, t) {
                remove_target(kind, &mut out, t);
            }
        }
        drop_unrequested(kind, &mut out, &self.include);
        Value::Object(out)
    }
}

fn top_level_returned(kind: ResourceKind, key: &str) -> Option<Returned> {
    attribute_def(kind, &AttrPath::new(key)).map(|d| d.returned)
}

fn target_def(kind: ResourceKind, t: &Target) -> Option<&'static AttributeDef> {
    match t {
        Target::Extension(_) => None,
        Target::Values { ext, name, .. } => {
            let mut p = AttrPath::new(name.clone());
            p.urn = ext.map(str::to_owned);
            attribute_def(kind, &p)
        }
        Target::Attribute { ext, name, sub } => {
            let mut p = AttrPath::new(name.clone());
            p.urn = ext.map(str::to_owned);
            let def = attribute_def(kind, &p)?;
            match sub {
                Some(s) => def.sub_attribute(s),
                None => Some(def),
            }
        }
    }
}

fn is_always(kind: ResourceKind, t: &Target) -> bool {
    target_def(kind, t).is_some_and(|d| d.returned == Returned::Always)
}

/// Remove attributes whose `returned` is `never`, and `request` ones not asked for.
fn drop_unrequested(kind: ResourceKind, out: &mut Map<String, Value>, include: &[Target]) {
    out.retain(|k, _| match top_level_returned(kind, k) {
        Some(Returned::Never) => false,
        Some(Returned::Request) => include
            .iter()
            .any(|t| t.core_name().is_some_and(|n| n.eq_ignore_ascii_case(k))),
        _ => true,
    });
}

/// The object a target lives in: the resource, or its extension object.
fn container<'a>(m: &'a Map<String, Value>, ext: Option<&str>) -> Option<&'a Map<String, Value>> {
    match ext {
        None => Some(m),
        Some(e) => get_ci(m, e).and_then(Value::as_object),
    }
}

fn copy_target(
    kind: ResourceKind,
    src: &Map<String, Value>,
    out: &mut Map<String, Value>,
    t: &Target,
) {
    if let Target::Values { ext, name, filter } = t {
        let (Some(def), Some((key, Value::Array(items)))) = (
            target_def(kind, t),
            container(src, *ext).and_then(|c| get_ci_entry(c, name)),
        ) else {
            return;
        };
        let kept = matching_values(items, filter, def, true);
        let dst = match ext {
            None => out,
            Some(e) => match out
                .entry((*e).to_owned())
                .or_insert_with(|| Value::Object(Map::new()))
            {
                Value::Object(m) => m,
                _ => return,
            },
        };
        // A broader request for the same attribute (`emails`, `emails.value`) keeps its answer.
        if !kept.is_empty() && !dst.contains_key(key) {
            dst.insert(key.clone(), Value::Array(kept));
        }
        return;
    }
    let (ext, name, sub) = match t {
        Target::Values { .. } => return,
        Target::Extension(e) => {
            if let Some((k, v)) = get_ci_entry(src, e) {
                out.insert(k.clone(), v.clone());
            }
            return;
        }
        Target::Attribute { ext, name, sub } => (*ext, name, sub),
    };
    let Some((key, value)) = container(src, ext).and_then(|c| get_ci_entry(c, name)) else {
        return;
    };
    let dst = match ext {
        None => out,
        Some(e) => match out
            .entry(e.to_owned())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            Value::Object(m) => m,
            _ => return,
        },
    };
    let Some(sub) = sub else {
        dst.insert(key.clone(), value.clone());
        return;
    };
    match value {
        Value::Object(obj) => {
            if let Some((sk, sv)) = get_ci_entry(obj, sub) {
                let slot = dst
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(o) = slot {
                    o.insert(sk.clone(), sv.clone());
                }
            }
        }
        Value::Array(items) => {
            // Multi-valued: keep each element, with only the requested sub-attributes.
            let slot = dst
                .entry(key.clone())
                .or_insert_with(|| Value::Array(vec![Value::Object(Map::new()); items.len()]));
            if let Value::Array(out_items) = slot {
                for (item, out_item) in items.iter().zip(out_items.iter_mut()) {
                    if let (Some((sk, sv)), Value::Object(o)) = (get_ci_entry(item, sub), out_item)
                    {
                        o.insert(sk.clone(), sv.clone());
                    }
                }
            }
        }
        _ => {}
    }
}

/// The elements of `items` that match (`keep`) or do not match `filter`, evaluated per element
/// with the sub-attributes' characteristics.
fn matching_values(
    items: &[Value],
    filter: &Filter,
    def: &'static AttributeDef,
    keep: bool,
) -> Vec<Value> {
    let info = ElementAttrInfo(def);
    items
        .iter()
        .filter(|v| (v.is_object() && matches(filter, v, &info)) == keep)
        .cloned()
        .collect()
}

fn remove_target(kind: ResourceKind, out: &mut Map<String, Value>, t: &Target) {
    if let Target::Values { ext, name, filter } = t {
        let Some(def) = target_def(kind, t) else {
            return;
        };
        let holder = match ext {
            None => out,
            Some(e) => match get_ci_mut(out, e) {
                Some(Value::Object(m)) => m,
                _ => return,
            },
        };
        if let Some(Value::Array(items)) = get_ci_mut(holder, name) {
            *items = matching_values(items, filter, def, false);
            if items.is_empty() {
                holder.retain(|k, _| !k.eq_ignore_ascii_case(name));
            }
        }
        return;
    }
    let (ext, name, sub) = match t {
        Target::Values { .. } => return,
        Target::Extension(e) => {
            out.retain(|k, _| !k.eq_ignore_ascii_case(e));
            return;
        }
        Target::Attribute { ext, name, sub } => (*ext, name, sub),
    };
    let holder = match ext {
        None => out,
        Some(e) => match get_ci_mut(out, e) {
            Some(Value::Object(m)) => m,
            _ => return,
        },
    };
    match sub {
        None => holder.retain(|k, _| !k.eq_ignore_ascii_case(name)),
        Some(s) => {
            if let Some(v) = get_ci_mut(holder, name) {
                match v {
                    Value::Object(o) => o.retain(|k, _| !k.eq_ignore_ascii_case(s)),
                    Value::Array(items) => {
                        for i in items.iter_mut().filter_map(Value::as_object_mut) {
                            i.retain(|k, _| !k.eq_ignore_ascii_case(s));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [urn::USER, urn::ENTERPRISE_USER],
            "id": "2819c223",
            "externalId": "701984",
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@example.com", "type": "work", "primary": true}, {"value": "b@home.org", "type": "home"}],
            "active": true,
            urn::ENTERPRISE_USER: {"department": "Tour Operations", "employeeNumber": "701984"},
            "meta": {"resourceType": "User", "version": "W/\"1\""}
        })
    }

    fn project(attrs: Option<&str>, excluded: Option<&str>) -> Value {
        Projection::parse(ResourceKind::User, attrs, excluded)
            .unwrap()
            .apply(ResourceKind::User, user())
    }

    #[test]
    fn attributes_keep_only_what_is_asked_plus_always_returned() {
        let p = project(Some("userName,name.familyName,emails.value"), None);
        assert_eq!(
            p,
            json!({
                "schemas": [urn::USER, urn::ENTERPRISE_USER],
                "id": "2819c223",
                "userName": "bjensen@example.com",
                "name": {"familyName": "Jensen"},
                "emails": [{"value": "b@example.com"}, {"value": "b@home.org"}]
            })
        );
    }

    #[test]
    fn urn_qualified_names_and_whole_extensions() {
        let p = project(
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
            None,
        );
        assert_eq!(
            p[urn::ENTERPRISE_USER],
            json!({"department": "Tour Operations"})
        );
        assert!(p.get("userName").is_none());
        let p = project(Some(urn::ENTERPRISE_USER), None);
        assert_eq!(p[urn::ENTERPRISE_USER]["employeeNumber"], "701984");
        let p = project(
            Some("urn:ietf:params:scim:schemas:core:2.0:User:userName"),
            None,
        );
        assert_eq!(p["userName"], "bjensen@example.com");
    }

    #[test]
    fn excluded_attributes_never_remove_always_returned_ones() {
        let p = project(None, Some("emails,ID,name.givenName,meta"));
        assert!(p.get("emails").is_none());
        assert!(p.get("meta").is_none());
        assert_eq!(p["id"], "2819c223");
        assert_eq!(p["name"], json!({"familyName": "Jensen"}));
        assert_eq!(p["userName"], "bjensen@example.com");
    }

    #[test]
    fn names_are_case_insensitive_and_bad_names_are_invalid_value() {
        let p = project(Some("USERNAME"), None);
        assert_eq!(p["userName"], "bjensen@example.com");
        for bad in [
            "emails[type eq \"work\"].value",
            "userName[type eq \"work\"]",
            "name[givenName pr]",
            "emails[type eq ]",
            "urn:nope:Thing:x",
            "a b",
            "9abc",
        ] {
            let e = Projection::parse(ResourceKind::User, Some(bad), None).unwrap_err();
            assert_eq!(
                e.scim_type(),
                Some(crate::error::ScimType::InvalidValue),
                "{bad}"
            );
        }
    }

    /// IdP shapes row 23: `attributes=emails[type eq "work"]` keeps only the matching values;
    /// `excludedAttributes` drops them.
    #[test]
    fn value_filters_select_values_of_multi_valued_attributes() {
        let p = project(Some(r#"emails[type eq "work"]"#), None);
        assert_eq!(
            p,
            json!({
                "schemas": [urn::USER, urn::ENTERPRISE_USER],
                "id": "2819c223",
                "emails": [{"value": "b@example.com", "type": "work", "primary": true}]
            })
        );
        // Bare values, case-insensitive names and values, and other names beside it.
        let p = project(
            Some("userName,EMAILS[TYPE eq HOME or value ew \"x,y\"]"),
            None,
        );
        assert_eq!(
            p["emails"],
            json!([{"value": "b@home.org", "type": "home"}])
        );
        assert_eq!(p["userName"], "bjensen@example.com");
        // Nothing matches: the attribute is unassigned, so left out.
        let p = project(Some(r#"emails[type eq "other"]"#), None);
        assert!(p.get("emails").is_none());
        // A broader request for the same attribute wins.
        let p = project(Some(r#"emails,emails[type eq "work"]"#), None);
        assert_eq!(p["emails"].as_array().map(Vec::len), Some(2));

        let p = project(None, Some(r#"emails[type eq "work"]"#));
        assert_eq!(
            p["emails"],
            json!([{"value": "b@home.org", "type": "home"}])
        );
        assert_eq!(p["userName"], "bjensen@example.com");
        let p = project(None, Some(r#"emails[value pr]"#));
        assert!(p.get("emails").is_none());
        let g = ResourceKind::Group;
        assert!(
            !Projection::parse(g, Some(r#"members[type eq "User"]"#), None)
                .unwrap()
                .omits("members")
        );
    }

    #[test]
    fn omits_tells_whether_members_are_needed() {
        let g = ResourceKind::Group;
        assert!(Projection::parse(g, None, Some("members"))
            .unwrap()
            .omits("members"));
        assert!(Projection::parse(g, Some("displayName"), None)
            .unwrap()
            .omits("members"));
        assert!(!Projection::parse(g, Some("members.value"), None)
            .unwrap()
            .omits("members"));
        assert!(!Projection::parse(g, None, None).unwrap().omits("members"));
        assert!(!Projection::parse(g, None, Some("members.display"))
            .unwrap()
            .omits("members"));
    }
}
