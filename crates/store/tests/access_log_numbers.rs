//! How many access-log rows a second the store takes on SQLite (ignored; run in
//! release): `cargo test --release -p portcullis-store --test access_log_numbers -- --ignored --nocapture`.

use std::time::Instant;

use portcullis_store::{AccessRequest, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run in release with --ignored --nocapture"]
async fn access_log_rows_per_second_on_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::connect(&format!("sqlite://{}/s.db", dir.path().display()))
        .await
        .expect("store");
    let row = |i: usize| AccessRequest {
        account_id: "bench".into(),
        created_at: format!("2026-11-22T10:00:00.{:06}Z", i % 1_000_000),
        ray_id: format!("{i:016x}"),
        action: "login".into(),
        allowed: true,
        app_domain: Some("app.example.com".into()),
        app_uid: Some("0b3c1f4e-2a55-4c59-9d0e-3b7f0c1e2d4a".into()),
        country: Some("US".into()),
        ip_address: Some("127.0.0.1".into()),
        user_email: Some("alice@example.com".into()),
    };
    for batch in [512usize, 8192] {
        let rows: Vec<AccessRequest> = (0..batch).map(row).collect();
        let total = 200_000 / batch * batch;
        let started = Instant::now();
        for _ in 0..total / batch {
            store.insert_access_requests(&rows).await.expect("insert");
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "access log on SQLite, {batch} rows a transaction: {:.0} rows/s ({total} rows in {secs:.2} s)",
            total as f64 / secs
        );
    }
}
