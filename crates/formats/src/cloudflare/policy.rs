//! Access policies, reusable and application-scoped, exactly as the Cloudflare API
//! writes them.

use portcullis_core::decision::{
    ApprovalGroupObligation, ApprovalObligation, MfaObligation, Obligations, PurposeJustification,
};
use portcullis_core::duration::parse_go_duration;
use portcullis_core::ir::{AccessPolicyIr, PolicyAction};
use serde::{Deserialize, Serialize};

use super::rule::{lower_rules, validate_rules, AccessRule};
use crate::error::ValidationErrors;

/// The action Access takes when a policy matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyDecision {
    Allow,
    Deny,
    NonIdentity,
    Bypass,
}

impl From<PolicyDecision> for PolicyAction {
    fn from(d: PolicyDecision) -> PolicyAction {
        match d {
            PolicyDecision::Allow => PolicyAction::Allow,
            PolicyDecision::Deny => PolicyAction::Deny,
            PolicyDecision::NonIdentity => PolicyAction::NonIdentity,
            PolicyDecision::Bypass => PolicyAction::Bypass,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalGroup {
    /// A number on the wire (the SDK types it as float); kept as written.
    pub approvals_needed: serde_json::Number,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_addresses: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_list_uuid: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClipboardFormat {
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RdpConnectionRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_clipboard_local_to_remote_formats: Option<Vec<ClipboardFormat>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_clipboard_remote_to_local_formats: Option<Vec<ClipboardFormat>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdp: Option<RdpConnectionRules>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authenticator {
    Totp,
    Biometrics,
    SecurityKey,
}

impl Authenticator {
    pub fn as_str(self) -> &'static str {
        match self {
            Authenticator::Totp => "totp",
            Authenticator::Biometrics => "biometrics",
            Authenticator::SecurityKey => "security_key",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_authenticators: Option<Vec<Authenticator>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<String>,
}

/// An Access policy. Every field is optional on the wire; [`AccessPolicy::validate`]
/// says which a write needs. Read-only fields (`id`, `reusable`, `app_count`,
/// timestamps) are accepted so a client can send back what it read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<PolicyDecision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<AccessRule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require: Option<Vec<AccessRule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<AccessRule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precedence: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_groups: Option<Vec<ApprovalGroup>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_rules: Option<ConnectionRules>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation_required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_config: Option<MfaConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose_justification_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose_justification_required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reusable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl AccessPolicy {
    /// Checks a policy as a write needs it: a name, a decision, well-formed rules
    /// and durations, and `linked_app_token` only where Cloudflare allows it.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        super::check_name(&self.name, &mut errors);
        if self.decision.is_none() {
            errors.push(
                "decision",
                "is required (allow, deny, non_identity or bypass)",
            );
        }
        for (field, rules) in self.rule_lists() {
            validate_rules(field, rules, &mut errors);
            let allows_linked = matches!(
                self.decision,
                Some(PolicyDecision::NonIdentity | PolicyDecision::Bypass)
            );
            if !allows_linked {
                for (i, rule) in rules.iter().enumerate() {
                    if matches!(rule, AccessRule::LinkedAppToken(_)) {
                        errors.push(
                            format!("{field}[{i}].linked_app_token"),
                            "is only allowed in non_identity and bypass policies",
                        );
                    }
                }
            }
        }
        if let Some(d) = &self.session_duration {
            check_duration("session_duration", d, &mut errors);
        }
        if let Some(mfa) = &self.mfa_config {
            if let Some(d) = &mfa.session_duration {
                check_duration("mfa_config.session_duration", d, &mut errors);
            }
        }
        for (i, group) in self.approval_groups.iter().flatten().enumerate() {
            match group.approvals_needed.as_f64() {
                Some(n) if n >= 0.0 && n.fract() == 0.0 => {}
                _ => errors.push(
                    format!("approval_groups[{i}].approvals_needed"),
                    format!(
                        "{} is not a whole number of at least 0",
                        group.approvals_needed
                    ),
                ),
            }
        }
        errors.into_result()
    }

    /// `include`, `require` and `exclude` with their field names.
    pub fn rule_lists(&self) -> [(&'static str, &[AccessRule]); 3] {
        [
            ("include", self.include.as_deref().unwrap_or_default()),
            ("require", self.require.as_deref().unwrap_or_default()),
            ("exclude", self.exclude.as_deref().unwrap_or_default()),
        ]
    }

    /// What a matching policy obliges the caller to do.
    pub fn obligations(&self) -> Obligations {
        let decision = self.decision.unwrap_or(PolicyDecision::Deny);
        let mut o = Obligations::default();
        if matches!(
            decision,
            PolicyDecision::Allow | PolicyDecision::NonIdentity
        ) {
            // Without one, the application's applies, else the default (see
            // `portcullis_core::decision::DEFAULT_SESSION_DURATION`).
            o.session_duration.clone_from(&self.session_duration);
        }
        if decision != PolicyDecision::Allow {
            return o;
        }
        if let Some(mfa) = &self.mfa_config {
            if mfa.mfa_disabled != Some(true) {
                o.mfa = Some(MfaObligation {
                    allowed_authenticators: mfa
                        .allowed_authenticators
                        .iter()
                        .flatten()
                        .map(|a| a.as_str().to_string())
                        .collect(),
                    session_duration: mfa.session_duration.clone(),
                });
            }
        }
        if self.approval_required == Some(true) {
            let groups: Vec<ApprovalGroupObligation> = self
                .approval_groups
                .iter()
                .flatten()
                .map(|g| ApprovalGroupObligation {
                    approvals_needed: g.approvals_needed.as_f64().unwrap_or(1.0) as u32,
                    email_addresses: g.email_addresses.clone().unwrap_or_default(),
                    email_list_uuid: g.email_list_uuid.clone(),
                })
                .collect();
            o.approval = Some(ApprovalObligation {
                approvals_needed: groups.iter().map(|g| g.approvals_needed).min().unwrap_or(1),
                approval_groups: groups,
            });
        }
        if self.purpose_justification_required == Some(true) {
            o.purpose_justification = Some(PurposeJustification {
                prompt: self.purpose_justification_prompt.clone(),
            });
        }
        o.isolation = self.isolation_required == Some(true);
        o
    }

    /// Lowers a validated policy. `id` is the id it is stored under.
    pub fn lower(&self, id: &str) -> AccessPolicyIr {
        AccessPolicyIr {
            id: id.to_string(),
            action: self.decision.unwrap_or(PolicyDecision::Deny).into(),
            include: lower_rules(self.include.as_deref().unwrap_or_default()),
            require: lower_rules(self.require.as_deref().unwrap_or_default()),
            exclude: lower_rules(self.exclude.as_deref().unwrap_or_default()),
            obligations: self.obligations(),
        }
    }
}

fn check_duration(path: &str, value: &str, errors: &mut ValidationErrors) {
    if let Err(e) = parse_go_duration(value) {
        errors.push(
            path,
            format!("{value:?} {e}; use Go duration syntax such as 300ms or 2h45m"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::from_json;

    #[test]
    fn round_trips_every_field_exactly() {
        let text = r#"{"id":"p1","name":"Allow devs","decision":"allow","include":[{"email_domain":{"domain":"example.com"}}],"require":[],"exclude":[{"ip":{"ip":"10.0.0.1"}}],"precedence":2,"approval_required":true,"approval_groups":[{"approvals_needed":1,"email_addresses":["boss@example.com"],"email_list_uuid":"l1"}],"connection_rules":{"rdp":{"allowed_clipboard_local_to_remote_formats":["text"],"allowed_clipboard_remote_to_local_formats":["text"]}},"isolation_required":false,"mfa_config":{"allowed_authenticators":["totp","biometrics","security_key"],"mfa_disabled":false,"session_duration":"12h"},"purpose_justification_prompt":"Why?","purpose_justification_required":true,"session_duration":"2h45m","reusable":true,"app_count":3,"created_at":"2014-01-01T05:20:00.12345Z","updated_at":"2014-01-01T05:20:00.12345Z"}"#;
        let policy: AccessPolicy = from_json(text).unwrap();
        assert_eq!(serde_json::to_string(&policy).unwrap(), text);
        assert!(policy.validate().is_ok());
    }

    #[test]
    fn reports_each_problem_with_its_path() {
        let policy: AccessPolicy = from_json(
            r#"{"name":"x","decision":"allow","include":[{"everyone":{}},{"linked_app_token":{"app_uid":"u"}}],"session_duration":"3 days"}"#,
        )
        .unwrap();
        let errors = policy.validate().unwrap_err().to_string();
        assert!(
            errors.contains(
                "include[1].linked_app_token: is only allowed in non_identity and bypass policies"
            ),
            "{errors}"
        );
        assert!(errors.contains("session_duration: \"3 days\""), "{errors}");
    }

    #[test]
    fn unknown_fields_and_decisions_are_refused() {
        let err = from_json::<AccessPolicy>(r#"{"name":"x","decison":"allow"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `decison`"), "{err}");
        let err = from_json::<AccessPolicy>(r#"{"name":"x","decision":"maybe"}"#).unwrap_err();
        assert_eq!(err.path, "decision");
    }

    #[test]
    fn obligations_carry_only_a_session_the_policy_sets() {
        // The application's session or the default fills the gap at compile time.
        let policy: AccessPolicy =
            from_json(r#"{"name":"x","decision":"allow","include":[{"everyone":{}}]}"#).unwrap();
        assert_eq!(policy.obligations().session_duration, None);
        let policy: AccessPolicy = from_json(
            r#"{"name":"x","decision":"allow","include":[{"everyone":{}}],"session_duration":"2h"}"#,
        )
        .unwrap();
        assert_eq!(policy.obligations().session_duration.as_deref(), Some("2h"));
    }
}
