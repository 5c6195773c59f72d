//! Lowering validated PingOne trees into the IR.

use portcullis_core::attribute::AttributePath;
use portcullis_core::decision::AuthorizeDecision;
use portcullis_core::ir::{
    AuthorizeChildIr, AuthorizePolicyIr, AuthorizeRuleIr, CombiningAlgorithm, RepetitionIr,
    RuleEffect, StatementAppliesIf as IrAppliesIf, StatementAppliesTo as IrAppliesTo, StatementIr,
};

use super::policy::{
    Algorithm, EffectType, NodeType, PolicyNode, Statement, StatementAppliesIf, StatementAppliesTo,
};

impl From<Algorithm> for CombiningAlgorithm {
    fn from(a: Algorithm) -> CombiningAlgorithm {
        match a {
            Algorithm::DenyOverrides => CombiningAlgorithm::DenyOverrides,
            Algorithm::PermitOverrides => CombiningAlgorithm::PermitOverrides,
            Algorithm::DenyUnlessPermit => CombiningAlgorithm::DenyUnlessPermit,
            Algorithm::PermitUnlessDeny => CombiningAlgorithm::PermitUnlessDeny,
            Algorithm::FirstApplicable => CombiningAlgorithm::FirstApplicable,
            Algorithm::OnlyOneApplicable => CombiningAlgorithm::OnlyOneApplicable,
        }
    }
}

impl PolicyNode {
    /// Lowers a validated top-level policy. `id` is the stored id (the server's,
    /// or the corpus setup's); embedded children without an id are named by their
    /// position (`ROOT/children[0]`) so explain traces can point at them.
    pub fn lower(&self, id: &str) -> AuthorizePolicyIr {
        self.lower_policy(id, None)
    }

    fn lower_policy(&self, id: &str, repetition_source: Option<&str>) -> AuthorizePolicyIr {
        let repetition = self.repetition_settings.as_ref().and_then(|r| {
            let source = r.source.as_ref()?.id.as_deref()?;
            Some((
                source,
                RepetitionIr {
                    source: AttributePath::parse(source).ok()?,
                    decision: r.decision.unwrap_or(AuthorizeDecision::Permit),
                },
            ))
        });
        // The policy's own condition runs before repetition, so it still sees the
        // enclosing item; its children see the new one.
        let inner_source = repetition.as_ref().map(|(s, _)| *s).or(repetition_source);
        let children = self
            .children
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, child)| {
                let child_id = child
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("{id}/children[{i}]"));
                if let Some(target) = child.reference_id() {
                    AuthorizeChildIr::Reference(target.to_string())
                } else if child.kind == Some(NodeType::Rule) {
                    AuthorizeChildIr::Rule(child.lower_rule(&child_id, inner_source))
                } else {
                    AuthorizeChildIr::Policy(child.lower_policy(&child_id, inner_source))
                }
            })
            .collect();
        AuthorizePolicyIr {
            id: id.to_string(),
            name: self.name.clone().unwrap_or_default(),
            enabled: self.enabled(),
            condition: self.condition.as_ref().map(|c| c.lower(repetition_source)),
            algorithm: self
                .combining_algorithm
                .as_ref()
                .and_then(|c| c.algorithm)
                .map_or(CombiningAlgorithm::DenyOverrides, Into::into),
            children,
            statements: lower_statements(&self.statements),
            repetition: repetition.map(|(_, r)| r),
        }
    }

    fn lower_rule(&self, id: &str, repetition_source: Option<&str>) -> AuthorizeRuleIr {
        let effect = self.effect_settings.as_ref();
        let effect_condition = || {
            effect
                .and_then(|e| e.condition.as_ref())
                .map(|c| c.lower(repetition_source))
                .unwrap_or(portcullis_core::ir::Condition::Const(false))
        };
        AuthorizeRuleIr {
            id: id.to_string(),
            name: self.name.clone().unwrap_or_default(),
            enabled: self.enabled(),
            condition: self.condition.as_ref().map(|c| c.lower(repetition_source)),
            effect: match effect.and_then(|e| e.kind) {
                Some(EffectType::UnconditionalPermit) => RuleEffect::Permit,
                Some(EffectType::ConditionalPermitElseDeny) => {
                    RuleEffect::PermitElseDeny(effect_condition())
                }
                Some(EffectType::ConditionalDenyElsePermit) => {
                    RuleEffect::DenyElsePermit(effect_condition())
                }
                Some(EffectType::UnconditionalDeny) | None => RuleEffect::Deny,
            },
            statements: lower_statements(&self.statements),
        }
    }
}

fn lower_statements(statements: &Option<Vec<Statement>>) -> Vec<StatementIr> {
    statements
        .iter()
        .flatten()
        .map(|s| StatementIr {
            name: s.name.clone().unwrap_or_default(),
            code: s.code.clone().unwrap_or_default(),
            applies_to: match s.applies_to {
                Some(StatementAppliesTo::Permit) => IrAppliesTo::Permit,
                Some(StatementAppliesTo::Deny) => IrAppliesTo::Deny,
                Some(StatementAppliesTo::PermitOrDeny) | None => IrAppliesTo::PermitOrDeny,
            },
            applies_if: match s.applies_if {
                Some(StatementAppliesIf::PathMatches) => IrAppliesIf::PathMatches,
                Some(StatementAppliesIf::FinalDecisionMatches) | None => {
                    IrAppliesIf::FinalDecisionMatches
                }
            },
            payload: s.payload.clone(),
            obligatory: s.obligatory.unwrap_or(false),
        })
        .collect()
}
