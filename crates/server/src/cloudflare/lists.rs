//! Zero Trust lists: `/accounts/{id}/gateway/lists`. EMAIL and IP lists are
//! what `email_list` and `ip_list` rules read; a list change takes effect
//! without touching the policies.

use axum::extract::Query;
use axum::response::Response;
use portcullis_formats::cloudflare::{validate_item, ListItem, ListType, ZeroTrustList};
use portcullis_store::{Kind, StoredObject};
use serde::Deserialize;
use serde_json::Value;

use super::validate::{check, Focus};
use super::{deleted, new_id, refuse_if_in_use, render, stored_doc, Ctx};
use crate::body::JsonBody;
use crate::envelope::{ok, ok_page, ok_paged_vec, PageQuery};
use crate::error::ApiError;
use portcullis_formats::ValidationErrors;

fn items_of(doc: &Value) -> Vec<Value> {
    doc.get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// A list as the API shows it, with `count`, and its items when asked.
fn render_list(object: &StoredObject, with_items: bool) -> Value {
    let mut doc = render(object);
    let count = items_of(&object.doc).len();
    if let Some(map) = doc.as_object_mut() {
        map.insert("count".into(), count.into());
        if !with_items {
            map.remove("items");
        }
    }
    doc
}

/// Items as stored: each with the time it was added.
fn stamp(items: &[ListItem], at: &str) -> Vec<ListItem> {
    items
        .iter()
        .map(|i| ListItem {
            created_at: Some(i.created_at.clone().unwrap_or_else(|| at.to_string())),
            ..i.clone()
        })
        .collect()
}

fn list_type(object: &StoredObject) -> Option<ListType> {
    serde_json::from_value(object.doc.get("type").cloned().unwrap_or(Value::Null)).ok()
}

pub async fn list(ctx: Ctx, Query(q): Query<PageQuery>) -> Result<Response, ApiError> {
    // The SDK reads this listing as a single page: without per_page, give all.
    let q = PageQuery {
        per_page: q.per_page.or(Some(crate::envelope::MAX_PER_PAGE)),
        ..q
    };
    let (_, per_page) = q.resolve();
    let page = ctx
        .store
        .list(&ctx.owner, Kind::List, q.offset(), per_page)
        .await?;
    let items = page.items.iter().map(|o| render_list(o, false)).collect();
    Ok(ok_page(items, q, page.total))
}

pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let object = ctx.get(Kind::List, "list", ctx.param("list_id")).await?;
    Ok(ok(render_list(&object, true)))
}

pub async fn items(ctx: Ctx, Query(q): Query<PageQuery>) -> Result<Response, ApiError> {
    let object = ctx.get(Kind::List, "list", ctx.param("list_id")).await?;
    Ok(ok_paged_vec(items_of(&object.doc), q))
}

pub async fn create(
    ctx: Ctx,
    JsonBody(mut list): JsonBody<ZeroTrustList>,
) -> Result<Response, ApiError> {
    list.validate()?;
    let id = new_id();
    let mut w = ctx.write().await?;
    list.items = Some(stamp(list.items.as_deref().unwrap_or_default(), w.at()));
    let doc = stored_doc(&list, &["count"])?;
    let object = w.put(Kind::List, &id, &doc, &[]).await?;
    w.commit().await?;
    Ok(ok(render_list(&object, true)))
}

/// Full replace of name, description and (when given) items; the type stays.
pub async fn update(
    ctx: Ctx,
    JsonBody(mut list): JsonBody<ZeroTrustList>,
) -> Result<Response, ApiError> {
    let id = ctx.param("list_id");
    let mut w = ctx.write().await?;
    let existing = w
        .get(Kind::List, id)
        .await?
        .ok_or_else(|| ApiError::not_found("list", id))?;
    let stored_type = list_type(&existing);
    if list.list_type.is_some() && list.list_type != stored_type {
        return Err(ApiError::field("type", "a list's type cannot change"));
    }
    list.list_type = stored_type;
    list.validate()?;
    list.items = Some(match &list.items {
        Some(items) => stamp(items, w.at()),
        None => serde_json::from_value(existing.doc.get("items").cloned().unwrap_or(Value::Null))
            .unwrap_or_default(),
    });
    let doc = stored_doc(&list, &["count"])?;
    let object = w.put(Kind::List, id, &doc, &[]).await?;
    check(&mut w, Focus::Referenced(Kind::List, id)).await?;
    w.commit().await?;
    Ok(ok(render_list(&object, true)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    #[serde(default)]
    append: Vec<ListItem>,
    #[serde(default)]
    remove: Vec<String>,
}

/// Appends and removes items; removing a value that is not there is not an error.
pub async fn patch(ctx: Ctx, JsonBody(body): JsonBody<PatchBody>) -> Result<Response, ApiError> {
    let id = ctx.param("list_id");
    let mut w = ctx.write().await?;
    let existing = w
        .get(Kind::List, id)
        .await?
        .ok_or_else(|| ApiError::not_found("list", id))?;
    let Some(t) = list_type(&existing) else {
        return Err(ApiError::Internal);
    };
    let mut errors = ValidationErrors::default();
    for (i, item) in body.append.iter().enumerate() {
        if let Err(e) = validate_item(t, &item.value) {
            errors.push(format!("append[{i}].value"), e);
        }
    }
    errors.into_result()?;
    let mut items: Vec<ListItem> =
        serde_json::from_value(existing.doc.get("items").cloned().unwrap_or(Value::Null))
            .unwrap_or_default();
    items.retain(|i| !body.remove.contains(&i.value));
    for item in stamp(&body.append, w.at()) {
        if !items.iter().any(|i| i.value == item.value) {
            items.push(item);
        }
    }
    let mut doc = existing.doc.clone();
    if let Some(map) = doc.as_object_mut() {
        map.insert(
            "items".into(),
            serde_json::to_value(&items).map_err(|_| ApiError::Internal)?,
        );
    }
    let object = w.put(Kind::List, id, &doc, &[]).await?;
    check(&mut w, Focus::Referenced(Kind::List, id)).await?;
    w.commit().await?;
    Ok(ok(render_list(&object, true)))
}

pub async fn delete(ctx: Ctx) -> Result<Response, ApiError> {
    let id = ctx.param("list_id");
    let mut w = ctx.write().await?;
    if w.get(Kind::List, id).await?.is_none() {
        return Err(ApiError::not_found("list", id));
    }
    refuse_if_in_use(&mut w, Kind::List, "list", id).await?;
    w.delete(Kind::List, id).await?;
    w.commit().await?;
    Ok(deleted(id))
}
