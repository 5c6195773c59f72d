//! The decision service running inside the server: the store behind its traits
//! ([`StoreSource`], [`StoreKeys`], [`StoreAccessLog`], [`StoreBearer`]), the
//! refresher woken by local admin writes and, on PostgreSQL, by
//! `NOTIFY portcullis_changes`, and one router with both APIs.

pub mod access_log;
pub mod access_requests;
pub mod bearer;
pub mod follower;
pub mod keys;
pub mod source;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use ipnet::IpNet;
use portcullis_decision::{
    Clock, DecisionConfig, DecisionState, ExternalEvaluator, ForwardAuthConfig, KeyRing, Metrics,
    Refresher, SnapshotHandle, SystemClock,
};
use portcullis_store::{Backend, Store};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use access_log::StoreAccessLog;
pub use bearer::StoreBearer;
pub use keys::StoreKeys;
pub use source::StoreSource;

/// Settings of the decision service (`portcullis serve` flags).
#[derive(Debug, Clone)]
pub struct DecisionSettings {
    /// `iss` of issued tokens.
    pub issuer: String,
    /// Where forward-auth sends a user without a session.
    pub login_url: String,
    /// Peers whose `X-Forwarded-For` and country header are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Header with the client's country; `None` ignores countries from proxies.
    pub country_header: Option<String>,
    /// Access-log rows kept per account.
    pub access_log_retention: u64,
    /// The periodic sequence check that catches missed notifications.
    pub refresh_every: Duration,
}

impl DecisionSettings {
    pub const DEFAULT_ACCESS_LOG_RETENTION: u64 = 100_000;
}

impl Default for DecisionSettings {
    fn default() -> Self {
        let forward = ForwardAuthConfig::default();
        DecisionSettings {
            issuer: DecisionConfig::default().issuer,
            login_url: forward.login_url,
            trusted_proxies: forward.trusted_proxies,
            country_header: forward.country_header,
            access_log_retention: Self::DEFAULT_ACCESS_LOG_RETENTION,
            refresh_every: Duration::from_millis(500),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("signing keys: {0}")]
    Keys(String),
    #[error("external evaluation client: {0}")]
    External(String),
}

/// The running decision service; its background tasks stop when it is dropped.
pub struct Decisions {
    pub state: DecisionState,
    pub refresher: Arc<Refresher>,
    pub bearer: Arc<StoreBearer>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Decisions {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Decisions {
    /// Loads the snapshot and the keys (making the first key on first start)
    /// and starts the refresher, the change follower, the key and token
    /// reloads, the access-log writer and its retention.
    pub async fn start(store: &Store, settings: DecisionSettings) -> Result<Decisions, StartError> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let snapshots = Arc::new(SnapshotHandle::default());
        let refresher = Arc::new(Refresher::new(
            Arc::new(StoreSource::new(store.clone())),
            snapshots.clone(),
            clock.clone(),
        ));
        if let Err(e) = refresher.load_all().await {
            // The refresher keeps trying; until then decisions deny.
            tracing::error!(error = %e, "first snapshot load failed");
        }
        let keys = Arc::new(KeyRing::new(
            Arc::new(StoreKeys::new(store.clone())),
            clock.clone(),
            KeyRing::DEFAULT_MAX_TOKEN_LIFETIME,
        ));
        keys.load_or_create()
            .await
            .map_err(|e| StartError::Keys(e.to_string()))?;
        let bearer = Arc::new(StoreBearer::new(store.clone()));
        bearer.reload().await;
        let (access_log, writer) = StoreAccessLog::new(store.clone());
        let external = ExternalEvaluator::new(keys.clone(), settings.issuer.clone())
            .map_err(|e| StartError::External(e.to_string()))?;
        let state = DecisionState {
            snapshots,
            keys: keys.clone(),
            external: Arc::new(external),
            auth: bearer.clone(),
            metrics: Arc::new(Metrics::default()),
            access_log: Arc::new(access_log),
            clock,
            config: Arc::new(DecisionConfig {
                issuer: settings.issuer.clone(),
                forward: ForwardAuthConfig {
                    trusted_proxies: settings.trusted_proxies.clone(),
                    country_header: settings.country_header.clone(),
                    login_url: settings.login_url.clone(),
                },
                ..DecisionConfig::default()
            }),
        };
        let mut tasks = vec![
            tokio::spawn(refresher.clone().run(settings.refresh_every)),
            tokio::spawn(keys.run_reload(Duration::from_secs(30))),
            tokio::spawn(bearer.clone().run_reload(Duration::from_secs(5))),
            tokio::spawn(writer),
            tokio::spawn(access_log::run_retention(
                store.clone(),
                settings.access_log_retention,
                Duration::from_secs(60),
            )),
        ];
        if store.backend() == Backend::Postgres {
            tasks.push(tokio::spawn(follower::follow_changes(
                store.url().to_string(),
                refresher.signal(),
            )));
        }
        Ok(Decisions {
            state,
            refresher,
            bearer,
            tasks,
        })
    }

    /// The admin API (whose committed writes wake the refresher) and the
    /// decision API in one router.
    pub fn router(&self, store: Store) -> Router {
        let admin = crate::router_with(crate::AppState {
            store,
            decisions: Some(self.state.clone()),
        })
        .layer(middleware::from_fn_with_state(
            self.refresher.signal(),
            signal_writes,
        ));
        admin.merge(portcullis_decision::router(self.state.clone()))
    }
}

/// Put in the extensions of a response to a POST that wrote nothing (a PingOne
/// decision call), so that it does not wake the refresher.
#[derive(Debug, Clone, Copy)]
pub struct WroteNothing;

/// Wakes the refresher after every successful admin write on this node, so the
/// next decision sees it (the refresh takes milliseconds).
async fn signal_writes(State(signal): State<Arc<Notify>>, req: Request, next: Next) -> Response {
    let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let response = next.run(req).await;
    if write
        && response.status().is_success()
        && response.extensions().get::<WroteNothing>().is_none()
    {
        signal.notify_one();
    }
    response
}
