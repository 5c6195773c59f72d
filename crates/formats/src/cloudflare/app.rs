//! Access applications. Self-hosted applications (and SSH, VNC, RDP ones, which
//! protect hostnames the same way) are matched by host and path; every other type
//! is stored and returned as written.

use std::collections::BTreeMap;

use portcullis_core::apps::Destination as HostPattern;
use portcullis_core::ir::{AccessPolicyIr, AppIr, AppPolicyRef};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use super::policy::AccessPolicy;
use crate::error::{from_value, ValidationErrors};

/// Application types Cloudflare defines.
pub const APP_TYPES: &[&str] = &[
    "self_hosted",
    "saas",
    "ssh",
    "vnc",
    "rdp",
    "app_launcher",
    "warp",
    "biso",
    "bookmark",
    "dash_sso",
    "infrastructure",
    "mcp",
    "mcp_portal",
    "proxy_endpoint",
];

/// Types whose domains portcullis protects.
const HOST_PROTECTING_TYPES: &[&str] = &["self_hosted", "ssh", "vnc", "rdp"];

/// Application settings portcullis stores and returns without interpreting them.
/// Anything else is refused as an unknown field.
pub const PASSTHROUGH_FIELDS: &[&str] = &[
    "allow_authenticate_via_warp",
    "allow_iframe",
    "allowed_idps",
    "app_launcher_logo_url",
    "app_launcher_visible",
    "auto_redirect_to_identity",
    "bg_color",
    "cors_headers",
    "custom_deny_message",
    "custom_deny_url",
    "custom_non_identity_deny_url",
    "custom_pages",
    "enable_binding_cookie",
    "footer_links",
    "header_bg_color",
    "http_only_cookie_attribute",
    "landing_page_design",
    "logo_url",
    "mfa_config",
    "oauth_configuration",
    "options_preflight_bypass",
    "path_cookie_attribute",
    "read_service_tokens_from_header",
    "saas_app",
    "same_site_cookie_attribute",
    "scim_config",
    "service_auth_401_redirect",
    "skip_app_launcher_login_page",
    "skip_interstitial",
    "tags",
    "target_criteria",
    "use_clientless_isolation_app_launcher_url",
];

/// One entry of an application's `destinations`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppDestination {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub destination_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l4_protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_range: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_server_id: Option<String>,
}

/// An entry of an application's `policies`: a reusable policy id, a link with a
/// precedence, or an application-scoped policy written inline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AppPolicyEntry {
    Id(String),
    Link {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        precedence: Option<i64>,
    },
    Inline(Box<AccessPolicy>),
}

impl<'de> Deserialize<'de> for AppPolicyEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        match value {
            serde_json::Value::String(id) => Ok(AppPolicyEntry::Id(id)),
            serde_json::Value::Object(map) => {
                let only_link_keys = map.keys().all(|k| k == "id" || k == "precedence");
                if only_link_keys && map.contains_key("id") {
                    let id = map
                        .get("id")
                        .and_then(|v| v.as_str())
                        .ok_or_else(|| de::Error::custom("id: must be a string"))?
                        .to_string();
                    let precedence = match map.get("precedence") {
                        None | Some(serde_json::Value::Null) => None,
                        Some(v) => Some(v.as_i64().ok_or_else(|| {
                            de::Error::custom(format!("precedence: {v} is not an integer"))
                        })?),
                    };
                    Ok(AppPolicyEntry::Link { id, precedence })
                } else {
                    from_value::<AccessPolicy>(serde_json::Value::Object(map))
                        .map(|p| AppPolicyEntry::Inline(Box::new(p)))
                        .map_err(de::Error::custom)
                }
            }
            other => Err(de::Error::custom(format!(
                "expected a policy id, {{\"id\", \"precedence\"}} or a policy object, got {other}"
            ))),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessApplication {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub app_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_hosted_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destinations: Option<Vec<AppDestination>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<AppPolicyEntry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Settings kept verbatim; see [`PASSTHROUGH_FIELDS`].
    #[serde(flatten)]
    pub settings: BTreeMap<String, serde_json::Value>,
}

/// A policy attached to an application, with its effective precedence.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachedPolicy<'a> {
    /// Index in `policies`.
    pub index: usize,
    pub precedence: i64,
    pub kind: AttachedKind<'a>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttachedKind<'a> {
    Reusable(&'a str),
    Inline(&'a AccessPolicy),
}

impl AccessApplication {
    pub fn app_type(&self) -> &str {
        self.app_type.as_deref().unwrap_or("self_hosted")
    }

    pub fn protects_hosts(&self) -> bool {
        HOST_PROTECTING_TYPES.contains(&self.app_type())
    }

    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        for key in self.settings.keys() {
            if !PASSTHROUGH_FIELDS.contains(&key.as_str()) {
                errors.push(key.clone(), format!("unknown field `{key}`"));
            }
        }
        if let Some(t) = &self.app_type {
            if !APP_TYPES.contains(&t.as_str()) {
                errors.push(
                    "type",
                    format!(
                        "{t:?} is not an application type ({})",
                        APP_TYPES.join(", ")
                    ),
                );
            }
        }
        if self.protects_hosts() {
            if self.domain.is_none()
                && self.self_hosted_domains.as_ref().is_none_or(Vec::is_empty)
                && self.destinations.as_ref().is_none_or(Vec::is_empty)
            {
                errors.push(
                    "domain",
                    format!("is required for {} applications", self.app_type()),
                );
            }
            for (path, pattern) in self.host_patterns_with_paths() {
                if let Err(e) = HostPattern::parse(pattern) {
                    errors.push(path, e.to_string());
                }
            }
        }
        for (i, d) in self.destinations.iter().flatten().enumerate() {
            match d.destination_type.as_deref().unwrap_or("public") {
                "public" => {
                    if d.uri.is_none() {
                        errors.push(format!("destinations[{i}].uri"), "is required for public destinations");
                    }
                }
                "private" | "via_mcp_server_portal" => {}
                other => errors.push(
                    format!("destinations[{i}].type"),
                    format!("{other:?} is not a destination type (public, private, via_mcp_server_portal)"),
                ),
            }
        }
        if let Some(d) = &self.session_duration {
            if let Err(e) = portcullis_core::duration::parse_go_duration(d) {
                errors.push("session_duration", format!("{d:?} {e}"));
            }
        }
        for (i, entry) in self.policies.iter().flatten().enumerate() {
            match entry {
                AppPolicyEntry::Inline(policy) => {
                    if let Err(e) = policy.validate() {
                        for err in e.prefixed(&format!("policies[{i}]")).0 {
                            errors.0.push(err);
                        }
                    }
                }
                AppPolicyEntry::Id(id) | AppPolicyEntry::Link { id, .. }
                    if id.trim().is_empty() =>
                {
                    errors.push(format!("policies[{i}].id"), "must not be empty");
                }
                _ => {}
            }
        }
        if let Err(e) = self.attached_policies() {
            errors.0.extend(e.0);
        }
        errors.into_result()
    }

    /// `domain`, `self_hosted_domains` and public destination URIs, with the
    /// field each came from.
    pub fn host_patterns_with_paths(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        if let Some(d) = &self.domain {
            out.push(("domain".to_string(), d.as_str()));
        }
        for (i, d) in self.self_hosted_domains.iter().flatten().enumerate() {
            out.push((format!("self_hosted_domains[{i}]"), d.as_str()));
        }
        for (i, d) in self.destinations.iter().flatten().enumerate() {
            if d.destination_type.as_deref().unwrap_or("public") == "public" {
                if let Some(uri) = &d.uri {
                    out.push((format!("destinations[{i}].uri"), uri.as_str()));
                }
            }
        }
        out
    }

    /// The host patterns the app protects, without duplicates.
    pub fn host_patterns(&self) -> Vec<String> {
        if !self.protects_hosts() {
            return Vec::new();
        }
        let mut out: Vec<String> = Vec::new();
        for (_, p) in self.host_patterns_with_paths() {
            if !out.iter().any(|o| o == p) {
                out.push(p.to_string());
            }
        }
        out
    }

    /// The app's policies with their precedence: an explicit precedence, else the
    /// position in the list (1-based). Two policies with one precedence are refused.
    pub fn attached_policies(&self) -> Result<Vec<AttachedPolicy<'_>>, ValidationErrors> {
        let mut out: Vec<AttachedPolicy<'_>> = Vec::new();
        let mut errors = ValidationErrors::default();
        for (i, entry) in self.policies.iter().flatten().enumerate() {
            let position = i as i64 + 1;
            let (precedence, kind) = match entry {
                AppPolicyEntry::Id(id) => (position, AttachedKind::Reusable(id)),
                AppPolicyEntry::Link { id, precedence } => {
                    (precedence.unwrap_or(position), AttachedKind::Reusable(id))
                }
                AppPolicyEntry::Inline(p) => {
                    (p.precedence.unwrap_or(position), AttachedKind::Inline(p))
                }
            };
            if let Some(other) = out.iter().find(|a| a.precedence == precedence) {
                errors.push(
                    format!("policies[{i}].precedence"),
                    format!(
                        "precedence {precedence} is already used by policies[{}]; each policy of an application needs its own precedence",
                        other.index
                    ),
                );
            }
            if let AttachedKind::Reusable(id) = kind {
                if let Some(other) = out.iter().find(|a| a.kind == AttachedKind::Reusable(id)) {
                    errors.push(
                        format!("policies[{i}].id"),
                        format!(
                            "policy {id:?} is already attached as policies[{}]",
                            other.index
                        ),
                    );
                }
            }
            out.push(AttachedPolicy {
                index: i,
                precedence,
                kind,
            });
        }
        errors.into_result().map(|_| out)
    }

    /// Lowers the application under `app_id`. Its inline policies are lowered into
    /// `policies` (one without an id becomes `{app_id}/policies[{index}]`); reusable
    /// ones are referenced by id. Corpus setups, the admin API's write check and the
    /// decision snapshot all lower applications here.
    pub fn lower(
        &self,
        app_id: &str,
        policies: &mut Vec<AccessPolicyIr>,
    ) -> Result<AppIr, ValidationErrors> {
        let mut refs = Vec::new();
        for attached in self.attached_policies()? {
            let policy_id = match attached.kind {
                AttachedKind::Reusable(id) => id.to_string(),
                AttachedKind::Inline(policy) => {
                    let id = policy
                        .id
                        .clone()
                        .unwrap_or_else(|| format!("{app_id}/policies[{}]", attached.index));
                    policies.push(policy.lower(&id));
                    id
                }
            };
            refs.push(AppPolicyRef {
                policy_id,
                precedence: attached.precedence,
            });
        }
        Ok(AppIr {
            id: app_id.to_string(),
            aud: self.aud.clone(),
            destinations: self.host_patterns(),
            policies: refs,
            session_duration: self.session_duration.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::from_json;

    #[test]
    fn reads_the_three_shapes_of_policy_entries() {
        let app: AccessApplication = from_json(
            r#"{"name":"w","domain":"w.example.com","policies":["p1",{"id":"p2","precedence":5},{"name":"inline","decision":"allow","include":[{"everyone":{}}]}]}"#,
        )
        .unwrap();
        let attached = app.attached_policies().unwrap();
        assert_eq!(attached[0].precedence, 1);
        assert_eq!(attached[1].precedence, 5);
        assert!(matches!(attached[2].kind, AttachedKind::Inline(_)));
        assert_eq!(attached[2].precedence, 3);
        assert!(app.validate().is_ok());
    }

    #[test]
    fn refuses_duplicate_precedence_and_unknown_fields() {
        let app: AccessApplication = from_json(
            r#"{"name":"w","domain":"w.example.com","policies":[{"id":"p1","precedence":1},{"id":"p2","precedence":1}],"colour":"red"}"#,
        )
        .unwrap();
        let errors = app.validate().unwrap_err().to_string();
        assert!(
            errors.contains("policies[1].precedence: precedence 1 is already used by policies[0]"),
            "{errors}"
        );
        assert!(
            errors.contains("colour: unknown field `colour`"),
            "{errors}"
        );
    }

    #[test]
    fn keeps_passthrough_settings_verbatim() {
        let text = r#"{"name":"w","domain":"w.example.com","type":"self_hosted","app_launcher_visible":true,"tags":["a"]}"#;
        let app: AccessApplication = from_json(text).unwrap();
        assert!(app.validate().is_ok());
        let back: serde_json::Value = serde_json::to_value(&app).unwrap();
        let sent: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(back, sent);
    }
}
