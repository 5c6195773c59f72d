//! Everything a decision needs, shared by the HTTP handlers.

use std::sync::Arc;

use crate::access_log::AccessLogSink;
use crate::auth::BearerAuth;
use crate::clock::Clock;
use crate::external::ExternalResolver;
use crate::forward::ForwardAuthConfig;
use crate::live::SnapshotHandle;
use crate::metrics::Metrics;
use crate::tokens::KeyRing;

/// Settings of the decision service.
#[derive(Debug, Clone)]
pub struct DecisionConfig {
    /// `iss` of issued tokens, e.g. `https://access.example.com`.
    pub issuer: String,
    /// Largest `decide:batch`.
    pub max_batch: usize,
    pub forward: ForwardAuthConfig,
}

impl DecisionConfig {
    pub const MAX_BATCH: usize = 1000;
}

impl Default for DecisionConfig {
    fn default() -> Self {
        DecisionConfig {
            issuer: "portcullis".into(),
            max_batch: Self::MAX_BATCH,
            forward: ForwardAuthConfig::default(),
        }
    }
}

/// The decision service: cheap to clone (every part is shared).
#[derive(Clone)]
pub struct DecisionState {
    pub snapshots: Arc<SnapshotHandle>,
    pub keys: Arc<KeyRing>,
    pub external: Arc<dyn ExternalResolver>,
    pub auth: Arc<dyn BearerAuth>,
    pub metrics: Arc<Metrics>,
    pub access_log: Arc<dyn AccessLogSink>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<DecisionConfig>,
}
