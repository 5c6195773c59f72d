//! Differential test for the IR the ZTNA, PingOne and ACM formats lower into:
//! the compiled evaluator against a reference evaluator written from DESIGN.md
//! (`differential_other/reference.rs`), on random accounts of ZTNA policies
//! (subjects, resources, conditions, time windows, effects, session limits),
//! PingOne trees (all six combining algorithms, NOT_APPLICABLE and
//! INDETERMINATE, disabled nodes, rule effects, statements, references,
//! repetition, comparisons of every type including mismatches) and ACM access
//! levels (basic AND / OR conditions, negation, required levels, device
//! policies, VPC sources, custom CEL levels), and random requests.
//!
//! `PROPTEST_CASES` sets the number of accounts (default 10,000); each is asked
//! one to seven requests. `PROPTEST_CASES=1000000 cargo test --release -p
//! portcullis-core --test differential_other` runs millions of decisions.

mod common;
#[path = "differential_other/gen.rs"]
mod gen;
#[path = "differential_other/reference.rs"]
mod reference;

use gen::Tape;
use portcullis_core::eval::EvalOptions;
use portcullis_core::CompiledAccount;
use proptest::collection::vec;
use proptest::prelude::*;

/// The fields the reference decides, from the engine's result.
fn observed(got: &portcullis_core::DecisionResult) -> reference::Expected {
    let mut access_levels = got.access_levels.clone();
    access_levels.sort();
    let mut statements: Vec<String> = got.statements.iter().map(|s| s.code.clone()).collect();
    statements.sort();
    reference::Expected {
        decision: got.decision,
        policy_id: got.policy_id.clone(),
        obligations: got.obligations.clone(),
        access_levels,
        authorize_decision: got.authorize_decision,
        statements,
    }
}

proptest! {
    #![proptest_config(common::config(common::cases()))]

    #[test]
    fn compiled_evaluator_agrees_with_the_reference(
        account in vec(any::<u8>(), 0..2000),
        requests in vec(vec(any::<u8>(), 0..400), 1..8),
    ) {
        let ir = gen::account(&mut Tape::new(&account));
        let compiled = CompiledAccount::compile(&ir)
            .map_err(|e| TestCaseError::fail(format!("valid account refused: {e}")))?;
        for raw in &requests {
            let mut tape = Tape::new(raw);
            let mut req = gen::request(&mut tape);
            gen::aim(&mut tape, &ir, &mut req);
            let want = reference::decide(&ir, &req);
            let got = observed(&compiled.evaluate(&req, EvalOptions::default()).to_result());
            prop_assert_eq!(&got, &want, "request {:?}\naccount {:#?}", req, ir);
            // A decision endpoint evaluates the tree on its own: same outcome.
            if let Some(root) = req.resource.as_ref().and_then(|r| r.authorization_policy.as_deref()) {
                let outcome = compiled.evaluate_authorization_policy(&req, root);
                match outcome {
                    None => prop_assert!(ir.authorize_policies.iter().all(|p| p.id != root)),
                    Some(o) => {
                        let mut codes: Vec<String> = o.statements.iter().map(|s| s.code.clone()).collect();
                        codes.sort();
                        prop_assert_eq!(Some(o.decision), want.authorize_decision);
                        prop_assert_eq!(codes, want.statements.clone());
                    }
                }
            }
        }
    }
}

/// The explain trace must not change the decision.
#[test]
fn explain_does_not_change_the_decision() {
    common::explain_runner()
        .run(
            &(vec(any::<u8>(), 0..2000), vec(any::<u8>(), 0..400)),
            |(account, request)| {
                let ir = gen::account(&mut Tape::new(&account));
                let compiled = CompiledAccount::compile(&ir).unwrap();
                let mut tape = Tape::new(&request);
                let mut req = gen::request(&mut tape);
                gen::aim(&mut tape, &ir, &mut req);
                common::explain_changes_nothing(&compiled, &req)
            },
        )
        .unwrap();
}

/// Guards the generator: if it stopped producing some outcome (say, no tree
/// ever came out INDETERMINATE), the differential test would pass without
/// testing much.
#[test]
fn generator_reaches_every_outcome() {
    use portcullis_core::decision::{AuthorizeDecision, Decision};
    use portcullis_core::ir::{CombiningAlgorithm, Condition};
    use proptest::strategy::ValueTree;
    use std::collections::BTreeMap;

    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (vec(any::<u8>(), 0..2000), vec(any::<u8>(), 0..400));
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut note = |key: String| *seen.entry(key).or_default() += 1;
    for _ in 0..4_000 {
        let (account, request) = strategy.new_tree(&mut runner).unwrap().current();
        let ir = gen::account(&mut Tape::new(&account));
        let mut tape = Tape::new(&request);
        let mut req = gen::request(&mut tape);
        gen::aim(&mut tape, &ir, &mut req);
        let want = reference::decide(&ir, &req);
        note(format!("decision {}", want.decision));
        if want.obligations.isolation {
            note("isolation".into());
        }
        if want.obligations.session_duration.is_some() {
            note("session limit".into());
        }
        if let Some(d) = want.authorize_decision {
            note(format!("tree {}", d.as_str()));
            let root = req
                .resource
                .as_ref()
                .and_then(|r| r.authorization_policy.as_deref());
            if let Some(tree) = ir
                .authorize_policies
                .iter()
                .find(|p| Some(p.id.as_str()) == root)
            {
                if matches!(d, AuthorizeDecision::Permit | AuthorizeDecision::Deny) {
                    note(format!("{:?} decides", tree.algorithm));
                }
            }
        }
        if !want.statements.is_empty() {
            note("statements".into());
        }
        for name in &want.access_levels {
            let level = ir.access_levels.iter().find(|l| &l.name == name).unwrap();
            let kind = match &level.condition {
                Condition::Cel(_) => "CEL level granted",
                Condition::Not(_) => "negated level granted",
                Condition::Any(_) => "OR level granted",
                _ => "level granted",
            };
            note(kind.into());
        }
        if ir.ztna_policies.iter().any(|p| {
            p.conditions
                .iter()
                .any(|c| matches!(c, Condition::TimeWindow(_)))
        }) && want.decision == Decision::Allow
        {
            note("allowed under a time window".into());
        }
    }
    eprintln!("outcomes of 4,000 random requests: {seen:#?}");
    let mut wanted: Vec<String> = [
        "decision allow",
        "decision deny",
        "decision mfa_required",
        "isolation",
        "session limit",
        "tree PERMIT",
        "tree DENY",
        "tree NOT_APPLICABLE",
        "tree INDETERMINATE",
        "statements",
        "CEL level granted",
        "negated level granted",
        "OR level granted",
        "level granted",
        "allowed under a time window",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    wanted.extend(
        CombiningAlgorithm::ALL
            .iter()
            .map(|a| format!("{a:?} decides")),
    );
    for outcome in wanted {
        assert!(
            seen.get(&outcome).copied().unwrap_or(0) >= 20,
            "{outcome} too rare: {seen:#?}"
        );
    }
}
