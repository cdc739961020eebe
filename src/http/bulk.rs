//! `POST /Bulk` (RFC 7644 §3.7): parse the BulkRequest, call the service once, render the
//! BulkResponse (always 200: each operation carries its own `status`, §3.7.3), and name every
//! operation in the request log line.

use serde_json::{json, Value};

use super::reply::{json_body, Reply};
use super::Ctx;
use crate::error::ScimError;
use crate::scim::bulk;
use crate::scim::urn;
use crate::service::bulk::{BulkOutcome, BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD_BYTES};

// The router reads at most MAX_BODY_BYTES; maxPayloadSize must not promise more.
const _: () = assert!(BULK_MAX_PAYLOAD_BYTES <= super::MAX_BODY_BYTES);

pub async fn handle(ctx: &mut Ctx<'_>) -> Result<Reply, ScimError> {
    // RFC 7644 §3.7.4: past maxPayloadSize the answer is 413 with a SCIM error.
    if ctx.req.body().len() > BULK_MAX_PAYLOAD_BYTES {
        return Err(ScimError::payload_too_large(BULK_MAX_PAYLOAD_BYTES));
    }
    let body = json_body(ctx.req)?;
    let request = bulk::parse(&body, BULK_MAX_OPERATIONS)?;
    let outcomes = ctx.app.service.bulk(&ctx.caller, &request).await;
    ctx.log.bulk = Some(log_summary(&outcomes));
    let operations: Vec<Value> = outcomes.iter().map(|o| render(&ctx.base, o)).collect();
    Ok(Reply::ok(json!({
        "schemas": [urn::BULK_RESPONSE],
        "Operations": operations,
    })))
}

/// One BulkResponse operation (RFC 7644 §3.7.3): `status` as a string as in the RFC's examples,
/// `location` and `version` when the resource is known, the SCIM error as `response` on failure.
fn render(base: &str, o: &BulkOutcome) -> Value {
    let mut v = json!({ "method": o.method });
    let obj = v.as_object_mut().expect("an object");
    if let Some(b) = &o.bulk_id {
        obj.insert("bulkId".into(), b.as_str().into());
    }
    match &o.result {
        Ok(done) => {
            if let Some(kind) = o.kind {
                obj.insert(
                    "location".into(),
                    format!("{base}{}/{}", kind.endpoint(), done.id).into(),
                );
            }
            if let Some(version) = done.version {
                obj.insert("version".into(), version.etag().into());
            }
            obj.insert("status".into(), done.status.to_string().into());
        }
        Err(e) => {
            obj.insert("status".into(), e.status().to_string().into());
            obj.insert("response".into(), e.body());
        }
    }
    v
}

/// `#<n> POST /Users 201; #<n> PATCH /Groups/<id> 412; ...`: position in the request, method,
/// path as sent (ids only, never resource data) and status, in the order they ran.
fn log_summary(outcomes: &[BulkOutcome]) -> String {
    outcomes
        .iter()
        .map(|o| {
            let status = match &o.result {
                Ok(d) => d.status,
                Err(e) => e.status(),
            };
            format!("#{} {} {} {status}", o.index + 1, o.method, o.path)
        })
        .collect::<Vec<_>>()
        .join("; ")
}
