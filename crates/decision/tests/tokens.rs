//! Key rotation and the certs document.

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::*;
use portcullis_decision::tokens::{issue, verify, TokenError};
use portcullis_decision::{Clock, KeyRing, KeyStore, ManualClock, MemoryKeyStore};

async fn ring() -> (Arc<KeyRing>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let store = Arc::new(MemoryKeyStore::default());
    store.insert(&shared_key(0)).await.unwrap();
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let ring = Arc::new(KeyRing::new(store, dyn_clock, Duration::hours(24)));
    ring.load_or_create().await.unwrap();
    (ring, clock)
}

#[tokio::test]
async fn rotated_keys_stay_published_until_their_tokens_expire() {
    let (ring, clock) = ring().await;
    let (old_token, _) =
        issue(&ring, "iss", AUD_APP, None, None, Duration::hours(24), t0()).unwrap();
    ring.rotate().await.unwrap();
    let keys = ring.keys();
    assert_eq!(keys.published.len(), 2);
    assert_ne!(keys.active.as_ref().unwrap().kid(), shared_key(0).kid);
    let doc = portcullis_decision::CertsDocument::from_keys(&keys);
    assert_eq!(doc.keys.len(), 2);
    assert_eq!(doc.public_certs.len(), 2);
    assert!(doc.public_certs[0]
        .cert
        .starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(
        doc.public_cert.as_ref().unwrap().kid,
        keys.active.as_ref().unwrap().kid()
    );
    assert!(verify(&ring, &old_token, "iss", AUD_APP, t0()).is_ok());
    // A day later the old key's tokens have all expired; it is dropped.
    clock.advance(Duration::hours(24) + Duration::seconds(1));
    ring.reload().await.unwrap();
    assert_eq!(ring.keys().published.len(), 1);
    assert_eq!(
        verify(&ring, &old_token, "iss", AUD_APP, clock.now()),
        Err(TokenError::UnknownKey)
    );
}

#[tokio::test]
async fn token_lifetime_is_capped_by_the_ring() {
    let (ring, _) = ring().await;
    let (_, claims) = issue(
        &ring,
        "iss",
        AUD_APP,
        None,
        None,
        Duration::hours(9999),
        t0(),
    )
    .unwrap();
    assert_eq!(claims.exp - claims.iat, 24 * 3600);
}

#[tokio::test]
async fn certs_endpoint_publishes_jwks_and_pem() {
    let f = fixture().await;
    let request = axum::http::Request::get("/cdn-cgi/access/certs")
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, _, doc) = send(&f.state, request).await;
    assert_eq!(status, 200);
    assert_eq!(doc["keys"][0]["kid"], shared_key(0).kid.as_str());
    assert_eq!(doc["keys"][0]["alg"], "RS256");
    assert_eq!(doc["keys"][0]["e"], "AQAB");
    assert_eq!(doc["public_cert"]["kid"], shared_key(0).kid.as_str());
    assert!(doc["public_certs"][0]["cert"]
        .as_str()
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
}
