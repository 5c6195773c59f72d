//! The Google Access Context Manager compatible admin API
//! (`accesscontextmanager.googleapis.com/v1`): access policies, access levels
//! and the long-running operations every write returns (already `done`).
//!
//! An access policy belongs to the account named by its `parent`
//! (`organizations/{account}`); its levels are stored under that account with
//! their full name as id, so the decision service finds them among the
//! account's objects. Errors are Google's `{"error": {code, message, status}}`.

mod levels;
mod operations;
mod policies;
mod query;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use portcullis_formats::acm::AccessPolicy;
use portcullis_formats::from_json;
use portcullis_store::{Kind, StoredObject, Write};
use serde_json::Value;

use crate::auth::Principal;
use crate::dialect::GoogleError;
use crate::error::ApiError;
use crate::AppState;

pub use query::GoogleQuery;

/// The `@type` prefix of ACM messages.
pub const TYPE_PREFIX: &str = "type.googleapis.com/google.identity.accesscontextmanager.v1.";

/// `/v1/accessPolicies…` and `/v1/operations/…`, with their own bearer check so
/// that failures come back in Google's shape.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/v1/accessPolicies",
            get(policies::list).post(policies::create),
        )
        .route(
            "/v1/accessPolicies/{policy}",
            get(policies::get)
                .patch(policies::patch)
                .delete(policies::delete),
        )
        .route(
            "/v1/accessPolicies/{policy}/accessLevels",
            get(levels::list).post(levels::create),
        )
        .route(
            "/v1/accessPolicies/{policy}/accessLevels:replaceAll",
            post(levels::replace_all),
        )
        .route(
            "/v1/accessPolicies/{policy}/accessLevels/{level}",
            get(levels::get).patch(levels::patch).delete(levels::delete),
        )
        .route("/v1/operations/{*operation}", get(operations::get))
        .route_layer(middleware::from_fn_with_state(state, google_auth))
}

/// Bearer tokens exactly as on the rest of the admin API; the account checks
/// happen once the handler knows which organization a path belongs to.
async fn google_auth(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, GoogleError> {
    let (presented, reads) = crate::dialect::bearer(&req)?;
    let principal = crate::dialect::authenticate(&state, &presented, reads).await?;
    req.extensions_mut().insert(principal);
    Ok(next.run(req).await)
}

/// Refuses a token of another account.
pub fn check_account(principal: &Principal, account: &str) -> Result<(), ApiError> {
    crate::dialect::check_account(principal, account, "organizations/")
}

/// An access policy found by its id alone, with the account that owns it;
/// 404 when there is none, 403 when the caller may not see it.
pub async fn find_policy(
    state: &AppState,
    principal: &Principal,
    policy: &str,
) -> Result<(String, StoredObject), ApiError> {
    let missing = || ApiError::NotFound(format!("access policy accessPolicies/{policy} not found"));
    let account = state
        .store
        .owner_of(Kind::AcmPolicy, policy)
        .await?
        .ok_or_else(missing)?;
    check_account(principal, &account)?;
    let object = state
        .store
        .get(&account, Kind::AcmPolicy, policy)
        .await?
        .ok_or_else(missing)?;
    Ok((account, object))
}

/// A new etag: every change to a policy or its levels gets one.
pub fn new_etag() -> String {
    crate::auth::random_hex(8)
}

/// Gives the policy a new etag inside the write; returns it.
pub async fn touch_policy(w: &mut Write, policy: &StoredObject) -> Result<Value, ApiError> {
    let mut doc = policy.doc.clone();
    doc["etag"] = new_etag().into();
    w.put(Kind::AcmPolicy, &policy.id, &doc, &[]).await?;
    Ok(doc)
}

/// Records a finished operation whose result is `response` (an `@type` is
/// added) and returns it as the client sees it.
pub async fn finish(w: &mut Write, type_name: &str, response: &Value) -> Result<Value, ApiError> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut result = serde_json::Map::new();
    let type_url = if type_name.starts_with("type.googleapis.com/") {
        type_name.to_string()
    } else {
        format!("{TYPE_PREFIX}{type_name}")
    };
    result.insert("@type".into(), type_url.into());
    if let Some(fields) = response.as_object() {
        result.extend(fields.clone());
    }
    let op = serde_json::json!({
        "name": format!("operations/{id}"),
        "metadata": {"@type": format!("{TYPE_PREFIX}AccessContextManagerOperationMetadata")},
        "done": true,
        "response": result,
    });
    w.put(Kind::AcmOperation, &id, &op, &[]).await?;
    Ok(op)
}

/// Parses a request body (JSON; an empty body is `{}`).
pub fn parse_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ApiError::BadBody(format!("body is not UTF-8: {e}")))?;
    let text = if text.trim().is_empty() { "{}" } else { text };
    from_json::<T>(text).map_err(|e| ApiError::field(e.path, e.message))
}

/// The stored policy as its wire type.
pub fn policy_wire(object: &StoredObject) -> Result<AccessPolicy, ApiError> {
    serde_json::from_value(object.doc.clone()).map_err(|e| {
        tracing::error!(error = %e, "stored access policy does not parse");
        ApiError::Internal
    })
}

/// The fields an `updateMask` names (comma separated, top-level field names as
/// Google accepts them), each checked against `allowed`.
pub fn update_mask<'a>(mask: Option<&'a str>, allowed: &[&str]) -> Result<Vec<&'a str>, ApiError> {
    let mask = mask
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::field("updateMask", "is required"))?;
    let mut fields = Vec::new();
    for path in mask.split(',').map(str::trim) {
        let top = path.split('.').next().unwrap_or_default();
        if !allowed.contains(&top) {
            return Err(ApiError::field(
                "updateMask",
                format!(
                    "{path:?} is not a field that can be updated (one of {})",
                    allowed.join(", ")
                ),
            ));
        }
        if !fields.contains(&top) {
            fields.push(top);
        }
    }
    Ok(fields)
}

/// Every route, for the OpenAPI document: (method, path, summary).
pub const ROUTES: &[(&str, &str, &str)] = &[
    (
        "get",
        "/v1/accessPolicies",
        "List the access policies of organizations/{account} (?parent=)",
    ),
    (
        "post",
        "/v1/accessPolicies",
        "Create an access policy (returns a done Operation)",
    ),
    ("get", "/v1/accessPolicies/{policy}", "Get an access policy"),
    (
        "patch",
        "/v1/accessPolicies/{policy}",
        "Update an access policy's title or scopes (?updateMask=)",
    ),
    (
        "delete",
        "/v1/accessPolicies/{policy}",
        "Delete an access policy and its levels",
    ),
    (
        "get",
        "/v1/accessPolicies/{policy}/accessLevels",
        "List access levels (?pageSize=&pageToken=&accessLevelFormat=)",
    ),
    (
        "post",
        "/v1/accessPolicies/{policy}/accessLevels",
        "Create an access level (returns a done Operation)",
    ),
    (
        "post",
        "/v1/accessPolicies/{policy}/accessLevels:replaceAll",
        "Replace every access level of a policy (etag checked, 409 ABORTED when stale)",
    ),
    (
        "get",
        "/v1/accessPolicies/{policy}/accessLevels/{level}",
        "Get an access level (?accessLevelFormat=CEL translates basic levels)",
    ),
    (
        "patch",
        "/v1/accessPolicies/{policy}/accessLevels/{level}",
        "Update an access level (?updateMask= required)",
    ),
    (
        "delete",
        "/v1/accessPolicies/{policy}/accessLevels/{level}",
        "Delete an access level",
    ),
    (
        "get",
        "/v1/operations/{operation}",
        "Get a finished long-running operation",
    ),
];
