//! Lowering validated access levels into the IR, with Google's semantics: each
//! condition is an AND over its non-empty fields (an empty field restricts
//! nothing), `negate` turns it into a NAND over those fields, and the level
//! combines its conditions with AND (default) or OR.

use ipnet::IpNet;
use portcullis_core::ip::parse_truncated_cidr;
use portcullis_core::ir::{
    AccessLevelIr, CelIr, Condition, DevicePolicyIr, OsConstraintIr, Predicate,
};

use super::level::{wire_name, AccessLevel, AcmCondition, CombiningFunction, DevicePolicy};

impl AccessLevel {
    /// Lowers a validated level.
    pub fn lower(&self) -> AccessLevelIr {
        let name = self.name.clone().unwrap_or_default();
        let condition = match (&self.basic, &self.custom) {
            (Some(basic), _) => {
                let conditions: Vec<Condition> =
                    self.conditions().iter().map(lower_condition).collect();
                match basic.combining_function {
                    Some(CombiningFunction::Or) => Condition::any(conditions),
                    Some(CombiningFunction::And) | None => Condition::all(conditions),
                }
            }
            (None, Some(custom)) => Condition::Cel(CelIr {
                expr: custom
                    .expr
                    .as_ref()
                    .and_then(|e| e.expression.clone())
                    .unwrap_or_default(),
                level_scope: self.level_name().map(|n| n.scope()).unwrap_or_default(),
            }),
            (None, None) => Condition::Const(false),
        };
        AccessLevelIr { name, condition }
    }
}

fn nets<'a>(cidrs: impl IntoIterator<Item = &'a String>) -> Vec<IpNet> {
    cidrs
        .into_iter()
        .filter_map(|c| parse_truncated_cidr(c).ok())
        .collect()
}

fn lower_condition(c: &AcmCondition) -> Condition {
    let mut fields = Vec::new();
    if !c.ip_subnetworks().is_empty() {
        fields.push(Condition::Leaf(Predicate::IpIn(nets(c.ip_subnetworks()))));
    }
    if let Some(policy) = c.device_policy() {
        fields.push(Condition::Leaf(Predicate::DevicePolicy(
            lower_device_policy(policy),
        )));
    }
    // "All listed access levels are granted."
    fields.extend(
        c.required_access_levels()
            .iter()
            .map(|l| Condition::AccessLevel(l.clone())),
    );
    if !c.members().is_empty() {
        let emails = c
            .members()
            .iter()
            .map(|m| {
                m.strip_prefix("user:")
                    .or_else(|| m.strip_prefix("serviceAccount:"))
                    .unwrap_or(m)
                    .to_string()
            })
            .collect();
        fields.push(Condition::Leaf(Predicate::EmailIn(emails)));
    }
    if !c.regions().is_empty() {
        fields.push(Condition::Leaf(Predicate::Country(c.regions().to_vec())));
    }
    if !c.vpc_network_sources().is_empty() {
        fields.push(Condition::any(
            c.vpc_network_sources()
                .iter()
                .filter_map(|s| s.vpc_subnetwork.as_ref())
                .map(|s| {
                    Condition::Leaf(Predicate::VpcNetwork {
                        network: s.network.clone().unwrap_or_default(),
                        ranges: nets(s.vpc_ip_subnetworks.iter().flatten()),
                    })
                })
                .collect(),
        ));
    }
    let all = Condition::All(fields);
    if c.negate.unwrap_or(false) {
        Condition::Not(Box::new(all))
    } else {
        all
    }
}

fn lower_device_policy(p: &DevicePolicy) -> DevicePolicyIr {
    DevicePolicyIr {
        require_screenlock: p.require_screenlock.unwrap_or(false),
        allowed_encryption_statuses: p
            .allowed_encryption_statuses
            .iter()
            .flatten()
            .map(wire_name)
            .collect(),
        os_constraints: p
            .os_constraints
            .iter()
            .flatten()
            .map(|os| OsConstraintIr {
                os_type: os.os_type.as_ref().map(wire_name).unwrap_or_default(),
                minimum_version: os.minimum_version.clone(),
                require_verified_chrome_os: os.require_verified_chrome_os.unwrap_or(false),
            })
            .collect(),
        allowed_device_management_levels: p
            .allowed_device_management_levels
            .iter()
            .flatten()
            .map(wire_name)
            .collect(),
        require_admin_approval: p.require_admin_approval.unwrap_or(false),
        require_corp_owned: p.require_corp_owned.unwrap_or(false),
    }
}
