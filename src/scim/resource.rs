//! The stored form of a SCIM resource and its rendering for clients.
//!
//! A [`Resource`] holds the canonical attribute map produced by `validate::normalize_resource`
//! (canonical names, extension attributes under their URN key, no read-only or write-only
//! attributes) plus the server-owned `id` and `meta` fields. Rendering adds `schemas`, `id` and
//! `meta` (RFC 7643 §3.1) and is the only place that decides what a client sees.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::schema::ResourceKind;
use super::urn;

/// A stored User or Group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub id: String,
    /// Incremented on every write; the ETag is `W/"<version>"` (RFC 7644 §3.14).
    pub version: Version,
    /// RFC 3339 timestamps (RFC 7643 §3.1 `meta.created`, `meta.lastModified`).
    pub created: String,
    pub last_modified: String,
    pub attributes: Map<String, Value>,
}

impl Resource {
    /// The User's `userName`, as the client wrote it. Empty for resources that have none.
    pub fn user_name(&self) -> &str {
        self.str_attr("userName").unwrap_or_default()
    }

    pub fn external_id(&self) -> Option<&str> {
        self.str_attr("externalId")
    }

    pub fn display_name(&self) -> Option<&str> {
        self.str_attr("displayName")
    }

    /// A User's `active` flag; a user without one is active (RFC 7643 §4.1.1 leaves the default to
    /// the provider, and every IdP treats "not deactivated" as active).
    pub fn active(&self) -> bool {
        self.attributes
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }

    pub fn etag(&self) -> String {
        self.version.etag()
    }

    fn str_attr(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(Value::as_str)
    }
}

/// A resource's version (`meta.version`, RFC 7643 §3.1): 1 when created, one more on every
/// write. It owns the ETag form (RFC 7644 §3.14), so no other code spells `W/"n"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Version(u64);

impl Version {
    /// The version of a resource just created.
    pub const FIRST: Version = Version(1);

    pub const fn new(n: u64) -> Self {
        Version(n)
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    /// The version a write leaves.
    pub const fn next(self) -> Self {
        Version(self.0.saturating_add(1))
    }

    /// The weak ETag of this version: `W/"7"`.
    pub fn etag(self) -> String {
        format!("W/\"{}\"", self.0)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<u64> for Version {
    fn from(n: u64) -> Self {
        Version(n)
    }
}

impl PartialEq<u64> for Version {
    fn eq(&self, other: &u64) -> bool {
        self.0 == *other
    }
}

/// A parsed `If-Match` or `If-None-Match` header (RFC 7232 §3.1, §3.2; RFC 7644 §3.14): parsed
/// once by the transport, so the service never sees a raw header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ETagCondition {
    /// `*`: any current version.
    Any,
    /// A list of entity tags. Weak and strong forms of one tag are the same version (clients
    /// often drop the `W/`); a tag that is not one of our versions matches nothing.
    Versions(Vec<Version>),
}

impl ETagCondition {
    pub fn parse(header: &str) -> Self {
        let mut versions = Vec::new();
        for tag in header.split(',').map(str::trim) {
            if tag == "*" {
                return ETagCondition::Any;
            }
            let tag = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
            // Only the canonical decimal form is one of our tags (`"07"` is not `W/"7"`).
            if let Some(v) = tag.parse::<u64>().ok().filter(|v| v.to_string() == tag) {
                versions.push(Version(v));
            }
        }
        ETagCondition::Versions(versions)
    }

    /// Does the condition name this version?
    pub fn matches(&self, version: Version) -> bool {
        match self {
            ETagCondition::Any => true,
            ETagCondition::Versions(vs) => vs.contains(&version),
        }
    }
}

/// The case-folded form of a name that is compared case-insensitively: a `userName` (RFC 7643
/// §4.1.1: caseExact false, uniqueness server) or a group's `displayName`. Uniqueness and
/// look-ups go by this form only, so a folded name cannot be mixed up with one as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Folded(String);

impl Folded {
    pub fn of(name: &str) -> Self {
        Folded(name.to_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The case-folded form of a `userName` (or `displayName`): see [`Folded`].
pub fn fold_user_name(user_name: &str) -> Folded {
    Folded::of(user_name)
}

/// The current time as an RFC 3339 string with millisecond precision.
///
/// Always exactly three fractional digits in UTC (`2026-11-29T10:00:05.120Z`), so that timestamps
/// sort as strings in time order: they are parts of sort keys (audit and deletion records).
pub fn now_rfc3339() -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(FORMAT)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
}

/// The JSON a client sees for a stored resource. `base_url` ends in `/scim/v2` with no slash.
pub fn render(kind: ResourceKind, resource: &Resource, base_url: &str) -> Value {
    let mut out = Map::with_capacity(resource.attributes.len() + 3);
    let mut schemas = vec![Value::String(kind.core_schema().id.to_owned())];
    for ext in kind.extensions() {
        if resource.attributes.contains_key(ext.id) {
            schemas.push(Value::String(ext.id.to_owned()));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::String(resource.id.clone()));
    for (k, v) in &resource.attributes {
        out.insert(k.clone(), v.clone());
    }
    let mut meta = Map::with_capacity(5);
    meta.insert("resourceType".into(), Value::String(kind.name().to_owned()));
    meta.insert("created".into(), Value::String(resource.created.clone()));
    meta.insert(
        "lastModified".into(),
        Value::String(resource.last_modified.clone()),
    );
    meta.insert(
        "location".into(),
        Value::String(format!("{base_url}{}/{}", kind.endpoint(), resource.id)),
    );
    meta.insert("version".into(), Value::String(resource.etag()));
    out.insert("meta".into(), Value::Object(meta));
    Value::Object(out)
}

/// An RFC 7644 §3.4.2 ListResponse.
pub fn list_response(resources: Vec<Value>, total_results: usize, start_index: usize) -> Value {
    let mut out = Map::with_capacity(5);
    out.insert(
        "schemas".into(),
        Value::Array(vec![Value::String(urn::LIST_RESPONSE.to_owned())]),
    );
    out.insert("totalResults".into(), Value::from(total_results));
    out.insert("startIndex".into(), Value::from(start_index));
    out.insert("itemsPerPage".into(), Value::from(resources.len()));
    out.insert("Resources".into(), Value::Array(resources));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_matching_accepts_weak_strong_star_and_lists() {
        let m = |h: &str, v| ETagCondition::parse(h).matches(Version(v));
        assert!(m("W/\"3\"", 3));
        assert!(m("\"3\"", 3));
        assert!(m("*", 3));
        assert!(m("W/\"1\", W/\"3\"", 3));
        assert!(!m("W/\"2\"", 3));
        assert!(!m("W/\"33\"", 3));
        assert!(!m("W/\"03\"", 3));
        assert!(!m("", 3));
    }

    #[test]
    fn user_name_folding_is_case_insensitive_for_unicode() {
        assert_eq!(
            fold_user_name("BJensen@Example.COM"),
            fold_user_name("bjensen@example.com")
        );
        assert_eq!(fold_user_name("ÉLODIE"), fold_user_name("élodie"));
    }

    #[test]
    fn now_is_rfc3339_utc() {
        let now = now_rfc3339();
        assert_eq!(now.len(), "2026-11-29T10:00:05.120Z".len(), "{now}");
        assert!(now.ends_with('Z'));
        assert!(
            time::OffsetDateTime::parse(&now, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{now}"
        );
    }
}
