//! Lowering of one account's ZTNA policies, PingOne Authorize policies and ACM
//! access levels, with the checks that span objects (policy references and their
//! cycles, REFERENCE conditions naming levels, required-level cycles). The corpus
//! setup and the decision service's snapshot builder both call it, so one set of
//! objects decides the same in `portcullis test` and in the server.

use std::collections::BTreeSet;

use portcullis_core::ir::AccountIr;

use crate::acm::{validate_level_set, AccessLevel};
use crate::error::ValidationErrors;
use crate::pingone::{validate_policy_set, PolicyNode};
use crate::ztna::ZtnaPolicy;

/// The non-Cloudflare objects of one account, already parsed.
#[derive(Debug, Clone, Copy, Default)]
pub struct OtherFormats<'a> {
    pub ztna_policies: &'a [ZtnaPolicy],
    pub authorize_policies: &'a [PolicyNode],
    pub access_levels: &'a [AccessLevel],
}

/// Validates and lowers `objects` into `ir`. Error paths start with `prefix`
/// followed by the kind and index (`setup.access_levels[2].basic…`).
pub fn lower_other_formats(
    prefix: &str,
    objects: OtherFormats<'_>,
    ir: &mut AccountIr,
) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut check = |path: String, result: Result<(), ValidationErrors>| {
        if let Err(e) = result {
            errors.0.extend(e.prefixed(&path).0);
        }
    };
    for (i, policy) in objects.ztna_policies.iter().enumerate() {
        check(format!("{prefix}ztna_policies[{i}]"), policy.validate());
        ir.ztna_policies.push(policy.lower());
    }
    for (i, policy) in objects.authorize_policies.iter().enumerate() {
        check(
            format!("{prefix}authorize_policies[{i}]"),
            policy.validate(),
        );
        ir.authorize_policies
            .push(policy.lower(policy.id.as_deref().unwrap_or_default()));
    }
    let ids: Vec<(&str, &PolicyNode)> = objects
        .authorize_policies
        .iter()
        .map(|p| (p.id.as_deref().unwrap_or_default(), p))
        .collect();
    check(
        format!("{prefix}authorize_policies"),
        validate_policy_set(&ids),
    );
    let level_names: BTreeSet<&str> = objects
        .access_levels
        .iter()
        .filter_map(|l| l.name.as_deref())
        .collect();
    for (i, policy) in objects.authorize_policies.iter().enumerate() {
        for (path, level) in policy.level_references() {
            if !level_names.contains(level.as_str()) {
                check(
                    format!("{prefix}authorize_policies[{i}]"),
                    Err(ValidationErrors::single(
                        path,
                        format!("access level {level:?} does not exist"),
                    )),
                );
            }
        }
    }
    for (i, level) in objects.access_levels.iter().enumerate() {
        check(format!("{prefix}access_levels[{i}]"), level.validate());
        ir.access_levels.push(level.lower());
    }
    let levels: Vec<&AccessLevel> = objects.access_levels.iter().collect();
    check(
        format!("{prefix}access_levels"),
        validate_level_set(&levels),
    );
    errors.into_result()
}
