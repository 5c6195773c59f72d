//! One decision against a compiled account of 1,000 applications × 3 policies:
//! a hit (third policy allows), a miss (nothing matches), a deny (Block policy
//! matches) and the hit again with the explain trace built.
//!
//! `cargo bench -p portcullis-core --bench decide`

mod workload;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use portcullis_core::decision::Decision;
use portcullis_core::eval::EvalOptions;
use portcullis_core::CompiledAccount;

fn decide(c: &mut Criterion) {
    let account =
        CompiledAccount::compile(&workload::account(1_000, 3)).expect("the bench account compiles");
    let plain = EvalOptions::default();
    let cases = [
        ("hit", workload::hit(), plain, Decision::Allow),
        ("miss", workload::miss(), plain, Decision::Deny),
        ("deny", workload::deny(), plain, Decision::Deny),
        (
            "hit_with_explain",
            workload::hit(),
            EvalOptions { explain: true },
            Decision::Allow,
        ),
    ];
    let mut group = c.benchmark_group("decide");
    for (name, request, options, expected) in cases {
        // A bench that measures the wrong path is worse than none.
        assert_eq!(
            account.evaluate(&request, options).decision,
            expected,
            "{name}"
        );
        group.bench_function(name, |b| {
            b.iter(|| black_box(account.evaluate(black_box(&request), options).decision))
        });
    }
    group.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
