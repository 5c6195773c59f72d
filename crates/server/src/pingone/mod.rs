//! The PingOne Authorize compatible API under `/v1/environments/{env}`: policy
//! trees (`authorizationPolicies`), decision endpoints and their decision call.
//! The environment id is the account id. Errors are PingOne's
//! `{"id", "code", "message", "details": [{"code", "target", "message"}]}`.

mod endpoints;
mod environment;
mod policies;
mod resource;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use portcullis_decision::DecisionState;
use portcullis_formats::pingone::{DecisionEndpoint, PolicyNode};

use crate::dialect::PingOneError;
use crate::error::ApiError;
use crate::AppState;

pub fn routes(state: AppState) -> Router<AppState> {
    let admin = Router::new()
        .route(
            "/v1/environments/{env}/authorizationPolicies",
            get(resource::list::<PolicyNode>).post(resource::create::<PolicyNode>),
        )
        .route(
            "/v1/environments/{env}/authorizationPolicies/{policy_id}",
            get(resource::get::<PolicyNode>)
                .put(resource::update::<PolicyNode>)
                .delete(policies::delete),
        )
        .route(
            "/v1/environments/{env}/decisionEndpoints",
            get(resource::list::<DecisionEndpoint>).post(resource::create::<DecisionEndpoint>),
        )
        .route(
            "/v1/environments/{env}/decisionEndpoints/{endpoint_id}",
            get(resource::get::<DecisionEndpoint>)
                .put(resource::update::<DecisionEndpoint>)
                .delete(endpoints::delete),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), pingone_auth));
    match state.decisions {
        Some(decisions) => admin.merge(decision_routes(decisions)),
        None => admin,
    }
}

/// The decision call, beside the admin routes of the same path: it reads the
/// decision service's snapshot and checks tokens as the decision API does.
fn decision_routes<S: Clone + Send + Sync + 'static>(decisions: DecisionState) -> Router<S> {
    Router::new()
        .route(
            "/v1/environments/{env}/decisionEndpoints/{endpoint_id}",
            post(endpoints::decide),
        )
        .route_layer(middleware::from_fn_with_state(
            decisions.clone(),
            decision_auth,
        ))
        .with_state(decisions)
}

/// The environment a `/v1/environments/{env}/…` path is about.
fn environment(req: &Request) -> String {
    req.uri()
        .path()
        .strip_prefix("/v1/environments/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_string()
}

/// Who may ask a decision endpoint: whoever may call the decision API of the
/// environment's account (its admin tokens, read-only or not, and its
/// decision-only tokens), checked against the decision service's in-memory
/// copy of the tokens, so a decision never waits on the database. Any refusal
/// is 401, as on `/v1/accounts/{id}/decide`.
async fn decision_auth(
    State(decisions): State<DecisionState>,
    req: Request,
    next: Next,
) -> Result<Response, PingOneError> {
    let (presented, _) = crate::dialect::bearer(&req)?;
    let env = environment(&req);
    if !decisions.auth.allows(&env, &presented).await {
        return Err(ApiError::Unauthenticated.into());
    }
    Ok(next.run(req).await)
}

/// Bearer tokens as on the rest of the admin API; an account token reaches
/// only the environment with its account's id.
async fn pingone_auth(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, PingOneError> {
    let (presented, reads) = crate::dialect::bearer(&req)?;
    let principal = crate::dialect::authenticate(&state, &presented, reads).await?;
    let env = environment(&req);
    crate::dialect::check_account(&principal, &env, "environment ")?;
    req.extensions_mut().insert(principal);
    Ok(next.run(req).await)
}

/// A PingOne JSON body (an empty body is `{}`).
pub fn parse_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ApiError::BadBody(format!("body is not UTF-8: {e}")))?;
    let text = if text.trim().is_empty() { "{}" } else { text };
    portcullis_formats::from_json::<T>(text).map_err(|e| ApiError::field(e.path, e.message))
}

/// Every route, for the OpenAPI document: (method, path, summary).
pub const ROUTES: &[(&str, &str, &str)] = &[
    (
        "get",
        "/v1/environments/{env}/authorizationPolicies",
        "List the environment's authorization policies (?limit=&cursor=)",
    ),
    (
        "post",
        "/v1/environments/{env}/authorizationPolicies",
        "Create an authorization policy (201; the environment's tree is validated)",
    ),
    (
        "get",
        "/v1/environments/{env}/authorizationPolicies/{policy_id}",
        "Get an authorization policy",
    ),
    (
        "put",
        "/v1/environments/{env}/authorizationPolicies/{policy_id}",
        "Replace an authorization policy (409 on a stale version)",
    ),
    (
        "delete",
        "/v1/environments/{env}/authorizationPolicies/{policy_id}",
        "Delete an authorization policy (204; 400 while others reference it)",
    ),
    (
        "get",
        "/v1/environments/{env}/decisionEndpoints",
        "List decision endpoints (?limit=&cursor=)",
    ),
    (
        "post",
        "/v1/environments/{env}/decisionEndpoints",
        "Create a decision endpoint {name, description, policyId} (201)",
    ),
    (
        "get",
        "/v1/environments/{env}/decisionEndpoints/{endpoint_id}",
        "Get a decision endpoint",
    ),
    (
        "put",
        "/v1/environments/{env}/decisionEndpoints/{endpoint_id}",
        "Replace a decision endpoint",
    ),
    (
        "delete",
        "/v1/environments/{env}/decisionEndpoints/{endpoint_id}",
        "Delete a decision endpoint (204)",
    ),
    (
        "post",
        "/v1/environments/{env}/decisionEndpoints/{endpoint_id}",
        "Decide against the live snapshot: {\"parameters\": request context} → PERMIT / DENY / NOT_APPLICABLE / INDETERMINATE + statements (decision API tokens)",
    ),
];
