//! The live snapshot: the compiled [`Snapshot`] every decision reads, swapped
//! atomically with arc-swap when policy changes. Readers never lock and never
//! wait for the store; a failed refresh leaves the last snapshot in place and
//! raises the `degraded` flag.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use portcullis_core::Snapshot;
use rustc_hash::FxHashMap;

use crate::build::{AppExternals, BuiltAccount, ExternalRule};

/// One immutable generation of policy: the core snapshot plus the external
/// evaluations each application needs resolved before it is decided.
#[derive(Debug, Default)]
pub struct LiveSnapshot {
    snapshot: Snapshot,
    /// Account id → app id → external rules.
    externals: FxHashMap<Box<str>, Arc<AppExternals>>,
    built_at: DateTime<Utc>,
}

impl LiveSnapshot {
    /// A snapshot of every account at once.
    pub fn new(accounts: Vec<BuiltAccount>, sequence: u64, built_at: DateTime<Utc>) -> Self {
        let mut externals = FxHashMap::default();
        let mut compiled = Vec::with_capacity(accounts.len());
        for account in accounts {
            let id: Box<str> = Box::from(account.compiled.account_id());
            externals.insert(id, Arc::new(account.externals));
            compiled.push(account.compiled);
        }
        let (snapshot, conflicts) = Snapshot::new(compiled, sequence);
        for c in conflicts {
            tracing::warn!(destination = %c.destination, kept = %c.kept_account, dropped = %c.dropped_account, "destination claimed by two accounts");
        }
        LiveSnapshot {
            snapshot,
            externals,
            built_at,
        }
    }

    /// A new generation with one account replaced (or removed with `None`).
    pub fn with_account(
        &self,
        account_id: &str,
        account: Option<BuiltAccount>,
        sequence: u64,
        built_at: DateTime<Utc>,
    ) -> Self {
        let mut externals = self.externals.clone();
        externals.remove(account_id);
        let compiled = account.map(|a| {
            externals.insert(Box::from(account_id), Arc::new(a.externals));
            a.compiled
        });
        let (snapshot, conflicts) = self.snapshot.with_account(account_id, compiled, sequence);
        for c in conflicts {
            tracing::warn!(destination = %c.destination, kept = %c.kept_account, dropped = %c.dropped_account, "destination claimed by two accounts");
        }
        LiveSnapshot {
            snapshot,
            externals,
            built_at,
        }
    }

    /// The same policy, stamped with a newer sequence (changes that touched
    /// nothing the snapshot holds).
    pub fn resequenced(&self, sequence: u64, built_at: DateTime<Utc>) -> Self {
        let (snapshot, _) = Snapshot::new(self.snapshot.accounts().cloned().collect(), sequence);
        LiveSnapshot {
            snapshot,
            externals: self.externals.clone(),
            built_at,
        }
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    pub fn sequence(&self) -> u64 {
        self.snapshot.sequence()
    }

    pub fn built_at(&self) -> DateTime<Utc> {
        self.built_at
    }

    /// The external evaluations an application's policies may consult.
    pub fn external_rules(&self, account_id: &str, app_id: &str) -> &[ExternalRule] {
        self.externals
            .get(account_id)
            .and_then(|apps| apps.get(app_id))
            .map_or(&[][..], |rules| &rules[..])
    }
}

/// The shared handle: the current snapshot and the health of its source.
#[derive(Debug, Default)]
pub struct SnapshotHandle {
    current: ArcSwap<LiveSnapshot>,
    degraded: AtomicBool,
    source_errors: AtomicU64,
}

impl SnapshotHandle {
    pub fn new(initial: LiveSnapshot) -> Self {
        SnapshotHandle {
            current: ArcSwap::from_pointee(initial),
            degraded: AtomicBool::new(false),
            source_errors: AtomicU64::new(0),
        }
    }

    /// The current snapshot (an atomic load and a reference count; no lock).
    pub fn load(&self) -> Arc<LiveSnapshot> {
        self.current.load_full()
    }

    pub fn store(&self, next: LiveSnapshot) {
        self.current.store(Arc::new(next));
    }

    /// Whether the last refresh failed and decisions run on an older snapshot.
    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    pub fn set_degraded(&self, degraded: bool) {
        self.degraded.store(degraded, Ordering::Relaxed);
    }

    pub(crate) fn record_source_error(&self) {
        self.source_errors.fetch_add(1, Ordering::Relaxed);
        self.set_degraded(true);
    }

    /// How many refreshes failed since start.
    pub fn source_errors(&self) -> u64 {
        self.source_errors.load(Ordering::Relaxed)
    }
}

impl LiveSnapshot {
    /// The external-rule index of one account (empty when unknown).
    pub(crate) fn externals_of(
        &self,
        account_id: &str,
    ) -> FxHashMap<Box<str>, Arc<[ExternalRule]>> {
        self.externals
            .get(account_id)
            .map(|m| (**m).clone())
            .unwrap_or_default()
    }
}
