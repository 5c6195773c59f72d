//! Admin API tokens: `Authorization: Bearer <token>` on every admin call.
//! Tokens are `pcat_<id>_<secret>`; only the SHA-256 of the whole token is
//! stored and compared in constant time. The bootstrap token from
//! `PORTCULLIS_ADMIN_TOKEN` may be any string and is stored under the id
//! `bootstrap`.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use portcullis_store::{ApiToken, Store, StoreError};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::AppState;

pub const BOOTSTRAP_TOKEN_ID: &str = "bootstrap";
const PREFIX: &str = "pcat_";

/// Who is calling: the token's id and what it may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: String,
    /// `None`: every account and zone.
    pub account_id: Option<String>,
    pub read_only: bool,
}

/// The SHA-256 a token is stored under.
pub fn sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// 32 random bytes as hex.
pub fn random_hex(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes * 2);
    while out.len() < bytes * 2 {
        out.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    out.truncate(bytes * 2);
    out
}

/// The id a presented token is stored under: `pcat_<id>_<secret>`, anything
/// else is the bootstrap token.
pub fn presented_id(presented: &str) -> &str {
    presented
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .map_or(BOOTSTRAP_TOKEN_ID, |(id, _)| id)
}

/// Creates and stores a new token; returns (id, token). The token is shown
/// once: only its hash is kept.
pub async fn create_token(
    store: &Store,
    account_id: Option<String>,
    read_only: bool,
) -> Result<(String, String), StoreError> {
    create_token_with(store, account_id, read_only, false).await
}

/// Creates a token that may only ask for decisions in `account_id`.
pub async fn create_decision_token(
    store: &Store,
    account_id: Option<String>,
) -> Result<(String, String), StoreError> {
    create_token_with(store, account_id, true, true).await
}

async fn create_token_with(
    store: &Store,
    account_id: Option<String>,
    read_only: bool,
    decision_only: bool,
) -> Result<(String, String), StoreError> {
    let id = random_hex(8);
    let token = format!("{PREFIX}{id}_{}", random_hex(32));
    store
        .put_api_token(&ApiToken {
            id: id.clone(),
            secret_sha256: sha256(&token),
            account_id,
            read_only,
            created_at: portcullis_store_now(),
            decision_only,
        })
        .await?;
    Ok((id, token))
}

fn portcullis_store_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// On start: store `PORTCULLIS_ADMIN_TOKEN` as the all-accounts bootstrap token;
/// with none given and no token stored yet, generate one. Returns the generated
/// token, which the caller prints once.
pub async fn bootstrap(
    store: &Store,
    admin_token: Option<&str>,
) -> Result<Option<String>, StoreError> {
    if let Some(token) = admin_token.filter(|t| !t.is_empty()) {
        store
            .put_api_token(&ApiToken {
                id: BOOTSTRAP_TOKEN_ID.to_string(),
                secret_sha256: sha256(token),
                account_id: None,
                read_only: false,
                created_at: portcullis_store_now(),
                decision_only: false,
            })
            .await?;
        return Ok(None);
    }
    if store.api_token_count().await? > 0 {
        return Ok(None);
    }
    let (_, token) = create_token(store, None, false).await?;
    Ok(Some(token))
}

/// Checks a presented token against the store.
pub async fn verify(store: &Store, presented: &str) -> Result<Principal, ApiError> {
    let Some(token) = store.api_token(presented_id(presented)).await? else {
        return Err(ApiError::Unauthenticated);
    };
    if !bool::from(sha256(presented).ct_eq(&token.secret_sha256)) {
        return Err(ApiError::Unauthenticated);
    }
    if token.decision_only {
        return Err(ApiError::Forbidden(
            "the admin API: it is a decision-only token".into(),
        ));
    }
    Ok(Principal {
        token_id: token.id,
        account_id: token.account_id,
        read_only: token.read_only,
    })
}

/// The owner an admin path is about: `/client/v4/accounts/{id}/…`,
/// `/client/v4/zones/{id}/…` or `/v1/accounts/{id}/…`; (is_zone, id).
fn path_owner(path: &str) -> Option<(bool, &str)> {
    let rest = path
        .strip_prefix("/client/v4/")
        .or_else(|| path.strip_prefix("/v1/"))?;
    let mut parts = rest.split('/');
    let zone = match parts.next()? {
        "accounts" => false,
        "zones" => true,
        _ => return None,
    };
    parts
        .next()
        .filter(|id| !id.is_empty())
        .map(|id| (zone, id))
}

/// Middleware: 401 without a valid token, 403 for a token of another account or
/// a read-only token that writes. Puts the [`Principal`] in the request.
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthenticated)?;
    let principal = verify(&state.store, presented).await?;
    if let Some(allowed) = &principal.account_id {
        match path_owner(req.uri().path()) {
            Some((false, id)) if id == allowed => {}
            Some((zone, id)) => {
                let scope = if zone { "zone" } else { "account" };
                return Err(ApiError::Forbidden(format!("{scope} {id}")));
            }
            None => return Err(ApiError::Forbidden("this path".into())),
        }
    }
    let reads = matches!(*req.method(), Method::GET | Method::HEAD);
    if principal.read_only && !reads {
        return Err(ApiError::ReadOnly);
    }
    req.extensions_mut().insert(principal);
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_owner_of_admin_paths() {
        assert_eq!(
            path_owner("/client/v4/accounts/a1/access/apps"),
            Some((false, "a1"))
        );
        assert_eq!(
            path_owner("/client/v4/zones/z/access/apps"),
            Some((true, "z"))
        );
        assert_eq!(path_owner("/v1/accounts/a1/audit"), Some((false, "a1")));
        assert_eq!(path_owner("/healthz"), None);
    }

    #[test]
    fn random_tokens_have_the_asked_length() {
        assert_eq!(random_hex(32).len(), 64);
        assert_ne!(random_hex(8), random_hex(8));
    }
}
