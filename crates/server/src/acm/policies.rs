//! Access policies: `/v1/accessPolicies[/{policy}]`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use portcullis_formats::acm::{parse_organization, AccessPolicy};
use portcullis_store::Kind;
use serde_json::{json, Value};

use super::query::GoogleQuery;
use super::{check_account, find_policy, finish, new_etag, parse_body, policy_wire, update_mask};
use crate::auth::Principal;
use crate::dialect::GoogleError;
use crate::error::ApiError;
use crate::paging::{cursor, next_offset};
use crate::AppState;

type Answer = Result<Json<Value>, GoogleError>;

fn to_doc(policy: &AccessPolicy) -> Result<Value, ApiError> {
    serde_json::to_value(policy).map_err(|_| ApiError::Internal)
}

/// A numeric id, as Google's policy ids are.
fn new_policy_id() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000;
    format!("{n:012}")
}

pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Answer {
    let mut policy: AccessPolicy = parse_body(&body)?;
    policy.validate()?;
    let parent = policy.parent.clone().unwrap_or_default();
    let account = parse_organization(&parent).map_err(|e| ApiError::field("parent", e))?;
    check_account(&principal, account)?;
    let id = new_policy_id();
    policy.name = Some(format!("accessPolicies/{id}"));
    policy.etag = Some(new_etag());
    let doc = to_doc(&policy)?;
    let mut w = state
        .store
        .begin_write(account, &principal.token_id)
        .await?;
    w.put(Kind::AcmPolicy, &id, &doc, &[]).await?;
    let op = finish(&mut w, "AccessPolicy", &doc).await?;
    w.commit().await?;
    Ok(Json(op))
}

pub async fn get(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(policy): Path<String>,
) -> Answer {
    let (_, object) = find_policy(&state, &principal, &policy).await?;
    Ok(Json(object.doc))
}

pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(q): Query<GoogleQuery>,
) -> Answer {
    let parent = q
        .get("parent")
        .ok_or_else(|| ApiError::field("parent", "is required (organizations/{id})"))?;
    let account = parse_organization(parent).map_err(|e| ApiError::field("parent", e))?;
    check_account(&principal, account)?;
    let (offset, size) = q.page()?;
    let page = state
        .store
        .list(account, Kind::AcmPolicy, offset as u64, size as u64)
        .await?;
    let items: Vec<Value> = page.items.into_iter().map(|o| o.doc).collect();
    let mut out = json!({ "accessPolicies": items });
    if let Some(next) = next_offset(offset as u64, size as u64, page.total) {
        out["nextPageToken"] = cursor(next).into();
    }
    Ok(Json(out))
}

pub async fn patch(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(policy_id): Path<String>,
    Query(q): Query<GoogleQuery>,
    body: Bytes,
) -> Answer {
    let fields = update_mask(q.get("updateMask"), &["title", "scopes"])?;
    let change: AccessPolicy = parse_body(&body)?;
    let (account, object) = find_policy(&state, &principal, &policy_id).await?;
    let mut policy = policy_wire(&object)?;
    for field in fields {
        match field {
            "title" => policy.title = change.title.clone(),
            _ => policy.scopes = change.scopes.clone(),
        }
    }
    policy.validate()?;
    policy.etag = Some(new_etag());
    let doc = to_doc(&policy)?;
    let mut w = state
        .store
        .begin_write(&account, &principal.token_id)
        .await?;
    w.put(Kind::AcmPolicy, &policy_id, &doc, &[]).await?;
    let op = finish(&mut w, "AccessPolicy", &doc).await?;
    w.commit().await?;
    Ok(Json(op))
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(policy_id): Path<String>,
) -> Answer {
    let (account, _) = find_policy(&state, &principal, &policy_id).await?;
    let mut w = state
        .store
        .begin_write(&account, &principal.token_id)
        .await?;
    let prefix = format!("accessPolicies/{policy_id}/accessLevels/");
    for level in w.all(Kind::AccessLevel).await? {
        if level.id.starts_with(&prefix) {
            w.delete(Kind::AccessLevel, &level.id).await?;
        }
    }
    w.delete(Kind::AcmPolicy, &policy_id).await?;
    let op = finish(
        &mut w,
        "type.googleapis.com/google.protobuf.Empty",
        &json!({}),
    )
    .await?;
    w.commit().await?;
    Ok(Json(op))
}
