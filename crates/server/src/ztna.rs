//! ZTNA access policies: `/v1/accounts/{id}/ztna/policies[/{policy_id}]`, the
//! ZTNA broker schema's objects stored under the account. The server sets `id`
//! (a UUID, unless the client sends one on create), `created` and `updated`.
//! Bodies, results and errors use the same JSON envelope as the rest of
//! `/v1/accounts/{id}/…`; a validation error names the field path.

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use portcullis_formats::ztna::ZtnaPolicy;
use portcullis_store::{Kind, StoredObject};
use serde_json::Value;

use crate::body::JsonBody;
use crate::cloudflare::{deleted, new_id, Ctx};
use crate::envelope::{ok, ok_page, PageQuery};
use crate::error::ApiError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/accounts/{owner}/ztna/policies", get(list).post(create))
        .route(
            "/v1/accounts/{owner}/ztna/policies/{policy_id}",
            get(read).put(replace).delete(remove),
        )
}

/// The stored policy with the server's fields.
fn render(object: &StoredObject) -> Value {
    let mut doc = object.doc_with_id();
    if let Some(map) = doc.as_object_mut() {
        map.insert("created".into(), object.created_at.clone().into());
        map.insert("updated".into(), object.updated_at.clone().into());
    }
    doc
}

/// Validates and stores `policy` under `id`.
async fn put(
    ctx: &Ctx,
    id: &str,
    mut policy: ZtnaPolicy,
    create: bool,
) -> Result<StoredObject, ApiError> {
    policy.id = Some(id.to_string());
    policy.created = None;
    policy.updated = None;
    policy.validate()?;
    let mut doc = serde_json::to_value(&policy).map_err(|_| ApiError::Internal)?;
    if let Some(map) = doc.as_object_mut() {
        map.remove("id");
    }
    let mut w = ctx.write().await?;
    let exists = w.get(Kind::ZtnaPolicy, id).await?.is_some();
    if create && exists {
        return Err(ApiError::AlreadyExists(format!(
            "a ZTNA policy with id {id:?} already exists"
        )));
    }
    if !create && !exists {
        return Err(ApiError::not_found("ZTNA policy", id));
    }
    let object = w.put(Kind::ZtnaPolicy, id, &doc, &[]).await?;
    w.commit().await?;
    Ok(object)
}

pub async fn list(ctx: Ctx, Query(q): Query<PageQuery>) -> Result<Response, ApiError> {
    let (_, per_page) = q.resolve();
    let page = ctx
        .store
        .list(&ctx.owner, Kind::ZtnaPolicy, q.offset(), per_page)
        .await?;
    Ok(ok_page(
        page.items.iter().map(render).collect(),
        q,
        page.total,
    ))
}

pub async fn read(ctx: Ctx) -> Result<Response, ApiError> {
    let object = ctx
        .get(Kind::ZtnaPolicy, "ZTNA policy", ctx.param("policy_id"))
        .await?;
    Ok(ok(render(&object)))
}

pub async fn create(
    ctx: Ctx,
    JsonBody(policy): JsonBody<ZtnaPolicy>,
) -> Result<Response, ApiError> {
    let id = policy.id.clone().unwrap_or_else(new_id);
    let object = put(&ctx, &id, policy, true).await?;
    Ok((StatusCode::CREATED, ok(render(&object))).into_response())
}

pub async fn replace(
    ctx: Ctx,
    JsonBody(policy): JsonBody<ZtnaPolicy>,
) -> Result<Response, ApiError> {
    let id = ctx.param("policy_id").to_string();
    if let Some(other) = policy.id.as_deref().filter(|other| *other != id) {
        return Err(ApiError::field(
            "id",
            format!("{other:?} does not match the policy in the path ({id})"),
        ));
    }
    let object = put(&ctx, &id, policy, false).await?;
    Ok(ok(render(&object)))
}

pub async fn remove(ctx: Ctx) -> Result<Response, ApiError> {
    let id = ctx.param("policy_id");
    let mut w = ctx.write().await?;
    if w.delete(Kind::ZtnaPolicy, id).await?.is_none() {
        return Err(ApiError::not_found("ZTNA policy", id));
    }
    w.commit().await?;
    Ok(deleted(id))
}

/// Every route, for the OpenAPI document: (method, path, summary).
pub const ROUTES: &[(&str, &str, &str)] = &[
    (
        "get",
        "/v1/accounts/{owner}/ztna/policies",
        "List ZTNA access policies (?page=&per_page=)",
    ),
    (
        "post",
        "/v1/accounts/{owner}/ztna/policies",
        "Create a ZTNA access policy (201)",
    ),
    (
        "get",
        "/v1/accounts/{owner}/ztna/policies/{policy_id}",
        "Get a ZTNA access policy",
    ),
    (
        "put",
        "/v1/accounts/{owner}/ztna/policies/{policy_id}",
        "Replace a ZTNA access policy",
    ),
    (
        "delete",
        "/v1/accounts/{owner}/ztna/policies/{policy_id}",
        "Delete a ZTNA access policy",
    ),
];
