//! `scimctl`: the admin command line (tokens, tenants, tables).

use clap::Parser;

#[derive(Parser, Debug)]
#[command(version, about = "Administer the SCIM service: tenants, tokens and tables", long_about = None)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
}
