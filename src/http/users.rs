//! `/Users` routes (RFC 7644 §3.3 - §3.6, §3.4.3 `.search`): parse the request, call the
//! service once, render what it returns.

use http::StatusCode;
use serde_json::Value;

use super::prefer::{return_preference, ReturnPreference};
use super::query::{list_query, projection, Params};
use super::reply::{json_body, lambda_payload_prefix, list_body, Reply};
use super::Ctx;
use crate::error::ScimError;
use crate::operation::Operation;
use crate::scim::projection::Projection;
use crate::scim::resource::Version;
use crate::scim::schema::ResourceKind;
use crate::service::paging::MAX_CURSOR_CHARS;
use crate::service::{Fetched, UserList, UserView};

const KIND: ResourceKind = ResourceKind::User;

/// `op` is one of the users operations; `id` the user it addresses, if any.
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
        Operation::UsersList => list(ctx, &ctx.params).await,
        Operation::UsersSearch => {
            let params = Params::from_search_body(&json_body(ctx.req)?)?;
            list(ctx, &params).await
        }
        Operation::UsersCreate => {
            let body = json_body(ctx.req)?;
            let (proj, prefer) = write_answer(ctx, KIND)?;
            let view = service
                .create_user(caller, &body, answer(&proj, prefer))
                .await?;
            ctx.log.resource_id = Some(view.user.id.clone());
            Ok(written(ctx, StatusCode::CREATED, &view, &proj, prefer))
        }
        Operation::UsersGet => {
            let proj = projection(KIND, &ctx.params)?;
            let if_none_match = ctx.precondition("if-none-match");
            match service
                .get_user(&caller.tenant, id, &proj, if_none_match.as_ref())
                .await?
            {
                Fetched::NotModified(version) => Ok(not_modified(version)),
                Fetched::Found(view) => Ok(user_reply(ctx, StatusCode::OK, &view, &proj)),
            }
        }
        Operation::UsersReplace => {
            let body = json_body(ctx.req)?;
            let (proj, prefer) = write_answer(ctx, KIND)?;
            let view = service
                .replace_user(caller, id, &body, if_match.as_ref(), answer(&proj, prefer))
                .await?;
            Ok(written(ctx, StatusCode::OK, &view, &proj, prefer))
        }
        Operation::UsersPatch => {
            let body = json_body(ctx.req)?;
            let (proj, prefer) = write_answer(ctx, KIND)?;
            let view = service
                .patch_user(caller, id, &body, if_match.as_ref(), answer(&proj, prefer))
                .await?;
            Ok(written(ctx, StatusCode::OK, &view, &proj, prefer))
        }
        Operation::UsersDelete => {
            service.delete(caller, KIND, id, if_match.as_ref()).await?;
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        _ => Err(ScimError::not_found("No SCIM endpoint at this path.")),
    }
}

/// 304: the client's copy (this version) is current.
pub(super) fn not_modified(version: Version) -> Reply {
    let mut reply = Reply::empty(StatusCode::NOT_MODIFIED);
    reply.etag = Some(version.etag());
    reply
}

fn user_reply(ctx: &Ctx<'_>, status: StatusCode, view: &UserView, proj: &Projection) -> Reply {
    Reply::rendered(status, KIND, &view.user, view.render(&ctx.base), proj)
}

/// The projection of a write's answer, and the request's `Prefer: return=` (RFC 7240 §4.2).
pub(super) fn write_answer(
    ctx: &Ctx<'_>,
    kind: ResourceKind,
) -> Result<(Projection, Option<ReturnPreference>), ScimError> {
    Ok((
        projection(kind, &ctx.params)?,
        return_preference(ctx.req.headers()),
    ))
}

/// What the service is asked to read for the answer: nothing under `return=minimal`.
pub(super) fn answer(proj: &Projection, prefer: Option<ReturnPreference>) -> Option<&Projection> {
    (prefer != Some(ReturnPreference::Minimal)).then_some(proj)
}

/// A user write's answer: the projected user (users' default), or none under `return=minimal`.
fn written(
    ctx: &Ctx<'_>,
    status: StatusCode,
    view: &UserView,
    proj: &Projection,
    prefer: Option<ReturnPreference>,
) -> Reply {
    match prefer {
        Some(ReturnPreference::Minimal) => {
            Reply::minimal(status, &view.user, &view.render(&ctx.base))
        }
        _ => user_reply(ctx, status, view, proj).applied(prefer),
    }
}

/// A list or search answer: a ListResponse with projected users (and `nextCursor` when the
/// client pages with RFC 9865 cursors).
///
/// Lambda answers at most 6 MB: a page whose users do not all fit is cut after the last one
/// that does (RFC 7644 §3.4.2.4: `itemsPerPage` may be less than `count`), and `nextCursor`
/// continues right after it; a client paging by `startIndex` continues at
/// `startIndex + itemsPerPage`. Only a single user too large to answer at all is 400 `tooMany`.
async fn list(ctx: &Ctx<'_>, params: &Params) -> Result<Reply, ScimError> {
    let q = list_query(params)?;
    let proj = projection(KIND, params)?;
    let mut result: UserList = ctx
        .app
        .service
        .list_users(&ctx.caller.tenant, &q, &proj)
        .await?;
    let mut resources: Vec<Value> = result
        .items
        .iter()
        .map(|u| proj.apply(KIND, u.render(&ctx.base)))
        .collect();
    // The envelope with the longest cursor this page could carry (a store cursor for the
    // longest id and tenant; offset cursors are shorter).
    let envelope = list_body(
        Vec::new(),
        result.total_results,
        result.start_index,
        Some("x".repeat(MAX_CURSOR_CHARS)),
    );
    let fit = lambda_payload_prefix(&envelope, &resources);
    if fit < resources.len() {
        if fit == 0 {
            return Err(ScimError::too_many(
                "A single user of this page is too large for one response (6 MB). Ask for fewer attributes with attributes= or excludedAttributes=.",
            ));
        }
        tracing::info!(
            kept = fit,
            asked = resources.len(),
            "user page cut to fit the response limit"
        );
        resources.truncate(fit);
        result.keep_first(&ctx.caller.tenant, fit, |u| u.user.id.as_str());
    }
    Ok(Reply::ok(list_body(
        resources,
        result.total_results,
        result.start_index,
        result.next_cursor.filter(|_| q.cursor_requested),
    )))
}
