//! The HTTP side of portcullis: the Cloudflare-compatible admin API, the audit
//! log, health checks and the OpenAPI document. Handlers are thin: they parse,
//! call the store through a service function and map errors in one place
//! ([`error::ApiError`]).
//!
//! [`router`] returns a plain [`Router`] so other route sets (the decision API)
//! can be merged beside it; [`serve`] runs any router with graceful shutdown.

pub mod acm;
pub mod audit;
pub mod auth;
pub mod body;
pub mod cloudflare;
pub mod decision_wiring;
pub mod dialect;
pub mod envelope;
pub mod error;
pub mod ops;
pub mod paging;
pub mod pingone;
pub mod ztna;

use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::{middleware, Router};
use portcullis_decision::DecisionState;
use portcullis_store::Store;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

/// What the admin handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The decision service, when it runs beside the admin API: `/readyz`
    /// reports its snapshot and PingOne decision endpoints decide against it
    /// (without it they are not mounted).
    pub decisions: Option<DecisionState>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("decisions", &self.decisions.is_some())
            .finish()
    }
}

/// The admin API (`/client/v4/…`, `/v1/accounts/{id}/audit`), behind bearer
/// tokens, plus `/healthz`, `/readyz` and `/openapi.json`.
pub fn router(store: Store) -> Router {
    router_with(AppState {
        store,
        decisions: None,
    })
}

/// [`router`] over a given state.
pub fn router_with(state: AppState) -> Router {
    let admin = cloudflare::routes()
        .merge(audit::routes())
        .merge(decision_wiring::access_requests::routes())
        .merge(ztna::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .merge(admin)
        .merge(acm::routes(state.clone()))
        .merge(pingone::routes(state.clone()))
        .merge(ops::routes())
        .fallback(ops::not_found)
        .layer(DefaultBodyLimit::max(body::MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves `app` on `listen` until SIGTERM or ctrl-c, then lets requests in
/// flight finish.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
