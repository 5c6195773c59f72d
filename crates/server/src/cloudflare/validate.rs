//! The whole-account check a write passes before it commits: the changed
//! objects, with every group, list and service token of the account and the
//! policies and applications they touch, are lowered and compiled exactly as
//! the decision service will compile them (one lowering for both,
//! `formats::stored::lower_account`). A dangling reference, a group cycle,
//! a duplicate precedence or a domain conflict is refused with 400 and nothing
//! is written.
//!
//! Only the part of the account a change can affect is compiled (policies do not
//! refer to each other), so a write costs the same with 10 or 100 000 policies.

use portcullis_core::CompiledAccount;
use portcullis_formats::stored::lower_account;
use portcullis_store::{AccountObjects, Kind, StoredObject, Write};
use serde_json::Value;

use crate::error::ApiError;

/// What a write changed.
pub enum Focus<'a> {
    /// A policy (reusable or app-scoped).
    Policy(Kind, &'a str),
    /// An application and its policies.
    App(&'a str),
    /// A group, list or service token: the policies that use it are rechecked.
    Referenced(Kind, &'a str),
}

/// Checks the account as it stands inside the write `w`.
pub async fn check(w: &mut Write, focus: Focus<'_>) -> Result<(), ApiError> {
    let mut objects = AccountObjects::default();
    for (kind, out) in [
        (Kind::Group, &mut objects.groups),
        (Kind::List, &mut objects.lists),
        (Kind::ServiceToken, &mut objects.service_tokens),
    ] {
        *out = w
            .all(kind)
            .await?
            .iter()
            .map(StoredObject::doc_with_id)
            .collect();
    }
    let mut policies: Vec<(Kind, String)> = Vec::new();
    match focus {
        Focus::Policy(kind, id) => policies.push((kind, id.to_string())),
        Focus::App(app_id) => {
            for app in w.all(Kind::App).await? {
                let mut doc = app.doc_with_id();
                if app.id == app_id {
                    for link in doc
                        .get("policies")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(pid) = link.get("id").and_then(Value::as_str) {
                            policies.push((Kind::Policy, pid.to_string()));
                            policies.push((Kind::AppPolicy, pid.to_string()));
                        }
                    }
                } else if let Some(map) = doc.as_object_mut() {
                    // Other applications only take part for domain conflicts.
                    map.insert("policies".into(), Value::Array(Vec::new()));
                }
                objects.apps.push(doc);
            }
        }
        Focus::Referenced(kind, id) => {
            for r in w.referrers(kind, id).await? {
                if matches!(r.kind, Kind::Policy | Kind::AppPolicy) {
                    policies.push((r.kind, r.id));
                }
            }
        }
    }
    for (kind, id) in policies {
        if let Some(p) = w.get(kind, &id).await? {
            objects.policies.push(p.doc_with_id());
        }
    }
    let ir = lower_account(w.account(), &objects)?;
    CompiledAccount::compile(&ir)?;
    Ok(())
}
