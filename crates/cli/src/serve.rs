//! `portcullis serve` and `portcullis token create`.

use std::process::ExitCode;

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use ipnet::IpNet;
use portcullis_decision::{KeyRing, SystemClock};
use portcullis_server::decision_wiring::{DecisionSettings, Decisions, StoreKeys};
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
    /// `iss` of the application tokens this service issues.
    #[arg(long, env = "PORTCULLIS_ISSUER", default_value = "portcullis")]
    issuer: String,
    /// Where forward-auth sends users without a session (`redirect_url` is appended).
    #[arg(
        long,
        env = "PORTCULLIS_LOGIN_URL",
        default_value = "/cdn-cgi/access/login"
    )]
    login_url: String,
    /// Proxies whose X-Forwarded-For and country header are believed (CIDRs,
    /// comma-separated).
    #[arg(
        long,
        env = "PORTCULLIS_TRUSTED_PROXIES",
        value_delimiter = ',',
        default_value = "127.0.0.0/8,::1/128"
    )]
    trusted_proxies: Vec<IpNet>,
    /// Header with the client's ISO country code, believed from trusted proxies;
    /// empty to ignore.
    #[arg(
        long,
        env = "PORTCULLIS_COUNTRY_HEADER",
        default_value = "CF-IPCountry"
    )]
    country_header: String,
    /// Access-log rows kept per account (older ones are pruned in the background).
    #[arg(long, env = "PORTCULLIS_ACCESS_LOG_RETENTION", default_value_t = DecisionSettings::DEFAULT_ACCESS_LOG_RETENTION)]
    access_log_retention: u64,
    /// Milliseconds between the periodic checks for changes made on other
    /// nodes (PostgreSQL notifications usually arrive sooner).
    #[arg(long, env = "PORTCULLIS_REFRESH_MS", default_value_t = 500)]
    refresh_ms: u64,
}

#[derive(Debug, Args)]
pub struct KeysRotateArgs {
    #[arg(long, env = "PORTCULLIS_DATABASE_URL", default_value = DEFAULT_DATABASE)]
    database: String,
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// The account the token may reach; without it, every account.
    #[arg(long)]
    account: Option<String>,
    /// Only GET calls.
    #[arg(long)]
    read_only: bool,
    /// Only the decision API (`/v1/accounts/{id}/decide`); the admin API refuses it.
    #[arg(long)]
    decision_only: bool,
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
        let decisions = Decisions::start(&store, args.decision_settings())
            .await
            .map_err(|e| e.to_string())?;
        portcullis_server::serve(listener, decisions.router(store.clone()))
            .await
            .map_err(|e| format!("server error: {e}"))?;
        drop(decisions);
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

impl ServeArgs {
    fn decision_settings(&self) -> DecisionSettings {
        let country_header = self.country_header.trim();
        DecisionSettings {
            issuer: self.issuer.clone(),
            login_url: self.login_url.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            country_header: (!country_header.is_empty()).then(|| country_header.to_lowercase()),
            access_log_retention: self.access_log_retention.max(1),
            refresh_every: Duration::from_millis(self.refresh_ms.max(10)),
        }
    }
}

pub fn token_create(args: &TokenCreateArgs) -> Result<ExitCode, String> {
    runtime()?.block_on(async {
        let store = Store::connect(&args.database)
            .await
            .map_err(|e| format!("{}: {e}", args.database))?;
        let created = if args.decision_only {
            portcullis_server::auth::create_decision_token(&store, args.account.clone()).await
        } else {
            portcullis_server::auth::create_token(&store, args.account.clone(), args.read_only)
                .await
        };
        let (id, token) = created.map_err(|e| e.to_string())?;
        eprintln!("token {id} created; it is shown once:");
        println!("{token}");
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

pub fn keys_rotate(args: &KeysRotateArgs) -> Result<ExitCode, String> {
    runtime()?.block_on(async {
        let store = Store::connect(&args.database)
            .await
            .map_err(|e| format!("{}: {e}", args.database))?;
        let keys = KeyRing::new(
            Arc::new(StoreKeys::new(store.clone())),
            Arc::new(SystemClock),
            KeyRing::DEFAULT_MAX_TOKEN_LIFETIME,
        );
        keys.reload().await.map_err(|e| e.to_string())?;
        keys.rotate().await.map_err(|e| e.to_string())?;
        let active = keys
            .keys()
            .active
            .as_ref()
            .map(|k| k.kid().to_string())
            .unwrap_or_default();
        eprintln!("signing key rotated; the old keys stay published until their tokens expire");
        println!("{active}");
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}
