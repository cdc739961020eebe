//! `/Groups` routes (RFC 7644 §3.3 - §3.6 for the Group resource): parse the request, call the
//! service once, render what it returns.
//!
//! PATCH answers 204 by default (Entra's preference; ARCHITECTURE.md, IdP behaviour), and no
//! member read however large the group; with `attributes` or `excludedAttributes` it answers 200
//! with the projected group. Lambda's 6 MB response limit is checked on what is rendered.

use http::StatusCode;
use serde_json::Value;

use super::prefer::ReturnPreference;
use super::query::{list_query, projection, Params};
use super::reply::{fits_lambda_payload, json_body, list_body, Reply};
use super::users::{answer, not_modified, write_answer};
use super::Ctx;
use crate::error::ScimError;
use crate::operation::Operation;
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind;
use crate::service::groups::too_many_members;
use crate::service::{Fetched, GroupView};

const KIND: ResourceKind = ResourceKind::Group;

/// `op` is one of the groups operations; `id` the group it addresses, if any.
pub async fn handle(
    ctx: &mut Ctx<'_>,
    op: Operation,
    id: Option<&str>,
) -> Result<Reply, ScimError> {
    let service = &ctx.app.service;
    let caller = &ctx.caller;
    let id = id.unwrap_or_default();
    let if_match = ctx.precondition("if-match");
    match op {
        Operation::GroupsList => list(ctx, &ctx.params).await,
        Operation::GroupsSearch => {
            let params = Params::from_search_body(&json_body(ctx.req)?)?;
            list(ctx, &params).await
        }
        Operation::GroupsCreate => {
            let body = json_body(ctx.req)?;
            let (proj, prefer) = write_answer(ctx, KIND)?;
            let view = service.create_group(caller, &body).await?;
            ctx.log.resource_id = Some(view.group.id.clone());
            Ok(after_write(ctx, StatusCode::CREATED, view, &proj, prefer))
        }
        Operation::GroupsGet => {
            let proj = projection(KIND, &ctx.params)?;
            let if_none_match = ctx.precondition("if-none-match");
            let view = match service
                .get_group(&caller.tenant, id, &proj, if_none_match.as_ref())
                .await?
            {
                Fetched::NotModified(version) => return Ok(not_modified(version)),
                Fetched::Found(view) => view,
            };
            let reply = Reply::rendered(
                StatusCode::OK,
                KIND,
                &view.group,
                view.render(&ctx.base),
                &proj,
            );
            if !reply.body.as_ref().is_some_and(fits_lambda_payload) {
                return Err(too_many_members());
            }
            Ok(reply)
        }
        Operation::GroupsReplace => {
            let body = json_body(ctx.req)?;
            let (proj, prefer) = write_answer(ctx, KIND)?;
            let view = service
                .replace_group(caller, id, &body, if_match.as_ref(), answer(&proj, prefer))
                .await?;
            Ok(after_write(ctx, StatusCode::OK, view, &proj, prefer))
        }
        Operation::GroupsPatch => {
            let body = json_body(ctx.req)?;
            let (proj, prefer) = write_answer(ctx, KIND)?;
            // Default 204 (Entra's preference); `attributes`/`excludedAttributes` or
            // `Prefer: return=representation` ask for the group, `return=minimal` never.
            let wanted = match prefer {
                Some(ReturnPreference::Minimal) => None,
                Some(ReturnPreference::Representation) => Some(&proj),
                None => wants_representation(&ctx.params).then_some(&proj),
            };
            let view = service
                .patch_group(caller, id, &body, if_match.as_ref(), wanted)
                .await?;
            if wanted.is_none() {
                let mut reply = Reply::empty(StatusCode::NO_CONTENT);
                reply.etag = Some(view.group.etag());
                reply.location = view.render(&ctx.base)["meta"]["location"]
                    .as_str()
                    .map(str::to_owned);
                return Ok(reply.applied(prefer));
            }
            Ok(after_write(ctx, StatusCode::OK, view, &proj, prefer))
        }
        Operation::GroupsDelete => {
            service.delete(caller, KIND, id, if_match.as_ref()).await?;
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        _ => Err(ScimError::not_found("No SCIM endpoint at this path.")),
    }
}

fn wants_representation(params: &Params) -> bool {
    params.get("attributes").is_some() || params.get("excludedAttributes").is_some()
}

/// The answer to a write that succeeded: past Lambda's response limit, `members` is left out
/// rather than the write turned into an error.
fn after_write(
    ctx: &Ctx<'_>,
    status: StatusCode,
    view: GroupView,
    proj: &Projection,
    prefer: Option<ReturnPreference>,
) -> Reply {
    if prefer == Some(ReturnPreference::Minimal) {
        return Reply::minimal(status, &view.group, &view.render(&ctx.base));
    }
    let mut reply =
        Reply::rendered(status, KIND, &view.group, view.render(&ctx.base), proj).applied(prefer);
    if !reply.body.as_ref().is_some_and(fits_lambda_payload) {
        tracing::warn!(group_id = %view.group.id, "group response too large; members left out");
        if let Some(Value::Object(body)) = &mut reply.body {
            body.remove("members");
        }
    }
    reply
}

async fn list(ctx: &Ctx<'_>, params: &Params) -> Result<Reply, ScimError> {
    let q = list_query(params)?;
    let proj = projection(KIND, params)?;
    let result = ctx
        .app
        .service
        .list_groups(&ctx.caller.tenant, &q, &proj)
        .await?;
    let resources = result
        .items
        .iter()
        .map(|g| proj.apply(KIND, g.render(&ctx.base)))
        .collect();
    let body = list_body(
        resources,
        result.total_results,
        result.start_index,
        result.next_cursor.filter(|_| q.cursor_requested),
    );
    if !fits_lambda_payload(&body) {
        return Err(too_many_members());
    }
    Ok(Reply::ok(body))
}
