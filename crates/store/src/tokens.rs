//! Admin API tokens and token signing keys.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::StoreError;
use crate::model::{ApiToken, SigningKey};
use crate::store::Store;
use crate::write::int;

fn token_from_row(row: &AnyRow) -> Result<ApiToken, StoreError> {
    let hash: String = row.try_get("secret_sha256")?;
    let mut secret_sha256 = [0u8; 32];
    hex::decode_to_slice(&hash, &mut secret_sha256)
        .map_err(|e| StoreError::Corrupt(format!("token hash: {e}")))?;
    Ok(ApiToken {
        id: row.try_get("id")?,
        secret_sha256,
        account_id: row.try_get("account_id")?,
        read_only: int(row, "read_only")? != 0,
        created_at: row.try_get("created_at")?,
        decision_only: int(row, "decision_only")? != 0,
    })
}

fn key_from_row(row: &AnyRow) -> Result<SigningKey, StoreError> {
    Ok(SigningKey {
        kid: row.try_get("kid")?,
        private_pem: row.try_get("private_pem")?,
        created_at: row.try_get("created_at")?,
        retired_at: row.try_get("retired_at")?,
    })
}

impl Store {
    /// Stores a token, replacing one with the same id.
    pub async fn put_api_token(&self, token: &ApiToken) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM api_tokens WHERE id = $1")
            .bind(&token.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, secret_sha256, account_id, read_only, created_at, decision_only) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&token.id)
        .bind(hex::encode(token.secret_sha256))
        .bind(&token.account_id)
        .bind(i64::from(token.read_only))
        .bind(&token.created_at)
        .bind(i64::from(token.decision_only))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn api_token(&self, id: &str) -> Result<Option<ApiToken>, StoreError> {
        let row: Option<AnyRow> = sqlx::query(
            "SELECT id, secret_sha256, account_id, read_only, created_at, decision_only FROM api_tokens WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// Every token (the decision service keeps them in memory so that checking
    /// a bearer token never waits on the database).
    pub async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let rows: Vec<AnyRow> = sqlx::query(
            "SELECT id, secret_sha256, account_id, read_only, created_at, decision_only FROM api_tokens ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    pub async fn api_token_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Every signing key, newest first.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let rows: Vec<AnyRow> = sqlx::query(
            "SELECT kid, private_pem, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    pub async fn signing_key(&self, kid: &str) -> Result<Option<SigningKey>, StoreError> {
        let row: Option<AnyRow> = sqlx::query(
            "SELECT kid, private_pem, created_at, retired_at FROM signing_keys WHERE kid = $1",
        )
        .bind(kid)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    pub async fn insert_signing_key(&self, key: &SigningKey) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, private_pem, created_at, retired_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&key.kid)
        .bind(&key.private_pem)
        .bind(&key.created_at)
        .bind(&key.retired_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn retire_signing_key(&self, kid: &str, at: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE kid = $2")
            .bind(at)
            .bind(kid)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
