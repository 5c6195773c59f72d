//! Cloudflare Access: per application, Bypass and Service Auth (non_identity)
//! policies run first, then Allow and Block, each in precedence order; the first
//! match wins and nothing matching is a deny. Without an identity, a request that
//! no first-phase policy let through is sent to log in, never allowed.
//!
//! An allow policy with an active `mfa_config` asks for Access-native MFA: when
//! the identity has not completed MFA (`mfa` in `identity.amr`) the decision is
//! `mfa_required`, naming the policy and carrying the `mfa` obligation (which
//! authenticators the user may use), instead of `allow`.

use super::explain;
use super::request::{Eval, RulesOutcome};
use super::{ObligationsRef, SourceVerdict};
use crate::compile::{CompiledApp, CompiledPolicy};
use crate::decision::{Decision, ExplainEntry, Obligations};
use crate::ir::PolicyAction;

pub(crate) fn decide<'a>(
    ev: &Eval<'a, '_>,
    app: &'a CompiledApp,
    trace: &mut Option<Vec<ExplainEntry>>,
) -> SourceVerdict<'a> {
    // Load the first rule of every policy before walking them: their cache
    // misses then overlap instead of coming one after another as the
    // first-match loop reaches each policy. (Also loading what each rule points
    // to cost more than it saved.)
    for &idx in &app.policies {
        if let Some(c) = ev.acct.policies[idx as usize].rules.all().first() {
            std::hint::black_box(std::mem::discriminant(c));
        }
    }
    let (first, second) = app.policies.split_at(app.first_phase);
    if let Some(v) = first_match(ev, app, first, trace) {
        return v;
    }
    if ev.req.identity.is_none() {
        if let Some(t) = trace {
            t.push(ExplainEntry {
                policy_id: String::new(),
                matched: false,
                because: "no identity and no bypass or non_identity policy matched: login required"
                    .into(),
            });
        }
        return SourceVerdict::bare(Decision::LoginRequired);
    }
    if let Some(v) = first_match(ev, app, second, trace) {
        return v;
    }
    if let Some(t) = trace {
        t.push(ExplainEntry {
            policy_id: String::new(),
            matched: false,
            because: format!("no policy of app {:?} matched: deny", &*app.id),
        });
    }
    SourceVerdict::bare(Decision::Deny)
}

fn first_match<'a>(
    ev: &Eval<'a, '_>,
    app: &'a CompiledApp,
    policies: &[u32],
    trace: &mut Option<Vec<ExplainEntry>>,
) -> Option<SourceVerdict<'a>> {
    for &idx in policies {
        let policy = &ev.acct.policies[idx as usize];
        let outcome = ev.rules(&policy.rules);
        if let Some(t) = trace {
            t.push(ExplainEntry {
                policy_id: policy.id.to_string(),
                matched: outcome.matched(),
                because: explain::rules_outcome(ev, outcome, &policy.rules),
            });
        }
        if let RulesOutcome::Matched(_) = outcome {
            let decision = match policy.action {
                PolicyAction::Allow if policy.obligations.mfa.is_some() && !mfa_done(ev) => {
                    Decision::MfaRequired
                }
                PolicyAction::Allow => Decision::Allow,
                PolicyAction::Deny => Decision::Deny,
                PolicyAction::Bypass => Decision::Bypass,
                PolicyAction::NonIdentity => Decision::NonIdentity,
            };
            return Some(SourceVerdict {
                decision,
                policy_id: Some(&policy.id),
                obligations: ObligationsRef::Snapshot(obligations(app, idx, policy)),
            });
        }
    }
    None
}

/// A matching policy's obligations: its own, or the copy carrying the
/// application's session duration.
fn obligations<'a>(app: &'a CompiledApp, idx: u32, policy: &'a CompiledPolicy) -> &'a Obligations {
    app.own_obligations
        .iter()
        .find(|(p, _)| *p == idx)
        .map_or(&*policy.obligations, |(_, own)| &**own)
}

/// Whether the identity has completed multi-factor authentication (RFC 8176 `mfa`).
fn mfa_done(ev: &Eval<'_, '_>) -> bool {
    ev.req
        .identity
        .as_ref()
        .is_some_and(|i| i.amr.iter().any(|a| a == "mfa"))
}

#[cfg(test)]
mod tests {
    use crate::compile::CompiledAccount;
    use crate::context::{Identity, RequestContext, Resource};
    use crate::decision::{Decision, MfaObligation, Obligations};
    use crate::eval::EvalOptions;
    use crate::ir::{
        AccessPolicyIr, AccountIr, AppIr, AppPolicyRef, Condition, PolicyAction, Predicate,
    };

    fn account_with_mfa_policy() -> CompiledAccount {
        let ir = AccountIr {
            account_id: "acc".into(),
            policies: vec![AccessPolicyIr {
                id: "p-mfa".into(),
                action: PolicyAction::Allow,
                include: vec![Condition::Leaf(Predicate::Everyone)],
                require: Vec::new(),
                exclude: Vec::new(),
                obligations: Obligations {
                    session_duration: Some("8h".into()),
                    mfa: Some(MfaObligation {
                        allowed_authenticators: vec!["totp".into()],
                        session_duration: None,
                    }),
                    ..Obligations::default()
                },
            }],
            apps: vec![AppIr {
                id: "app".into(),
                aud: None,
                destinations: Vec::new(),
                policies: vec![AppPolicyRef {
                    policy_id: "p-mfa".into(),
                    precedence: 1,
                }],
                session_duration: None,
            }],
            ..AccountIr::default()
        };
        CompiledAccount::compile(&ir).unwrap()
    }

    fn request(amr: &[&str]) -> RequestContext {
        RequestContext {
            resource: Some(Resource {
                app_id: Some("app".into()),
                ..Resource::default()
            }),
            identity: Some(Identity {
                email: Some("a@example.com".into()),
                amr: amr.iter().map(|a| a.to_string()).collect(),
                ..Identity::default()
            }),
            ..RequestContext::default()
        }
    }

    #[test]
    fn mfa_config_without_mfa_is_mfa_required_with_only_the_mfa_obligation() {
        let account = account_with_mfa_policy();
        let result = account
            .evaluate(&request(&["pwd"]), EvalOptions::default())
            .to_result();
        assert_eq!(result.decision, Decision::MfaRequired);
        assert_eq!(result.policy_id.as_deref(), Some("p-mfa"));
        assert_eq!(
            result.obligations.mfa.map(|m| m.allowed_authenticators),
            Some(vec!["totp".to_string()])
        );
        assert_eq!(result.obligations.session_duration, None);
    }

    #[test]
    fn mfa_config_with_mfa_done_is_allow_with_every_obligation() {
        let account = account_with_mfa_policy();
        let result = account
            .evaluate(&request(&["pwd", "mfa"]), EvalOptions::default())
            .to_result();
        assert_eq!(result.decision, Decision::Allow);
        assert!(result.obligations.mfa.is_some());
        assert_eq!(result.obligations.session_duration.as_deref(), Some("8h"));
    }
}
