//! Access groups: `/{accounts|zones}/{id}/access/groups`.

use axum::extract::Query;
use axum::response::Response;
use portcullis_formats::cloudflare::AccessGroup;
use portcullis_store::Kind;

use super::validate::{check, Focus};
use super::{deleted, new_id, refuse_if_in_use, render, rule_refs, stored_doc, Ctx};
use crate::body::JsonBody;
use crate::envelope::{ok, ok_page, PageQuery};
use crate::error::ApiError;

pub async fn list(ctx: Ctx, Query(q): Query<PageQuery>) -> Result<Response, ApiError> {
    let (_, per_page) = q.resolve();
    let page = ctx
        .store
        .list(&ctx.owner, Kind::Group, q.offset(), per_page)
        .await?;
    Ok(ok_page(
        page.items.iter().map(render).collect(),
        q,
        page.total,
    ))
}

pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let object = ctx.get(Kind::Group, "group", ctx.param("group_id")).await?;
    Ok(ok(render(&object)))
}

async fn put(
    ctx: &Ctx,
    id: &str,
    group: &AccessGroup,
    must_exist: bool,
) -> Result<Response, ApiError> {
    group.validate()?;
    let doc = stored_doc(group, &[])?;
    let refs = rule_refs(group.rule_lists());
    let mut w = ctx.write().await?;
    if must_exist && w.get(Kind::Group, id).await?.is_none() {
        return Err(ApiError::not_found("group", id));
    }
    let object = w.put(Kind::Group, id, &doc, &refs).await?;
    check(&mut w, Focus::Referenced(Kind::Group, id)).await?;
    w.commit().await?;
    Ok(ok(render(&object)))
}

pub async fn create(
    ctx: Ctx,
    JsonBody(group): JsonBody<AccessGroup>,
) -> Result<Response, ApiError> {
    put(&ctx, &new_id(), &group, false).await
}

pub async fn update(
    ctx: Ctx,
    JsonBody(group): JsonBody<AccessGroup>,
) -> Result<Response, ApiError> {
    let id = ctx.param("group_id").to_string();
    put(&ctx, &id, &group, true).await
}

pub async fn delete(ctx: Ctx) -> Result<Response, ApiError> {
    let id = ctx.param("group_id");
    let mut w = ctx.write().await?;
    if w.get(Kind::Group, id).await?.is_none() {
        return Err(ApiError::not_found("group", id));
    }
    refuse_if_in_use(&mut w, Kind::Group, "group", id).await?;
    w.delete(Kind::Group, id).await?;
    w.commit().await?;
    Ok(deleted(id))
}
