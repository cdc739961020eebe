//! The completion events of an asynchronous request (RFC 9967 §2.5.1.3 `misc:asyncresp`, §3).
//!
//! As RFC 9967 describes them (checked against a summary of the RFC, not its full text, which
//! was not at hand): the event's payload is what one operation of a BulkResponse would be
//! (RFC 7644 §3.7.3: `method`, `location`, `version`, `status`, and `response` with the SCIM
//! error on failure); an asynchronous bulk request gives one event per operation, whose `txn` is
//! `<Set-Txn value>:<zero-based position of the operation in the request>`.
//!
//! Our choices where the RFC leaves room: `jti` is the event's `txn` (one event per operation and
//! transaction, so a retransmission carries the same `jti`); `sub_id` is the resource the
//! operation addressed (`/Users/<id>`) when known, else `/Bulk`; private claims `tenant` and
//! `bulk_events` (how many completion events the transaction has, so a receiver knows when it
//! has them all: operations skipped by `failOnErrors` get none, RFC 7644 §3.7.3).

use serde_json::{json, Map, Value};

use super::set::Event;

pub use crate::scim::urn::EVENT_ASYNCRESP as ASYNCRESP;

/// The completion events of transaction `txn` of `tenant`: one per `(position, operation)`.
pub fn completion_events(
    txn: &str,
    tenant: &str,
    iss: &str,
    operations: &[(usize, Value)],
) -> Vec<Event> {
    let iat = time::OffsetDateTime::now_utc().unix_timestamp();
    operations
        .iter()
        .map(|(index, op)| {
            let op_txn = format!("{txn}:{index}");
            let uri = op["location"]
                .as_str()
                .and_then(relative_uri)
                .unwrap_or_else(|| "/Bulk".to_owned());
            let mut set = Map::new();
            set.insert("jti".into(), json!(op_txn));
            set.insert("iat".into(), json!(iat));
            set.insert("iss".into(), json!(iss));
            set.insert("txn".into(), json!(op_txn));
            set.insert("sub_id".into(), json!({"format": "scim", "uri": uri}));
            set.insert("tenant".into(), json!(tenant));
            set.insert("bulk_events".into(), json!(operations.len()));
            set.insert("events".into(), json!({ ASYNCRESP: op }));
            Event {
                detail_type: ASYNCRESP.to_owned(),
                detail: Value::Object(set),
            }
        })
        .collect()
}

/// `/Users/42` of `https://host/scim/v2/Users/42` (RFC 9967 §2.2: `uri` is relative).
fn relative_uri(location: &str) -> Option<String> {
    ["/Users/", "/Groups/"]
        .iter()
        .find_map(|p| location.rfind(p).map(|at| location[at..].to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_per_operation_numbered_by_position() {
        let ops = vec![
            (
                0,
                json!({"method": "POST", "bulkId": "a", "status": "201",
                       "location": "https://h/scim/v2/Users/42", "version": "W/\"1\""}),
            ),
            (
                1,
                json!({"method": "PATCH", "status": "400", "response": {"scimType": "invalidValue"}}),
            ),
        ];
        let events = completion_events("t1", "acme", "iss", &ops);
        assert_eq!(events.len(), 2);
        let d = &events[0].detail;
        assert_eq!(events[0].detail_type, ASYNCRESP);
        assert_eq!(d["txn"], "t1:0");
        assert_eq!(d["jti"], "t1:0");
        assert_eq!(d["tenant"], "acme");
        assert_eq!(d["bulk_events"], 2);
        assert_eq!(d["sub_id"], json!({"format": "scim", "uri": "/Users/42"}));
        assert_eq!(d["events"][ASYNCRESP]["status"], "201");
        let d = &events[1].detail;
        assert_eq!(d["txn"], "t1:1");
        assert_eq!(d["sub_id"]["uri"], "/Bulk");
        assert_eq!(
            d["events"][ASYNCRESP]["response"]["scimType"],
            "invalidValue"
        );
    }
}
