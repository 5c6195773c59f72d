//! The error bodies of the Google- and PingOne-compatible APIs. The one
//! [`ApiError`] still decides the HTTP status ([`ApiError::status`]); this module
//! only says how each dialect spells it:
//!
//! - Google (`/v1/accessPolicies`, `/v1/operations`):
//!   `{"error": {"code", "message", "status", "details"}}` with the
//!   `google.rpc.Code` name as `status` and field problems as a
//!   `google.rpc.BadRequest` detail, as Google APIs answer.
//! - PingOne (`/v1/environments/{env}/…`):
//!   `{"id", "code", "message", "details": [{"code", "target", "message"}]}`.

use axum::extract::Request;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use portcullis_formats::ValidationErrors;
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

/// The presented token and whether the call only reads. Taken out of the
/// request before any await: a request body is not `Sync`.
pub fn bearer(req: &Request) -> Result<(String, bool), ApiError> {
    let reads = matches!(*req.method(), Method::GET | Method::HEAD);
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .ok_or(ApiError::Unauthenticated)?;
    Ok((presented, reads))
}

/// The bearer check of the rest of the admin API, for routes that answer in
/// another dialect, on a token taken out by [`bearer`]: 401 without a known
/// token, 403 when a read-only token writes. Which account the path belongs to
/// is for the caller to check.
pub async fn authenticate(
    state: &AppState,
    presented: &str,
    reads: bool,
) -> Result<Principal, ApiError> {
    let principal = crate::auth::verify(&state.store, presented).await?;
    if principal.read_only && !reads {
        return Err(ApiError::ReadOnly);
    }
    Ok(principal)
}

/// Refuses a token that belongs to another account.
pub fn check_account(principal: &Principal, account: &str, label: &str) -> Result<(), ApiError> {
    match &principal.account_id {
        Some(own) if own != account => Err(ApiError::Forbidden(format!("{label}{account}"))),
        _ => Ok(()),
    }
}

impl ApiError {
    /// The `google.rpc.Code` name Google would answer with.
    pub fn google_status(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::Forbidden(_) | ApiError::ReadOnly => "PERMISSION_DENIED",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::BadBody(_)
            | ApiError::Invalid(_)
            | ApiError::Inconsistent(_)
            | ApiError::TooLarge
            | ApiError::UnsupportedMediaType => "INVALID_ARGUMENT",
            ApiError::InUse(_) => "FAILED_PRECONDITION",
            ApiError::AlreadyExists(_) => "ALREADY_EXISTS",
            ApiError::Conflict | ApiError::Stale(_) => "ABORTED",
            ApiError::Unavailable => "UNAVAILABLE",
            ApiError::Internal => "INTERNAL",
        }
    }

    /// The top-level PingOne error code.
    pub fn pingone_code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated | ApiError::Forbidden(_) | ApiError::ReadOnly => {
                "ACCESS_FAILED"
            }
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::BadBody(_) | ApiError::TooLarge | ApiError::UnsupportedMediaType => {
                "INVALID_REQUEST"
            }
            ApiError::Invalid(_) | ApiError::Inconsistent(_) => "INVALID_DATA",
            ApiError::InUse(_) => "REQUEST_FAILED",
            ApiError::AlreadyExists(_) => "UNIQUENESS_VIOLATION",
            ApiError::Conflict | ApiError::Stale(_) => "CONFLICT",
            ApiError::Unavailable => "SERVICE_UNAVAILABLE",
            ApiError::Internal => "UNEXPECTED_ERROR",
        }
    }
}

fn field_errors(e: &ApiError) -> Option<&ValidationErrors> {
    match e {
        ApiError::Invalid(errors) => Some(errors),
        _ => None,
    }
}

fn no_retry(mut response: Response, e: &ApiError) -> Response {
    if e.permanent_conflict() {
        response
            .headers_mut()
            .insert("x-should-retry", HeaderValue::from_static("false"));
    }
    response
}

/// An [`ApiError`] answered in Google's shape.
#[derive(Debug)]
pub struct GoogleError(pub ApiError);

impl<E: Into<ApiError>> From<E> for GoogleError {
    fn from(e: E) -> Self {
        GoogleError(e.into())
    }
}

impl IntoResponse for GoogleError {
    fn into_response(self) -> Response {
        let e = self.0;
        let mut error = json!({
            "code": e.status().as_u16(),
            "message": e.to_string(),
            "status": e.google_status(),
        });
        if let Some(errors) = field_errors(&e) {
            let violations: Vec<Value> = errors
                .0
                .iter()
                .map(|f| json!({"field": f.path, "description": f.message}))
                .collect();
            error["details"] = json!([{
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": violations,
            }]);
        }
        let response = (e.status(), axum::Json(json!({ "error": error }))).into_response();
        no_retry(response, &e)
    }
}

/// An [`ApiError`] answered in PingOne's shape.
#[derive(Debug)]
pub struct PingOneError(pub ApiError);

impl<E: Into<ApiError>> From<E> for PingOneError {
    fn from(e: E) -> Self {
        PingOneError(e.into())
    }
}

impl IntoResponse for PingOneError {
    fn into_response(self) -> Response {
        let e = self.0;
        let mut body = json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "code": e.pingone_code(),
            "message": e.to_string(),
        });
        if let Some(errors) = field_errors(&e) {
            let details: Vec<Value> = errors
                .0
                .iter()
                .map(|f| json!({"code": "INVALID_VALUE", "target": f.path, "message": f.message}))
                .collect();
            body["details"] = Value::Array(details);
        }
        let response = (e.status(), axum::Json(body)).into_response();
        no_retry(response, &e)
    }
}
