//! The verified-token cache must never make verification weaker: every answer
//! is the one a full verification would give, whatever the cache holds.

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portcullis_core::context::Identity;
use portcullis_decision::tokens::{
    issue, verify, AppTokenClaims, KeyError, TokenError, VerifiedTokens,
};
use portcullis_decision::{Clock, KeyRing, KeyStore, ManualClock, StoredKey};
use serde_json::json;

/// A key store whose keys a test can delete or replace behind the ring's back.
#[derive(Default)]
struct EditableKeys(Mutex<Vec<StoredKey>>);

impl EditableKeys {
    fn delete(&self, kid: &str) {
        self.0.lock().unwrap().retain(|k| k.kid != kid);
    }

    /// Swaps the private key material of `kid` for another key's.
    fn replace_material(&self, kid: &str, with: &StoredKey) {
        for k in self.0.lock().unwrap().iter_mut().filter(|k| k.kid == kid) {
            k.private_pem = with.private_pem.clone();
        }
    }
}

#[async_trait]
impl KeyStore for EditableKeys {
    async fn load(&self) -> Result<Vec<StoredKey>, KeyError> {
        Ok(self.0.lock().unwrap().clone())
    }
    async fn insert(&self, key: &StoredKey) -> Result<(), KeyError> {
        self.0.lock().unwrap().push(key.clone());
        Ok(())
    }
    async fn retire(&self, kid: &str, at: DateTime<Utc>) -> Result<(), KeyError> {
        for k in self.0.lock().unwrap().iter_mut().filter(|k| k.kid == kid) {
            k.retired_at.get_or_insert(at);
        }
        Ok(())
    }
}

struct Ring {
    ring: Arc<KeyRing>,
    store: Arc<EditableKeys>,
    clock: Arc<ManualClock>,
}

async fn ring_with_cache(capacity: usize) -> Ring {
    let clock = Arc::new(ManualClock::new(t0()));
    let store = Arc::new(EditableKeys::default());
    store.insert(&shared_key(0)).await.unwrap();
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let ring = Arc::new(
        KeyRing::new(store.clone(), dyn_clock, Duration::hours(24)).with_token_cache(capacity),
    );
    ring.load_or_create().await.unwrap();
    Ring { ring, store, clock }
}

async fn ring() -> Ring {
    ring_with_cache(VerifiedTokens::DEFAULT_CAPACITY).await
}

fn alice() -> Identity {
    Identity {
        email: Some("alice@example.com".into()),
        ..Identity::default()
    }
}

fn token(r: &Ring, aud: &str, hours: i64) -> (String, AppTokenClaims) {
    issue(
        &r.ring,
        "iss",
        aud,
        Some(&alice()),
        None,
        Duration::hours(hours),
        t0(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_verified_token_is_cached_and_answers_the_same() {
    let r = ring().await;
    let (t, claims) = token(&r, AUD_APP, 8);
    assert!(r.ring.verified().is_empty());
    let first = verify(&r.ring, &t, "iss", AUD_APP, t0()).unwrap();
    assert_eq!(r.ring.verified().len(), 1);
    let second = verify(&r.ring, &t, "iss", AUD_APP, t0()).unwrap();
    assert_eq!(*first, claims);
    assert_eq!(*second, claims);
    assert_eq!(r.ring.verified().len(), 1);
}

#[tokio::test]
async fn failures_are_never_cached() {
    let r = ring().await;
    let (t, _) = token(&r, AUD_APP, 8);
    assert_eq!(
        verify(&r.ring, &t, "iss", AUD_OTHER, t0()),
        Err(TokenError::WrongAudience)
    );
    assert_eq!(
        verify(&r.ring, &t, "iss", AUD_APP, t0() + Duration::hours(9)),
        Err(TokenError::Expired)
    );
    assert!(verify(&r.ring, "not.a.token", "iss", AUD_APP, t0()).is_err());
    assert!(r.ring.verified().is_empty());
}

fn split(token: &str) -> (&str, &str, &str) {
    let mut parts = token.splitn(3, '.');
    (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    )
}

#[tokio::test]
async fn a_forged_signature_is_refused_while_the_genuine_token_is_cached() {
    let r = ring().await;
    let (t, _) = token(&r, AUD_APP, 8);
    verify(&r.ring, &t, "iss", AUD_APP, t0()).unwrap();
    let (header, payload, signature) = split(&t);

    // Same header and payload, one signature byte changed.
    let mut sig = URL_SAFE_NO_PAD.decode(signature).unwrap();
    sig[10] ^= 1;
    let forged = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(&sig));
    assert!(matches!(
        verify(&r.ring, &forged, "iss", AUD_APP, t0()),
        Err(TokenError::Invalid(_))
    ));

    // Same header and payload signed by another key under our kid.
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some(shared_key(0).kid);
    let other = EncodingKey::from_rsa_pem(shared_key(1).private_pem.as_bytes()).unwrap();
    let resigned = jsonwebtoken::encode(&h, &claims, &other).unwrap();
    assert!(matches!(
        verify(&r.ring, &resigned, "iss", AUD_APP, t0()),
        Err(TokenError::Invalid(_))
    ));

    // The genuine signature over a changed payload.
    let mut changed = claims.clone();
    changed["email"] = json!("mallory@example.com");
    changed["identity"]["email"] = json!("mallory@example.com");
    let tampered = format!(
        "{header}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(changed.to_string())
    );
    assert!(matches!(
        verify(&r.ring, &tampered, "iss", AUD_APP, t0()),
        Err(TokenError::Invalid(_))
    ));

    // Trailing bytes make another string: verified from scratch, refused.
    assert!(verify(&r.ring, &format!("{t}x"), "iss", AUD_APP, t0()).is_err());

    // None of them got in; the genuine one still verifies.
    assert_eq!(r.ring.verified().len(), 1);
    assert!(verify(&r.ring, &t, "iss", AUD_APP, t0()).is_ok());
}

#[tokio::test]
async fn a_cached_token_still_expires() {
    let r = ring().await;
    let (t, claims) = token(&r, AUD_APP, 8);
    verify(&r.ring, &t, "iss", AUD_APP, t0()).unwrap();
    let exp = DateTime::from_timestamp(claims.exp, 0).unwrap();
    assert!(verify(&r.ring, &t, "iss", AUD_APP, exp - Duration::seconds(1)).is_ok());
    assert_eq!(
        verify(&r.ring, &t, "iss", AUD_APP, exp),
        Err(TokenError::Expired)
    );
}

#[tokio::test]
async fn a_cached_token_is_checked_against_the_audience_and_issuer_every_time() {
    let r = ring().await;
    let (t, _) = token(&r, AUD_APP, 8);
    verify(&r.ring, &t, "iss", AUD_APP, t0()).unwrap();
    assert_eq!(
        verify(&r.ring, &t, "iss", AUD_OTHER, t0()),
        Err(TokenError::WrongAudience)
    );
    assert!(matches!(
        verify(&r.ring, &t, "other-issuer", AUD_APP, t0()),
        Err(TokenError::Invalid(_))
    ));
    assert!(verify(&r.ring, &t, "iss", AUD_APP, t0()).is_ok());
}

#[tokio::test]
async fn a_cached_token_is_refused_once_its_key_leaves_the_ring() {
    let r = ring().await;
    let (t, _) = token(&r, AUD_APP, 8);
    verify(&r.ring, &t, "iss", AUD_APP, t0()).unwrap();
    // The key is deleted (say, it leaked); another one signs from now on.
    r.store.insert(&shared_key(1)).await.unwrap();
    r.store.delete(&shared_key(0).kid);
    r.ring.reload().await.unwrap();
    assert_eq!(
        verify(&r.ring, &t, "iss", AUD_APP, t0()),
        Err(TokenError::UnknownKey)
    );
}

#[tokio::test]
async fn a_retired_key_drops_the_verifications_it_made() {
    let r = ring().await;
    let (t, _) = token(&r, AUD_APP, 8);
    verify(&r.ring, &t, "iss", AUD_APP, t0()).unwrap();
    let before = r.ring.keys().find(&shared_key(0).kid).unwrap().clone();
    r.ring.rotate().await.unwrap();
    let after = r.ring.keys().find(&shared_key(0).kid).unwrap().clone();
    // A retirement changes the key's record: a new key object, so what the old
    // one verified no longer counts and the token is verified again (retired
    // keys stay published, and accepted, until their tokens expire).
    assert!(!Arc::ptr_eq(&before, &after));
    assert!(after.stored.retired_at.is_some());
    assert!(verify(&r.ring, &t, "iss", AUD_APP, t0()).is_ok());
    // Once the retired key is gone, so is the token.
    r.clock.advance(Duration::hours(24) + Duration::seconds(1));
    r.ring.reload().await.unwrap();
    assert_eq!(
        verify(&r.ring, &t, "iss", AUD_APP, r.clock.now()),
        Err(TokenError::UnknownKey)
    );
}

#[tokio::test]
async fn a_key_replaced_under_the_same_kid_invalidates_what_it_verified() {
    let r = ring().await;
    let (t, _) = token(&r, AUD_APP, 8);
    verify(&r.ring, &t, "iss", AUD_APP, t0()).unwrap();
    r.store.replace_material(&shared_key(0).kid, &shared_key(1));
    r.ring.reload().await.unwrap();
    // The cached verification was made by the old material: verified again,
    // with the new one, the signature does not match.
    assert!(matches!(
        verify(&r.ring, &t, "iss", AUD_APP, t0()),
        Err(TokenError::Invalid(_))
    ));
}

#[tokio::test]
async fn an_unchanged_reload_keeps_the_keys_and_the_cache() {
    let r = ring().await;
    let (t, _) = token(&r, AUD_APP, 8);
    verify(&r.ring, &t, "iss", AUD_APP, t0()).unwrap();
    let before = r.ring.keys().active.clone().unwrap();
    r.ring.reload().await.unwrap();
    let after = r.ring.keys().active.clone().unwrap();
    assert!(Arc::ptr_eq(&before, &after));
    assert!(verify(&r.ring, &t, "iss", AUD_APP, t0()).is_ok());
}

#[tokio::test]
async fn the_cache_stays_within_its_capacity() {
    let r = ring_with_cache(32).await;
    let tokens: Vec<String> = (0..200).map(|_| token(&r, AUD_APP, 8).0).collect();
    for t in &tokens {
        verify(&r.ring, t, "iss", AUD_APP, t0()).unwrap();
        assert!(r.ring.verified().len() <= 32);
    }
    // Evicted or not, every token still verifies.
    for t in &tokens {
        assert!(verify(&r.ring, t, "iss", AUD_APP, t0()).is_ok());
    }
}

#[tokio::test]
async fn without_a_cache_tokens_are_verified_every_time() {
    let r = ring_with_cache(0).await;
    let (t, _) = token(&r, AUD_APP, 8);
    assert!(verify(&r.ring, &t, "iss", AUD_APP, t0()).is_ok());
    assert!(verify(&r.ring, &t, "iss", AUD_APP, t0()).is_ok());
    assert!(r.ring.verified().is_empty());
}
