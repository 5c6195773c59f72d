//! The audit log: `GET /v1/accounts/{id}/audit`, newest first, paged. Every
//! object a write changed is one entry with the token, time, and the object
//! before and after (secret hashes left out).

use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use portcullis_store::{ChangeOp, Kind};

use crate::envelope::{ok_page, PageQuery};
use crate::error::ApiError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/accounts/{owner}/audit", get(list))
}

/// The event name PingOne's audit reporting gives a write, for the kinds that
/// have one (`AUTHORIZE_POLICIES.CREATED` …).
fn action(kind: Kind, op: ChangeOp) -> Option<&'static str> {
    match (kind, op) {
        (Kind::AuthorizePolicy, ChangeOp::Create) => Some("AUTHORIZE_POLICIES.CREATED"),
        (Kind::AuthorizePolicy, ChangeOp::Update) => Some("AUTHORIZE_POLICIES.UPDATED"),
        (Kind::AuthorizePolicy, ChangeOp::Delete) => Some("AUTHORIZE_POLICIES.DELETED"),
        _ => None,
    }
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
        .map(|e| {
            let mut v = serde_json::to_value(e).map_err(|_| ApiError::Internal)?;
            if let Some(action) = action(e.kind, e.op) {
                v["action"] = action.into();
            }
            Ok(v)
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(ok_page(items, q, page.total))
}
