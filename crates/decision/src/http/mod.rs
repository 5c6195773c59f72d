//! The decision service's HTTP surface as an axum router the server mounts.
//! Handlers are thin: parse, call the service, map the error.

mod decide;
mod fast;
mod forward;
mod ops;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use axum::Router;

use crate::state::DecisionState;

/// Largest request body (a full batch of large request contexts).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// `POST /v1/accounts/{id}/decide`, `POST /v1/accounts/{id}/decide:batch`,
/// `/auth/forward`, `GET /cdn-cgi/access/certs` and `GET /metrics`.
pub fn router(state: DecisionState) -> Router {
    Router::new()
        // One segment for both calls: `decide:batch` is a Google-style custom
        // method, not a path parameter.
        .route("/v1/accounts/{account_id}/{action}", post(decide::handle))
        .route("/auth/forward", any(forward::handle))
        .route("/cdn-cgi/access/certs", get(ops::certs))
        .route("/metrics", get(ops::metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // One shared pointer: axum clones the state for every request.
        .with_state(Arc::new(state))
}
