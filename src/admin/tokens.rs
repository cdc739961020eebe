//! `scimctl token ...` and `scimctl tenant ...`: SCIM tokens of tenants.

use clap::Subcommand;

use super::{AdminError, Output};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Generate a new token for a tenant (replacing the previous one) and print it once.
    Generate {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// List tenants that have tokens.
    List,
}

pub async fn run_token(cmd: TokenCommand, _output: Output) -> Result<(), AdminError> {
    match cmd {
        TokenCommand::Generate { .. } => {
            Err(AdminError::failed("token generate is not implemented yet"))
        }
    }
}

pub async fn run_tenant(cmd: TenantCommand, _output: Output) -> Result<(), AdminError> {
    match cmd {
        TenantCommand::List => Err(AdminError::failed("tenant list is not implemented yet")),
    }
}
