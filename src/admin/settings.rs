//! `scimctl tenant show|set`: a tenant's settings record (`crate::settings`) in DynamoDB.

use aws_config::BehaviorVersion;
use clap::Args;
use serde_json::json;

use super::{AdminError, Output};
use crate::settings::{TenantSettings, VersionedSettings};
use crate::store::policies::{init_seats, Seats};
use crate::store::{DynamoStore, PolicyStore, SettingsStore, StoreError};
use crate::tenant::TenantId;

/// A `set` that lost a race to another writer re-reads and applies its pairs again (they are
/// absolute values, so applying them to the newer record is what the operator asked for).
const SET_ATTEMPTS: u32 = 3;

#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Tenant id.
    #[arg(long)]
    tenant: String,
    /// The DynamoDB table, as deployed (stack output TableName).
    #[arg(long, env = "SCIM_TABLE_NAME")]
    table: String,
}

fn tenant(args: &SettingsArgs) -> Result<TenantId, AdminError> {
    TenantId::parse(&args.tenant).map_err(|e| AdminError::usage(format!("--tenant: {e}")))
}

async fn store(args: &SettingsArgs) -> DynamoStore {
    let aws = aws_config::defaults(BehaviorVersion::latest()).load().await;
    DynamoStore::new(
        crate::store::dynamo::client::client(&aws),
        args.table.clone(),
    )
}

fn read_error(e: StoreError) -> AdminError {
    AdminError::failed(format!("cannot read the tenant's settings: {e}"))
}

/// `scimctl tenant show --tenant T`: every setting, defaults included.
pub async fn show(args: SettingsArgs, output: Output) -> Result<(), AdminError> {
    let tenant = tenant(&args)?;
    let store = store(&args).await;
    let record = store
        .get_settings(&tenant)
        .await
        .map_err(read_error)?
        .unwrap_or_default();
    let seats = store.get_seats(&tenant).await.map_err(read_error)?;
    print(&tenant, &record, seats, output);
    Ok(())
}

/// `scimctl tenant set --tenant T KEY=VALUE...`: validated before anything is written; a
/// refused set writes nothing and exits 2 with every problem.
pub async fn set(args: SettingsArgs, pairs: Vec<String>, output: Output) -> Result<(), AdminError> {
    let tenant = tenant(&args)?;
    // Refuse bad pairs before any AWS call: the message must not depend on the table.
    TenantSettings::default()
        .assign(&pairs)
        .map_err(|e| AdminError::usage(format!("settings refused, nothing written:\n{e}")))?;
    let store = store(&args).await;
    for _ in 0..SET_ATTEMPTS {
        let current = store
            .get_settings(&tenant)
            .await
            .map_err(read_error)?
            .unwrap_or_default();
        let next = current
            .settings
            .assign(&pairs)
            .map_err(|e| AdminError::usage(format!("settings refused, nothing written:\n{e}")))?;
        let seats = if pairs
            .iter()
            .any(|p| p.trim_start().starts_with("seat_limit"))
        {
            // Before the settings: an instance that learns the limit must find the item.
            let seats = init_seats(&store, &tenant, next.seat_limit)
                .await
                .map_err(|e| AdminError::failed(format!("cannot count the tenant's seats: {e}")))?;
            Some(seats)
        } else {
            store.get_seats(&tenant).await.map_err(read_error)?
        };
        match store.put_settings(&tenant, &next, current.version).await {
            Ok(version) => {
                recompute(&store, &tenant, &pairs, (&current.settings, &next), output).await?;
                let record = VersionedSettings {
                    settings: next,
                    version,
                };
                print(&tenant, &record, seats, output);
                if output == Output::Text {
                    eprintln!(
                        "Running functions apply it within {} s.",
                        crate::service::SETTINGS_TTL.as_secs()
                    );
                }
                return Ok(());
            }
            Err(StoreError::VersionConflict) => continue,
            Err(e) => {
                return Err(AdminError::failed(format!(
                    "cannot write the tenant's settings: {e}"
                )))
            }
        }
    }
    Err(AdminError::failed(
        "the settings kept changing under this command (another writer); run it again",
    ))
}

/// After a change of the role keys: recompute the tenant's users here, with progress on stderr,
/// and keep one audit record of it (`service::roles::recompute_roles`).
async fn recompute(
    store: &DynamoStore,
    tenant: &TenantId,
    pairs: &[String],
    (old, new): (&TenantSettings, &TenantSettings),
    output: Output,
) -> Result<(), AdminError> {
    let keys = crate::service::roles::touches_roles(pairs);
    if keys.is_empty() || !old.role_policy().is_on() && !new.role_policy().is_on() {
        return Ok(());
    }
    let text = output == Output::Text;
    let r = crate::service::roles::recompute_roles(
        store,
        tenant,
        &crate::audit::Actor {
            token_id: "operator:scimctl".into(),
            ..crate::audit::Actor::system()
        },
        keys,
        (old, new),
        |n| {
            if text {
                eprintln!("roles: {n} users recomputed");
            }
        },
    )
    .await
    .map_err(|e| {
        AdminError::failed(format!(
            "the settings are written and answers already follow them, but the recompute was not recorded in the audit trail ({e})"
        ))
    })?;
    if text {
        eprintln!(
            "roles: {} of {} users changed role (one audit record)",
            r.changed, r.users
        );
    }
    Ok(())
}

/// The settings, and the seats used when the tenant has a limit.
fn print(tenant: &TenantId, record: &VersionedSettings, seats: Option<Seats>, output: Output) {
    let used = seats.filter(|_| record.settings.seat_limit.is_some());
    match output {
        Output::Json => println!(
            "{}",
            json!({
                "tenant": tenant.as_str(),
                "version": record.version,
                "settings": record.settings,
                "seats_used": used.map(|s| s.active),
            })
        ),
        Output::Text => {
            for (k, v) in record.settings.pairs() {
                println!("{k}={v}");
            }
            if let Some(s) = used {
                println!("seats_used={}", s.active);
            }
        }
    }
}
