//! The decision result: what every entry point answers.

use serde::{Deserialize, Serialize};

/// The outcome of one access request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Deny,
    Bypass,
    NonIdentity,
    LoginRequired,
    MfaRequired,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Bypass => "bypass",
            Decision::NonIdentity => "non_identity",
            Decision::LoginRequired => "login_required",
            Decision::MfaRequired => "mfa_required",
        }
    }

    /// Whether the request may proceed to the application.
    pub fn permits(self) -> bool {
        matches!(
            self,
            Decision::Allow | Decision::Bypass | Decision::NonIdentity
        )
    }

    /// How strongly a decision blocks, used when several policy sources answer one
    /// request: any deny wins, then a login, then a step-up; only when every source
    /// permits does the request go through.
    pub(crate) fn blocking_rank(self) -> u8 {
        match self {
            Decision::Deny => 3,
            Decision::LoginRequired => 2,
            Decision::MfaRequired => 1,
            Decision::Allow | Decision::Bypass | Decision::NonIdentity => 0,
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// XACML-style outcome of a PingOne Authorize tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorizeDecision {
    Permit,
    Deny,
    NotApplicable,
    Indeterminate,
}

impl AuthorizeDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizeDecision::Permit => "PERMIT",
            AuthorizeDecision::Deny => "DENY",
            AuthorizeDecision::NotApplicable => "NOT_APPLICABLE",
            AuthorizeDecision::Indeterminate => "INDETERMINATE",
        }
    }
}

/// What the caller must do besides letting the request through.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Obligations {
    /// How long an issued session lasts (Go duration syntax, e.g. `24h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<String>,
    /// How often the user must authenticate again within a session (ZTNA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauth_interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<MfaObligation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalObligation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose_justification: Option<PurposeJustification>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub isolation: bool,
}

/// The session of a granting Cloudflare policy when neither it nor its
/// application sets `session_duration`.
pub const DEFAULT_SESSION_DURATION: &str = "24h";

/// No obligations, as a static so that verdicts without any borrow it instead of
/// building (and moving) an empty value on every decision.
pub static NO_OBLIGATIONS: Obligations = Obligations {
    session_duration: None,
    reauth_interval: None,
    mfa: None,
    approval: None,
    purpose_justification: None,
    isolation: false,
};

impl Obligations {
    pub fn is_empty(&self) -> bool {
        self == &NO_OBLIGATIONS
    }

    /// Merges the obligations of another permitting source into these: the stricter
    /// value wins (shorter session, isolation if either asks for it).
    pub fn merge(&mut self, other: &Obligations) {
        self.session_duration =
            stricter_duration(self.session_duration.take(), other.session_duration.clone());
        self.reauth_interval =
            stricter_duration(self.reauth_interval.take(), other.reauth_interval.clone());
        if self.mfa.is_none() {
            self.mfa.clone_from(&other.mfa);
        }
        if self.approval.is_none() {
            self.approval.clone_from(&other.approval);
        }
        if self.purpose_justification.is_none() {
            self.purpose_justification
                .clone_from(&other.purpose_justification);
        }
        self.isolation |= other.isolation;
    }
}

fn stricter_duration(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let (da, db) = (
                crate::duration::parse_go_duration(&a),
                crate::duration::parse_go_duration(&b),
            );
            match (da, db) {
                (Ok(da), Ok(db)) if db < da => Some(b),
                _ => Some(a),
            }
        }
        (a, b) => a.or(b),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaObligation {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_authenticators: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalObligation {
    /// Approvals the user must collect: the smallest number any one approval group
    /// asks for, since approval by one group is enough.
    pub approvals_needed: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approval_groups: Vec<ApprovalGroupObligation>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalGroupObligation {
    pub approvals_needed: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_list_uuid: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeJustification {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

/// One PingOne statement returned with a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatementResult {
    pub name: String,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub obligatory: bool,
}

/// One line of the explain trace: per evaluated policy, whether it matched and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainEntry {
    pub policy_id: String,
    pub matched: bool,
    pub because: String,
}

/// The full, owned decision result, as serialised on every API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionResult {
    pub decision: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    #[serde(default, skip_serializing_if = "Obligations::is_empty")]
    pub obligations: Obligations,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_levels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_decision: Option<AuthorizeDecision>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<StatementResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explain: Option<Vec<ExplainEntry>>,
}

impl DecisionResult {
    pub fn new(decision: Decision) -> Self {
        DecisionResult {
            decision,
            app_id: None,
            policy_id: None,
            obligations: Obligations::default(),
            access_levels: Vec::new(),
            authorize_decision: None,
            statements: Vec::new(),
            explain: None,
        }
    }
}
