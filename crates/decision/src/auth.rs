//! Who may call the decision API: the server checks `Authorization: Bearer`
//! tokens against its admin tokens; tests use a fixed token.

use async_trait::async_trait;

#[async_trait]
pub trait BearerAuth: Send + Sync + 'static {
    /// Whether `token` may ask for decisions in `account_id`.
    async fn allows(&self, account_id: &str, token: &str) -> bool;
}

/// One fixed token for every account.
#[derive(Debug, Clone)]
pub struct StaticBearer(pub String);

#[async_trait]
impl BearerAuth for StaticBearer {
    async fn allows(&self, _account_id: &str, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        !self.0.is_empty() && bool::from(self.0.as_bytes().ct_eq(token.as_bytes()))
    }
}
