//! Embedded, ordered schema migrations. The same SQL runs on SQLite and
//! PostgreSQL: only TEXT and BIGINT columns, sequence numbers assigned by the
//! store from `change_counter` (which also serialises writers).

use sqlx::{Any, Pool};

use crate::error::StoreError;

/// (version, statements). Append only; never edit an applied migration.
const MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            "CREATE TABLE change_counter (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL)",
            "INSERT INTO change_counter (id, seq) VALUES (1, 0)",
            "CREATE TABLE objects (
            account_id TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
            doc TEXT NOT NULL, created_seq BIGINT NOT NULL,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            PRIMARY KEY (account_id, kind, id))",
            "CREATE INDEX objects_order ON objects (account_id, kind, created_seq)",
            "CREATE TABLE object_refs (
            account_id TEXT NOT NULL, from_kind TEXT NOT NULL, from_id TEXT NOT NULL,
            to_kind TEXT NOT NULL, to_id TEXT NOT NULL,
            PRIMARY KEY (account_id, from_kind, from_id, to_kind, to_id))",
            "CREATE INDEX object_refs_to ON object_refs (account_id, to_kind, to_id)",
            "CREATE TABLE changes (
            seq BIGINT NOT NULL, account_id TEXT NOT NULL, kind TEXT NOT NULL,
            object_id TEXT NOT NULL, op TEXT NOT NULL)",
            "CREATE INDEX changes_seq ON changes (seq)",
            "CREATE TABLE audit_log (
            seq BIGINT NOT NULL, idx BIGINT NOT NULL, account_id TEXT NOT NULL,
            token_id TEXT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL,
            object_id TEXT NOT NULL, op TEXT NOT NULL, before_doc TEXT, after_doc TEXT,
            PRIMARY KEY (seq, idx))",
            "CREATE INDEX audit_account ON audit_log (account_id, seq)",
            "CREATE TABLE api_tokens (
            id TEXT PRIMARY KEY, secret_sha256 TEXT NOT NULL, account_id TEXT,
            read_only BIGINT NOT NULL, created_at TEXT NOT NULL)",
            "CREATE TABLE signing_keys (
            kid TEXT PRIMARY KEY, private_pem TEXT NOT NULL,
            created_at TEXT NOT NULL, retired_at TEXT)",
        ],
    ),
    (
        2,
        &[
            // Tokens that may only ask for decisions (`token create --decision-only`).
            "ALTER TABLE api_tokens ADD COLUMN decision_only BIGINT NOT NULL DEFAULT 0",
            // Cloudflare's access requests log; pruned to the newest N per account.
            "CREATE TABLE access_logs (
            account_id TEXT NOT NULL, created_at TEXT NOT NULL, ray_id TEXT NOT NULL,
            action TEXT NOT NULL, allowed BIGINT NOT NULL, app_domain TEXT, app_uid TEXT,
            country TEXT, ip_address TEXT, user_email TEXT)",
            "CREATE INDEX access_logs_account ON access_logs (account_id, created_at)",
        ],
    ),
];

/// Applies every migration not yet recorded in `schema_migrations`, each in its
/// own transaction.
pub async fn run(pool: &Pool<Any>) -> Result<(), StoreError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .execute(pool)
    .await?;
    for (version, statements) in MIGRATIONS {
        let mut tx = pool.begin().await?;
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(*version)
                .fetch_optional(&mut *tx)
                .await?;
        if applied.is_some() {
            continue;
        }
        for sql in *statements {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(*version)
            .bind(crate::model::now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}
