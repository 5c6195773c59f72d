//! Reads outside a write: objects, pages, the change feed and the audit log.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::StoreError;
use crate::model::{AuditEntry, Change, ChangeOp, Kind, ObjectRef, Page, StoredObject};
use crate::store::Store;
use crate::write::int;
use crate::AccountObjects;

pub(crate) fn object_from_row(row: &AnyRow) -> Result<StoredObject, StoreError> {
    let kind: String = row.try_get("kind")?;
    let doc: String = row.try_get("doc")?;
    Ok(StoredObject {
        account_id: row.try_get("account_id")?,
        kind: Kind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("kind {kind:?}")))?,
        id: row.try_get("id")?,
        doc: serde_json::from_str(&doc)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(crate) fn refs_from_rows(rows: &[AnyRow]) -> Result<Vec<ObjectRef>, StoreError> {
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("from_kind")?;
            Ok(ObjectRef {
                kind: Kind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("kind {kind:?}")))?,
                id: row.try_get("from_id")?,
            })
        })
        .collect()
}

fn kind_of(s: &str) -> Result<Kind, StoreError> {
    Kind::parse(s).ok_or_else(|| StoreError::Corrupt(format!("kind {s:?}")))
}

const OBJECT_COLUMNS: &str = "account_id, kind, id, doc, created_at, updated_at";

impl Store {
    pub async fn get(
        &self,
        account: &str,
        kind: Kind,
        id: &str,
    ) -> Result<Option<StoredObject>, StoreError> {
        let row: Option<AnyRow> = sqlx::query(&format!(
            "SELECT {OBJECT_COLUMNS} FROM objects WHERE account_id = $1 AND kind = $2 AND id = $3"
        ))
        .bind(account)
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(object_from_row).transpose()
    }

    /// One page of an account's objects of one kind, in creation order.
    /// `offset` past the end gives an empty page.
    pub async fn list(
        &self,
        account: &str,
        kind: Kind,
        offset: u64,
        limit: u64,
    ) -> Result<Page<StoredObject>, StoreError> {
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM objects WHERE account_id = $1 AND kind = $2")
                .bind(account)
                .bind(kind.as_str())
                .fetch_one(&self.pool)
                .await?;
        let rows: Vec<AnyRow> = sqlx::query(&format!(
            "SELECT {OBJECT_COLUMNS} FROM objects WHERE account_id = $1 AND kind = $2 ORDER BY created_seq, id LIMIT $3 OFFSET $4"
        ))
        .bind(account)
        .bind(kind.as_str())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        Ok(Page {
            items: rows.iter().map(object_from_row).collect::<Result<_, _>>()?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    /// The objects that refer to `kind`/`id`.
    pub async fn referrers(
        &self,
        account: &str,
        kind: Kind,
        id: &str,
    ) -> Result<Vec<ObjectRef>, StoreError> {
        let rows: Vec<AnyRow> = sqlx::query(
            "SELECT from_kind, from_id FROM object_refs WHERE account_id = $1 AND to_kind = $2 AND to_id = $3 ORDER BY from_kind, from_id",
        )
        .bind(account)
        .bind(kind.as_str())
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        refs_from_rows(&rows)
    }

    /// How many objects of `from` kind refer to each object of `to` kind that is
    /// referred to at all (`app_count` of reusable policies).
    pub async fn reference_counts(
        &self,
        account: &str,
        from: Kind,
        to: Kind,
    ) -> Result<HashMap<String, u64>, StoreError> {
        let rows: Vec<AnyRow> = sqlx::query(
            "SELECT to_id, COUNT(*) AS n FROM object_refs WHERE account_id = $1 AND from_kind = $2 AND to_kind = $3 GROUP BY to_id",
        )
        .bind(account)
        .bind(from.as_str())
        .bind(to.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>("to_id")?,
                    u64::try_from(int(r, "n")?).unwrap_or(0),
                ))
            })
            .collect()
    }

    /// Every object of an account as JSON with its `id`, grouped by kind, for
    /// building the account's decision snapshot. Policies carry `reusable`;
    /// service tokens keep their secret hashes.
    pub async fn account_objects(&self, account: &str) -> Result<AccountObjects, StoreError> {
        let rows: Vec<AnyRow> = sqlx::query(&format!(
            "SELECT {OBJECT_COLUMNS} FROM objects WHERE account_id = $1 ORDER BY created_seq, id"
        ))
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        let mut out = AccountObjects::default();
        for row in &rows {
            let object = object_from_row(row)?;
            let mut doc = object.doc;
            if let Some(map) = doc.as_object_mut() {
                map.insert("id".into(), object.id.into());
            }
            match object.kind {
                Kind::Policy | Kind::AppPolicy => {
                    if let Some(map) = doc.as_object_mut() {
                        map.insert("reusable".into(), (object.kind == Kind::Policy).into());
                    }
                    out.policies.push(doc)
                }
                Kind::App => out.apps.push(doc),
                Kind::Group => out.groups.push(doc),
                Kind::List => out.lists.push(doc),
                Kind::ServiceToken => out.service_tokens.push(doc),
                Kind::ZtnaPolicy => out.ztna_policies.push(doc),
                Kind::AuthorizePolicy => out.authorize_policies.push(doc),
                Kind::AccessLevel => out.access_levels.push(doc),
                Kind::DecisionEndpoint => out.decision_endpoints.push(doc),
                // Containers and bookkeeping, not part of any decision.
                Kind::AcmPolicy | Kind::AcmOperation => {}
            }
        }
        Ok(out)
    }

    /// The owner of an object found by kind and id alone, for kinds whose ids are
    /// unique server-wide (ACM access policies and operations are addressed
    /// without their account).
    pub async fn owner_of(&self, kind: Kind, id: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT account_id FROM objects WHERE kind = $1 AND id = $2 ORDER BY account_id LIMIT 1",
        )
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every account (and `zone:` owner) that holds at least one object.
    pub async fn accounts(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT DISTINCT account_id FROM objects ORDER BY account_id")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The sequence number of the last committed write (0 before the first).
    pub async fn current_sequence(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT seq FROM change_counter WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Changes committed after `seq`, oldest first.
    pub async fn changes_since(&self, seq: i64) -> Result<Vec<Change>, StoreError> {
        let rows: Vec<AnyRow> = sqlx::query(
            "SELECT seq, account_id, kind, object_id, op FROM changes WHERE seq > $1 ORDER BY seq",
        )
        .bind(seq)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let op: String = r.try_get("op")?;
                Ok(Change {
                    seq: int(r, "seq")?,
                    account_id: r.try_get("account_id")?,
                    kind: kind_of(&r.try_get::<String, _>("kind")?)?,
                    object_id: r.try_get("object_id")?,
                    op: ChangeOp::parse(&op)
                        .ok_or_else(|| StoreError::Corrupt(format!("op {op:?}")))?,
                })
            })
            .collect()
    }

    /// One page of an account's audit log, newest first.
    pub async fn audit(
        &self,
        account: &str,
        offset: u64,
        limit: u64,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE account_id = $1")
            .bind(account)
            .fetch_one(&self.pool)
            .await?;
        let rows: Vec<AnyRow> = sqlx::query(
            "SELECT seq, token_id, at, kind, object_id, op, before_doc, after_doc FROM audit_log WHERE account_id = $1 ORDER BY seq DESC, idx DESC LIMIT $2 OFFSET $3",
        )
        .bind(account)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let doc = |s: Option<String>| -> Result<Option<serde_json::Value>, StoreError> {
            s.map(|s| serde_json::from_str(&s))
                .transpose()
                .map_err(Into::into)
        };
        let items = rows
            .iter()
            .map(|r| {
                let op: String = r.try_get("op")?;
                Ok(AuditEntry {
                    seq: int(r, "seq")?,
                    token_id: r.try_get("token_id")?,
                    at: r.try_get("at")?,
                    kind: kind_of(&r.try_get::<String, _>("kind")?)?,
                    object_id: r.try_get("object_id")?,
                    op: ChangeOp::parse(&op)
                        .ok_or_else(|| StoreError::Corrupt(format!("op {op:?}")))?,
                    before: doc(r.try_get("before_doc")?)?,
                    after: doc(r.try_get("after_doc")?)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Page {
            items,
            total: u64::try_from(total).unwrap_or(0),
        })
    }
}
