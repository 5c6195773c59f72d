//! What the two differential tests share: the case-count knob, the proptest
//! configuration, and the check that an explain trace never changes a decision.

use portcullis_core::eval::EvalOptions;
use portcullis_core::{CompiledAccount, RequestContext};
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Accounts per run: `PROPTEST_CASES`, 10,000 by default.
pub fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// The proptest configuration for `cases` cases.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        // Failures are shrunk and printed; a regressions file would land in the
        // source tree of whoever runs the test.
        failure_persistence: None,
        ..Config::default()
    }
}

/// A runner for the explain check: a tenth of the cases (explaining costs more).
pub fn explain_runner() -> proptest::test_runner::TestRunner {
    proptest::test_runner::TestRunner::new(config((cases() / 10).max(100)))
}

/// Decides `req` with and without the explain trace: the trace is there when
/// asked for, and nothing else differs.
pub fn explain_changes_nothing(
    compiled: &CompiledAccount,
    req: &RequestContext,
) -> Result<(), TestCaseError> {
    let plain = compiled.evaluate(req, EvalOptions::default()).to_result();
    let mut explained = compiled
        .evaluate(req, EvalOptions { explain: true })
        .to_result();
    prop_assert!(explained.explain.is_some());
    explained.explain = None;
    prop_assert_eq!(plain, explained);
    Ok(())
}
