//! `GET /v1/operations/{id}`: every write answers with an operation that is
//! already `done`; it can be read again here by its name.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use portcullis_store::Kind;
use serde_json::Value;

use super::check_account;
use crate::auth::Principal;
use crate::dialect::GoogleError;
use crate::error::ApiError;
use crate::AppState;

pub async fn get(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, GoogleError> {
    let missing = || ApiError::NotFound(format!("operation operations/{id} not found"));
    let account = state
        .store
        .owner_of(Kind::AcmOperation, &id)
        .await?
        .ok_or_else(missing)?;
    check_account(&principal, &account)?;
    let op = state
        .store
        .get(&account, Kind::AcmOperation, &id)
        .await?
        .ok_or_else(missing)?;
    Ok(Json(op.doc))
}
