//! The AccessLevel resource exactly as the ACM v1 API writes it.

use portcullis_core::cel::CelProgram;
use portcullis_core::ip::parse_truncated_cidr;
use serde::{Deserialize, Serialize};

use crate::cloudflare::looks_like_email;
use crate::country::is_country_code;
use crate::error::{parse_checked, ValidationErrors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CombiningFunction {
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeviceEncryptionStatus {
    EncryptionUnspecified,
    EncryptionUnsupported,
    Unencrypted,
    Encrypted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OsType {
    OsUnspecified,
    DesktopMac,
    DesktopWindows,
    DesktopLinux,
    DesktopChromeOs,
    Android,
    Ios,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeviceManagementLevel {
    ManagementUnspecified,
    None,
    Basic,
    Complete,
}

/// The wire name of an enum value (`DESKTOP_MAC`), as the request context and
/// CEL spell it too.
pub(crate) fn wire_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OsConstraint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<OsType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_verified_chrome_os: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DevicePolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_screenlock: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_encryption_statuses: Option<Vec<DeviceEncryptionStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_constraints: Option<Vec<OsConstraint>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_device_management_levels: Option<Vec<DeviceManagementLevel>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_admin_approval: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_corp_owned: Option<bool>,
}

impl DevicePolicy {
    /// Whether the policy restricts nothing: Google ignores unset fields, so such
    /// a policy is an empty field of its condition.
    pub fn is_empty(&self) -> bool {
        let empty = |v: Option<usize>| v.unwrap_or(0) == 0;
        !self.require_screenlock.unwrap_or(false)
            && empty(self.allowed_encryption_statuses.as_ref().map(Vec::len))
            && empty(self.os_constraints.as_ref().map(Vec::len))
            && empty(self.allowed_device_management_levels.as_ref().map(Vec::len))
            && !self.require_admin_approval.unwrap_or(false)
            && !self.require_corp_owned.unwrap_or(false)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VpcSubNetwork {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_ip_subnetworks: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VpcNetworkSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_subnetwork: Option<VpcSubNetwork>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AcmCondition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_subnetworks: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_policy: Option<DevicePolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_access_levels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negate: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_network_sources: Option<Vec<VpcNetworkSource>>,
}

impl AcmCondition {
    pub(crate) fn ip_subnetworks(&self) -> &[String] {
        self.ip_subnetworks.as_deref().unwrap_or_default()
    }
    pub(crate) fn required_access_levels(&self) -> &[String] {
        self.required_access_levels.as_deref().unwrap_or_default()
    }
    pub(crate) fn members(&self) -> &[String] {
        self.members.as_deref().unwrap_or_default()
    }
    pub(crate) fn regions(&self) -> &[String] {
        self.regions.as_deref().unwrap_or_default()
    }
    pub(crate) fn vpc_network_sources(&self) -> &[VpcNetworkSource] {
        self.vpc_network_sources.as_deref().unwrap_or_default()
    }
    pub(crate) fn device_policy(&self) -> Option<&DevicePolicy> {
        self.device_policy.as_ref().filter(|d| !d.is_empty())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BasicLevel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<AcmCondition>>,
    /// Defaults to AND.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combining_function: Option<CombiningFunction>,
}

/// `google.type.Expr`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomLevel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr: Option<Expr>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessLevel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<CustomLevel>,
}

/// `accessPolicies/{policy}/accessLevels/{short_name}`, split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelName<'a> {
    pub policy: &'a str,
    pub short_name: &'a str,
}

impl LevelName<'_> {
    /// `accessPolicies/P/accessLevels/`: what `levels.NAME` in CEL is relative to.
    pub fn scope(&self) -> String {
        format!("accessPolicies/{}/accessLevels/", self.policy)
    }
}

/// Splits and checks a full level name. The short name starts with a letter, has
/// only letters, digits and underscores, and is at most 50 characters (Google's
/// rule for `accessLevels/{short_name}`).
pub fn parse_level_name(name: &str) -> Result<LevelName<'_>, String> {
    let shape = || {
        format!("{name:?} is not of the form accessPolicies/{{policy}}/accessLevels/{{short_name}}")
    };
    let rest = name.strip_prefix("accessPolicies/").ok_or_else(shape)?;
    let (policy, short_name) = rest.split_once("/accessLevels/").ok_or_else(shape)?;
    if policy.is_empty() || policy.contains('/') || short_name.contains('/') {
        return Err(shape());
    }
    let valid = short_name.len() <= 50
        && short_name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && short_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "short name {short_name:?} must start with a letter and hold only letters, digits and underscores (at most 50)"
        ));
    }
    Ok(LevelName { policy, short_name })
}

/// Parses and validates one access level body: the first structural error (with
/// its path), or every semantic one.
pub fn parse_level(text: &str) -> Result<AccessLevel, ValidationErrors> {
    parse_checked(text, AccessLevel::validate)
}

/// `major[.minor[.patch]]`, numbers only.
fn is_os_version(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() <= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

impl AccessLevel {
    pub fn level_name(&self) -> Option<LevelName<'_>> {
        self.name.as_deref().and_then(|n| parse_level_name(n).ok())
    }

    pub fn conditions(&self) -> &[AcmCondition] {
        self.basic
            .as_ref()
            .and_then(|b| b.conditions.as_deref())
            .unwrap_or_default()
    }

    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let name = match &self.name {
            None => {
                errors.push("name", "is required");
                None
            }
            Some(n) => match parse_level_name(n) {
                Ok(name) => Some(name),
                Err(e) => {
                    errors.push("name", e);
                    None
                }
            },
        };
        if self.title.as_deref().is_none_or(|t| t.trim().is_empty()) {
            errors.push("title", "is required");
        }
        match (&self.basic, &self.custom) {
            (None, None) => errors.push("", "exactly one of basic and custom is required"),
            (Some(_), Some(_)) => errors.push(
                "custom",
                "cannot be set together with basic (exactly one of basic and custom)",
            ),
            (Some(basic), None) => validate_basic(basic, name, &mut errors),
            (None, Some(custom)) => {
                match custom.expr.as_ref().and_then(|e| e.expression.as_ref()) {
                    None => errors.push("custom.expr.expression", "is required"),
                    Some(expression) => {
                        if let Err(e) = CelProgram::compile(expression) {
                            errors.push("custom.expr.expression", format!("CEL expression {e}"));
                        }
                    }
                }
            }
        }
        errors.into_result()
    }
}

fn validate_basic(basic: &BasicLevel, name: Option<LevelName<'_>>, errors: &mut ValidationErrors) {
    let conditions = basic.conditions.as_deref().unwrap_or_default();
    if conditions.is_empty() {
        errors.push("basic.conditions", "at least one condition is required");
    }
    for (i, c) in conditions.iter().enumerate() {
        let path = format!("basic.conditions[{i}]");
        let has_vpc = !c.vpc_network_sources().is_empty();
        if c.ip_subnetworks().is_empty()
            && c.device_policy.is_none()
            && c.required_access_levels().is_empty()
            && c.members().is_empty()
            && c.regions().is_empty()
            && !has_vpc
        {
            // An empty condition would grant (or, negated, refuse) every request;
            // that is almost always a mistake, so it is refused.
            errors.push(
                &path,
                "sets no requirement (give ipSubnetworks, devicePolicy, requiredAccessLevels, members, regions or vpcNetworkSources)",
            );
        }
        for (j, cidr) in c.ip_subnetworks().iter().enumerate() {
            if let Err(e) = parse_truncated_cidr(cidr) {
                errors.push(format!("{path}.ipSubnetworks[{j}]"), e.to_string());
            }
        }
        if has_vpc && !c.ip_subnetworks().is_empty() {
            errors.push(
                format!("{path}.vpcNetworkSources"),
                "cannot be set together with ipSubnetworks",
            );
        }
        for (j, source) in c.vpc_network_sources().iter().enumerate() {
            validate_vpc_source(source, &format!("{path}.vpcNetworkSources[{j}]"), errors);
        }
        for (j, member) in c.members().iter().enumerate() {
            let email = member
                .strip_prefix("user:")
                .or_else(|| member.strip_prefix("serviceAccount:"));
            if !email.is_some_and(looks_like_email) {
                errors.push(
                    format!("{path}.members[{j}]"),
                    format!("{member:?} is not user:EMAIL or serviceAccount:EMAIL (groups are not supported)"),
                );
            }
        }
        for (j, region) in c.regions().iter().enumerate() {
            if !is_country_code(region) {
                errors.push(
                    format!("{path}.regions[{j}]"),
                    format!("{region:?} is not an ISO 3166-1 alpha-2 country code"),
                );
            }
        }
        for (j, required) in c.required_access_levels().iter().enumerate() {
            let field = format!("{path}.requiredAccessLevels[{j}]");
            match (parse_level_name(required), name) {
                (Err(e), _) => errors.push(field, e),
                (Ok(r), Some(own)) if r.policy != own.policy => errors.push(
                    field,
                    format!(
                        "{required:?} is not in this access policy (accessPolicies/{})",
                        own.policy
                    ),
                ),
                (Ok(r), Some(own)) if r.short_name == own.short_name => {
                    errors.push(field, "a level cannot require itself")
                }
                _ => {}
            }
        }
        if let Some(policy) = &c.device_policy {
            for (j, os) in policy.os_constraints.iter().flatten().enumerate() {
                let os_path = format!("{path}.devicePolicy.osConstraints[{j}]");
                if os.os_type.is_none() {
                    errors.push(format!("{os_path}.osType"), "is required");
                }
                if let Some(v) = os.minimum_version.as_ref().filter(|v| !is_os_version(v)) {
                    errors.push(
                        format!("{os_path}.minimumVersion"),
                        format!("{v:?} is not a version major.minor.patch (e.g. 10.5.301)"),
                    );
                }
            }
        }
    }
}

fn validate_vpc_source(source: &VpcNetworkSource, path: &str, errors: &mut ValidationErrors) {
    let Some(sub) = &source.vpc_subnetwork else {
        errors.push(format!("{path}.vpcSubnetwork"), "is required");
        return;
    };
    match sub.network.as_deref() {
        None => errors.push(format!("{path}.vpcSubnetwork.network"), "is required"),
        Some(n) if !n.starts_with("//compute.googleapis.com/projects/") || !n.contains("/networks/") => errors.push(
            format!("{path}.vpcSubnetwork.network"),
            format!("{n:?} is not a network name //compute.googleapis.com/projects/PROJECT/global/networks/NETWORK"),
        ),
        Some(_) => {}
    }
    for (k, cidr) in sub.vpc_ip_subnetworks.iter().flatten().enumerate() {
        let field = format!("{path}.vpcSubnetwork.vpcIpSubnetworks[{k}]");
        match parse_truncated_cidr(cidr) {
            Err(e) => errors.push(field, e.to_string()),
            Ok(net) if !matches!(net, ipnet::IpNet::V4(_)) => {
                errors.push(field, format!("{cidr:?} is not an IPv4 range"))
            }
            Ok(_) => {}
        }
    }
}
