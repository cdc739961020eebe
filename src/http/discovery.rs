//! Discovery routes: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` (RFC 7644 §4).

use super::reply::Reply;
use super::{clip, Ctx};
use crate::error::ScimError;
use crate::operation::Operation;
use crate::scim::discovery;
use crate::scim::resource::list_response;
use crate::scim::urn::EVENT_ASYNCRESP as ASYNCRESP;
use crate::service::bulk::{BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD_BYTES};
use crate::service::ScimService;
use crate::settings::Profile;

/// What `/ServiceProviderConfig` advertises: exactly what the router and service implement.
pub fn capabilities() -> discovery::Capabilities {
    discovery::Capabilities {
        sort: true,
        filter_max_results: crate::service::MAX_PAGE_SIZE as u32,
        bulk: true,
        bulk_max_operations: BULK_MAX_OPERATIONS as u32,
        bulk_max_payload_bytes: BULK_MAX_PAYLOAD_BYTES as u32,
        ..discovery::Capabilities::default()
    }
}

/// What a tenant with `profile` is told (the interoperability profile's flag when strict), and
/// the events this deployment delivers (RFC 9967 §4).
fn capabilities_for(profile: Profile, service: &ScimService) -> discovery::Capabilities {
    let mode = if service.records_values() {
        "full"
    } else {
        "notice"
    };
    let mut event_uris: Vec<String> = ["create", "put", "patch"]
        .iter()
        .map(|e| format!("urn:ietf:params:scim:event:prov:{e}:{mode}"))
        .chain(
            ["delete", "activate", "deactivate"]
                .iter()
                .map(|e| format!("urn:ietf:params:scim:event:prov:{e}")),
        )
        .collect();
    let async_request = if service.accepts_async_bulk() {
        event_uris.push(ASYNCRESP.to_owned());
        // Only /Bulk honours `Prefer: respond-async`; other requests answer synchronously, as
        // RFC 7240 §2 allows.
        "request"
    } else {
        "none"
    };
    discovery::Capabilities {
        interop_profile_conformant: profile == Profile::Strict,
        security_events: Some(discovery::SecurityEvents {
            async_request,
            event_uris,
        }),
        ..capabilities()
    }
}

/// `op` is one of the discovery operations; `name` the resource type or schema it addresses.
///
/// The documents depend on the tenant's profile (issue 18): its settings are read from the
/// service's cache, so a warm tenant costs no store call.
pub async fn handle(ctx: &Ctx<'_>, op: Operation, name: Option<&str>) -> Result<Reply, ScimError> {
    let base = ctx.base.as_str();
    let name = name.unwrap_or_default();
    let profile = ctx
        .app
        .service
        .tenant_settings(&ctx.caller.tenant)
        .await?
        .profile;
    match op {
        Operation::ServiceProviderConfig => Ok(Reply::ok(discovery::service_provider_config(
            base,
            &capabilities_for(profile, &ctx.app.service),
        ))),
        Operation::ResourceTypes => {
            let all = discovery::resource_types(base);
            let n = all.len();
            Ok(Reply::ok(list_response(all, n, 1)))
        }
        Operation::ResourceType => discovery::resource_type(base, name)
            .map(Reply::ok)
            .ok_or_else(|| ScimError::not_found(format!("No resource type named {}.", clip(name)))),
        Operation::Schemas => {
            let all = discovery::schemas_for(base, profile);
            let n = all.len();
            Ok(Reply::ok(list_response(all, n, 1)))
        }
        Operation::Schema => discovery::schema_for(base, name, profile)
            .map(Reply::ok)
            .ok_or_else(|| ScimError::not_found(format!("No schema with id {}.", clip(name)))),
        _ => Err(ScimError::not_found("No SCIM endpoint at this path.")),
    }
}
