//! Parameters of list and search requests (RFC 7644 §3.4.2, §3.4.3, §3.9; RFC 9865): from the
//! query string of a GET, or from the body of a `POST .search` turned into the same form.

use serde_json::Value;

use crate::error::ScimError;
use crate::scim::filter::parse_filter;
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind;
use crate::scim::sort::parse_sort;
use crate::service::{ListQuery, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// Decoded parameters, names matched case-insensitively.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Self {
        Params(
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The parameters of a SearchRequest body (RFC 7644 §3.4.3). Attribute lists may be arrays
    /// (as the RFC says) or comma-separated strings (as some clients send).
    pub fn from_search_body(body: &Value) -> Result<Self, ScimError> {
        let Value::Object(m) = body else {
            return Err(ScimError::invalid_syntax(
                "A search request body must be a JSON object.",
            ));
        };
        let mut out = Vec::new();
        for (k, v) in m {
            let text = match v {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Array(items)
                    if k.eq_ignore_ascii_case("attributes")
                        || k.eq_ignore_ascii_case("excludedAttributes") =>
                {
                    let names: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                    names
                        .ok_or_else(|| {
                            ScimError::invalid_value(format!(
                                "{k} must be an array of attribute names."
                            ))
                        })?
                        .join(",")
                }
                _ if k.eq_ignore_ascii_case("schemas") => continue,
                _ => return Err(ScimError::invalid_value(format!("{k} has the wrong type."))),
            };
            out.push((k.clone(), text));
        }
        Ok(Params(out))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn parse_int(name: &str, raw: &str) -> Result<i64, ScimError> {
    raw.trim().parse::<i64>().map_err(|_| {
        let shown: String = raw.chars().take(40).collect();
        ScimError::invalid_value(format!("{name} must be an integer, not {shown:?}."))
    })
}

/// Build a list query. RFC 7644 §3.4.2.4: a `startIndex` below 1 is 1, a negative `count` is 0;
/// `count` above the server's maximum is capped (the provider "MAY return fewer"). A `cursor`
/// parameter, even empty, asks for RFC 9865 cursor paging.
pub fn list_query(params: &Params) -> Result<ListQuery, ScimError> {
    let start_index = match params.get("startIndex") {
        // Saturating, never wrapping, wherever usize is narrower than i64.
        Some(raw) => usize::try_from(parse_int("startIndex", raw)?.max(1)).unwrap_or(usize::MAX),
        None => 1,
    };
    let count = match params.get("count") {
        Some(raw) => parse_int("count", raw)?.clamp(0, MAX_PAGE_SIZE as i64) as usize,
        None => DEFAULT_PAGE_SIZE,
    };
    let filter = match params.get("filter") {
        Some(f) if !f.trim().is_empty() => Some(parse_filter(f)?),
        _ => None,
    };
    let sort = parse_sort(params.get("sortBy"), params.get("sortOrder"))?;
    let cursor_param = params.get("cursor");
    let cursor = cursor_param.filter(|c| !c.is_empty()).map(str::to_owned);
    Ok(ListQuery {
        filter,
        sort,
        start_index,
        count,
        cursor,
        cursor_requested: cursor_param.is_some(),
    })
}

pub fn projection(kind: ResourceKind, params: &Params) -> Result<Projection, ScimError> {
    Projection::parse(
        kind,
        params.get("attributes"),
        params.get("excludedAttributes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use serde_json::json;

    #[test]
    fn defaults_and_bounds_follow_the_rfc() {
        let q = list_query(&Params::parse(None)).unwrap();
        assert_eq!(
            (
                q.start_index,
                q.count,
                q.filter.is_none(),
                q.cursor_requested
            ),
            (1, DEFAULT_PAGE_SIZE, true, false)
        );
        let q = list_query(&Params::parse(Some("startIndex=-5&count=-1"))).unwrap();
        assert_eq!((q.start_index, q.count), (1, 0));
        let q = list_query(&Params::parse(Some("STARTINDEX=101&Count=100000"))).unwrap();
        assert_eq!((q.start_index, q.count), (101, MAX_PAGE_SIZE));
        let q = list_query(&Params::parse(Some("cursor="))).unwrap();
        assert!(q.cursor_requested && q.cursor.is_none());
    }

    #[test]
    fn non_numeric_paging_is_invalid_value() {
        for raw in [
            "count=ten",
            "startIndex=1.5",
            "count=",
            "startIndex=99999999999999999999999",
        ] {
            let e = list_query(&Params::parse(Some(raw))).unwrap_err();
            assert_eq!(e.status(), 400, "{raw}");
            assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
        }
    }

    #[test]
    fn filter_is_decoded_and_parsed() {
        let q = list_query(&Params::parse(Some(
            "filter=userName%20eq%20%22a%2Bb%40x.com%22",
        )))
        .unwrap();
        assert_eq!(q.filter.unwrap().to_string(), r#"userName eq "a+b@x.com""#);
        let e = list_query(&Params::parse(Some("filter=userName%20eq"))).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter));
    }

    #[test]
    fn search_bodies_become_the_same_parameters() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "attributes": ["userName", "name.familyName"],
            "filter": "userName sw \"b\"",
            "startIndex": 2,
            "count": 10,
            "sortBy": "userName",
            "sortOrder": "descending"
        });
        let p = Params::from_search_body(&body).unwrap();
        assert_eq!(p.get("attributes"), Some("userName,name.familyName"));
        let q = list_query(&p).unwrap();
        assert_eq!((q.start_index, q.count), (2, 10));
        assert!(q.sort.unwrap().descending);
        for bad in [
            json!([]),
            json!({"count": true}),
            json!({"attributes": [1]}),
        ] {
            assert_eq!(
                Params::from_search_body(&bad).unwrap_err().status(),
                400,
                "{bad}"
            );
        }
    }
}
