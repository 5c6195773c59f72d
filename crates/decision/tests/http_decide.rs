//! `POST /v1/accounts/{id}/decide` and `decide:batch`.

mod common;

use common::*;
use portcullis_decision::tokens::verify;
use serde_json::json;

#[tokio::test]
async fn decide_allows_an_employee_and_names_the_policy() {
    let f = fixture().await;
    let body = json!({"resource": {"host": "app.example.com"},
        "identity": {"email": "Alice@Example.com"}})
    .to_string();
    let (status, _, result) = send(&f.state, post_json("/v1/accounts/acc1/decide", &body)).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["decision"], "allow");
    assert_eq!(result["app_id"], "app1");
    assert_eq!(result["policy_id"], "p-allow");
    assert_eq!(result["obligations"]["session_duration"], "8h");
    assert!(result.get("token").is_none());
    assert!(result.get("explain").is_none());
}

#[tokio::test]
async fn decide_without_identity_is_login_required() {
    let f = fixture().await;
    let body = json!({"resource": {"app_id": "app1"}}).to_string();
    let (_, _, result) = send(&f.state, post_json("/v1/accounts/acc1/decide", &body)).await;
    assert_eq!(result["decision"], "login_required");
}

#[tokio::test]
async fn time_defaults_to_now_and_is_honoured_when_given() {
    let f = fixture().await;
    let body = json!({"resource": {"app_id": "app1"}, "identity": {"email": "a@example.com"},
        "time": "2020-01-01T00:00:00Z"})
    .to_string();
    let (status, _, result) = send(&f.state, post_json("/v1/accounts/acc1/decide", &body)).await;
    assert_eq!((status, result["decision"].as_str()), (200, Some("allow")));
}

#[tokio::test]
async fn explain_true_adds_the_trace() {
    let f = fixture().await;
    let body =
        json!({"resource": {"app_id": "app1"}, "identity": {"email": "a@other.org"}}).to_string();
    let (_, _, result) = send(
        &f.state,
        post_json("/v1/accounts/acc1/decide?explain=true", &body),
    )
    .await;
    assert_eq!(result["decision"], "deny");
    let trace = result["explain"].as_array().unwrap();
    assert_eq!(trace[0]["policy_id"], "p-allow");
    assert_eq!(trace[0]["matched"], false);
}

#[tokio::test]
async fn issue_token_returns_a_verifiable_rs256_token_for_the_app() {
    let f = fixture().await;
    let body = json!({"resource": {"app_id": "app1"}, "identity": {"email": "a@example.com", "groups": ["eng"]},
        "network": {"country": "US"}, "issue_token": true}).to_string();
    let (_, _, result) = send(&f.state, post_json("/v1/accounts/acc1/decide", &body)).await;
    let token = result["token"].as_str().expect("token");
    let claims = verify(&f.state.keys, token, "portcullis", AUD_APP, t0()).unwrap();
    assert_eq!(claims.email.as_deref(), Some("a@example.com"));
    assert_eq!(
        claims.exp - claims.iat,
        8 * 3600,
        "exp = iat + the policy's 8h session"
    );
    assert_eq!(claims.kind, "app");
    assert_eq!(claims.country.as_deref(), Some("US"));
    assert_eq!(
        claims.identity.clone().unwrap().groups,
        vec!["eng".to_string()]
    );
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some(shared_key(0).kid.as_str()));
}

#[tokio::test]
async fn no_token_is_issued_on_deny() {
    let f = fixture().await;
    let body = json!({"resource": {"app_id": "app1"}, "identity": {"email": "a@other.org"}, "issue_token": true}).to_string();
    let (_, _, result) = send(&f.state, post_json("/v1/accounts/acc1/decide", &body)).await;
    assert_eq!(result["decision"], "deny");
    assert!(result.get("token").is_none());
}

#[tokio::test]
async fn unknown_fields_are_a_400_naming_the_field() {
    let f = fixture().await;
    let body = json!({"identity": {"emial": "a@example.com"}}).to_string();
    let (status, _, result) = send(&f.state, post_json("/v1/accounts/acc1/decide", &body)).await;
    assert_eq!(status, 400);
    assert_eq!(result["errors"][0]["code"], "invalid_request");
    let message = result["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("identity") && message.contains("emial"),
        "{message}"
    );
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let f = fixture().await;
    let (status, _, result) = send(
        &f.state,
        post_json("/v1/accounts/acc1/decide", "{\"identity\":"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(result["errors"][0]["code"], "invalid_request");
}

#[tokio::test]
async fn a_non_boolean_issue_token_is_a_400() {
    let f = fixture().await;
    let (status, _, _) = send(
        &f.state,
        post_json("/v1/accounts/acc1/decide", r#"{"issue_token": "yes"}"#),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_missing_or_wrong_bearer_token_is_a_401() {
    let f = fixture().await;
    let request = axum::http::Request::post("/v1/accounts/acc1/decide")
        .body(axum::body::Body::from("{}"))
        .unwrap();
    let (status, headers, _) = send(&f.state, request).await;
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], "Bearer");
    let request = axum::http::Request::post("/v1/accounts/acc1/decide")
        .header("authorization", "Bearer nope")
        .body(axum::body::Body::from("{}"))
        .unwrap();
    assert_eq!(send(&f.state, request).await.0, 401);
}

#[tokio::test]
async fn an_unknown_account_is_denied() {
    let f = fixture().await;
    let body =
        json!({"resource": {"host": "app.example.com"}, "identity": {"email": "a@example.com"}})
            .to_string();
    let (status, _, result) = send(&f.state, post_json("/v1/accounts/nobody/decide", &body)).await;
    assert_eq!((status, result["decision"].as_str()), (200, Some("deny")));
}

#[tokio::test]
async fn an_unknown_action_is_a_404() {
    let f = fixture().await;
    let (status, _, result) =
        send(&f.state, post_json("/v1/accounts/acc1/decide:stream", "{}")).await;
    assert_eq!(status, 404);
    assert_eq!(result["errors"][0]["code"], "not_found");
}

#[tokio::test]
async fn batch_answers_in_order() {
    let f = fixture().await;
    let body = json!({"requests": [
        {"resource": {"app_id": "app1"}, "identity": {"email": "a@example.com"}},
        {"resource": {"app_id": "app1"}},
        {"resource": {"app_id": "app2"}, "network": {"ip": "10.1.2.3"}},
        {"resource": {"app_id": "app3"}, "service_token": {"client_id": "ci.access", "client_secret": "s3cret"}, "issue_token": true},
    ]}).to_string();
    let (status, _, result) =
        send(&f.state, post_json("/v1/accounts/acc1/decide:batch", &body)).await;
    assert_eq!(status, 200, "{result}");
    let decisions: Vec<&str> = result["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(
        decisions,
        ["allow", "login_required", "bypass", "non_identity"]
    );
    assert!(result["results"][3]["token"].is_string());
}

#[tokio::test]
async fn batch_of_1000_is_accepted_and_1001_is_a_413() {
    let f = fixture().await;
    let one = json!({"resource": {"app_id": "app1"}, "identity": {"email": "a@example.com"}});
    let body = json!({"requests": vec![one.clone(); 1000]}).to_string();
    let (status, _, result) =
        send(&f.state, post_json("/v1/accounts/acc1/decide:batch", &body)).await;
    assert_eq!(status, 200);
    assert_eq!(result["results"].as_array().unwrap().len(), 1000);
    let body = json!({"requests": vec![one; 1001]}).to_string();
    let (status, _, result) =
        send(&f.state, post_json("/v1/accounts/acc1/decide:batch", &body)).await;
    assert_eq!(status, 413);
    assert_eq!(result["errors"][0]["code"], "batch_too_large");
}

#[tokio::test]
async fn a_bad_batch_item_is_a_400_naming_its_index() {
    let f = fixture().await;
    let body = json!({"requests": [{}, {"resource": {"hots": "x"}}]}).to_string();
    let (status, _, result) =
        send(&f.state, post_json("/v1/accounts/acc1/decide:batch", &body)).await;
    assert_eq!(status, 400);
    let message = result["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("requests[1]"), "{message}");
    let (status, _, _) = send(
        &f.state,
        post_json(
            "/v1/accounts/acc1/decide:batch",
            r#"{"requests": [], "extra": 1}"#,
        ),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn every_decision_is_counted_and_logged_for_access_requests() {
    let f = fixture().await;
    let body =
        json!({"resource": {"host": "app.example.com"}, "identity": {"email": "a@example.com"},
        "network": {"ip": "203.0.113.9", "country": "US"}})
        .to_string();
    send(&f.state, post_json("/v1/accounts/acc1/decide", &body)).await;
    let rows = f.access_log.entries();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].allowed);
    assert_eq!(rows[0].app_uid.as_deref(), Some("app1"));
    assert_eq!(rows[0].app_domain.as_deref(), Some("app.example.com"));
    assert_eq!(rows[0].ip_address.as_deref(), Some("203.0.113.9"));
    assert_eq!(rows[0].user_email.as_deref(), Some("a@example.com"));
    let request = axum::http::Request::get("/metrics")
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, _, text) = send(&f.state, request).await;
    assert_eq!(status, 200);
    let text = text.as_str().unwrap();
    assert!(
        text.contains("portcullis_decisions_total{decision=\"allow\"} 1"),
        "{text}"
    );
    assert!(text.contains("portcullis_decision_duration_seconds_count 1"));
    assert!(text.contains("portcullis_snapshot_sequence 1"));
    assert!(text.contains("portcullis_store_errors_total 0"));
}
