//! `scimctl tenant setup-link`: a link to a tenant's SCIM settings page for its customer admin,
//! or the revocation of one. The link is signed with the deployed key (the secret named by the
//! stack's `SetupLinkKeySecret` output), revocations and the audit record go to the table. The
//! URL is printed alone on stdout (its credential is in the fragment); nothing else prints it.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use secrecy::ExposeSecret;
use serde_json::json;

use super::{AdminError, Output};
use crate::admin_api::health::HealthRecorder;
use crate::admin_api::{AdminActor, AdminApi, AdminCaller};
use crate::auth::setup_link::SetupLinks;
use crate::auth::{secrets, EmbeddedTokenSource};
use crate::http::admin::link_url;
use crate::store::DynamoStore;
use crate::tenant::TenantId;

#[derive(Debug, Args)]
pub struct SetupLinkArgs {
    /// Tenant id.
    #[arg(long)]
    tenant: String,
    /// How long the link works (e.g. 1h, 24h, 7d; at most 7 days).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "24h")]
    ttl: Duration,
    /// Revoke this link id instead (printed when the link was made; sessions opened with it end
    /// at once).
    #[arg(long, value_name = "LINK_ID")]
    revoke: Option<String>,
    /// The service's public SCIM base URL (stack output ScimBaseUrl, e.g.
    /// `https://api.example.com/scim/v2`); the page is at the same host.
    #[arg(long, env = "SCIM_PUBLIC_BASE_URL")]
    base_url: Option<String>,
    /// Secrets Manager secret holding the signing key (stack output SetupLinkKeySecret).
    #[arg(long, env = "SCIM_LINK_KEY_SECRET")]
    key_secret: Option<String>,
    /// The DynamoDB table (stack output TableName): revocations and the audit trail.
    #[arg(long, env = "SCIM_TABLE_NAME")]
    table: String,
}

pub async fn run(args: SetupLinkArgs, output: Output) -> Result<(), AdminError> {
    let tenant =
        TenantId::parse(&args.tenant).map_err(|e| AdminError::usage(format!("--tenant: {e}")))?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = Arc::new(DynamoStore::new(
        crate::store::dynamo::client::client(&sdk),
        args.table,
    ));
    let links = match &args.key_secret {
        Some(k) => SetupLinks::from_secret(secrets::client(&sdk), k),
        None if args.revoke.is_some() => SetupLinks::random()
            .map_err(|e| AdminError::failed(format!("random number generator: {e}")))?,
        None => {
            return Err(AdminError::usage(
                "the signing key is required: pass --key-secret NAME or set SCIM_LINK_KEY_SECRET (stack output SetupLinkKeySecret)",
            ))
        }
    };
    // Links only: the token store is never touched by this command.
    let api = AdminApi::new(
        Arc::new(EmbeddedTokenSource::new()),
        Arc::new(links),
        store.clone(),
        store.clone(),
        Arc::new(HealthRecorder::new(store)),
    );
    let caller = AdminCaller {
        actor: AdminActor::Operator("scimctl".into()),
        request_id: "-".into(),
    };
    if let Some(id) = &args.revoke {
        api.revoke_link(&caller, &tenant, id)
            .await
            .map_err(|e| AdminError::failed(e.detail().to_owned()))?;
        match output {
            Output::Json => println!("{}", json!({"tenant": tenant.as_str(), "revoked": id})),
            Output::Text => eprintln!("Setup link {id} of tenant {tenant} is revoked."),
        }
        return Ok(());
    }
    let base = args.base_url.as_deref().map(str::trim).ok_or_else(|| {
        AdminError::usage(
            "the base URL is required: pass --base-url https://<api>/scim/v2 or set SCIM_PUBLIC_BASE_URL",
        )
    })?;
    let origin = base.trim_end_matches('/').trim_end_matches("/scim/v2");
    let link = api
        .create_link(&caller, &tenant, args.ttl)
        .await
        .map_err(|e| AdminError::usage(e.detail().to_owned()))?;
    let url = link_url(origin, link.credential.expose_secret());
    match output {
        Output::Json => println!(
            "{}",
            json!({"tenant": tenant.as_str(), "url": url, "link_id": link.link_id, "expires": link.expires})
        ),
        Output::Text => println!("{url}"),
    }
    let until = time::OffsetDateTime::from_unix_timestamp(link.expires)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| link.expires.to_string());
    eprintln!(
        "Setup link {} for tenant {tenant}; it works until {until} (revoke: scimctl tenant setup-link --tenant {tenant} --revoke {}).",
        link.link_id, link.link_id
    );
    Ok(())
}
