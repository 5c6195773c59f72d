//! The AccessPolicy resource of the ACM v1 API: the container of access levels,
//! owned by an organization (`parent: organizations/{id}`).

use serde::{Deserialize, Serialize};

use crate::error::ValidationErrors;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccessPolicy {
    /// `accessPolicies/{policy}`; set by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `organizations/{organization}`; immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `folders/{n}` or `projects/{n}`; at most one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Changes with every change to the policy or its levels; set by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// The organization id of `organizations/{id}`.
pub fn parse_organization(parent: &str) -> Result<&str, String> {
    match parent.strip_prefix("organizations/") {
        Some(id) if !id.is_empty() && !id.contains('/') => Ok(id),
        _ => Err(format!(
            "{parent:?} is not of the form organizations/{{id}}"
        )),
    }
}

impl AccessPolicy {
    /// Checks the fields a client writes (`parent`, `title`, `scopes`).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        match self.parent.as_deref() {
            None => errors.push("parent", "is required"),
            Some(p) => {
                if let Err(e) = parse_organization(p) {
                    errors.push("parent", e);
                }
            }
        }
        if self.title.as_deref().is_none_or(|t| t.trim().is_empty()) {
            errors.push("title", "is required");
        }
        let scopes = self.scopes.as_deref().unwrap_or_default();
        if scopes.len() > 1 {
            errors.push("scopes", "at most one scope is allowed");
        }
        for (i, scope) in scopes.iter().enumerate() {
            let ok = ["folders/", "projects/"].iter().any(|p| {
                scope
                    .strip_prefix(p)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            });
            if !ok {
                errors.push(
                    format!("scopes[{i}]"),
                    format!("{scope:?} is not folders/{{number}} or projects/{{number}}"),
                );
            }
        }
        errors.into_result()
    }
}
