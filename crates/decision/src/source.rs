//! Where the snapshot's objects come from. The store implements [`SnapshotSource`]
//! (through an adapter in the server); tests use an in-memory fake. Decisions never
//! call it: only the [`crate::Refresher`] does.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A source failure (database down, query failed). The refresher keeps the last
/// snapshot and reports itself degraded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("snapshot source: {0}")]
pub struct SourceError(pub String);

/// One change in the store's change feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub sequence: u64,
    pub account_id: String,
}

/// One account's objects, each in its wire format with its `id`, grouped by
/// kind: the type the store returns and the lowering reads.
pub use portcullis_formats::stored::AccountObjects;

#[async_trait]
pub trait SnapshotSource: Send + Sync + 'static {
    /// The newest change sequence number.
    async fn current_sequence(&self) -> Result<u64, SourceError>;
    /// Every account that has objects.
    async fn accounts(&self) -> Result<Vec<String>, SourceError>;
    /// One account's objects, grouped by kind.
    async fn account_objects(&self, account_id: &str) -> Result<AccountObjects, SourceError>;
    /// Changes with a sequence number above `sequence`, oldest first.
    async fn changes_since(&self, sequence: u64) -> Result<Vec<Change>, SourceError>;
}
