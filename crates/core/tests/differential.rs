//! Differential test: the compiled evaluator against a small reference evaluator
//! written straight from DESIGN.md (see `differential/reference.rs`), on random
//! Cloudflare-style accounts and requests. Both decision paths are covered: by
//! request (`CompiledAccount::evaluate`) and forward-auth's server-wide host
//! lookup (`Snapshot::find_host` + `evaluate_for_app`).
//!
//! `PROPTEST_CASES` sets the number of accounts (default 10,000); each account is
//! asked several requests. `PROPTEST_CASES=1000000 cargo test --release -p
//! portcullis-core --test differential` runs millions of decisions.

// A test crate root resolves modules beside itself; keep them in their own dir.
mod common;
#[path = "differential/gen.rs"]
mod gen;
#[path = "differential/reference.rs"]
mod reference;

use std::sync::Arc;

use portcullis_core::eval::EvalOptions;
use portcullis_core::{CompiledAccount, Snapshot};
use proptest::collection::vec;
use proptest::prelude::*;

proptest! {
    #![proptest_config(common::config(common::cases()))]

    #[test]
    fn compiled_evaluator_agrees_with_the_reference(
        raw in gen::raw_account(),
        requests in vec(gen::raw_request(), 1..8),
    ) {
        let ir = gen::build_account(&raw);
        let compiled = CompiledAccount::compile(&ir)
            .map_err(|e| TestCaseError::fail(format!("valid account refused: {e}")))?;
        let (snapshot, conflicts) = Snapshot::new(vec![Arc::new(compiled)], 1);
        prop_assert!(conflicts.is_empty());
        let compiled = snapshot.account("acc").unwrap();
        for raw_request in &requests {
            let req = gen::build_request(raw_request, ir.apps.len());
            let want = reference::decide(&ir, &req);
            let got = compiled.evaluate(&req, EvalOptions::default()).to_result();
            prop_assert_eq!(
                (got.decision, &got.policy_id, &got.app_id, &got.obligations),
                (want.decision, &want.policy_id, &want.app_id, &want.obligations),
                "request {:?}", req
            );
            // Forward-auth finds the application server-wide by host, then decides
            // for it: the same answer.
            let resource = req.resource.as_ref();
            if let Some(host) = resource.filter(|r| r.app_id.is_none()).and_then(|r| r.host.as_deref()) {
                let path = resource.and_then(|r| r.path.as_deref()).unwrap_or("");
                let found = snapshot.find_host(host, path);
                prop_assert_eq!(found.map(|(_, app, _)| app.id()), want.app_id.as_deref());
                if let Some((account, _, idx)) = found {
                    let got = account
                        .evaluate_for_app(&req, Some(idx), EvalOptions::default())
                        .to_result();
                    prop_assert_eq!(
                        (got.decision, &got.policy_id, &got.obligations),
                        (want.decision, &want.policy_id, &want.obligations)
                    );
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
            &(gen::raw_account(), gen::raw_request()),
            |(raw, raw_request)| {
                let ir = gen::build_account(&raw);
                let compiled = CompiledAccount::compile(&ir).unwrap();
                let req = gen::build_request(&raw_request, ir.apps.len());
                common::explain_changes_nothing(&compiled, &req)
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
