//! `scimctl token ...` and `scimctl tenant ...`: SCIM tokens of tenants, kept in Secrets Manager
//! (one secret per tenant, `<secret prefix><tenant>`). The rules (rotation, overlap, expiry) are
//! in `auth::credentials`; this module parses arguments, talks to the operator and prints.
//!
//! `token generate` prints the token alone on stdout (everything else goes to stderr), so it can
//! be piped straight into a password manager or an IdP API call.

use secrecy::ExposeSecret;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{AdminError, Output};
use crate::auth::cache::CacheSettings;
use crate::auth::credentials::{
    self, CredentialStatus, CredentialStoreError, GenerateOptions, Role,
};
use crate::auth::secrets::{self, SecretsManagerTokenSource};
use crate::tenant::TenantId;

/// Where the tenants' token secrets are.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// Secrets Manager name prefix of the tenants' token secrets, as deployed (template parameter
    /// SecretPrefix, e.g. `scim/tenants/`). AWS region, credentials and AWS_ENDPOINT_URL come
    /// from the usual AWS environment and profile.
    #[arg(long, env = "SCIM_SECRET_PREFIX", value_name = "PREFIX")]
    secret_prefix: Option<String>,
}

/// The tenant a command acts on.
#[derive(Debug, Args)]
pub struct TenantArg {
    /// Tenant id: 1 to 63 characters of a-z, 0-9 and '-'.
    #[arg(long, value_parser = parse_tenant)]
    tenant: TenantId,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Generate a new token for a tenant and print it once, alone on stdout. The previous
    /// token(s) stop working (after --overlap, if given).
    Generate {
        #[command(flatten)]
        tenant: TenantArg,
        /// Keep the previous token(s) valid this much longer (e.g. 10m, 1h, 24h; at most 7
        /// days), so the IdP can be switched without failed requests.
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        overlap: Option<Duration>,
        /// Make the new token stop working after this long (e.g. 90d). Default: no expiry.
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        expires: Option<Duration>,
        /// A note to tell tokens apart in `token status` (e.g. "okta production").
        #[arg(long, value_name = "TEXT")]
        label: Option<String>,
        #[command(flatten)]
        secrets: SecretArgs,
    },
    /// Stop accepting every token of a tenant (its secret stays, with no credentials).
    Revoke {
        #[command(flatten)]
        tenant: TenantArg,
        #[command(flatten)]
        secrets: SecretArgs,
    },
    /// Show a tenant's tokens: id, label, creation time and expiry. Never a token or a hash.
    Status {
        #[command(flatten)]
        tenant: TenantArg,
        #[command(flatten)]
        secrets: SecretArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// List tenants that have a token secret (revoked ones included).
    List {
        #[command(flatten)]
        secrets: SecretArgs,
    },
    /// Print a tenant's settings (defaults included).
    Show(super::settings::SettingsArgs),
    /// Change a tenant's settings: KEY=VALUE pairs (e.g. profile=strict); invalid ones are
    /// refused and nothing is written.
    Set {
        #[command(flatten)]
        args: super::settings::SettingsArgs,
        /// KEY=VALUE pairs. Keys: profile (tolerant|strict).
        #[arg(required = true)]
        pairs: Vec<String>,
    },
    /// Print a setup link to the tenant's SCIM settings page (or revoke one with --revoke).
    SetupLink(super::setup_link::SetupLinkArgs),
    /// Write the email look-up entries of every user (once, after upgrading a table written
    /// before email look-ups). Idempotent.
    Reindex(super::reindex::ReindexArgs),
}

fn parse_tenant(s: &str) -> Result<TenantId, String> {
    TenantId::parse(s).map_err(|e| e.to_string())
}

/// The Secrets Manager store named by the arguments, with a client built from the environment.
async fn store(args: &SecretArgs) -> Result<SecretsManagerTokenSource, AdminError> {
    let prefix = args
        .secret_prefix
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            AdminError::usage(
            "the secret prefix is required: pass --secret-prefix PREFIX or set SCIM_SECRET_PREFIX \
             (the deployed SecretPrefix, e.g. scim/tenants/)",
        )
        })?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    SecretsManagerTokenSource::new(secrets::client(&sdk), prefix)
        .map_err(|e| AdminError::usage(e.to_string()))
}

fn admin_error(e: CredentialStoreError) -> AdminError {
    match e {
        CredentialStoreError::Invalid(m) => AdminError::usage(m),
        other => AdminError::failed(other.to_string()),
    }
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// `2025-06-01T10:00:00Z (in 10m)` / `(2h 5m ago)`: the relative part to its two largest units.
fn until(unix: i64) -> String {
    let delta = unix - now();
    let exact = humantime::format_duration(Duration::from_secs(delta.unsigned_abs())).to_string();
    let span = exact.split(' ').take(2).collect::<Vec<_>>().join(" ");
    if delta >= 0 {
        format!("{} (in {span})", rfc3339(unix))
    } else {
        format!("{} ({span} ago)", rfc3339(unix))
    }
}

/// How long running servers may keep accepting a removed token (the cache TTL).
fn propagation() -> String {
    humantime::format_duration(CacheSettings::default().ttl).to_string()
}

pub async fn run_token(cmd: TokenCommand, output: Output) -> Result<(), AdminError> {
    match cmd {
        TokenCommand::Generate {
            tenant: TenantArg { tenant },
            overlap,
            expires,
            label,
            secrets,
        } => {
            let store = store(&secrets).await?;
            let opts = GenerateOptions {
                overlap,
                expires,
                label,
            };
            let g = credentials::generate(&store, &tenant, &opts)
                .await
                .map_err(admin_error)?;
            match output {
                Output::Json => println!(
                    "{}",
                    json!({"tenant": tenant.as_str(), "token": g.token.expose_secret(), "id": g.id, "not_after": g.not_after})
                ),
                Output::Text => println!("{}", g.token.expose_secret()),
            }
            eprintln!(
                "Generated token {} for tenant {tenant} (secret {}). It is shown only once: paste it into the IdP now.",
                g.id,
                store.secret_name(&tenant)
            );
            if let Some(t) = g.not_after {
                eprintln!("It expires at {}.", until(t));
            }
            for (id, end) in &g.overlapping {
                let end = end.map_or_else(|| "-".to_owned(), until);
                eprintln!("Previous token {id} stays valid until {end}.");
            }
            if g.dropped > 0 {
                eprintln!(
                    "{} previous token(s) are no longer accepted (running servers stop accepting them within {}).",
                    g.dropped,
                    propagation()
                );
            }
            Ok(())
        }
        TokenCommand::Revoke {
            tenant: TenantArg { tenant },
            secrets,
        } => {
            let store = store(&secrets).await?;
            let n = credentials::revoke(&store, &tenant)
                .await
                .map_err(admin_error)?;
            match output {
                Output::Json => println!("{}", json!({"tenant": tenant.as_str(), "revoked": n})),
                Output::Text => println!(
                    "Revoked {n} token(s) of tenant {tenant}; running servers stop accepting them within {}.",
                    propagation()
                ),
            }
            Ok(())
        }
        TokenCommand::Status {
            tenant: TenantArg { tenant },
            secrets,
        } => {
            let store = store(&secrets).await?;
            let list = credentials::status(&store, &tenant).await.map_err(admin_error)?.ok_or_else(|| {
                AdminError::failed(format!(
                    "tenant {tenant} has no token secret ({}); `scimctl token generate --tenant {tenant}` creates one",
                    store.secret_name(&tenant)
                ))
            })?;
            match output {
                Output::Json => println!("{}", status_json(&tenant, &list)),
                Output::Text => print!("{}", status_text(&tenant, &list)),
            }
            Ok(())
        }
    }
}

fn status_json(tenant: &TenantId, list: &[CredentialStatus]) -> serde_json::Value {
    json!({"tenant": tenant.as_str(), "credentials": list})
}

fn status_text(tenant: &TenantId, list: &[CredentialStatus]) -> String {
    if list.is_empty() {
        return format!("Tenant {tenant} has no active token (revoked or never generated).\n");
    }
    let mut out = format!(
        "{:<10} {:<9} {:<22} {:<44} LABEL\n",
        "ID", "ROLE", "CREATED", "VALID UNTIL"
    );
    for c in list {
        let role = match c.role {
            Role::Current => "current",
            Role::Previous => "previous",
        };
        let validity = match c.not_after {
            None => "no expiry".to_owned(),
            Some(t) if c.live => until(t),
            Some(t) => format!("expired {}", until(t)),
        };
        let created = c.created.format(&Rfc3339).unwrap_or_default();
        out.push_str(&format!(
            "{:<10} {:<9} {:<22} {:<44} {}\n",
            c.id,
            role,
            created,
            validity,
            c.label.as_deref().unwrap_or("-")
        ));
    }
    out
}

pub async fn run_tenant(cmd: TenantCommand, output: Output) -> Result<(), AdminError> {
    match cmd {
        TenantCommand::List { secrets } => {
            let store = store(&secrets).await?;
            let tenants = credentials::CredentialStore::tenants(&store)
                .await
                .map_err(admin_error)?;
            match output {
                Output::Json => {
                    let names: Vec<&str> = tenants.iter().map(TenantId::as_str).collect();
                    println!("{}", json!({"tenants": names}));
                }
                Output::Text => tenants.iter().for_each(|t| println!("{t}")),
            }
            Ok(())
        }
        TenantCommand::Show(args) => super::settings::show(args, output).await,
        TenantCommand::Set { args, pairs } => super::settings::set(args, pairs, output).await,
        TenantCommand::SetupLink(args) => super::setup_link::run(args, output).await,
        TenantCommand::Reindex(args) => super::reindex::run(args, output).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(subcommand)]
        cmd: TokenCommand,
    }

    #[test]
    fn durations_and_tenants_are_parsed_by_clap() {
        let cli = Cli::try_parse_from([
            "x",
            "generate",
            "--tenant",
            "acme",
            "--overlap",
            "10m",
            "--expires",
            "90d",
            "--secret-prefix",
            "p/",
        ])
        .unwrap();
        match cli.cmd {
            TokenCommand::Generate {
                overlap,
                expires,
                tenant,
                ..
            } => {
                assert_eq!(overlap, Some(Duration::from_secs(600)));
                assert_eq!(expires, Some(Duration::from_secs(90 * 86400)));
                assert_eq!(tenant.tenant.as_str(), "acme");
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["x", "generate", "--tenant", "Acme_1"]).is_err());
        assert!(
            Cli::try_parse_from(["x", "generate", "--tenant", "acme", "--overlap", "soon"])
                .is_err()
        );
    }

    #[test]
    fn status_output_has_no_hash() {
        let c = CredentialStatus {
            id: "1a2b3c4d".into(),
            label: Some("okta".into()),
            created: OffsetDateTime::UNIX_EPOCH,
            not_after: Some(1),
            role: Role::Previous,
            live: false,
        };
        let t = TenantId::parse("acme").unwrap();
        let text = status_text(&t, std::slice::from_ref(&c));
        assert!(
            text.contains("1a2b3c4d") && text.contains("expired") && text.contains("okta"),
            "{text}"
        );
        let v = status_json(&t, &[c]);
        assert_eq!(v["credentials"][0]["role"], "previous");
        assert!(v["credentials"][0].get("hash").is_none());
    }
}
