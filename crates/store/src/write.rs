//! One API write = one transaction. The first statement bumps the change
//! counter, which takes the write lock (SQLite) or the counter's row lock
//! (PostgreSQL): writers are serialised, so the checks a write makes against
//! what is stored cannot be invalidated by a concurrent write, and sequence
//! numbers become visible in order.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tokio::sync::OwnedMutexGuard;

use crate::error::StoreError;
use crate::model::{now, ChangeOp, Kind, ObjectRef, StoredObject};
use crate::read::object_from_row;
use crate::store::{Backend, Store};
use crate::CHANGES_CHANNEL;

/// An open write on one account. Dropped without [`Write::commit`] it rolls back.
pub struct Write {
    tx: Transaction<'static, Any>,
    _guard: Option<OwnedMutexGuard<()>>,
    backend: Backend,
    account: String,
    token_id: String,
    seq: i64,
    at: String,
    audit_idx: i64,
}

const OBJECT_COLUMNS: &str = "account_id, kind, id, doc, created_at, updated_at";

impl Store {
    /// Starts a write on `account` by the admin token `token_id`.
    pub async fn begin_write(&self, account: &str, token_id: &str) -> Result<Write, StoreError> {
        let guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        let mut tx = self.pool.begin().await?;
        let seq: i64 = sqlx::query_scalar(
            "UPDATE change_counter SET seq = seq + 1 WHERE id = 1 RETURNING seq",
        )
        .fetch_one(&mut *tx)
        .await?;
        Ok(Write {
            tx,
            _guard: guard,
            backend: self.backend,
            account: account.to_string(),
            token_id: token_id.to_string(),
            seq,
            at: now(),
            audit_idx: 0,
        })
    }
}

impl Write {
    /// The account (or `zone:` owner) the write is on.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The sequence number this write will commit under.
    pub fn seq(&self) -> i64 {
        self.seq
    }

    /// The time of the write, as stored in `created_at` / `updated_at`.
    pub fn at(&self) -> &str {
        &self.at
    }

    pub async fn get(&mut self, kind: Kind, id: &str) -> Result<Option<StoredObject>, StoreError> {
        let row: Option<AnyRow> = sqlx::query(&format!(
            "SELECT {OBJECT_COLUMNS} FROM objects WHERE account_id = $1 AND kind = $2 AND id = $3"
        ))
        .bind(&self.account)
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(object_from_row).transpose()
    }

    /// Every object of one kind of this account, in creation order.
    pub async fn all(&mut self, kind: Kind) -> Result<Vec<StoredObject>, StoreError> {
        let rows: Vec<AnyRow> = sqlx::query(&format!(
            "SELECT {OBJECT_COLUMNS} FROM objects WHERE account_id = $1 AND kind = $2 ORDER BY created_seq, id"
        ))
        .bind(&self.account)
        .bind(kind.as_str())
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(object_from_row).collect()
    }

    /// The objects that refer to `kind`/`id`.
    pub async fn referrers(&mut self, kind: Kind, id: &str) -> Result<Vec<ObjectRef>, StoreError> {
        let rows: Vec<AnyRow> = sqlx::query(
            "SELECT from_kind, from_id FROM object_refs WHERE account_id = $1 AND to_kind = $2 AND to_id = $3 ORDER BY from_kind, from_id",
        )
        .bind(&self.account)
        .bind(kind.as_str())
        .bind(id)
        .fetch_all(&mut *self.tx)
        .await?;
        crate::read::refs_from_rows(&rows)
    }

    /// Creates or fully replaces an object and the references it makes.
    pub async fn put(
        &mut self,
        kind: Kind,
        id: &str,
        doc: &serde_json::Value,
        references: &[ObjectRef],
    ) -> Result<StoredObject, StoreError> {
        let before = self.get(kind, id).await?;
        let text = serde_json::to_string(doc)?;
        let created_at = match &before {
            Some(b) => {
                sqlx::query(
                    "UPDATE objects SET doc = $1, updated_at = $2 WHERE account_id = $3 AND kind = $4 AND id = $5",
                )
                .bind(&text)
                .bind(&self.at)
                .bind(&self.account)
                .bind(kind.as_str())
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
                b.created_at.clone()
            }
            None => {
                sqlx::query(
                    "INSERT INTO objects (account_id, kind, id, doc, created_seq, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&self.account)
                .bind(kind.as_str())
                .bind(id)
                .bind(&text)
                .bind(self.seq)
                .bind(&self.at)
                .bind(&self.at)
                .execute(&mut *self.tx)
                .await?;
                self.at.clone()
            }
        };
        self.replace_references(kind, id, references).await?;
        let op = if before.is_some() {
            ChangeOp::Update
        } else {
            ChangeOp::Create
        };
        self.record(kind, id, op, before.as_ref().map(|b| &b.doc), Some(doc))
            .await?;
        Ok(StoredObject {
            account_id: self.account.clone(),
            kind,
            id: id.to_string(),
            doc: doc.clone(),
            created_at,
            updated_at: self.at.clone(),
        })
    }

    /// Deletes an object and the references it makes; `None` when it did not exist.
    pub async fn delete(
        &mut self,
        kind: Kind,
        id: &str,
    ) -> Result<Option<StoredObject>, StoreError> {
        let Some(before) = self.get(kind, id).await? else {
            return Ok(None);
        };
        sqlx::query("DELETE FROM objects WHERE account_id = $1 AND kind = $2 AND id = $3")
            .bind(&self.account)
            .bind(kind.as_str())
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        self.replace_references(kind, id, &[]).await?;
        self.record(kind, id, ChangeOp::Delete, Some(&before.doc), None)
            .await?;
        Ok(Some(before))
    }

    async fn replace_references(
        &mut self,
        kind: Kind,
        id: &str,
        references: &[ObjectRef],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM object_refs WHERE account_id = $1 AND from_kind = $2 AND from_id = $3",
        )
        .bind(&self.account)
        .bind(kind.as_str())
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        let mut seen = std::collections::HashSet::new();
        for r in references {
            if !seen.insert(r) {
                continue;
            }
            sqlx::query(
                "INSERT INTO object_refs (account_id, from_kind, from_id, to_kind, to_id) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&self.account)
            .bind(kind.as_str())
            .bind(id)
            .bind(r.kind.as_str())
            .bind(&r.id)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    async fn record(
        &mut self,
        kind: Kind,
        id: &str,
        op: ChangeOp,
        before: Option<&serde_json::Value>,
        after: Option<&serde_json::Value>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO changes (seq, account_id, kind, object_id, op) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(self.seq)
        .bind(&self.account)
        .bind(kind.as_str())
        .bind(id)
        .bind(op.as_str())
        .execute(&mut *self.tx)
        .await?;
        let before = before.map(redacted).transpose()?;
        let after = after.map(redacted).transpose()?;
        sqlx::query(
            "INSERT INTO audit_log (seq, idx, account_id, token_id, at, kind, object_id, op, before_doc, after_doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(self.seq)
        .bind(self.audit_idx)
        .bind(&self.account)
        .bind(&self.token_id)
        .bind(&self.at)
        .bind(kind.as_str())
        .bind(id)
        .bind(op.as_str())
        .bind(before)
        .bind(after)
        .execute(&mut *self.tx)
        .await?;
        self.audit_idx += 1;
        Ok(())
    }

    /// Commits; the write is acknowledged only after this returns. On
    /// PostgreSQL the change is announced with `NOTIFY` inside the transaction,
    /// so listeners hear of it exactly when it becomes visible.
    pub async fn commit(mut self) -> Result<i64, StoreError> {
        if self.backend == Backend::Postgres {
            let payload = format!("{}:{}", self.account, self.seq);
            sqlx::query("SELECT 1 FROM (SELECT pg_notify($1, $2)) AS notified")
                .bind(CHANGES_CHANNEL)
                .bind(payload)
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await?;
        Ok(self.seq)
    }
}

/// The audit log never holds secret hashes.
fn redacted(doc: &serde_json::Value) -> Result<String, StoreError> {
    let mut doc = doc.clone();
    if let Some(map) = doc.as_object_mut() {
        map.retain(|k, _| !k.contains("secret_sha256"));
    }
    Ok(serde_json::to_string(&doc)?)
}

/// Reads a row's `seq`-like integer column.
pub(crate) fn int(row: &AnyRow, col: &str) -> Result<i64, StoreError> {
    Ok(row.try_get::<i64, _>(col)?)
}
