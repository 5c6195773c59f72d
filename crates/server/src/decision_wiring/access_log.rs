//! Access-log rows go to the store's `access_logs` table. Recording never
//! blocks a decision: rows are queued (bounded; when the queue is full they are
//! dropped and counted) and a background task writes them in batches. Another
//! task keeps only the newest `retention` rows per account.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::SecondsFormat;
use portcullis_decision::{AccessLogEntry, AccessLogSink};
use portcullis_store::{AccessRequest, Store};
use tokio::sync::mpsc;

/// Rows waiting to be written at most.
const QUEUE: usize = 65_536;
/// Rows written in one transaction at most. The writer takes whatever is
/// queued, so under light load transactions stay small; under heavy load they
/// grow, because a commit costs an fsync (`synchronous=FULL`): ~20 ms on a
/// slow disk, which at 512 rows a commit capped the log at ~25,000 rows/s and
/// dropped the rest.
const BATCH: usize = 8192;

pub struct StoreAccessLog {
    queue: mpsc::Sender<AccessRequest>,
    dropped: Arc<AtomicU64>,
}

impl StoreAccessLog {
    /// The sink and its writer task (spawn it).
    pub fn new(store: Store) -> (Self, impl std::future::Future<Output = ()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        (StoreAccessLog { queue: tx, dropped }, write_rows(store, rx))
    }

    /// Rows dropped because the queue was full or the writer had stopped.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl AccessLogSink for StoreAccessLog {
    fn record(&self, entry: AccessLogEntry) {
        if entry.account_id.is_empty() {
            // Forward-auth for a host no application claims: no account to log in.
            return;
        }
        let row = AccessRequest {
            account_id: entry.account_id,
            created_at: entry
                .created_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
            ray_id: entry.ray_id,
            action: entry.action,
            allowed: entry.allowed,
            app_domain: entry.app_domain,
            app_uid: entry.app_uid,
            country: entry.country,
            ip_address: entry.ip_address,
            user_email: entry.user_email,
        };
        if self.queue.try_send(row).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn write_rows(store: Store, mut rx: mpsc::Receiver<AccessRequest>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        if let Err(e) = store.insert_access_requests(&batch).await {
            tracing::warn!(error = %e, rows = batch.len(), "access-log rows lost");
        }
        batch.clear();
    }
}

/// Keeps the newest `keep` rows per account, pruning every `every`.
pub async fn run_retention(store: Store, keep: u64, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        match store.prune_access_requests(keep).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, keep, "access log pruned"),
            Err(e) => tracing::warn!(error = %e, "access log not pruned"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_store::AccessRequestQuery;

    fn entry(i: usize) -> AccessLogEntry {
        AccessLogEntry {
            account_id: "acc".into(),
            action: "login".into(),
            allowed: i % 4 != 1,
            app_domain: Some("app.example.com".into()),
            app_uid: Some("app".into()),
            country: Some("US".into()),
            created_at: chrono::Utc::now(),
            ip_address: Some("127.0.0.1".into()),
            ray_id: format!("{i:016x}"),
            user_email: Some(format!("u{i}@example.com")),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_30000_rows_is_all_written_and_none_dropped() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::connect(&format!("sqlite://{}/p.db", dir.path().display()))
            .await
            .expect("store");
        let (log, writer) = StoreAccessLog::new(store.clone());
        let writer = tokio::spawn(writer);
        const ROWS: usize = 30_000;
        for i in 0..ROWS {
            log.record(entry(i));
        }
        let query = AccessRequestQuery {
            limit: ROWS as u64 + 1,
            ..AccessRequestQuery::default()
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let n = store
                .access_requests("acc", &query)
                .await
                .expect("rows")
                .len();
            if n == ROWS {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{n} of {ROWS} rows written"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(log.dropped(), 0);
        // Entries of no account (a host no application claims) are not logged.
        log.record(AccessLogEntry {
            account_id: String::new(),
            ..entry(0)
        });
        assert_eq!(log.dropped(), 0);
        writer.abort();
    }
}
