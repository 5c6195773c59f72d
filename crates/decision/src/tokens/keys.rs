//! RS256 signing keys, the [`KeyStore`] that persists them and the [`KeyRing`]
//! that signs with the newest and verifies with every key still published.
//!
//! A rotated key is retired, not deleted: tokens it signed stay valid until they
//! expire, so it stays published (and accepted) for the longest token lifetime
//! after its retirement.

use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::cache::VerifiedTokens;
use crate::clock::Clock;

/// A key as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    pub kid: String,
    /// PKCS#8 PEM of the RSA private key.
    pub private_pem: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub retired_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyError {
    #[error("key store: {0}")]
    Store(String),
    #[error("key {kid}: {message}")]
    Invalid { kid: String, message: String },
    #[error("key generation: {0}")]
    Generate(String),
    #[error("no signing key")]
    NoSigningKey,
}

/// Persistence of signing keys (the store's `signing_keys` table).
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    async fn load(&self) -> Result<Vec<StoredKey>, KeyError>;
    async fn insert(&self, key: &StoredKey) -> Result<(), KeyError>;
    async fn retire(&self, kid: &str, at: DateTime<Utc>) -> Result<(), KeyError>;
}

/// A JSON Web Key (RFC 7517) for an RSA public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kid: String,
    pub kty: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub n: String,
    pub e: String,
}

/// One usable key: parsed once, ready to sign and verify.
pub struct SigningKey {
    pub stored: StoredKey,
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    pub jwk: Jwk,
    /// Self-signed X.509 certificate (PEM), as Cloudflare publishes `public_cert`.
    pub cert_pem: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.stored.kid)
            .field("created_at", &self.stored.created_at)
            .field("retired_at", &self.stored.retired_at)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh 2048-bit RSA key; CPU-heavy, run it off the async
    /// workers (`spawn_blocking`).
    pub fn generate(now: DateTime<Utc>) -> Result<StoredKey, KeyError> {
        let mut rng = rand::rngs::OsRng;
        let key =
            RsaPrivateKey::new(&mut rng, 2048).map_err(|e| KeyError::Generate(e.to_string()))?;
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        let public_der = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        // The kid is a digest of the public key: stable across nodes and restarts.
        let digest = Sha256::digest(public_der.as_bytes());
        let kid = super::claims::hex(&digest[..16]);
        Ok(StoredKey {
            kid,
            private_pem: pem.to_string(),
            created_at: now,
            retired_at: None,
        })
    }

    /// Parses a stored key.
    pub fn from_stored(stored: StoredKey) -> Result<SigningKey, KeyError> {
        let invalid = |message: String| KeyError::Invalid {
            kid: stored.kid.clone(),
            message,
        };
        let key = RsaPrivateKey::from_pkcs8_pem(&stored.private_pem)
            .map_err(|e| invalid(e.to_string()))?;
        let public = key.to_public_key();
        let public_pem = public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| invalid(e.to_string()))?;
        let encoding = EncodingKey::from_rsa_pem(stored.private_pem.as_bytes())
            .map_err(|e| invalid(e.to_string()))?;
        let decoding =
            DecodingKey::from_rsa_pem(public_pem.as_bytes()).map_err(|e| invalid(e.to_string()))?;
        let jwk = Jwk {
            kid: stored.kid.clone(),
            kty: "RSA".into(),
            alg: "RS256".into(),
            use_: "sig".into(),
            n: URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        };
        let cert_pem = self_signed_cert(&stored).map_err(invalid)?;
        Ok(SigningKey {
            stored,
            encoding,
            decoding,
            jwk,
            cert_pem,
        })
    }

    pub fn kid(&self) -> &str {
        &self.stored.kid
    }
}

fn self_signed_cert(stored: &StoredKey) -> Result<String, String> {
    let key_pair =
        rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&stored.private_pem, &rcgen::PKCS_RSA_SHA256)
            .map_err(|e| e.to_string())?;
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("portcullis {}", stored.kid),
    );
    let cert = params.self_signed(&key_pair).map_err(|e| e.to_string())?;
    Ok(cert.pem())
}

/// The keys in force at one moment.
#[derive(Debug, Default)]
pub struct KeySet {
    /// The newest unretired key; signs every new token.
    pub active: Option<Arc<SigningKey>>,
    /// Every key still published, newest first (the active one included).
    pub published: Vec<Arc<SigningKey>>,
}

impl KeySet {
    pub fn find(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.published.iter().find(|k| k.kid() == kid)
    }
}

/// The signing keys of this node, kept in sync with the [`KeyStore`].
pub struct KeyRing {
    store: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    /// Longest lifetime of an issued token; also how long a retired key stays.
    max_token_lifetime: Duration,
    current: ArcSwap<KeySet>,
    /// Tokens whose signature a key of this ring has verified.
    verified: VerifiedTokens,
}

impl KeyRing {
    /// Cloudflare's longest session duration is a month.
    pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::hours(730);

    pub fn new(
        store: Arc<dyn KeyStore>,
        clock: Arc<dyn Clock>,
        max_token_lifetime: Duration,
    ) -> Self {
        KeyRing {
            store,
            clock,
            max_token_lifetime,
            current: ArcSwap::from_pointee(KeySet::default()),
            verified: VerifiedTokens::new(VerifiedTokens::DEFAULT_CAPACITY),
        }
    }

    /// The same ring with a verified-token cache of `capacity` tokens (0: none).
    pub fn with_token_cache(mut self, capacity: usize) -> Self {
        self.verified = VerifiedTokens::new(capacity);
        self
    }

    /// The tokens already verified with these keys.
    pub fn verified(&self) -> &VerifiedTokens {
        &self.verified
    }

    pub fn max_token_lifetime(&self) -> Duration {
        self.max_token_lifetime
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The keys in force (atomic load; no lock).
    pub fn keys(&self) -> Arc<KeySet> {
        self.current.load_full()
    }

    /// Reloads the keys from the store (another node may have rotated). A key
    /// whose stored record is unchanged is kept as it is (not parsed again, and
    /// the tokens it verified stay verified); any change, a retirement included,
    /// makes a new one.
    pub async fn reload(&self) -> Result<(), KeyError> {
        let stored = self.store.load().await?;
        let now = self.clock.now();
        let previous = self.keys();
        let mut keys: Vec<Arc<SigningKey>> = Vec::new();
        for s in stored {
            let expired = s
                .retired_at
                .is_some_and(|r| r + self.max_token_lifetime <= now);
            if expired {
                continue;
            }
            if let Some(same) = previous.find(&s.kid).filter(|k| k.stored == s) {
                keys.push(same.clone());
                continue;
            }
            match SigningKey::from_stored(s) {
                Ok(k) => keys.push(Arc::new(k)),
                Err(e) => tracing::error!(error = %e, "signing key skipped"),
            }
        }
        keys.sort_by_key(|k| std::cmp::Reverse(k.stored.created_at));
        let active = keys.iter().find(|k| k.stored.retired_at.is_none()).cloned();
        self.current.store(Arc::new(KeySet {
            active,
            published: keys,
        }));
        Ok(())
    }

    /// Loads the keys and makes one when none can sign.
    pub async fn load_or_create(&self) -> Result<(), KeyError> {
        self.reload().await?;
        if self.keys().active.is_none() {
            self.add_new_key().await?;
        }
        Ok(())
    }

    async fn add_new_key(&self) -> Result<(), KeyError> {
        let now = self.clock.now();
        let stored = tokio::task::spawn_blocking(move || SigningKey::generate(now))
            .await
            .map_err(|e| KeyError::Generate(e.to_string()))??;
        self.store.insert(&stored).await?;
        self.reload().await
    }

    /// Rotates: a new key signs from now on; the old ones are retired and stay
    /// published until their tokens could have expired.
    pub async fn rotate(&self) -> Result<(), KeyError> {
        let old: Vec<String> = self
            .keys()
            .published
            .iter()
            .filter(|k| k.stored.retired_at.is_none())
            .map(|k| k.kid().to_string())
            .collect();
        self.add_new_key().await?;
        let now = self.clock.now();
        for kid in old {
            self.store.retire(&kid, now).await?;
        }
        self.reload().await
    }
}

impl KeyRing {
    /// Reloads the keys every `every`, so a rotation on another node is picked
    /// up here. Runs until the task is dropped.
    pub async fn run_reload(self: Arc<Self>, every: std::time::Duration) {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = self.reload().await {
                tracing::error!(error = %e, "signing keys not reloaded; keeping the current ones");
            }
        }
    }
}

/// A key store in memory (tests, single-run tools).
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    keys: std::sync::Mutex<Vec<StoredKey>>,
}

#[async_trait]
impl KeyStore for MemoryKeyStore {
    async fn load(&self) -> Result<Vec<StoredKey>, KeyError> {
        Ok(self
            .keys
            .lock()
            .map_err(|e| KeyError::Store(e.to_string()))?
            .clone())
    }

    async fn insert(&self, key: &StoredKey) -> Result<(), KeyError> {
        self.keys
            .lock()
            .map_err(|e| KeyError::Store(e.to_string()))?
            .push(key.clone());
        Ok(())
    }

    async fn retire(&self, kid: &str, at: DateTime<Utc>) -> Result<(), KeyError> {
        let mut keys = self
            .keys
            .lock()
            .map_err(|e| KeyError::Store(e.to_string()))?;
        for k in keys.iter_mut().filter(|k| k.kid == kid) {
            k.retired_at.get_or_insert(at);
        }
        Ok(())
    }
}
