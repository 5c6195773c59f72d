//! Policy and rule nodes, statements, combining algorithms and repetition.

use portcullis_core::attribute::AttributePath;
use portcullis_core::decision::AuthorizeDecision;
use serde::{Deserialize, Serialize};

use super::condition::AuthorizeCondition;
use crate::error::{join_path, parse_checked, ValidationErrors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NodeType {
    Policy,
    Rule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Algorithm {
    DenyOverrides,
    PermitOverrides,
    DenyUnlessPermit,
    PermitUnlessDeny,
    FirstApplicable,
    OnlyOneApplicable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CombiningAlgorithmSetting {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<Algorithm>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EffectType {
    UnconditionalPermit,
    UnconditionalDeny,
    ConditionalPermitElseDeny,
    ConditionalDenyElsePermit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectSettings {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<EffectType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<AuthorizeCondition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatementAppliesTo {
    Permit,
    Deny,
    PermitOrDeny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatementAppliesIf {
    FinalDecisionMatches,
    PathMatches,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Statement {
    /// Read-only, set by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_to: Option<StatementAppliesTo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_if: Option<StatementAppliesIf>,
    /// Free text (usually JSON) handed back with the decision as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obligatory: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepetitionSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepetitionSettings {
    /// The attribute (a dotted request path) whose items the policy runs over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<RepetitionSource>,
    /// Items whose decision is this one are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<AuthorizeDecision>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// A policy, a rule, or (as a child only) a reference to a top-level policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyNode {
    /// Read-only: the server assigns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Read-only: changes on every write (optimistic concurrency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<NodeType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Defaults to `true`; a disabled node is skipped (NOT_APPLICABLE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<AuthorizeCondition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combining_algorithm: Option<CombiningAlgorithmSetting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<PolicyNode>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statements: Option<Vec<Statement>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetition_settings: Option<RepetitionSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect_settings: Option<EffectSettings>,
    /// Set only on a referenced child: `{"type": "POLICY", "value": {"id": …}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<PolicyReference>,
}

/// Parses and validates one top-level policy body: the first structural error
/// (with its path), or every semantic one.
pub fn parse_policy(text: &str) -> Result<PolicyNode, ValidationErrors> {
    parse_checked(text, PolicyNode::validate)
}

impl PolicyNode {
    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    /// The id of the policy a referencing child names.
    pub fn reference_id(&self) -> Option<&str> {
        self.value.as_ref().and_then(|v| v.id.as_deref())
    }

    /// Every access level the tree's REFERENCE conditions name, with the path
    /// of the id (`children[0].condition.reference.id`), so a writer can check
    /// them against the account's levels.
    pub fn level_references(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.collect_level_references("", &mut out);
        out
    }

    fn collect_level_references(&self, path: &str, out: &mut Vec<(String, String)>) {
        if let Some(c) = &self.condition {
            c.level_references(&join_path(path, "condition"), out);
        }
        if let Some(c) = self
            .effect_settings
            .as_ref()
            .and_then(|e| e.condition.as_ref())
        {
            c.level_references(&join_path(path, "effectSettings.condition"), out);
        }
        for (i, child) in self.children.iter().flatten().enumerate() {
            child.collect_level_references(&join_path(path, &format!("children[{i}]")), out);
        }
    }

    /// Validates a top-level policy: it must be a POLICY, not a reference.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if self.value.is_some() {
            errors.push("value", "only a child can reference another policy");
        } else if self.kind == Some(NodeType::Rule) {
            errors.push("type", "a top-level authorization policy must be a POLICY");
        } else {
            self.validate_node("", &mut errors);
        }
        errors.into_result()
    }

    fn validate_node(&self, path: &str, errors: &mut ValidationErrors) {
        if let Some(reference) = &self.value {
            if self.kind != Some(NodeType::Policy) {
                errors.push(join_path(path, "type"), "a reference must have type POLICY");
            }
            if reference.id.as_deref().is_none_or(str::is_empty) {
                errors.push(join_path(path, "value.id"), "is required");
            }
            for (field, present) in self.present_fields() {
                if present && field != "type" {
                    errors.push(
                        join_path(path, field),
                        "is not allowed in a reference (only type and value)",
                    );
                }
            }
            return;
        }
        let Some(kind) = self.kind else {
            errors.push(join_path(path, "type"), "is required (POLICY or RULE)");
            return;
        };
        if let Some(c) = &self.condition {
            c.validate(&join_path(path, "condition"), errors);
        }
        for (i, s) in self.statements.iter().flatten().enumerate() {
            s.validate(&join_path(path, &format!("statements[{i}]")), errors);
        }
        match kind {
            NodeType::Policy => self.validate_policy(path, errors),
            NodeType::Rule => self.validate_rule(path, errors),
        }
    }

    fn validate_policy(&self, path: &str, errors: &mut ValidationErrors) {
        if self.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            errors.push(join_path(path, "name"), "is required");
        }
        match &self.combining_algorithm {
            None => errors.push(join_path(path, "combiningAlgorithm"), "is required"),
            Some(c) if c.algorithm.is_none() => errors.push(
                join_path(path, "combiningAlgorithm.algorithm"),
                "is required (DENY_OVERRIDES, PERMIT_OVERRIDES, DENY_UNLESS_PERMIT, PERMIT_UNLESS_DENY, FIRST_APPLICABLE or ONLY_ONE_APPLICABLE)",
            ),
            Some(_) => {}
        }
        if self.effect_settings.is_some() {
            errors.push(
                join_path(path, "effectSettings"),
                "is only allowed on rules",
            );
        }
        if let Some(r) = &self.repetition_settings {
            match r.source.as_ref().and_then(|s| s.id.as_deref()) {
                None => errors.push(
                    join_path(path, "repetitionSettings.source.id"),
                    "is required",
                ),
                Some(id) => {
                    if let Err(e) = AttributePath::parse(id) {
                        errors.push(
                            join_path(path, "repetitionSettings.source.id"),
                            e.to_string(),
                        );
                    }
                }
            }
            if r.decision.is_none() {
                errors.push(
                    join_path(path, "repetitionSettings.decision"),
                    "is required (PERMIT, DENY, NOT_APPLICABLE or INDETERMINATE)",
                );
            }
        }
        for (i, child) in self.children.iter().flatten().enumerate() {
            child.validate_node(&join_path(path, &format!("children[{i}]")), errors);
        }
    }

    fn validate_rule(&self, path: &str, errors: &mut ValidationErrors) {
        for (field, present) in [
            ("combiningAlgorithm", self.combining_algorithm.is_some()),
            ("children", self.children.is_some()),
            ("repetitionSettings", self.repetition_settings.is_some()),
        ] {
            if present {
                errors.push(join_path(path, field), "is only allowed on policies");
            }
        }
        let Some(effect) = &self.effect_settings else {
            errors.push(join_path(path, "effectSettings"), "is required on a rule");
            return;
        };
        let conditional = match effect.kind {
            None => {
                errors.push(
                    join_path(path, "effectSettings.type"),
                    "is required (UNCONDITIONAL_PERMIT, UNCONDITIONAL_DENY, CONDITIONAL_PERMIT_ELSE_DENY or CONDITIONAL_DENY_ELSE_PERMIT)",
                );
                return;
            }
            Some(EffectType::UnconditionalPermit | EffectType::UnconditionalDeny) => false,
            Some(_) => true,
        };
        match (&effect.condition, conditional) {
            (None, true) => errors.push(
                join_path(path, "effectSettings.condition"),
                "is required with a CONDITIONAL effect",
            ),
            (Some(_), false) => errors.push(
                join_path(path, "effectSettings.condition"),
                "is not allowed with an UNCONDITIONAL effect",
            ),
            (Some(c), true) => c.validate(&join_path(path, "effectSettings.condition"), errors),
            (None, false) => {}
        }
    }

    fn present_fields(&self) -> [(&'static str, bool); 12] {
        [
            ("id", self.id.is_some()),
            ("version", self.version.is_some()),
            ("type", self.kind.is_some()),
            ("name", self.name.is_some()),
            ("description", self.description.is_some()),
            ("enabled", self.enabled.is_some()),
            ("condition", self.condition.is_some()),
            ("combiningAlgorithm", self.combining_algorithm.is_some()),
            ("children", self.children.is_some()),
            ("statements", self.statements.is_some()),
            ("repetitionSettings", self.repetition_settings.is_some()),
            ("effectSettings", self.effect_settings.is_some()),
        ]
    }
}

impl Statement {
    fn validate(&self, path: &str, errors: &mut ValidationErrors) {
        for (field, missing) in [
            ("name", self.name.as_deref().is_none_or(str::is_empty)),
            ("code", self.code.as_deref().is_none_or(str::is_empty)),
        ] {
            if missing {
                errors.push(format!("{path}.{field}"), "is required");
            }
        }
        if self.applies_to.is_none() {
            errors.push(
                format!("{path}.appliesTo"),
                "is required (PERMIT, DENY or PERMIT_OR_DENY)",
            );
        }
        if self.applies_if.is_none() {
            errors.push(
                format!("{path}.appliesIf"),
                "is required (FINAL_DECISION_MATCHES or PATH_MATCHES)",
            );
        }
    }
}
