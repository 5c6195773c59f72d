//! Store errors. Database errors are classified here and their text is only
//! logged: SQL and driver messages never reach an API client.

/// What went wrong in the store, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not `sqlite://…` or `postgres://…`.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// A write conflicted with a concurrent one (unique key); retrying may succeed.
    #[error("the write conflicted with a concurrent write")]
    Conflict,
    /// The database could not be reached or timed out.
    #[error("the database is unavailable")]
    Unavailable,
    /// A stored document could not be read back (corruption or a bad migration).
    #[error("a stored document is unreadable: {0}")]
    Corrupt(String),
    /// Any other database failure; details are in the server log only.
    #[error("internal database error")]
    Internal,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::warn!(error = %e, "database unavailable");
                StoreError::Unavailable
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            sqlx::Error::Database(db)
                if db.message().contains("database is locked")
                    || db.code().as_deref() == Some("40001") =>
            {
                tracing::warn!(error = %e, "database busy");
                StoreError::Conflict
            }
            _ => {
                tracing::error!(error = %e, "database error");
                StoreError::Internal
            }
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}
