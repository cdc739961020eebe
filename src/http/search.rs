//! `POST /.search` at the service root (RFC 7644 §3.4.3): users, then groups, as one list.

use super::query::{list_query, projection, Params};
use super::reply::{fits_lambda_payload, json_body, list_body, Reply};
use super::Ctx;
use crate::error::ScimError;
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
        .search_all(&ctx.caller.tenant, &q, &user_proj, &group_proj)
        .await?;
    let users = result
        .users
        .items
        .iter()
        .map(|u| user_proj.apply(ResourceKind::User, u.render(&ctx.base)));
    let groups = result
        .groups
        .items
        .iter()
        .map(|g| group_proj.apply(ResourceKind::Group, g.render(&ctx.base)));
    let body = list_body(
        users.chain(groups).collect(),
        result.total_results,
        result.start_index,
        result.next_cursor.filter(|_| q.cursor_requested),
    );
    if !fits_lambda_payload(&body) {
        return Err(too_many_members());
    }
    Ok(Reply::ok(body))
}
