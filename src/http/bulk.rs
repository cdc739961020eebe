//! `POST /Bulk` (RFC 7644 §3.7): parse the BulkRequest, call the service once, render the
//! BulkResponse (always 200: each operation carries its own `status`, §3.7.3), and name every
//! operation in the request log line.

use super::prefer;
use super::reply::{json_body, Reply};
use super::Ctx;
use crate::error::ScimError;
use crate::scim::bulk;
use crate::service::bulk::{
    bulk_response, BulkOutcome, BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD_BYTES,
};

// The router reads at most MAX_BODY_BYTES; maxPayloadSize must not promise more.
const _: () = assert!(BULK_MAX_PAYLOAD_BYTES <= super::MAX_BODY_BYTES);

pub async fn handle(ctx: &mut Ctx<'_>) -> Result<Reply, ScimError> {
    // RFC 7644 §3.7.4: past maxPayloadSize the answer is 413 with a SCIM error.
    if ctx.req.body().len() > BULK_MAX_PAYLOAD_BYTES {
        return Err(ScimError::payload_too_large(BULK_MAX_PAYLOAD_BYTES));
    }
    let body = json_body(ctx.req)?;
    if prefer::respond_async(ctx.req.headers()) && ctx.app.service.accepts_async_bulk() {
        // RFC 9967 §3: 202 without a body; `Set-Txn` is the `txn` of the completion events.
        let txn = ctx
            .app
            .service
            .accept_bulk(&ctx.caller, &ctx.base, &body)
            .await?;
        ctx.log.bulk = Some(format!("accepted asynchronously, txn {txn}"));
        return Ok(Reply::accepted(txn));
    }
    let request = bulk::parse(&body, BULK_MAX_OPERATIONS)?;
    let outcomes = ctx.app.service.bulk(&ctx.caller, &request).await;
    ctx.log.bulk = Some(log_summary(&outcomes));
    Ok(Reply::ok(bulk_response(&ctx.base, &outcomes)))
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
