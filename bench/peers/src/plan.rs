//! Each application's policies in the order Cloudflare evaluates them, taken from
//! the wire objects: Bypass and Service Auth (non_identity) first, then Allow and
//! Block, each by ascending precedence. The peer translations encode this order;
//! portcullis computes it itself when it compiles.

use std::collections::HashMap;

use portcullis_formats::cloudflare::{AccessPolicy, AccessRule, AttachedKind, PolicyDecision};
use portcullis_formats::corpus::Setup;

pub struct AppPlan<'a> {
    pub id: &'a str,
    pub first: Vec<&'a AccessPolicy>,
    pub second: Vec<&'a AccessPolicy>,
}

pub fn decision_name(policy: &AccessPolicy) -> &'static str {
    match policy.decision {
        Some(PolicyDecision::Allow) => "allow",
        Some(PolicyDecision::Deny) => "deny",
        Some(PolicyDecision::Bypass) => "bypass",
        Some(PolicyDecision::NonIdentity) => "non_identity",
        None => panic!("workload policies always carry a decision"),
    }
}

pub fn policy_id(policy: &AccessPolicy) -> &str {
    policy.id.as_deref().expect("workload policies have ids")
}

pub fn rules(list: &Option<Vec<AccessRule>>) -> &[AccessRule] {
    list.as_deref().unwrap_or_default()
}

pub fn plans(setup: &Setup) -> Vec<AppPlan<'_>> {
    let by_id: HashMap<&str, &AccessPolicy> =
        setup.policies.iter().map(|p| (policy_id(p), p)).collect();
    setup
        .apps
        .iter()
        .map(|app| {
            let mut attached: Vec<(bool, i64, &AccessPolicy)> = app
                .attached_policies()
                .unwrap_or_default()
                .into_iter()
                .map(|a| {
                    let policy = match a.kind {
                        AttachedKind::Reusable(id) => by_id[id],
                        AttachedKind::Inline(p) => p,
                    };
                    let later = !matches!(decision_name(policy), "bypass" | "non_identity");
                    (later, a.precedence, policy)
                })
                .collect();
            attached.sort_by_key(|(later, precedence, _)| (*later, *precedence));
            let (second, first): (Vec<_>, Vec<_>) =
                attached.into_iter().partition(|(later, _, _)| *later);
            AppPlan {
                id: app.id.as_deref().expect("workload apps have ids"),
                first: first.into_iter().map(|(_, _, p)| p).collect(),
                second: second.into_iter().map(|(_, _, p)| p).collect(),
            }
        })
        .collect()
}
