//! The ACM-compatible API: every bad input answers with Google's error shape,
//! the exact status and message.

mod common;

use axum::http::{Method, StatusCode};
use common::Api;
use serde_json::{json, Value};

async fn policy(api: &Api, org: &str) -> String {
    let body = json!({"parent": format!("organizations/{org}"), "title": "corp"}).to_string();
    let (status, op) = api.post("/v1/accessPolicies", &body).await;
    assert_eq!(status, StatusCode::OK, "{op}");
    op["response"]["name"].as_str().unwrap().to_string()
}

fn level(policy: &str, short: &str, condition: Value) -> String {
    json!({
        "name": format!("{policy}/accessLevels/{short}"),
        "title": short,
        "basic": {"conditions": [condition]},
    })
    .to_string()
}

fn error(body: &Value) -> (&str, &str) {
    (
        body["error"]["status"].as_str().unwrap_or_default(),
        body["error"]["message"].as_str().unwrap_or_default(),
    )
}

async fn create_bad(api: &Api, policy: &str, body: &str) -> (StatusCode, String, String) {
    let (status, body) = api.post(&format!("/v1/{policy}/accessLevels"), body).await;
    let (s, m) = error(&body);
    (status, s.to_string(), m.to_string())
}

#[tokio::test]
async fn writes_return_done_operations_that_can_be_read_again() {
    let api = Api::new().await;
    let p = policy(&api, "o1").await;
    let (status, op) = api
        .post(
            &format!("/v1/{p}/accessLevels"),
            &level(&p, "corp", json!({"ipSubnetworks": ["10.0.0.0/8"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(op["done"], true);
    assert_eq!(
        op["response"]["@type"],
        "type.googleapis.com/google.identity.accesscontextmanager.v1.AccessLevel"
    );
    let name = op["name"].as_str().unwrap();
    let (status, again) = api
        .get(&format!("/v1/{name}?alt=json&prettyPrint=false"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, op);
}

#[tokio::test]
async fn level_validation_errors_name_the_field() {
    let api = Api::new().await;
    let p = policy(&api, "o1").await;
    let cases: Vec<(String, &str)> = vec![
        (
            level(&p, "net", json!({"ipSubnetworks": ["10.0.0.1/8"]})),
            "basic.conditions[0].ipSubnetworks[0]: ",
        ),
        (
            json!({"name": format!("{p}/accessLevels/both"), "title": "b",
                   "basic": {"conditions": [{"regions": ["US"]}]},
                   "custom": {"expr": {"expression": "true"}}})
            .to_string(),
            "custom: cannot be set together with basic (exactly one of basic and custom)",
        ),
        (
            json!({"name": format!("{p}/accessLevels/none"), "title": "n"}).to_string(),
            "exactly one of basic and custom is required",
        ),
        (
            json!({"name": format!("{p}/accessLevels/cel"), "title": "c",
                   "custom": {"expr": {"expression": "origin.ip =="}}})
            .to_string(),
            "custom.expr.expression: CEL expression ",
        ),
        (
            level(
                &p,
                "vpc",
                json!({"ipSubnetworks": ["10.0.0.0/8"], "vpcNetworkSources": [{"vpcSubnetwork": {
                    "network": "//compute.googleapis.com/projects/p/global/networks/n"}}]}),
            ),
            "basic.conditions[0].vpcNetworkSources: cannot be set together with ipSubnetworks",
        ),
        (
            level(&p, "9bad", json!({"regions": ["US"]})),
            "name: short name \"9bad\" must start with a letter and hold only letters, digits and underscores (at most 50)",
        ),
        (
            level(
                "accessPolicies/other",
                "elsewhere",
                json!({"regions": ["US"]}),
            ),
            "name: \"accessPolicies/other/accessLevels/elsewhere\" is not in the parent",
        ),
        (
            level(
                &p,
                "needs",
                json!({"requiredAccessLevels": [format!("{p}/accessLevels/missing")]}),
            ),
            "basic.conditions[0].requiredAccessLevels[0]: access level ",
        ),
        (
            r#"{"name": 5}"#.to_string(),
            "name: invalid type: integer `5`, expected a string",
        ),
        (
            r#"{"titel": "x"}"#.to_string(),
            "titel: unknown field `titel`",
        ),
    ];
    for (body, message) in cases {
        let (status, code, got) = create_bad(&api, &p, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {got}");
        assert_eq!(code, "INVALID_ARGUMENT", "{body}");
        assert!(
            got.starts_with(message),
            "{body}: {got:?} does not start with {message:?}"
        );
    }
}

#[tokio::test]
async fn duplicate_names_titles_and_cycles_are_refused() {
    let api = Api::new().await;
    let p = policy(&api, "o1").await;
    let path = format!("/v1/{p}/accessLevels");
    let a = level(&p, "a", json!({"regions": ["US"]}));
    assert_eq!(api.post(&path, &a).await.0, StatusCode::OK);
    let (status, body) = api.post(&path, &a).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        error(&body),
        (
            "ALREADY_EXISTS",
            format!("access level {p}/accessLevels/a already exists").as_str()
        )
    );
    let same_title = json!({"name": format!("{p}/accessLevels/b"), "title": "a",
                            "basic": {"conditions": [{"regions": ["DE"]}]}})
    .to_string();
    let (status, body) = api.post(&path, &same_title).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error(&body).1,
        format!("title: another level of {p} already has the title \"a\"")
    );
    let b = level(
        &p,
        "b",
        json!({"requiredAccessLevels": [format!("{p}/accessLevels/a")]}),
    );
    assert_eq!(api.post(&path, &b).await.0, StatusCode::OK);
    let cycle = json!({"basic": {"conditions": [{"requiredAccessLevels": [format!("{p}/accessLevels/b")]}]}})
        .to_string();
    let (status, body) = api
        .send(
            Method::PATCH,
            &format!("/v1/{p}/accessLevels/a?updateMask=basic"),
            Some(&cycle),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error(&body)
            .1
            .contains("access levels require each other in a cycle"),
        "{body}"
    );
    // Deleting a level another one requires would leave a dangling reference.
    let (status, body) = api
        .send(Method::DELETE, &format!("/v1/{p}/accessLevels/a"), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error(&body).1,
        format!("{p}/accessLevels/b: basic.conditions[0].requiredAccessLevels[0]: access level \"{p}/accessLevels/a\" does not exist")
    );
}

#[tokio::test]
async fn patch_needs_a_valid_update_mask() {
    let api = Api::new().await;
    let p = policy(&api, "o1").await;
    let path = format!("/v1/{p}/accessLevels");
    api.post(&path, &level(&p, "a", json!({"regions": ["US"]})))
        .await;
    let (status, body) = api
        .send(
            Method::PATCH,
            &format!("{path}/a"),
            Some(r#"{"title": "x"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error(&body),
        ("INVALID_ARGUMENT", "updateMask: is required")
    );
    let (status, body) = api
        .send(
            Method::PATCH,
            &format!("{path}/a?updateMask=name"),
            Some(r#"{"title": "x"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error(&body).1,
        "updateMask: \"name\" is not a field that can be updated (one of title, description, basic, custom)"
    );
    let (status, body) = api
        .send(
            Method::PATCH,
            &format!("{path}/zz?updateMask=title"),
            Some(r#"{"title": "x"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        error(&body),
        (
            "NOT_FOUND",
            format!("access level {p}/accessLevels/zz not found").as_str()
        )
    );
}

#[tokio::test]
async fn replace_all_with_a_stale_etag_is_aborted() {
    let api = Api::new().await;
    let p = policy(&api, "o1").await;
    let (_, got) = api.get(&format!("/v1/{p}")).await;
    let etag = got["etag"].as_str().unwrap().to_string();
    api.post(
        &format!("/v1/{p}/accessLevels"),
        &level(&p, "a", json!({"regions": ["US"]})),
    )
    .await;
    let body = json!({"accessLevels": [], "etag": etag}).to_string();
    let (status, res) = api
        .post(&format!("/v1/{p}/accessLevels:replaceAll"), &body)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        error(&res),
        ("ABORTED", format!("etag {etag:?} does not match the access policy's current etag; read the policy again").as_str())
    );
}

#[tokio::test]
async fn queries_are_checked() {
    let api = Api::new().await;
    let p = policy(&api, "o1").await;
    let cases = [
        (
            format!("/v1/{p}/accessLevels?pageSize=-1"),
            "pageSize: \"-1\" is not a non-negative integer",
        ),
        (
            format!("/v1/{p}/accessLevels?pageToken=abc"),
            "pageToken: \"abc\" is not a page token",
        ),
        (
            format!("/v1/{p}/accessLevels?accessLevelFormat=XML"),
            "accessLevelFormat: \"XML\" is not LEVEL_FORMAT_UNSPECIFIED, AS_DEFINED or CEL",
        ),
        (
            "/v1/accessPolicies".to_string(),
            "parent: is required (organizations/{id})",
        ),
        (
            "/v1/accessPolicies?parent=folders/1".to_string(),
            "parent: \"folders/1\" is not of the form organizations/{id}",
        ),
    ];
    for (path, message) in cases {
        let (status, body) = api.get(&path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(error(&body), ("INVALID_ARGUMENT", message), "{path}");
    }
    let (status, body) = api
        .post("/v1/accessPolicies", r#"{"parent": "organizations/o1"}"#)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error(&body).1, "title: is required");
}

#[tokio::test]
async fn tokens_are_checked_in_googles_shape() {
    let api = Api::new().await;
    let p = policy(&api, "o1").await;
    let (status, body) = api
        .send_as(None, Method::GET, &format!("/v1/{p}"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error(&body).0, "UNAUTHENTICATED");
    let other = api.account_token("o2", false).await;
    let (status, body) = api
        .send_as(Some(&other), Method::GET, &format!("/v1/{p}"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        error(&body),
        (
            "PERMISSION_DENIED",
            "this token may not access organizations/o1"
        )
    );
    let read_only = api.account_token("o1", true).await;
    let (status, body) = api
        .send_as(
            Some(&read_only),
            Method::POST,
            &format!("/v1/{p}/accessLevels"),
            Some(&level(&p, "a", json!({"regions": ["US"]}))),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        error(&body),
        ("PERMISSION_DENIED", "this token is read-only")
    );
    let (status, body) = api.get("/v1/accessPolicies/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        error(&body),
        ("NOT_FOUND", "access policy accessPolicies/nope not found")
    );
    let (status, _) = api.get("/v1/operations/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn levels_are_account_objects() {
    let api = Api::new().await;
    let p = policy(&api, "o1").await;
    api.post(
        &format!("/v1/{p}/accessLevels"),
        &level(&p, "a", json!({"regions": ["US"]})),
    )
    .await;
    let objects = api.store.account_objects("o1").await.unwrap();
    assert_eq!(objects.access_levels.len(), 1);
    assert_eq!(
        objects.access_levels[0]["name"],
        format!("{p}/accessLevels/a")
    );
}

#[tokio::test]
async fn openapi_documents_every_new_route() {
    let api = Api::new().await;
    let (status, doc) = api.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let expected = [
        ("/v1/accessPolicies", ["get", "post"].as_slice()),
        ("/v1/accessPolicies/{policy}", &["get", "patch", "delete"]),
        ("/v1/accessPolicies/{policy}/accessLevels", &["get", "post"]),
        (
            "/v1/accessPolicies/{policy}/accessLevels:replaceAll",
            &["post"],
        ),
        (
            "/v1/accessPolicies/{policy}/accessLevels/{level}",
            &["get", "patch", "delete"],
        ),
        ("/v1/operations/{operation}", &["get"]),
        (
            "/v1/environments/{env}/authorizationPolicies",
            &["get", "post"],
        ),
        (
            "/v1/environments/{env}/authorizationPolicies/{policy_id}",
            &["get", "put", "delete"],
        ),
        ("/v1/environments/{env}/decisionEndpoints", &["get", "post"]),
        (
            "/v1/environments/{env}/decisionEndpoints/{endpoint_id}",
            &["get", "put", "delete", "post"],
        ),
        ("/v1/accounts/{owner}/ztna/policies", &["get", "post"]),
        (
            "/v1/accounts/{owner}/ztna/policies/{policy_id}",
            &["get", "put", "delete"],
        ),
    ];
    for (path, methods) in expected {
        for m in methods {
            assert!(
                doc["paths"][path][m].is_object(),
                "{m} {path} is not documented"
            );
        }
    }
}
