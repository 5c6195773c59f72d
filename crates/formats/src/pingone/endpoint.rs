//! PingOne decision endpoints (`/v1/environments/{env}/decisionEndpoints`): a
//! name for one authorization policy that callers ask for decisions.

use portcullis_core::ir::DecisionEndpointIr;
use serde::{Deserialize, Serialize};

use crate::error::ValidationErrors;

/// A decision endpoint as PingOne writes it (the fields portcullis uses).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DecisionEndpoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
}

impl DecisionEndpoint {
    /// `name` and `policyId` are required. Whether the policy exists is a
    /// question about the environment, not the endpoint.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if self.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            errors.push("name", "is required");
        }
        if self.policy_id.as_deref().is_none_or(str::is_empty) {
            errors.push("policyId", "is required");
        }
        errors.into_result()
    }

    pub fn lower(&self, id: &str) -> DecisionEndpointIr {
        DecisionEndpointIr {
            id: id.to_string(),
            policy_id: self.policy_id.clone().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_policy_are_required() {
        let err = DecisionEndpoint::default().validate().unwrap_err();
        assert_eq!(err.to_string(), "name: is required; policyId: is required");
        let ok: DecisionEndpoint =
            crate::from_json(r#"{"name": "main", "policyId": "p1"}"#).unwrap();
        ok.validate().unwrap();
        assert_eq!(ok.lower("e1").policy_id, "p1");
    }
}
