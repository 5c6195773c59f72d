//! Numbers for docs/decision-benchmarks.md (ignored by default; run in release):
//! `cargo test --release -p portcullis-decision --test numbers -- --ignored --nocapture`.
//!
//! - server time of a `decide:batch` of 1000 requests (no HTTP);
//! - snapshot rebuild after one write with 100,000 policies loaded, spread over
//!   1,000 accounts (the refresher rebuilds only the written account) and, as a
//!   worst case, 10,000 policies in the written account itself.

#[path = "common/batch_fixture.rs"]
mod batch_fixture;
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use batch_fixture::{account, requests};
use common::MemorySource;
use portcullis_decision::tokens::SigningKey;
use portcullis_decision::{
    build_account, decide_batch, DecisionConfig, DecisionState, KeyRing, KeyStore, LiveSnapshot,
    MemoryKeyStore, Metrics, NoAccessLog, Refresher, SnapshotHandle, StaticBearer, SystemClock,
};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test]
#[ignore = "measurement; run in release with --ignored --nocapture"]
async fn decide_batch_of_1000_server_time() {
    let built = build_account("acc", &account(50, 0)).expect("build");
    let live = LiveSnapshot::new(vec![built], 1, chrono::Utc::now());
    let clock = Arc::new(SystemClock);
    let store = Arc::new(MemoryKeyStore::default());
    let keys = Arc::new(KeyRing::new(
        store.clone(),
        clock.clone(),
        KeyRing::DEFAULT_MAX_TOKEN_LIFETIME,
    ));
    store
        .insert(&SigningKey::generate(chrono::Utc::now()).expect("key"))
        .await
        .expect("insert");
    keys.reload().await.expect("reload");
    let external =
        portcullis_decision::ExternalEvaluator::new(keys.clone(), "bench").expect("external");
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
    let reqs = requests();
    let mut times = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let out = decide_batch(&state, "acc", reqs.clone(), false)
            .await
            .expect("batch");
        times.push(started.elapsed());
        assert_eq!(out.len(), 1000);
    }
    println!(
        "decide:batch 1000: median {:?}, min {:?}",
        median(times.clone()),
        times.iter().min().copied().unwrap_or_default()
    );

    // The same batch through the HTTP handler (no socket): JSON body parsed,
    // 1000 decisions, JSON results written.
    use tower::ServiceExt;
    let body = axum::body::Bytes::from(
        serde_json::to_vec(
            &serde_json::json!({ "requests": reqs.iter().map(|(r, _)| r).collect::<Vec<_>>() }),
        )
        .expect("body"),
    );
    let router = portcullis_decision::router(state.clone());
    let mut times = Vec::new();
    for _ in 0..50 {
        let request = axum::http::Request::post("/v1/accounts/acc/decide:batch")
            .header("authorization", "Bearer x")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.clone()))
            .expect("request");
        let started = Instant::now();
        let response = router.clone().oneshot(request).await.expect("response");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        times.push(started.elapsed());
        assert!(bytes.len() > 1000);
    }
    println!(
        "decide:batch 1000 through the HTTP handler (JSON in and out, {} KiB body): median {:?}, min {:?}",
        body.len() / 1024,
        median(times.clone()),
        times.iter().min().copied().unwrap_or_default()
    );
}

async fn rebuild(accounts: usize, per_account: usize, written: usize) {
    let source = Arc::new(MemorySource::default());
    for a in 0..accounts {
        source.put(&format!("acc{a}"), account(per_account, a));
    }
    let handle = Arc::new(SnapshotHandle::default());
    let refresher = Refresher::new(source.clone(), handle.clone(), Arc::new(SystemClock));
    let started = Instant::now();
    refresher.load_all().await.expect("load");
    let full = started.elapsed();
    let mut times = Vec::new();
    for round in 0..5 {
        source.put("acc0", account(written, round));
        let started = Instant::now();
        let report = refresher.refresh().await.expect("refresh");
        times.push(started.elapsed());
        assert_eq!(report.rebuilt, vec!["acc0".to_string()]);
    }
    println!(
        "{} policies ({accounts} accounts x {per_account}); one write to an account of {written}: rebuild median {:?} (full load {:?})",
        accounts * per_account,
        median(times),
        full
    );
}

#[tokio::test]
#[ignore = "measurement; run in release with --ignored --nocapture"]
async fn snapshot_rebuild_after_one_write_at_100k_policies() {
    rebuild(1000, 100, 100).await;
    rebuild(10, 10_000, 10_000).await;
}
