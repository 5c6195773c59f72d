//! portcullis core: the request context, the policy IR every format lowers into,
//! the compiler that turns an account's policies into an immutable snapshot, and
//! the evaluator that decides requests against it.
//!
//! Core does no I/O, reads no clock and has no async: time and the results of
//! external evaluations arrive inside the [`RequestContext`].

pub mod apps;
pub mod attribute;
pub mod cel;
pub mod compile;
pub mod context;
pub mod decision;
pub mod duration;
pub mod eval;
pub mod ip;
pub mod ir;
pub mod service_token;
pub mod snapshot;
pub mod time_window;

pub use compile::{CompileError, CompileErrorKind, CompiledAccount, CompiledApp};
pub use context::RequestContext;
pub use decision::{Decision, DecisionResult, Obligations};
pub use eval::Verdict;
pub use snapshot::Snapshot;
