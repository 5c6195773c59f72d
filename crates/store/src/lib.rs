//! Persistence of portcullis: every administered object as a validated JSON
//! document per (account, kind, id), a references table for in-use checks, a
//! change feed with one sequence number per write, an audit log, admin API tokens
//! and token signing keys. SQLite (the embedded default) and PostgreSQL sit behind
//! one [`Store`], chosen by the URL scheme; SQL never leaves this crate.

pub mod access_logs;
mod error;
mod migrations;
mod model;
mod read;
mod store;
mod tokens;
mod write;

pub use access_logs::{AccessRequest, AccessRequestQuery};
pub use error::StoreError;
pub use model::{
    owner_key, ApiToken, AuditEntry, Change, ChangeOp, Kind, ObjectRef, Page, SigningKey,
    StoredObject,
};
/// Every object of one account as its wire JSON with its `id`, grouped by kind
/// ([`Store::account_objects`]); `portcullis_formats::stored::lower_account`
/// lowers it.
pub use portcullis_formats::stored::AccountObjects;
pub use store::{Backend, Store};
pub use write::Write;

/// The PostgreSQL channel every committed write is announced on, with the
/// payload `<account_id>:<seq>`.
pub const CHANGES_CHANNEL: &str = "portcullis_changes";
