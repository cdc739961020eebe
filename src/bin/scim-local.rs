//! The local server: the same router as the Lambda, over HTTP on 127.0.0.1.
//!
//! Prints the base URL, a bearer token and a setup link to the admin page, then serves in the
//! foreground.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use clap::Parser;
use scim_server::admin_api::{AdminActor, AdminCaller};
use scim_server::auth::token::PlainToken;
use scim_server::config::{init_tracing, Config, LogFormat};
use scim_server::tenant::TenantId;
use scim_server::{http, runtime};

/// How long the printed setup link works.
const LOCAL_LINK_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
use secrecy::ExposeSecret;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Run the SCIM 2.0 server locally (embedded store unless SCIM_TABLE_NAME is set)"
)]
struct Args {
    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = 8080)]
    port: u16,
    /// Address to bind; loopback by default.
    #[arg(long, env = "SCIM_BIND", default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Tenant that the printed token belongs to.
    #[arg(long, env = "SCIM_LOCAL_TENANT", default_value = "local")]
    tenant: String,
    /// Use this token instead of generating one (it must be a token of --tenant, as printed by a
    /// previous run), so scripts can keep a stable token.
    #[arg(long, env = "SCIM_LOCAL_TOKEN", hide_env_values = true, value_parser = plain_token)]
    token: Option<PlainToken>,
}

/// `--token` / `SCIM_LOCAL_TOKEN`, held as a secret from the moment it is parsed.
fn plain_token(s: &str) -> Result<PlainToken, std::convert::Infallible> {
    Ok(PlainToken::from(s))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let config = Config::from_env(LogFormat::Text)?;
    init_tracing(&config);
    let tenant = TenantId::parse(&args.tenant).map_err(|e| format!("--tenant: {e}"))?;
    let built = runtime::build(&config, "http").await?;

    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.bind, args.port)).await?;
    let addr = listener.local_addr()?;
    println!("SCIM base URL: http://{addr}/scim/v2");
    match (&built.embedded_tokens, &args.token) {
        (Some(tokens), Some(given)) => {
            if !tokens.install(&tenant, given) {
                return Err(format!(
                    "SCIM_LOCAL_TOKEN is not a well-formed token of tenant {tenant}"
                )
                .into());
            }
            println!("Bearer token: {}", given.expose_secret());
        }
        (Some(tokens), None) => println!(
            "Bearer token: {}",
            tokens.generate(&tenant, None)?.expose_secret()
        ),
        (None, given) => {
            if given.is_some() {
                eprintln!("note: SCIM_LOCAL_TOKEN is ignored: with SCIM_SECRET_PREFIX set, tokens are verified against Secrets Manager");
            }
            println!("Bearer token: (tokens are in Secrets Manager: create one with `scimctl token generate --tenant {tenant}`)")
        }
    }
    // A setup link for the local tenant: open it, press Generate (the token above works until
    // then). The credential is in the fragment, as in production.
    let operator = AdminCaller {
        actor: AdminActor::Operator("scim-local".into()),
        request_id: "-".into(),
    };
    match built
        .admin
        .create_link(&operator, &tenant, LOCAL_LINK_TTL)
        .await
    {
        // Tools that read only the first two lines may have closed the pipe already: a failed
        // write of this line must not stop the server (println! would panic).
        Ok(link) => {
            let _ = writeln!(
                std::io::stdout(),
                "Admin page: {}",
                http::admin::link_url(&format!("http://{addr}"), link.credential.expose_secret())
            );
        }
        Err(e) => eprintln!("note: no setup link: {}", e.detail()),
    }
    tracing::info!(store = built.store_kind, %addr, "serving");
    http::local::serve(built.app, listener).await?;
    Ok(())
}
