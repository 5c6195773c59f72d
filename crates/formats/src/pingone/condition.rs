//! PingOne conditions: AND, OR, NOT, COMPARISON, EMPTY and REFERENCE.

use portcullis_core::attribute::AttributePath;
use portcullis_core::ir::{Comparator, Condition, Operand};
use serde::{Deserialize, Serialize};

use crate::error::ValidationErrors;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConditionType {
    And,
    Or,
    Not,
    Comparison,
    Empty,
    Reference,
}

impl ConditionType {
    fn as_str(self) -> &'static str {
        match self {
            ConditionType::And => "AND",
            ConditionType::Or => "OR",
            ConditionType::Not => "NOT",
            ConditionType::Comparison => "COMPARISON",
            ConditionType::Empty => "EMPTY",
            ConditionType::Reference => "REFERENCE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WireComparator {
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

impl From<WireComparator> for Comparator {
    fn from(c: WireComparator) -> Comparator {
        match c {
            WireComparator::Equals => Comparator::Equals,
            WireComparator::NotEquals => Comparator::NotEquals,
            WireComparator::Contains => Comparator::Contains,
            WireComparator::NotContains => Comparator::NotContains,
            WireComparator::GreaterThan => Comparator::GreaterThan,
            WireComparator::GreaterThanOrEqual => Comparator::GreaterThanOrEqual,
            WireComparator::LessThan => Comparator::LessThan,
            WireComparator::LessThanOrEqual => Comparator::LessThanOrEqual,
            WireComparator::StartsWith => Comparator::StartsWith,
            WireComparator::EndsWith => Comparator::EndsWith,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperandType {
    Attribute,
    Constant,
}

/// One side of a comparison: `{"type": "ATTRIBUTE", "id": "identity.email"}` or
/// `{"type": "CONSTANT", "value": "eng"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireOperand {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<OperandType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// A condition node. The fields a node may carry depend on its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeCondition {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<ConditionType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<AuthorizeCondition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Box<AuthorizeCondition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<WireOperand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparator: Option<WireComparator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<WireOperand>,
    /// REFERENCE: a reusable named condition. In portcullis the reusable named
    /// conditions are ACM access levels, named in full
    /// (`accessPolicies/P/accessLevels/NAME`); the condition holds when the level
    /// is granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ConditionReference>,
}

impl AuthorizeCondition {
    pub(crate) fn validate(&self, path: &str, errors: &mut ValidationErrors) {
        let Some(kind) = self.kind else {
            errors.push(
                format!("{path}.type"),
                "is required (AND, OR, NOT, COMPARISON, EMPTY or REFERENCE)",
            );
            return;
        };
        let allowed: &[&str] = match kind {
            ConditionType::And | ConditionType::Or => &["conditions"],
            ConditionType::Not => &["condition"],
            ConditionType::Comparison => &["left", "comparator", "right"],
            ConditionType::Empty => &[],
            ConditionType::Reference => &["reference"],
        };
        for (field, present) in [
            ("conditions", self.conditions.is_some()),
            ("condition", self.condition.is_some()),
            ("left", self.left.is_some()),
            ("comparator", self.comparator.is_some()),
            ("right", self.right.is_some()),
            ("reference", self.reference.is_some()),
        ] {
            if present && !allowed.contains(&field) {
                errors.push(
                    format!("{path}.{field}"),
                    format!("is not allowed when type is {}", kind.as_str()),
                );
            } else if !present && allowed.contains(&field) {
                errors.push(
                    format!("{path}.{field}"),
                    format!("is required when type is {}", kind.as_str()),
                );
            }
        }
        for (i, c) in self.conditions.iter().flatten().enumerate() {
            c.validate(&format!("{path}.conditions[{i}]"), errors);
        }
        if let Some(c) = &self.condition {
            c.validate(&format!("{path}.condition"), errors);
        }
        for (side, operand) in [("left", &self.left), ("right", &self.right)] {
            if let Some(op) = operand {
                op.validate(&format!("{path}.{side}"), errors);
            }
        }
        if let Some(r) = &self.reference {
            if r.id.as_deref().is_none_or(str::is_empty) {
                errors.push(
                    format!("{path}.reference.id"),
                    "is required (the full name of an access level)",
                );
            }
        }
    }

    /// Lowers a validated condition. `repetition_source` is the attribute of the
    /// innermost repeating policy: inside it, that attribute means the current item.
    pub(crate) fn lower(&self, repetition_source: Option<&str>) -> Condition {
        let all = |items: &Option<Vec<AuthorizeCondition>>| -> Vec<Condition> {
            items
                .iter()
                .flatten()
                .map(|c| c.lower(repetition_source))
                .collect()
        };
        match self.kind {
            Some(ConditionType::And) => Condition::all(all(&self.conditions)),
            Some(ConditionType::Or) => Condition::any(all(&self.conditions)),
            Some(ConditionType::Not) => Condition::Not(Box::new(
                self.condition
                    .as_ref()
                    .map_or(Condition::Const(false), |c| c.lower(repetition_source)),
            )),
            Some(ConditionType::Comparison) => Condition::Compare {
                left: lower_operand(&self.left, repetition_source),
                comparator: self.comparator.map_or(Comparator::Equals, Comparator::from),
                right: lower_operand(&self.right, repetition_source),
            },
            // PingOne's EMPTY is the placeholder condition that always holds.
            Some(ConditionType::Empty) => Condition::Const(true),
            Some(ConditionType::Reference) => Condition::AccessLevel(
                self.reference
                    .as_ref()
                    .and_then(|r| r.id.clone())
                    .unwrap_or_default(),
            ),
            None => Condition::Const(false),
        }
    }
}

impl AuthorizeCondition {
    /// Every access level named by a REFERENCE condition, with the path of its id.
    pub fn level_references(&self, path: &str, out: &mut Vec<(String, String)>) {
        if let Some(id) = self.reference.as_ref().and_then(|r| r.id.as_ref()) {
            out.push((format!("{path}.reference.id"), id.clone()));
        }
        for (i, c) in self.conditions.iter().flatten().enumerate() {
            c.level_references(&format!("{path}.conditions[{i}]"), out);
        }
        if let Some(c) = &self.condition {
            c.level_references(&format!("{path}.condition"), out);
        }
    }
}

impl WireOperand {
    fn validate(&self, path: &str, errors: &mut ValidationErrors) {
        match self.kind {
            None => errors.push(
                format!("{path}.type"),
                "is required (ATTRIBUTE or CONSTANT)",
            ),
            Some(OperandType::Attribute) => {
                if self.value.is_some() {
                    errors.push(
                        format!("{path}.value"),
                        "is not allowed in an ATTRIBUTE operand",
                    );
                }
                match &self.id {
                    None => errors.push(format!("{path}.id"), "is required"),
                    Some(id) => {
                        if let Err(e) = AttributePath::parse(id) {
                            errors.push(format!("{path}.id"), e.to_string());
                        }
                    }
                }
            }
            Some(OperandType::Constant) => {
                if self.id.is_some() {
                    errors.push(format!("{path}.id"), "is not allowed in a CONSTANT operand");
                }
                match &self.value {
                    None | Some(serde_json::Value::Null) => {
                        errors.push(format!("{path}.value"), "is required")
                    }
                    Some(serde_json::Value::Object(_)) => errors.push(
                        format!("{path}.value"),
                        "must be a string, number, boolean or array",
                    ),
                    Some(_) => {}
                }
            }
        }
    }
}

fn lower_operand(op: &Option<WireOperand>, repetition_source: Option<&str>) -> Operand {
    let Some(op) = op else {
        return Operand::Constant(serde_json::Value::Null);
    };
    match (op.kind, &op.id) {
        (Some(OperandType::Attribute), Some(id)) if Some(id.as_str()) == repetition_source => {
            Operand::RepetitionItem
        }
        (Some(OperandType::Attribute), Some(id)) => match AttributePath::parse(id) {
            Ok(path) => Operand::Attribute(path),
            // Validation refuses unknown attributes; a missing value compares false.
            Err(_) => Operand::Constant(serde_json::Value::Null),
        },
        _ => Operand::Constant(op.value.clone().unwrap_or(serde_json::Value::Null)),
    }
}
