//! The intermediate representation every policy format lowers into.
//!
//! The IR is plain data with references by id (group ids, list ids, level names),
//! close to what an administrator wrote. [`crate::compile`] resolves the references,
//! checks them, and builds the indexed snapshot the evaluator runs on. The
//! reference evaluator of the differential test interprets the IR directly.

use chrono::{DateTime, Utc};
use ipnet::IpNet;

use crate::attribute::AttributePath;
use crate::context::RiskLevel;
use crate::decision::{AuthorizeDecision, Obligations};

/// Every policy object of one account, in all four formats.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountIr {
    pub account_id: String,
    pub groups: Vec<AccessGroupIr>,
    pub lists: Vec<ListIr>,
    pub service_tokens: Vec<ServiceTokenIr>,
    /// Reusable and application-scoped Cloudflare policies alike.
    pub policies: Vec<AccessPolicyIr>,
    pub apps: Vec<AppIr>,
    pub ztna_policies: Vec<ZtnaPolicyIr>,
    pub authorize_policies: Vec<AuthorizePolicyIr>,
    pub access_levels: Vec<AccessLevelIr>,
    /// PingOne decision endpoints: named entry points into `authorize_policies`.
    pub decision_endpoints: Vec<DecisionEndpointIr>,
}

/// A PingOne decision endpoint: a name for one top-level authorization policy.
/// The policy may be missing (the endpoint then decides INDETERMINATE); a
/// missing policy never makes the account fail to compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionEndpointIr {
    pub id: String,
    pub policy_id: String,
}

/// A boolean condition over the request context.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Const(bool),
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Leaf(Predicate),
    /// A PingOne comparison. Evaluates to INDETERMINATE on a type mismatch.
    Compare {
        left: Operand,
        comparator: Comparator,
        right: Operand,
    },
    /// Granted when the named access level (full resource name) is granted.
    AccessLevel(String),
    /// A CEL expression (ACM custom level) that must evaluate to `true`.
    Cel(CelIr),
    /// A ZTNA weekly time window (`Mon-Fri 09:00-17:00 Europe/Berlin`).
    TimeWindow(String),
}

impl Condition {
    /// `All` that collapses to its only member.
    pub fn all(mut items: Vec<Condition>) -> Condition {
        if items.len() == 1 {
            items.pop().unwrap_or(Condition::Const(true))
        } else {
            Condition::All(items)
        }
    }

    /// `Any` that collapses to its only member.
    pub fn any(mut items: Vec<Condition>) -> Condition {
        if items.len() == 1 {
            items.pop().unwrap_or(Condition::Const(false))
        } else {
            Condition::Any(items)
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CelIr {
    pub expr: String,
    /// Prefix that turns `levels.NAME` into a full level name
    /// (`accessPolicies/P/accessLevels/`).
    pub level_scope: String,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Attribute(AttributePath),
    Constant(serde_json::Value),
    /// The current item of the innermost repeating PingOne policy.
    RepetitionItem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
    StartsWith,
    EndsWith,
}

/// The leaves: one test against the request each.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    Everyone,
    /// `identity.email` equals, case-insensitively.
    Email(String),
    /// `identity.email` is one of, case-insensitively (ACM members, ZTNA users).
    EmailIn(Vec<String>),
    EmailList(String),
    /// The exact domain after `@`, case-insensitively.
    EmailDomain(String),
    IpIn(Vec<IpNet>),
    IpList(String),
    /// `network.country` is one of (ISO 3166-1 alpha-2, upper case).
    Country(Vec<String>),
    /// An Access group, evaluated with its own include/require/exclude.
    Group(String),
    /// `identity.groups` contains the group (Azure id, Okta name, Google Workspace
    /// email, ZTNA group); with `idp`, only for that identity provider.
    IdentityGroup {
        group: String,
        idp: Option<String>,
    },
    UserId(String),
    Workload(String),
    /// `identity.idp.id` equals.
    IdpIs(String),
    /// `identity.amr` contains.
    AuthMethod(String),
    Saml {
        attribute: String,
        value: String,
        idp: Option<String>,
    },
    OidcClaim {
        claim: String,
        value: String,
        idp: Option<String>,
    },
    Github {
        org: String,
        team: Option<String>,
        idp: Option<String>,
    },
    AuthContext {
        ac_id: String,
        idp: Option<String>,
    },
    AnyValidServiceToken,
    /// A service token by its id.
    ServiceToken(String),
    /// A valid service token with this client id (ZTNA `service_account`).
    ServiceAccount(String),
    Certificate,
    CommonName(String),
    DevicePosture(String),
    LinkedAppToken(String),
    UserRiskScore(Vec<RiskLevel>),
    ExternalEvaluation {
        evaluate_url: String,
        keys_url: String,
    },
    ResourceAppId(String),
    /// `resource.host` equals, case-insensitively.
    ResourceHost(String),
    /// `resource.port` is present and one of.
    ResourcePort(Vec<u16>),
    /// `identity.risk_score` is present and not above.
    RiskScoreAtMost(u8),
    DevicePolicy(DevicePolicyIr),
    /// The request comes from this VPC network, from one of the ranges if any.
    VpcNetwork {
        network: String,
        ranges: Vec<IpNet>,
    },
}

/// ACM device policy: an AND over the fields set, each list an OR.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DevicePolicyIr {
    pub require_screenlock: bool,
    pub allowed_encryption_statuses: Vec<String>,
    pub os_constraints: Vec<OsConstraintIr>,
    pub allowed_device_management_levels: Vec<String>,
    pub require_admin_approval: bool,
    pub require_corp_owned: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OsConstraintIr {
    pub os_type: String,
    pub minimum_version: Option<String>,
    pub require_verified_chrome_os: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessGroupIr {
    pub id: String,
    pub include: Vec<Condition>,
    pub require: Vec<Condition>,
    pub exclude: Vec<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    Email,
    Ip,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListIr {
    pub id: String,
    pub kind: ListKind,
    pub items: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceTokenIr {
    pub id: String,
    pub client_id: String,
    /// SHA-256 of the client secret; the secret itself is never kept.
    pub secret_sha256: [u8; 32],
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a Cloudflare policy does when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyAction {
    Allow,
    Deny,
    Bypass,
    NonIdentity,
}

impl PolicyAction {
    /// Cloudflare evaluates Bypass and Service Auth (non_identity) policies before
    /// Allow and Block, whatever their precedence.
    pub fn runs_first(self) -> bool {
        matches!(self, PolicyAction::Bypass | PolicyAction::NonIdentity)
    }

    /// Whether a match starts a session (and so carries a session duration).
    pub fn starts_session(self) -> bool {
        matches!(self, PolicyAction::Allow | PolicyAction::NonIdentity)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessPolicyIr {
    pub id: String,
    pub action: PolicyAction,
    pub include: Vec<Condition>,
    pub require: Vec<Condition>,
    pub exclude: Vec<Condition>,
    /// Returned when the policy decides the request. A granting policy without a
    /// `session_duration` takes its application's, else
    /// [`DEFAULT_SESSION_DURATION`](crate::decision::DEFAULT_SESSION_DURATION).
    pub obligations: Obligations,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AppIr {
    pub id: String,
    /// The 64-hex audience tag of tokens issued for the app.
    pub aud: Option<String>,
    /// `host[/path]` patterns: `domain`, `self_hosted_domains`, public destinations.
    pub destinations: Vec<String>,
    pub policies: Vec<AppPolicyRef>,
    /// The application's `session_duration`: the session of a matching allow or
    /// non_identity policy that sets none of its own.
    pub session_duration: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AppPolicyRef {
    pub policy_id: String,
    pub precedence: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZtnaEffect {
    Allow,
    Deny,
    RequireMfa,
    Isolate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ZtnaPolicyIr {
    pub id: String,
    pub enabled: bool,
    pub subject: Condition,
    /// Which requests the policy governs; the ZTNA source takes part in a decision
    /// when any enabled policy's resource matches.
    pub resource: Condition,
    pub conditions: Vec<Condition>,
    pub effect: ZtnaEffect,
    pub obligations: Obligations,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CombiningAlgorithm {
    DenyOverrides,
    PermitOverrides,
    DenyUnlessPermit,
    PermitUnlessDeny,
    FirstApplicable,
    OnlyOneApplicable,
}

impl CombiningAlgorithm {
    /// Every algorithm, in PingOne's order.
    pub const ALL: [CombiningAlgorithm; 6] = [
        CombiningAlgorithm::DenyOverrides,
        CombiningAlgorithm::PermitOverrides,
        CombiningAlgorithm::DenyUnlessPermit,
        CombiningAlgorithm::PermitUnlessDeny,
        CombiningAlgorithm::FirstApplicable,
        CombiningAlgorithm::OnlyOneApplicable,
    ];
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizePolicyIr {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub condition: Option<Condition>,
    pub algorithm: CombiningAlgorithm,
    pub children: Vec<AuthorizeChildIr>,
    pub statements: Vec<StatementIr>,
    pub repetition: Option<RepetitionIr>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AuthorizeChildIr {
    Policy(AuthorizePolicyIr),
    Rule(AuthorizeRuleIr),
    /// A top-level policy of the same account, by id.
    Reference(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizeRuleIr {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub condition: Option<Condition>,
    pub effect: RuleEffect,
    pub statements: Vec<StatementIr>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RuleEffect {
    Permit,
    Deny,
    PermitElseDeny(Condition),
    DenyElsePermit(Condition),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatementAppliesTo {
    Permit,
    Deny,
    PermitOrDeny,
}

impl StatementAppliesTo {
    pub fn matches(self, decision: AuthorizeDecision) -> bool {
        matches!(
            (self, decision),
            (StatementAppliesTo::Permit, AuthorizeDecision::Permit)
                | (StatementAppliesTo::Deny, AuthorizeDecision::Deny)
                | (
                    StatementAppliesTo::PermitOrDeny,
                    AuthorizeDecision::Permit | AuthorizeDecision::Deny
                )
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatementAppliesIf {
    /// The root decision must match `applies_to` as well.
    FinalDecisionMatches,
    /// The node's own decision matching `applies_to` is enough.
    PathMatches,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatementIr {
    pub name: String,
    pub code: String,
    pub applies_to: StatementAppliesTo,
    pub applies_if: StatementAppliesIf,
    pub payload: Option<String>,
    pub obligatory: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RepetitionIr {
    pub source: AttributePath,
    /// Items whose decision is this one are kept.
    pub decision: AuthorizeDecision,
}

/// An ACM access level, lowered to one condition (basic or custom).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessLevelIr {
    /// `accessPolicies/P/accessLevels/NAME`.
    pub name: String,
    pub condition: Condition,
}
