//! Turning one account's stored objects into the compiled form decisions read:
//! parse each object with `portcullis-formats`, validate it, lower it to the IR
//! and compile. The same steps as a corpus setup (`Setup::lower`), except that
//! service tokens come with the hash of their secret, never the secret.

use std::sync::Arc;

use portcullis_core::ir::{AccountIr, Condition, Predicate};
use portcullis_core::service_token::hash_secret;
use portcullis_core::CompiledAccount;
use portcullis_formats::acm::AccessLevel;
use portcullis_formats::cloudflare::{
    AccessApplication, AccessGroup, AccessPolicy, ServiceToken, ZeroTrustList,
};
use portcullis_formats::lower::{lower_other_formats, OtherFormats};
use portcullis_formats::pingone::{DecisionEndpoint, PolicyNode};
use portcullis_formats::ztna::ZtnaPolicy;
use portcullis_formats::{from_value, ValidationErrors};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::source::AccountObjects;

/// An `external_evaluation` rule: where to ask and whose keys sign the answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalRule {
    pub evaluate_url: String,
    pub keys_url: String,
}

/// App id → the external rules reachable from its policies (through groups).
pub type AppExternals = FxHashMap<Box<str>, Arc<[ExternalRule]>>;

/// A compiled account plus what the evaluator cannot do itself: the external
/// evaluations each application's policies may consult.
#[derive(Debug)]
pub struct BuiltAccount {
    pub compiled: Arc<CompiledAccount>,
    pub externals: AppExternals,
}

/// Why an account could not be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildError {
    #[error("{kind}[{index}]: {message}")]
    Object {
        kind: &'static str,
        index: usize,
        message: String,
    },
    /// Checks across objects failed (references, cycles); paths name the kind.
    #[error("{0}")]
    Invalid(String),
    #[error("compile: {0}")]
    Compile(String),
}

fn object_error(kind: &'static str, index: usize, errors: ValidationErrors) -> BuildError {
    BuildError::Object {
        kind,
        index,
        message: errors.to_string(),
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    kind: &'static str,
    index: usize,
    value: &serde_json::Value,
) -> Result<T, BuildError> {
    from_value(value.clone()).map_err(|e| BuildError::Object {
        kind,
        index,
        message: e.to_string(),
    })
}

fn object_id(kind: &'static str, index: usize, id: &Option<String>) -> Result<String, BuildError> {
    match id {
        Some(id) if !id.is_empty() => Ok(id.clone()),
        _ => Err(BuildError::Object {
            kind,
            index,
            message: "id is missing".into(),
        }),
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

/// Lowers one account's objects into its IR.
pub fn lower_account(account_id: &str, objects: &AccountObjects) -> Result<AccountIr, BuildError> {
    let mut ir = AccountIr {
        account_id: account_id.to_string(),
        ..AccountIr::default()
    };
    for (i, value) in objects.groups.iter().enumerate() {
        let group: AccessGroup = parse("groups", i, value)?;
        group.validate().map_err(|e| object_error("groups", i, e))?;
        ir.groups
            .push(group.lower(&object_id("groups", i, &group.id)?));
    }
    for (i, value) in objects.lists.iter().enumerate() {
        let list: ZeroTrustList = parse("lists", i, value)?;
        list.validate().map_err(|e| object_error("lists", i, e))?;
        ir.lists.push(list.lower(&object_id("lists", i, &list.id)?));
    }
    for (i, value) in objects.service_tokens.iter().enumerate() {
        let mut value = value.clone();
        // What the store keeps beside the wire document: the secret's hash (and the
        // previous one during rotation) and whether the token is enabled.
        let (stored_hash, enabled) = match value.as_object_mut() {
            Some(o) => {
                o.remove("previous_client_secret_sha256");
                let enabled = o.remove("enabled").and_then(|v| v.as_bool());
                (o.remove("client_secret_sha256"), enabled.unwrap_or(true))
            }
            None => (None, true),
        };
        let token: ServiceToken = parse("service_tokens", i, &value)?;
        token
            .validate()
            .map_err(|e| object_error("service_tokens", i, e))?;
        let hash = match (
            stored_hash.as_ref().and_then(|v| v.as_str()),
            &token.client_secret,
        ) {
            (Some(hex), _) => parse_sha256(hex),
            (None, Some(secret)) => Some(hash_secret(secret)),
            (None, None) => None,
        };
        let Some(hash) = hash else {
            return Err(BuildError::Object {
                kind: "service_tokens",
                index: i,
                message: "client_secret_sha256 is missing or not 64 hex digits".into(),
            });
        };
        // A disabled token keeps its id (rules may still name it) but gets a hash no
        // secret has, so it never authenticates.
        let hash = if enabled { hash } else { [0u8; 32] };
        ir.service_tokens
            .push(token.lower(&object_id("service_tokens", i, &token.id)?, hash));
    }
    for (i, value) in objects.policies.iter().enumerate() {
        let policy: AccessPolicy = parse("policies", i, value)?;
        policy
            .validate()
            .map_err(|e| object_error("policies", i, e))?;
        ir.policies
            .push(policy.lower(&object_id("policies", i, &policy.id)?));
    }
    for (i, value) in objects.apps.iter().enumerate() {
        let app: AccessApplication = parse("apps", i, value)?;
        app.validate().map_err(|e| object_error("apps", i, e))?;
        let app_id = object_id("apps", i, &app.id)?;
        let lowered = app
            .lower(&app_id, &mut ir.policies)
            .map_err(|e| object_error("apps", i, e))?;
        ir.apps.push(lowered);
    }
    let ztna_policies: Vec<ZtnaPolicy> = parse_all("ztna_policies", &objects.ztna_policies)?;
    let authorize_policies: Vec<PolicyNode> =
        parse_all("authorize_policies", &objects.authorize_policies)?;
    // A level's store id is its full name, which the level already carries as
    // `name`; the wire type has no `id`.
    let access_levels: Vec<AccessLevel> = objects
        .access_levels
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let mut value = value.clone();
            if let Some(map) = value.as_object_mut() {
                map.remove("id");
            }
            parse("access_levels", i, &value)
        })
        .collect::<Result<_, _>>()?;
    let others = OtherFormats {
        ztna_policies: &ztna_policies,
        authorize_policies: &authorize_policies,
        access_levels: &access_levels,
    };
    lower_other_formats("", others, &mut ir).map_err(|e| BuildError::Invalid(e.to_string()))?;
    for (i, value) in objects.decision_endpoints.iter().enumerate() {
        let endpoint: DecisionEndpoint = parse("decision_endpoints", i, value)?;
        endpoint
            .validate()
            .map_err(|e| object_error("decision_endpoints", i, e))?;
        ir.decision_endpoints.push(endpoint.lower(&object_id(
            "decision_endpoints",
            i,
            &endpoint.id,
        )?));
    }
    Ok(ir)
}

fn parse_all<T: serde::de::DeserializeOwned>(
    kind: &'static str,
    values: &[serde_json::Value],
) -> Result<Vec<T>, BuildError> {
    values
        .iter()
        .enumerate()
        .map(|(i, value)| parse(kind, i, value))
        .collect()
}

/// Builds one account: lower, compile, index its external evaluations.
pub fn build_account(
    account_id: &str,
    objects: &AccountObjects,
) -> Result<BuiltAccount, BuildError> {
    let ir = lower_account(account_id, objects)?;
    let compiled = CompiledAccount::compile(&ir).map_err(|e| BuildError::Compile(e.to_string()))?;
    Ok(BuiltAccount {
        compiled: Arc::new(compiled),
        externals: external_rules(&ir),
    })
}

fn collect_external(cond: &Condition, groups: &mut Vec<String>, out: &mut Vec<ExternalRule>) {
    match cond {
        Condition::All(items) | Condition::Any(items) => {
            for c in items {
                collect_external(c, groups, out);
            }
        }
        Condition::Not(inner) => collect_external(inner, groups, out),
        Condition::Leaf(Predicate::ExternalEvaluation {
            evaluate_url,
            keys_url,
        }) => out.push(ExternalRule {
            evaluate_url: evaluate_url.clone(),
            keys_url: keys_url.clone(),
        }),
        Condition::Leaf(Predicate::Group(id)) => groups.push(id.clone()),
        _ => {}
    }
}

/// Per application, the external evaluations its policies (and the groups they
/// name, transitively) may need.
fn external_rules(ir: &AccountIr) -> AppExternals {
    let policies: FxHashMap<&str, _> = ir.policies.iter().map(|p| (p.id.as_str(), p)).collect();
    let groups: FxHashMap<&str, _> = ir.groups.iter().map(|g| (g.id.as_str(), g)).collect();
    let mut out = FxHashMap::default();
    for app in &ir.apps {
        let mut rules = Vec::new();
        let mut pending = Vec::new();
        for r in &app.policies {
            if let Some(p) = policies.get(r.policy_id.as_str()) {
                for c in p.include.iter().chain(&p.require).chain(&p.exclude) {
                    collect_external(c, &mut pending, &mut rules);
                }
            }
        }
        let mut seen = FxHashSet::default();
        while let Some(id) = pending.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            if let Some(g) = groups.get(id.as_str()) {
                for c in g.include.iter().chain(&g.require).chain(&g.exclude) {
                    collect_external(c, &mut pending, &mut rules);
                }
            }
        }
        if !rules.is_empty() {
            let mut unique = FxHashSet::default();
            rules.retain(|r| unique.insert(r.clone()));
            out.insert(Box::from(app.id.as_str()), Arc::from(rules));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn external_rules_are_found_through_groups() {
        let objects = AccountObjects {
            groups: vec![json!({"id": "g1", "name": "g", "include": [
                {"external_evaluation": {"evaluate_url": "https://e/check", "keys_url": "https://e/keys"}}]})],
            policies: vec![json!({"id": "p1", "name": "p", "decision": "allow",
                "include": [{"group": {"id": "g1"}}]})],
            apps: vec![
                json!({"id": "a1", "name": "a", "domain": "a.example.com", "type": "self_hosted", "policies": ["p1"]}),
            ],
            ..AccountObjects::default()
        };
        let built = build_account("acc", &objects).unwrap();
        let rules = built.externals.get("a1").unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].evaluate_url, "https://e/check");
    }

    #[test]
    fn stored_service_tokens_use_their_secret_hash() {
        let hash: String = hash_secret("s3cret")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let objects = AccountObjects {
            service_tokens: vec![
                json!({"id": "t1", "name": "ci", "client_id": "cid.access", "client_secret_sha256": hash}),
            ],
            ..AccountObjects::default()
        };
        let ir = lower_account("acc", &objects).unwrap();
        assert_eq!(ir.service_tokens[0].secret_sha256, hash_secret("s3cret"));
    }

    #[test]
    fn a_bad_object_names_its_place() {
        let objects = AccountObjects {
            policies: vec![
                json!({"id": "p1", "name": "p", "decision": "allow", "include": [{"nope": {}}]}),
            ],
            ..AccountObjects::default()
        };
        let err = build_account("acc", &objects).unwrap_err().to_string();
        assert!(err.starts_with("policies[0]"), "{err}");
    }
    #[test]
    fn stored_access_levels_and_ztna_policies_reach_the_decision() {
        let objects = AccountObjects {
            access_levels: vec![json!({"id": "accessPolicies/p1/accessLevels/corp_net",
                "name": "accessPolicies/p1/accessLevels/corp_net", "title": "corp net",
                "basic": {"conditions": [{"ipSubnetworks": ["10.0.0.0/8"]}]}})],
            ztna_policies: vec![json!({"id": "6f1c2a0e-0000-4000-8000-000000000001",
                "name": "block", "decision": "deny",
                "subjects": [{"type": "user", "id": "mallory@example.com"}],
                "resources": [{"type": "application", "id": "wiki"}],
                "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z"})],
            ..AccountObjects::default()
        };
        let built = build_account("acc", &objects).unwrap();
        let request: portcullis_core::RequestContext = serde_json::from_value(json!({
            "identity": {"email": "alice@example.com"},
            "network": {"ip": "10.1.2.3"}
        }))
        .unwrap();
        let result = built
            .compiled
            .evaluate(&request, portcullis_core::eval::EvalOptions::default())
            .to_result();
        assert_eq!(
            result.access_levels,
            vec!["accessPolicies/p1/accessLevels/corp_net".to_string()]
        );
    }

    #[test]
    fn a_reference_to_a_missing_level_is_refused_with_its_path() {
        let objects = AccountObjects {
            authorize_policies: vec![json!({"id": "root", "type": "POLICY", "name": "root",
                "combiningAlgorithm": {"algorithm": "DENY_OVERRIDES"},
                "condition": {"type": "REFERENCE",
                              "reference": {"id": "accessPolicies/p/accessLevels/nope"}}})],
            ..AccountObjects::default()
        };
        let err = build_account("acc", &objects).unwrap_err().to_string();
        assert_eq!(
            err,
            "authorize_policies[0].condition.reference.id: access level \"accessPolicies/p/accessLevels/nope\" does not exist"
        );
    }

    #[test]
    fn stored_service_token_bookkeeping_is_read_not_refused() {
        let hash: String = hash_secret("s3cret")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let token = |enabled: bool| {
            json!({"id": "t1", "name": "ci", "client_id": "cid.access",
                   "client_secret_sha256": hash, "previous_client_secret_sha256": hash,
                   "enabled": enabled})
        };
        let on = AccountObjects {
            service_tokens: vec![token(true)],
            ..AccountObjects::default()
        };
        let ir = lower_account("acc", &on).unwrap();
        assert_eq!(ir.service_tokens[0].secret_sha256, hash_secret("s3cret"));
        let off = AccountObjects {
            service_tokens: vec![token(false)],
            ..AccountObjects::default()
        };
        let ir = lower_account("acc", &off).unwrap();
        assert_eq!(ir.service_tokens[0].secret_sha256, [0u8; 32]);
    }
}
