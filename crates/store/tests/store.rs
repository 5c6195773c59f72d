//! The store on SQLite (a temporary file) and PostgreSQL (a database created
//! for the test and dropped after it; skipped when PORTCULLIS_TEST_PG=skip or no
//! server answers).

use portcullis_store::{ChangeOp, Kind, ObjectRef, SigningKey, Store};
use serde_json::json;
use sqlx::Connection;

async fn exercise(store: &Store) {
    assert_eq!(store.current_sequence().await.unwrap(), 0);
    let mut w = store.begin_write("acc1", "tok").await.unwrap();
    let seq1 = w.seq();
    w.put(Kind::Group, "g1", &json!({"name": "g", "include": []}), &[])
        .await
        .unwrap();
    w.put(
        Kind::Policy,
        "p1",
        &json!({"name": "p", "decision": "allow", "include": [{"group": {"id": "g1"}}]}),
        &[ObjectRef::new(Kind::Group, "g1")],
    )
    .await
    .unwrap();
    assert_eq!(w.commit().await.unwrap(), seq1);

    // A write that is dropped leaves nothing, not even its sequence number.
    let mut w = store.begin_write("acc1", "tok").await.unwrap();
    w.put(Kind::Group, "g2", &json!({"name": "x"}), &[])
        .await
        .unwrap();
    drop(w);
    assert_eq!(store.current_sequence().await.unwrap(), seq1);
    assert!(store
        .get("acc1", Kind::Group, "g2")
        .await
        .unwrap()
        .is_none());

    let mut w = store.begin_write("acc1", "tok").await.unwrap();
    w.delete(Kind::Policy, "p1").await.unwrap();
    let seq2 = w.commit().await.unwrap();
    assert!(seq2 > seq1);

    let changes = store.changes_since(0).await.unwrap();
    assert_eq!(changes.len(), 3);
    assert_eq!(changes[2].op, ChangeOp::Delete);
    assert_eq!(changes[2].seq, seq2);
    assert_eq!(store.changes_since(seq1).await.unwrap().len(), 1);
    assert!(store
        .referrers("acc1", Kind::Group, "g1")
        .await
        .unwrap()
        .is_empty());

    let objects = store.account_objects("acc1").await.unwrap();
    assert_eq!(
        objects.groups,
        vec![json!({"name": "g", "include": [], "id": "g1"})]
    );
    assert!(objects.policies.is_empty());
    assert_eq!(store.accounts().await.unwrap(), vec!["acc1".to_string()]);
    assert!(store
        .account_objects("acc2")
        .await
        .unwrap()
        .groups
        .is_empty());

    let page = store.list("acc1", Kind::Group, 5, 10).await.unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.total, 1);

    let audit = store.audit("acc1", 0, 10).await.unwrap();
    assert_eq!(audit.total, 3);
    assert_eq!(audit.items[0].op, ChangeOp::Delete);
    assert_eq!(audit.items[0].token_id, "tok");

    let key = SigningKey {
        kid: "k1".into(),
        private_pem: "-----BEGIN PRIVATE KEY-----".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        retired_at: None,
    };
    store.insert_signing_key(&key).await.unwrap();
    assert_eq!(store.signing_keys().await.unwrap(), vec![key.clone()]);
    assert!(store
        .retire_signing_key("k1", "2026-02-01T00:00:00Z")
        .await
        .unwrap());
    assert_eq!(
        store
            .signing_key("k1")
            .await
            .unwrap()
            .unwrap()
            .retired_at
            .as_deref(),
        Some("2026-02-01T00:00:00Z")
    );
}

#[tokio::test]
async fn sqlite_store_keeps_objects_changes_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/s.db", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    exercise(&store).await;
    store.close().await;
    // Reopening runs no migration twice and finds everything.
    let store = Store::connect(&url).await.unwrap();
    assert!(store.current_sequence().await.unwrap() > 0);
}

#[tokio::test]
async fn unknown_schemes_are_refused() {
    assert!(Store::connect("mysql://localhost/x").await.is_err());
}

fn pg_base() -> Option<String> {
    let base = std::env::var("PORTCULLIS_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    (base != "skip").then_some(base)
}

#[tokio::test]
async fn postgres_store_announces_each_commit() {
    let Some(base) = pg_base() else { return };
    let Ok(mut admin) = sqlx::PgConnection::connect(&format!("{base}/postgres")).await else {
        eprintln!("no PostgreSQL at {base}; skipped");
        return;
    };
    let name = format!("portcullis_test_store_{}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = format!("{base}/{name}");
    let result = tokio::spawn({
        let url = url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            let mut listener = sqlx::postgres::PgListener::connect(&url).await.unwrap();
            listener
                .listen(portcullis_store::CHANGES_CHANNEL)
                .await
                .unwrap();
            exercise(&store).await;
            let first = listener.recv().await.unwrap();
            assert_eq!(first.payload(), "acc1:1");
            access_log_batches(&store).await;
            store.close().await;
        }
    })
    .await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test]
async fn access_requests_written_in_batches_come_back_whole_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/s.db", dir.path().display()))
        .await
        .unwrap();
    access_log_batches(&store).await;
}

/// Multi-row inserts, NULLs included, read back in order.
async fn access_log_batches(store: &Store) {
    use portcullis_store::{AccessRequest, AccessRequestQuery};
    // 150 rows: statements of 64, 64, 16, 4 and 2 rows.
    let rows: Vec<AccessRequest> = (0..150)
        .map(|i| AccessRequest {
            account_id: if i % 2 == 0 { "a" } else { "b" }.into(),
            created_at: format!("2026-11-22T10:00:00.{i:06}Z"),
            ray_id: format!("ray{i:03}"),
            action: "login".into(),
            allowed: i % 3 == 0,
            app_domain: Some(format!("app{i}.example.com")),
            app_uid: (i % 5 != 0).then(|| format!("app{i}")),
            country: Some("US".into()),
            ip_address: (i % 7 != 0).then(|| "203.0.113.9".into()),
            user_email: Some(format!("u{i}@example.com")),
        })
        .collect();
    store.insert_access_requests(&rows).await.unwrap();
    store.insert_access_requests(&[]).await.unwrap();
    let query = AccessRequestQuery {
        ascending: true,
        limit: 1000,
        ..AccessRequestQuery::default()
    };
    let a = store.access_requests("a", &query).await.unwrap();
    let b = store.access_requests("b", &query).await.unwrap();
    let expected = |parity: usize| -> Vec<AccessRequest> {
        rows.iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == parity)
            .map(|(_, r)| r.clone())
            .collect()
    };
    assert_eq!(a, expected(0));
    assert_eq!(b, expected(1));
}
