//! Conformance corpus files: a setup (one account's objects, each in its own wire
//! format) and cases (a request context and the expected decision).

use std::collections::BTreeSet;

use portcullis_core::context::RequestContext;
use portcullis_core::decision::{AuthorizeDecision, Decision, DecisionResult};
use portcullis_core::ir::AccountIr;
use portcullis_core::service_token::hash_secret;
use serde::{Deserialize, Serialize};

use crate::acm::AccessLevel;
use crate::cloudflare::{
    AccessApplication, AccessGroup, AccessPolicy, ServiceToken, ZeroTrustList,
};
use crate::error::ValidationErrors;
use crate::lower::{lower_other_formats, OtherFormats};
use crate::pingone::PolicyNode;
use crate::ztna::ZtnaPolicy;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusFile {
    pub name: String,
    pub setup: Setup,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    pub account_id: String,
    #[serde(default)]
    pub groups: Vec<AccessGroup>,
    #[serde(default)]
    pub lists: Vec<ZeroTrustList>,
    #[serde(default)]
    pub service_tokens: Vec<ServiceToken>,
    #[serde(default)]
    pub policies: Vec<AccessPolicy>,
    #[serde(default)]
    pub apps: Vec<AccessApplication>,
    #[serde(default)]
    pub ztna_policies: Vec<ZtnaPolicy>,
    #[serde(default)]
    pub authorize_policies: Vec<PolicyNode>,
    #[serde(default)]
    pub access_levels: Vec<AccessLevel>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub request: RequestContext,
    pub expect: Expect,
}

/// What a case expects. Absent keys are not checked.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// A subset of the returned obligations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obligations: Option<serde_json::Value>,
    /// The exact set of granted access levels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_levels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_decision: Option<AuthorizeDecision>,
    /// Statement codes, order not significant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statements: Option<Vec<String>>,
}

impl Setup {
    /// Validates every object and lowers the setup into one account's IR.
    pub fn lower(&self) -> Result<AccountIr, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let mut ir = AccountIr {
            account_id: self.account_id.clone(),
            ..AccountIr::default()
        };
        let mut check = |path: String, result: Result<(), ValidationErrors>| {
            if let Err(e) = result {
                errors.0.extend(e.prefixed(&path).0);
            }
        };
        for (i, group) in self.groups.iter().enumerate() {
            check(format!("setup.groups[{i}]"), group.validate());
            check(format!("setup.groups[{i}]"), require_id(&group.id));
            ir.groups
                .push(group.lower(group.id.as_deref().unwrap_or_default()));
        }
        for (i, list) in self.lists.iter().enumerate() {
            check(format!("setup.lists[{i}]"), list.validate());
            check(format!("setup.lists[{i}]"), require_id(&list.id));
            ir.lists
                .push(list.lower(list.id.as_deref().unwrap_or_default()));
        }
        for (i, token) in self.service_tokens.iter().enumerate() {
            let path = format!("setup.service_tokens[{i}]");
            check(path.clone(), token.validate());
            check(path.clone(), require_id(&token.id));
            match (&token.client_id, &token.client_secret) {
                (Some(_), Some(secret)) => ir.service_tokens.push(
                    token.lower(token.id.as_deref().unwrap_or_default(), hash_secret(secret)),
                ),
                _ => check(
                    path,
                    Err(ValidationErrors::single(
                        "client_secret",
                        "corpus service tokens need client_id and client_secret",
                    )),
                ),
            }
        }
        for (i, policy) in self.policies.iter().enumerate() {
            check(format!("setup.policies[{i}]"), policy.validate());
            check(format!("setup.policies[{i}]"), require_id(&policy.id));
            ir.policies
                .push(policy.lower(policy.id.as_deref().unwrap_or_default()));
        }
        for (i, app) in self.apps.iter().enumerate() {
            let path = format!("setup.apps[{i}]");
            check(path.clone(), app.validate());
            check(path.clone(), require_id(&app.id));
            let app_id = app.id.clone().unwrap_or_default();
            // Precedence clashes were reported by `validate` above.
            if let Ok(lowered) = app.lower(&app_id, &mut ir.policies) {
                ir.apps.push(lowered);
            }
        }
        for (i, policy) in self.authorize_policies.iter().enumerate() {
            check(
                format!("setup.authorize_policies[{i}]"),
                require_id(&policy.id),
            );
        }
        let others = OtherFormats {
            ztna_policies: &self.ztna_policies,
            authorize_policies: &self.authorize_policies,
            access_levels: &self.access_levels,
        };
        check(
            String::new(),
            lower_other_formats("setup.", others, &mut ir),
        );
        errors.into_result().map(|_| ir)
    }
}

fn require_id(id: &Option<String>) -> Result<(), ValidationErrors> {
    match id {
        Some(id) if !id.is_empty() => Ok(()),
        _ => Err(ValidationErrors::single(
            "id",
            "is required in a corpus setup",
        )),
    }
}

impl Expect {
    /// Compares a result with the expectation; returns every mismatch.
    pub fn check(&self, got: &DecisionResult) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(want) = self.decision {
            if want != got.decision {
                problems.push(format!("decision: expected {want}, got {}", got.decision));
            }
        }
        if let Some(want) = &self.policy_id {
            if Some(want) != got.policy_id.as_ref() {
                problems.push(format!(
                    "policy_id: expected {want:?}, got {:?}",
                    got.policy_id.as_deref().unwrap_or("(none)")
                ));
            }
        }
        if let Some(want) = &self.app_id {
            if Some(want) != got.app_id.as_ref() {
                problems.push(format!(
                    "app_id: expected {want:?}, got {:?}",
                    got.app_id.as_deref().unwrap_or("(none)")
                ));
            }
        }
        if let Some(want) = &self.obligations {
            let have = serde_json::to_value(&got.obligations).unwrap_or_default();
            if !json_subset(want, &have) {
                problems.push(format!("obligations: expected at least {want}, got {have}"));
            }
        }
        if let Some(want) = &self.access_levels {
            let want: BTreeSet<&str> = want.iter().map(String::as_str).collect();
            let have: BTreeSet<&str> = got.access_levels.iter().map(String::as_str).collect();
            if want != have {
                problems.push(format!("access_levels: expected {want:?}, got {have:?}"));
            }
        }
        if let Some(want) = self.authorize_decision {
            if Some(want) != got.authorize_decision {
                problems.push(format!(
                    "authorize_decision: expected {}, got {}",
                    want.as_str(),
                    got.authorize_decision.map_or("(none)", |d| d.as_str())
                ));
            }
        }
        if let Some(want) = &self.statements {
            let mut want: Vec<&str> = want.iter().map(String::as_str).collect();
            let mut have: Vec<&str> = got.statements.iter().map(|s| s.code.as_str()).collect();
            want.sort_unstable();
            have.sort_unstable();
            if want != have {
                problems.push(format!("statements: expected {want:?}, got {have:?}"));
            }
        }
        problems
    }
}

/// Whether every key of `want` is in `have` with a matching value (objects
/// recursively; arrays and scalars exactly).
pub fn json_subset(want: &serde_json::Value, have: &serde_json::Value) -> bool {
    match (want, have) {
        (serde_json::Value::Object(w), serde_json::Value::Object(h)) => w
            .iter()
            .all(|(k, v)| h.get(k).is_some_and(|hv| json_subset(v, hv))),
        (w, h) => w == h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup_errors(setup: serde_json::Value) -> Vec<String> {
        let setup: Setup = crate::from_value(setup).unwrap();
        match setup.lower() {
            Ok(_) => Vec::new(),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn setup_errors_name_the_object_and_field() {
        assert_eq!(
            setup_errors(serde_json::json!({
                "account_id": "a",
                "ztna_policies": [{"name": "n", "decision": "allow", "subjects": [], "resources": []}],
                "authorize_policies": [
                    {"type": "POLICY", "name": "p", "combiningAlgorithm": {"algorithm": "DENY_OVERRIDES"},
                     "condition": {"type": "REFERENCE", "reference": {"id": "accessPolicies/p/accessLevels/nope"}},
                     "children": [{"type": "POLICY", "value": {"id": "missing"}}]}
                ],
                "access_levels": [{"name": "accessPolicies/p/accessLevels/a", "title": "A",
                                   "basic": {"conditions": [{"ipSubnetworks": ["10.0.0.1/8"]}]}}]
            })),
            [
                "setup.authorize_policies[0].id: is required in a corpus setup",
                "setup.ztna_policies[0].id: is required",
                "setup.authorize_policies[0].children[0].value.id: authorization policy \"missing\" does not exist",
                "setup.authorize_policies[0].condition.reference.id: access level \"accessPolicies/p/accessLevels/nope\" does not exist",
                "setup.access_levels[0].basic.conditions[0].ipSubnetworks[0]: \"10.0.0.1/8\" is not truncated: the host bits of the address must be zero (use \"10.0.0.0/8\")",
            ]
        );
    }

    #[test]
    fn subset_is_recursive_for_objects_only() {
        let have = serde_json::json!({"approval": {"approvals_needed": 1, "approval_groups": []}, "session_duration": "8h"});
        assert!(json_subset(
            &serde_json::json!({"approval": {"approvals_needed": 1}}),
            &have
        ));
        assert!(!json_subset(
            &serde_json::json!({"approval": {"approvals_needed": 2}}),
            &have
        ));
        assert!(!json_subset(&serde_json::json!({"mfa": {}}), &have));
    }
}
