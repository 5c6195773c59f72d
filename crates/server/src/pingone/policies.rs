//! `/v1/environments/{env}/authorizationPolicies[/{policy_id}]`. The server
//! sets `id` and `version`; every write gives a new `version`, and an update
//! that carries an older one is refused with 409 (optimistic concurrency).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use portcullis_formats::pingone::PolicyNode;
use portcullis_store::{Kind, ObjectRef, StoredObject};
use serde_json::{json, Value};

use super::environment::{check, node};
use super::parse_body;
use crate::auth::Principal;
use crate::dialect::PingOneError;
use crate::error::ApiError;
use crate::AppState;

type Answer = Result<Response, PingOneError>;

fn render(object: &StoredObject) -> Value {
    let mut doc = object.doc.clone();
    if let Some(map) = doc.as_object_mut() {
        map.insert("id".into(), object.id.clone().into());
    }
    doc
}

fn missing(id: &str) -> ApiError {
    ApiError::NotFound(format!("authorization policy {id:?} not found"))
}

/// The policies a tree references by id, as store references.
fn references(policy: &PolicyNode) -> Vec<ObjectRef> {
    fn walk(node: &PolicyNode, out: &mut Vec<ObjectRef>) {
        for child in node.children.iter().flatten() {
            match child.reference_id() {
                Some(id) => out.push(ObjectRef::new(Kind::AuthorizePolicy, id)),
                None => walk(child, out),
            }
        }
    }
    let mut out = Vec::new();
    walk(policy, &mut out);
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup();
    out
}

/// Validates and stores `policy` under `id` with a new version.
async fn put(
    state: &AppState,
    principal: &Principal,
    env: &str,
    id: &str,
    mut policy: PolicyNode,
    create: bool,
) -> Result<StoredObject, ApiError> {
    let sent_version = policy.version.take();
    policy.id = None;
    policy.validate()?;
    let mut w = state.store.begin_write(env, &principal.token_id).await?;
    let before = w.get(Kind::AuthorizePolicy, id).await?;
    match (&before, create) {
        (None, false) => return Err(missing(id)),
        (Some(_), true) => {
            return Err(ApiError::AlreadyExists(format!(
                "an authorization policy with id {id:?} already exists"
            )))
        }
        _ => {}
    }
    if let (Some(before), Some(sent)) = (&before, sent_version.as_deref()) {
        let current = before.doc.get("version").and_then(Value::as_str);
        if current != Some(sent) {
            return Err(ApiError::Stale(format!(
                "version {sent:?} is not the current version of authorization policy {id:?}; read it again"
            )));
        }
    }
    check(&mut w, env, Some((id, &policy)), None).await?;
    policy.version = Some(uuid::Uuid::new_v4().to_string());
    let doc = serde_json::to_value(&policy).map_err(|_| ApiError::Internal)?;
    let object = w
        .put(Kind::AuthorizePolicy, id, &doc, &references(&policy))
        .await?;
    w.commit().await?;
    Ok(object)
}

pub async fn list(State(state): State<AppState>, Path(env): Path<String>) -> Answer {
    let page = state
        .store
        .list(&env, Kind::AuthorizePolicy, 0, i64::MAX as u64)
        .await?;
    let items: Vec<Value> = page.items.iter().map(render).collect();
    Ok(Json(json!({
        "_links": {"self": {"href": format!("/v1/environments/{env}/authorizationPolicies")}},
        "_embedded": {"authorizationPolicies": items},
        "count": page.total,
        "size": items.len(),
    }))
    .into_response())
}

pub async fn get(State(state): State<AppState>, Path((env, id)): Path<(String, String)>) -> Answer {
    let object = state
        .store
        .get(&env, Kind::AuthorizePolicy, &id)
        .await?
        .ok_or_else(|| missing(&id))?;
    Ok(Json(render(&object)).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(env): Path<String>,
    body: Bytes,
) -> Answer {
    let policy: PolicyNode = parse_body(&body)?;
    let id = uuid::Uuid::new_v4().to_string();
    let object = put(&state, &principal, &env, &id, policy, true).await?;
    Ok((StatusCode::CREATED, Json(render(&object))).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((env, id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let policy: PolicyNode = parse_body(&body)?;
    if let Some(other) = policy.id.as_deref().filter(|other| *other != id) {
        return Err(ApiError::field(
            "id",
            format!("{other:?} does not match the policy in the path ({id})"),
        )
        .into());
    }
    let object = put(&state, &principal, &env, &id, policy, false).await?;
    Ok(Json(render(&object)).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((env, id)): Path<(String, String)>,
) -> Answer {
    let mut w = state.store.begin_write(&env, &principal.token_id).await?;
    let Some(before) = w.get(Kind::AuthorizePolicy, &id).await? else {
        return Err(missing(&id).into());
    };
    node(&before)?;
    let endpoints: Vec<String> = w
        .referrers(Kind::AuthorizePolicy, &id)
        .await?
        .into_iter()
        .filter(|r| r.kind == Kind::DecisionEndpoint)
        .map(|r| r.id)
        .collect();
    if !endpoints.is_empty() {
        return Err(ApiError::InUse(format!(
            "authorization policy {id:?} is used by decision endpoint(s) {}; point them elsewhere first",
            endpoints.join(", ")
        ))
        .into());
    }
    check(&mut w, &env, None, Some(&id)).await?;
    w.delete(Kind::AuthorizePolicy, &id).await?;
    w.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
