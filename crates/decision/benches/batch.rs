//! Server-side time of a `decide:batch` of 1000 requests (no HTTP).

use std::hint::black_box;
use std::sync::Arc;

#[path = "../tests/common/batch_fixture.rs"]
mod batch_fixture;

use criterion::{criterion_group, criterion_main, Criterion};
use portcullis_decision::tokens::SigningKey;
use portcullis_decision::{
    build_account, decide_batch, evaluate, DecisionConfig, DecisionState, KeyRing, KeyStore,
    LiveSnapshot, MemoryKeyStore, Metrics, NoAccessLog, SnapshotHandle, StaticBearer, SystemClock,
};

fn bench(c: &mut Criterion) {
    let Ok(built) = build_account("acc", &batch_fixture::account(50, 0)) else {
        return;
    };
    let live = LiveSnapshot::new(vec![built], 1, chrono::Utc::now());
    let reqs = batch_fixture::requests();
    c.bench_function("evaluate 1000 (snapshot only)", |b| {
        b.iter(|| {
            for (req, _) in &reqs {
                black_box(evaluate(&live, "acc", req, false));
            }
        })
    });

    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let clock = Arc::new(SystemClock);
    let store = Arc::new(MemoryKeyStore::default());
    let keys = Arc::new(KeyRing::new(
        store.clone(),
        clock.clone(),
        KeyRing::DEFAULT_MAX_TOKEN_LIFETIME,
    ));
    let Ok(key) = SigningKey::generate(chrono::Utc::now()) else {
        return;
    };
    if rt
        .block_on(async { store.insert(&key).await.and(keys.reload().await) })
        .is_err()
    {
        return;
    }
    let Ok(external) = portcullis_decision::ExternalEvaluator::new(keys.clone(), "bench") else {
        return;
    };
    let state = DecisionState {
        snapshots: Arc::new(SnapshotHandle::new(live)),
        keys,
        external: Arc::new(external),
        auth: Arc::new(StaticBearer("x".into())),
        metrics: Arc::new(Metrics::default()),
        access_log: Arc::new(NoAccessLog),
        clock,
        config: Arc::new(DecisionConfig::default()),
    };
    c.bench_function("decide:batch 1000 (service, no HTTP)", |b| {
        b.iter(|| {
            let out = rt.block_on(decide_batch(&state, "acc", reqs.clone(), false));
            black_box(out.map(|r| r.len()).unwrap_or_default())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
