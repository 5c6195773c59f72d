//! Whatever JSON arrives, every parser answers with a value or an error: it never
//! panics. Covers the Cloudflare wire types (policy, application, group, list,
//! service token, rule) and corpus files, each followed by validation and
//! lowering when parsing succeeds (a corpus setup is also compiled and asked one
//! request, since that is what `portcullis test` does with untrusted files).
//!
//! Inputs are arbitrary JSON values whose keys and strings lean towards the
//! field names and values the parsers care about, plus single mutations
//! (replace, delete, insert) of known-valid documents.

use portcullis_core::eval::EvalOptions;
use portcullis_core::{CompiledAccount, RequestContext};
use portcullis_formats::cloudflare::{
    AccessApplication, AccessGroup, AccessPolicy, AccessRule, ServiceToken, ZeroTrustList,
    RULE_TYPES,
};
use portcullis_formats::corpus::CorpusFile;
use portcullis_formats::{from_json, from_value};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use serde_json::{json, Map, Number, Value};

const KEYS: &[&str] = &[
    "id",
    "name",
    "decision",
    "include",
    "require",
    "exclude",
    "precedence",
    "email",
    "domain",
    "ip",
    "token_id",
    "country_code",
    "session_duration",
    "mfa_config",
    "mfa_disabled",
    "allowed_authenticators",
    "approval_required",
    "approval_groups",
    "approvals_needed",
    "email_addresses",
    "purpose_justification_required",
    "isolation_required",
    "policies",
    "self_hosted_domains",
    "destinations",
    "type",
    "uri",
    "items",
    "value",
    "client_id",
    "client_secret",
    "expires_at",
    "duration",
    "setup",
    "cases",
    "request",
    "expect",
    "account_id",
    "groups",
    "lists",
    "service_tokens",
    "apps",
    "resource",
    "identity",
    "host",
    "path",
    "app_id",
    "user_risk_score",
    "identity_provider_id",
    "claim_name",
    "team",
];

const STRINGS: &[&str] = &[
    "",
    " ",
    "a@b",
    "alice@example.com",
    "@example.com",
    "10.0.0.0/8",
    "10.0.0.300/8",
    "::1",
    "2001:db8::/129",
    "*.example.com",
    "a.*.example.com",
    "*",
    "example.com/admin/*",
    "24h",
    "-1h",
    "1.5.5h",
    "0",
    "9999999999999999999h",
    "US",
    "XX",
    "allow",
    "deny",
    "bypass",
    "non_identity",
    "EMAIL",
    "IP",
    "self_hosted",
    "saas",
    "public",
    "private",
    "totp",
    "µs",
    "2026-01-01T00:00:00Z",
    "not a time",
    "\u{0}",
    "🦀",
    "[::1]:80",
    "https://",
    "/",
    "low",
    "unscored",
];

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<u64>().prop_map(|n| Value::Number(n.into())),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        proptest::sample::select(STRINGS).prop_map(|s| Value::String(s.into())),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(KEYS).prop_map(str::to_string),
        2 => proptest::sample::select(RULE_TYPES).prop_map(str::to_string),
        1 => "[a-z_]{0,8}",
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Known-valid documents of every kind.
fn valid_documents() -> Vec<Value> {
    vec![
        json!({"id": "p1", "name": "Allow devs", "decision": "allow",
               "include": [{"email_domain": {"domain": "example.com"}}, {"group": {"id": "g1"}}],
               "require": [{"ip": {"ip": "10.0.0.0/8"}}], "exclude": [{"geo": {"country_code": "KP"}}],
               "session_duration": "8h", "approval_required": true,
               "approval_groups": [{"approvals_needed": 1, "email_addresses": ["a@example.com"]}],
               "mfa_config": {"allowed_authenticators": ["totp"], "session_duration": "1h"},
               "purpose_justification_required": true, "purpose_justification_prompt": "why",
               "isolation_required": false}),
        json!({"id": "app1", "name": "Wiki", "type": "self_hosted", "domain": "wiki.example.com/docs",
               "self_hosted_domains": ["wiki.example.com/docs", "*.wiki.example.com"],
               "destinations": [{"type": "public", "uri": "w.example.com"}, {"type": "private", "cidr": "10.0.0.0/8"}],
               "policies": ["p1", {"id": "p2", "precedence": 5},
                            {"name": "inline", "decision": "bypass", "include": [{"everyone": {}}]}],
               "session_duration": "24h", "tags": ["a"]}),
        json!({"id": "g1", "name": "Eng", "include": [{"okta": {"name": "eng", "identity_provider_id": "i"}}],
               "require": [{"auth_method": {"auth_method": "mfa"}}], "exclude": []}),
        json!({"id": "l1", "name": "Offices", "type": "IP", "items": [{"value": "10.0.0.0/8"}, {"value": "::1"}]}),
        json!({"id": "st1", "name": "CI", "client_id": "ci.access", "client_secret": "s", "duration": "8760h",
               "expires_at": "2030-01-01T00:00:00Z"}),
        json!({"user_risk_score": {"user_risk_score": ["low", "unscored"]}}),
        serde_json::from_str(include_str!("../../../tests/corpus/cloudflare-phases.json")).unwrap(),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(Value),
    Delete,
    Insert(String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        arbitrary_json().prop_map(Mutation::Replace),
        Just(Mutation::Delete),
        (key(), arbitrary_json()).prop_map(|(k, v)| Mutation::Insert(k, v)),
    ]
}

/// Every node of a document, as a path of object keys and array indices.
fn node_paths(value: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(prefix.clone());
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                prefix.push(json!(i));
                node_paths(item, prefix, out);
                prefix.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                prefix.push(json!(k));
                node_paths(item, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn apply(doc: &mut Value, path: &[Value], m: Mutation) {
    let Some((last, parent_path)) = path.split_last() else {
        if let Mutation::Replace(v) = m {
            *doc = v;
        }
        return;
    };
    let mut parent = doc;
    for seg in parent_path {
        parent = match seg {
            Value::String(k) => &mut parent[k.as_str()],
            _ => &mut parent[seg.as_u64().unwrap() as usize],
        };
    }
    match (parent, last, m) {
        (Value::Object(map), Value::String(k), Mutation::Replace(v)) => {
            map.insert(k.clone(), v);
        }
        (Value::Object(map), Value::String(k), Mutation::Delete) => {
            map.remove(k);
        }
        (Value::Object(map), _, Mutation::Insert(k, v)) => {
            map.insert(k, v);
        }
        (Value::Array(items), Value::Number(n), m) => {
            let i = n.as_u64().unwrap() as usize;
            match m {
                Mutation::Replace(v) => items[i] = v,
                Mutation::Delete => {
                    items.remove(i);
                }
                Mutation::Insert(_, v) => items.insert(i, v),
            }
        }
        _ => {}
    }
}

/// Feeds one document to every parser, and what parses onwards.
fn exercise(value: &Value) {
    let text = value.to_string();
    if let Ok(p) = from_value::<AccessPolicy>(value.clone()) {
        if p.validate().is_ok() {
            let _ = p.lower("p");
        }
        let _ = p.obligations();
    }
    if let Ok(app) = from_value::<AccessApplication>(value.clone()) {
        let _ = app.validate();
        let _ = app.attached_policies();
        let _ = app.host_patterns();
    }
    if let Ok(g) = from_value::<AccessGroup>(value.clone()) {
        if g.validate().is_ok() {
            let _ = g.lower("g");
        }
    }
    if let Ok(l) = from_value::<ZeroTrustList>(value.clone()) {
        if l.validate().is_ok() {
            let _ = l.lower("l");
        }
    }
    if let Ok(t) = from_value::<ServiceToken>(value.clone()) {
        let _ = t.validate();
    }
    if let Ok(r) = from_value::<AccessRule>(value.clone()) {
        let mut errors = portcullis_formats::ValidationErrors::default();
        r.validate("include[0]", &mut errors);
        let _ = r.lower();
    }
    let _ = from_value::<RequestContext>(value.clone());
    // The text path as well: the CLI and the API read text, not values.
    if let Ok(corpus) = from_json::<CorpusFile>(&text) {
        if let Ok(ir) = corpus.setup.lower() {
            if let Ok(account) = CompiledAccount::compile(&ir) {
                for case in &corpus.cases {
                    let _ = account.evaluate(&case.request, EvalOptions { explain: true });
                }
            }
        }
    }
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(Config { cases: cases(2_000), failure_persistence: None, ..Config::default() })]

    #[test]
    fn arbitrary_json_never_panics(value in arbitrary_json()) {
        exercise(&value);
        // The same value wrapped the way each parser's container holds it.
        exercise(&json!({"include": [value.clone()], "name": "x", "decision": "allow"}));
        exercise(&json!({"name": "c", "setup": {"account_id": "a", "policies": [value]}, "cases": []}));
    }

    #[test]
    fn mutated_valid_documents_never_panic(
        doc in Index::arbitrary(),
        node in Index::arbitrary(),
        mutations in proptest::collection::vec(mutation(), 1..3),
    ) {
        let docs = valid_documents();
        let mut value = doc.get(&docs).clone();
        for m in mutations {
            let mut paths = Vec::new();
            node_paths(&value, &mut Vec::new(), &mut paths);
            let path = node.get(&paths).clone();
            apply(&mut value, &path, m);
        }
        exercise(&value);
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,64}") {
        let _ = from_json::<AccessPolicy>(&text);
        let _ = from_json::<AccessApplication>(&text);
        let _ = from_json::<CorpusFile>(&text);
    }
}

#[test]
fn valid_documents_parse() {
    let docs = valid_documents();
    from_value::<AccessPolicy>(docs[0].clone())
        .unwrap()
        .validate()
        .unwrap();
    from_value::<AccessApplication>(docs[1].clone())
        .unwrap()
        .validate()
        .unwrap();
    from_value::<AccessGroup>(docs[2].clone())
        .unwrap()
        .validate()
        .unwrap();
    from_value::<ZeroTrustList>(docs[3].clone())
        .unwrap()
        .validate()
        .unwrap();
    from_value::<ServiceToken>(docs[4].clone())
        .unwrap()
        .validate()
        .unwrap();
    from_value::<AccessRule>(docs[5].clone()).unwrap();
    from_value::<CorpusFile>(docs[6].clone())
        .unwrap()
        .setup
        .lower()
        .unwrap();
}
