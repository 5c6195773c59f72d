//! Access applications: `/{accounts|zones}/{id}/access/apps`. Self-hosted
//! applications (and ssh, vnc, rdp) are enforced; every other type is stored and
//! returned as written.
//!
//! An application is stored with its policies as links
//! (`policies: [{"id", "precedence"}]`); policies written inline become
//! application-scoped policies of their own. Reading an application expands the
//! links into full policies with their precedence, as Cloudflare does.

use axum::extract::Query;
use axum::response::Response;
use portcullis_formats::cloudflare::{AccessApplication, AttachedKind};
use portcullis_store::{Kind, ObjectRef, Store, StoredObject, Write};
use serde_json::{json, Value};

use super::policies::render_policy;
use super::validate::{check, Focus};
use super::{deleted, new_id, render, stored_doc, Ctx};
use crate::auth::random_hex;
use crate::body::JsonBody;
use crate::envelope::{ok, ok_page, PageQuery};
use crate::error::ApiError;

/// One policy of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub id: String,
    pub precedence: i64,
}

/// The policy links of a stored application, in precedence order.
pub fn links(doc: &Value) -> Vec<Link> {
    let mut out: Vec<Link> = doc
        .get("policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| {
            Some(Link {
                id: l.get("id")?.as_str()?.to_string(),
                precedence: l.get("precedence")?.as_i64()?,
            })
        })
        .collect();
    out.sort_by_key(|l| l.precedence);
    out
}

pub fn set_links(doc: &mut Value, links: &[Link]) {
    if let Some(map) = doc.as_object_mut() {
        let list = links
            .iter()
            .map(|l| json!({"id": l.id, "precedence": l.precedence}))
            .collect();
        map.insert("policies".into(), Value::Array(list));
    }
}

/// Where a policy id points: a reusable policy or an application-scoped one.
pub async fn policy_kind(w: &mut Write, id: &str) -> Result<Option<Kind>, ApiError> {
    for kind in [Kind::Policy, Kind::AppPolicy] {
        if w.get(kind, id).await?.is_some() {
            return Ok(Some(kind));
        }
    }
    Ok(None)
}

pub async fn link_refs(w: &mut Write, links: &[Link]) -> Result<Vec<ObjectRef>, ApiError> {
    let mut out = Vec::new();
    for l in links {
        if let Some(kind) = policy_kind(w, &l.id).await? {
            out.push(ObjectRef::new(kind, l.id.clone()));
        }
    }
    Ok(out)
}

/// A linked policy as the API shows it: the policy with the app's precedence.
pub async fn expand_link(
    store: &Store,
    owner: &str,
    link: &Link,
) -> Result<Option<Value>, ApiError> {
    for kind in [Kind::Policy, Kind::AppPolicy] {
        if let Some(p) = store.get(owner, kind, &link.id).await? {
            let mut doc = render_policy(&p, None);
            if let Some(map) = doc.as_object_mut() {
                map.insert("precedence".into(), link.precedence.into());
            }
            return Ok(Some(doc));
        }
    }
    Ok(None)
}

pub async fn render_app(store: &Store, owner: &str, app: &StoredObject) -> Result<Value, ApiError> {
    let mut doc = render(app);
    let mut expanded = Vec::new();
    for link in links(&app.doc) {
        if let Some(p) = expand_link(store, owner, &link).await? {
            expanded.push(p);
        }
    }
    if let Some(map) = doc.as_object_mut() {
        map.insert("policies".into(), Value::Array(expanded));
    }
    Ok(doc)
}

pub async fn list(ctx: Ctx, Query(q): Query<PageQuery>) -> Result<Response, ApiError> {
    let (_, per_page) = q.resolve();
    let page = ctx
        .store
        .list(&ctx.owner, Kind::App, q.offset(), per_page)
        .await?;
    let mut items = Vec::with_capacity(page.items.len());
    for app in &page.items {
        items.push(render_app(&ctx.store, &ctx.owner, app).await?);
    }
    Ok(ok_page(items, q, page.total))
}

pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let app = ctx
        .get(Kind::App, "application", ctx.param("app_id"))
        .await?;
    Ok(ok(render_app(&ctx.store, &ctx.owner, &app).await?))
}

/// Creates or replaces the application `id` inside `w`.
async fn write_app(
    w: &mut Write,
    id: &str,
    app: &AccessApplication,
    existing: Option<&StoredObject>,
) -> Result<(), ApiError> {
    app.validate()?;
    let old_links = existing.map(|e| links(&e.doc)).unwrap_or_default();
    let new_links = match &app.policies {
        // Absent or null: leave the policies as they are.
        None => old_links.clone(),
        Some(_) => {
            let mut out = Vec::new();
            for attached in app.attached_policies()? {
                let path = format!("policies[{}]", attached.index);
                let policy_id = match attached.kind {
                    AttachedKind::Reusable(pid) => {
                        let owned_here = old_links.iter().any(|l| l.id == pid);
                        match policy_kind(w, pid).await? {
                            Some(Kind::Policy) => pid.to_string(),
                            Some(Kind::AppPolicy) if owned_here => pid.to_string(),
                            _ => {
                                return Err(ApiError::field(
                                    format!("{path}.id"),
                                    format!("policy {pid:?} does not exist"),
                                ))
                            }
                        }
                    }
                    AttachedKind::Inline(policy) => {
                        let given = policy.id.as_deref().unwrap_or_default();
                        let owned_here = old_links.iter().any(|l| l.id == given);
                        match policy_kind(w, given).await? {
                            Some(Kind::Policy) => given.to_string(),
                            kind => {
                                let pid = if kind == Some(Kind::AppPolicy) && owned_here {
                                    given.to_string()
                                } else {
                                    new_id()
                                };
                                let (doc, refs) =
                                    super::policies::prepare(policy).map_err(|e| match e {
                                        ApiError::Invalid(v) => {
                                            ApiError::Invalid(v.prefixed(&path))
                                        }
                                        other => other,
                                    })?;
                                w.put(Kind::AppPolicy, &pid, &doc, &refs).await?;
                                pid
                            }
                        }
                    }
                };
                out.push(Link {
                    id: policy_id,
                    precedence: attached.precedence,
                });
            }
            out
        }
    };
    let mut doc = stored_doc(app, &["aud", "policies"])?;
    let aud = existing
        .and_then(|e| e.doc.get("aud").cloned())
        .unwrap_or_else(|| Value::String(random_hex(32)));
    if let Some(map) = doc.as_object_mut() {
        map.insert("aud".into(), aud);
        if map.get("type").is_none() {
            map.insert("type".into(), "self_hosted".into());
        }
    }
    set_links(&mut doc, &new_links);
    let refs = link_refs(w, &new_links).await?;
    w.put(Kind::App, id, &doc, &refs).await?;
    // Application-scoped policies live and die with their application.
    for old in &old_links {
        if !new_links.iter().any(|l| l.id == old.id)
            && policy_kind(w, &old.id).await? == Some(Kind::AppPolicy)
        {
            w.delete(Kind::AppPolicy, &old.id).await?;
        }
    }
    check(w, Focus::App(id)).await
}

pub async fn create(
    ctx: Ctx,
    JsonBody(app): JsonBody<AccessApplication>,
) -> Result<Response, ApiError> {
    let id = new_id();
    let mut w = ctx.write().await?;
    write_app(&mut w, &id, &app, None).await?;
    w.commit().await?;
    let stored = ctx.get(Kind::App, "application", &id).await?;
    Ok(ok(render_app(&ctx.store, &ctx.owner, &stored).await?))
}

pub async fn update(
    ctx: Ctx,
    JsonBody(app): JsonBody<AccessApplication>,
) -> Result<Response, ApiError> {
    let id = ctx.param("app_id");
    let mut w = ctx.write().await?;
    let existing = w
        .get(Kind::App, id)
        .await?
        .ok_or_else(|| ApiError::not_found("application", id))?;
    write_app(&mut w, id, &app, Some(&existing)).await?;
    w.commit().await?;
    let stored = ctx.get(Kind::App, "application", id).await?;
    Ok(ok(render_app(&ctx.store, &ctx.owner, &stored).await?))
}

pub async fn delete(ctx: Ctx) -> Result<Response, ApiError> {
    let id = ctx.param("app_id");
    let mut w = ctx.write().await?;
    let existing = w
        .delete(Kind::App, id)
        .await?
        .ok_or_else(|| ApiError::not_found("application", id))?;
    for link in links(&existing.doc) {
        if policy_kind(&mut w, &link.id).await? == Some(Kind::AppPolicy) {
            w.delete(Kind::AppPolicy, &link.id).await?;
        }
    }
    w.commit().await?;
    Ok(deleted(id))
}
