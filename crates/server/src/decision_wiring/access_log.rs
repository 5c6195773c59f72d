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
/// Rows written in one transaction at most.
const BATCH: usize = 512;

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
