//! ZTNA Access Policy: the ZTNA broker JSON schema (draft-07), its validation and
//! its lowering into the IR.
//!
//! The schema is small and closed: every object refuses properties it does not
//! list, so a misspelt `risk_score_mx` is a 400 rather than a condition that is
//! silently never checked.

mod policy;
#[cfg(test)]
mod tests;

pub use policy::{
    is_uuid, parse_policy, ResourceType, SubjectType, ZtnaConditions, ZtnaDecision, ZtnaPolicy,
    ZtnaResource, ZtnaSession, ZtnaSubject,
};
