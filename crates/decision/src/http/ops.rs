//! `GET /cdn-cgi/access/certs` and `GET /metrics`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::metrics::SnapshotGauges;
use crate::state::DecisionState;
use crate::tokens::CertsDocument;

pub(super) async fn certs(State(state): State<Arc<DecisionState>>) -> Response {
    let mut response = Json(CertsDocument::from_keys(&state.keys.keys())).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

pub(super) async fn metrics(State(state): State<Arc<DecisionState>>) -> Response {
    let live = state.snapshots.load();
    let text = state.metrics.render(SnapshotGauges {
        sequence: live.sequence(),
        built_at: live.built_at(),
        now: state.clock.now(),
        degraded: state.snapshots.degraded(),
        source_errors: state.snapshots.source_errors(),
    });
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        text,
    )
        .into_response()
}
