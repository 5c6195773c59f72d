//! `external_evaluation` against a small evaluator started on 127.0.0.1:0.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portcullis_decision::external::{EvaluationAnswerClaims, EvaluationRequestClaims, TokenBody};
use portcullis_decision::tokens::SigningKey;
use portcullis_decision::AccountObjects;
use serde_json::json;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Honest,
    WrongNonce,
    Slow,
}

#[derive(Clone)]
struct Evaluator {
    mode: Mode,
    hits: Arc<AtomicUsize>,
}

async fn check(State(ev): State<Evaluator>, Json(body): Json<TokenBody>) -> Json<TokenBody> {
    ev.hits.fetch_add(1, Ordering::SeqCst);
    if ev.mode == Mode::Slow {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
    // Verify the request as a real evaluator would, with the JWKS the service
    // publishes at /cdn-cgi/access/certs.
    let ours = SigningKey::from_stored(shared_key(0)).unwrap();
    let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    validation.validate_exp = false;
    let request: EvaluationRequestClaims = jsonwebtoken::decode(
        &body.token,
        &jsonwebtoken::DecodingKey::from_rsa_components(&ours.jwk.n, &ours.jwk.e).unwrap(),
        &validation,
    )
    .expect("the service signs its evaluation requests")
    .claims;
    assert!(request.aud.ends_with("/check"));
    let success = request
        .email
        .as_deref()
        .is_some_and(|e| e.ends_with("@example.com"));
    let nonce = if ev.mode == Mode::WrongNonce {
        "replayed".to_string()
    } else {
        request.nonce
    };
    let key = shared_key(1);
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    let token = jsonwebtoken::encode(
        &header,
        &EvaluationAnswerClaims {
            success,
            nonce,
            exp: None,
        },
        &EncodingKey::from_rsa_pem(key.private_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    Json(TokenBody { token })
}

async fn keys() -> Json<serde_json::Value> {
    let key = SigningKey::from_stored(shared_key(1)).unwrap();
    Json(json!({"keys": [key.jwk]}))
}

async fn start(mode: Mode) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/check", post(check))
        .route("/keys", get(keys))
        .with_state(Evaluator {
            mode,
            hits: hits.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), hits)
}

fn objects(base: &str) -> AccountObjects {
    AccountObjects {
        policies: vec![json!({"id": "p-ext", "name": "ext", "decision": "allow",
            "include": [{"external_evaluation": {"evaluate_url": format!("{base}/check"), "keys_url": format!("{base}/keys")}}]})],
        apps: vec![
            json!({"id": "ext", "name": "ext", "type": "self_hosted", "domain": "ext.example.com", "policies": ["p-ext"]}),
        ],
        ..AccountObjects::default()
    }
}

#[tokio::test]
async fn a_signed_success_matches_and_a_signed_failure_does_not() {
    let (base, _) = start(Mode::Honest).await;
    let f = fixture_with(objects(&base), None).await;
    assert_eq!(
        decision_for(&f, "acc1", "ext.example.com", "alice@example.com").await,
        "allow"
    );
    assert_eq!(
        decision_for(&f, "acc1", "ext.example.com", "eve@other.org").await,
        "deny"
    );
}

#[tokio::test]
async fn answers_are_cached_per_rule_and_identity() {
    let (base, hits) = start(Mode::Honest).await;
    let f = fixture_with(objects(&base), None).await;
    assert_eq!(
        decision_for(&f, "acc1", "ext.example.com", "alice@example.com").await,
        "allow"
    );
    assert_eq!(
        decision_for(&f, "acc1", "ext.example.com", "alice@example.com").await,
        "allow"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    decision_for(&f, "acc1", "ext.example.com", "bob@example.com").await;
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_wrong_nonce_is_no_match() {
    let (base, _) = start(Mode::WrongNonce).await;
    let f = fixture_with(objects(&base), None).await;
    assert_eq!(
        decision_for(&f, "acc1", "ext.example.com", "alice@example.com").await,
        "deny"
    );
}

#[tokio::test]
async fn a_slow_evaluator_times_out_to_no_match() {
    let (base, _) = start(Mode::Slow).await;
    let f = fixture_with(objects(&base), None).await;
    let started = std::time::Instant::now();
    assert_eq!(
        decision_for(&f, "acc1", "ext.example.com", "alice@example.com").await,
        "deny"
    );
    assert!(started.elapsed() < std::time::Duration::from_millis(2900));
}

#[tokio::test]
async fn an_unreachable_evaluator_is_no_match() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let f = fixture_with(objects(&base), None).await;
    assert_eq!(
        decision_for(&f, "acc1", "ext.example.com", "alice@example.com").await,
        "deny"
    );
}

#[tokio::test]
async fn an_answer_signed_by_another_key_is_no_match() {
    let (base, _) = start(Mode::Honest).await;
    // keys_url points at our own certs-less JWKS: the evaluator's kid is unknown there.
    let (other, _) = start(Mode::Honest).await;
    let mut o = objects(&base);
    o.policies[0]["include"][0]["external_evaluation"]["keys_url"] =
        json!(format!("{other}/nowhere"));
    let f = fixture_with(o, None).await;
    assert_eq!(
        decision_for(&f, "acc1", "ext.example.com", "alice@example.com").await,
        "deny"
    );
}

/// Says yes, and the first time swaps in an empty snapshot, as a refresh that
/// lands in the middle of a batch would.
struct SwapsSnapshot(std::sync::OnceLock<Arc<portcullis_decision::SnapshotHandle>>);

#[async_trait::async_trait]
impl portcullis_decision::ExternalResolver for SwapsSnapshot {
    async fn resolve(
        &self,
        _: &portcullis_decision::ExternalRule,
        _: &portcullis_core::context::RequestContext,
    ) -> Result<bool, portcullis_decision::ExternalError> {
        if let Some(handle) = self.0.get() {
            handle.store(portcullis_decision::LiveSnapshot::default());
        }
        Ok(true)
    }
}

#[tokio::test]
async fn a_batch_is_decided_against_one_snapshot() {
    let resolver = Arc::new(SwapsSnapshot(std::sync::OnceLock::new()));
    let f = fixture_with(objects("http://127.0.0.1:9"), Some(resolver.clone())).await;
    resolver.0.set(f.state.snapshots.clone()).ok().unwrap();
    let req = |email: &str| {
        let req = serde_json::from_value(
            json!({"resource": {"host": "ext.example.com"}, "identity": {"email": email}}),
        )
        .unwrap();
        (req, false)
    };
    let results = portcullis_decision::decide_batch(
        &f.state,
        "acc1",
        vec![req("a@example.com"), req("b@example.com")],
        false,
    )
    .await
    .unwrap();
    let decisions: Vec<&str> = results.iter().map(|r| r.result.decision.as_str()).collect();
    assert_eq!(decisions, ["allow", "allow"]);
    // The next call sees the new (empty) snapshot.
    assert_eq!(
        decision_for(&f, "acc1", "ext.example.com", "a@example.com").await,
        "deny"
    );
}
