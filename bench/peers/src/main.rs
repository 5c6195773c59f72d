//! portcullis against cedar-policy and regorus on one Cloudflare Access workload.
//!
//! `cargo run --release -- [--seconds N]` generates 1,000 applications with 3
//! policies each and 10,000 requests (seeded, so every run is the same), checks
//! that every engine reaches the same decision on every request, then times each
//! decision, measures throughput, and closes with the speedup line. It also
//! compiles 100,000 policies in a child process and reports compile time and
//! resident memory.

mod cedar;
mod facts;
mod formats;
mod plan;
mod rego;
mod scale;
mod workload;

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use portcullis_core::eval::EvalOptions;
use portcullis_core::CompiledAccount;

use facts::{Outcome, TokenTable};
use workload::Shape;

const SEED: u64 = 0x5EED_2026;
const SHAPE: Shape = Shape {
    apps: 1_000,
    policies_per_app: 3,
    requests: 10_000,
};

/// Latency and throughput of one engine.
struct Measured {
    engine: &'static str,
    mode: &'static str,
    p50: u64,
    p99: u64,
    mean: f64,
    per_second: f64,
}

/// How many fresh request copies the throughput loop makes at a time: small
/// enough that the copies are still in the CPU caches when they are decided.
const FRESH_BATCH: usize = 64;

/// Times `decide` over all requests, round after round, for at least `budget`
/// (and at least one round): first with a clock read around every decision for
/// the latency percentiles, then in batches for throughput.
///
/// Every timed decision gets a fresh copy of its request, made just before the
/// clock starts, the way a server decides a request it has just parsed. Deciding
/// the 10,000 stored requests in place instead would time the memory system
/// fetching each cold request more than the engine; the policies themselves are
/// not warmed. Every engine is measured the same way.
fn measure<R: Clone>(
    engine: &'static str,
    mode: &'static str,
    requests: &[R],
    budget: Duration,
    mut decide: impl FnMut(&R),
) -> Measured {
    // One warm-up round so lazily built state is in place.
    requests.iter().for_each(&mut decide);
    let mut samples: Vec<u64> = Vec::with_capacity(requests.len() * 4);
    let started = Instant::now();
    while samples.is_empty() || started.elapsed() < budget {
        for request in requests {
            let fresh = request.clone();
            let t = Instant::now();
            decide(black_box(&fresh));
            samples.push(t.elapsed().as_nanos() as u64);
        }
    }
    samples.sort_unstable();
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    let mean = samples.iter().sum::<u64>() as f64 / samples.len() as f64;
    let mut decisions = 0u64;
    let mut timed = Duration::ZERO;
    let started = Instant::now();
    while decisions == 0 || started.elapsed() < budget {
        for chunk in requests.chunks(FRESH_BATCH) {
            let fresh = chunk.to_vec();
            let t = Instant::now();
            fresh.iter().for_each(|r| decide(black_box(r)));
            timed += t.elapsed();
            decisions += fresh.len() as u64;
        }
    }
    Measured {
        engine,
        mode,
        p50: pct(0.50),
        p99: pct(0.99),
        mean,
        per_second: decisions as f64 / timed.as_secs_f64(),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--scale-only") {
        return scale::run();
    }
    let seconds: f64 = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.parse().expect("--seconds takes a number"))
        .unwrap_or(3.0);
    let budget = Duration::from_secs_f64(seconds);
    println!("load average at start: {}", load_average());

    let work = workload::generate(SHAPE, SEED);
    let started = Instant::now();
    let ir = work.setup.lower().expect("the workload lowers");
    let account = CompiledAccount::compile(&ir).expect("the workload compiles");
    println!(
        "workload: {} apps, {} policies, {} groups, {} IP lists, {} requests; portcullis lower+compile {:.1} ms",
        work.setup.apps.len(),
        account.policy_count(),
        work.setup.groups.len(),
        work.setup.lists.len(),
        work.requests.len(),
        started.elapsed().as_secs_f64() * 1e3
    );

    let tokens = TokenTable::new(&work.setup);
    let facts: Vec<_> = work.requests.iter().map(|r| tokens.facts(r)).collect();
    let started = Instant::now();
    let cedar = cedar::CedarEngine::build(&work.setup).expect("the workload translates to Cedar");
    println!(
        "cedar-policy: {} policy sets built in {:.1} ms",
        SHAPE.apps,
        started.elapsed().as_secs_f64() * 1e3
    );
    let cedar_requests: Vec<_> = facts
        .iter()
        .map(|f| cedar::CedarEngine::request(f).expect("every request has a Cedar form"))
        .collect();
    let started = Instant::now();
    let data = rego::data(&work.setup).expect("the workload translates to Rego data");
    let mut interp = rego::Interpreter::build(&data).expect("the Rego policy loads");
    let mut vm = rego::Vm::build(&data).expect("the Rego policy compiles to an RVM program");
    println!(
        "regorus: data, interpreter and RVM program built in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let inputs: Vec<_> = facts
        .iter()
        .map(|f| rego::input(f).expect("every request has a Rego form"))
        .collect();

    // Every engine must agree on every request before anything is timed.
    let options = EvalOptions::default();
    let mut mismatches = Vec::new();
    let mut tally: std::collections::BTreeMap<String, usize> = Default::default();
    for (i, req) in work.requests.iter().enumerate() {
        let verdict = account.evaluate(req, options);
        let ours = Outcome {
            decision: verdict.decision.as_str().into(),
            policy_id: verdict.policy_id.map(str::to_string),
        };
        *tally.entry(ours.decision.clone()).or_default() += 1;
        let peers = [
            ("cedar-policy", cedar.outcome(&cedar_requests[i])),
            (
                "regorus interpreter",
                interp.decide(&inputs[i]).and_then(|v| rego::outcome(&v)),
            ),
            (
                "regorus rvm",
                vm.decide(&inputs[i]).and_then(|v| rego::outcome(&v)),
            ),
        ];
        for (name, theirs) in peers {
            match theirs {
                Ok(o) if o == ours => {}
                Ok(o) => mismatches.push(format!(
                    "request {i} ({}): portcullis {ours}, {name} {o}",
                    facts[i].app
                )),
                Err(e) => mismatches.push(format!(
                    "request {i} ({}): portcullis {ours}, {name} failed: {e}",
                    facts[i].app
                )),
            }
        }
    }
    if !mismatches.is_empty() {
        for m in &mismatches {
            println!("MISMATCH {m}");
        }
        println!("{} mismatches; not timing", mismatches.len());
        return ExitCode::FAILURE;
    }
    let mix: Vec<String> = tally.iter().map(|(d, n)| format!("{d} {n}")).collect();
    println!(
        "all engines agree on all {} requests ({})",
        work.requests.len(),
        mix.join(", ")
    );

    // Memory and compile time at 100,000 policies, in a fresh process so the
    // resident size is not inflated by the peers loaded here.
    match scale::run_child() {
        Ok(lines) => print!("{lines}"),
        Err(e) => println!("scale run failed: {e}"),
    }

    let ours = measure(
        "portcullis",
        "compiled snapshot",
        &work.requests,
        budget,
        |req| {
            black_box(account.evaluate(req, options).decision);
        },
    );
    let cedar_m = measure(
        "cedar-policy",
        "is_authorized",
        &cedar_requests,
        budget,
        |req| {
            black_box(cedar.decide(req));
        },
    );
    let interp_m = measure("regorus", "interpreter", &inputs, budget, |input| {
        black_box(interp.decide(input).ok());
    });
    let vm_m = measure("regorus", "rvm", &inputs, budget, |input| {
        black_box(vm.decide(input).ok());
    });
    let rego_best = if vm_m.per_second >= interp_m.per_second {
        &vm_m
    } else {
        &interp_m
    };

    println!("load average at end: {}", load_average());
    println!();
    println!("| engine | mode | p50 ns | p99 ns | mean ns | decisions/s |");
    println!("|---|---|---:|---:|---:|---:|");
    for m in [&ours, &cedar_m, &interp_m, &vm_m] {
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.0} |",
            m.engine, m.mode, m.p50, m.p99, m.mean, m.per_second
        );
    }
    println!();
    println!(
        "regorus: the {} mode is the faster of its two and is the one compared",
        rego_best.mode
    );
    let formats_ok = formats::run(budget);
    println!(
        "speedup vs cedar-policy: {:.1}x, vs regorus: {:.1}x, portcullis p50 {} ns, p99 {} ns",
        ours.per_second / cedar_m.per_second,
        ours.per_second / rego_best.per_second,
        ours.p50,
        ours.p99
    );
    if formats_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
