//! `/Users` routes (RFC 7644 §3.3 - §3.6, §3.4.3 `.search`).

use http::{Method, StatusCode};
use serde_json::Value;

use super::query::{list_query, projection, Params};
use super::reply::{json_body, Reply};
use super::{clip, Ctx};
use crate::error::ScimError;
use crate::scim::members::render_user;
use crate::scim::projection::Projection;
use crate::scim::resource::{etag_matches, list_response, Resource};
use crate::scim::schema::ResourceKind;
use crate::service::users::Created;

const KIND: ResourceKind = ResourceKind::User;

pub async fn route(ctx: &mut Ctx<'_>, rest: &[&str]) -> Result<Reply, ScimError> {
    match rest {
        [] => match *ctx.method() {
            Method::GET => {
                ctx.log.operation = "users.list";
                list(ctx, &ctx.params).await
            }
            Method::POST => {
                ctx.log.operation = "users.create";
                let body = json_body(ctx.req)?;
                let proj = projection(KIND, &ctx.params)?;
                let created = ctx.app.service.create_user(&ctx.tenant, &body).await?;
                ctx.log.resource_id = Some(created.resource().id.clone());
                match &created {
                    // A new id is in no group yet: its `groups` need no read (Okta creates
                    // users one by one on every assignment). A restored user keeps its groups.
                    Created::New(user) => {
                        let body = render_user(user, Some(&[]), &ctx.base);
                        Ok(Reply::rendered(
                            StatusCode::CREATED,
                            KIND,
                            user,
                            body,
                            &proj,
                        ))
                    }
                    Created::Restored(user) => {
                        user_reply(ctx, StatusCode::CREATED, user, &proj).await
                    }
                }
            }
            _ => Err(ScimError::method_not_allowed("GET, POST")),
        },
        [search] if *search == ".search" => {
            ctx.log.operation = "users.search";
            super::only(ctx.method(), &[Method::POST], "POST")?;
            let params = Params::from_search_body(&json_body(ctx.req)?)?;
            list(ctx, &params).await
        }
        [id] => {
            ctx.log.resource_id = Some(clip(id));
            let proj = projection(KIND, &ctx.params)?;
            let if_match = ctx.header("if-match");
            match *ctx.method() {
                Method::GET => {
                    ctx.log.operation = "users.get";
                    let user = ctx.app.service.get_user(&ctx.tenant, id).await?;
                    if ctx
                        .header("if-none-match")
                        .is_some_and(|h| etag_matches(h, user.version))
                    {
                        let mut reply = Reply::empty(StatusCode::NOT_MODIFIED);
                        reply.etag = Some(user.etag());
                        return Ok(reply);
                    }
                    user_reply(ctx, StatusCode::OK, &user, &proj).await
                }
                Method::PUT => {
                    ctx.log.operation = "users.replace";
                    let body = json_body(ctx.req)?;
                    let user = ctx
                        .app
                        .service
                        .replace_user(&ctx.tenant, id, &body, if_match)
                        .await?;
                    user_reply(ctx, StatusCode::OK, &user, &proj).await
                }
                Method::PATCH => {
                    ctx.log.operation = "users.patch";
                    let body = json_body(ctx.req)?;
                    let user = ctx
                        .app
                        .service
                        .patch_user(&ctx.tenant, id, &body, if_match)
                        .await?;
                    user_reply(ctx, StatusCode::OK, &user, &proj).await
                }
                Method::DELETE => {
                    ctx.log.operation = "users.delete";
                    ctx.app
                        .service
                        .delete_user(&ctx.tenant, id, if_match, ctx.request_id)
                        .await?;
                    Ok(Reply::empty(StatusCode::NO_CONTENT))
                }
                _ => Err(ScimError::method_not_allowed("GET, PUT, PATCH, DELETE")),
            }
        }
        _ => Err(ScimError::not_found("No SCIM endpoint at this path.")),
    }
}

/// A list or search answer: a ListResponse with projected resources (and `nextCursor` when
/// the client pages with RFC 9865 cursors).
async fn list(ctx: &Ctx<'_>, params: &Params) -> Result<Reply, ScimError> {
    let q = list_query(params)?;
    let proj = projection(KIND, params)?;
    let result = ctx.app.service.list_users(&ctx.tenant, &q).await?;
    let mut resources = Vec::with_capacity(result.items.len());
    for u in &result.items {
        resources.push(proj.apply(KIND, list_user_json(ctx, u, &proj).await?));
    }
    let mut body = list_response(resources, result.total_results, result.start_index);
    if q.cursor_requested {
        if let Some(c) = result.next_cursor {
            body["nextCursor"] = Value::String(c);
        }
    }
    Ok(Reply::ok(body))
}

/// A user in a list or search answer. Its `groups` are included only when `attributes` asks for
/// them: each user's groups are one more store read, and a page of 100 users must stay one Query
/// (plus the count), not 101. IdPs never read `groups` from lists; a client that wants them asks
/// with `attributes=groups,...` or reads the user by id.
pub(super) async fn list_user_json(
    ctx: &Ctx<'_>,
    user: &Resource,
    proj: &Projection,
) -> Result<Value, ScimError> {
    if proj.asks_for("groups") {
        user_json(ctx, user, proj).await
    } else {
        Ok(render_user(user, None, &ctx.base))
    }
}

/// A user as the client sees it: with its read-only `groups` (RFC 7643 §4.1.2), which costs
/// one more store read, made only when the projection keeps `groups`.
pub(super) async fn user_json(
    ctx: &Ctx<'_>,
    user: &Resource,
    proj: &Projection,
) -> Result<Value, ScimError> {
    let groups = if proj.omits("groups") {
        None
    } else {
        Some(ctx.app.service.user_groups(&ctx.tenant, &user.id).await?)
    };
    Ok(render_user(user, groups.as_deref(), &ctx.base))
}

async fn user_reply(
    ctx: &Ctx<'_>,
    status: StatusCode,
    user: &Resource,
    proj: &Projection,
) -> Result<Reply, ScimError> {
    let body = user_json(ctx, user, proj).await?;
    Ok(Reply::rendered(status, KIND, user, body, proj))
}
