//! Keeping the live snapshot current. On a signal (PostgreSQL `NOTIFY`, a write on
//! this node) or a periodic tick, the refresher asks the source for changes past
//! the snapshot's sequence and rebuilds only the accounts they touch. A failing
//! source leaves the last snapshot serving and sets the degraded flag.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Notify};

use crate::build::{build_account, BuiltAccount};
use crate::clock::Clock;
use crate::live::{LiveSnapshot, SnapshotHandle};
use crate::source::{AccountObjects, SnapshotSource, SourceError};

/// What one refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshReport {
    pub sequence: u64,
    /// Accounts rebuilt (or removed).
    pub rebuilt: Vec<String>,
    /// Accounts whose objects did not build; their previous version keeps serving.
    pub failed: Vec<String>,
}

/// Builds an account on the blocking pool. Building is CPU work that grows with
/// the account (parse, lower, compile every object); on the async workers it
/// would stall the requests they serve, among them the admin writes whose open
/// transactions every other write waits for.
async fn build_off_runtime(
    account_id: &str,
    objects: AccountObjects,
) -> Result<BuiltAccount, String> {
    let id = account_id.to_string();
    match tokio::task::spawn_blocking(move || build_account(&id, &objects)).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(e) => Err(format!("the build task failed: {e}")),
    }
}

pub struct Refresher {
    source: Arc<dyn SnapshotSource>,
    handle: Arc<SnapshotHandle>,
    clock: Arc<dyn Clock>,
    /// One refresh at a time, so two swaps never race. Holds the accounts whose
    /// objects did not build: they are retried on every refresh.
    running: Mutex<BTreeSet<String>>,
    /// Whether a full load has succeeded; until then every pass is a full load.
    loaded: AtomicBool,
    signal: Arc<Notify>,
}

impl Refresher {
    pub fn new(
        source: Arc<dyn SnapshotSource>,
        handle: Arc<SnapshotHandle>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Refresher {
            source,
            handle,
            clock,
            running: Mutex::new(BTreeSet::new()),
            loaded: AtomicBool::new(false),
            signal: Arc::new(Notify::new()),
        }
    }

    /// Whether a full load has succeeded (for `/readyz`).
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Relaxed)
    }

    /// Wakes [`Refresher::run`] now; hand it to whatever hears about changes.
    pub fn signal(&self) -> Arc<Notify> {
        Arc::clone(&self.signal)
    }

    /// Builds every account from scratch.
    pub async fn load_all(&self) -> Result<RefreshReport, SourceError> {
        let mut stale = self.running.lock().await;
        let result = self.load_all_inner().await;
        if let Ok(report) = &result {
            *stale = report.failed.iter().cloned().collect();
            self.loaded.store(true, Ordering::Relaxed);
        }
        self.settle(result, stale.is_empty())
    }

    async fn load_all_inner(&self) -> Result<RefreshReport, SourceError> {
        let sequence = self.source.current_sequence().await?;
        let mut report = RefreshReport {
            sequence,
            ..RefreshReport::default()
        };
        let previous = self.handle.load();
        let mut built = Vec::new();
        for account_id in self.source.accounts().await? {
            let objects = self.source.account_objects(&account_id).await?;
            match build_off_runtime(&account_id, objects).await {
                Ok(account) => built.push(account),
                Err(e) => {
                    tracing::error!(account = %account_id, error = %e, "account does not build; keeping its previous version");
                    report.failed.push(account_id.clone());
                    continue;
                }
            }
            report.rebuilt.push(account_id);
        }
        let mut next = LiveSnapshot::new(built, sequence, self.clock.now());
        // Accounts that failed keep serving their previous compiled form.
        for account_id in &report.failed {
            if let Some(old) = previous.snapshot().account(account_id) {
                let keep = crate::build::BuiltAccount {
                    compiled: Arc::clone(old),
                    externals: previous.externals_of(account_id),
                };
                next = next.with_account(account_id, Some(keep), sequence, self.clock.now());
            }
        }
        self.handle.store(next);
        Ok(report)
    }

    /// Applies the changes past the current snapshot's sequence.
    pub async fn refresh(&self) -> Result<RefreshReport, SourceError> {
        let mut stale = self.running.lock().await;
        let result = self.refresh_inner(&stale).await;
        if let Ok(report) = &result {
            for account in &report.rebuilt {
                stale.remove(account);
            }
            stale.extend(report.failed.iter().cloned());
        }
        self.settle(result, stale.is_empty())
    }

    fn settle(
        &self,
        result: Result<RefreshReport, SourceError>,
        all_built: bool,
    ) -> Result<RefreshReport, SourceError> {
        match &result {
            Ok(_) => self.handle.set_degraded(!all_built),
            Err(e) => {
                tracing::error!(error = %e, "snapshot refresh failed; serving the last snapshot");
                self.handle.record_source_error();
            }
        }
        result
    }

    async fn refresh_inner(&self, stale: &BTreeSet<String>) -> Result<RefreshReport, SourceError> {
        let current = self.handle.load();
        let from = current.sequence();
        let latest = self.source.current_sequence().await?;
        if latest <= from && stale.is_empty() {
            return Ok(RefreshReport {
                sequence: from,
                ..RefreshReport::default()
            });
        }
        let changes = if latest > from {
            self.source.changes_since(from).await?
        } else {
            Vec::new()
        };
        let sequence = changes
            .iter()
            .map(|c| c.sequence)
            .fold(latest.max(from), u64::max);
        let mut touched: BTreeSet<String> = changes.into_iter().map(|c| c.account_id).collect();
        touched.extend(stale.iter().cloned());
        let mut report = RefreshReport {
            sequence,
            ..RefreshReport::default()
        };
        let mut next: Option<LiveSnapshot> = None;
        for account_id in touched {
            let objects = self.source.account_objects(&account_id).await?;
            let built = if objects.is_empty() {
                None
            } else {
                match build_off_runtime(&account_id, objects).await {
                    Ok(b) => Some(b),
                    Err(e) => {
                        tracing::error!(account = %account_id, error = %e, "account does not build; keeping its previous version");
                        report.failed.push(account_id);
                        continue;
                    }
                }
            };
            let base: &LiveSnapshot = next.as_ref().unwrap_or(&*current);
            next = Some(base.with_account(&account_id, built, sequence, self.clock.now()));
            report.rebuilt.push(account_id);
        }
        let next = match next {
            Some(n) if n.sequence() == sequence => n,
            Some(n) => n.resequenced(sequence, self.clock.now()),
            None => current.resequenced(sequence, self.clock.now()),
        };
        self.handle.store(next);
        // Usually the last reference to the replaced snapshot: freeing what it
        // alone holds (the rebuilt accounts' old versions) is CPU work too.
        tokio::task::spawn_blocking(move || drop(current));
        Ok(report)
    }

    /// Refreshes on every signal and at least every `backstop` (the periodic
    /// sequence check that catches a missed notification). Runs until the task
    /// is dropped; the first pass loads everything.
    pub async fn run(self: Arc<Self>, backstop: Duration) {
        let _ = self.load_all().await;
        loop {
            tokio::select! {
                _ = self.signal.notified() => {}
                _ = tokio::time::sleep(backstop) => {}
            }
            if self.loaded.load(Ordering::Relaxed) {
                let _ = self.refresh().await;
            } else {
                let _ = self.load_all().await;
            }
        }
    }
}
