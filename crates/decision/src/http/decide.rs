//! `POST /v1/accounts/{id}/decide` and `POST /v1/accounts/{id}/decide:batch`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::context::RequestContext;
use serde::Serialize;
use serde_json::Value;

use super::fast::{FastBatch, FastRequest, Object};
use crate::decide::{decide, decide_batch, DecideOptions, DecideResponse};
use crate::error::DecisionError;
use crate::state::DecisionState;

pub(super) async fn handle(
    State(state): State<Arc<DecisionState>>,
    Path((account_id, action)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, DecisionError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(DecisionError::Unauthorized)?;
    if !state.auth.allows(&account_id, token.trim()).await {
        return Err(DecisionError::Unauthorized);
    }
    let explain = explain_requested(query.as_deref())?;
    match action.as_str() {
        "decide" => {
            let (req, issue_token) = match serde_json::from_slice::<FastRequest>(&body) {
                Ok(fast) => fast.into_parts(),
                Err(_) => parse_request(json(&body)?, "")?,
            };
            let response = decide(
                &state,
                &account_id,
                req,
                DecideOptions {
                    explain,
                    issue_token,
                },
            )
            .await?;
            Ok(Json(response).into_response())
        }
        "decide:batch" => {
            let max = state.config.max_batch;
            let requests = match serde_json::from_slice::<FastBatch>(&body) {
                Ok(Object(fast)) if fast.requests.len() > max => {
                    return Err(DecisionError::BatchTooLarge {
                        count: fast.requests.len(),
                        max,
                    })
                }
                Ok(Object(fast)) => fast
                    .requests
                    .into_iter()
                    .map(FastRequest::into_parts)
                    .collect(),
                Err(_) => parse_batch(json(&body)?, max)?,
            };
            let results = decide_batch(&state, &account_id, requests, explain).await?;
            Ok(Json(BatchResults { results }).into_response())
        }
        _ => {
            // A body that is not JSON is a 400 before the action is looked at.
            json(&body)?;
            Err(DecisionError::NotFound)
        }
    }
}

/// `{"results": [...]}`, written straight from the results (no Value tree).
#[derive(Serialize)]
struct BatchResults {
    results: Vec<DecideResponse>,
}

/// The careful reading of a body the fast one refused: a Value first, so a 400
/// can name the field at fault.
fn json(body: &[u8]) -> Result<Value, DecisionError> {
    serde_json::from_slice(body)
        .map_err(|e| DecisionError::InvalidRequest(format!("body is not valid JSON: {e}")))
}

fn explain_requested(query: Option<&str>) -> Result<bool, DecisionError> {
    let mut explain = false;
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        match pair.split_once('=').unwrap_or((pair, "true")) {
            ("explain", "true" | "1") => explain = true,
            ("explain", "false" | "0") => explain = false,
            ("explain", other) => {
                return Err(DecisionError::InvalidRequest(format!(
                    "explain: {other:?} is not true or false"
                )))
            }
            (name, _) => {
                return Err(DecisionError::InvalidRequest(format!(
                    "unknown query parameter `{name}`"
                )))
            }
        }
    }
    Ok(explain)
}

/// A request context plus the optional `issue_token`; unknown fields are a 400
/// naming the field.
fn parse_request(body: Value, at: &str) -> Result<(RequestContext, bool), DecisionError> {
    let bad = |path: &str, message: String| {
        let path = portcullis_formats::error::join_path(at, path);
        DecisionError::InvalidRequest(if path.is_empty() {
            message
        } else {
            format!("{path}: {message}")
        })
    };
    let Value::Object(mut object) = body else {
        return Err(bad("", "must be a JSON object".into()));
    };
    let issue_token = match object.remove("issue_token") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => return Err(bad("issue_token", "must be true or false".into())),
    };
    let req = portcullis_formats::from_value::<RequestContext>(Value::Object(object))
        .map_err(|e| bad(&e.path, e.message))?;
    Ok((req, issue_token))
}

fn parse_batch(body: Value, max: usize) -> Result<Vec<(RequestContext, bool)>, DecisionError> {
    let Value::Object(mut object) = body else {
        return Err(DecisionError::InvalidRequest(
            "body must be a JSON object".into(),
        ));
    };
    if let Some(key) = object.keys().find(|k| *k != "requests") {
        return Err(DecisionError::InvalidRequest(format!(
            "unknown field `{key}`, expected `requests`"
        )));
    }
    let Some(Value::Array(items)) = object.remove("requests") else {
        return Err(DecisionError::InvalidRequest(
            "requests: must be an array".into(),
        ));
    };
    if items.len() > max {
        return Err(DecisionError::BatchTooLarge {
            count: items.len(),
            max,
        });
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| parse_request(item, &format!("requests[{i}]")))
        .collect()
}
