//! The snapshot every decision reads: all accounts, compiled, plus a server-wide
//! host index for forward-auth (a domain belongs to one application server-wide).
//! A snapshot is immutable; a change builds a new one that replaces it atomically.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::apps::AppIndex;
use crate::compile::{CompiledAccount, CompiledApp};

#[derive(Debug, Default)]
pub struct Snapshot {
    accounts: FxHashMap<Box<str>, Arc<CompiledAccount>>,
    /// Slot order for the host index.
    slots: Vec<Arc<CompiledAccount>>,
    hosts: AppIndex<(u32, u32)>,
    /// The store's change sequence number this snapshot reflects.
    sequence: u64,
}

/// Two accounts claim the same destination; the first keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConflict {
    pub destination: String,
    pub kept_account: String,
    pub dropped_account: String,
}

impl Snapshot {
    /// Builds a snapshot. Destinations claimed by two accounts stay with the first
    /// (by account id order) and are reported; the admin API refuses such writes, so
    /// a conflict here means the store was written to directly.
    pub fn new(
        accounts: Vec<Arc<CompiledAccount>>,
        sequence: u64,
    ) -> (Snapshot, Vec<HostConflict>) {
        let mut slots = accounts;
        slots.sort_by(|a, b| a.account_id().cmp(b.account_id()));
        slots.dedup_by(|a, b| a.account_id() == b.account_id());
        let mut hosts = AppIndex::default();
        let mut conflicts = Vec::new();
        for (slot, account) in slots.iter().enumerate() {
            for (destination, app) in account.destinations() {
                if let Some((other, _)) = hosts.insert(destination, (slot as u32, *app)) {
                    if other as usize != slot {
                        conflicts.push(HostConflict {
                            destination: format!("{destination:?}"),
                            kept_account: slots[other as usize].account_id().to_string(),
                            dropped_account: account.account_id().to_string(),
                        });
                    }
                }
            }
        }
        let accounts = slots
            .iter()
            .map(|a| (Box::from(a.account_id()), Arc::clone(a)))
            .collect();
        (
            Snapshot {
                accounts,
                slots,
                hosts,
                sequence,
            },
            conflicts,
        )
    }

    /// A new snapshot with one account added, replaced (or, with `None`, removed).
    pub fn with_account(
        &self,
        account_id: &str,
        account: Option<Arc<CompiledAccount>>,
        sequence: u64,
    ) -> (Snapshot, Vec<HostConflict>) {
        let mut accounts: Vec<Arc<CompiledAccount>> = self
            .slots
            .iter()
            .filter(|a| a.account_id() != account_id)
            .cloned()
            .collect();
        accounts.extend(account);
        Snapshot::new(accounts, sequence)
    }

    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    pub fn account(&self, id: &str) -> Option<&Arc<CompiledAccount>> {
        self.accounts.get(id)
    }

    pub fn accounts(&self) -> impl Iterator<Item = &Arc<CompiledAccount>> {
        self.slots.iter()
    }

    /// The application serving `host` and `path`, in whichever account owns it.
    pub fn find_host(
        &self,
        host: &str,
        path: &str,
    ) -> Option<(&Arc<CompiledAccount>, &CompiledApp, u32)> {
        let (slot, app) = self.hosts.lookup(host, path)?;
        let account = self.slots.get(slot as usize)?;
        Some((account, account.app_at(app)?, app))
    }
}
