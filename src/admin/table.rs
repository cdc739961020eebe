//! `scimctl table ...`: DynamoDB table management for local emulators and tests.

use clap::Subcommand;

use super::{AdminError, Output};

#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// Create a table with the project's key schema and indexes (production tables come from
    /// template.yaml).
    Create {
        /// Table name.
        #[arg(long)]
        table: String,
    },
}

pub async fn run(cmd: TableCommand, _output: Output) -> Result<(), AdminError> {
    match cmd {
        TableCommand::Create { .. } => {
            Err(AdminError::failed("table create is not implemented yet"))
        }
    }
}
