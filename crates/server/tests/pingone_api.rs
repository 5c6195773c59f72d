//! The PingOne-compatible API: policy trees, versions, references, decision
//! endpoints, and every bad input in PingOne's error shape.

mod common;

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::Api;
use portcullis_store::Kind;
use serde_json::{json, Value};

const ENV: &str = "/v1/environments/env1";

fn tree(children: Value) -> String {
    json!({
        "type": "POLICY", "name": "root",
        "combiningAlgorithm": {"algorithm": "DENY_UNLESS_PERMIT"},
        "children": children,
    })
    .to_string()
}

fn permit_if_eng() -> Value {
    json!({
        "type": "RULE", "name": "eng",
        "condition": {"type": "COMPARISON", "left": {"type": "ATTRIBUTE", "id": "identity.claims.department"},
                      "comparator": "EQUALS", "right": {"type": "CONSTANT", "value": "eng"}},
        "effectSettings": {"type": "UNCONDITIONAL_PERMIT"},
    })
}

fn error(body: &Value) -> (&str, &str) {
    (
        body["code"].as_str().unwrap_or_default(),
        body["message"].as_str().unwrap_or_default(),
    )
}

async fn create(api: &Api, body: &str) -> Value {
    let (status, created) = api
        .post(&format!("{ENV}/authorizationPolicies"), body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

#[tokio::test]
async fn crud_sets_id_and_a_new_version_on_every_write() {
    let api = Api::new().await;
    let created = create(&api, &tree(json!([permit_if_eng()]))).await;
    let id = created["id"].as_str().unwrap();
    let v1 = created["version"].as_str().unwrap().to_string();
    let (status, got) = api.get(&format!("{ENV}/authorizationPolicies/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, created);
    let mut change = got.clone();
    change["name"] = "renamed".into();
    let (status, updated) = api
        .put(
            &format!("{ENV}/authorizationPolicies/{id}"),
            &change.to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_ne!(updated["version"], v1);
    // The old version is stale now.
    let (status, body) = api
        .put(
            &format!("{ENV}/authorizationPolicies/{id}"),
            &change.to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        error(&body),
        ("CONFLICT", format!("version \"{v1}\" is not the current version of authorization policy \"{id}\"; read it again").as_str())
    );
    let (status, list) = api.get(&format!("{ENV}/authorizationPolicies")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list["_embedded"]["authorizationPolicies"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (status, body) = api
        .delete(&format!("{ENV}/authorizationPolicies/{id}"))
        .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, body) = api.get(&format!("{ENV}/authorizationPolicies/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        error(&body),
        (
            "NOT_FOUND",
            format!("authorization policy \"{id}\" not found").as_str()
        )
    );
}

#[tokio::test]
async fn bad_policies_are_400_with_details() {
    let api = Api::new().await;
    let path = format!("{ENV}/authorizationPolicies");
    let (status, body) = api.post(&path, r#"{"type": "POLICY"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error(&body),
        (
            "INVALID_DATA",
            "name: is required; combiningAlgorithm: is required"
        )
    );
    assert_eq!(
        body["details"][0],
        json!({"code": "INVALID_VALUE", "target": "name", "message": "is required"})
    );
    let (status, body) = api
        .post(
            &path,
            &tree(json!([{"type": "POLICY", "value": {"id": "missing"}}])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error(&body).1,
        "children[0].value.id: authorization policy \"missing\" does not exist"
    );
    let level_ref = tree(json!([{"type": "RULE", "name": "r",
        "condition": {"type": "REFERENCE", "reference": {"id": "accessPolicies/p/accessLevels/nope"}},
        "effectSettings": {"type": "UNCONDITIONAL_PERMIT"}}]));
    let (status, body) = api.post(&path, &level_ref).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error(&body).1,
        "children[0].condition.reference.id: access level \"accessPolicies/p/accessLevels/nope\" does not exist"
    );
    let (status, body) = api.post(&path, "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error(&body).0, "INVALID_DATA");
}

#[tokio::test]
async fn references_may_not_dangle_or_loop() {
    let api = Api::new().await;
    let leaf = create(&api, &tree(json!([permit_if_eng()]))).await;
    let leaf_id = leaf["id"].as_str().unwrap().to_string();
    let root = create(
        &api,
        &tree(json!([{"type": "POLICY", "value": {"id": leaf_id}}])),
    )
    .await;
    let root_id = root["id"].as_str().unwrap().to_string();
    // leaf → root would close a loop.
    let mut looped: Value =
        serde_json::from_str(&tree(json!([{"type": "POLICY", "value": {"id": root_id}}]))).unwrap();
    looped["version"] = leaf["version"].clone();
    let (status, body) = api
        .put(
            &format!("{ENV}/authorizationPolicies/{leaf_id}"),
            &looped.to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error(&body).0, "INVALID_DATA");
    assert!(error(&body).1.contains("cycle"), "{body}");
    let (status, body) = api
        .delete(&format!("{ENV}/authorizationPolicies/{leaf_id}"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error(&body).1,
        format!("authorizationPolicies[\"{root_id}\"].children[0].value.id: authorization policy \"{leaf_id}\" does not exist")
    );
}

/// Posts `body` to the decision endpoint at `url` until `done` holds for the
/// answer: the snapshot follows a write on this node within 50 ms.
async fn decide_until(
    api: &Api,
    url: &str,
    body: &Value,
    done: impl Fn(StatusCode, &Value) -> bool,
) -> Value {
    let written = Instant::now();
    loop {
        let (status, res) = api.post(url, &body.to_string()).await;
        if done(status, &res) {
            return res;
        }
        assert!(
            written.elapsed() <= Duration::from_millis(50),
            "the write was not visible within 50 ms: {status} {res}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn department(name: &str) -> Value {
    json!({"parameters": {"identity": {"email": "a@x.com", "claims": {"department": name}}}})
}

fn decided(want: &'static str) -> impl Fn(StatusCode, &Value) -> bool {
    move |status, res| status == StatusCode::OK && res["decision"] == want
}

/// A policy permitting `department`, and an endpoint on it; (policy, endpoint url).
async fn endpoint_on(api: &Api, department: &str) -> (Value, String) {
    let mut rule = permit_if_eng();
    rule["condition"]["right"]["value"] = department.into();
    let policy = create(api, &tree(json!([rule]))).await;
    let body = json!({"name": "main", "description": "d", "policyId": policy["id"]}).to_string();
    let (status, endpoint) = api.post(&format!("{ENV}/decisionEndpoints"), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{endpoint}");
    let url = format!(
        "{ENV}/decisionEndpoints/{}",
        endpoint["id"].as_str().unwrap()
    );
    (policy, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decision_endpoints_evaluate_the_tree() {
    let api = Api::with_decisions().await;
    let (policy, url) = endpoint_on(&api, "eng").await;
    let pid = policy["id"].as_str().unwrap();
    let res = decide_until(&api, &url, &department("eng"), decided("PERMIT")).await;
    assert_eq!(res["statements"], json!([]));
    assert_eq!(
        api.post(&url, &department("ops").to_string()).await.1["decision"],
        "DENY"
    );
    let (status, body) = api
        .post(&url, r#"{"parameters": {"identity": {"emial": "x"}}}"#)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error(&body)
            .1
            .starts_with("parameters.identity.emial: unknown field `emial`"),
        "{body}"
    );
    // The endpoint keeps its policy in use.
    let (status, body) = api
        .delete(&format!("{ENV}/authorizationPolicies/{pid}"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error(&body).0, "REQUEST_FAILED");
    let (status, body) = api
        .post(
            &format!("{ENV}/decisionEndpoints"),
            r#"{"name": "x", "policyId": "nope"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error(&body).1,
        "policyId: authorization policy \"nope\" does not exist"
    );
    let (status, body) = api.post(&format!("{ENV}/decisionEndpoints"), "{}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error(&body).1, "name: is required; policyId: is required");
    let (status, body) = api
        .post(&format!("{ENV}/decisionEndpoints/nope"), "{}")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        error(&body),
        ("NOT_FOUND", "decision endpoint \"nope\" not found")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_and_endpoint_writes_reach_decisions_that_never_read_the_store() {
    let api = Api::with_decisions().await;
    let (policy, url) = endpoint_on(&api, "eng").await;
    decide_until(&api, &url, &department("eng"), decided("PERMIT")).await;
    // The policy now permits ops instead.
    let mut changed = policy.clone();
    changed["children"][0]["condition"]["right"]["value"] = "ops".into();
    let pid = policy["id"].as_str().unwrap();
    let (status, body) = api
        .put(
            &format!("{ENV}/authorizationPolicies/{pid}"),
            &changed.to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    decide_until(&api, &url, &department("eng"), decided("DENY")).await;
    // The endpoint moves to another policy.
    let (other, _) = endpoint_on(&api, "sales").await;
    let eid = url.rsplit('/').next().unwrap();
    let moved = json!({"name": "main", "policyId": other["id"]}).to_string();
    let (status, body) = api
        .put(&format!("{ENV}/decisionEndpoints/{eid}"), &moved)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    decide_until(&api, &url, &department("sales"), decided("PERMIT")).await;
    // With the database gone, the admin API fails but decisions go on.
    api.store.close().await;
    let (status, _) = api.get(&format!("{ENV}/decisionEndpoints/{eid}")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, res) = api.post(&url, &department("sales").to_string()).await;
    assert_eq!(
        (status, &res["decision"]),
        (StatusCode::OK, &json!("PERMIT"))
    );
    let (status, res) = api.post(&url, &department("ops").to_string()).await;
    assert_eq!((status, &res["decision"]), (StatusCode::OK, &json!("DENY")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_whose_policy_is_gone_decides_indeterminate() {
    let api = Api::with_decisions().await;
    let (policy, url) = endpoint_on(&api, "eng").await;
    decide_until(&api, &url, &department("eng"), decided("PERMIT")).await;
    // Only a write around the admin API (which refuses it) gets here.
    let mut w = api.store.begin_write("env1", "test").await.unwrap();
    w.delete(Kind::AuthorizePolicy, policy["id"].as_str().unwrap())
        .await
        .unwrap();
    w.commit().await.unwrap();
    let decisions = api.decisions.as_ref().unwrap();
    decisions.refresher.refresh().await.unwrap();
    let (status, res) = api.post(&url, &department("eng").to_string()).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["decision"], "INDETERMINATE");
    assert_eq!(res["statements"], json!([]));
    // The rest of the environment still builds.
    assert!(!decisions.state.snapshots.degraded());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decision_calls_take_decision_tokens_of_the_environment() {
    let api = Api::with_decisions().await;
    let (_, url) = endpoint_on(&api, "eng").await;
    decide_until(&api, &url, &department("eng"), decided("PERMIT")).await;
    let (_, token) =
        portcullis_server::auth::create_decision_token(&api.store, Some("env1".into()))
            .await
            .unwrap();
    let body = department("eng").to_string();
    let (status, res) = api
        .send_as(Some(&token), Method::POST, &url, Some(&body))
        .await;
    assert_eq!(
        (status, &res["decision"]),
        (StatusCode::OK, &json!("PERMIT"))
    );
    let other = api.account_token("env2", false).await;
    for token in [None, Some(other.as_str())] {
        let (status, res) = api.send_as(token, Method::POST, &url, Some(&body)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            error(&res),
            (
                "ACCESS_FAILED",
                "authentication error: send Authorization: Bearer <token>"
            )
        );
    }
}

#[tokio::test]
async fn tokens_are_checked_in_pingones_shape() {
    let api = Api::new().await;
    let path = format!("{ENV}/authorizationPolicies");
    let (status, body) = api.send_as(None, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error(&body).0, "ACCESS_FAILED");
    let other = api.account_token("env2", false).await;
    let (status, body) = api.send_as(Some(&other), Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        error(&body),
        (
            "ACCESS_FAILED",
            "this token may not access environment env1"
        )
    );
}

#[tokio::test]
async fn writes_are_audited_and_policies_are_account_objects() {
    let api = Api::new().await;
    create(&api, &tree(json!([permit_if_eng()]))).await;
    let objects = api.store.account_objects("env1").await.unwrap();
    assert_eq!(objects.authorize_policies.len(), 1);
    let (status, audit) = api.get("/v1/accounts/env1/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(audit["result"][0]["action"], "AUTHORIZE_POLICIES.CREATED");
}

/// Follows `_links.next` from `first`; every page's ids and the pages.
async fn pages(api: &Api, first: &str, collection: &str) -> (Vec<String>, Vec<Value>) {
    let mut ids = Vec::new();
    let mut seen = Vec::new();
    let mut href = Some(first.to_string());
    while let Some(url) = href {
        let (status, page) = api.get(&url).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for item in page["_embedded"][collection].as_array().unwrap() {
            ids.push(item["id"].as_str().unwrap().to_string());
        }
        href = page["_links"]["next"]["href"].as_str().map(str::to_string);
        seen.push(page);
    }
    (ids, seen)
}

#[tokio::test]
async fn lists_are_paged_by_limit_and_cursor() {
    let api = Api::new().await;
    let mut created = Vec::new();
    for _ in 0..5 {
        let policy = create(&api, &tree(json!([permit_if_eng()]))).await;
        created.push(policy["id"].as_str().unwrap().to_string());
    }
    let path = format!("{ENV}/authorizationPolicies");
    let (ids, seen) = pages(&api, &format!("{path}?limit=2"), "authorizationPolicies").await;
    assert_eq!(ids, created);
    let links: Vec<&Value> = seen.iter().map(|p| &p["_links"]).collect();
    assert_eq!(
        *links[0],
        json!({"self": {"href": format!("{path}?limit=2")},
               "next": {"href": format!("{path}?limit=2&cursor=2")}})
    );
    assert_eq!(
        *links[1],
        json!({"self": {"href": format!("{path}?limit=2&cursor=2")},
               "next": {"href": format!("{path}?limit=2&cursor=4")},
               "prev": {"href": format!("{path}?limit=2")}})
    );
    assert_eq!(
        *links[2],
        json!({"self": {"href": format!("{path}?limit=2&cursor=4")},
               "prev": {"href": format!("{path}?limit=2&cursor=2")}})
    );
    let sizes: Vec<(&Value, &Value)> = seen.iter().map(|p| (&p["count"], &p["size"])).collect();
    assert_eq!(
        sizes,
        [
            (&json!(5), &json!(2)),
            (&json!(5), &json!(2)),
            (&json!(5), &json!(1))
        ]
    );
    // Without `limit`, the default page holds them all; a limit above the
    // maximum is lowered to it; past the end is an empty page.
    let (_, all) = api.get(&path).await;
    assert_eq!((&all["count"], &all["size"]), (&json!(5), &json!(5)));
    assert_eq!(
        all["_links"],
        json!({"self": {"href": format!("{path}?limit=100")}})
    );
    let (_, big) = api.get(&format!("{path}?limit=5000")).await;
    assert_eq!(big["_links"]["self"]["href"], format!("{path}?limit=1000"));
    let (status, past) = api.get(&format!("{path}?cursor=9")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(past["_embedded"]["authorizationPolicies"], json!([]));
    assert_eq!((&past["count"], &past["size"]), (&json!(5), &json!(0)));
    // Decision endpoints page the same way.
    let body = json!({"name": "e", "policyId": created[0]}).to_string();
    let mut endpoints = Vec::new();
    for _ in 0..3 {
        let (status, e) = api.post(&format!("{ENV}/decisionEndpoints"), &body).await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
        endpoints.push(e["id"].as_str().unwrap().to_string());
    }
    let (ids, seen) = pages(
        &api,
        &format!("{ENV}/decisionEndpoints?limit=2"),
        "decisionEndpoints",
    )
    .await;
    assert_eq!(ids, endpoints);
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0]["count"], 3);
}

#[tokio::test]
async fn bad_paging_parameters_are_400_naming_them() {
    let api = Api::new().await;
    for collection in ["authorizationPolicies", "decisionEndpoints"] {
        for (query, target, message) in [
            ("limit=0", "limit", "\"0\" is not a positive whole number"),
            ("limit=-3", "limit", "\"-3\" is not a positive whole number"),
            (
                "limit=ten",
                "limit",
                "\"ten\" is not a positive whole number",
            ),
            ("limit=", "limit", "\"\" is not a positive whole number"),
            (
                "cursor=abc",
                "cursor",
                "\"abc\" is not a cursor from this API",
            ),
        ] {
            let (status, body) = api.get(&format!("{ENV}/{collection}?{query}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
            assert_eq!(
                error(&body),
                ("INVALID_DATA", format!("{target}: {message}").as_str())
            );
            assert_eq!(
                body["details"],
                json!([{"code": "INVALID_VALUE", "target": target, "message": message}])
            );
        }
    }
}

#[tokio::test]
async fn an_update_names_the_object_of_its_path() {
    let api = Api::new().await;
    let policy = create(&api, &tree(json!([permit_if_eng()]))).await;
    let pid = policy["id"].as_str().unwrap();
    let body = json!({"name": "e", "policyId": pid}).to_string();
    let (_, endpoint) = api.post(&format!("{ENV}/decisionEndpoints"), &body).await;
    let eid = endpoint["id"].as_str().unwrap();
    let moved = json!({"id": "other", "name": "e", "policyId": pid}).to_string();
    let (status, body) = api
        .put(&format!("{ENV}/decisionEndpoints/{eid}"), &moved)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error(&body),
        (
            "INVALID_DATA",
            format!("id: \"other\" does not match the decision endpoint in the path ({eid})")
                .as_str()
        )
    );
    let mut renamed = policy.clone();
    renamed["id"] = "other".into();
    let (status, body) = api
        .put(
            &format!("{ENV}/authorizationPolicies/{pid}"),
            &renamed.to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error(&body).1,
        format!("id: \"other\" does not match the authorization policy in the path ({pid})")
    );
    let (status, body) = api
        .put(
            &format!("{ENV}/decisionEndpoints/nope"),
            &json!({"name": "e", "policyId": pid}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        error(&body),
        ("NOT_FOUND", "decision endpoint \"nope\" not found")
    );
}
