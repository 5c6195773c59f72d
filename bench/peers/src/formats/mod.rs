//! Workloads for the three other formats: ACM basic and custom access levels, a
//! PingOne Authorize tree and a ZTNA policy set.
//!
//! Each workload is written as wire objects (`portcullis_formats::{acm, pingone,
//! ztna}`, deserialised from JSON), put in a corpus `Setup` and lowered and
//! compiled exactly as `portcullis test` does (`Setup::lower`, which calls
//! `lower_other_formats`, then `CompiledAccount::compile`). Before anything is
//! timed, the engine's answer to every request is compared with an expectation
//! computed by a small plain-Rust oracle straight from the generator's own
//! description of the objects and of the request, so the timing cannot measure
//! a wrong engine. A decision is `CompiledAccount::evaluate`, the call the
//! corpus runner and the decision API make.
//!
//! These have no peer engine; each row carries the target from the issue.

mod acm;
mod pingone;
mod ztna;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use portcullis_core::decision::{AuthorizeDecision, Decision, DecisionResult, Obligations};
use portcullis_core::eval::EvalOptions;
use portcullis_core::{CompiledAccount, RequestContext};
use portcullis_formats::corpus::Setup;

use crate::{measure, Measured};

/// Seed of the other-format workloads (the Cloudflare one has its own).
const SEED: u64 = 0x0F0E_2026;

pub use crate::workload::Rng;

/// What these workloads draw besides what the Cloudflare generator needs.
pub trait RngExt {
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize;
    /// `k` distinct items (fewer if there are not that many), in random order.
    fn sample<T: Clone>(&mut self, items: &[T], k: usize) -> Vec<T>;
}

impl RngExt for Rng {
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn sample<T: Clone>(&mut self, items: &[T], k: usize) -> Vec<T> {
        let mut idx: Vec<usize> = (0..items.len()).collect();
        let k = k.min(idx.len());
        for i in 0..k {
            let j = i + self.below(idx.len() - i);
            idx.swap(i, j);
        }
        idx[..k].iter().map(|&i| items[i].clone()).collect()
    }
}

/// What the oracle expects of one decision. `None` fields are not compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub decision: Decision,
    pub policy_id: Option<String>,
    pub obligations: Option<Obligations>,
    /// The exact set of granted levels (sorted).
    pub access_levels: Vec<String>,
    pub authorize: Option<AuthorizeDecision>,
    /// Statement codes, sorted.
    pub statements: Vec<String>,
}

impl Expected {
    pub fn new(decision: Decision) -> Expected {
        Expected {
            decision,
            policy_id: None,
            obligations: None,
            access_levels: Vec::new(),
            authorize: None,
            statements: Vec::new(),
        }
    }

    /// The differences between the engine's result and this expectation.
    fn diff(&self, got: &DecisionResult) -> Vec<String> {
        let mut out = Vec::new();
        if got.decision != self.decision {
            out.push(format!(
                "decision {} (expected {})",
                got.decision, self.decision
            ));
        }
        if got.policy_id != self.policy_id {
            out.push(format!(
                "policy_id {:?} (expected {:?})",
                got.policy_id, self.policy_id
            ));
        }
        if let Some(want) = &self.obligations {
            if &got.obligations != want {
                out.push(format!(
                    "obligations {:?} (expected {want:?})",
                    got.obligations
                ));
            }
        }
        let mut levels = got.access_levels.clone();
        levels.sort();
        if levels != self.access_levels {
            out.push(format!(
                "access_levels {levels:?} (expected {:?})",
                self.access_levels
            ));
        }
        if got.authorize_decision != self.authorize {
            out.push(format!(
                "authorize_decision {:?} (expected {:?})",
                got.authorize_decision, self.authorize
            ));
        }
        let mut statements: Vec<String> = got.statements.iter().map(|s| s.code.clone()).collect();
        statements.sort();
        if statements != self.statements {
            out.push(format!(
                "statements {statements:?} (expected {:?})",
                self.statements
            ));
        }
        out
    }

    /// A short label for the outcome tally.
    fn label(&self) -> String {
        match self.authorize {
            Some(a) => a.as_str().to_string(),
            None => self.decision.as_str().to_string(),
        }
    }
}

/// One generated workload, ready to compile and time.
pub struct Workload {
    pub name: &'static str,
    /// What the account holds, for the report.
    pub objects: String,
    pub setup: Setup,
    pub requests: Vec<RequestContext>,
    pub expected: Vec<Expected>,
    /// Per-decision target (ns) from the issue, if it gives one.
    pub target_ns: Option<u64>,
    /// Extra lines about the workload's mix (printed before timing).
    pub notes: Vec<String>,
}

type Builder = fn(u64) -> Result<Workload, String>;

struct Row {
    name: &'static str,
    objects: String,
    target_ns: Option<u64>,
    measured: Option<Measured>,
}

/// Builds, checks and times every workload; prints one table row per workload.
/// Returns false when any workload failed to build or disagreed with its oracle
/// (that workload is then not timed).
pub fn run(budget: Duration) -> bool {
    println!();
    println!(
        "other formats (seed {SEED:#x}; every request checked against a plain-Rust oracle before timing); load average {}",
        crate::load_average()
    );
    let builders: [(&str, Builder); 4] = [
        ("ACM basic", acm::basic),
        ("ACM custom", acm::custom),
        ("PingOne", pingone::tree),
        ("ZTNA", ztna::policy_set),
    ];
    let mut rows = Vec::new();
    let mut ok = true;
    for (i, (label, build)) in builders.iter().enumerate() {
        match build(SEED.wrapping_add(i as u64)).and_then(|w| check_and_time(w, budget)) {
            Ok(row) => rows.push(row),
            Err(e) => {
                ok = false;
                println!("{label}: FAILED, not timed: {e}");
            }
        }
    }
    println!();
    println!(
        "| workload | account | p50 ns | p99 ns | mean ns | decisions/s | target | met (p50) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---|");
    for row in &rows {
        let Some(m) = &row.measured else { continue };
        let (target, met) = match row.target_ns {
            Some(t) => (
                format!("≤ {t}"),
                if m.p50 <= t { "yes" } else { "NO" }.to_string(),
            ),
            None => ("none".to_string(), "-".to_string()),
        };
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.0} | {} | {} |",
            row.name, row.objects, m.p50, m.p99, m.mean, m.per_second, target, met
        );
    }
    println!();
    ok
}

fn check_and_time(w: Workload, budget: Duration) -> Result<Row, String> {
    let started = std::time::Instant::now();
    let ir = w
        .setup
        .lower()
        .map_err(|e| format!("the wire objects do not validate: {e}"))?;
    let account = CompiledAccount::compile(&ir).map_err(|e| format!("does not compile: {e}"))?;
    let build_ms = started.elapsed().as_secs_f64() * 1e3;

    let options = EvalOptions::default();
    let mut mismatches = Vec::new();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (req, want)) in w.requests.iter().zip(&w.expected).enumerate() {
        *tally.entry(want.label()).or_default() += 1;
        let got = account.evaluate(req, options).to_result();
        let diff = want.diff(&got);
        if !diff.is_empty() {
            if mismatches.is_empty() {
                // The engine's own account of the first disagreement.
                let explained = account
                    .evaluate(req, EvalOptions { explain: true })
                    .to_result();
                for entry in explained.explain.iter().flatten() {
                    if want.policy_id.as_deref() == Some(entry.policy_id.as_str())
                        || got.policy_id.as_deref() == Some(entry.policy_id.as_str())
                    {
                        println!(
                            "EXPLAIN {}: {} {}",
                            entry.policy_id, entry.matched, entry.because
                        );
                    }
                }
            }
            mismatches.push(format!(
                "request {i}: {}; request {}",
                diff.join("; "),
                serde_json::to_string(req).unwrap_or_default()
            ));
        }
    }
    if !mismatches.is_empty() {
        for m in mismatches.iter().take(20) {
            println!("MISMATCH {}: {m}", w.name);
        }
        return Err(format!(
            "{} of {} requests disagree with the oracle",
            mismatches.len(),
            w.requests.len()
        ));
    }
    let mix: Vec<String> = tally.iter().map(|(d, n)| format!("{d} {n}")).collect();
    println!(
        "{}: {}; lower+compile {build_ms:.1} ms; engine agrees with the oracle on all {} requests ({})",
        w.name,
        w.objects,
        w.requests.len(),
        mix.join(", ")
    );
    for note in &w.notes {
        println!("  {note}");
    }
    let measured = measure("portcullis", w.name, &w.requests, budget, |req| {
        black_box(account.evaluate(req, options));
    });
    Ok(Row {
        name: w.name,
        objects: w.objects,
        target_ns: w.target_ns,
        measured: Some(measured),
    })
}

/// Deserialises a wire object (the formats crate's own `from_value`, which names
/// the offending field).
pub fn wire<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    portcullis_formats::from_value(value).map_err(|e| e.to_string())
}
