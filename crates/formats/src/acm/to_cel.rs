//! Basic level → CEL, for `accessLevelFormat=CEL` reads: the same level written as
//! a custom expression over the attributes portcullis's CEL environment offers.
//!
//! Every attribute test is guarded with `has(…)`: a basic level treats a missing
//! attribute as "does not match" (so a negated condition can still hold), while
//! reading a missing attribute in CEL is an error that refuses the level.
//! Constraints the CEL environment cannot express (OS minimum versions, verified
//! Chrome OS, VPC network sources) are reported instead of approximated.

use super::level::{wire_name, AccessLevel, AcmCondition, CombiningFunction, DevicePolicy};
use crate::error::ValidationErrors;

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(", "))
}

/// `has(attr) && attr in [values]`.
fn one_of(attr: &str, values: Vec<String>) -> String {
    format!("(has({attr}) && {attr} in {})", list(values))
}

/// `has(attr) && attr` for a boolean device attribute.
fn flag(attr: &str) -> String {
    format!("(has({attr}) && {attr})")
}

/// Translates a validated basic level into an equivalent CEL expression, or
/// names the fields that have no equivalent.
pub fn basic_to_cel(level: &AccessLevel) -> Result<String, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let Some(basic) = &level.basic else {
        return Err(ValidationErrors::single("basic", "is not a basic level"));
    };
    let terms: Vec<String> = level
        .conditions()
        .iter()
        .enumerate()
        .map(|(i, c)| condition(c, &format!("basic.conditions[{i}]"), &mut errors))
        .collect();
    errors.into_result()?;
    let joiner = match basic.combining_function {
        Some(CombiningFunction::Or) => " || ",
        Some(CombiningFunction::And) | None => " && ",
    };
    Ok(terms.join(joiner))
}

fn condition(c: &AcmCondition, path: &str, errors: &mut ValidationErrors) -> String {
    let mut fields = Vec::new();
    if !c.ip_subnetworks().is_empty() {
        let ranges: Vec<String> = c
            .ip_subnetworks()
            .iter()
            .map(|cidr| format!("inIpRange(origin.ip, {})", quote(cidr)))
            .collect();
        fields.push(format!("(has(origin.ip) && ({}))", ranges.join(" || ")));
    }
    if let Some(policy) = c.device_policy() {
        fields.push(device_policy(
            policy,
            &format!("{path}.devicePolicy"),
            errors,
        ));
    }
    for required in c.required_access_levels() {
        let short = required.rsplit('/').next().unwrap_or_default();
        fields.push(format!("levels.{short}"));
    }
    if !c.members().is_empty() {
        let emails = c
            .members()
            .iter()
            .map(|m| {
                quote(
                    m.strip_prefix("user:")
                        .or_else(|| m.strip_prefix("serviceAccount:"))
                        .unwrap_or(m),
                )
            })
            .collect();
        fields.push(one_of("request.auth.principal", emails));
    }
    if !c.regions().is_empty() {
        fields.push(one_of(
            "origin.region_code",
            c.regions().iter().map(|r| quote(r)).collect(),
        ));
    }
    if !c.vpc_network_sources().is_empty() {
        errors.push(
            format!("{path}.vpcNetworkSources"),
            "has no CEL equivalent (the request's VPC network is not a CEL attribute)",
        );
    }
    let all = format!("({})", fields.join(" && "));
    if c.negate.unwrap_or(false) {
        format!("!{all}")
    } else {
        all
    }
}

fn device_policy(p: &DevicePolicy, path: &str, errors: &mut ValidationErrors) -> String {
    let mut parts = Vec::new();
    if p.require_screenlock == Some(true) {
        parts.push(flag("device.is_secured_with_screenlock"));
    }
    if let Some(statuses) = p
        .allowed_encryption_statuses
        .as_ref()
        .filter(|s| !s.is_empty())
    {
        parts.push(one_of(
            "device.encryption_status",
            statuses
                .iter()
                .map(|s| format!("DeviceEncryptionStatus.{}", wire_name(s)))
                .collect(),
        ));
    }
    if let Some(oses) = p.os_constraints.as_ref().filter(|o| !o.is_empty()) {
        for (i, os) in oses.iter().enumerate() {
            if os.minimum_version.is_some() {
                errors.push(
                    format!("{path}.osConstraints[{i}].minimumVersion"),
                    "has no CEL equivalent (CEL compares versions as strings)",
                );
            }
            if os.require_verified_chrome_os == Some(true) {
                errors.push(
                    format!("{path}.osConstraints[{i}].requireVerifiedChromeOs"),
                    "has no CEL equivalent",
                );
            }
        }
        parts.push(one_of(
            "device.os_type",
            oses.iter()
                .map(|o| {
                    format!(
                        "OsType.{}",
                        o.os_type.as_ref().map(wire_name).unwrap_or_default()
                    )
                })
                .collect(),
        ));
    }
    if let Some(levels) = p
        .allowed_device_management_levels
        .as_ref()
        .filter(|l| !l.is_empty())
    {
        parts.push(one_of(
            "device.management_level",
            levels
                .iter()
                .map(|l| format!("DeviceManagementLevel.{}", wire_name(l)))
                .collect(),
        ));
    }
    if p.require_admin_approval == Some(true) {
        parts.push(flag("device.is_admin_approved_device"));
    }
    if p.require_corp_owned == Some(true) {
        parts.push(flag("device.is_corp_owned_device"));
    }
    format!("({})", parts.join(" && "))
}
