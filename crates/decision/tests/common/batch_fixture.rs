//! The account and the 1000 requests of the `decide:batch` measurements, shared
//! by `tests/numbers.rs` and `benches/batch.rs`.

use portcullis_core::context::RequestContext;
use portcullis_decision::AccountObjects;
use serde_json::json;

/// `policies` allow policies (`email_domain` + `geo`), each with its own
/// application on `app{i}-{salt}.example.com`.
pub fn account(policies: usize, salt: usize) -> AccountObjects {
    let mut ps = Vec::with_capacity(policies);
    let mut apps = Vec::with_capacity(policies);
    for i in 0..policies {
        ps.push(
            json!({"id": format!("p{i}"), "name": "p", "decision": "allow",
            "include": [{"email_domain": {"domain": format!("d{}.example.com", i % 7)}}],
            "require": [{"geo": {"country_code": "US"}}]}),
        );
        apps.push(
            json!({"id": format!("a{i}"), "name": "a", "type": "self_hosted",
            "domain": format!("app{i}-{salt}.example.com"), "policies": [format!("p{i}")]}),
        );
    }
    AccountObjects {
        policies: ps,
        apps,
        ..AccountObjects::default()
    }
}

/// 1000 requests to the first 50 applications of `account(_, 0)`, a third of
/// them from outside the US; none asks for a token.
pub fn requests() -> Vec<(RequestContext, bool)> {
    (0..1000)
        .map(|i| {
            let req = serde_json::from_value(json!({
                "resource": {"host": format!("app{}-0.example.com", i % 50)},
                "identity": {"email": format!("u{i}@d{}.example.com", i % 7)},
                "network": {"ip": "203.0.113.9", "country": if i % 3 == 0 { "DE" } else { "US" }},
                "time": "2026-11-22T10:00:00Z"
            }))
            .expect("the fixture's requests are valid");
            (req, false)
        })
        .collect()
}
