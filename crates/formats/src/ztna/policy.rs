//! The ZTNA policy object exactly as the draft-07 schema writes it.

use chrono::DateTime;
use portcullis_core::attribute::AttributePath;
use portcullis_core::decision::Obligations;
use portcullis_core::duration::format_seconds;
use portcullis_core::ir::{Comparator, Condition, Operand, Predicate, ZtnaEffect, ZtnaPolicyIr};
use portcullis_core::time_window::TimeWindow;
use serde::{Deserialize, Serialize};

use crate::country::is_country_code;
use crate::error::{parse_checked, ValidationErrors};

/// What the broker does when a policy applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZtnaDecision {
    Allow,
    Deny,
    RequireMfa,
    Isolate,
}

impl From<ZtnaDecision> for ZtnaEffect {
    fn from(d: ZtnaDecision) -> ZtnaEffect {
        match d {
            ZtnaDecision::Allow => ZtnaEffect::Allow,
            ZtnaDecision::Deny => ZtnaEffect::Deny,
            ZtnaDecision::RequireMfa => ZtnaEffect::RequireMfa,
            ZtnaDecision::Isolate => ZtnaEffect::Isolate,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectType {
    User,
    Group,
    ServiceAccount,
    Workload,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    Application,
    Host,
    Network,
    Saas,
    Url,
}

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Application => "application",
            ResourceType::Host => "host",
            ResourceType::Network => "network",
            ResourceType::Saas => "saas",
            ResourceType::Url => "url",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZtnaSubject {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<SubjectType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZtnaResource {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<ResourceType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// Integers on the wire; kept wide so an out-of-range port gets a clear message
    /// instead of a serde overflow error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<i64>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZtnaConditions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_posture: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_window: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_score_max: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZtnaSession {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauth_interval_seconds: Option<i64>,
}

/// A ZTNA access policy. Required fields are `Option` so that a missing one is
/// reported with the others, by name, instead of stopping at the first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZtnaPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Defaults to `true` (schema `default`); kept absent on the wire when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<ZtnaDecision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subjects: Option<Vec<ZtnaSubject>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ZtnaResource>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<ZtnaConditions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<ZtnaSession>,
    /// Set by the server; accepted on input so a client can send back what it read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
}

/// Parses and validates a policy body: the first structural error (with its
/// path), or every semantic one.
pub fn parse_policy(text: &str) -> Result<ZtnaPolicy, ValidationErrors> {
    parse_checked(text, ZtnaPolicy::validate)
}

/// `8-4-4-4-12` hexadecimal digits, the JSON Schema `uuid` format.
pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl ZtnaPolicy {
    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        match &self.id {
            None => errors.push("id", "is required"),
            Some(id) if !is_uuid(id) => {
                errors.push("id", format!("{id:?} is not a UUID"));
            }
            Some(_) => {}
        }
        if self.name.is_none() {
            errors.push("name", "is required");
        }
        if self.decision.is_none() {
            errors.push(
                "decision",
                "is required (allow, deny, require_mfa or isolate)",
            );
        }
        match &self.subjects {
            None => errors.push("subjects", "is required"),
            Some(subjects) => {
                for (i, s) in subjects.iter().enumerate() {
                    let path = format!("subjects[{i}]");
                    if s.kind.is_none() {
                        errors.push(
                            format!("{path}.type"),
                            "is required (user, group, service_account or workload)",
                        );
                    }
                    if s.id.is_none() {
                        errors.push(format!("{path}.id"), "is required");
                    }
                }
            }
        }
        match &self.resources {
            None => errors.push("resources", "is required"),
            Some(resources) => {
                for (i, r) in resources.iter().enumerate() {
                    let path = format!("resources[{i}]");
                    if r.kind.is_none() {
                        errors.push(
                            format!("{path}.type"),
                            "is required (application, host, network, saas or url)",
                        );
                    }
                    for (j, port) in r.ports.iter().flatten().enumerate() {
                        if !(0..=65535).contains(port) {
                            errors.push(
                                format!("{path}.ports[{j}]"),
                                format!("{port} is not a port number (0-65535)"),
                            );
                        }
                    }
                }
            }
        }
        if let Some(c) = &self.conditions {
            for (i, code) in c.geo.iter().flatten().enumerate() {
                if !is_country_code(code) {
                    errors.push(
                        format!("conditions.geo[{i}]"),
                        format!("{code:?} is not an ISO 3166-1 alpha-2 country code"),
                    );
                }
            }
            if let Some(window) = &c.time_window {
                if let Err(e) = TimeWindow::parse(window) {
                    errors.push("conditions.time_window", e.to_string());
                }
            }
            if let Some(max) = c.risk_score_max {
                if !(0..=100).contains(&max) {
                    errors.push(
                        "conditions.risk_score_max",
                        format!("{max} is out of range (0-100)"),
                    );
                }
            }
        }
        if let Some(s) = &self.session {
            for (field, value) in [
                ("max_duration_seconds", s.max_duration_seconds),
                ("reauth_interval_seconds", s.reauth_interval_seconds),
            ] {
                // A session of zero or fewer seconds cannot be issued; the schema
                // says only "integer", so this is our one addition.
                if let Some(v) = value.filter(|v| *v <= 0) {
                    errors.push(
                        format!("session.{field}"),
                        format!("{v} is not a positive number of seconds"),
                    );
                }
            }
        }
        for (field, value) in [("created", &self.created), ("updated", &self.updated)] {
            if let Some(v) = value {
                if DateTime::parse_from_rfc3339(v).is_err() {
                    errors.push(
                        field,
                        format!("{v:?} is not an RFC 3339 date-time (e.g. 2026-11-22T10:00:00Z)"),
                    );
                }
            }
        }
        errors.into_result()
    }

    /// Lowers a validated policy. Fields that validation requires are read with
    /// neutral defaults so lowering never panics.
    pub fn lower(&self) -> ZtnaPolicyIr {
        let subjects = self.subjects.as_deref().unwrap_or_default();
        let resources = self.resources.as_deref().unwrap_or_default();
        let conditions = self.conditions.clone().unwrap_or_default();
        let session = self.session.clone().unwrap_or_default();
        let obligations = Obligations {
            session_duration: session
                .max_duration_seconds
                .map(|s| format_seconds(s.unsigned_abs())),
            reauth_interval: session
                .reauth_interval_seconds
                .map(|s| format_seconds(s.unsigned_abs())),
            ..Obligations::default()
        };
        ZtnaPolicyIr {
            id: self.id.clone().unwrap_or_default(),
            enabled: self.enabled(),
            subject: Condition::any(subjects.iter().map(lower_subject).collect()),
            resource: Condition::any(resources.iter().map(lower_resource).collect()),
            conditions: lower_conditions(&conditions),
            effect: self.decision.unwrap_or(ZtnaDecision::Deny).into(),
            obligations,
        }
    }
}

fn lower_subject(s: &ZtnaSubject) -> Condition {
    let id = s.id.clone().unwrap_or_default();
    let idp = s.identity_provider.clone();
    let who = match s.kind {
        // The group leaf checks the identity provider itself.
        Some(SubjectType::Group) => {
            return Condition::Leaf(Predicate::IdentityGroup { group: id, idp })
        }
        // A user is named by email or by the IdP's user id.
        Some(SubjectType::User) => Condition::Any(vec![
            Condition::Leaf(Predicate::EmailIn(vec![id.clone()])),
            Condition::Leaf(Predicate::UserId(id)),
        ]),
        Some(SubjectType::Workload) => Condition::Leaf(Predicate::Workload(id)),
        Some(SubjectType::ServiceAccount) => Condition::Leaf(Predicate::ServiceAccount(id)),
        None => Condition::Const(false),
    };
    match idp {
        Some(idp) => Condition::All(vec![who, Condition::Leaf(Predicate::IdpIs(idp))]),
        None => who,
    }
}

fn lower_resource(r: &ZtnaResource) -> Condition {
    let mut parts = Vec::new();
    if let Some(id) = &r.id {
        parts.push(Condition::Leaf(Predicate::ResourceAppId(id.clone())));
    }
    if let Some(fqdn) = &r.fqdn {
        parts.push(Condition::Leaf(Predicate::ResourceHost(fqdn.clone())));
    }
    if parts.is_empty() {
        // Neither id nor fqdn: the resource names a whole kind of resource, so it
        // governs requests that say they are for that type.
        let kind = r.kind.map_or("", ResourceType::as_str);
        parts.push(Condition::Compare {
            left: Operand::Attribute(AttributePath::ResourceType),
            comparator: Comparator::Equals,
            right: Operand::Constant(serde_json::Value::String(kind.to_string())),
        });
    }
    if let Some(ports) = r.ports.as_ref().filter(|p| !p.is_empty()) {
        let ports = ports
            .iter()
            .filter_map(|p| u16::try_from(*p).ok())
            .collect();
        parts.push(Condition::Leaf(Predicate::ResourcePort(ports)));
    }
    Condition::all(parts)
}

fn lower_conditions(c: &ZtnaConditions) -> Vec<Condition> {
    let mut out = Vec::new();
    if let Some(posture) = c.device_posture.as_ref().filter(|p| !p.is_empty()) {
        out.push(Condition::all(
            posture
                .iter()
                .map(|uid| Condition::Leaf(Predicate::DevicePosture(uid.clone())))
                .collect(),
        ));
    }
    // `mfa: false` asks for nothing; it does not forbid MFA.
    if c.mfa == Some(true) {
        out.push(Condition::Leaf(Predicate::AuthMethod("mfa".into())));
    }
    // An empty list restricts nothing, like an absent one.
    if let Some(geo) = c.geo.as_ref().filter(|g| !g.is_empty()) {
        out.push(Condition::Leaf(Predicate::Country(geo.clone())));
    }
    if let Some(window) = &c.time_window {
        out.push(Condition::TimeWindow(window.clone()));
    }
    if let Some(max) = c.risk_score_max {
        out.push(Condition::Leaf(Predicate::RiskScoreAtMost(
            u8::try_from(max.clamp(0, 100)).unwrap_or(100),
        )));
    }
    out
}
