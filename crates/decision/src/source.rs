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

/// One account's objects, each in its Cloudflare wire format with its `id`.
///
/// Service tokens carry the SHA-256 of their secret as `client_secret_sha256`
/// (64 hex) because the store never keeps the secret; a plain `client_secret` is
/// accepted too (fixtures, corpus setups).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountObjects {
    #[serde(default)]
    pub policies: Vec<serde_json::Value>,
    #[serde(default)]
    pub apps: Vec<serde_json::Value>,
    #[serde(default)]
    pub groups: Vec<serde_json::Value>,
    #[serde(default)]
    pub lists: Vec<serde_json::Value>,
    #[serde(default)]
    pub service_tokens: Vec<serde_json::Value>,
    /// ZTNA access policies (`/v1/accounts/{id}/ztna/policies`).
    #[serde(default)]
    pub ztna_policies: Vec<serde_json::Value>,
    /// PingOne Authorize policy trees (`authorizationPolicies`).
    #[serde(default)]
    pub authorize_policies: Vec<serde_json::Value>,
    /// Google ACM access levels, each with `id` = its full level name.
    #[serde(default)]
    pub access_levels: Vec<serde_json::Value>,
    /// PingOne decision endpoints (`{name, description, policyId}` with `id`).
    #[serde(default)]
    pub decision_endpoints: Vec<serde_json::Value>,
}

impl AccountObjects {
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
            && self.apps.is_empty()
            && self.groups.is_empty()
            && self.lists.is_empty()
            && self.service_tokens.is_empty()
            && self.ztna_policies.is_empty()
            && self.authorize_policies.is_empty()
            && self.access_levels.is_empty()
            && self.decision_endpoints.is_empty()
    }
}

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
