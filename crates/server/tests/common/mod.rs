//! A real router on a fresh SQLite file, driven request by request.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use portcullis_server::decision_wiring::{DecisionSettings, Decisions};
use portcullis_store::Store;
use serde_json::Value;
use tower::ServiceExt;

pub const ADMIN: &str = "test-admin-token";

pub struct Api {
    pub router: Router,
    pub store: Store,
    /// The decision service, for [`Api::with_decisions`].
    pub decisions: Option<Decisions>,
    _dir: tempfile::TempDir,
}

impl Api {
    /// The admin API alone.
    pub async fn new() -> Api {
        Api::start(false).await
    }

    /// The admin API with the decision service beside it, as `portcullis
    /// serve` runs them.
    pub async fn with_decisions() -> Api {
        Api::start(true).await
    }

    async fn start(decide: bool) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = Store::connect(&url).await.unwrap();
        portcullis_server::auth::bootstrap(&store, Some(ADMIN))
            .await
            .unwrap();
        let (router, decisions) = if decide {
            let decisions = Decisions::start(&store, DecisionSettings::default())
                .await
                .unwrap();
            (decisions.router(store.clone()), Some(decisions))
        } else {
            (portcullis_server::router(store.clone()), None)
        };
        Api {
            router,
            store,
            decisions,
            _dir: dir,
        }
    }

    /// A token limited to `account`, optionally read-only.
    pub async fn account_token(&self, account: &str, read_only: bool) -> String {
        portcullis_server::auth::create_token(&self.store, Some(account.into()), read_only)
            .await
            .unwrap()
            .1
    }

    pub async fn send_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, value)
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        self.send_as(Some(ADMIN), method, path, body).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &str) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &str) -> (StatusCode, Value) {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::DELETE, path, None).await
    }
}
