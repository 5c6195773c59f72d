//! The store as the decision service's [`SnapshotSource`]: the refresher reads
//! accounts, their objects and the change feed through it. Store errors become
//! [`SourceError`]s (their detail is already in the log); nothing here reaches
//! core.

use async_trait::async_trait;
use portcullis_decision::{AccountObjects, Change, SnapshotSource, SourceError};
use portcullis_store::{Store, StoreError};

pub struct StoreSource {
    store: Store,
}

impl StoreSource {
    pub fn new(store: Store) -> Self {
        StoreSource { store }
    }
}

fn source_error(e: StoreError) -> SourceError {
    SourceError(e.to_string())
}

fn sequence(seq: i64) -> u64 {
    u64::try_from(seq).unwrap_or(0)
}

#[async_trait]
impl SnapshotSource for StoreSource {
    async fn current_sequence(&self) -> Result<u64, SourceError> {
        self.store
            .current_sequence()
            .await
            .map(sequence)
            .map_err(source_error)
    }

    async fn accounts(&self) -> Result<Vec<String>, SourceError> {
        self.store.accounts().await.map_err(source_error)
    }

    async fn account_objects(&self, account_id: &str) -> Result<AccountObjects, SourceError> {
        self.store
            .account_objects(account_id)
            .await
            .map_err(source_error)
    }

    async fn changes_since(&self, seq: u64) -> Result<Vec<Change>, SourceError> {
        let changes = self
            .store
            .changes_since(i64::try_from(seq).unwrap_or(i64::MAX))
            .await
            .map_err(source_error)?;
        Ok(changes
            .into_iter()
            .map(|c| Change {
                sequence: sequence(c.seq),
                account_id: c.account_id,
            })
            .collect())
    }
}
