//! Access rules: the members of `include`, `require` and `exclude`, each an object
//! with exactly one key naming the rule type (`{"email_domain": {"domain": …}}`).

use std::fmt;

use portcullis_core::context::RiskLevel;
use portcullis_core::ip::parse_cidr_or_ip;
use portcullis_core::ir::{Condition, Predicate};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::country::is_country_code;
use crate::error::ValidationErrors;

/// An empty object: `{}` (everyone, certificate, any_valid_service_token).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

macro_rules! rule_payload {
    ($name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(pub $field: $ty,)*
        }
    };
}

rule_payload!(EmailRule { email: String });
rule_payload!(IdRule { id: String });
rule_payload!(DomainRule { domain: String });
rule_payload!(IpRule { ip: String });
rule_payload!(AzureGroupRule {
    id: String,
    identity_provider_id: String
});
rule_payload!(GsuiteGroupRule {
    email: String,
    identity_provider_id: String
});
rule_payload!(OktaGroupRule {
    name: String,
    identity_provider_id: String
});
rule_payload!(SamlGroupRule {
    attribute_name: String,
    attribute_value: String,
    identity_provider_id: String
});
rule_payload!(OidcClaimRule {
    claim_name: String,
    claim_value: String,
    identity_provider_id: String
});
rule_payload!(ServiceTokenRule { token_id: String });
rule_payload!(ExternalEvaluationRule {
    evaluate_url: String,
    keys_url: String
});
rule_payload!(CountryRule {
    country_code: String
});
rule_payload!(AuthMethodRule {
    auth_method: String
});
rule_payload!(DevicePostureRule {
    integration_uid: String
});
rule_payload!(AuthContextRule {
    id: String,
    ac_id: String,
    identity_provider_id: String
});
rule_payload!(CommonNameRule {
    common_name: String
});
rule_payload!(LinkedAppTokenRule { app_uid: String });
rule_payload!(UserRiskScoreRule { user_risk_score: Vec<RiskLevel> });

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubOrganizationRule {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub identity_provider_id: String,
}

/// One Access rule, by its wire name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum AccessRule {
    #[serde(rename = "email")]
    Email(EmailRule),
    #[serde(rename = "email_list")]
    EmailList(IdRule),
    #[serde(rename = "email_domain")]
    EmailDomain(DomainRule),
    #[serde(rename = "everyone")]
    Everyone(Empty),
    #[serde(rename = "ip")]
    Ip(IpRule),
    #[serde(rename = "ip_list")]
    IpList(IdRule),
    #[serde(rename = "certificate")]
    Certificate(Empty),
    #[serde(rename = "group")]
    Group(IdRule),
    #[serde(rename = "azureAD")]
    AzureAd(AzureGroupRule),
    #[serde(rename = "github-organization")]
    GithubOrganization(GithubOrganizationRule),
    #[serde(rename = "gsuite")]
    Gsuite(GsuiteGroupRule),
    #[serde(rename = "okta")]
    Okta(OktaGroupRule),
    #[serde(rename = "saml")]
    Saml(SamlGroupRule),
    #[serde(rename = "oidc")]
    Oidc(OidcClaimRule),
    #[serde(rename = "service_token")]
    ServiceToken(ServiceTokenRule),
    #[serde(rename = "any_valid_service_token")]
    AnyValidServiceToken(Empty),
    #[serde(rename = "external_evaluation")]
    ExternalEvaluation(ExternalEvaluationRule),
    #[serde(rename = "geo")]
    Geo(CountryRule),
    #[serde(rename = "auth_method")]
    AuthMethod(AuthMethodRule),
    #[serde(rename = "device_posture")]
    DevicePosture(DevicePostureRule),
    #[serde(rename = "auth_context")]
    AuthContext(AuthContextRule),
    #[serde(rename = "common_name")]
    CommonName(CommonNameRule),
    #[serde(rename = "login_method")]
    LoginMethod(IdRule),
    #[serde(rename = "linked_app_token")]
    LinkedAppToken(LinkedAppTokenRule),
    #[serde(rename = "user_risk_score")]
    UserRiskScore(UserRiskScoreRule),
}

/// Every rule type's wire name, in the order the API documents them.
pub const RULE_TYPES: &[&str] = &[
    "email",
    "email_list",
    "email_domain",
    "everyone",
    "ip",
    "ip_list",
    "certificate",
    "group",
    "azureAD",
    "github-organization",
    "gsuite",
    "okta",
    "saml",
    "oidc",
    "service_token",
    "any_valid_service_token",
    "external_evaluation",
    "geo",
    "auth_method",
    "device_posture",
    "auth_context",
    "common_name",
    "login_method",
    "linked_app_token",
    "user_risk_score",
];

impl<'de> Deserialize<'de> for AccessRule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RuleVisitor;

        impl<'de> Visitor<'de> for RuleVisitor {
            type Value = AccessRule;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with exactly one key naming the rule type, e.g. {\"email\": {\"email\": \"a@example.com\"}}")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AccessRule, A::Error> {
                let Some(kind) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        "empty rule: name one rule type, e.g. {\"everyone\": {}}",
                    ));
                };
                let rule = match kind.as_str() {
                    "email" => AccessRule::Email(map.next_value()?),
                    "email_list" => AccessRule::EmailList(map.next_value()?),
                    "email_domain" => AccessRule::EmailDomain(map.next_value()?),
                    "everyone" => AccessRule::Everyone(map.next_value()?),
                    "ip" => AccessRule::Ip(map.next_value()?),
                    "ip_list" => AccessRule::IpList(map.next_value()?),
                    "certificate" => AccessRule::Certificate(map.next_value()?),
                    "group" => AccessRule::Group(map.next_value()?),
                    "azureAD" => AccessRule::AzureAd(map.next_value()?),
                    "github-organization" => AccessRule::GithubOrganization(map.next_value()?),
                    "gsuite" => AccessRule::Gsuite(map.next_value()?),
                    "okta" => AccessRule::Okta(map.next_value()?),
                    "saml" => AccessRule::Saml(map.next_value()?),
                    "oidc" => AccessRule::Oidc(map.next_value()?),
                    "service_token" => AccessRule::ServiceToken(map.next_value()?),
                    "any_valid_service_token" => {
                        AccessRule::AnyValidServiceToken(map.next_value()?)
                    }
                    "external_evaluation" => AccessRule::ExternalEvaluation(map.next_value()?),
                    "geo" => AccessRule::Geo(map.next_value()?),
                    "auth_method" => AccessRule::AuthMethod(map.next_value()?),
                    "device_posture" => AccessRule::DevicePosture(map.next_value()?),
                    "auth_context" => AccessRule::AuthContext(map.next_value()?),
                    "common_name" => AccessRule::CommonName(map.next_value()?),
                    "login_method" => AccessRule::LoginMethod(map.next_value()?),
                    "linked_app_token" => AccessRule::LinkedAppToken(map.next_value()?),
                    "user_risk_score" => AccessRule::UserRiskScore(map.next_value()?),
                    other => {
                        return Err(de::Error::custom(format!(
                            "unknown rule type {other:?} (expected one of {})",
                            RULE_TYPES.join(", ")
                        )))
                    }
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "a rule has exactly one type, found {kind:?} and {extra:?}; put each in its own rule"
                    )));
                }
                Ok(rule)
            }
        }

        deserializer.deserialize_map(RuleVisitor)
    }
}

impl AccessRule {
    /// The rule's wire name.
    pub fn type_name(&self) -> &'static str {
        match self {
            AccessRule::Email(_) => "email",
            AccessRule::EmailList(_) => "email_list",
            AccessRule::EmailDomain(_) => "email_domain",
            AccessRule::Everyone(_) => "everyone",
            AccessRule::Ip(_) => "ip",
            AccessRule::IpList(_) => "ip_list",
            AccessRule::Certificate(_) => "certificate",
            AccessRule::Group(_) => "group",
            AccessRule::AzureAd(_) => "azureAD",
            AccessRule::GithubOrganization(_) => "github-organization",
            AccessRule::Gsuite(_) => "gsuite",
            AccessRule::Okta(_) => "okta",
            AccessRule::Saml(_) => "saml",
            AccessRule::Oidc(_) => "oidc",
            AccessRule::ServiceToken(_) => "service_token",
            AccessRule::AnyValidServiceToken(_) => "any_valid_service_token",
            AccessRule::ExternalEvaluation(_) => "external_evaluation",
            AccessRule::Geo(_) => "geo",
            AccessRule::AuthMethod(_) => "auth_method",
            AccessRule::DevicePosture(_) => "device_posture",
            AccessRule::AuthContext(_) => "auth_context",
            AccessRule::CommonName(_) => "common_name",
            AccessRule::LoginMethod(_) => "login_method",
            AccessRule::LinkedAppToken(_) => "linked_app_token",
            AccessRule::UserRiskScore(_) => "user_risk_score",
        }
    }

    /// Checks the rule's values. `path` is where the rule sits, e.g. `include[2]`.
    pub fn validate(&self, path: &str, errors: &mut ValidationErrors) {
        let at = |field: &str| format!("{path}.{}.{field}", self.type_name());
        let non_empty = |field: &str, value: &str, errors: &mut ValidationErrors| {
            if value.trim().is_empty() {
                errors.push(at(field), "must not be empty");
            }
        };
        match self {
            AccessRule::Email(r) => {
                if !looks_like_email(&r.email) {
                    errors.push(
                        at("email"),
                        format!("{:?} is not an email address", r.email),
                    );
                }
            }
            AccessRule::EmailDomain(r) => {
                let domain = r.domain.strip_prefix('@').unwrap_or(&r.domain);
                if domain.is_empty() || domain.contains('@') || domain.contains(char::is_whitespace)
                {
                    errors.push(
                        at("domain"),
                        format!("{:?} is not an email domain", r.domain),
                    );
                }
            }
            AccessRule::Ip(r) => {
                if let Err(e) = parse_cidr_or_ip(&r.ip) {
                    errors.push(at("ip"), e.to_string());
                }
            }
            AccessRule::Geo(r) => {
                if !is_country_code(&r.country_code) {
                    errors.push(
                        at("country_code"),
                        format!(
                            "{:?} is not an ISO 3166-1 alpha-2 country code (e.g. US, DE)",
                            r.country_code
                        ),
                    );
                }
            }
            AccessRule::EmailList(r)
            | AccessRule::IpList(r)
            | AccessRule::Group(r)
            | AccessRule::LoginMethod(r) => non_empty("id", &r.id, errors),
            AccessRule::ServiceToken(r) => non_empty("token_id", &r.token_id, errors),
            AccessRule::AuthMethod(r) => non_empty("auth_method", &r.auth_method, errors),
            AccessRule::DevicePosture(r) => {
                non_empty("integration_uid", &r.integration_uid, errors)
            }
            AccessRule::CommonName(r) => non_empty("common_name", &r.common_name, errors),
            AccessRule::LinkedAppToken(r) => non_empty("app_uid", &r.app_uid, errors),
            AccessRule::AzureAd(r) => {
                non_empty("id", &r.id, errors);
                non_empty("identity_provider_id", &r.identity_provider_id, errors);
            }
            AccessRule::GithubOrganization(r) => {
                non_empty("name", &r.name, errors);
                non_empty("identity_provider_id", &r.identity_provider_id, errors);
            }
            AccessRule::Gsuite(r) => {
                non_empty("email", &r.email, errors);
                non_empty("identity_provider_id", &r.identity_provider_id, errors);
            }
            AccessRule::Okta(r) => {
                non_empty("name", &r.name, errors);
                non_empty("identity_provider_id", &r.identity_provider_id, errors);
            }
            AccessRule::Saml(r) => {
                non_empty("attribute_name", &r.attribute_name, errors);
                non_empty("identity_provider_id", &r.identity_provider_id, errors);
            }
            AccessRule::Oidc(r) => {
                non_empty("claim_name", &r.claim_name, errors);
                non_empty("identity_provider_id", &r.identity_provider_id, errors);
            }
            AccessRule::AuthContext(r) => {
                non_empty("ac_id", &r.ac_id, errors);
                non_empty("identity_provider_id", &r.identity_provider_id, errors);
            }
            AccessRule::ExternalEvaluation(r) => {
                for (field, url) in [("evaluate_url", &r.evaluate_url), ("keys_url", &r.keys_url)] {
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        errors.push(at(field), format!("{url:?} is not an http(s) URL"));
                    }
                }
            }
            AccessRule::UserRiskScore(r) => {
                if r.user_risk_score.is_empty() {
                    errors.push(
                        at("user_risk_score"),
                        "must name at least one level (low, medium, high, unscored)",
                    );
                }
            }
            AccessRule::Everyone(_)
            | AccessRule::Certificate(_)
            | AccessRule::AnyValidServiceToken(_) => {}
        }
    }

    /// Lowers the rule into the IR. Call [`AccessRule::validate`] first: values
    /// that do not parse lower to a condition that never matches.
    pub fn lower(&self) -> Condition {
        let leaf = |p| Condition::Leaf(p);
        let idp = |id: &str| Some(id.to_string());
        match self {
            AccessRule::Email(r) => leaf(Predicate::Email(r.email.clone())),
            AccessRule::EmailList(r) => leaf(Predicate::EmailList(r.id.clone())),
            AccessRule::EmailDomain(r) => leaf(Predicate::EmailDomain(r.domain.clone())),
            AccessRule::Everyone(_) => leaf(Predicate::Everyone),
            AccessRule::Ip(r) => match parse_cidr_or_ip(&r.ip) {
                Ok(net) => leaf(Predicate::IpIn(vec![net])),
                Err(_) => Condition::Const(false),
            },
            AccessRule::IpList(r) => leaf(Predicate::IpList(r.id.clone())),
            AccessRule::Certificate(_) => leaf(Predicate::Certificate),
            AccessRule::Group(r) => leaf(Predicate::Group(r.id.clone())),
            AccessRule::AzureAd(r) => leaf(Predicate::IdentityGroup {
                group: r.id.clone(),
                idp: idp(&r.identity_provider_id),
            }),
            AccessRule::GithubOrganization(r) => leaf(Predicate::Github {
                org: r.name.clone(),
                team: r.team.clone(),
                idp: idp(&r.identity_provider_id),
            }),
            AccessRule::Gsuite(r) => leaf(Predicate::IdentityGroup {
                group: r.email.clone(),
                idp: idp(&r.identity_provider_id),
            }),
            AccessRule::Okta(r) => leaf(Predicate::IdentityGroup {
                group: r.name.clone(),
                idp: idp(&r.identity_provider_id),
            }),
            AccessRule::Saml(r) => leaf(Predicate::Saml {
                attribute: r.attribute_name.clone(),
                value: r.attribute_value.clone(),
                idp: idp(&r.identity_provider_id),
            }),
            AccessRule::Oidc(r) => leaf(Predicate::OidcClaim {
                claim: r.claim_name.clone(),
                value: r.claim_value.clone(),
                idp: idp(&r.identity_provider_id),
            }),
            AccessRule::ServiceToken(r) => leaf(Predicate::ServiceToken(r.token_id.clone())),
            AccessRule::AnyValidServiceToken(_) => leaf(Predicate::AnyValidServiceToken),
            AccessRule::ExternalEvaluation(r) => leaf(Predicate::ExternalEvaluation {
                evaluate_url: r.evaluate_url.clone(),
                keys_url: r.keys_url.clone(),
            }),
            AccessRule::Geo(r) => leaf(Predicate::Country(vec![r.country_code.clone()])),
            AccessRule::AuthMethod(r) => leaf(Predicate::AuthMethod(r.auth_method.clone())),
            AccessRule::DevicePosture(r) => {
                leaf(Predicate::DevicePosture(r.integration_uid.clone()))
            }
            AccessRule::AuthContext(r) => leaf(Predicate::AuthContext {
                ac_id: r.ac_id.clone(),
                idp: idp(&r.identity_provider_id),
            }),
            AccessRule::CommonName(r) => leaf(Predicate::CommonName(r.common_name.clone())),
            AccessRule::LoginMethod(r) => leaf(Predicate::IdpIs(r.id.clone())),
            AccessRule::LinkedAppToken(r) => leaf(Predicate::LinkedAppToken(r.app_uid.clone())),
            AccessRule::UserRiskScore(r) => {
                leaf(Predicate::UserRiskScore(r.user_risk_score.clone()))
            }
        }
    }

    /// The ids of other objects this rule refers to, by kind.
    pub fn reference(&self) -> Option<(RuleReference, &str)> {
        match self {
            AccessRule::Group(r) => Some((RuleReference::Group, &r.id)),
            AccessRule::EmailList(r) => Some((RuleReference::EmailList, &r.id)),
            AccessRule::IpList(r) => Some((RuleReference::IpList, &r.id)),
            AccessRule::ServiceToken(r) => Some((RuleReference::ServiceToken, &r.token_id)),
            _ => None,
        }
    }
}

/// What kind of object a rule refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleReference {
    Group,
    EmailList,
    IpList,
    ServiceToken,
}

impl RuleReference {
    /// The field that holds the id, under the rule's type name.
    pub fn field(self) -> &'static str {
        match self {
            RuleReference::ServiceToken => "token_id",
            _ => "id",
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            RuleReference::Group => "Access group",
            RuleReference::EmailList => "EMAIL list",
            RuleReference::IpList => "IP list",
            RuleReference::ServiceToken => "service token",
        }
    }
}

/// Deliberately loose: one `@` with something on both sides and no spaces.
/// Identity providers, not Access, own the exact grammar.
pub fn looks_like_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !text.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// Validates a list of rules under `field` (`include`, `require`, `exclude`).
pub fn validate_rules(field: &str, rules: &[AccessRule], errors: &mut ValidationErrors) {
    for (i, rule) in rules.iter().enumerate() {
        rule.validate(&format!("{field}[{i}]"), errors);
    }
}

/// Lowers a list of rules.
pub fn lower_rules(rules: &[AccessRule]) -> Vec<Condition> {
    rules.iter().map(AccessRule::lower).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<AccessRule, String> {
        crate::error::from_json::<AccessRule>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_and_writes_every_wire_name() {
        let samples = [
            r#"{"email":{"email":"a@example.com"}}"#,
            r#"{"email_list":{"id":"l1"}}"#,
            r#"{"email_domain":{"domain":"example.com"}}"#,
            r#"{"everyone":{}}"#,
            r#"{"ip":{"ip":"10.0.0.0/8"}}"#,
            r#"{"ip_list":{"id":"l2"}}"#,
            r#"{"certificate":{}}"#,
            r#"{"group":{"id":"g1"}}"#,
            r#"{"azureAD":{"id":"a","identity_provider_id":"i"}}"#,
            r#"{"github-organization":{"name":"acme","team":"sre","identity_provider_id":"i"}}"#,
            r#"{"gsuite":{"email":"g@example.com","identity_provider_id":"i"}}"#,
            r#"{"okta":{"name":"eng","identity_provider_id":"i"}}"#,
            r#"{"saml":{"attribute_name":"role","attribute_value":"admin","identity_provider_id":"i"}}"#,
            r#"{"oidc":{"claim_name":"dept","claim_value":"eng","identity_provider_id":"i"}}"#,
            r#"{"service_token":{"token_id":"t"}}"#,
            r#"{"any_valid_service_token":{}}"#,
            r#"{"external_evaluation":{"evaluate_url":"https://e","keys_url":"https://k"}}"#,
            r#"{"geo":{"country_code":"US"}}"#,
            r#"{"auth_method":{"auth_method":"mfa"}}"#,
            r#"{"device_posture":{"integration_uid":"p"}}"#,
            r#"{"auth_context":{"id":"x","ac_id":"c1","identity_provider_id":"i"}}"#,
            r#"{"common_name":{"common_name":"device-1"}}"#,
            r#"{"login_method":{"id":"okta"}}"#,
            r#"{"linked_app_token":{"app_uid":"u"}}"#,
            r#"{"user_risk_score":{"user_risk_score":["low","unscored"]}}"#,
        ];
        assert_eq!(samples.len(), RULE_TYPES.len());
        for (sample, name) in samples.iter().zip(RULE_TYPES) {
            let rule = parse(sample).unwrap();
            assert_eq!(rule.type_name(), *name);
            assert_eq!(serde_json::to_string(&rule).unwrap(), *sample);
        }
    }

    #[test]
    fn names_unknown_types_and_bad_shapes() {
        assert!(parse(r#"{"emial":{"email":"a@b"}}"#)
            .unwrap_err()
            .contains("unknown rule type \"emial\""));
        assert!(parse(r#"{}"#).unwrap_err().contains("empty rule"));
        assert!(parse(r#"{"everyone":{},"certificate":{}}"#)
            .unwrap_err()
            .contains("exactly one type"));
        assert!(parse(r#"{"ip":{"ip":"1.2.3.4","extra":1}}"#)
            .unwrap_err()
            .contains("unknown field"));
    }

    #[test]
    fn validation_names_the_field() {
        let rule = parse(r#"{"ip":{"ip":"10.0.0.300/8"}}"#).unwrap();
        let mut errors = ValidationErrors::default();
        rule.validate("include[2]", &mut errors);
        assert_eq!(
            errors.to_string(),
            r#"include[2].ip.ip: "10.0.0.300/8" is not an IP address or CIDR"#
        );
        let rule = parse(r#"{"geo":{"country_code":"XX"}}"#).unwrap();
        let mut errors = ValidationErrors::default();
        rule.validate("require[0]", &mut errors);
        assert!(errors
            .to_string()
            .starts_with("require[0].geo.country_code: \"XX\""));
    }
}
