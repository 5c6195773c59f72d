//! `/v1/environments/{env}/authorizationPolicies[/{policy_id}]`. The server
//! sets `id` and `version`; every write gives a new `version`, and an update
//! that carries an older one is refused with 409 (optimistic concurrency).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Extension;
use portcullis_formats::pingone::PolicyNode;
use portcullis_store::{Kind, ObjectRef, StoredObject};
use serde_json::Value;

use super::environment::{check, node};
use super::resource::{self, missing, Answer, Resource};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

/// The policies a tree references by id, as store references.
fn references(policy: &PolicyNode) -> Vec<ObjectRef> {
    fn walk(node: &PolicyNode, out: &mut Vec<ObjectRef>) {
        for child in node.children.iter().flatten() {
            match child.reference_id() {
                Some(id) => out.push(ObjectRef::new(Kind::AuthorizePolicy, id)),
                None => walk(child, out),
            }
        }
    }
    let mut out = Vec::new();
    walk(policy, &mut out);
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup();
    out
}

impl Resource for PolicyNode {
    const KIND: Kind = Kind::AuthorizePolicy;
    const COLLECTION: &'static str = "authorizationPolicies";
    const NOUN: &'static str = "authorization policy";

    fn body_id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Validates the policy and the environment as it will stand, and stores
    /// the policy with a new version; a stale `version` is 409.
    async fn put(
        mut self,
        state: &AppState,
        principal: &Principal,
        env: &str,
        id: &str,
        create: bool,
    ) -> Result<StoredObject, ApiError> {
        let sent_version = self.version.take();
        self.id = None;
        self.validate()?;
        let (mut w, before) = resource::begin::<Self>(state, principal, env, id, create).await?;
        if let (Some(before), Some(sent)) = (&before, sent_version.as_deref()) {
            let current = before.doc.get("version").and_then(Value::as_str);
            if current != Some(sent) {
                return Err(ApiError::Stale(format!(
                    "version {sent:?} is not the current version of authorization policy {id:?}; read it again"
                )));
            }
        }
        check(&mut w, Some((id, &self)), None).await?;
        self.version = Some(uuid::Uuid::new_v4().to_string());
        let doc = serde_json::to_value(&self).map_err(|_| ApiError::Internal)?;
        resource::commit::<Self>(w, id, &doc, &references(&self)).await
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((env, id)): Path<(String, String)>,
) -> Answer {
    let mut w = state.store.begin_write(&env, &principal.token_id).await?;
    let Some(before) = w.get(Kind::AuthorizePolicy, &id).await? else {
        return Err(missing::<PolicyNode>(&id).into());
    };
    node(&before)?;
    let endpoints: Vec<String> = w
        .referrers(Kind::AuthorizePolicy, &id)
        .await?
        .into_iter()
        .filter(|r| r.kind == Kind::DecisionEndpoint)
        .map(|r| r.id)
        .collect();
    if !endpoints.is_empty() {
        return Err(ApiError::InUse(format!(
            "authorization policy {id:?} is used by decision endpoint(s) {}; point them elsewhere first",
            endpoints.join(", ")
        ))
        .into());
    }
    check(&mut w, None, Some(&id)).await?;
    w.delete(Kind::AuthorizePolicy, &id).await?;
    w.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
