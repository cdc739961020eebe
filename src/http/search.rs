//! `POST /.search` at the root (RFC 7644 §3.4.3): Users, then Groups, paged as one list (see
//! `service::search`). Each resource is projected by its own type's schema.

use serde_json::Value;

use super::query::{list_query, projection, Params};
use super::reply::{fits_lambda_payload, json_body, Reply};
use super::users::list_user_json;
use super::Ctx;
use crate::error::ScimError;
use crate::scim::resource::list_response;
use crate::scim::schema::ResourceKind;
use crate::service::groups::too_many_members;

pub async fn root(ctx: &Ctx<'_>) -> Result<Reply, ScimError> {
    let params = Params::from_search_body(&json_body(ctx.req)?)?;
    let q = list_query(&params)?;
    let user_proj = projection(ResourceKind::User, &params)?;
    let group_proj = projection(ResourceKind::Group, &params)?;
    let result = ctx
        .app
        .service
        .search_all(&ctx.tenant, &q, !group_proj.omits("members"))
        .await?;
    let mut resources = Vec::with_capacity(result.users.items.len() + result.groups.items.len());
    for u in &result.users.items {
        resources.push(user_proj.apply(
            ResourceKind::User,
            list_user_json(ctx, u, &user_proj).await?,
        ));
    }
    for g in &result.groups.items {
        resources.push(group_proj.apply(ResourceKind::Group, g.render(&ctx.base)));
    }
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
