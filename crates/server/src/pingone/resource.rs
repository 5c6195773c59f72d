//! What authorization policies and decision endpoints share: list (paged the
//! PingOne way), get, create and update. Each kind says how it is validated and
//! stored ([`Resource::put`]); the handlers here do the rest.
//!
//! Lists take `limit` (default [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]; a larger
//! one is lowered, as PingOne does) and `cursor` (from `_links.next.href` or
//! `_links.prev.href`), and answer
//! `{"_links": {"self", "next"?, "prev"?}, "_embedded": {<collection>: […]}, "count", "size"}`
//! with `count` the number of objects in the environment and `size` the number
//! on this page.

use std::collections::HashMap;
use std::future::Future;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use portcullis_store::{Kind, ObjectRef, StoredObject, Write};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::parse_body;
use crate::auth::Principal;
use crate::dialect::PingOneError;
use crate::error::ApiError;
use crate::paging::{cursor, next_offset, parse_cursor, prev_offset};
use crate::AppState;

pub type Answer = Result<Response, PingOneError>;

/// The page size of a list without `limit`.
pub const DEFAULT_LIMIT: u64 = 100;
/// The largest page a list returns.
pub const MAX_LIMIT: u64 = 1000;

/// One kind of PingOne object kept in the store.
pub trait Resource: DeserializeOwned + Send + 'static {
    const KIND: Kind;
    /// Its collection, in paths and in `_embedded` (`authorizationPolicies`).
    const COLLECTION: &'static str;
    /// What one is called in messages (`authorization policy`).
    const NOUN: &'static str;

    /// The `id` the body carries, if any.
    fn body_id(&self) -> Option<&str>;

    /// Validates `self` and stores it under `id`: a new object when `create`,
    /// else a replacement of an existing one (404 when there is none).
    fn put(
        self,
        state: &AppState,
        principal: &Principal,
        env: &str,
        id: &str,
        create: bool,
    ) -> impl Future<Output = Result<StoredObject, ApiError>> + Send;
}

/// Opens the write that stores object `id` of kind `R` and reads what it
/// replaces: 404 on an update of nothing, 409 on a create over something.
pub async fn begin<R: Resource>(
    state: &AppState,
    principal: &Principal,
    env: &str,
    id: &str,
    create: bool,
) -> Result<(Write, Option<StoredObject>), ApiError> {
    let mut w = state.store.begin_write(env, &principal.token_id).await?;
    let before = w.get(R::KIND, id).await?;
    match (&before, create) {
        (None, false) => Err(missing::<R>(id)),
        (Some(_), true) => Err(ApiError::AlreadyExists(format!(
            "{} {id:?} already exists",
            R::NOUN
        ))),
        _ => Ok((w, before)),
    }
}

/// Stores `doc` (with the references it makes) as object `id` of kind `R`
/// in `w` and commits.
pub async fn commit<R: Resource>(
    mut w: Write,
    id: &str,
    doc: &Value,
    references: &[ObjectRef],
) -> Result<StoredObject, ApiError> {
    let object = w.put(R::KIND, id, doc, references).await?;
    w.commit().await?;
    Ok(object)
}

/// The 404 for a missing object of kind `R`.
pub fn missing<R: Resource>(id: &str) -> ApiError {
    ApiError::not_found(R::NOUN, id)
}

/// `limit` and `cursor` of a list call, checked: (offset, limit).
fn page(query: &HashMap<String, String>) -> Result<(u64, u64), ApiError> {
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<u64>() {
            Ok(n) if n > 0 => n.min(MAX_LIMIT),
            _ => {
                return Err(ApiError::field(
                    "limit",
                    format!("{text:?} is not a positive whole number"),
                ))
            }
        },
    };
    let offset = match query.get("cursor") {
        None => 0,
        Some(cursor) => parse_cursor("cursor", "cursor from this API", cursor)?,
    };
    Ok((offset, limit))
}

/// A link to the page of `limit` items at `offset`.
fn link(base: &str, limit: u64, offset: u64) -> Value {
    let href = if offset == 0 {
        format!("{base}?limit={limit}")
    } else {
        format!("{base}?limit={limit}&cursor={}", cursor(offset))
    };
    json!({ "href": href })
}

pub async fn list<R: Resource>(
    State(state): State<AppState>,
    Path(env): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let (offset, limit) = page(&query)?;
    let page = state.store.list(&env, R::KIND, offset, limit).await?;
    let items: Vec<Value> = page.items.iter().map(StoredObject::doc_with_id).collect();
    let base = format!("/v1/environments/{env}/{}", R::COLLECTION);
    let mut links = json!({ "self": link(&base, limit, offset) });
    if let Some(next) = next_offset(offset, limit, page.total) {
        links["next"] = link(&base, limit, next);
    }
    if let Some(prev) = prev_offset(offset, limit) {
        links["prev"] = link(&base, limit, prev);
    }
    Ok(Json(json!({
        "_links": links,
        "_embedded": { R::COLLECTION: items },
        "count": page.total,
        "size": items.len(),
    }))
    .into_response())
}

pub async fn get<R: Resource>(
    State(state): State<AppState>,
    Path((env, id)): Path<(String, String)>,
) -> Answer {
    let object = state
        .store
        .get(&env, R::KIND, &id)
        .await?
        .ok_or_else(|| missing::<R>(&id))?;
    Ok(Json(object.doc_with_id()).into_response())
}

/// 201 with the stored object; the server picks the id.
pub async fn create<R: Resource>(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(env): Path<String>,
    body: Bytes,
) -> Answer {
    let resource: R = parse_body(&body)?;
    let id = uuid::Uuid::new_v4().to_string();
    let object = resource.put(&state, &principal, &env, &id, true).await?;
    Ok((StatusCode::CREATED, Json(object.doc_with_id())).into_response())
}

/// Replaces the object; an `id` in the body must be the one in the path.
pub async fn update<R: Resource>(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((env, id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let resource: R = parse_body(&body)?;
    if let Some(other) = resource.body_id().filter(|other| *other != id) {
        return Err(ApiError::field(
            "id",
            format!(
                "{other:?} does not match the {} in the path ({id})",
                R::NOUN
            ),
        )
        .into());
    }
    let object = resource.put(&state, &principal, &env, &id, false).await?;
    Ok(Json(object.doc_with_id()).into_response())
}
