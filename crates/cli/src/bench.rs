//! `portcullis bench --corpus FILE [--seconds N]`: how fast this build decides
//! an operator's own policies.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use portcullis_core::eval::EvalOptions;

use crate::corpus_run::{compile, load_corpus, run_case, with_time};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A corpus file: its setup is compiled once, its cases' requests are replayed.
    #[arg(long)]
    pub corpus: PathBuf,
    /// How long to run each of the two measuring passes.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
}

pub fn run(args: &BenchArgs) -> Result<ExitCode, String> {
    let corpus = load_corpus(&args.corpus)?;
    let started = Instant::now();
    let account = compile(&corpus.setup)?;
    let compile_time = started.elapsed();
    let mut failures = 0;
    for case in &corpus.cases {
        if let Err(problems) = run_case(&account, case) {
            failures += 1;
            println!("FAIL {}: {}", case.name, problems.join("; "));
        }
    }
    if failures > 0 {
        println!("bench: {failures} case(s) do not decide as expected; not measuring");
        return Ok(ExitCode::FAILURE);
    }
    if corpus.cases.is_empty() {
        return Err("the corpus has no cases to replay".into());
    }
    let requests: Vec<_> = corpus.cases.iter().map(|c| with_time(&c.request)).collect();
    let budget = Duration::from_secs(args.seconds.max(1));
    let options = EvalOptions::default();

    // Pass 1: throughput, with no clock reads inside the loop.
    let mut decisions: u64 = 0;
    let started = Instant::now();
    while started.elapsed() < budget {
        for request in &requests {
            black_box(account.evaluate(black_box(request), options).decision);
        }
        decisions += requests.len() as u64;
    }
    let per_second = decisions as f64 / started.elapsed().as_secs_f64();

    // Pass 2: latency of each decision (includes ~20 ns of clock overhead).
    let mut samples: Vec<u64> = Vec::with_capacity(1 << 20);
    let started = Instant::now();
    while started.elapsed() < budget && samples.len() < 50_000_000 {
        for request in &requests {
            let t = Instant::now();
            black_box(account.evaluate(black_box(request), options).decision);
            samples.push(t.elapsed().as_nanos() as u64);
        }
    }
    samples.sort_unstable();
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize];
    println!(
        "compiled {} policies in {:.1} ms; {} distinct requests",
        account.policy_count(),
        compile_time.as_secs_f64() * 1e3,
        requests.len()
    );
    println!(
        "bench: {decisions} decisions, p50 {} ns, p99 {} ns, {:.0} decisions/s",
        pct(0.50),
        pct(0.99),
        per_second
    );
    Ok(ExitCode::SUCCESS)
}
