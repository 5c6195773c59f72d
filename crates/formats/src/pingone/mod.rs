//! PingOne Authorize policy trees: wire types as the PingOne authorization
//! policies API writes them, their validation, and their lowering into the IR.
//!
//! Policies and rules share one wire shape (`type` tells them apart) and a child
//! is either embedded or a reference `{"type": "POLICY", "value": {"id": …}}`, so
//! one struct with optional fields models a node; validation says which fields a
//! node of each type needs and refuses the ones it may not have.

mod condition;
mod endpoint;
mod lower;
mod policy;
mod set;
#[cfg(test)]
mod tests;

pub use condition::{
    AuthorizeCondition, ConditionReference, ConditionType, OperandType, WireComparator, WireOperand,
};
pub use endpoint::DecisionEndpoint;
pub use policy::{
    parse_policy, Algorithm, CombiningAlgorithmSetting, EffectSettings, EffectType, NodeType,
    PolicyNode, PolicyReference, RepetitionSettings, RepetitionSource, Statement,
    StatementAppliesIf, StatementAppliesTo,
};
pub use set::validate_policy_set;
