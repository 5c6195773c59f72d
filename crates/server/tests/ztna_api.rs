//! The ZTNA policy API: CRUD with server-set `id`, `created`, `updated`, and
//! field paths in every validation error.

mod common;

use axum::http::{Method, StatusCode};
use common::Api;
use serde_json::{json, Value};

const PATH: &str = "/v1/accounts/acc1/ztna/policies";

fn base() -> Value {
    json!({
        "name": "eng", "decision": "allow",
        "subjects": [{"type": "group", "id": "eng"}],
        "resources": [{"type": "application", "id": "wiki"}],
    })
}

fn messages(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["message"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn crud_round_trip_with_server_fields() {
    let api = Api::new().await;
    let (status, created) = api.post(PATH, &base().to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let policy = &created["result"];
    let id = policy["id"].as_str().unwrap();
    assert!(policy["created"].is_string() && policy["updated"].is_string());
    let (status, got) = api.get(&format!("{PATH}/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&got["result"], policy);
    let mut change = base();
    change["decision"] = "deny".into();
    let (status, replaced) = api
        .send(
            Method::PUT,
            &format!("{PATH}/{id}"),
            Some(&change.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replaced["result"]["decision"], "deny");
    assert_eq!(replaced["result"]["created"], policy["created"]);
    let (status, list) = api.get(&format!("{PATH}?per_page=1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["result_info"]["total_count"], 1);
    let objects = api.store.account_objects("acc1").await.unwrap();
    assert_eq!(objects.ztna_policies.len(), 1);
    let (status, _) = api
        .send(Method::DELETE, &format!("{PATH}/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api.get(&format!("{PATH}/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(messages(&body), [format!("ZTNA policy {id:?} not found")]);
}

#[tokio::test]
async fn bad_policies_name_the_field() {
    let api = Api::new().await;
    let cases = [
        (
            json!({"name": "x"}),
            vec![
                "decision: is required (allow, deny, require_mfa or isolate)",
                "subjects: is required",
                "resources: is required",
            ],
        ),
        (
            {
                let mut b = base();
                b["conditions"] = json!({"time_window": "sometimes"});
                b
            },
            vec!["conditions.time_window: "],
        ),
        (
            {
                let mut b = base();
                b["conditions"] = json!({"risk_score_mx": 3});
                b
            },
            vec!["invalid request body: conditions.risk_score_mx: unknown field `risk_score_mx`"],
        ),
        (
            {
                let mut b = base();
                b["id"] = "not-a-uuid".into();
                b
            },
            vec!["id: \"not-a-uuid\" is not a UUID"],
        ),
    ];
    for (body, expected) in cases {
        let (status, res) = api.post(PATH, &body.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let got = messages(&res);
        assert_eq!(got.len(), expected.len(), "{got:?}");
        for (g, e) in got.iter().zip(&expected) {
            assert!(g.starts_with(e), "{g:?} does not start with {e:?}");
        }
    }
    let (status, res) = api
        .send(
            Method::PUT,
            &format!("{PATH}/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"),
            Some(&base().to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        messages(&res),
        ["ZTNA policy \"6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f\" not found"]
    );
}
