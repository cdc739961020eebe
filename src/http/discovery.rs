//! Discovery routes: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` (RFC 7644 §4).

use http::Method;

use super::reply::Reply;
use super::{clip, only, Ctx};
use crate::error::ScimError;
use crate::scim::discovery;
use crate::scim::resource::list_response;

/// What `/ServiceProviderConfig` advertises: exactly what the router and service implement.
pub fn capabilities() -> discovery::Capabilities {
    discovery::Capabilities {
        sort: true,
        filter_max_results: crate::service::MAX_PAGE_SIZE as u32,
        ..discovery::Capabilities::default()
    }
}

pub fn route(ctx: &mut Ctx<'_>, endpoint: &str, rest: &[&str]) -> Result<Reply, ScimError> {
    only(ctx.method(), &[Method::GET], "GET")?;
    let base = ctx.base.as_str();
    match (endpoint, rest) {
        ("ServiceProviderConfig", []) => {
            ctx.log.operation = "discovery.spc";
            Ok(Reply::ok(discovery::service_provider_config(
                base,
                &capabilities(),
            )))
        }
        ("ResourceTypes", []) => {
            ctx.log.operation = "discovery.resource_types";
            let all = discovery::resource_types(base);
            let n = all.len();
            Ok(Reply::ok(list_response(all, n, 1)))
        }
        ("ResourceTypes", [name]) => {
            ctx.log.operation = "discovery.resource_type";
            discovery::resource_type(base, name)
                .map(Reply::ok)
                .ok_or_else(|| {
                    ScimError::not_found(format!("No resource type named {}.", clip(name)))
                })
        }
        ("Schemas", []) => {
            ctx.log.operation = "discovery.schemas";
            let all = discovery::schemas(base);
            let n = all.len();
            Ok(Reply::ok(list_response(all, n, 1)))
        }
        ("Schemas", [id]) => {
            ctx.log.operation = "discovery.schema";
            discovery::schema(base, id)
                .map(Reply::ok)
                .ok_or_else(|| ScimError::not_found(format!("No schema with id {}.", clip(id))))
        }
        _ => {
            ctx.log.operation = "unknown";
            Err(ScimError::not_found("No SCIM endpoint at this path."))
        }
    }
}
