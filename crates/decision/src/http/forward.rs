//! `/auth/forward`: the forward-auth header contract (see docs/decision-service.md).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::forward::{forward_auth, ForwardOutcome, EMAIL_HEADER, LOGIN_URL_HEADER, TOKEN_HEADER};
use crate::state::DecisionState;

pub(super) async fn handle(State(state): State<Arc<DecisionState>>, request: Request) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let outcome = forward_auth(&state, request.headers(), peer).await;
    let mut response = match &outcome {
        ForwardOutcome::Allow { .. } => StatusCode::OK.into_response(),
        ForwardOutcome::Login { .. } => StatusCode::UNAUTHORIZED.into_response(),
        ForwardOutcome::Deny => StatusCode::FORBIDDEN.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    match outcome {
        ForwardOutcome::Allow { email, token } => {
            if let Some(v) = email.and_then(|e| HeaderValue::from_str(&e).ok()) {
                headers.insert(EMAIL_HEADER, v);
            }
            if let Some(v) = token.and_then(|t| HeaderValue::from_str(&t).ok()) {
                headers.insert(TOKEN_HEADER, v);
            }
        }
        ForwardOutcome::Login { url } => {
            if let Ok(v) = HeaderValue::from_str(&url) {
                headers.insert(LOGIN_URL_HEADER, v);
            }
        }
        ForwardOutcome::Deny => {}
    }
    response
}
