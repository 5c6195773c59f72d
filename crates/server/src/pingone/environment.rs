//! The environment as a whole: the check every policy write passes (the whole
//! tree of the environment, as it will stand, must validate, resolve and
//! compile).

use portcullis_core::ir::AccountIr;
use portcullis_core::CompiledAccount;
use portcullis_formats::acm::AccessLevel;
use portcullis_formats::pingone::{validate_policy_set, PolicyNode};
use portcullis_formats::ValidationErrors;
use portcullis_store::{Kind, StoredObject, Write};

use crate::error::ApiError;

pub fn node(object: &StoredObject) -> Result<PolicyNode, ApiError> {
    serde_json::from_value(object.doc.clone()).map_err(|e| {
        tracing::error!(error = %e, id = %object.id, "stored authorization policy does not parse");
        ApiError::Internal
    })
}

fn level(object: &StoredObject) -> Result<AccessLevel, ApiError> {
    serde_json::from_value(object.doc.clone()).map_err(|e| {
        tracing::error!(error = %e, id = %object.id, "stored access level does not parse");
        ApiError::Internal
    })
}

/// The environment's policies as they will stand after the write: `changed`
/// put in (or replaced), `removed` left out.
pub async fn check(
    w: &mut Write,
    env: &str,
    changed: Option<(&str, &PolicyNode)>,
    removed: Option<&str>,
) -> Result<(), ApiError> {
    let mut policies: Vec<(String, PolicyNode)> = Vec::new();
    for object in w.all(Kind::AuthorizePolicy).await? {
        if Some(object.id.as_str()) == removed || changed.is_some_and(|(id, _)| id == object.id) {
            continue;
        }
        policies.push((object.id.clone(), node(&object)?));
    }
    if let Some((id, policy)) = changed {
        policies.push((id.to_string(), policy.clone()));
    }
    let focus = changed.map(|_| policies.len() - 1);
    let pairs: Vec<(&str, &PolicyNode)> = policies.iter().map(|(id, p)| (id.as_str(), p)).collect();
    let mut errors = ValidationErrors::default();
    if let Err(found) = validate_policy_set(&pairs) {
        for e in found.0 {
            let parsed = e.path.strip_prefix('[').and_then(|rest| {
                let (i, rest) = rest.split_once(']')?;
                Some((i.parse::<usize>().ok()?, rest.trim_start_matches('.')))
            });
            let path = match parsed {
                Some((i, rest)) if Some(i) == focus => rest.to_string(),
                Some((i, rest)) => format!("authorizationPolicies[{:?}].{rest}", policies[i].0),
                None => e.path,
            };
            errors.push(path, e.message);
        }
    }
    let levels: Vec<AccessLevel> = w
        .all(Kind::AccessLevel)
        .await?
        .iter()
        .map(level)
        .collect::<Result<_, _>>()?;
    if let Some((_, policy)) = changed {
        for (path, name) in policy.level_references() {
            if !levels
                .iter()
                .any(|l| l.name.as_deref() == Some(name.as_str()))
            {
                errors.push(path, format!("access level {name:?} does not exist"));
            }
        }
    }
    errors.into_result()?;
    CompiledAccount::compile(&ir(env.to_string(), &policies, &levels))?;
    Ok(())
}

fn ir(account: String, policies: &[(String, PolicyNode)], levels: &[AccessLevel]) -> AccountIr {
    AccountIr {
        account_id: account,
        authorize_policies: policies.iter().map(|(id, p)| p.lower(id)).collect(),
        access_levels: levels.iter().map(AccessLevel::lower).collect(),
        ..AccountIr::default()
    }
}
