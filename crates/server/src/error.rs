//! The one error type of the HTTP API, with stable numeric codes, mapped to HTTP
//! status and the Cloudflare envelope here and nowhere else.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_core::CompileError;
use portcullis_formats::{FieldError, ValidationErrors};
use portcullis_store::StoreError;
use serde_json::json;

/// Every way an API call can fail. The numeric codes are part of the API
/// contract: never renumber, only add.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401 / 10000: no bearer token, or one that is not known.
    #[error("authentication error: send Authorization: Bearer <token>")]
    Unauthenticated,
    /// 403 / 10001: the token is valid but not for this account or zone.
    #[error("this token may not access {0}")]
    Forbidden(String),
    /// 403 / 10002: a read-only token tried to write.
    #[error("this token is read-only")]
    ReadOnly,
    /// 404 / 10003.
    #[error("{0}")]
    NotFound(String),
    /// 400 / 10004: the body is not JSON, or not the expected shape; the message
    /// names the field or the line and column.
    #[error("invalid request body: {0}")]
    BadBody(String),
    /// 400 / 10005: one entry per invalid field, each `path: message`.
    #[error("{0}")]
    Invalid(ValidationErrors),
    /// 400 / 10006: the change would leave the account's policies inconsistent
    /// (dangling reference, group cycle, duplicate precedence, domain conflict).
    #[error("{0}")]
    Inconsistent(String),
    /// 409 / 10007: the object is still used by others; permanent until they change.
    #[error("{0}")]
    InUse(String),
    /// 409 / 10008: a concurrent write got in the way; retrying may succeed.
    #[error("the write conflicted with a concurrent write; retry")]
    Conflict,
    /// 413 / 10009.
    #[error("request body larger than 1 MiB")]
    TooLarge,
    /// 415 / 10010.
    #[error("unsupported content type: send application/json")]
    UnsupportedMediaType,
    /// 503 / 10011.
    #[error("the database is unavailable")]
    Unavailable,
    /// 500 / 10012: details are in the server log only.
    #[error("internal error")]
    Internal,
    /// 409 / 10013: an object with this name already exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// 409 / 10014: the write carried a stale `etag` or `version`; read again.
    #[error("{0}")]
    Stale(String),
}

impl ApiError {
    pub fn code(&self) -> u32 {
        match self {
            ApiError::Unauthenticated => 10000,
            ApiError::Forbidden(_) => 10001,
            ApiError::ReadOnly => 10002,
            ApiError::NotFound(_) => 10003,
            ApiError::BadBody(_) => 10004,
            ApiError::Invalid(_) => 10005,
            ApiError::Inconsistent(_) => 10006,
            ApiError::InUse(_) => 10007,
            ApiError::Conflict => 10008,
            ApiError::TooLarge => 10009,
            ApiError::UnsupportedMediaType => 10010,
            ApiError::Unavailable => 10011,
            ApiError::Internal => 10012,
            ApiError::AlreadyExists(_) => 10013,
            ApiError::Stale(_) => 10014,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::ReadOnly => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadBody(_) | ApiError::Invalid(_) | ApiError::Inconsistent(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::InUse(_)
            | ApiError::Conflict
            | ApiError::AlreadyExists(_)
            | ApiError::Stale(_) => StatusCode::CONFLICT,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn not_found(what: &str, id: &str) -> ApiError {
        ApiError::NotFound(format!("{what} {id:?} not found"))
    }

    pub fn field(path: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Invalid(ValidationErrors::single(path, message))
    }

    /// A 409 that retrying the same request cannot cure.
    pub fn permanent_conflict(&self) -> bool {
        matches!(
            self,
            ApiError::InUse(_) | ApiError::AlreadyExists(_) | ApiError::Stale(_)
        )
    }

    fn messages(&self) -> Vec<String> {
        match self {
            ApiError::Invalid(errors) => errors.0.iter().map(ToString::to_string).collect(),
            other => vec![other.to_string()],
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => ApiError::Conflict,
            StoreError::Unavailable => ApiError::Unavailable,
            StoreError::UnsupportedUrl(_) | StoreError::Corrupt(_) | StoreError::Internal => {
                tracing::error!(error = %e, "store error");
                ApiError::Internal
            }
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        ApiError::Invalid(e)
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Invalid(ValidationErrors(vec![e]))
    }
}

impl From<CompileError> for ApiError {
    fn from(e: CompileError) -> Self {
        ApiError::Inconsistent(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        let errors: Vec<_> = self
            .messages()
            .into_iter()
            .map(|message| json!({"code": code, "message": message}))
            .collect();
        let body = json!({"success": false, "errors": errors, "messages": [], "result": null});
        let mut response = (self.status(), axum::Json(body)).into_response();
        if self.permanent_conflict() {
            // The SDKs retry 409; this one will not go away by itself.
            response
                .headers_mut()
                .insert("x-should-retry", HeaderValue::from_static("false"));
        }
        response
    }
}
