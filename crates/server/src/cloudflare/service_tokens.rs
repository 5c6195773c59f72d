//! Service tokens: `/{accounts|zones}/{id}/access/service_tokens`. The client
//! secret is shown once, when a token is created or rotated; only its SHA-256 is
//! stored (see `portcullis_core::service_token`), and lists never show it.

use axum::extract::Query;
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use portcullis_core::duration::parse_go_duration;
use portcullis_core::service_token::hash_secret;
use portcullis_formats::cloudflare::{ServiceToken, DEFAULT_TOKEN_DURATION};
use portcullis_store::{Kind, StoredObject};
use serde::Deserialize;
use serde_json::{json, Value};

use super::validate::{check, Focus};
use super::{deleted, new_id, refuse_if_in_use, render, Ctx};
use crate::auth::random_hex;
use crate::body::JsonBody;
use crate::envelope::{ok, ok_page, PageQuery};
use crate::error::ApiError;

/// What a client may send; read-only fields are accepted and ignored so a
/// client can send back what it read.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    name: Option<String>,
    duration: Option<String>,
    enabled: Option<bool>,
    client_secret_version: Option<serde_json::Number>,
    previous_client_secret_expires_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "id")]
    _id: Option<Value>,
    #[serde(default, rename = "client_id")]
    _client_id: Option<Value>,
    #[serde(default, rename = "expires_at")]
    _expires_at: Option<Value>,
    #[serde(default, rename = "created_at")]
    _created_at: Option<Value>,
    #[serde(default, rename = "updated_at")]
    _updated_at: Option<Value>,
    #[serde(default, rename = "last_seen_at")]
    _last_seen_at: Option<Value>,
}

const HIDDEN: &[&str] = &["client_secret_sha256", "previous_client_secret_sha256"];

fn render_token(object: &StoredObject) -> Value {
    let mut doc = render(object);
    if let Some(map) = doc.as_object_mut() {
        map.retain(|k, _| !HIDDEN.contains(&k.as_str()));
    }
    doc
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// When a token of `duration` made now expires; `None` for `forever`.
fn expiry(duration: &str) -> Result<Option<String>, ApiError> {
    if duration == "forever" {
        return Ok(None);
    }
    let d = parse_go_duration(duration)
        .map_err(|e| ApiError::field("duration", format!("{duration:?} {e}")))?;
    let d = chrono::Duration::from_std(d)
        .map_err(|_| ApiError::field("duration", format!("{duration:?} is too long")))?;
    Ok(Some(timestamp(Utc::now() + d)))
}

fn validate(body: &TokenBody) -> Result<(), ApiError> {
    ServiceToken {
        name: body.name.clone(),
        duration: body.duration.clone(),
        ..ServiceToken::default()
    }
    .validate()?;
    Ok(())
}

fn set(doc: &mut Value, key: &str, value: impl Into<Value>) {
    if let Some(map) = doc.as_object_mut() {
        map.insert(key.into(), value.into());
    }
}

pub async fn list(ctx: Ctx, Query(q): Query<PageQuery>) -> Result<Response, ApiError> {
    let (_, per_page) = q.resolve();
    let page = ctx
        .store
        .list(&ctx.owner, Kind::ServiceToken, q.offset(), per_page)
        .await?;
    Ok(ok_page(
        page.items.iter().map(render_token).collect(),
        q,
        page.total,
    ))
}

pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let object = ctx
        .get(Kind::ServiceToken, "service token", ctx.param("token_id"))
        .await?;
    Ok(ok(render_token(&object)))
}

pub async fn create(ctx: Ctx, JsonBody(body): JsonBody<TokenBody>) -> Result<Response, ApiError> {
    validate(&body)?;
    let duration = body
        .duration
        .clone()
        .unwrap_or_else(|| DEFAULT_TOKEN_DURATION.to_string());
    let secret = random_hex(32);
    let client_id = format!("{}.access", random_hex(16));
    let mut doc = json!({
        "name": body.name,
        "client_id": client_id,
        "duration": duration,
        "enabled": body.enabled.unwrap_or(true),
        "client_secret_version": body.client_secret_version.clone().unwrap_or(1.into()),
        "client_secret_sha256": hex::encode(hash_secret(&secret)),
    });
    if let Some(at) = expiry(&duration)? {
        set(&mut doc, "expires_at", at);
    }
    let id = new_id();
    let mut w = ctx.write().await?;
    let object = w.put(Kind::ServiceToken, &id, &doc, &[]).await?;
    w.commit().await?;
    let mut out = render_token(&object);
    set(&mut out, "client_secret", secret);
    Ok(ok(out))
}

pub async fn update(ctx: Ctx, JsonBody(body): JsonBody<TokenBody>) -> Result<Response, ApiError> {
    let id = ctx.param("token_id");
    let mut w = ctx.write().await?;
    let existing = w
        .get(Kind::ServiceToken, id)
        .await?
        .ok_or_else(|| ApiError::not_found("service token", id))?;
    let mut doc = existing.doc.clone();
    let name = body
        .name
        .clone()
        .or_else(|| doc.get("name").and_then(Value::as_str).map(str::to_string));
    validate(&TokenBody {
        name,
        duration: body.duration.clone(),
        ..TokenBody::default()
    })?;
    if let Some(name) = &body.name {
        set(&mut doc, "name", name.as_str());
    }
    if let Some(duration) = &body.duration {
        set(&mut doc, "duration", duration.as_str());
        match expiry(duration)? {
            Some(at) => set(&mut doc, "expires_at", at),
            None => {
                if let Some(map) = doc.as_object_mut() {
                    map.remove("expires_at");
                }
            }
        }
    }
    if let Some(enabled) = body.enabled {
        set(&mut doc, "enabled", enabled);
    }
    if let Some(at) = body.previous_client_secret_expires_at {
        set(&mut doc, "previous_client_secret_expires_at", timestamp(at));
    }
    let object = w.put(Kind::ServiceToken, id, &doc, &[]).await?;
    check(&mut w, Focus::Referenced(Kind::ServiceToken, id)).await?;
    w.commit().await?;
    Ok(ok(render_token(&object)))
}

pub async fn delete(ctx: Ctx) -> Result<Response, ApiError> {
    let id = ctx.param("token_id");
    let mut w = ctx.write().await?;
    if w.get(Kind::ServiceToken, id).await?.is_none() {
        return Err(ApiError::not_found("service token", id));
    }
    refuse_if_in_use(&mut w, Kind::ServiceToken, "service token", id).await?;
    w.delete(Kind::ServiceToken, id).await?;
    w.commit().await?;
    Ok(deleted(id))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    previous_client_secret_expires_at: Option<DateTime<Utc>>,
}

/// A new secret, shown once. The previous one keeps working until
/// `previous_client_secret_expires_at` (by default: not at all).
pub async fn rotate(ctx: Ctx, JsonBody(body): JsonBody<RotateBody>) -> Result<Response, ApiError> {
    let id = ctx.param("token_id");
    let mut w = ctx.write().await?;
    let existing = w
        .get(Kind::ServiceToken, id)
        .await?
        .ok_or_else(|| ApiError::not_found("service token", id))?;
    let mut doc = existing.doc.clone();
    let secret = random_hex(32);
    let old_hash = doc
        .get("client_secret_sha256")
        .cloned()
        .unwrap_or(Value::Null);
    let version = doc
        .get("client_secret_version")
        .and_then(Value::as_f64)
        .unwrap_or(1.0)
        + 1.0;
    set(&mut doc, "previous_client_secret_sha256", old_hash);
    set(
        &mut doc,
        "client_secret_sha256",
        hex::encode(hash_secret(&secret)),
    );
    set(&mut doc, "client_secret_version", version as i64);
    let previous_expiry = body
        .previous_client_secret_expires_at
        .unwrap_or_else(Utc::now);
    set(
        &mut doc,
        "previous_client_secret_expires_at",
        timestamp(previous_expiry),
    );
    let object = w.put(Kind::ServiceToken, id, &doc, &[]).await?;
    w.commit().await?;
    let mut out = render_token(&object);
    set(&mut out, "client_secret", secret);
    Ok(ok(out))
}

/// Extends the token's expiry by its duration, counted from now.
pub async fn refresh(ctx: Ctx) -> Result<Response, ApiError> {
    let id = ctx.param("token_id");
    let mut w = ctx.write().await?;
    let existing = w
        .get(Kind::ServiceToken, id)
        .await?
        .ok_or_else(|| ApiError::not_found("service token", id))?;
    let mut doc = existing.doc.clone();
    let duration = doc
        .get("duration")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_TOKEN_DURATION)
        .to_string();
    if let Some(at) = expiry(&duration)? {
        set(&mut doc, "expires_at", at);
    }
    let object = w.put(Kind::ServiceToken, id, &doc, &[]).await?;
    w.commit().await?;
    Ok(ok(render_token(&object)))
}
