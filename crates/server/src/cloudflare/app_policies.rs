//! An application's policies: `/{accounts|zones}/{id}/access/apps/{app}/policies`.
//! Listing shows the application's scoped and reusable policies in precedence
//! order; creating makes an application-scoped policy; deleting a reusable
//! policy here only detaches it.

use axum::extract::Query;
use axum::response::Response;
use portcullis_formats::cloudflare::AccessPolicy;
use portcullis_store::{Kind, StoredObject, Write};

use super::apps::{expand_link, link_refs, links, policy_kind, set_links, Link};
use super::validate::{check, Focus};
use super::{deleted, new_id, Ctx};
use crate::body::JsonBody;
use crate::envelope::{ok, ok_paged_vec, PageQuery};
use crate::error::ApiError;

async fn app_in(w: &mut Write, app_id: &str) -> Result<StoredObject, ApiError> {
    w.get(Kind::App, app_id)
        .await?
        .ok_or_else(|| ApiError::not_found("application", app_id))
}

/// Stores the app with new links (and the references they make).
async fn relink(w: &mut Write, app: &StoredObject, new_links: &[Link]) -> Result<(), ApiError> {
    let mut doc = app.doc.clone();
    set_links(&mut doc, new_links);
    let refs = link_refs(w, new_links).await?;
    w.put(Kind::App, &app.id, &doc, &refs).await?;
    Ok(())
}

fn clash(precedence: i64, links: &[Link], except: &str) -> Result<(), ApiError> {
    if let Some(other) = links
        .iter()
        .find(|l| l.precedence == precedence && l.id != except)
    {
        return Err(ApiError::field(
            "precedence",
            format!(
                "precedence {precedence} is already used by policy {:?} of this application; each policy of an application needs its own precedence",
                other.id
            ),
        ));
    }
    Ok(())
}

async fn respond(ctx: &Ctx, link: &Link) -> Result<Response, ApiError> {
    let doc = expand_link(&ctx.store, &ctx.owner, link)
        .await?
        .ok_or_else(|| ApiError::not_found("policy", &link.id))?;
    Ok(ok(doc))
}

pub async fn list(ctx: Ctx, Query(q): Query<PageQuery>) -> Result<Response, ApiError> {
    let app = ctx
        .get(Kind::App, "application", ctx.param("app_id"))
        .await?;
    let mut items = Vec::new();
    for link in links(&app.doc) {
        if let Some(p) = expand_link(&ctx.store, &ctx.owner, &link).await? {
            items.push(p);
        }
    }
    Ok(ok_paged_vec(items, q))
}

pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let app = ctx
        .get(Kind::App, "application", ctx.param("app_id"))
        .await?;
    let pid = ctx.param("policy_id");
    let link = links(&app.doc)
        .into_iter()
        .find(|l| l.id == pid)
        .ok_or_else(|| ApiError::not_found("policy", pid))?;
    respond(&ctx, &link).await
}

pub async fn create(
    ctx: Ctx,
    JsonBody(policy): JsonBody<AccessPolicy>,
) -> Result<Response, ApiError> {
    let (doc, refs) = super::policies::prepare(&policy)?;
    let mut w = ctx.write().await?;
    let app = app_in(&mut w, ctx.param("app_id")).await?;
    let mut current = links(&app.doc);
    let precedence = match policy.precedence {
        Some(p) => p,
        None => current.iter().map(|l| l.precedence).max().unwrap_or(0) + 1,
    };
    let id = new_id();
    clash(precedence, &current, &id)?;
    w.put(Kind::AppPolicy, &id, &doc, &refs).await?;
    let link = Link { id, precedence };
    current.push(link.clone());
    relink(&mut w, &app, &current).await?;
    check(&mut w, Focus::App(&app.id)).await?;
    w.commit().await?;
    respond(&ctx, &link).await
}

pub async fn update(
    ctx: Ctx,
    JsonBody(policy): JsonBody<AccessPolicy>,
) -> Result<Response, ApiError> {
    let (doc, refs) = super::policies::prepare(&policy)?;
    let pid = ctx.param("policy_id");
    let mut w = ctx.write().await?;
    let app = app_in(&mut w, ctx.param("app_id")).await?;
    let mut current = links(&app.doc);
    let Some(pos) = current.iter().position(|l| l.id == pid) else {
        return Err(ApiError::not_found("policy", pid));
    };
    if policy_kind(&mut w, pid).await? != Some(Kind::AppPolicy) {
        return Err(ApiError::field(
            "",
            format!(
                "policy {pid:?} is a reusable policy; change it through /access/policies/{pid}"
            ),
        ));
    }
    if let Some(p) = policy.precedence {
        clash(p, &current, pid)?;
        current[pos].precedence = p;
    }
    w.put(Kind::AppPolicy, pid, &doc, &refs).await?;
    let link = current[pos].clone();
    relink(&mut w, &app, &current).await?;
    check(&mut w, Focus::App(&app.id)).await?;
    w.commit().await?;
    respond(&ctx, &link).await
}

pub async fn delete(ctx: Ctx) -> Result<Response, ApiError> {
    let pid = ctx.param("policy_id");
    let mut w = ctx.write().await?;
    let app = app_in(&mut w, ctx.param("app_id")).await?;
    let mut current = links(&app.doc);
    let before = current.len();
    current.retain(|l| l.id != pid);
    if current.len() == before {
        return Err(ApiError::not_found("policy", pid));
    }
    relink(&mut w, &app, &current).await?;
    if policy_kind(&mut w, pid).await? == Some(Kind::AppPolicy) {
        w.delete(Kind::AppPolicy, pid).await?;
    }
    w.commit().await?;
    Ok(deleted(pid))
}
