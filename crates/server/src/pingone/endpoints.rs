//! Decision endpoints: `/v1/environments/{env}/decisionEndpoints[/{id}]`
//! (`{name, description, policyId}`) and the decision call
//! `POST …/decisionEndpoints/{id}` with `{"parameters": {…request context…}}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use portcullis_core::context::RequestContext;
use portcullis_store::{Kind, ObjectRef, StoredObject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::environment::compile;
use super::parse_body;
use crate::auth::Principal;
use crate::dialect::PingOneError;
use crate::error::ApiError;
use crate::AppState;

type Answer = Result<Response, PingOneError>;

/// A decision endpoint as PingOne writes it (the fields portcullis uses).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DecisionEndpoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy_id: Option<String>,
}

/// The decision call's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionRequest {
    #[serde(default)]
    parameters: Option<Value>,
}

fn render(object: &StoredObject) -> Value {
    let mut doc = object.doc.clone();
    if let Some(map) = doc.as_object_mut() {
        map.insert("id".into(), object.id.clone().into());
    }
    doc
}

fn missing(id: &str) -> ApiError {
    ApiError::NotFound(format!("decision endpoint {id:?} not found"))
}

async fn put(
    state: &AppState,
    principal: &Principal,
    env: &str,
    id: &str,
    mut endpoint: DecisionEndpoint,
    create: bool,
) -> Result<StoredObject, ApiError> {
    endpoint.id = None;
    let mut errors = portcullis_formats::ValidationErrors::default();
    if endpoint.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        errors.push("name", "is required");
    }
    if endpoint.policy_id.is_none() {
        errors.push("policyId", "is required");
    }
    errors.into_result()?;
    let policy_id = endpoint.policy_id.clone().unwrap_or_default();
    let mut w = state.store.begin_write(env, &principal.token_id).await?;
    let exists = w.get(Kind::DecisionEndpoint, id).await?.is_some();
    if !create && !exists {
        return Err(missing(id));
    }
    if w.get(Kind::AuthorizePolicy, &policy_id).await?.is_none() {
        return Err(ApiError::field(
            "policyId",
            format!("authorization policy {policy_id:?} does not exist"),
        ));
    }
    let doc = serde_json::to_value(&endpoint).map_err(|_| ApiError::Internal)?;
    let refs = [ObjectRef::new(Kind::AuthorizePolicy, policy_id)];
    let object = w.put(Kind::DecisionEndpoint, id, &doc, &refs).await?;
    w.commit().await?;
    Ok(object)
}

pub async fn list(State(state): State<AppState>, Path(env): Path<String>) -> Answer {
    let page = state
        .store
        .list(&env, Kind::DecisionEndpoint, 0, i64::MAX as u64)
        .await?;
    let items: Vec<Value> = page.items.iter().map(render).collect();
    Ok(Json(json!({
        "_links": {"self": {"href": format!("/v1/environments/{env}/decisionEndpoints")}},
        "_embedded": {"decisionEndpoints": items},
        "count": page.total,
        "size": items.len(),
    }))
    .into_response())
}

pub async fn get(State(state): State<AppState>, Path((env, id)): Path<(String, String)>) -> Answer {
    let object = state
        .store
        .get(&env, Kind::DecisionEndpoint, &id)
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
    let endpoint: DecisionEndpoint = parse_body(&body)?;
    let id = uuid::Uuid::new_v4().to_string();
    let object = put(&state, &principal, &env, &id, endpoint, true).await?;
    Ok((StatusCode::CREATED, Json(render(&object))).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((env, id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let endpoint: DecisionEndpoint = parse_body(&body)?;
    let object = put(&state, &principal, &env, &id, endpoint, false).await?;
    Ok(Json(render(&object)).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((env, id)): Path<(String, String)>,
) -> Answer {
    let mut w = state.store.begin_write(&env, &principal.token_id).await?;
    if w.delete(Kind::DecisionEndpoint, &id).await?.is_none() {
        return Err(missing(&id).into());
    }
    w.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Evaluates the endpoint's policy tree against the request context in
/// `parameters` (`time` defaults to now).
pub async fn decide(
    State(state): State<AppState>,
    Path((env, id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let request: DecisionRequest = parse_body(&body)?;
    let mut context: RequestContext = portcullis_formats::from_value(
        request.parameters.unwrap_or_else(|| json!({})),
    )
    .map_err(|e| {
        ApiError::field(
            portcullis_formats::error::join_path("parameters", &e.path),
            e.message,
        )
    })?;
    if context.time.is_none() {
        context.time = Some(chrono::Utc::now());
    }
    let endpoint = state
        .store
        .get(&env, Kind::DecisionEndpoint, &id)
        .await?
        .ok_or_else(|| missing(&id))?;
    let policy_id = endpoint
        .doc
        .get("policyId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let compiled = compile(&state.store, &env).await?;
    let outcome = compiled
        .evaluate_authorization_policy(&context, &policy_id)
        .ok_or_else(|| {
            ApiError::NotFound(format!("authorization policy {policy_id:?} not found"))
        })?;
    let statements: Vec<Value> = outcome
        .statements
        .iter()
        .map(|s| {
            let mut out = json!({"name": s.name, "code": s.code});
            if let Some(payload) = &s.payload {
                out["payload"] = payload.clone().into();
            }
            if s.obligatory {
                out["obligatory"] = true.into();
            }
            out
        })
        .collect();
    Ok(Json(json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "decision": outcome.decision.as_str(),
        "statements": statements,
    }))
    .into_response())
}
