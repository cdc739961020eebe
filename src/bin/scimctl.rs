//! `scimctl`: the admin command line. Thin: parsing and dispatch; the work is in
//! `scim_server::admin`.

use clap::{Parser, Subcommand};
use scim_server::admin::{self, table::TableCommand, tokens, AdminError, Output};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Administer the SCIM service: tenants, tokens and tables"
)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// SCIM bearer tokens of a tenant.
    #[command(subcommand)]
    Token(tokens::TokenCommand),
    /// Tenants.
    #[command(subcommand)]
    Tenant(tokens::TenantCommand),
    /// DynamoDB tables (for local emulators and tests).
    #[command(subcommand)]
    Table(TableCommand),
    /// What the IdPs changed in a tenant, and when (the audit trail).
    Audit(admin::audit::AuditArgs),
    /// The SCIM event feed (replay from the audit trail).
    #[command(subcommand)]
    Events(admin::events::EventsCommand),
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let output = if cli.json { Output::Json } else { Output::Text };
    let result: Result<(), AdminError> = match cli.command {
        Command::Token(c) => tokens::run_token(c, output).await,
        Command::Tenant(c) => tokens::run_tenant(c, output).await,
        Command::Table(c) => admin::table::run(c, output).await,
        Command::Audit(a) => admin::audit::run(a, output).await,
        Command::Events(c) => admin::events::run(c, output).await,
    };
    if let Err(e) = result {
        eprintln!("scimctl: {e}");
        std::process::exit(e.exit_code);
    }
}
