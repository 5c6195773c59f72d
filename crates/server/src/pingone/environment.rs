//! The environment as a whole: the check every policy write passes. The
//! environment's policies as they will stand, with the account's access
//! levels, go through the lowering the decision snapshot uses
//! (`formats::stored::lower_account`) and the compiler, so a write is accepted
//! exactly when the snapshot will build.

use portcullis_core::CompiledAccount;
use portcullis_formats::pingone::PolicyNode;
use portcullis_formats::stored::lower_account;
use portcullis_formats::ValidationErrors;
use portcullis_store::{AccountObjects, Kind, StoredObject, Write};

use crate::error::ApiError;

pub fn node(object: &StoredObject) -> Result<PolicyNode, ApiError> {
    serde_json::from_value(object.doc.clone()).map_err(|e| {
        tracing::error!(error = %e, id = %object.id, "stored authorization policy does not parse");
        ApiError::Internal
    })
}

/// Checks the environment's policies as they will stand after the write:
/// `changed` put in (or replaced), `removed` left out. Problems in `changed`
/// have paths into it (`children[0].value.id`); problems in another policy are
/// prefixed with `authorizationPolicies["<id>"]`.
pub async fn check(
    w: &mut Write,
    changed: Option<(&str, &PolicyNode)>,
    removed: Option<&str>,
) -> Result<(), ApiError> {
    let mut objects = AccountObjects::default();
    let mut ids: Vec<String> = Vec::new();
    for object in w.all(Kind::AuthorizePolicy).await? {
        if Some(object.id.as_str()) == removed || changed.is_some_and(|(id, _)| id == object.id) {
            continue;
        }
        objects.authorize_policies.push(object.doc_with_id());
        ids.push(object.id);
    }
    if let Some((id, policy)) = changed {
        let mut doc = serde_json::to_value(policy).map_err(|_| ApiError::Internal)?;
        if let Some(map) = doc.as_object_mut() {
            map.insert("id".into(), id.into());
        }
        objects.authorize_policies.push(doc);
        ids.push(id.to_string());
    }
    objects.access_levels = w
        .all(Kind::AccessLevel)
        .await?
        .iter()
        .map(StoredObject::doc_with_id)
        .collect();
    let focus = changed.map(|_| ids.len() - 1);
    let ir = lower_account(w.account(), &objects).map_err(|e| relative(e, &ids, focus))?;
    CompiledAccount::compile(&ir)?;
    Ok(())
}

/// Rewrites `authorize_policies[i]…` paths for the client: relative to the
/// policy it sent (`focus`), or naming another policy by id.
fn relative(errors: ValidationErrors, ids: &[String], focus: Option<usize>) -> ValidationErrors {
    let mut out = ValidationErrors::default();
    for e in errors.0 {
        let parsed = e.path.strip_prefix("authorize_policies[").and_then(|rest| {
            let (i, rest) = rest.split_once(']')?;
            let i = i.parse::<usize>().ok()?;
            Some((i, rest.trim_start_matches('.'), ids.get(i)?))
        });
        let path = match parsed {
            Some((i, rest, _)) if Some(i) == focus => rest.to_string(),
            Some((_, rest, id)) => portcullis_formats::error::join_path(
                &format!("authorizationPolicies[{id:?}]"),
                rest,
            ),
            None => e.path,
        };
        out.push(path, e.message);
    }
    out
}
