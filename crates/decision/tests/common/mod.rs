//! In-memory fakes and fixtures shared by the decision service's tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use chrono::{DateTime, TimeZone, Utc};
use portcullis_core::context::RequestContext;
use portcullis_decision::tokens::SigningKey;
use portcullis_decision::{
    AccountObjects, Change, Clock, DecisionConfig, DecisionState, ExternalError, ExternalResolver,
    ExternalRule, KeyRing, KeyStore, LiveSnapshot, ManualClock, MemoryAccessLog, MemoryKeyStore,
    Metrics, Refresher, SnapshotHandle, SnapshotSource, SourceError, StaticBearer, StoredKey,
};
use serde_json::{json, Value};

pub const ADMIN: &str = "test-admin-token";
pub const AUD_APP: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const AUD_OTHER: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .single()
        .unwrap()
}

/// RSA generation is slow; every test shares two keys.
pub fn shared_key(n: usize) -> StoredKey {
    static KEYS: OnceLock<Vec<StoredKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (0..2)
            .map(|_| SigningKey::generate(t0()).unwrap())
            .collect()
    })[n]
        .clone()
}

/// A store of objects with a change feed, in memory.
#[derive(Default)]
pub struct MemorySource {
    inner: Mutex<(u64, BTreeMap<String, AccountObjects>, Vec<Change>)>,
    pub failing: AtomicBool,
}

impl MemorySource {
    pub fn put(&self, account: &str, objects: AccountObjects) {
        let mut g = self.inner.lock().unwrap();
        g.0 += 1;
        let seq = g.0;
        g.1.insert(account.to_string(), objects);
        g.2.push(Change {
            sequence: seq,
            account_id: account.to_string(),
        });
    }

    fn check(&self) -> Result<(), SourceError> {
        if self.failing.load(Ordering::Relaxed) {
            Err(SourceError("database is down".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl SnapshotSource for MemorySource {
    async fn current_sequence(&self) -> Result<u64, SourceError> {
        self.check()?;
        Ok(self.inner.lock().unwrap().0)
    }
    async fn accounts(&self) -> Result<Vec<String>, SourceError> {
        self.check()?;
        Ok(self.inner.lock().unwrap().1.keys().cloned().collect())
    }
    async fn account_objects(&self, account_id: &str) -> Result<AccountObjects, SourceError> {
        self.check()?;
        Ok(self
            .inner
            .lock()
            .unwrap()
            .1
            .get(account_id)
            .cloned()
            .unwrap_or_default())
    }
    async fn changes_since(&self, sequence: u64) -> Result<Vec<Change>, SourceError> {
        self.check()?;
        Ok(self
            .inner
            .lock()
            .unwrap()
            .2
            .iter()
            .filter(|c| c.sequence > sequence)
            .cloned()
            .collect())
    }
}

/// An external resolver that always fails (an internal error).
pub struct BrokenResolver;

#[async_trait]
impl ExternalResolver for BrokenResolver {
    async fn resolve(&self, _: &ExternalRule, _: &RequestContext) -> Result<bool, ExternalError> {
        Err(ExternalError::Transport("connection refused".into()))
    }
}

/// The standard fixture account.
pub fn fixture_objects() -> AccountObjects {
    AccountObjects {
        lists: vec![json!({"id": "l-ops", "name": "ops", "type": "EMAIL",
            "items": [{"value": "ops@partner.org"}]})],
        service_tokens: vec![json!({"id": "t1", "name": "ci", "client_id": "ci.access",
            "client_secret": "s3cret"})],
        policies: vec![
            json!({"id": "p-allow", "name": "employees", "decision": "allow",
                "include": [{"email_domain": {"domain": "example.com"}}],
                "exclude": [{"geo": {"country_code": "KP"}}],
                "session_duration": "8h"}),
            json!({"id": "p-office", "name": "office", "decision": "bypass",
                "include": [{"ip": {"ip": "10.0.0.0/8"}}]}),
            json!({"id": "p-svc", "name": "machines", "decision": "non_identity",
                "include": [{"any_valid_service_token": {}}]}),
        ],
        apps: vec![
            json!({"id": "app1", "name": "wiki", "type": "self_hosted",
                "domain": "app.example.com", "aud": AUD_APP, "policies": ["p-allow"]}),
            json!({"id": "app2", "name": "intranet", "type": "self_hosted",
                "domain": "intranet.example.com", "aud": AUD_OTHER, "policies": ["p-office"]}),
            json!({"id": "app3", "name": "api", "type": "self_hosted",
                "domain": "api.example.com", "policies": ["p-svc", "p-allow"]}),
        ],
        ..AccountObjects::default()
    }
}

pub struct Fixture {
    pub state: DecisionState,
    pub clock: Arc<ManualClock>,
    pub source: Arc<MemorySource>,
    pub refresher: Arc<Refresher>,
    pub access_log: Arc<MemoryAccessLog>,
    pub key_store: Arc<MemoryKeyStore>,
}

pub async fn fixture_with(
    objects: AccountObjects,
    external: Option<Arc<dyn ExternalResolver>>,
) -> Fixture {
    let clock = Arc::new(ManualClock::new(t0()));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let key_store = Arc::new(MemoryKeyStore::default());
    key_store.insert(&shared_key(0)).await.unwrap();
    let keys = Arc::new(KeyRing::new(
        key_store.clone(),
        dyn_clock.clone(),
        KeyRing::DEFAULT_MAX_TOKEN_LIFETIME,
    ));
    keys.load_or_create().await.unwrap();
    let source = Arc::new(MemorySource::default());
    source.put("acc1", objects);
    let snapshots = Arc::new(SnapshotHandle::new(LiveSnapshot::default()));
    let refresher = Arc::new(Refresher::new(
        source.clone(),
        snapshots.clone(),
        dyn_clock.clone(),
    ));
    refresher.load_all().await.unwrap();
    let external: Arc<dyn ExternalResolver> = match external {
        Some(e) => e,
        None => Arc::new(
            portcullis_decision::ExternalEvaluator::new(keys.clone(), "portcullis").unwrap(),
        ),
    };
    let access_log = Arc::new(MemoryAccessLog::default());
    let state = DecisionState {
        snapshots,
        keys,
        external,
        auth: Arc::new(StaticBearer(ADMIN.into())),
        metrics: Arc::new(Metrics::default()),
        access_log: access_log.clone(),
        clock: dyn_clock,
        config: Arc::new(DecisionConfig::default()),
    };
    Fixture {
        state,
        clock,
        source,
        refresher,
        access_log,
        key_store,
    }
}

pub async fn fixture() -> Fixture {
    fixture_with(fixture_objects(), None).await
}

pub async fn send(
    state: &DecisionState,
    request: Request<Body>,
) -> (u16, axum::http::HeaderMap, Value) {
    use tower::ServiceExt;
    let response: Response<Body> = portcullis_decision::router(state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (status, headers, body)
}

pub fn post_json(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// A forward-auth request as a proxy at `peer` sends it.
pub fn forward(peer: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::get("/auth/forward");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let mut request = builder.body(Body::empty()).unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

/// The decision for `email` on `host` in `account`, as `decide` answers it.
pub async fn decision_for(f: &Fixture, account: &str, host: &str, email: &str) -> String {
    let req = serde_json::from_value(
        serde_json::json!({"resource": {"host": host}, "identity": {"email": email}}),
    )
    .expect("a valid request");
    portcullis_decision::decide(
        &f.state,
        account,
        req,
        portcullis_decision::DecideOptions::default(),
    )
    .await
    .expect("decide answers")
    .result
    .decision
    .as_str()
    .to_string()
}
