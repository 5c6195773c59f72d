//! The decision service's errors, each with a stable code, mapped to HTTP in one
//! place ([`DecisionError::into_response`]). Forward-auth never surfaces these:
//! any internal failure there is a deny.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, Clone, thiserror::Error)]
pub enum DecisionError {
    /// The body is not JSON, or names an unknown field, or a value does not fit.
    #[error("{0}")]
    InvalidRequest(String),
    #[error("a batch holds at most {max} requests, this one {count}")]
    BatchTooLarge { count: usize, max: usize },
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("no such route")]
    NotFound,
    #[error("internal error: {0}")]
    Internal(String),
}

impl DecisionError {
    /// Stable, documented codes clients may match on.
    pub fn code(&self) -> &'static str {
        match self {
            DecisionError::InvalidRequest(_) => "invalid_request",
            DecisionError::BatchTooLarge { .. } => "batch_too_large",
            DecisionError::Unauthorized => "unauthorized",
            DecisionError::NotFound => "not_found",
            DecisionError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            DecisionError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            DecisionError::BatchTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            DecisionError::Unauthorized => StatusCode::UNAUTHORIZED,
            DecisionError::NotFound => StatusCode::NOT_FOUND,
            DecisionError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for DecisionError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Internal details go to the log, not to the caller.
        let message = match &self {
            DecisionError::Internal(detail) => {
                tracing::error!(error = %detail, "decision service internal error");
                "internal error".to_string()
            }
            other => other.to_string(),
        };
        let body = json!({
            "success": false,
            "errors": [{"code": self.code(), "message": message}],
            "messages": [],
            "result": null,
        });
        let mut response = (status, Json(body)).into_response();
        if matches!(self, DecisionError::Unauthorized) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
