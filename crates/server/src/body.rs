//! Request bodies: JSON only, at most 1 MiB, parsed into a wire type with the
//! path of the first field that does not fit or the line and column of a
//! syntax error.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON request body parsed into `T`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let essence = v.split(';').next().unwrap_or_default().trim();
                essence.eq_ignore_ascii_case("application/json")
                    || essence.to_ascii_lowercase().ends_with("+json")
            });
        if json == Some(false) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::BadBody(e.body_text())
            }
        })?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|e| ApiError::BadBody(format!("body is not UTF-8: {e}")))?;
        let text = if text.trim().is_empty() { "{}" } else { text };
        portcullis_formats::from_json::<T>(text)
            .map(JsonBody)
            .map_err(|e| ApiError::BadBody(e.to_string()))
    }
}
