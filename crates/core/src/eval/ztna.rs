//! ZTNA access policies: the most restrictive applicable policy wins — deny, then
//! an unsatisfied require_mfa, then isolate, then allow. The ZTNA source governs a
//! request when any enabled policy lists its resource; if none of those applies
//! to the subject and conditions, the request is denied. Policies are looked up
//! by the request's app id and host (`compile::ZtnaIndex`), in policy order.

use super::explain::describe;
use super::request::Eval;
use super::{ObligationsRef, SourceVerdict};
use crate::compile::CompiledZtna;
use crate::decision::{Decision, ExplainEntry, Obligations};
use crate::ir::ZtnaEffect;

pub(crate) fn decide<'a>(
    ev: &Eval<'a, '_>,
    trace: &mut Option<Vec<ExplainEntry>>,
) -> Option<SourceVerdict<'a>> {
    let policies = &ev.acct.ztna;
    if policies.is_empty() {
        return None;
    }
    let has_mfa = ev
        .req
        .identity
        .as_ref()
        .is_some_and(|i| i.amr.iter().any(|a| a == "mfa"));
    let mut governed = false;
    let mut deny: Option<&'a CompiledZtna> = None;
    let mut step_up: Option<&'a CompiledZtna> = None;
    let mut isolate: Option<&'a CompiledZtna> = None;
    let mut allow: Option<&'a CompiledZtna> = None;
    let mut obligations: Option<Obligations> = None;
    // Only the policies whose resources can name this request are checked.
    let resource = ev.req.resource.as_ref();
    let host = resource
        .and_then(|r| r.host.as_deref())
        .map(crate::apps::normalize_host);
    let candidates = ev
        .acct
        .ztna_index
        .candidates(resource.and_then(|r| r.app_id.as_deref()), host.as_deref());
    for policy in candidates.map(|i| &policies[i as usize]) {
        if !ev.cond(&policy.resource).is_true() {
            continue;
        }
        governed = true;
        let failed = if !ev.cond(&policy.subject).is_true() {
            Some(format!(
                "subjects: {}",
                describe(ev, &policy.subject, false)
            ))
        } else {
            policy
                .conditions
                .iter()
                .position(|c| !ev.cond(c).is_true())
                .map(|i| {
                    format!(
                        "conditions[{i}] {}",
                        describe(ev, &policy.conditions[i], false)
                    )
                })
        };
        if let Some(t) = trace {
            t.push(ExplainEntry {
                policy_id: policy.id.to_string(),
                matched: failed.is_none(),
                because: failed
                    .clone()
                    .unwrap_or_else(|| "subject, resource and every condition match".into()),
            });
        }
        if failed.is_some() {
            continue;
        }
        let permits = match policy.effect {
            ZtnaEffect::Deny => {
                deny.get_or_insert(policy);
                false
            }
            ZtnaEffect::RequireMfa if !has_mfa => {
                step_up.get_or_insert(policy);
                false
            }
            ZtnaEffect::RequireMfa | ZtnaEffect::Allow => {
                allow.get_or_insert(policy);
                true
            }
            ZtnaEffect::Isolate => {
                isolate.get_or_insert(policy);
                true
            }
        };
        if permits {
            let merged = obligations.get_or_insert_with(Obligations::default);
            merged.merge(&policy.obligations);
            merged.isolation |= policy.effect == ZtnaEffect::Isolate;
        }
    }
    if !governed {
        return None;
    }
    let (decision, policy) = if let Some(p) = deny {
        (Decision::Deny, Some(p))
    } else if let Some(p) = step_up {
        (Decision::MfaRequired, Some(p))
    } else if let Some(p) = isolate.or(allow) {
        (Decision::Allow, Some(p))
    } else {
        (Decision::Deny, None)
    };
    let obligations = match obligations {
        Some(merged) if decision == Decision::Allow => ObligationsRef::Built(Box::new(merged)),
        _ => ObligationsRef::NONE,
    };
    Some(SourceVerdict {
        decision,
        policy_id: policy.map(|p| &*p.id),
        obligations,
    })
}
