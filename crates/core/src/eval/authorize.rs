//! PingOne Authorize trees with XACML meaning.
//!
//! A node whose `condition` is false is NOT_APPLICABLE, one whose condition cannot
//! be evaluated is INDETERMINATE, a disabled node is skipped (NOT_APPLICABLE).
//! Policies combine their children with their combining algorithm. A statement is
//! returned when its node's decision matches `appliesTo` and that decision
//! contributes to the final one; with `FINAL_DECISION_MATCHES` the root decision
//! must match `appliesTo` too. A repeating policy runs once per item of its source
//! attribute, keeps the items whose decision equals its filter, and decides the
//! filter decision if any item was kept (NOT_APPLICABLE otherwise).

use super::request::{Eval, Tri};
use super::{AuthorizeOutcome, ObligationsRef, SourceVerdict};
use crate::attribute::{json_value, AttrValue};
use crate::compile::{AuthorizeNode, CompiledEffect, Cond};
use crate::decision::{AuthorizeDecision as D, Decision, ExplainEntry};
use crate::ir::{CombiningAlgorithm, StatementAppliesIf, StatementIr};

pub(crate) fn decide<'a>(
    ev: &Eval<'a, '_>,
    root: &str,
    trace: &mut Option<Vec<ExplainEntry>>,
) -> (SourceVerdict<'a>, AuthorizeOutcome<'a>) {
    let Some((root_id, &root_idx)) = ev.acct.authorize_roots.get_key_value(root) else {
        if let Some(t) = trace {
            t.push(ExplainEntry {
                policy_id: root.to_string(),
                matched: false,
                because: "no such authorization policy".into(),
            });
        }
        return (
            SourceVerdict {
                decision: Decision::Deny,
                policy_id: None,
                obligations: ObligationsRef::NONE,
            },
            AuthorizeOutcome {
                decision: D::NotApplicable,
                statements: Vec::new(),
            },
        );
    };
    let mut walker = Walker { ev, trace };
    let (decision, candidates) = walker.node(root_idx);
    let statements = candidates
        .into_iter()
        .filter(|s| {
            s.applies_if == StatementAppliesIf::PathMatches || s.applies_to.matches(decision)
        })
        .collect();
    let verdict = SourceVerdict {
        decision: if decision == D::Permit {
            Decision::Allow
        } else {
            Decision::Deny
        },
        policy_id: Some(root_id),
        obligations: ObligationsRef::NONE,
    };
    (
        verdict,
        AuthorizeOutcome {
            decision,
            statements,
        },
    )
}

struct Walker<'e, 'a, 'r, 't> {
    ev: &'e Eval<'a, 'r>,
    trace: &'t mut Option<Vec<ExplainEntry>>,
}

/// A node's decision and the statements it contributes.
type NodeResult<'a> = (D, Vec<&'a StatementIr>);

impl<'a, 'r> Walker<'_, 'a, 'r, '_> {
    fn note(&mut self, id: &str, decision: D, because: impl FnOnce() -> String) {
        if let Some(t) = self.trace {
            t.push(ExplainEntry {
                policy_id: id.to_string(),
                matched: matches!(decision, D::Permit | D::Deny),
                because: format!("{}: {}", decision.as_str(), because()),
            });
        }
    }

    fn applicability(&self, condition: &Option<Cond>) -> Tri {
        condition.as_ref().map_or(Tri::True, |c| self.ev.cond(c))
    }

    fn node(&mut self, idx: u32) -> NodeResult<'a> {
        let node: &'a AuthorizeNode = &self.ev.acct.authorize_nodes[idx as usize];
        match node {
            AuthorizeNode::Rule {
                id,
                enabled,
                condition,
                effect,
                statements,
            } => {
                let decision = if !enabled {
                    self.note(id, D::NotApplicable, || "rule is disabled".into());
                    D::NotApplicable
                } else {
                    let decision = match self.applicability(condition) {
                        Tri::False => D::NotApplicable,
                        Tri::Unknown => D::Indeterminate,
                        Tri::True => match effect {
                            CompiledEffect::Permit => D::Permit,
                            CompiledEffect::Deny => D::Deny,
                            CompiledEffect::PermitElseDeny(c) => match self.ev.cond(c) {
                                Tri::True => D::Permit,
                                Tri::False => D::Deny,
                                Tri::Unknown => D::Indeterminate,
                            },
                            CompiledEffect::DenyElsePermit(c) => match self.ev.cond(c) {
                                Tri::True => D::Deny,
                                Tri::False => D::Permit,
                                Tri::Unknown => D::Indeterminate,
                            },
                        },
                    };
                    self.note(id, decision, || "rule".into());
                    decision
                };
                (decision, own_statements(statements, decision))
            }
            AuthorizeNode::Policy {
                id,
                enabled,
                condition,
                algorithm,
                children,
                statements,
                repetition,
            } => {
                if !enabled {
                    self.note(id, D::NotApplicable, || "policy is disabled".into());
                    return (D::NotApplicable, Vec::new());
                }
                match self.applicability(condition) {
                    Tri::False => {
                        self.note(id, D::NotApplicable, || "condition does not hold".into());
                        return (D::NotApplicable, Vec::new());
                    }
                    Tri::Unknown => {
                        self.note(id, D::Indeterminate, || "condition is indeterminate".into());
                        return (D::Indeterminate, Vec::new());
                    }
                    Tri::True => {}
                }
                let (decision, mut contributed) = match repetition {
                    None => self.combine(*algorithm, children),
                    Some((source, filter)) => {
                        let items = source.lookup(self.ev.req);
                        self.repeat(items, *filter, *algorithm, children)
                    }
                };
                self.note(id, decision, || {
                    format!("{algorithm:?} over {} children", children.len())
                });
                let mut out = own_statements(statements, decision);
                out.append(&mut contributed);
                (decision, out)
            }
        }
    }

    fn repeat(
        &mut self,
        items: AttrValue<'r>,
        filter: D,
        algorithm: CombiningAlgorithm,
        children: &[u32],
    ) -> NodeResult<'a> {
        let mut kept = false;
        let mut statements = Vec::new();
        let saved = self.ev.item.get();
        let mut run = |walker: &mut Self, item: AttrValue<'r>| {
            walker.ev.item.set(Some(item));
            let (decision, mut s) = walker.combine(algorithm, children);
            if decision == filter {
                kept = true;
                statements.append(&mut s);
            }
        };
        match items {
            AttrValue::Missing => {}
            AttrValue::Strs(list) => {
                for item in list {
                    run(self, AttrValue::Str(item));
                }
            }
            AttrValue::Json(serde_json::Value::Array(list)) => {
                for item in list {
                    run(self, json_value(item));
                }
            }
            scalar => run(self, scalar),
        }
        self.ev.item.set(saved);
        if kept {
            (filter, statements)
        } else {
            (D::NotApplicable, Vec::new())
        }
    }

    /// Combines the children's decisions as they come, without keeping a list
    /// of them: the counts decide, and the statements of the children that
    /// permitted and of those that denied are kept apart until the combined
    /// decision says which ones contribute (nothing is allocated unless a child
    /// has statements).
    fn combine(&mut self, algorithm: CombiningAlgorithm, children: &[u32]) -> NodeResult<'a> {
        use CombiningAlgorithm::*;
        let (mut permits, mut denies, mut indeterminates) = (0usize, 0usize, 0usize);
        let mut first_applicable = D::NotApplicable;
        let mut permit_statements: Vec<&'a StatementIr> = Vec::new();
        let mut deny_statements: Vec<&'a StatementIr> = Vec::new();
        let keep = |bucket: &mut Vec<&'a StatementIr>, mut more: Vec<&'a StatementIr>| {
            if bucket.is_empty() {
                *bucket = more;
            } else {
                bucket.append(&mut more);
            }
        };
        for &child in children {
            let (decided, statements) = self.node(child);
            match decided {
                D::Permit => {
                    permits += 1;
                    keep(&mut permit_statements, statements);
                }
                D::Deny => {
                    denies += 1;
                    keep(&mut deny_statements, statements);
                }
                D::Indeterminate => indeterminates += 1,
                D::NotApplicable => continue,
            }
            if first_applicable == D::NotApplicable {
                first_applicable = decided;
            }
            // First-applicable stops at the first child that applies.
            if algorithm == FirstApplicable {
                break;
            }
        }
        let decision = match algorithm {
            DenyOverrides => {
                if denies > 0 {
                    D::Deny
                } else if indeterminates > 0 {
                    D::Indeterminate
                } else if permits > 0 {
                    D::Permit
                } else {
                    D::NotApplicable
                }
            }
            PermitOverrides => {
                if permits > 0 {
                    D::Permit
                } else if indeterminates > 0 {
                    D::Indeterminate
                } else if denies > 0 {
                    D::Deny
                } else {
                    D::NotApplicable
                }
            }
            DenyUnlessPermit => {
                if permits > 0 {
                    D::Permit
                } else {
                    D::Deny
                }
            }
            PermitUnlessDeny => {
                if denies > 0 {
                    D::Deny
                } else {
                    D::Permit
                }
            }
            FirstApplicable => first_applicable,
            OnlyOneApplicable => match permits + denies + indeterminates {
                0 => D::NotApplicable,
                1 => first_applicable,
                _ => D::Indeterminate,
            },
        };
        // The children whose decision is the combined one contribute statements.
        let statements = match decision {
            D::Permit => permit_statements,
            D::Deny => deny_statements,
            D::NotApplicable | D::Indeterminate => Vec::new(),
        };
        (decision, statements)
    }
}

fn own_statements(statements: &[StatementIr], decision: D) -> Vec<&StatementIr> {
    statements
        .iter()
        .filter(|s| s.applies_to.matches(decision))
        .collect()
}
