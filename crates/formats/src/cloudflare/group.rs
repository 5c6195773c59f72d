//! Access groups: named include / require / exclude sets that rules reuse with
//! `{"group": {"id": …}}`.

use portcullis_core::ir::AccessGroupIr;
use serde::{Deserialize, Serialize};

use super::rule::{lower_rules, validate_rules, AccessRule};
use crate::error::ValidationErrors;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<AccessRule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require: Option<Vec<AccessRule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<AccessRule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl AccessGroup {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        super::check_name(&self.name, &mut errors);
        if self.include.is_none() {
            errors.push("include", "is required (rules evaluated with OR)");
        }
        for (field, rules) in self.rule_lists() {
            validate_rules(field, rules, &mut errors);
            for (i, rule) in rules.iter().enumerate() {
                if matches!(rule, AccessRule::LinkedAppToken(_)) {
                    errors.push(
                        format!("{field}[{i}].linked_app_token"),
                        "is only allowed in non_identity and bypass policies, not in groups",
                    );
                }
            }
        }
        errors.into_result()
    }

    pub fn rule_lists(&self) -> [(&'static str, &[AccessRule]); 3] {
        [
            ("include", self.include.as_deref().unwrap_or_default()),
            ("require", self.require.as_deref().unwrap_or_default()),
            ("exclude", self.exclude.as_deref().unwrap_or_default()),
        ]
    }

    pub fn lower(&self, id: &str) -> AccessGroupIr {
        AccessGroupIr {
            id: id.to_string(),
            include: lower_rules(self.include.as_deref().unwrap_or_default()),
            require: lower_rules(self.require.as_deref().unwrap_or_default()),
            exclude: lower_rules(self.exclude.as_deref().unwrap_or_default()),
        }
    }
}
