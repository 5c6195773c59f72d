//! Issuing and verifying application tokens.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, Header, Validation};
use portcullis_core::context::Identity;
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use super::keys::{KeyError, KeyRing};

pub const TOKEN_TYPE_APP: &str = "app";

/// The claims of an application token. `identity` carries the attributes the
/// app's policies need, so forward-auth can re-evaluate them on every request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppTokenClaims {
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub sub: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub identity_nonce: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default)]
    pub identity: Option<Identity>,
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// Why a token was refused. Every variant means "not authenticated" (401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token algorithm {0} is not accepted; only RS256")]
    Algorithm(String),
    #[error("token key id is unknown")]
    UnknownKey,
    #[error("token signature or claims are invalid: {0}")]
    Invalid(String),
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token audience does not match the application")]
    WrongAudience,
    #[error("token cannot be signed: {0}")]
    Signing(String),
}

impl From<KeyError> for TokenError {
    fn from(e: KeyError) -> Self {
        TokenError::Signing(e.to_string())
    }
}

/// Lower-case hex, without an allocation per byte.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// The 64-hex audience tag of an app without a stored `aud`: derived from the
/// account and app ids, so every node computes the same one.
pub fn app_audience(account_id: &str, app_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(account_id.as_bytes())
        .chain_update([0u8])
        .chain_update(app_id.as_bytes())
        .finalize();
    hex(&digest)
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex(&buf)
}

/// Signs a token for `aud`. Its lifetime is the session duration, capped at the
/// key ring's longest token lifetime.
pub fn issue(
    keys: &KeyRing,
    issuer: &str,
    aud: &str,
    identity: Option<&Identity>,
    country: Option<&str>,
    session: Duration,
    now: DateTime<Utc>,
) -> Result<(String, AppTokenClaims), TokenError> {
    let set = keys.keys();
    let key = set.active.as_ref().ok_or(KeyError::NoSigningKey)?;
    let session = session.min(keys.max_token_lifetime()).max(Duration::zero());
    let iat = now.timestamp();
    let email = identity.and_then(|i| i.email.clone());
    let sub = identity
        .and_then(|i| i.user_id.clone().or_else(|| i.email.clone()))
        .unwrap_or_default();
    let claims = AppTokenClaims {
        aud: vec![aud.to_string()],
        email,
        sub,
        iss: issuer.to_string(),
        iat,
        nbf: iat,
        exp: iat + session.num_seconds(),
        kind: TOKEN_TYPE_APP.to_string(),
        identity_nonce: random_hex(16),
        country: country.map(str::to_string),
        identity: identity.cloned(),
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid().to_string());
    let token = jsonwebtoken::encode(&header, &claims, &key.encoding)
        .map_err(|e| TokenError::Signing(e.to_string()))?;
    Ok((token, claims))
}

/// Allowed clock difference between nodes for `nbf`.
const NBF_LEEWAY_SECS: i64 = 60;

/// Verifies a token for `aud`: RS256 only (no `none`, no HS256 signed with the
/// public key), a known `kid`, the issuer, the audience, `exp` and `nbf`.
///
/// A token whose signature this ring already verified (the same string, with a
/// key the ring still holds unchanged) skips the RSA verification; its claims
/// are checked against `issuer`, `aud` and `now` every time all the same, so
/// the answer is the one a full verification would give.
pub fn verify(
    keys: &KeyRing,
    token: &str,
    issuer: &str,
    aud: &str,
    now: DateTime<Utc>,
) -> Result<Arc<AppTokenClaims>, TokenError> {
    let set = keys.keys();
    let now = now.timestamp();
    if let Some(claims) = keys.verified().get(token, &set) {
        check_claims(&claims, issuer, aud, now)?;
        return Ok(claims);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
    if header.alg != Algorithm::RS256 {
        return Err(TokenError::Algorithm(format!("{:?}", header.alg)));
    }
    let kid = header.kid.ok_or(TokenError::UnknownKey)?;
    let key = set.find(&kid).ok_or(TokenError::UnknownKey)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(&[issuer]);
    let data = jsonwebtoken::decode::<AppTokenClaims>(token, &key.decoding, &validation)
        .map_err(|e| TokenError::Invalid(e.to_string()))?;
    let claims = Arc::new(data.claims);
    check_claims(&claims, issuer, aud, now)?;
    // Only a token that passed every check is remembered.
    keys.verified()
        .insert(token, key.clone(), claims.clone(), &set, now);
    Ok(claims)
}

/// The checks that depend on the time, the application and the issuer: made on
/// every use of a token, verified just now or earlier.
fn check_claims(
    claims: &AppTokenClaims,
    issuer: &str,
    aud: &str,
    now: i64,
) -> Result<(), TokenError> {
    if claims.iss != issuer {
        // What jsonwebtoken says when it checks the issuer itself.
        return Err(TokenError::Invalid("InvalidIssuer".into()));
    }
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    if claims.nbf > now + NBF_LEEWAY_SECS {
        return Err(TokenError::NotYetValid);
    }
    if !claims.aud.iter().any(|a| a == aud) {
        return Err(TokenError::WrongAudience);
    }
    if claims.kind != TOKEN_TYPE_APP {
        return Err(TokenError::Invalid(format!("type {:?}", claims.kind)));
    }
    Ok(())
}
