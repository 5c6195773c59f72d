//! Who may ask for decisions: admin tokens (all accounts or their account) and
//! decision-only tokens (`portcullis token create --decision-only`).
//!
//! The tokens are kept in memory and reloaded in the background, so checking a
//! bearer token on the decision path never waits on the database, and keeps
//! working while the database is down. An unknown token triggers at most one
//! reload a second (a token created a moment ago by the CLI works at once).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use portcullis_decision::BearerAuth;
use portcullis_store::{ApiToken, Store};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

use crate::auth::{presented_id, sha256};

pub struct StoreBearer {
    store: Store,
    tokens: ArcSwap<HashMap<String, ApiToken>>,
    last_reload: Mutex<Option<Instant>>,
}

/// Shortest time between two reloads caused by unknown tokens.
const MISS_RELOAD_EVERY: Duration = Duration::from_secs(1);

impl StoreBearer {
    pub fn new(store: Store) -> Self {
        StoreBearer {
            store,
            tokens: ArcSwap::from_pointee(HashMap::new()),
            last_reload: Mutex::new(None),
        }
    }

    /// Reloads every token from the store; on failure the known ones stay.
    pub async fn reload(&self) {
        match self.store.api_tokens().await {
            Ok(tokens) => {
                let map = tokens.into_iter().map(|t| (t.id.clone(), t)).collect();
                self.tokens.store(Arc::new(map));
            }
            Err(e) => tracing::warn!(error = %e, "API tokens not reloaded; keeping the known ones"),
        }
    }

    /// Reloads every `every` until the task is dropped.
    pub async fn run_reload(self: Arc<Self>, every: Duration) {
        loop {
            tokio::time::sleep(every).await;
            self.reload().await;
            *self.last_reload.lock().await = Some(Instant::now());
        }
    }

    fn check(&self, account_id: &str, presented: &str) -> Option<bool> {
        let tokens = self.tokens.load();
        let token = tokens.get(presented_id(presented))?;
        if !bool::from(sha256(presented).ct_eq(&token.secret_sha256)) {
            return Some(false);
        }
        Some(token.account_id.as_deref().is_none_or(|a| a == account_id))
    }
}

#[async_trait]
impl BearerAuth for StoreBearer {
    async fn allows(&self, account_id: &str, token: &str) -> bool {
        if let Some(answer) = self.check(account_id, token) {
            return answer;
        }
        {
            let mut last = self.last_reload.lock().await;
            if last.is_some_and(|t| t.elapsed() < MISS_RELOAD_EVERY) {
                return false;
            }
            *last = Some(Instant::now());
        }
        self.reload().await;
        self.check(account_id, token).unwrap_or(false)
    }
}
