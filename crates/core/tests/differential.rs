//! Differential test: the compiled evaluator against a small reference evaluator
//! written straight from DESIGN.md (see `differential/reference.rs`), on random
//! Cloudflare-style accounts and requests.
//!
//! `PROPTEST_CASES` sets the number of accounts (default 10,000); each account is
//! asked several requests. `PROPTEST_CASES=1000000 cargo test --release -p
//! portcullis-core --test differential` runs millions of decisions.

// A test crate root resolves modules beside itself; keep them in their own dir.
#[path = "differential/gen.rs"]
mod gen;
#[path = "differential/reference.rs"]
mod reference;

use portcullis_core::eval::EvalOptions;
use portcullis_core::CompiledAccount;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::Config;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

proptest! {
    #![proptest_config(Config {
        cases: cases(),
        // Failures are shrunk and printed; a regressions file would land in the
        // source tree of whoever runs the test.
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn compiled_evaluator_agrees_with_the_reference(
        raw in gen::raw_account(),
        requests in vec(gen::raw_request(), 1..8),
    ) {
        let ir = gen::build_account(&raw);
        let compiled = CompiledAccount::compile(&ir)
            .map_err(|e| TestCaseError::fail(format!("valid account refused: {e}")))?;
        for raw_request in &requests {
            let req = gen::build_request(raw_request, ir.apps.len());
            let want = reference::decide(&ir, &req);
            let got = compiled.evaluate(&req, EvalOptions::default()).to_result();
            prop_assert_eq!(
                (got.decision, &got.policy_id, &got.app_id, &got.obligations),
                (want.decision, &want.policy_id, &want.app_id, &want.obligations),
                "request {:?}", req
            );
        }
    }
}

/// The explain trace must not change the decision.
#[test]
fn explain_does_not_change_the_decision() {
    let mut runner = proptest::test_runner::TestRunner::new(Config {
        cases: (cases() / 10).max(100),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(gen::raw_account(), gen::raw_request()),
            |(raw, raw_request)| {
                let ir = gen::build_account(&raw);
                let compiled = CompiledAccount::compile(&ir).unwrap();
                let req = gen::build_request(&raw_request, ir.apps.len());
                let plain = compiled.evaluate(&req, EvalOptions::default()).to_result();
                let mut explained = compiled
                    .evaluate(&req, EvalOptions { explain: true })
                    .to_result();
                prop_assert!(explained.explain.is_some());
                explained.explain = None;
                prop_assert_eq!(plain, explained);
                Ok(())
            },
        )
        .unwrap();
}

/// Guards the generator: if it stopped producing some outcome (say, no policy
/// ever matched), the differential test above would pass without testing much.
#[test]
fn generator_reaches_every_outcome() {
    use portcullis_core::Decision;
    use proptest::strategy::ValueTree;
    use std::collections::BTreeMap;

    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (gen::raw_account(), gen::raw_request());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..3_000 {
        let (raw, raw_request) = strategy.new_tree(&mut runner).unwrap().current();
        let ir = gen::build_account(&raw);
        let req = gen::build_request(&raw_request, ir.apps.len());
        let want = reference::decide(&ir, &req);
        let key = match (want.decision, &want.policy_id, &want.app_id) {
            (Decision::Deny, None, None) => "deny: no application".to_string(),
            (Decision::Deny, None, Some(_)) => "deny: nothing matched".to_string(),
            (d, _, _) => d.as_str().to_string(),
        };
        *seen.entry(key).or_default() += 1;
    }
    eprintln!("outcomes of 3,000 random requests: {seen:?}");
    for outcome in [
        "allow",
        "deny",
        "bypass",
        "non_identity",
        "login_required",
        "mfa_required",
        "deny: no application",
        "deny: nothing matched",
    ] {
        assert!(
            seen.get(outcome).copied().unwrap_or(0) >= 20,
            "{outcome} too rare: {seen:?}"
        );
    }
}
