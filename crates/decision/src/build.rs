//! Turning one account's stored objects into the compiled form decisions read:
//! lower them with `portcullis-formats` (the same lowering the admin API checks
//! writes with), compile, and index the external evaluations.

use std::sync::Arc;

use portcullis_core::ir::{AccountIr, Condition, Predicate};
use portcullis_core::CompiledAccount;
use portcullis_formats::ValidationErrors;
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
    /// Objects that do not parse, validate or fit together; paths name the
    /// kind and index (`policies[3].include[0]…`).
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("compile: {0}")]
    Compile(String),
}

/// Lowers one account's objects into its IR, with the lowering the admin
/// API's write checks use ([`portcullis_formats::stored::lower_account`]).
pub fn lower_account(account_id: &str, objects: &AccountObjects) -> Result<AccountIr, BuildError> {
    portcullis_formats::stored::lower_account(account_id, objects).map_err(BuildError::Invalid)
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
    use portcullis_core::service_token::hash_secret;
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
