//! Runs only portcullis decisions over the benchmark workload, round after
//! round, so a profiler (`perf record`, `valgrind --tool=callgrind`) sees the
//! decision path and nothing of the peers.
//!
//! `cargo run --release --bin profile_loop -- [rounds]`

#[path = "../workload.rs"]
mod workload;

use std::time::Instant;

use portcullis_core::eval::EvalOptions;
use portcullis_core::CompiledAccount;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let shape = workload::Shape {
        apps: 1_000,
        policies_per_app: 3,
        requests: 10_000,
    };
    let work = workload::generate(shape, 0x5EED_2026);
    let ir = work.setup.lower().expect("the workload lowers");
    let account = CompiledAccount::compile(&ir).expect("the workload compiles");
    let options = EvalOptions::default();
    let started = Instant::now();
    // Fresh copies in small batches, as the benchmark decides them (see `measure`
    // in main.rs); the copying shows up as its own symbols in a profile.
    for _ in 0..rounds {
        for chunk in work.requests.chunks(64) {
            let fresh = chunk.to_vec();
            for req in &fresh {
                std::hint::black_box(
                    account
                        .evaluate(std::hint::black_box(req), options)
                        .decision,
                );
            }
        }
    }
    let decisions = rounds * work.requests.len();
    println!(
        "{decisions} decisions, mean {:.0} ns (copying included)",
        started.elapsed().as_nanos() as f64 / decisions as f64
    );
}
