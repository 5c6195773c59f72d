//! The access requests log: one row per decision, as Cloudflare's
//! `/access/logs/access_requests` lists them, kept to the newest N per account.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::StoreError;
use crate::store::{Backend, Store};
use crate::write::int;

/// One access request. `created_at` is RFC 3339, UTC, microseconds, so text
/// order is time order on both databases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRequest {
    pub account_id: String,
    pub created_at: String,
    pub ray_id: String,
    pub action: String,
    pub allowed: bool,
    pub app_domain: Option<String>,
    pub app_uid: Option<String>,
    pub country: Option<String>,
    pub ip_address: Option<String>,
    pub user_email: Option<String>,
}

/// Which rows to list: Cloudflare's `since`, `until`, `direction`, `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRequestQuery {
    /// Inclusive lower bound on `created_at` (RFC 3339, UTC, microseconds).
    pub since: Option<String>,
    /// Inclusive upper bound on `created_at`.
    pub until: Option<String>,
    /// Oldest first instead of newest first.
    pub ascending: bool,
    pub offset: u64,
    pub limit: u64,
}

const COLUMNS: &str = "account_id, created_at, ray_id, action, allowed, app_domain, app_uid, country, ip_address, user_email";

fn from_row(row: &AnyRow) -> Result<AccessRequest, StoreError> {
    Ok(AccessRequest {
        account_id: row.try_get("account_id")?,
        created_at: row.try_get("created_at")?,
        ray_id: row.try_get("ray_id")?,
        action: row.try_get("action")?,
        allowed: int(row, "allowed")? != 0,
        app_domain: row.try_get("app_domain")?,
        app_uid: row.try_get("app_uid")?,
        country: row.try_get("country")?,
        ip_address: row.try_get("ip_address")?,
        user_email: row.try_get("user_email")?,
    })
}

/// Most rows one INSERT statement carries (10 parameters each; well under
/// SQLite's 32,766 and PostgreSQL's 65,535).
pub const ROWS_PER_INSERT: usize = 64;

/// The largest power of two up to `ROWS_PER_INSERT` that is at most `left`.
fn chunk_len(left: usize) -> usize {
    let mut n = ROWS_PER_INSERT;
    while n > left {
        n /= 2;
    }
    n
}

/// `INSERT … VALUES (…), (…)` for `rows` rows (a power of two up to
/// [`ROWS_PER_INSERT`]), built once per shape and backend. SQLite gets
/// anonymous `?` parameters: for each `$N` the driver asks SQLite the
/// parameter's name, a linear search, which made a 640-parameter statement
/// quadratic (a third of the writer's time).
fn insert_sql(rows: usize, backend: Backend) -> &'static str {
    use std::sync::OnceLock;
    const SHAPES: usize = ROWS_PER_INSERT.trailing_zeros() as usize + 1;
    static SQLITE: [OnceLock<String>; SHAPES] = [const { OnceLock::new() }; SHAPES];
    static POSTGRES: [OnceLock<String>; SHAPES] = [const { OnceLock::new() }; SHAPES];
    let shape = (rows.trailing_zeros() as usize).min(SHAPES - 1);
    let cache = match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    cache[shape].get_or_init(|| {
        let rows = 1usize << shape;
        let mut sql = format!("INSERT INTO access_logs ({COLUMNS}) VALUES ");
        for r in 0..rows {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..10 {
                if c > 0 {
                    sql.push_str(", ");
                }
                match backend {
                    Backend::Sqlite => sql.push('?'),
                    Backend::Postgres => sql.push_str(&format!("${}", r * 10 + c + 1)),
                }
            }
            sql.push(')');
        }
        sql
    })
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Appends rows in one transaction (the log writer batches them), up to
    /// [`ROWS_PER_INSERT`] rows per statement: one statement per row costs a
    /// round trip to the SQLite worker thread (or the PostgreSQL server) each.
    pub async fn insert_access_requests(&self, rows: &[AccessRequest]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        let mut rest = rows;
        while !rest.is_empty() {
            // Chunks of a power of two: at most seven statement shapes, so the
            // prepared-statement cache keeps them all.
            let n = chunk_len(rest.len());
            let (chunk, tail) = rest.split_at(n);
            let mut q = sqlx::query(insert_sql(n, self.backend()));
            for r in chunk {
                q = q
                    .bind(&r.account_id)
                    .bind(&r.created_at)
                    .bind(&r.ray_id)
                    .bind(&r.action)
                    .bind(i64::from(r.allowed))
                    .bind(&r.app_domain)
                    .bind(&r.app_uid)
                    .bind(&r.country)
                    .bind(&r.ip_address)
                    .bind(&r.user_email);
            }
            q.execute(&mut *tx).await?;
            rest = tail;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One account's access requests matching `query`.
    pub async fn access_requests(
        &self,
        account: &str,
        query: &AccessRequestQuery,
    ) -> Result<Vec<AccessRequest>, StoreError> {
        let order = if query.ascending { "ASC" } else { "DESC" };
        // Bounds are added only when given: a NULL parameter has no type on
        // PostgreSQL.
        let mut sql = format!("SELECT {COLUMNS} FROM access_logs WHERE account_id = $1");
        let mut n = 1;
        for (bound, op) in [(&query.since, ">="), (&query.until, "<=")] {
            if bound.is_some() {
                n += 1;
                sql.push_str(&format!(" AND created_at {op} ${n}"));
            }
        }
        sql.push_str(&format!(
            " ORDER BY created_at {order}, ray_id {order} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ));
        let mut q = sqlx::query(&sql).bind(account);
        for bound in [&query.since, &query.until].into_iter().flatten() {
            q = q.bind(bound);
        }
        let rows: Vec<AnyRow> = q
            .bind(clamp(query.limit))
            .bind(clamp(query.offset))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Deletes all but the newest `keep` rows of every account; returns how
    /// many rows went.
    pub async fn prune_access_requests(&self, keep: u64) -> Result<u64, StoreError> {
        let accounts: Vec<String> = sqlx::query_scalar(
            "SELECT account_id FROM access_logs GROUP BY account_id HAVING COUNT(*) > $1",
        )
        .bind(clamp(keep))
        .fetch_all(&self.pool)
        .await?;
        let mut removed = 0;
        for account in accounts {
            // The created_at of the oldest row to keep; rows strictly older go.
            let cutoff: Option<String> = sqlx::query_scalar(
                "SELECT created_at FROM access_logs WHERE account_id = $1 \
                 ORDER BY created_at DESC LIMIT 1 OFFSET $2",
            )
            .bind(&account)
            .bind(clamp(keep.saturating_sub(1)))
            .fetch_optional(&self.pool)
            .await?;
            let Some(cutoff) = cutoff else { continue };
            let done =
                sqlx::query("DELETE FROM access_logs WHERE account_id = $1 AND created_at < $2")
                    .bind(&account)
                    .bind(&cutoff)
                    .execute(&self.pool)
                    .await?;
            removed += done.rows_affected();
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_cut_into_power_of_two_statements() {
        let mut left = 150;
        let mut chunks = Vec::new();
        while left > 0 {
            let n = chunk_len(left);
            chunks.push(n);
            left -= n;
        }
        assert_eq!(chunks, vec![64, 64, 16, 4, 2]);
        assert_eq!(insert_sql(1, Backend::Postgres).matches('(').count(), 2);
        let sql = insert_sql(64, Backend::Postgres);
        assert_eq!(sql.matches("), (").count(), 63);
        assert!(sql.ends_with("$631, $632, $633, $634, $635, $636, $637, $638, $639, $640)"));
        let sql = insert_sql(4, Backend::Sqlite);
        assert_eq!(sql.matches('?').count(), 40);
        assert!(!sql.contains('$'));
    }
}
