//! `/Bulk` (RFC 7644 §3.7): runs each operation of a BulkRequest through the same service
//! operation a single request would use, so each is atomic on its own, is checked the same way,
//! and leaves its own audit record. There is no transaction across operations (the RFC asks for
//! none): an operation that committed stays committed whatever happens to the next one.
//!
//! The service decides the order (`scim::bulk::execution_order`: referenced POSTs first), the
//! `bulkId:` substitution, `failOnErrors`, and a time budget: an operation not started within
//! [`BULK_TIME_BUDGET`] is answered 503 without being run, so the whole answer always arrives
//! inside API Gateway's 30 s and the client learns exactly which operations to send again.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::{Caller, ScimService};
use crate::error::ScimError;
use crate::scim::bulk::{self, BulkMethod, BulkRequest, Target};
use crate::scim::resource::{ETagCondition, Version};
use crate::scim::schema::ResourceKind;
use crate::scim::urn;

/// Most operations in one request (`bulk.maxOperations`). Measured on moto (ARCHITECTURE.md,
/// "/Bulk"): a full request of user creates stays well under the time budget on DynamoDB.
pub const BULK_MAX_OPERATIONS: usize = 100;
/// Largest request body (`bulk.maxPayloadSize`): the router's body limit.
pub const BULK_MAX_PAYLOAD_BYTES: usize = crate::service::MAX_BULK_BODY_BYTES;
/// No operation starts after this much time in the request. The function's timeout is 10 s
/// (template.yaml, kept: raising it for every route to suit /Bulk would let any stuck request
/// hold an instance three times longer), and one operation (a group write in chunks) may take a
/// few seconds itself. 100 user creates took 0.95 s on moto, one TransactWriteItems each.
pub const BULK_TIME_BUDGET: Duration = Duration::from_secs(6);

/// What one operation did: the answer's `status`, and the resource it addressed.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkDone {
    pub status: u16,
    pub id: String,
    /// The resource's version afterwards (`None` after a delete).
    pub version: Option<Version>,
}

/// One entry of the BulkResponse, in the order the operations ran.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOutcome {
    /// Position in the request (0-based).
    pub index: usize,
    pub method: String,
    pub bulk_id: Option<String>,
    pub path: String,
    pub kind: Option<ResourceKind>,
    pub result: Result<BulkDone, ScimError>,
}

/// The BulkResponse message (RFC 7644 §3.7.3) of `outcomes`; `base` is the SCIM base URL of the
/// request (`https://host/scim/v2`) for each operation's `location`. The synchronous answer and
/// the asynchronous completion events (`service::async_bulk`) are built from it.
pub fn bulk_response(base: &str, outcomes: &[BulkOutcome]) -> Value {
    let operations: Vec<Value> = outcomes.iter().map(|o| render(base, o)).collect();
    json!({
        "schemas": [urn::BULK_RESPONSE],
        "Operations": operations,
    })
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

impl ScimService {
    /// Run a parsed BulkRequest for `caller`. The audit record of operation n (1-based, in
    /// request order) carries the request id `<request id>/bulk/<n>`, so the trail names each
    /// operation and ties it to the request log line.
    pub async fn bulk(&self, caller: &Caller, request: &BulkRequest) -> Vec<BulkOutcome> {
        let started = Instant::now();
        let (order, circular) = bulk::execution_order(&request.operations);
        let mut resolved: HashMap<String, String> = HashMap::new();
        let mut outcomes = Vec::with_capacity(order.len());
        let mut errors = 0usize;
        for i in order {
            if request.fail_on_errors.is_some_and(|max| errors >= max) {
                // RFC 7644 §3.7.3: stop; the operations not run are not in the answer.
                break;
            }
            let op = &request.operations[i];
            let result = if circular[i] {
                Err(ScimError::conflict(
                    "This operation is part of a circular bulkId reference and cannot be ordered (RFC 7644 §3.7.1). Create the resources first, then add the references with PATCH.",
                ))
            } else if started.elapsed() >= BULK_TIME_BUDGET {
                Err(ScimError::unavailable(1).within(
                    "Not run: the bulk request ran out of time before this operation; send it again",
                ))
            } else {
                match &op.target {
                    Err(e) => Err(e.clone()),
                    Ok(t) => {
                        let mut one = caller.clone();
                        one.actor.request_id =
                            format!("{}/bulk/{}", caller.actor.request_id, i + 1);
                        self.bulk_one(&one, t, op.version.as_deref(), &resolved)
                            .await
                    }
                }
            };
            match (&result, &op.bulk_id) {
                (Ok(done), Some(b)) => {
                    resolved.insert(b.clone(), done.id.clone());
                }
                (Err(_), _) => errors += 1,
                _ => {}
            }
            outcomes.push(BulkOutcome {
                index: i,
                method: op.method_name.clone(),
                bulk_id: op.bulk_id.clone(),
                path: op.path.clone(),
                kind: op.target.as_ref().ok().map(|t| t.kind),
                result,
            });
        }
        outcomes
    }

    async fn bulk_one(
        &self,
        caller: &Caller,
        target: &Target,
        version: Option<&str>,
        resolved: &HashMap<String, String>,
    ) -> Result<BulkDone, ScimError> {
        let t = bulk::substitute(target, resolved).map_err(|r| {
            let r: String = r.chars().take(80).collect();
            ScimError::invalid_value(format!(
                "bulkId:{r} does not name a resource of this request: no operation has that bulkId, or its operation failed."
            ))
        })?;
        let if_match = version.map(ETagCondition::parse);
        let if_match = if_match.as_ref();
        let id = t.id.as_deref().unwrap_or_default();
        let empty = serde_json::Value::Null;
        let data = t.data.as_ref().unwrap_or(&empty);
        // The answer has no resource body (`None`): a user's `groups` and a group's members need
        // not be read.
        let done = |status: u16, id: &str, version: Option<Version>| BulkDone {
            status,
            id: id.to_owned(),
            version,
        };
        match (t.kind, t.method) {
            (ResourceKind::User, BulkMethod::Post) => {
                let v = self.create_user(caller, data, None).await?;
                Ok(done(201, &v.user.id, Some(v.user.version)))
            }
            (ResourceKind::User, BulkMethod::Put) => {
                let v = self.replace_user(caller, id, data, if_match, None).await?;
                Ok(done(200, id, Some(v.user.version)))
            }
            (ResourceKind::User, BulkMethod::Patch) => {
                let v = self.patch_user(caller, id, data, if_match, None).await?;
                Ok(done(200, id, Some(v.user.version)))
            }
            (ResourceKind::Group, BulkMethod::Post) => {
                let v = self.create_group(caller, data).await?;
                Ok(done(201, &v.group.id, Some(v.group.version)))
            }
            (ResourceKind::Group, BulkMethod::Put) => {
                let v = self.replace_group(caller, id, data, if_match, None).await?;
                Ok(done(200, id, Some(v.group.version)))
            }
            (ResourceKind::Group, BulkMethod::Patch) => {
                let v = self.patch_group(caller, id, data, if_match, None).await?;
                Ok(done(200, id, Some(v.group.version)))
            }
            (kind, BulkMethod::Delete) => {
                self.delete(caller, kind, id, if_match).await?;
                Ok(done(204, id, None))
            }
        }
    }
}
