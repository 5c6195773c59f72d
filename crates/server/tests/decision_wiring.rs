//! The decision service inside the server, against a temporary SQLite store:
//! admin writes reach decisions at once, decision-only tokens, the access
//! requests log, degraded readiness and failing closed.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use portcullis_server::decision_wiring::{DecisionSettings, Decisions};
use portcullis_store::Store;
use serde_json::{json, Value};
use tower::ServiceExt;

const ADMIN: &str = "test-admin-token";
const ACC: &str = "acc1";

struct Node {
    store: Store,
    decisions: Decisions,
    app: Router,
    _dir: tempfile::TempDir,
}

async fn node() -> Node {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let store = Store::connect(&url).await.expect("store");
    portcullis_server::auth::bootstrap(&store, Some(ADMIN))
        .await
        .expect("bootstrap");
    let decisions = Decisions::start(&store, DecisionSettings::default())
        .await
        .expect("decisions");
    let app = decisions.router(store.clone());
    Node {
        store,
        decisions,
        app,
        _dir: dir,
    }
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("request");
    let res = app.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

async fn create_app(app: &Router, domain: &str, allowed_email: &str) -> String {
    let (status, body) = call(
        app,
        "POST",
        &format!("/client/v4/accounts/{ACC}/access/apps"),
        Some(ADMIN),
        Some(json!({
            "name": domain, "domain": domain, "type": "self_hosted",
            "policies": [{"name": "staff", "decision": "allow",
                          "include": [{"email": {"email": allowed_email}}]}],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["result"]["id"].as_str().expect("app id").to_string()
}

fn decide_body(host: &str, email: &str) -> Value {
    json!({"resource": {"host": host}, "identity": {"email": email},
           "network": {"ip": "203.0.113.9", "country": "US"}})
}

async fn decide(app: &Router, token: &str, host: &str, email: &str) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        &format!("/v1/accounts/{ACC}/decide"),
        Some(token),
        Some(decide_body(host, email)),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_write_is_decided_on_within_50_ms() {
    let n = node().await;
    let (_, before) = decide(&n.app, ADMIN, "wiki.example.com", "alice@example.com").await;
    assert_eq!(before["decision"], "deny");
    create_app(&n.app, "wiki.example.com", "alice@example.com").await;
    let written = Instant::now();
    loop {
        let (status, body) = decide(&n.app, ADMIN, "wiki.example.com", "alice@example.com").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["decision"] == "allow" {
            break;
        }
        assert!(
            written.elapsed() <= Duration::from_millis(50),
            "the write was not visible within 50 ms: {body}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (_, other) = decide(&n.app, ADMIN, "wiki.example.com", "mallory@example.com").await;
    assert_eq!(other["decision"], "deny");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_only_token_decides_but_may_not_administer() {
    let n = node().await;
    create_app(&n.app, "wiki.example.com", "alice@example.com").await;
    n.decisions.refresher.refresh().await.expect("refresh");
    let (_, token) = portcullis_server::auth::create_decision_token(&n.store, Some(ACC.into()))
        .await
        .expect("token");
    let (status, body) = decide(&n.app, &token, "wiki.example.com", "alice@example.com").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["decision"], "allow");
    let (status, body) = call(
        &n.app,
        "GET",
        &format!("/client/v4/accounts/{ACC}/access/apps"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Another account's decisions are not this token's to ask for.
    let (status, _) = call(
        &n.app,
        "POST",
        "/v1/accounts/other/decide",
        Some(&token),
        Some(decide_body("wiki.example.com", "alice@example.com")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_requests_lists_the_decisions() {
    let n = node().await;
    let app_id = create_app(&n.app, "wiki.example.com", "alice@example.com").await;
    n.decisions.refresher.refresh().await.expect("refresh");
    decide(&n.app, ADMIN, "wiki.example.com", "alice@example.com").await;
    decide(&n.app, ADMIN, "wiki.example.com", "mallory@example.com").await;
    let uri =
        format!("/client/v4/accounts/{ACC}/access/logs/access_requests?limit=10&direction=asc");
    let deadline = Instant::now() + Duration::from_secs(5);
    let rows = loop {
        let (status, body) = call(&n.app, "GET", &uri, Some(ADMIN), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["success"], true);
        let rows = body["result"].as_array().cloned().unwrap_or_default();
        if rows.len() >= 2 || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["user_email"], "alice@example.com");
    assert_eq!(rows[0]["allowed"], true);
    assert_eq!(rows[0]["app_uid"], app_id.as_str());
    assert_eq!(rows[0]["app_domain"], "wiki.example.com");
    assert_eq!(rows[0]["country"], "US");
    assert_eq!(rows[0]["ip_address"], "203.0.113.9");
    assert_eq!(rows[0]["action"], "decide");
    assert_eq!(rows[1]["user_email"], "mallory@example.com");
    assert_eq!(rows[1]["allowed"], false);
    assert!(rows[1]["ray_id"].as_str().is_some_and(|r| !r.is_empty()));
    // Newest first by default; `until` before everything lists nothing.
    let (_, desc) = call(
        &n.app,
        "GET",
        &format!("/client/v4/accounts/{ACC}/access/logs/access_requests"),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(desc["result"][0]["user_email"], "mallory@example.com");
    let (_, none) = call(
        &n.app,
        "GET",
        &format!(
            "/client/v4/accounts/{ACC}/access/logs/access_requests?until=2000-01-01T00:00:00Z"
        ),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(none["result"], json!([]));
    let (status, _) = call(
        &n.app,
        "GET",
        &format!("/client/v4/accounts/{ACC}/access/logs/access_requests?direction=up"),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Retention keeps the newest rows of the account.
    assert_eq!(n.store.prune_access_requests(1).await.expect("prune"), 1);
    let (_, kept) = call(
        &n.app,
        "GET",
        &format!("/client/v4/accounts/{ACC}/access/logs/access_requests"),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(kept["result"].as_array().map(Vec::len), Some(1));
    assert_eq!(kept["result"][0]["user_email"], "mallory@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_degrades_readiness_but_decisions_go_on() {
    let n = node().await;
    create_app(&n.app, "wiki.example.com", "alice@example.com").await;
    n.decisions.refresher.refresh().await.expect("refresh");
    let (status, _) = call(&n.app, "GET", "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    n.store.close().await;
    assert!(n.decisions.refresher.refresh().await.is_err());
    let (status, body) = call(&n.app, "GET", "/readyz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let text = body.as_str().unwrap_or_default();
    assert!(text.starts_with("degraded:"), "{text}");
    let (status, body) = decide(&n.app, ADMIN, "wiki.example.com", "alice@example.com").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["decision"], "allow");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_fails_closed() {
    let n = node().await;
    create_app(&n.app, "wiki.example.com", "alice@example.com").await;
    n.decisions.refresher.refresh().await.expect("refresh");
    // No token, a wrong token: no decision at all.
    let (status, _) = call(
        &n.app,
        "POST",
        &format!("/v1/accounts/{ACC}/decide"),
        None,
        Some(decide_body("wiki.example.com", "alice@example.com")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = decide(
        &n.app,
        "pcat_nothere_x",
        "wiki.example.com",
        "alice@example.com",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Forward-auth: a host no application claims is denied, no identity asks to log in.
    let forward = |host: &'static str| {
        Request::builder()
            .uri("/auth/forward")
            .header("x-forwarded-host", host)
            .header("x-forwarded-uri", "/")
            .body(Body::empty())
            .expect("request")
    };
    let res = n
        .app
        .clone()
        .oneshot(forward("nothing.example.com"))
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = n
        .app
        .clone()
        .oneshot(forward("wiki.example.com"))
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The store going away does not open anything up.
    n.store.close().await;
    let _ = n.decisions.refresher.refresh().await;
    let (_, body) = decide(&n.app, ADMIN, "wiki.example.com", "mallory@example.com").await;
    assert_eq!(body["decision"], "deny");
}
