//! `/Groups` routes (RFC 7644 §3.3 - §3.6, §3.4.3 `.search`).
//!
//! Answers, and why:
//! - **PATCH answers 204 No Content** (with the new `ETag`), which Entra prefers and every IdP
//!   accepts (IDP-BEHAVIOUR.md answers table), and which needs no member read however large the
//!   group. A PATCH with `attributes` or `excludedAttributes` asks to see the result: 200 with the
//!   projected group (RFC 7644 §3.5.2).
//! - **Members are read only when the projection keeps them** (`excludedAttributes=members`,
//!   Entra's look-up, costs one read whatever the group's size).
//! - **Large groups:** a read returns at most `MAX_MEMBERS_PER_RESPONSE` members and fits a
//!   Lambda response; past either bound it is 400 `tooMany`, naming `excludedAttributes=members`
//!   and `GET /Users?filter=groups.value eq "<id>"`. A write that succeeded is never reported as
//!   an error: its response leaves `members` out instead (and logs it).

use http::{Method, StatusCode};
use serde_json::Value;

use super::query::{list_query, projection, Params};
use super::reply::{fits_lambda_payload, json_body, Reply};
use super::{clip, Ctx};
use crate::error::ScimError;
use crate::scim::members::render_group;
use crate::scim::projection::Projection;
use crate::scim::resource::{etag_matches, list_response, Resource};
use crate::scim::schema::ResourceKind;
use crate::service::groups::too_many_members;
use crate::service::GroupView;

const KIND: ResourceKind = ResourceKind::Group;

pub async fn route(ctx: &mut Ctx<'_>, rest: &[&str]) -> Result<Reply, ScimError> {
    match rest {
        [] => match *ctx.method() {
            Method::GET => {
                ctx.log.operation = "groups.list";
                list(ctx, &ctx.params).await
            }
            Method::POST => {
                ctx.log.operation = "groups.create";
                let body = json_body(ctx.req)?;
                let proj = projection(KIND, &ctx.params)?;
                let view = ctx.app.service.create_group(&ctx.tenant, &body).await?;
                ctx.log.resource_id = Some(view.group.id.clone());
                Ok(after_write(ctx, StatusCode::CREATED, view, &proj))
            }
            _ => Err(ScimError::method_not_allowed("GET, POST")),
        },
        [search] if *search == ".search" => {
            ctx.log.operation = "groups.search";
            super::only(ctx.method(), &[Method::POST], "POST")?;
            let params = Params::from_search_body(&json_body(ctx.req)?)?;
            list(ctx, &params).await
        }
        [id] => {
            ctx.log.resource_id = Some(clip(id));
            let proj = projection(KIND, &ctx.params)?;
            let if_match = ctx.header("if-match");
            let service = &ctx.app.service;
            match *ctx.method() {
                Method::GET => {
                    ctx.log.operation = "groups.get";
                    let group = service.get_group_record(&ctx.tenant, id).await?;
                    if ctx
                        .header("if-none-match")
                        .is_some_and(|h| etag_matches(h, group.version))
                    {
                        let mut reply = Reply::empty(StatusCode::NOT_MODIFIED);
                        reply.etag = Some(group.etag());
                        return Ok(reply);
                    }
                    let members = if proj.omits("members") {
                        None
                    } else {
                        Some(service.group_members(&ctx.tenant, id).await?)
                    };
                    let body = render_group(&group, members.as_deref(), &ctx.base);
                    let reply = Reply::rendered(StatusCode::OK, KIND, &group, body, &proj);
                    if !reply.body.as_ref().is_some_and(fits_lambda_payload) {
                        return Err(too_many_members());
                    }
                    Ok(reply)
                }
                Method::PUT => {
                    ctx.log.operation = "groups.replace";
                    let body = json_body(ctx.req)?;
                    let group = service
                        .replace_group(&ctx.tenant, id, &body, if_match)
                        .await?;
                    let view = with_members_after_write(ctx, group, &proj).await?;
                    Ok(after_write(ctx, StatusCode::OK, view, &proj))
                }
                Method::PATCH => {
                    ctx.log.operation = "groups.patch";
                    let body = json_body(ctx.req)?;
                    let group = service
                        .patch_group(&ctx.tenant, id, &body, if_match)
                        .await?;
                    if !wants_representation(&ctx.params) {
                        let mut reply = Reply::empty(StatusCode::NO_CONTENT);
                        reply.etag = Some(group.etag());
                        return Ok(reply);
                    }
                    let view = with_members_after_write(ctx, group, &proj).await?;
                    Ok(after_write(ctx, StatusCode::OK, view, &proj))
                }
                Method::DELETE => {
                    ctx.log.operation = "groups.delete";
                    service
                        .delete_group(&ctx.tenant, id, if_match, ctx.request_id)
                        .await?;
                    Ok(Reply::empty(StatusCode::NO_CONTENT))
                }
                _ => Err(ScimError::method_not_allowed("GET, PUT, PATCH, DELETE")),
            }
        }
        _ => Err(ScimError::not_found("No SCIM endpoint at this path.")),
    }
}

/// A PATCH shows the resulting group only when the request names what to show.
fn wants_representation(params: &Params) -> bool {
    params.get("attributes").is_some() || params.get("excludedAttributes").is_some()
}

async fn with_members_after_write(
    ctx: &Ctx<'_>,
    group: Resource,
    proj: &Projection,
) -> Result<GroupView, ScimError> {
    let members = if proj.omits("members") {
        None
    } else {
        ctx.app
            .service
            .members_after_write(&ctx.tenant, &group.id)
            .await?
    };
    Ok(GroupView { group, members })
}

/// The answer to a write that succeeded: the group, without `members` if they do not fit.
fn after_write(ctx: &Ctx<'_>, status: StatusCode, view: GroupView, proj: &Projection) -> Reply {
    let mut reply = Reply::rendered(status, KIND, &view.group, view.render(&ctx.base), proj);
    if !reply.body.as_ref().is_some_and(fits_lambda_payload) {
        tracing::warn!(group_id = %view.group.id, "group response too large; members left out");
        if let Some(Value::Object(body)) = &mut reply.body {
            body.remove("members");
        }
    }
    reply
}

/// A list or search answer.
async fn list(ctx: &Ctx<'_>, params: &Params) -> Result<Reply, ScimError> {
    let q = list_query(params)?;
    let proj = projection(KIND, params)?;
    let result = ctx
        .app
        .service
        .list_groups(&ctx.tenant, &q, !proj.omits("members"))
        .await?;
    let resources = result
        .items
        .iter()
        .map(|g| proj.apply(KIND, g.render(&ctx.base)))
        .collect();
    let mut body = list_response(resources, result.total_results, result.start_index);
    if q.cursor_requested {
        if let Some(c) = result.next_cursor {
            body["nextCursor"] = Value::String(c);
        }
    }
    if !fits_lambda_payload(&body) {
        return Err(too_many_members());
    }
    Ok(Reply::ok(body))
}
