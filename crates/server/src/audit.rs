//! The audit log: `GET /v1/accounts/{id}/audit`, newest first, paged. Every
//! object a write changed is one entry with the token, time, and the object
//! before and after (secret hashes left out).

use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::envelope::{ok_page, PageQuery};
use crate::error::ApiError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/accounts/{owner}/audit", get(list))
}

async fn list(
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(owner): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let (_, per_page) = q.resolve();
    let page = state.store.audit(&owner, q.offset(), per_page).await?;
    let items = page
        .items
        .iter()
        .map(|e| serde_json::to_value(e).map_err(|_| ApiError::Internal))
        .collect::<Result<_, _>>()?;
    Ok(ok_page(items, q, page.total))
}
