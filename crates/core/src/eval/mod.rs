//! Deciding one request against a compiled account.
//!
//! Up to three policy sources can govern a request: the Cloudflare application it
//! is for, the ZTNA policies whose resources it matches, and the PingOne tree it
//! names. Each source that governs the request decides on its own; then every
//! source must permit (their obligations merge), any deny wins, and a request no
//! source governs is denied. ACM access levels do not decide by themselves: the
//! ones granted are listed in the result.

mod authorize;
mod cloudflare;
mod compare;
mod explain;
mod request;
mod ztna;

use crate::compile::{CompiledAccount, CompiledApp};
use crate::context::RequestContext;
use crate::decision::{
    AuthorizeDecision, Decision, DecisionResult, ExplainEntry, Obligations, StatementResult,
    NO_OBLIGATIONS,
};
use crate::ir::StatementIr;
use request::Eval;

/// What to compute besides the decision.
#[derive(Debug, Clone, Copy, Default)]
pub struct EvalOptions {
    /// Build the explain trace (allocates; off on the hot path).
    pub explain: bool,
}

/// The outcome of a PingOne tree.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizeOutcome<'a> {
    pub decision: AuthorizeDecision,
    pub statements: Vec<&'a StatementIr>,
}

/// A decision that borrows from the snapshot it was made against: nothing is
/// copied out unless [`Verdict::to_result`] is called.
#[derive(Debug, Clone)]
pub struct Verdict<'a> {
    pub decision: Decision,
    pub app: Option<&'a CompiledApp>,
    pub policy_id: Option<&'a str>,
    pub obligations: ObligationsRef<'a>,
    pub access_levels: Vec<&'a str>,
    pub authorize: Option<AuthorizeOutcome<'a>>,
    pub explain: Option<Vec<ExplainEntry>>,
}

/// One source's answer.
pub(crate) struct SourceVerdict<'a> {
    pub decision: Decision,
    pub policy_id: Option<&'a str>,
    pub obligations: ObligationsRef<'a>,
}

/// The obligations of a decision: borrowed from the snapshot in the common case;
/// obligations built for this request are boxed, so that a verdict stays a few
/// words to move around (an inline `Obligations` is over 200 bytes).
#[derive(Debug, Clone)]
pub enum ObligationsRef<'a> {
    Snapshot(&'a Obligations),
    Built(Box<Obligations>),
}

impl std::ops::Deref for ObligationsRef<'_> {
    type Target = Obligations;

    fn deref(&self) -> &Obligations {
        self.get()
    }
}

impl<'a> ObligationsRef<'a> {
    pub(crate) const NONE: ObligationsRef<'static> = ObligationsRef::Snapshot(&NO_OBLIGATIONS);

    fn get(&self) -> &Obligations {
        match self {
            ObligationsRef::Snapshot(o) => o,
            ObligationsRef::Built(o) => o,
        }
    }

    /// Merges another permitting source's obligations into these (copying the
    /// snapshot's first).
    fn merge(&mut self, other: &Obligations) {
        let mut built = match std::mem::replace(self, ObligationsRef::NONE) {
            ObligationsRef::Snapshot(o) => Box::new(o.clone()),
            ObligationsRef::Built(o) => o,
        };
        built.merge(other);
        *self = ObligationsRef::Built(built);
    }
}

impl SourceVerdict<'_> {
    pub(crate) fn bare(decision: Decision) -> Self {
        SourceVerdict {
            decision,
            policy_id: None,
            obligations: ObligationsRef::NONE,
        }
    }
}

impl<'a> Verdict<'a> {
    /// Copies the verdict into the owned result the APIs serialise.
    pub fn to_result(&self) -> DecisionResult {
        let mut result = DecisionResult::new(self.decision);
        result.app_id = self.app.map(|a| a.id().to_string());
        result.policy_id = self.policy_id.map(str::to_string);
        result.obligations = self.obligations.get().clone();
        result.access_levels = self.access_levels.iter().map(|s| s.to_string()).collect();
        if let Some(outcome) = &self.authorize {
            result.authorize_decision = Some(outcome.decision);
            result.statements = outcome
                .statements
                .iter()
                .map(|s| StatementResult {
                    name: s.name.clone(),
                    code: s.code.clone(),
                    payload: s.payload.clone(),
                    obligatory: s.obligatory,
                })
                .collect();
        }
        result.explain.clone_from(&self.explain);
        result
    }
}

/// Folds one source's verdict into the combined one: the more blocking decision
/// wins (the earlier source on a tie); permitting sources merge obligations.
fn combine<'a>(combined: &mut Option<SourceVerdict<'a>>, next: SourceVerdict<'a>) {
    *combined = Some(match combined.take() {
        None => next,
        Some(mut current) => {
            let (cur_rank, next_rank) = (
                current.decision.blocking_rank(),
                next.decision.blocking_rank(),
            );
            if next_rank > cur_rank {
                next
            } else {
                if cur_rank == 0 && next_rank == 0 {
                    current.obligations.merge(next.obligations.get());
                }
                current
            }
        }
    });
}

impl CompiledAccount {
    /// Finds the Cloudflare application a request is for: by `resource.app_id`, or
    /// by host and path.
    pub fn find_app(&self, req: &RequestContext) -> Option<u32> {
        let resource = req.resource.as_ref()?;
        if let Some(id) = &resource.app_id {
            return self.app_by_id.get(id.as_str()).copied();
        }
        let host = resource.host.as_deref()?;
        self.app_index
            .lookup(host, resource.path.as_deref().unwrap_or("/"))
    }

    /// Decides a request.
    pub fn evaluate(&self, req: &RequestContext, options: EvalOptions) -> Verdict<'_> {
        self.evaluate_for_app(req, self.find_app(req), options)
    }

    /// Decides a request for an application already found (forward-auth finds it
    /// server-wide by host).
    pub fn evaluate_for_app(
        &self,
        req: &RequestContext,
        app: Option<u32>,
        options: EvalOptions,
    ) -> Verdict<'_> {
        let ev = Eval::new(self, req);
        let mut explain = options.explain.then(Vec::new);
        let app = app.map(|i| &self.apps[i as usize]);

        let mut combined: Option<SourceVerdict<'_>> = None;
        if let Some(app) = app {
            combine(&mut combined, cloudflare::decide(&ev, app, &mut explain));
        }
        if let Some(verdict) = ztna::decide(&ev, &mut explain) {
            combine(&mut combined, verdict);
        }
        let mut authorize = None;
        if let Some(root) = req
            .resource
            .as_ref()
            .and_then(|r| r.authorization_policy.as_deref())
        {
            let (verdict, outcome) = authorize::decide(&ev, root, &mut explain);
            authorize = Some(outcome);
            combine(&mut combined, verdict);
        }
        let verdict = combined.unwrap_or_else(|| {
            if let Some(trace) = &mut explain {
                trace.push(ExplainEntry {
                    policy_id: String::new(),
                    matched: false,
                    because:
                        "no application, ZTNA policy or authorization policy governs this request"
                            .into(),
                });
            }
            SourceVerdict::bare(Decision::Deny)
        });
        let access_levels = (0..self.levels.len() as u32)
            .filter(|i| ev.level_granted(*i))
            .map(|i| &*self.levels[i as usize].name)
            .collect();
        let obligations = if verdict.decision.permits() {
            verdict.obligations
        } else if verdict.decision == Decision::MfaRequired {
            // The step-up tells the caller which authenticators the user may use.
            ObligationsRef::Built(Box::new(Obligations {
                mfa: verdict.obligations.get().mfa.clone(),
                ..Obligations::default()
            }))
        } else {
            ObligationsRef::NONE
        };
        Verdict {
            decision: verdict.decision,
            app,
            policy_id: verdict.policy_id,
            obligations,
            access_levels,
            authorize,
            explain,
        }
    }

    /// Evaluates a PingOne tree on its own, as a decision endpoint does.
    pub fn evaluate_authorization_policy(
        &self,
        req: &RequestContext,
        root: &str,
    ) -> Option<AuthorizeOutcome<'_>> {
        self.authorize_roots.get(root)?;
        let ev = Eval::new(self, req);
        let (_, outcome) = authorize::decide(&ev, root, &mut None);
        Some(outcome)
    }
}
