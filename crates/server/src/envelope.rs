//! The Cloudflare v4 envelope and paging parameters.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

/// The largest page a list returns.
pub const MAX_PER_PAGE: u64 = 1000;
pub const DEFAULT_PER_PAGE: u64 = 25;

/// `?page=&per_page=`; other query parameters are ignored.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct PageQuery {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

impl PageQuery {
    /// (page, per_page), 1-based, per_page capped at [`MAX_PER_PAGE`].
    pub fn resolve(self) -> (u64, u64) {
        let page = self.page.unwrap_or(1).max(1);
        let per_page = self
            .per_page
            .unwrap_or(DEFAULT_PER_PAGE)
            .clamp(1, MAX_PER_PAGE);
        (page, per_page)
    }

    pub fn offset(self) -> u64 {
        let (page, per_page) = self.resolve();
        (page - 1).saturating_mul(per_page)
    }
}

pub fn ok(result: serde_json::Value) -> Response {
    Json(json!({"success": true, "errors": [], "messages": [], "result": result})).into_response()
}

pub fn ok_page(items: Vec<serde_json::Value>, query: PageQuery, total: u64) -> Response {
    let (page, per_page) = query.resolve();
    let count = items.len();
    Json(json!({
        "success": true, "errors": [], "messages": [], "result": items,
        "result_info": {"page": page, "per_page": per_page, "count": count,
                        "total_count": total, "total_pages": total.div_ceil(per_page)},
    }))
    .into_response()
}

/// Pages a list that was built in memory.
pub fn ok_paged_vec(items: Vec<serde_json::Value>, query: PageQuery) -> Response {
    let total = items.len() as u64;
    let (_, per_page) = query.resolve();
    let page: Vec<_> = items
        .into_iter()
        .skip(usize::try_from(query.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(per_page).unwrap_or(usize::MAX))
        .collect();
    ok_page(page, query, total)
}
