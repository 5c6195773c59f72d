//! Decision endpoints: `/v1/environments/{env}/decisionEndpoints[/{id}]`
//! (`{name, description, policyId}`) and the decision call
//! `POST …/decisionEndpoints/{id}` with `{"parameters": {…request context…}}`.
//!
//! The decision call reads the decision service's live snapshot only (the
//! endpoint and its policy are compiled into it): it never touches the store,
//! and a write reaches it when the refresher has rebuilt the environment
//! (milliseconds after the write on this node).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use portcullis_core::context::RequestContext;
use portcullis_core::eval::AuthorizeOutcome;
use portcullis_decision::DecisionState;
use portcullis_formats::pingone::DecisionEndpoint;
use portcullis_store::{Kind, ObjectRef, StoredObject};
use serde::Deserialize;
use serde_json::{json, Value};

use super::parse_body;
use super::resource::{self, missing, Answer, Resource};
use crate::auth::Principal;
use crate::decision_wiring::WroteNothing;
use crate::error::ApiError;
use crate::AppState;

/// The decision call's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionRequest {
    #[serde(default)]
    parameters: Option<Value>,
}

impl Resource for DecisionEndpoint {
    const KIND: Kind = Kind::DecisionEndpoint;
    const COLLECTION: &'static str = "decisionEndpoints";
    const NOUN: &'static str = "decision endpoint";

    fn body_id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Validates the endpoint; its policy must exist (and stays in use).
    async fn put(
        mut self,
        state: &AppState,
        principal: &Principal,
        env: &str,
        id: &str,
        create: bool,
    ) -> Result<StoredObject, ApiError> {
        self.id = None;
        self.validate()?;
        let policy_id = self.policy_id.clone().unwrap_or_default();
        let (mut w, _) = resource::begin::<Self>(state, principal, env, id, create).await?;
        if w.get(Kind::AuthorizePolicy, &policy_id).await?.is_none() {
            return Err(ApiError::field(
                "policyId",
                format!("authorization policy {policy_id:?} does not exist"),
            ));
        }
        let doc = serde_json::to_value(&self).map_err(|_| ApiError::Internal)?;
        let refs = [ObjectRef::new(Kind::AuthorizePolicy, policy_id)];
        resource::commit::<Self>(w, id, &doc, &refs).await
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((env, id)): Path<(String, String)>,
) -> Answer {
    let mut w = state.store.begin_write(&env, &principal.token_id).await?;
    if w.delete(Kind::DecisionEndpoint, &id).await?.is_none() {
        return Err(missing::<DecisionEndpoint>(&id).into());
    }
    w.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Evaluates the endpoint's policy tree against the request context in
/// `parameters` (`time` defaults to now) in the live snapshot. An unknown
/// endpoint is 404; one whose policy is gone decides INDETERMINATE.
pub async fn decide(
    State(decisions): State<DecisionState>,
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
    context.time.get_or_insert_with(|| decisions.clock.now());
    let live = decisions.snapshots.load();
    let outcome = portcullis_decision::decide_endpoint(&live, &env, &id, &context)
        .ok_or_else(|| missing::<DecisionEndpoint>(&id))?;
    let mut response = Json(decision_body(&outcome)).into_response();
    response.extensions_mut().insert(WroteNothing);
    Ok(response)
}

/// PingOne's decision response: `{"id", "decision", "statements"}`.
fn decision_body(outcome: &AuthorizeOutcome<'_>) -> Value {
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
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "decision": outcome.decision.as_str(),
        "statements": statements,
    })
}
