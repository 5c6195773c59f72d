//! `portcullis serve` and `portcullis token create`.

use std::process::ExitCode;

use clap::Args;
use portcullis_store::Store;

pub const DEFAULT_DATABASE: &str = "sqlite://portcullis.db";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PORTCULLIS_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// sqlite://PATH (created on first start) or postgres://…
    #[arg(long, env = "PORTCULLIS_DATABASE_URL", default_value = DEFAULT_DATABASE)]
    database: String,
    /// The all-accounts admin token; when unset and no token exists yet, one is
    /// generated and printed once.
    #[arg(long, env = "PORTCULLIS_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// The account the token may reach; without it, every account.
    #[arg(long)]
    account: Option<String>,
    /// Only GET calls.
    #[arg(long)]
    read_only: bool,
    #[arg(long, env = "PORTCULLIS_DATABASE_URL", default_value = DEFAULT_DATABASE)]
    database: String,
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PORTCULLIS_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // A second initialisation (in tests) is harmless.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn serve(args: &ServeArgs) -> Result<ExitCode, String> {
    init_logging();
    runtime()?.block_on(async {
        let store = Store::connect(&args.database)
            .await
            .map_err(|e| format!("{}: {e}", args.database))?;
        if let Some(token) = portcullis_server::auth::bootstrap(&store, args.admin_token.as_deref())
            .await
            .map_err(|e| e.to_string())?
        {
            println!("generated admin token (shown once, store it now): {token}");
        }
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(listen = %local, backend = ?store.backend(), "portcullis serving");
        portcullis_server::serve(listener, portcullis_server::router(store.clone()))
            .await
            .map_err(|e| format!("server error: {e}"))?;
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

pub fn token_create(args: &TokenCreateArgs) -> Result<ExitCode, String> {
    runtime()?.block_on(async {
        let store = Store::connect(&args.database)
            .await
            .map_err(|e| format!("{}: {e}", args.database))?;
        let (id, token) =
            portcullis_server::auth::create_token(&store, args.account.clone(), args.read_only)
                .await
                .map_err(|e| e.to_string())?;
        eprintln!("token {id} created; it is shown once:");
        println!("{token}");
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}
