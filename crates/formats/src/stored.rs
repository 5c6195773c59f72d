//! From stored documents to an account's IR: the one lowering of what the store
//! keeps. The admin API's write checks and the decision service's snapshot
//! both call [`lower_account`], so a write that passes its check is a write
//! the snapshot builds, and the other way round.
//!
//! Every object is parsed from its wire JSON, validated, given its `id` and
//! lowered; the checks that span objects are those of
//! [`crate::lower::lower_other_formats`] and, after this, of the compiler.
//! Errors name the object by kind and index (`policies[3].include[0]…`).

use portcullis_core::ir::AccountIr;
use portcullis_core::service_token::hash_secret;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::acm::AccessLevel;
use crate::cloudflare::{
    AccessApplication, AccessGroup, AccessPolicy, ServiceToken, ZeroTrustList,
};
use crate::error::{from_value_ref, ValidationErrors};
use crate::lower::{lower_other_formats, OtherFormats};
use crate::pingone::{DecisionEndpoint, PolicyNode};
use crate::ztna::ZtnaPolicy;

/// One account's objects as the store keeps them: each in its wire JSON with
/// its `id`, grouped by kind (the corpus `setup` names).
///
/// Service tokens carry the SHA-256 of their secret as `client_secret_sha256`
/// (64 hex) because the store never keeps the secret, plus `enabled` and
/// `previous_client_secret_sha256`; a plain `client_secret` is accepted too
/// (fixtures). Policies carry `reusable`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountObjects {
    #[serde(default)]
    pub policies: Vec<Value>,
    #[serde(default)]
    pub apps: Vec<Value>,
    #[serde(default)]
    pub groups: Vec<Value>,
    #[serde(default)]
    pub lists: Vec<Value>,
    #[serde(default)]
    pub service_tokens: Vec<Value>,
    /// ZTNA access policies (`/v1/accounts/{id}/ztna/policies`).
    #[serde(default)]
    pub ztna_policies: Vec<Value>,
    /// PingOne Authorize policy trees (`authorizationPolicies`), with `version`.
    #[serde(default)]
    pub authorize_policies: Vec<Value>,
    /// Google ACM access levels, each with `id` = its full level name.
    #[serde(default)]
    pub access_levels: Vec<Value>,
    /// PingOne decision endpoints (`{name, description, policyId}`).
    #[serde(default)]
    pub decision_endpoints: Vec<Value>,
}

impl AccountObjects {
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
            && self.apps.is_empty()
            && self.groups.is_empty()
            && self.lists.is_empty()
            && self.service_tokens.is_empty()
            && self.ztna_policies.is_empty()
            && self.authorize_policies.is_empty()
            && self.access_levels.is_empty()
            && self.decision_endpoints.is_empty()
    }
}

/// Collects the problems of every object, so one bad object does not hide
/// the next.
struct Lowering {
    errors: ValidationErrors,
}

impl Lowering {
    /// Parses `kind[index]`; `None` (with the error kept) when it does not fit.
    fn parse<T: DeserializeOwned>(&mut self, kind: &str, index: usize, value: &Value) -> Option<T> {
        match from_value_ref(value) {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.0.extend(
                    ValidationErrors(vec![e])
                        .prefixed(&format!("{kind}[{index}]"))
                        .0,
                );
                None
            }
        }
    }

    /// Keeps the problems of `result`, found in `kind[index]`.
    fn check(&mut self, kind: &str, index: usize, result: Result<(), ValidationErrors>) -> bool {
        match result {
            Ok(()) => true,
            Err(e) => {
                self.errors
                    .0
                    .extend(e.prefixed(&format!("{kind}[{index}]")).0);
                false
            }
        }
    }

    /// The object's `id`, which the store always sets.
    fn id(&mut self, kind: &str, index: usize, id: &Option<String>) -> Option<String> {
        match id {
            Some(id) if !id.is_empty() => Some(id.clone()),
            _ => {
                self.errors
                    .push(format!("{kind}[{index}].id"), "is missing");
                None
            }
        }
    }

    /// Parses, validates and names one object.
    fn object<T: DeserializeOwned>(
        &mut self,
        kind: &str,
        index: usize,
        value: &Value,
        validate: impl Fn(&T) -> Result<(), ValidationErrors>,
        id: impl Fn(&T) -> &Option<String>,
    ) -> Option<(T, String)> {
        let object: T = self.parse(kind, index, value)?;
        let valid = self.check(kind, index, validate(&object));
        let id = self.id(kind, index, id(&object))?;
        valid.then_some((object, id))
    }
}

/// Decodes a 64-hex SHA-256.
fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Lowers one service token document. The store's bookkeeping beside the wire
/// fields: the secret's hash (and the previous one during rotation) and
/// whether the token is enabled. A disabled token keeps its id (rules may
/// still name it) but gets a hash no secret has, so it never authenticates.
fn service_token(low: &mut Lowering, index: usize, value: &Value, ir: &mut AccountIr) {
    const KIND: &str = "service_tokens";
    let mut value = value.clone();
    let (stored_hash, enabled) = match value.as_object_mut() {
        Some(o) => {
            o.remove("previous_client_secret_sha256");
            let enabled = o.remove("enabled").and_then(|v| v.as_bool());
            (o.remove("client_secret_sha256"), enabled.unwrap_or(true))
        }
        None => (None, true),
    };
    let Some((token, id)) = low.object(KIND, index, &value, ServiceToken::validate, |t| &t.id)
    else {
        return;
    };
    let hash = if enabled {
        match (
            stored_hash.as_ref().and_then(Value::as_str),
            &token.client_secret,
        ) {
            (Some(hex), _) => parse_sha256(hex),
            (None, Some(secret)) => Some(hash_secret(secret)),
            (None, None) => None,
        }
    } else {
        Some([0u8; 32])
    };
    match hash {
        Some(hash) => ir.service_tokens.push(token.lower(&id, hash)),
        None => low.errors.push(
            format!("{KIND}[{index}].client_secret_sha256"),
            "is missing or not 64 hex digits",
        ),
    }
}

/// Lowers one account's stored objects into its IR, reporting every object
/// that does not parse, validate or fit with the others.
pub fn lower_account(
    account_id: &str,
    objects: &AccountObjects,
) -> Result<AccountIr, ValidationErrors> {
    let mut low = Lowering {
        errors: ValidationErrors::default(),
    };
    let mut ir = AccountIr {
        account_id: account_id.to_string(),
        ..AccountIr::default()
    };
    for (i, value) in objects.groups.iter().enumerate() {
        if let Some((group, id)) = low.object("groups", i, value, AccessGroup::validate, |g| &g.id)
        {
            ir.groups.push(group.lower(&id));
        }
    }
    for (i, value) in objects.lists.iter().enumerate() {
        if let Some((list, id)) = low.object("lists", i, value, ZeroTrustList::validate, |l| &l.id)
        {
            ir.lists.push(list.lower(&id));
        }
    }
    for (i, value) in objects.service_tokens.iter().enumerate() {
        service_token(&mut low, i, value, &mut ir);
    }
    for (i, value) in objects.policies.iter().enumerate() {
        if let Some((policy, id)) =
            low.object("policies", i, value, AccessPolicy::validate, |p| &p.id)
        {
            ir.policies.push(policy.lower(&id));
        }
    }
    for (i, value) in objects.apps.iter().enumerate() {
        if let Some((app, id)) =
            low.object("apps", i, value, AccessApplication::validate, |a| &a.id)
        {
            match app.lower(&id, &mut ir.policies) {
                Ok(lowered) => ir.apps.push(lowered),
                Err(e) => {
                    low.check("apps", i, Err(e));
                }
            }
        }
    }
    let before = low.errors.0.len();
    let ztna_policies: Vec<ZtnaPolicy> =
        parse_all(&mut low, "ztna_policies", &objects.ztna_policies);
    let authorize_policies: Vec<PolicyNode> =
        parse_all(&mut low, "authorize_policies", &objects.authorize_policies);
    // A level's store id is its full name, which the level already carries as
    // `name`; the wire type has no `id`.
    let levels: Vec<Value> = objects
        .access_levels
        .iter()
        .map(|value| {
            let mut value = value.clone();
            if let Some(map) = value.as_object_mut() {
                map.remove("id");
            }
            value
        })
        .collect();
    let access_levels: Vec<AccessLevel> = parse_all(&mut low, "access_levels", &levels);
    let others = OtherFormats {
        ztna_policies: &ztna_policies,
        authorize_policies: &authorize_policies,
        access_levels: &access_levels,
    };
    // Their checks across objects name them by index: only when all parsed.
    if low.errors.0.len() == before {
        if let Err(e) = lower_other_formats("", others, &mut ir) {
            low.errors.0.extend(e.0);
        }
    }
    for (i, value) in objects.decision_endpoints.iter().enumerate() {
        if let Some((endpoint, id)) = low.object(
            "decision_endpoints",
            i,
            value,
            DecisionEndpoint::validate,
            |e| &e.id,
        ) {
            ir.decision_endpoints.push(endpoint.lower(&id));
        }
    }
    low.errors.into_result().map(|()| ir)
}

/// Parses every object of one kind, keeping the ones that fit.
fn parse_all<T: DeserializeOwned>(low: &mut Lowering, kind: &str, values: &[Value]) -> Vec<T> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, value)| low.parse(kind, i, value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn store_bookkeeping_is_read_not_refused() {
        let objects = AccountObjects {
            policies: vec![json!({"id": "p1", "name": "p", "decision": "allow",
                "include": [{"everyone": {}}], "reusable": true, "app_count": 1,
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"})],
            lists: vec![json!({"id": "l1", "name": "l", "type": "EMAIL", "count": 1,
                "items": [{"value": "a@example.com", "created_at": "2026-01-01T00:00:00Z"}]})],
            // Disabled: no hash needed, and none that any secret has.
            service_tokens: vec![
                json!({"id": "t1", "name": "ci", "client_id": "cid.access", "enabled": false}),
            ],
            ..AccountObjects::default()
        };
        let ir = lower_account("acc", &objects).unwrap();
        assert_eq!(ir.account_id, "acc");
        assert_eq!(ir.policies[0].id, "p1");
        assert_eq!(ir.lists[0].id, "l1");
        assert_eq!(ir.service_tokens[0].secret_sha256, [0u8; 32]);
    }

    #[test]
    fn every_bad_object_is_named() {
        let objects = AccountObjects {
            groups: vec![json!({"name": "no id", "include": [{"everyone": {}}]})],
            policies: vec![
                json!({"id": "p1", "name": "p", "decision": "allow", "include": [{"nope": {}}]}),
            ],
            service_tokens: vec![json!({"id": "t1", "name": "ci", "client_id": "cid.access"})],
            decision_endpoints: vec![json!({"id": "e1", "name": "main"})],
            ..AccountObjects::default()
        };
        let errors = lower_account("acc", &objects).unwrap_err();
        let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "groups[0].id",
                "service_tokens[0].client_secret_sha256",
                "policies[0].include[0]",
                "decision_endpoints[0].policyId"
            ],
            "{errors}"
        );
    }

    #[test]
    fn an_endpoint_may_name_a_missing_policy() {
        let objects = AccountObjects {
            decision_endpoints: vec![json!({"id": "e1", "name": "main", "policyId": "gone"})],
            ..AccountObjects::default()
        };
        let ir = lower_account("acc", &objects).unwrap();
        assert_eq!(ir.decision_endpoints[0].policy_id, "gone");
        let compiled = portcullis_core::CompiledAccount::compile(&ir).unwrap();
        assert_eq!(compiled.decision_endpoint_policy("e1"), Some("gone"));
        assert_eq!(compiled.decision_endpoint_policy("e2"), None);
    }
}
