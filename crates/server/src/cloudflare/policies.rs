//! Reusable Access policies: `/accounts/{a}/access/policies`.

use axum::extract::Query;
use axum::response::Response;
use portcullis_formats::cloudflare::AccessPolicy;
use portcullis_store::{Kind, StoredObject};
use serde_json::Value;

use super::validate::{check, Focus};
use super::{deleted, new_id, refuse_if_in_use, render, rule_refs, stored_doc, Ctx};
use crate::body::JsonBody;
use crate::envelope::{ok, ok_page, PageQuery};
use crate::error::ApiError;

/// Fields the server sets on policies.
pub const SERVER_FIELDS: &[&str] = &["reusable", "app_count"];

/// A policy as the API returns it.
pub fn render_policy(object: &StoredObject, app_count: Option<u64>) -> Value {
    let mut doc = render(object);
    if let Some(map) = doc.as_object_mut() {
        map.insert("reusable".into(), (object.kind == Kind::Policy).into());
        if let Some(n) = app_count {
            map.insert("app_count".into(), n.into());
        }
    }
    doc
}

/// Validates a policy body and turns it into the stored document and its
/// references.
pub fn prepare(
    policy: &AccessPolicy,
) -> Result<(Value, Vec<portcullis_store::ObjectRef>), ApiError> {
    policy.validate()?;
    Ok((
        stored_doc(policy, SERVER_FIELDS)?,
        rule_refs(policy.rule_lists()),
    ))
}

async fn app_count(ctx: &Ctx, id: &str) -> Result<u64, ApiError> {
    let users = ctx.store.referrers(&ctx.owner, Kind::Policy, id).await?;
    Ok(users.iter().filter(|r| r.kind == Kind::App).count() as u64)
}

pub async fn list(ctx: Ctx, Query(q): Query<PageQuery>) -> Result<Response, ApiError> {
    let (_, per_page) = q.resolve();
    let page = ctx
        .store
        .list(&ctx.owner, Kind::Policy, q.offset(), per_page)
        .await?;
    let counts = ctx
        .store
        .reference_counts(&ctx.owner, Kind::App, Kind::Policy)
        .await?;
    let items = page
        .items
        .iter()
        .map(|o| render_policy(o, Some(counts.get(&o.id).copied().unwrap_or(0))))
        .collect();
    Ok(ok_page(items, q, page.total))
}

pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let id = ctx.param("policy_id");
    let object = ctx.get(Kind::Policy, "policy", id).await?;
    Ok(ok(render_policy(&object, Some(app_count(&ctx, id).await?))))
}

pub async fn create(
    ctx: Ctx,
    JsonBody(policy): JsonBody<AccessPolicy>,
) -> Result<Response, ApiError> {
    let (doc, refs) = prepare(&policy)?;
    let id = new_id();
    let mut w = ctx.write().await?;
    let object = w.put(Kind::Policy, &id, &doc, &refs).await?;
    check(&mut w, Focus::Policy(Kind::Policy, &id)).await?;
    w.commit().await?;
    Ok(ok(render_policy(&object, Some(0))))
}

pub async fn update(
    ctx: Ctx,
    JsonBody(policy): JsonBody<AccessPolicy>,
) -> Result<Response, ApiError> {
    let id = ctx.param("policy_id");
    let (doc, refs) = prepare(&policy)?;
    let mut w = ctx.write().await?;
    if w.get(Kind::Policy, id).await?.is_none() {
        return Err(ApiError::not_found("policy", id));
    }
    let object = w.put(Kind::Policy, id, &doc, &refs).await?;
    check(&mut w, Focus::Policy(Kind::Policy, id)).await?;
    let apps = w.referrers(Kind::Policy, id).await?.len() as u64;
    w.commit().await?;
    Ok(ok(render_policy(&object, Some(apps))))
}

pub async fn delete(ctx: Ctx) -> Result<Response, ApiError> {
    let id = ctx.param("policy_id");
    let mut w = ctx.write().await?;
    if w.get(Kind::Policy, id).await?.is_none() {
        return Err(ApiError::not_found("policy", id));
    }
    refuse_if_in_use(&mut w, Kind::Policy, "policy", id).await?;
    w.delete(Kind::Policy, id).await?;
    w.commit().await?;
    Ok(deleted(id))
}
