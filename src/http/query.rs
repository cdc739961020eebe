//! Query-string parameters of list requests (RFC 7644 §3.4.2).

use crate::error::ScimError;
use crate::scim::filter::parse_filter;
use crate::service::{ListQuery, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// The decoded query parameters, names matched case-insensitively.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Self {
        Params(
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
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
        ScimError::invalid_value(format!(
            "{name} must be an integer, not {:?}.",
            raw.chars().take(40).collect::<String>()
        ))
    })
}

/// Build a list query. RFC 7644 §3.4.2.4: a `startIndex` below 1 is 1, a negative `count` is 0;
/// `count` above the server's maximum is capped (the provider "MAY return fewer").
pub fn list_query(params: &Params) -> Result<ListQuery, ScimError> {
    let start_index = match params.get("startIndex") {
        Some(raw) => parse_int("startIndex", raw)?.max(1) as usize,
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
    let cursor = params
        .get("cursor")
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    Ok(ListQuery {
        filter,
        start_index,
        count,
        cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds_follow_the_rfc() {
        let q = list_query(&Params::parse(None)).unwrap();
        assert_eq!(
            (q.start_index, q.count, q.filter.is_none()),
            (1, DEFAULT_PAGE_SIZE, true)
        );
        let q = list_query(&Params::parse(Some("startIndex=-5&count=-1"))).unwrap();
        assert_eq!((q.start_index, q.count), (1, 0));
        let q = list_query(&Params::parse(Some("STARTINDEX=101&Count=100000"))).unwrap();
        assert_eq!((q.start_index, q.count), (101, MAX_PAGE_SIZE));
    }

    #[test]
    fn non_numeric_paging_is_invalid_value() {
        for raw in ["count=ten", "startIndex=1.5", "count="] {
            let e = list_query(&Params::parse(Some(raw))).unwrap_err();
            assert_eq!(e.status, 400, "{raw}");
            assert_eq!(e.scim_type, Some(crate::error::ScimType::InvalidValue));
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
        assert_eq!(e.scim_type, Some(crate::error::ScimType::InvalidFilter));
    }
}
