//! From stored documents to an account's IR: the one place the admin API (to
//! check a write before committing it) and the decision service (to build a
//! snapshot) turn what is stored into something the compiler accepts.

use portcullis_core::ir::AccountIr;
use portcullis_formats::cloudflare::{
    AccessApplication, AccessGroup, AccessPolicy, ServiceToken, ZeroTrustList,
};
use portcullis_formats::{from_value, ValidationErrors};

use crate::model::AccountObjects;

/// Document keys the store adds to wire objects; they are not part of the wire
/// types and are removed before parsing.
pub const SERVER_KEYS: &[&str] = &[
    "reusable",
    "app_count",
    "created_at",
    "updated_at",
    "client_secret_sha256",
    "previous_client_secret_sha256",
    "enabled",
    "count",
];

fn parse<T: serde::de::DeserializeOwned>(
    path: &str,
    doc: &serde_json::Value,
    keep: &[&str],
) -> Result<T, ValidationErrors> {
    let mut doc = doc.clone();
    if let Some(map) = doc.as_object_mut() {
        map.retain(|k, _| keep.contains(&k.as_str()) || !SERVER_KEYS.contains(&k.as_str()));
    }
    from_value(doc).map_err(|e| ValidationErrors(vec![e]).prefixed(path))
}

fn id_of(doc: &serde_json::Value) -> String {
    doc.get("id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

/// Lowers every object of an account. Applications refer to their policies by
/// id (`policies: [{"id", "precedence"}]`), as the store keeps them. A disabled
/// service token is lowered with an all-zero secret hash, which no secret has,
/// so rules may still name it but it never authenticates.
pub fn account_ir(objects: &AccountObjects) -> Result<AccountIr, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut ir = AccountIr {
        account_id: objects.account_id.clone(),
        ..AccountIr::default()
    };
    for doc in &objects.groups {
        let id = id_of(doc);
        match parse::<AccessGroup>(&format!("group {id:?}"), doc, &[]) {
            Ok(g) => ir.groups.push(g.lower(&id)),
            Err(e) => errors.0.extend(e.0),
        }
    }
    for doc in &objects.lists {
        let id = id_of(doc);
        match parse::<ZeroTrustList>(&format!("list {id:?}"), doc, &["created_at"]) {
            Ok(l) => ir.lists.push(l.lower(&id)),
            Err(e) => errors.0.extend(e.0),
        }
    }
    for doc in &objects.service_tokens {
        let id = id_of(doc);
        let enabled = doc.get("enabled").and_then(|v| v.as_bool()).unwrap_or(true);
        let mut hash = [0u8; 32];
        if enabled {
            let hex_hash = doc
                .get("client_secret_sha256")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            if hex::decode_to_slice(hex_hash, &mut hash).is_err() {
                errors.push(format!("service token {id:?}"), "has no secret hash");
            }
        }
        match parse::<ServiceToken>(
            &format!("service token {id:?}"),
            doc,
            &["created_at", "updated_at"],
        ) {
            Ok(t) => ir.service_tokens.push(t.lower(&id, hash)),
            Err(e) => errors.0.extend(e.0),
        }
    }
    for doc in &objects.policies {
        let id = id_of(doc);
        match parse::<AccessPolicy>(&format!("policy {id:?}"), doc, &[]) {
            Ok(p) => ir.policies.push(p.lower(&id)),
            Err(e) => errors.0.extend(e.0),
        }
    }
    for doc in &objects.apps {
        let id = id_of(doc);
        let app = match parse::<AccessApplication>(&format!("app {id:?}"), doc, &[]) {
            Ok(a) => a,
            Err(e) => {
                errors.0.extend(e.0);
                continue;
            }
        };
        match app.lower(&id, &mut ir.policies) {
            Ok(lowered) => ir.apps.push(lowered),
            Err(e) => errors.0.extend(e.0),
        }
    }
    errors.into_result().map(|_| ir)
}
