//! The decision service of portcullis: the live snapshot and its refresher, the
//! application tokens and their keys, the external evaluation client,
//! forward-auth, and the decision HTTP API as an axum router the server mounts.
//!
//! It depends on the store only through [`SnapshotSource`], [`KeyStore`],
//! [`BearerAuth`] and [`AccessLogSink`], which the server implements. Decisions
//! read an immutable snapshot through arc-swap: they never lock and never wait on
//! the store. The clock lives here, not in core.

pub mod access_log;
pub mod auth;
pub mod build;
pub mod clock;
pub mod decide;
pub mod endpoint;
pub mod error;
pub mod external;
pub mod forward;
pub mod http;
pub mod live;
pub mod metrics;
pub mod refresh;
pub mod source;
pub mod state;
pub mod tokens;

pub use access_log::{AccessLogEntry, AccessLogSink, MemoryAccessLog, NoAccessLog};
pub use auth::{BearerAuth, StaticBearer};
pub use build::{build_account, BuildError, BuiltAccount, ExternalRule};
pub use clock::{Clock, ManualClock, SystemClock};
pub use decide::{app_aud, decide, decide_batch, evaluate, DecideOptions, DecideResponse};
pub use endpoint::decide_endpoint;
pub use error::DecisionError;
pub use external::{ExternalError, ExternalEvaluator, ExternalResolver};
pub use forward::{forward_auth, ForwardAuthConfig, ForwardOutcome};
pub use http::router;
pub use live::{LiveSnapshot, SnapshotHandle};
pub use metrics::Metrics;
pub use refresh::{RefreshReport, Refresher};
pub use source::{AccountObjects, Change, SnapshotSource, SourceError};
pub use state::{DecisionConfig, DecisionState};
pub use tokens::{CertsDocument, KeyRing, KeyStore, MemoryKeyStore, StoredKey};
