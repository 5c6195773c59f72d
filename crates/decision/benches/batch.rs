//! Server-side time of a `decide:batch` of 1000 requests (no HTTP).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use portcullis_core::context::RequestContext;
use portcullis_decision::tokens::SigningKey;
use portcullis_decision::{
    build_account, decide_batch, evaluate, AccountObjects, DecisionConfig, DecisionState, KeyRing,
    KeyStore, LiveSnapshot, MemoryKeyStore, Metrics, NoAccessLog, SnapshotHandle, StaticBearer,
    SystemClock,
};
use serde_json::json;

fn objects() -> AccountObjects {
    let mut policies = Vec::new();
    let mut apps = Vec::new();
    for i in 0..50 {
        policies.push(
            json!({"id": format!("p{i}"), "name": "p", "decision": "allow",
            "include": [{"email_domain": {"domain": format!("d{i}.example.com")}}],
            "require": [{"geo": {"country_code": "US"}}]}),
        );
        apps.push(
            json!({"id": format!("a{i}"), "name": "a", "type": "self_hosted",
            "domain": format!("app{i}.example.com"), "policies": [format!("p{i}")]}),
        );
    }
    AccountObjects {
        policies,
        apps,
        ..AccountObjects::default()
    }
}

fn requests() -> Vec<(RequestContext, bool)> {
    (0..1000)
        .map(|i| {
            let req = serde_json::from_value(json!({
                "resource": {"host": format!("app{}.example.com", i % 50)},
                "identity": {"email": format!("u{i}@d{}.example.com", i % 7)},
                "network": {"ip": "203.0.113.9", "country": if i % 3 == 0 { "DE" } else { "US" }},
                "time": "2026-11-22T10:00:00Z"
            }))
            .unwrap_or_default();
            (req, false)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let Ok(built) = build_account("acc", &objects()) else {
        return;
    };
    let live = LiveSnapshot::new(vec![built], 1, chrono::Utc::now());
    let reqs = requests();
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
