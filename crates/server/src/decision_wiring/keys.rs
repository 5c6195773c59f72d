//! Token signing keys kept in the store's `signing_keys` table, so every node
//! signs with the same key and a rotation on one is seen by all.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use portcullis_decision::tokens::KeyError;
use portcullis_decision::{KeyStore, StoredKey};
use portcullis_store::{SigningKey, Store, StoreError};

pub struct StoreKeys {
    store: Store,
}

impl StoreKeys {
    pub fn new(store: Store) -> Self {
        StoreKeys { store }
    }
}

fn key_error(e: StoreError) -> KeyError {
    KeyError::Store(e.to_string())
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_time(kid: &str, s: &str) -> Result<DateTime<Utc>, KeyError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| KeyError::Invalid {
            kid: kid.to_string(),
            message: format!("timestamp {s:?}: {e}"),
        })
}

#[async_trait]
impl KeyStore for StoreKeys {
    async fn load(&self) -> Result<Vec<StoredKey>, KeyError> {
        let rows = self.store.signing_keys().await.map_err(key_error)?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in rows {
            let created_at = parse_time(&row.kid, &row.created_at)?;
            let retired_at = row
                .retired_at
                .as_deref()
                .map(|r| parse_time(&row.kid, r))
                .transpose()?;
            keys.push(StoredKey {
                kid: row.kid,
                private_pem: row.private_pem,
                created_at,
                retired_at,
            });
        }
        Ok(keys)
    }

    async fn insert(&self, key: &StoredKey) -> Result<(), KeyError> {
        self.store
            .insert_signing_key(&SigningKey {
                kid: key.kid.clone(),
                private_pem: key.private_pem.clone(),
                created_at: timestamp(key.created_at),
                retired_at: key.retired_at.map(timestamp),
            })
            .await
            .map_err(key_error)
    }

    async fn retire(&self, kid: &str, at: DateTime<Utc>) -> Result<(), KeyError> {
        self.store
            .retire_signing_key(kid, &timestamp(at))
            .await
            .map(|_| ())
            .map_err(key_error)
    }
}
