//! The live snapshot: incremental rebuilds, a failing source, the degraded flag.

mod common;

use std::sync::atomic::Ordering;

use common::*;
use portcullis_decision::AccountObjects;
use serde_json::json;

#[tokio::test]
async fn only_changed_accounts_are_rebuilt() {
    let f = fixture().await;
    f.source.put("acc2", AccountObjects {
        policies: vec![json!({"id": "p", "name": "p", "decision": "allow", "include": [{"everyone": {}}]})],
        apps: vec![json!({"id": "b", "name": "b", "type": "self_hosted", "domain": "b.example.org", "policies": ["p"]})],
        ..AccountObjects::default()
    });
    let report = f.refresher.refresh().await.unwrap();
    assert_eq!(report.rebuilt, vec!["acc2".to_string()]);
    assert_eq!(report.sequence, 2);
    let before = f.state.snapshots.load();
    let acc1 = before.snapshot().account("acc1").unwrap().clone();
    let report = f.refresher.refresh().await.unwrap();
    assert!(report.rebuilt.is_empty());
    let after = f.state.snapshots.load();
    assert!(std::sync::Arc::ptr_eq(
        &acc1,
        after.snapshot().account("acc1").unwrap()
    ));
    assert_eq!(
        decision_for(&f, "acc2", "b.example.org", "alice@example.com").await,
        "allow"
    );
}

#[tokio::test]
async fn a_failing_source_keeps_the_last_snapshot_and_reports_degraded() {
    let f = fixture().await;
    f.source.failing.store(true, Ordering::Relaxed);
    assert!(f.refresher.refresh().await.is_err());
    assert!(f.state.snapshots.degraded());
    assert_eq!(f.state.snapshots.source_errors(), 1);
    assert_eq!(
        decision_for(&f, "acc1", "app.example.com", "alice@example.com").await,
        "allow",
        "still served from the last snapshot"
    );
    let request = axum::http::Request::get("/metrics")
        .body(axum::body::Body::empty())
        .unwrap();
    let (_, _, text) = send(&f.state, request).await;
    let text = text.as_str().unwrap();
    assert!(text.contains("portcullis_snapshot_degraded 1"), "{text}");
    assert!(text.contains("portcullis_store_errors_total 1"));
    f.source.failing.store(false, Ordering::Relaxed);
    f.refresher.refresh().await.unwrap();
    assert!(!f.state.snapshots.degraded());
}

#[tokio::test]
async fn an_account_that_no_longer_builds_keeps_its_previous_version() {
    let f = fixture().await;
    let mut objects = fixture_objects();
    objects.policies.push(json!({"id": "broken", "name": "x", "decision": "allow", "include": [{"group": {"id": "missing"}}]}));
    objects.apps[0]["policies"] = json!(["p-allow", "broken"]);
    f.source.put("acc1", objects);
    let report = f.refresher.refresh().await.unwrap();
    assert_eq!(report.failed, vec!["acc1".to_string()]);
    assert!(f.state.snapshots.degraded());
    assert_eq!(
        decision_for(&f, "acc1", "app.example.com", "alice@example.com").await,
        "allow"
    );
}

#[tokio::test]
async fn an_emptied_account_is_removed() {
    let f = fixture().await;
    f.source.put("acc1", AccountObjects::default());
    f.refresher.refresh().await.unwrap();
    assert!(f
        .state
        .snapshots
        .load()
        .snapshot()
        .account("acc1")
        .is_none());
    assert_eq!(
        decision_for(&f, "acc1", "app.example.com", "alice@example.com").await,
        "deny"
    );
}

#[tokio::test]
async fn a_signal_wakes_the_refresher() {
    let f = fixture().await;
    let signal = f.refresher.signal();
    let task = tokio::spawn(
        f.refresher
            .clone()
            .run(std::time::Duration::from_secs(3600)),
    );
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    f.source.put("acc1", AccountObjects::default());
    signal.notify_one();
    let mut removed = false;
    for _ in 0..100 {
        if f.state
            .snapshots
            .load()
            .snapshot()
            .account("acc1")
            .is_none()
        {
            removed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    task.abort();
    assert!(removed);
}
