//! Access levels: `/v1/accessPolicies/{policy}/accessLevels…`.
//!
//! Every write validates the level on its own (formats::acm) and then the
//! policy's whole set of levels as it will stand (unique titles, required
//! levels exist in the same policy, no cycles), gives the policy a new etag,
//! and answers with a finished operation.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use portcullis_core::cel::CelProgram;
use portcullis_formats::acm::{basic_to_cel, parse_level_name, validate_level_set, AccessLevel};
use portcullis_formats::ValidationErrors;
use portcullis_store::{Kind, ObjectRef, StoredObject, Write};
use serde::Deserialize;
use serde_json::{json, Value};

use super::query::{page_of, GoogleQuery, LevelFormat};
use super::{find_policy, finish, parse_body, touch_policy, update_mask};
use crate::auth::Principal;
use crate::dialect::GoogleError;
use crate::error::ApiError;
use crate::AppState;

type Answer = Result<Json<Value>, GoogleError>;

const LEVEL_TYPE: &str = "AccessLevel";
const EMPTY_TYPE: &str = "type.googleapis.com/google.protobuf.Empty";

fn prefix(policy: &str) -> String {
    format!("accessPolicies/{policy}/accessLevels/")
}

fn wire(object: &StoredObject) -> Result<AccessLevel, ApiError> {
    serde_json::from_value(object.doc.clone()).map_err(|e| {
        tracing::error!(error = %e, id = %object.id, "stored access level does not parse");
        ApiError::Internal
    })
}

fn to_doc(level: &AccessLevel) -> Result<Value, ApiError> {
    serde_json::to_value(level).map_err(|_| ApiError::Internal)
}

/// The levels a level needs, as store references (for the audit trail and
/// in-use lookups).
fn references(level: &AccessLevel) -> Vec<ObjectRef> {
    let mut out: Vec<ObjectRef> = level
        .conditions()
        .iter()
        .flat_map(|c| c.required_access_levels.iter().flatten())
        .map(|name| ObjectRef::new(Kind::AccessLevel, name.clone()))
        .collect();
    let expression = level
        .custom
        .as_ref()
        .and_then(|c| c.expr.as_ref())
        .and_then(|e| e.expression.as_deref());
    if let (Some(expression), Some(name)) = (expression, level.level_name()) {
        if let Ok(program) = CelProgram::compile(expression) {
            for short in program.referenced_levels() {
                out.push(ObjectRef::new(
                    Kind::AccessLevel,
                    format!("{}{short}", name.scope()),
                ));
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup();
    out
}

/// The policy's stored levels, in creation order.
async fn levels_in(w: &mut Write, policy: &str) -> Result<Vec<AccessLevel>, ApiError> {
    let prefix = prefix(policy);
    w.all(Kind::AccessLevel)
        .await?
        .iter()
        .filter(|o| o.id.starts_with(&prefix))
        .map(wire)
        .collect()
}

/// Validates the policy's levels as they will stand. Errors about `levels[focus]`
/// keep their own paths; with `list` they are `accessLevels[i]…` (replaceAll);
/// others are prefixed with the name of the level they are about.
fn check_set(levels: &[AccessLevel], focus: Option<usize>, list: bool) -> Result<(), ApiError> {
    let refs: Vec<&AccessLevel> = levels.iter().collect();
    let Err(errors) = validate_level_set(&refs) else {
        return Ok(());
    };
    let mut out = ValidationErrors::default();
    for e in errors.0 {
        let parsed = e.path.strip_prefix('[').and_then(|rest| {
            let (i, rest) = rest.split_once(']')?;
            Some((i.parse::<usize>().ok()?, rest.trim_start_matches('.')))
        });
        let path = match parsed {
            Some((i, rest)) if Some(i) == focus => rest.to_string(),
            Some((i, rest)) if list => format!("accessLevels[{i}].{rest}"),
            Some((i, rest)) => {
                let name = levels[i].name.as_deref().unwrap_or_default();
                format!("{name}: {rest}")
            }
            None => e.path,
        };
        out.push(path, e.message);
    }
    Err(ApiError::Invalid(out))
}

/// A level as `accessLevelFormat` asks: CEL turns a basic level into the
/// equivalent custom one; one that has no CEL equivalent (VPC sources, OS
/// versions) is returned as defined.
fn render(doc: Value, format: LevelFormat) -> Value {
    if format == LevelFormat::AsDefined {
        return doc;
    }
    let Ok(level) = serde_json::from_value::<AccessLevel>(doc.clone()) else {
        return doc;
    };
    if level.basic.is_none() {
        return doc;
    }
    match basic_to_cel(&level) {
        Ok(expression) => {
            let mut out = json!({ "name": level.name, "title": level.title });
            if let Some(d) = &level.description {
                out["description"] = d.clone().into();
            }
            out["custom"] = json!({ "expr": { "expression": expression } });
            out
        }
        Err(_) => doc,
    }
}

/// Checks that `level.name` is a level of `policy` (or sets it from the path).
fn name_in_policy(level: &AccessLevel, policy: &str) -> Result<(), ApiError> {
    let Some(name) = level.name.as_deref() else {
        return Err(ApiError::field("name", "is required"));
    };
    let parsed = parse_level_name(name).map_err(|e| ApiError::field("name", e))?;
    if parsed.policy != policy {
        return Err(ApiError::field(
            "name",
            format!("{name:?} is not in the parent accessPolicies/{policy}"),
        ));
    }
    Ok(())
}

pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(policy): Path<String>,
    body: Bytes,
) -> Answer {
    let level: AccessLevel = parse_body(&body)?;
    let (account, policy_obj) = find_policy(&state, &principal, &policy).await?;
    name_in_policy(&level, &policy)?;
    level.validate()?;
    let name = level.name.clone().unwrap_or_default();
    let mut w = state
        .store
        .begin_write(&account, &principal.token_id)
        .await?;
    if w.get(Kind::AccessLevel, &name).await?.is_some() {
        return Err(ApiError::AlreadyExists(format!("access level {name} already exists")).into());
    }
    let mut levels = levels_in(&mut w, &policy).await?;
    levels.push(level.clone());
    let focus = Some(levels.len() - 1);
    store_level(w, &policy_obj, &name, &level, &levels, focus).await
}

/// Checks the policy's levels as they will be (`focus`: the written one, in
/// `levels`), stores `level` under `name`, gives the policy a new etag and
/// commits; the answer is the finished operation.
async fn store_level(
    mut w: Write,
    policy_obj: &StoredObject,
    name: &str,
    level: &AccessLevel,
    levels: &[AccessLevel],
    focus: Option<usize>,
) -> Answer {
    check_set(levels, focus, false)?;
    let doc = to_doc(level)?;
    w.put(Kind::AccessLevel, name, &doc, &references(level))
        .await?;
    touch_policy(&mut w, policy_obj).await?;
    let op = finish(&mut w, LEVEL_TYPE, &doc).await?;
    w.commit().await?;
    Ok(Json(op))
}

pub async fn get(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((policy, short)): Path<(String, String)>,
    Query(q): Query<GoogleQuery>,
) -> Answer {
    let format = q.level_format()?;
    let (account, _) = find_policy(&state, &principal, &policy).await?;
    let name = format!("{}{short}", prefix(&policy));
    let object = state
        .store
        .get(&account, Kind::AccessLevel, &name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("access level {name} not found")))?;
    Ok(Json(render(object.doc, format)))
}

pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(policy): Path<String>,
    Query(q): Query<GoogleQuery>,
) -> Answer {
    let format = q.level_format()?;
    let (offset, size) = q.page()?;
    let (account, _) = find_policy(&state, &principal, &policy).await?;
    let prefix = prefix(&policy);
    let all = state
        .store
        .list(&account, Kind::AccessLevel, 0, i64::MAX as u64)
        .await?;
    let docs: Vec<Value> = all
        .items
        .into_iter()
        .filter(|o| o.id.starts_with(&prefix))
        .map(|o| o.doc)
        .collect();
    let (page, next) = page_of(&docs, offset, size);
    let page: Vec<Value> = page.into_iter().map(|d| render(d, format)).collect();
    let mut out = json!({ "accessLevels": page });
    if let Some(token) = next {
        out["nextPageToken"] = token.into();
    }
    Ok(Json(out))
}

pub async fn patch(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((policy, short)): Path<(String, String)>,
    Query(q): Query<GoogleQuery>,
    body: Bytes,
) -> Answer {
    let fields = update_mask(
        q.get("updateMask"),
        &["title", "description", "basic", "custom"],
    )?;
    let change: AccessLevel = parse_body(&body)?;
    let name = format!("{}{short}", prefix(&policy));
    if let Some(other) = change.name.as_deref().filter(|n| *n != name) {
        return Err(ApiError::field(
            "name",
            format!("{other:?} does not match the level in the path ({name})"),
        )
        .into());
    }
    let (account, policy_obj) = find_policy(&state, &principal, &policy).await?;
    let mut w = state
        .store
        .begin_write(&account, &principal.token_id)
        .await?;
    let stored = w
        .get(Kind::AccessLevel, &name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("access level {name} not found")))?;
    let mut level = wire(&stored)?;
    for field in fields {
        match field {
            "title" => level.title = change.title.clone(),
            "description" => level.description = change.description.clone(),
            "basic" => level.basic = change.basic.clone(),
            _ => level.custom = change.custom.clone(),
        }
    }
    level.validate()?;
    let mut levels = levels_in(&mut w, &policy).await?;
    let focus = levels
        .iter()
        .position(|l| l.name.as_deref() == Some(name.as_str()));
    if let Some(i) = focus {
        levels[i] = level.clone();
    }
    store_level(w, &policy_obj, &name, &level, &levels, focus).await
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((policy, short)): Path<(String, String)>,
) -> Answer {
    let name = format!("{}{short}", prefix(&policy));
    let (account, policy_obj) = find_policy(&state, &principal, &policy).await?;
    let mut w = state
        .store
        .begin_write(&account, &principal.token_id)
        .await?;
    if w.delete(Kind::AccessLevel, &name).await?.is_none() {
        return Err(ApiError::NotFound(format!("access level {name} not found")).into());
    }
    let levels = levels_in(&mut w, &policy).await?;
    check_set(&levels, None, false)?;
    touch_policy(&mut w, &policy_obj).await?;
    let op = finish(&mut w, EMPTY_TYPE, &json!({})).await?;
    w.commit().await?;
    Ok(Json(op))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ReplaceAll {
    #[serde(default)]
    access_levels: Option<Vec<AccessLevel>>,
    #[serde(default)]
    etag: Option<String>,
}

pub async fn replace_all(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(policy): Path<String>,
    body: Bytes,
) -> Answer {
    let request: ReplaceAll = parse_body(&body)?;
    let levels = request.access_levels.unwrap_or_default();
    let mut errors = ValidationErrors::default();
    for (i, level) in levels.iter().enumerate() {
        let own = name_in_policy(level, &policy)
            .err()
            .and_then(|e| match e {
                ApiError::Invalid(v) => Some(v),
                _ => None,
            })
            .unwrap_or_default();
        let all = level.validate().err().unwrap_or_default();
        let prefix = format!("accessLevels[{i}]");
        errors.0.extend(own.prefixed(&prefix).0);
        errors.0.extend(all.prefixed(&prefix).0);
    }
    errors.into_result()?;
    check_set(&levels, None, true)?;
    let (account, _) = find_policy(&state, &principal, &policy).await?;
    let mut w = state
        .store
        .begin_write(&account, &principal.token_id)
        .await?;
    let policy_obj = w.get(Kind::AcmPolicy, &policy).await?.ok_or_else(|| {
        ApiError::NotFound(format!("access policy accessPolicies/{policy} not found"))
    })?;
    let current = policy_obj.doc.get("etag").and_then(Value::as_str);
    if let Some(etag) = request.etag.as_deref().filter(|e| !e.is_empty()) {
        if current != Some(etag) {
            return Err(ApiError::Stale(format!(
                "etag {etag:?} does not match the access policy's current etag; read the policy again"
            ))
            .into());
        }
    }
    let keep: Vec<&str> = levels.iter().filter_map(|l| l.name.as_deref()).collect();
    let prefix = prefix(&policy);
    for old in w.all(Kind::AccessLevel).await? {
        if old.id.starts_with(&prefix) && !keep.contains(&old.id.as_str()) {
            w.delete(Kind::AccessLevel, &old.id).await?;
        }
    }
    let mut docs = Vec::with_capacity(levels.len());
    for level in &levels {
        let doc = to_doc(level)?;
        let name = level.name.as_deref().unwrap_or_default();
        w.put(Kind::AccessLevel, name, &doc, &references(level))
            .await?;
        docs.push(doc);
    }
    touch_policy(&mut w, &policy_obj).await?;
    let op = finish(
        &mut w,
        "ReplaceAccessLevelsResponse",
        &json!({ "accessLevels": docs }),
    )
    .await?;
    w.commit().await?;
    Ok(Json(op))
}
