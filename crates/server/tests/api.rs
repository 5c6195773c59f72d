//! The admin API on a router over a temporary SQLite store: bad input, auth,
//! and that nothing is half-written when a write fails.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use portcullis_store::Store;
use serde_json::{json, Value};
use tower::ServiceExt;

const ADMIN: &str = "test-admin-token";
const BASE: &str = "/client/v4/accounts/acc1";

struct Api {
    router: Router,
    store: Store,
    _dir: tempfile::TempDir,
}

async fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/test.db", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    portcullis_server::auth::bootstrap(&store, Some(ADMIN))
        .await
        .unwrap();
    Api {
        router: portcullis_server::router(store.clone()),
        store,
        _dir: dir,
    }
}

impl Api {
    async fn send(&self, req: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body, headers)
    }

    async fn call(&self, method: &str, path: &str, body: Option<&str>) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {ADMIN}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let (s, b, _) = self.send(req).await;
        (s, b)
    }
}

fn message(body: &Value) -> String {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

const POLICY: &str = r#"{"name":"p","decision":"allow","include":[{"everyone":{}}]}"#;

#[tokio::test]
async fn invalid_json_is_400_naming_line_and_column() {
    let api = api().await;
    let (status, body) = api
        .call(
            "POST",
            &format!("{BASE}/access/policies"),
            Some("{\"name\": \"p\",\n  \"decision\": }"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("line 2 column"), "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(body["errors"][0]["code"], 10004);
}

#[tokio::test]
async fn unknown_fields_are_400_naming_the_field() {
    let api = api().await;
    let (status, body) = api
        .call(
            "POST",
            &format!("{BASE}/access/policies"),
            Some(r#"{"name":"p","decision":"allow","include":[{"everyone":{}}],"decison":"x"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("unknown field `decison`"), "{body}");
}

#[tokio::test]
async fn engine_validation_errors_carry_the_field_path() {
    let api = api().await;
    let (status, body) = api
        .call(
            "POST",
            &format!("{BASE}/access/policies"),
            Some(r#"{"name":"p","decision":"allow","include":[{"ip":{"ip":"10.0.0.300/8"}}]}"#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).starts_with("include[0].ip.ip:"), "{body}");
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_413() {
    let api = api().await;
    let big = format!(
        r#"{{"name":"{}","decision":"allow","include":[{{"everyone":{{}}}}]}}"#,
        "x".repeat(1024 * 1024 + 10)
    );
    let (status, body) = api
        .call("POST", &format!("{BASE}/access/policies"), Some(&big))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}

#[tokio::test]
async fn a_content_type_other_than_json_is_415() {
    let api = api().await;
    let req = Request::builder()
        .method("POST")
        .uri(format!("{BASE}/access/policies"))
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "text/plain")
        .body(Body::from(POLICY))
        .unwrap();
    let (status, body, _) = api.send(req).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
}

#[tokio::test]
async fn missing_objects_and_routes_are_404() {
    let api = api().await;
    for path in [
        format!("{BASE}/access/policies/nope"),
        format!("{BASE}/access/apps/nope"),
        format!("{BASE}/access/apps/nope/policies"),
        format!("{BASE}/access/groups/nope"),
        format!("{BASE}/access/service_tokens/nope"),
        format!("{BASE}/gateway/lists/nope"),
        format!("{BASE}/gateway/lists/nope/items"),
        "/client/v4/elsewhere/acc1/access/apps".to_string(),
    ] {
        let (status, body) = api.call("GET", &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, _) = api
        .call("PUT", &format!("{BASE}/access/policies/nope"), Some(POLICY))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .call("DELETE", &format!("{BASE}/access/groups/nope"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn names_full_of_quotes_and_sql_are_stored_verbatim() {
    let api = api().await;
    let name = r#"Robert'); DROP TABLE objects;-- "quoted" \ ' '' %_"#;
    let body = json!({"name": name, "decision": "allow", "include": [{"everyone": {}}]});
    let (status, created) = api
        .call(
            "POST",
            &format!("{BASE}/access/policies"),
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["result"]["id"].as_str().unwrap();
    let (_, got) = api
        .call("GET", &format!("{BASE}/access/policies/{id}"), None)
        .await;
    assert_eq!(got["result"]["name"], name);
    let weird_account = "/client/v4/accounts/a'b%22c/access/policies";
    let (status, _) = api.call("GET", weird_account, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_failed_write_leaves_nothing_behind() {
    let api = api().await;
    let before = api.store.current_sequence().await.unwrap();
    // The inline policy is valid, the reusable link dangles: nothing is written.
    let app = json!({"name": "w", "domain": "w.example.com", "policies": [
        {"name": "inline", "decision": "allow", "include": [{"everyone": {}}]},
        {"id": "missing", "precedence": 9}]});
    let (status, body) = api
        .call(
            "POST",
            &format!("{BASE}/access/apps"),
            Some(&app.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).contains("policies[1].id"), "{body}");
    // A group whose rule names a missing list is refused after its row was written.
    let group = json!({"name": "g", "include": [{"email_list": {"id": "nope"}}]});
    let (status, _) = api
        .call(
            "POST",
            &format!("{BASE}/access/groups"),
            Some(&group.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let objects = api.store.account_objects("acc1").await.unwrap();
    assert!(objects.policies.is_empty() && objects.apps.is_empty() && objects.groups.is_empty());
    assert_eq!(api.store.current_sequence().await.unwrap(), before);
    assert!(api.store.changes_since(before).await.unwrap().is_empty());
}

#[tokio::test]
async fn tokens_decide_401_and_403() {
    let api = api().await;
    let req = |token: Option<&str>, method: &str, path: &str| {
        let mut r = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        if method != "GET" {
            r = r.header("content-type", "application/json");
        }
        r.body(if method == "GET" {
            Body::empty()
        } else {
            Body::from(POLICY)
        })
        .unwrap()
    };
    let (status, _, _) = api
        .send(req(None, "GET", &format!("{BASE}/access/policies")))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = api
        .send(req(
            Some("wrong"),
            "GET",
            &format!("{BASE}/access/policies"),
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, scoped) = portcullis_server::auth::create_token(&api.store, Some("acc1".into()), false)
        .await
        .unwrap();
    let (status, _, _) = api
        .send(req(
            Some(&scoped),
            "POST",
            &format!("{BASE}/access/policies"),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = api
        .send(req(
            Some(&scoped),
            "GET",
            "/client/v4/accounts/acc2/access/policies",
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = api
        .send(req(
            Some(&scoped),
            "GET",
            "/client/v4/zones/acc1/access/apps",
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, ro) = portcullis_server::auth::create_token(&api.store, Some("acc1".into()), true)
        .await
        .unwrap();
    let (status, _, _) = api
        .send(req(Some(&ro), "POST", &format!("{BASE}/access/policies")))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = api
        .send(req(Some(&ro), "GET", &format!("{BASE}/access/policies")))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn per_page_is_capped_and_pages_past_the_end_are_empty() {
    let api = api().await;
    for _ in 0..3 {
        api.call("POST", &format!("{BASE}/access/policies"), Some(POLICY))
            .await;
    }
    let (_, body) = api
        .call(
            "GET",
            &format!("{BASE}/access/policies?per_page=5000"),
            None,
        )
        .await;
    assert_eq!(body["result_info"]["per_page"], 1000);
    assert_eq!(body["result"].as_array().unwrap().len(), 3);
    let (_, body) = api
        .call(
            "GET",
            &format!("{BASE}/access/policies?per_page=2&page=7"),
            None,
        )
        .await;
    assert_eq!(body["result"], json!([]));
    assert_eq!(body["result_info"]["total_count"], 3);
}

#[tokio::test]
async fn every_write_is_audited_with_before_and_after() {
    let api = api().await;
    let (_, created) = api
        .call("POST", &format!("{BASE}/access/policies"), Some(POLICY))
        .await;
    let id = created["result"]["id"].as_str().unwrap().to_string();
    let renamed = POLICY.replace("\"p\"", "\"renamed\"");
    api.call(
        "PUT",
        &format!("{BASE}/access/policies/{id}"),
        Some(&renamed),
    )
    .await;
    let (status, audit) = api.call("GET", "/v1/accounts/acc1/audit", None).await;
    assert_eq!(status, StatusCode::OK);
    let entries = audit["result"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["op"], "update");
    assert_eq!(entries[0]["token_id"], "bootstrap");
    assert_eq!(entries[0]["before"]["name"], "p");
    assert_eq!(entries[0]["after"]["name"], "renamed");
    assert_eq!(entries[1]["op"], "create");
    assert_eq!(entries[1]["before"], Value::Null);
}

#[tokio::test]
async fn openapi_lists_every_route() {
    let api = api().await;
    let req = Request::builder()
        .uri("/openapi.json")
        .body(Body::empty())
        .unwrap();
    let (status, doc, _) = api.send(req).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/client/v4/accounts/{owner}/access/policies/{policy_id}",
        "/client/v4/zones/{owner}/access/apps/{app_id}/policies/{policy_id}",
        "/client/v4/accounts/{owner}/gateway/lists/{list_id}/items",
        "/v1/accounts/{owner}/audit",
        "/healthz",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    let item = &doc["paths"]["/client/v4/accounts/{owner}/access/policies/{policy_id}"];
    for m in ["get", "put", "delete"] {
        assert!(item[m].is_object(), "{m} missing: {item}");
    }
}

#[tokio::test]
async fn health_and_readiness_answer_without_a_token() {
    let api = api().await;
    for path in ["/healthz", "/readyz"] {
        let resp = api
            .router
            .clone()
            .oneshot(Request::builder().uri(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
}
