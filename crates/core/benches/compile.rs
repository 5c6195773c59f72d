//! Compiling an account's IR into a snapshot, at 1,000 and 10,000 policies
//! (250 and 2,500 applications with 4 policies each).
//!
//! `cargo bench -p portcullis-core --bench compile`

mod workload;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use portcullis_core::CompiledAccount;

fn compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    // Compiling 10,000 policies takes milliseconds; ten samples are plenty.
    group.sample_size(10);
    for policies in [1_000usize, 10_000] {
        let ir = workload::account(policies / 4, 4);
        assert_eq!(ir.policies.len(), policies);
        group.throughput(Throughput::Elements(policies as u64));
        group.bench_with_input(BenchmarkId::from_parameter(policies), &ir, |b, ir| {
            b.iter(|| CompiledAccount::compile(black_box(ir)).expect("the bench account compiles"))
        });
    }
    group.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
