//! The Cloudflare-compatible admin API under `/client/v4`: Access policies,
//! applications (and their policies), groups, service tokens, and Zero Trust
//! lists, for accounts and (where Cloudflare has them) zones.

mod app_policies;
mod apps;
mod groups;
mod lists;
mod policies;
mod service_tokens;
mod validate;

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Extension, Router};
use portcullis_store::{owner_key, Kind, ObjectRef, Store, StoredObject, Write};
use serde_json::Value;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

/// Whether a route was reached under `/accounts/{id}` or `/zones/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Account,
    Zone,
}

/// What every handler needs: the store, the owner key of the account or zone,
/// the caller, and the path parameters.
pub struct Ctx {
    pub store: Store,
    pub owner: String,
    pub principal: Principal,
    params: HashMap<String, String>,
}

impl Ctx {
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).map_or("", String::as_str)
    }

    pub async fn write(&self) -> Result<Write, ApiError> {
        Ok(self
            .store
            .begin_write(&self.owner, &self.principal.token_id)
            .await?)
    }

    /// An object of this owner, or 404.
    pub async fn get(&self, kind: Kind, what: &str, id: &str) -> Result<StoredObject, ApiError> {
        self.store
            .get(&self.owner, kind, id)
            .await?
            .ok_or_else(|| ApiError::not_found(what, id))
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::NotFound(e.body_text()))?;
        let scope = parts
            .extensions
            .get::<Scope>()
            .copied()
            .unwrap_or(Scope::Account);
        let principal = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(ApiError::Unauthenticated)?;
        let owner_id = params.get("owner").map_or("", String::as_str);
        Ok(Ctx {
            store: state.store.clone(),
            owner: owner_key(scope == Scope::Zone, owner_id),
            principal,
            params,
        })
    }
}

/// The stored document with the server's fields: `id`, `created_at`, `updated_at`.
pub fn render(object: &StoredObject) -> Value {
    let mut doc = object.doc_with_id();
    if let Some(map) = doc.as_object_mut() {
        map.insert("created_at".into(), object.created_at.clone().into());
        map.insert("updated_at".into(), object.updated_at.clone().into());
    }
    doc
}

/// A wire object as stored: without the fields the server sets.
pub fn stored_doc<T: serde::Serialize>(
    wire: &T,
    server_fields: &[&str],
) -> Result<Value, ApiError> {
    let mut doc = serde_json::to_value(wire).map_err(|e| {
        tracing::error!(error = %e, "cannot serialise a wire object");
        ApiError::Internal
    })?;
    if let Some(map) = doc.as_object_mut() {
        for key in ["id", "created_at", "updated_at"]
            .iter()
            .chain(server_fields)
        {
            map.remove(*key);
        }
    }
    Ok(doc)
}

/// The objects a rule list refers to, as store references.
pub fn rule_refs(
    lists: [(&'static str, &[portcullis_formats::cloudflare::AccessRule]); 3],
) -> Vec<ObjectRef> {
    use portcullis_formats::cloudflare::RuleReference;
    portcullis_formats::cloudflare::rule_references(lists)
        .into_iter()
        .map(|r| {
            let kind = match r.kind {
                RuleReference::Group => Kind::Group,
                RuleReference::EmailList | RuleReference::IpList => Kind::List,
                RuleReference::ServiceToken => Kind::ServiceToken,
            };
            ObjectRef::new(kind, r.id)
        })
        .collect()
}

/// Refuses to delete an object others still refer to: 409, naming them.
pub async fn refuse_if_in_use(
    w: &mut Write,
    kind: Kind,
    what: &str,
    id: &str,
) -> Result<(), ApiError> {
    let users = w.referrers(kind, id).await?;
    if users.is_empty() {
        return Ok(());
    }
    let mut names = Vec::new();
    for r in &users {
        let label = match r.kind {
            Kind::App => "application",
            Kind::Policy | Kind::AppPolicy => "policy",
            Kind::Group => "group",
            Kind::List => "list",
            Kind::ServiceToken => "service token",
            Kind::AccessLevel => "access level",
            Kind::AuthorizePolicy => "authorization policy",
            Kind::DecisionEndpoint => "decision endpoint",
            Kind::AcmPolicy | Kind::AcmOperation | Kind::ZtnaPolicy => "object",
        };
        let name = w.get(r.kind, &r.id).await?.and_then(|o| {
            o.doc
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        names.push(match name {
            Some(n) => format!("{label} {n:?} ({})", r.id),
            None => format!("{label} {}", r.id),
        });
    }
    Err(ApiError::InUse(format!(
        "{what} {id} is in use by {}; detach it first",
        names.join(", ")
    )))
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `{"id": …}`, what Cloudflare returns for a delete.
pub fn deleted(id: &str) -> axum::response::Response {
    crate::envelope::ok(serde_json::json!({ "id": id }))
}

/// Access routes Cloudflare has for both accounts and zones, relative to
/// `/{owner}`.
fn shared_access_routes() -> Router<AppState> {
    Router::new()
        .route("/{owner}/access/apps", get(apps::list).post(apps::create))
        .route(
            "/{owner}/access/apps/{app_id}",
            get(apps::get).put(apps::update).delete(apps::delete),
        )
        .route(
            "/{owner}/access/apps/{app_id}/policies",
            get(app_policies::list).post(app_policies::create),
        )
        .route(
            "/{owner}/access/apps/{app_id}/policies/{policy_id}",
            get(app_policies::get)
                .put(app_policies::update)
                .delete(app_policies::delete),
        )
        .route(
            "/{owner}/access/groups",
            get(groups::list).post(groups::create),
        )
        .route(
            "/{owner}/access/groups/{group_id}",
            get(groups::get).put(groups::update).delete(groups::delete),
        )
        .route(
            "/{owner}/access/service_tokens",
            get(service_tokens::list).post(service_tokens::create),
        )
        .route(
            "/{owner}/access/service_tokens/{token_id}",
            get(service_tokens::get)
                .put(service_tokens::update)
                .delete(service_tokens::delete),
        )
}

/// Routes only accounts have.
fn account_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/{owner}/access/policies",
            get(policies::list).post(policies::create),
        )
        .route(
            "/{owner}/access/policies/{policy_id}",
            get(policies::get)
                .put(policies::update)
                .delete(policies::delete),
        )
        .route(
            "/{owner}/access/service_tokens/{token_id}/rotate",
            post(service_tokens::rotate),
        )
        .route(
            "/{owner}/access/service_tokens/{token_id}/refresh",
            post(service_tokens::refresh),
        )
        .route(
            "/{owner}/gateway/lists",
            get(lists::list).post(lists::create),
        )
        .route(
            "/{owner}/gateway/lists/{list_id}",
            get(lists::get)
                .put(lists::update)
                .patch(lists::patch)
                .delete(lists::delete),
        )
        .route("/{owner}/gateway/lists/{list_id}/items", get(lists::items))
}

/// `/client/v4/…`, without authentication (the caller layers it).
pub fn routes() -> Router<AppState> {
    Router::new()
        .nest(
            "/client/v4/accounts",
            shared_access_routes()
                .merge(account_routes())
                .layer(Extension(Scope::Account)),
        )
        .nest(
            "/client/v4/zones",
            shared_access_routes().layer(Extension(Scope::Zone)),
        )
}

/// Every route, for the OpenAPI document: (method, path, summary).
pub const ROUTES: &[(&str, &str, &str)] = &[
    (
        "get",
        "/client/v4/accounts/{owner}/access/policies",
        "List reusable Access policies",
    ),
    (
        "post",
        "/client/v4/accounts/{owner}/access/policies",
        "Create a reusable Access policy",
    ),
    (
        "get",
        "/client/v4/accounts/{owner}/access/policies/{policy_id}",
        "Get a reusable Access policy",
    ),
    (
        "put",
        "/client/v4/accounts/{owner}/access/policies/{policy_id}",
        "Replace a reusable Access policy",
    ),
    (
        "delete",
        "/client/v4/accounts/{owner}/access/policies/{policy_id}",
        "Delete a reusable Access policy (409 while applications use it)",
    ),
    (
        "get",
        "/client/v4/{scope}/{owner}/access/apps",
        "List Access applications",
    ),
    (
        "post",
        "/client/v4/{scope}/{owner}/access/apps",
        "Create an Access application",
    ),
    (
        "get",
        "/client/v4/{scope}/{owner}/access/apps/{app_id}",
        "Get an Access application with its policies",
    ),
    (
        "put",
        "/client/v4/{scope}/{owner}/access/apps/{app_id}",
        "Replace an Access application",
    ),
    (
        "delete",
        "/client/v4/{scope}/{owner}/access/apps/{app_id}",
        "Delete an Access application and its scoped policies",
    ),
    (
        "get",
        "/client/v4/{scope}/{owner}/access/apps/{app_id}/policies",
        "List an application's policies (scoped and reusable)",
    ),
    (
        "post",
        "/client/v4/{scope}/{owner}/access/apps/{app_id}/policies",
        "Create an application-scoped policy",
    ),
    (
        "get",
        "/client/v4/{scope}/{owner}/access/apps/{app_id}/policies/{policy_id}",
        "Get an application's policy",
    ),
    (
        "put",
        "/client/v4/{scope}/{owner}/access/apps/{app_id}/policies/{policy_id}",
        "Replace an application-scoped policy",
    ),
    (
        "delete",
        "/client/v4/{scope}/{owner}/access/apps/{app_id}/policies/{policy_id}",
        "Delete an application-scoped policy or detach a reusable one",
    ),
    (
        "get",
        "/client/v4/{scope}/{owner}/access/groups",
        "List Access groups",
    ),
    (
        "post",
        "/client/v4/{scope}/{owner}/access/groups",
        "Create an Access group",
    ),
    (
        "get",
        "/client/v4/{scope}/{owner}/access/groups/{group_id}",
        "Get an Access group",
    ),
    (
        "put",
        "/client/v4/{scope}/{owner}/access/groups/{group_id}",
        "Replace an Access group",
    ),
    (
        "delete",
        "/client/v4/{scope}/{owner}/access/groups/{group_id}",
        "Delete an Access group (409 while used)",
    ),
    (
        "get",
        "/client/v4/{scope}/{owner}/access/service_tokens",
        "List service tokens (never with secrets)",
    ),
    (
        "post",
        "/client/v4/{scope}/{owner}/access/service_tokens",
        "Create a service token (the secret is shown once)",
    ),
    (
        "get",
        "/client/v4/{scope}/{owner}/access/service_tokens/{token_id}",
        "Get a service token",
    ),
    (
        "put",
        "/client/v4/{scope}/{owner}/access/service_tokens/{token_id}",
        "Update a service token",
    ),
    (
        "delete",
        "/client/v4/{scope}/{owner}/access/service_tokens/{token_id}",
        "Delete a service token (409 while used)",
    ),
    (
        "post",
        "/client/v4/accounts/{owner}/access/service_tokens/{token_id}/rotate",
        "Rotate a service token's secret (shown once)",
    ),
    (
        "post",
        "/client/v4/accounts/{owner}/access/service_tokens/{token_id}/refresh",
        "Extend a service token's expiry by its duration",
    ),
    (
        "get",
        "/client/v4/accounts/{owner}/gateway/lists",
        "List Zero Trust lists",
    ),
    (
        "post",
        "/client/v4/accounts/{owner}/gateway/lists",
        "Create a Zero Trust list (EMAIL or IP)",
    ),
    (
        "get",
        "/client/v4/accounts/{owner}/gateway/lists/{list_id}",
        "Get a Zero Trust list",
    ),
    (
        "put",
        "/client/v4/accounts/{owner}/gateway/lists/{list_id}",
        "Replace a Zero Trust list",
    ),
    (
        "patch",
        "/client/v4/accounts/{owner}/gateway/lists/{list_id}",
        "Append and remove list items",
    ),
    (
        "delete",
        "/client/v4/accounts/{owner}/gateway/lists/{list_id}",
        "Delete a Zero Trust list (409 while used)",
    ),
    (
        "get",
        "/client/v4/accounts/{owner}/gateway/lists/{list_id}/items",
        "List a Zero Trust list's items",
    ),
];
