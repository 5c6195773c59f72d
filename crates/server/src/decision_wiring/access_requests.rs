//! `GET /client/v4/accounts/{id}/access/logs/access_requests`: the decisions
//! made for the account's applications, as Cloudflare lists them. Query
//! parameters follow Cloudflare: `limit` (default 25), `direction` (`desc`, the
//! default, or `asc`), `since` and `until` (RFC 3339, inclusive), plus
//! `page`/`per_page`.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use portcullis_store::{AccessRequest, AccessRequestQuery};
use serde::Deserialize;
use serde_json::json;

use crate::envelope::{ok_page, PageQuery, MAX_PER_PAGE};
use crate::error::ApiError;
use crate::AppState;

pub const PATH: &str = "/client/v4/accounts/{owner}/access/logs/access_requests";

pub fn routes() -> Router<AppState> {
    Router::new().route(PATH, get(list))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<u64>,
    direction: Option<String>,
    since: Option<String>,
    until: Option<String>,
    page: Option<u64>,
    per_page: Option<u64>,
}

fn bound(name: &str, value: Option<&str>) -> Result<Option<String>, ApiError> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| {
                    t.with_timezone(&Utc)
                        .to_rfc3339_opts(SecondsFormat::Micros, true)
                })
                .map_err(|e| ApiError::BadBody(format!("{name}: {e} (expected RFC 3339)")))
        })
        .transpose()
}

fn to_json(r: AccessRequest) -> serde_json::Value {
    json!({
        "action": r.action, "allowed": r.allowed, "app_domain": r.app_domain,
        "app_uid": r.app_uid, "country": r.country, "created_at": r.created_at,
        "ip_address": r.ip_address, "ray_id": r.ray_id, "user_email": r.user_email,
    })
}

async fn list(
    State(state): State<AppState>,
    Path(owner): Path<String>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    let ascending = match q.direction.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(other) => {
            return Err(ApiError::BadBody(format!(
                "direction: {other:?} is not \"asc\" or \"desc\""
            )))
        }
    };
    let page = PageQuery {
        page: q.page,
        per_page: q.per_page.or(q.limit),
    };
    let (_, per_page) = page.resolve();
    let limit = q.limit.unwrap_or(per_page).clamp(1, MAX_PER_PAGE);
    let rows = state
        .store
        .access_requests(
            &owner,
            &AccessRequestQuery {
                since: bound("since", q.since.as_deref())?,
                until: bound("until", q.until.as_deref())?,
                ascending,
                offset: page.offset(),
                limit: limit.min(per_page),
            },
        )
        .await?;
    let count = rows.len() as u64;
    let items = rows.into_iter().map(to_json).collect();
    Ok(ok_page(items, page, page.offset() + count))
}
