//! Setups that must be refused, and the exact message each gets.
//!
//! The corpus format has no way to expect a setup error, so these run the real
//! binary (`portcullis eval --setup FILE`) on a temporary file and compare what
//! it prints. Every message names the object and the field, the way the admin
//! API's 400 does.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

/// A temporary file removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!(
            "portcullis-bad-setups-{}-{name}.json",
            std::process::id()
        ));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs `portcullis eval` on `setup` and returns the error it prints; panics when
/// the setup is accepted.
fn setup_error(name: &str, setup: Value) -> String {
    let setup_file = TempFile::new(&format!("{name}-setup"), &setup.to_string());
    let request_file = TempFile::new(&format!("{name}-request"), "{}");
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("eval")
        .arg("--setup")
        .arg(&setup_file.0)
        .arg("--request")
        .arg(&request_file.0)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{name}: setup was accepted: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    let message = stderr.trim_end().strip_prefix("error: ").unwrap();
    // The path of the file comes first for parse errors; drop it.
    match message.strip_prefix(&format!("{}: ", setup_file.0.display())) {
        Some(rest) => rest.to_string(),
        None => message.to_string(),
    }
}

fn setup(policies: Value, apps: Value) -> Value {
    json!({"account_id": "acc", "policies": policies, "apps": apps})
}

fn allow(id: &str, include: Value) -> Value {
    json!({"id": id, "name": id, "decision": "allow", "include": include})
}

fn app_with(policies: Value) -> Value {
    json!([{"id": "app1", "name": "app1", "domain": "app.example.com", "policies": policies}])
}

#[test]
fn dangling_group_reference_is_refused() {
    let s = setup(
        json!([allow("p1", json!([{"group": {"id": "grp-missing"}}]))]),
        app_with(json!(["p1"])),
    );
    assert_eq!(
        setup_error("dangling-group", s),
        r#"policy "p1": include[0].group.id: Access group "grp-missing" does not exist"#
    );
}

#[test]
fn dangling_group_reference_inside_a_group_is_refused() {
    let mut s = setup(json!([]), json!([]));
    s["groups"] = json!([{"id": "g1", "name": "g1", "include": [{"everyone": {}}],
                           "exclude": [{"group": {"id": "g-gone"}}]}]);
    assert_eq!(
        setup_error("dangling-group-in-group", s),
        r#"Access group "g1": exclude[0].group.id: Access group "g-gone" does not exist"#
    );
}

#[test]
fn dangling_list_reference_is_refused() {
    let s = setup(
        json!([allow(
            "p1",
            json!([{"everyone": {}}, {"email_list": {"id": "list-missing"}}])
        )]),
        app_with(json!(["p1"])),
    );
    assert_eq!(
        setup_error("dangling-list", s),
        r#"policy "p1": include[1].email_list.id: list "list-missing" does not exist"#
    );
}

#[test]
fn list_of_the_wrong_type_is_refused() {
    let mut s = setup(
        json!([allow("p1", json!([{"ip_list": {"id": "emails"}}]))]),
        app_with(json!(["p1"])),
    );
    s["lists"] = json!([{"id": "emails", "name": "e", "type": "EMAIL",
                         "items": [{"value": "a@example.com"}]}]);
    assert_eq!(
        setup_error("wrong-list-type", s),
        r#"policy "p1": include[0].ip_list.id: list "emails" is an EMAIL list, not an IP list"#
    );
}

#[test]
fn dangling_service_token_reference_is_refused() {
    let s = setup(
        json!([{"id": "p1", "name": "p1", "decision": "non_identity",
                "include": [{"service_token": {"token_id": "st-missing"}}]}]),
        app_with(json!(["p1"])),
    );
    assert_eq!(
        setup_error("dangling-token", s),
        r#"policy "p1": include[0].service_token.token_id: service token "st-missing" does not exist"#
    );
}

#[test]
fn dangling_policy_reference_from_an_app_is_refused() {
    let s = setup(
        json!([allow("p1", json!([{"everyone": {}}]))]),
        app_with(json!(["p1", "p-missing"])),
    );
    assert_eq!(
        setup_error("dangling-policy", s),
        r#"app "app1": policies[1].id: policy "p-missing" does not exist"#
    );
}

#[test]
fn group_cycle_is_refused() {
    let mut s = setup(json!([]), json!([]));
    s["groups"] = json!([
        {"id": "g1", "name": "g1", "include": [{"group": {"id": "g2"}}]},
        {"id": "g2", "name": "g2", "include": [{"everyone": {}}],
         "require": [{"group": {"id": "g1"}}]}
    ]);
    assert_eq!(
        setup_error("group-cycle", s),
        r#"Access group "g1": Access groups refer to each other in a cycle: "g1" → "g2" → "g1""#
    );
}

#[test]
fn group_that_includes_itself_is_refused() {
    let mut s = setup(json!([]), json!([]));
    s["groups"] = json!([{"id": "g1", "name": "g1", "include": [{"group": {"id": "g1"}}]}]);
    assert_eq!(
        setup_error("group-self-cycle", s),
        r#"Access group "g1": Access groups refer to each other in a cycle: "g1" → "g1""#
    );
}

#[test]
fn duplicate_precedence_on_one_app_is_refused() {
    let s = setup(
        json!([
            allow("p1", json!([{"everyone": {}}])),
            allow("p2", json!([{"everyone": {}}]))
        ]),
        app_with(json!([{"id": "p1", "precedence": 1}, {"id": "p2", "precedence": 1}])),
    );
    assert_eq!(
        setup_error("duplicate-precedence", s),
        "setup.apps[0].policies[1].precedence: precedence 1 is already used by policies[0]; \
         each policy of an application needs its own precedence"
    );
}

#[test]
fn bad_cidr_names_the_rule_field() {
    let s = setup(
        json!([allow(
            "p1",
            json!([{"everyone": {}}, {"geo": {"country_code": "US"}}, {"ip": {"ip": "10.0.0.300/8"}}])
        )]),
        app_with(json!(["p1"])),
    );
    assert_eq!(
        setup_error("bad-cidr", s),
        r#"setup.policies[0].include[2].ip.ip: "10.0.0.300/8" is not an IP address or CIDR"#
    );
}

#[test]
fn bad_cidr_in_an_ip_list_names_the_item() {
    let mut s = setup(json!([]), json!([]));
    s["lists"] = json!([{"id": "l1", "name": "l1", "type": "IP",
                         "items": [{"value": "10.0.0.0/8"}, {"value": "300.1.1.1"}]}]);
    let message = setup_error("bad-list-cidr", s);
    assert!(
        message.starts_with("setup.lists[0].items[1].value: "),
        "{message}"
    );
    assert!(message.contains(r#""300.1.1.1""#), "{message}");
}

#[test]
fn bad_session_duration_is_refused() {
    let mut p = allow("p1", json!([{"everyone": {}}]));
    p["session_duration"] = json!("8 hours");
    let s = setup(json!([p]), app_with(json!(["p1"])));
    let message = setup_error("bad-duration", s);
    assert!(
        message.starts_with("setup.policies[0].session_duration: "),
        "{message}"
    );
    assert!(message.contains("8 hours"), "{message}");
}

#[test]
fn bad_mfa_session_duration_is_refused() {
    let mut p = allow("p1", json!([{"everyone": {}}]));
    p["mfa_config"] = json!({"session_duration": "-5m"});
    let s = setup(json!([p]), app_with(json!(["p1"])));
    let message = setup_error("bad-mfa-duration", s);
    assert!(
        message.starts_with("setup.policies[0].mfa_config.session_duration: "),
        "{message}"
    );
}

#[test]
fn bad_country_code_is_refused() {
    let s = setup(
        json!([allow("p1", json!([{"geo": {"country_code": "XX"}}]))]),
        app_with(json!(["p1"])),
    );
    assert_eq!(
        setup_error("bad-country", s),
        r#"setup.policies[0].include[0].geo.country_code: "XX" is not an ISO 3166-1 alpha-2 country code (e.g. US, DE)"#
    );
}

#[test]
fn linked_app_token_in_an_allow_policy_is_refused() {
    let s = setup(
        json!([allow(
            "p1",
            json!([{"linked_app_token": {"app_uid": "saas-1"}}])
        )]),
        app_with(json!(["p1"])),
    );
    assert_eq!(
        setup_error("linked-in-allow", s),
        "setup.policies[0].include[0].linked_app_token: is only allowed in non_identity and bypass policies"
    );
}

#[test]
fn linked_app_token_in_a_deny_policy_require_is_refused() {
    let s = setup(
        json!([{"id": "p1", "name": "p1", "decision": "deny",
                "include": [{"everyone": {}}],
                "require": [{"linked_app_token": {"app_uid": "saas-1"}}]}]),
        app_with(json!(["p1"])),
    );
    assert_eq!(
        setup_error("linked-in-deny", s),
        "setup.policies[0].require[0].linked_app_token: is only allowed in non_identity and bypass policies"
    );
}

#[test]
fn linked_app_token_in_a_group_is_refused() {
    let mut s = setup(json!([]), json!([]));
    s["groups"] = json!([{"id": "g1", "name": "g1",
                          "include": [{"linked_app_token": {"app_uid": "saas-1"}}]}]);
    assert_eq!(
        setup_error("linked-in-group", s),
        "setup.groups[0].include[0].linked_app_token: is only allowed in non_identity and bypass policies, not in groups"
    );
}

#[test]
fn linked_app_token_in_an_inline_allow_policy_is_refused() {
    let s = setup(
        json!([]),
        app_with(
            json!([{"id": "inline", "name": "inline", "decision": "allow",
                          "include": [{"linked_app_token": {"app_uid": "saas-1"}}]}]),
        ),
    );
    assert_eq!(
        setup_error("linked-in-inline", s),
        "setup.apps[0].policies[0].include[0].linked_app_token: is only allowed in non_identity and bypass policies"
    );
}

#[test]
fn wildcard_outside_the_first_label_is_refused() {
    let s = setup(
        json!([allow("p1", json!([{"everyone": {}}]))]),
        json!([{"id": "app1", "name": "app1", "domain": "a.*.example.com", "policies": ["p1"]}]),
    );
    assert_eq!(
        setup_error("bad-wildcard", s),
        r#"setup.apps[0].domain: "a.*.example.com": a wildcard is only allowed in the first label of the host (e.g. *.example.com)"#
    );
}

#[test]
fn two_apps_with_one_domain_are_refused() {
    let s = setup(
        json!([allow("p1", json!([{"everyone": {}}]))]),
        json!([
            {"id": "app1", "name": "app1", "domain": "app.example.com/x", "policies": ["p1"]},
            {"id": "app2", "name": "app2", "domain": "APP.example.com/x/", "policies": ["p1"]}
        ]),
    );
    assert_eq!(
        setup_error("domain-conflict", s),
        r#"app "app2": destinations[0]: "APP.example.com/x/" is already the domain of app "app1""#
    );
}

#[test]
fn unknown_rule_type_names_its_place() {
    let s = setup(
        json!([allow("p1", json!([{"emial": {"email": "a@example.com"}}]))]),
        app_with(json!(["p1"])),
    );
    let message = setup_error("unknown-rule", s);
    assert!(
        message.starts_with("policies[0].include[0]: unknown rule type \"emial\""),
        "{message}"
    );
}

#[test]
fn malformed_email_rule_is_refused() {
    let s = setup(
        json!([allow("p1", json!([{"email": {"email": "not-an-email"}}]))]),
        app_with(json!(["p1"])),
    );
    assert_eq!(
        setup_error("bad-email", s),
        r#"setup.policies[0].include[0].email.email: "not-an-email" is not an email address"#
    );
}

#[test]
fn policy_without_decision_is_refused() {
    let s = setup(
        json!([{"id": "p1", "name": "p1", "include": [{"everyone": {}}]}]),
        app_with(json!(["p1"])),
    );
    assert_eq!(
        setup_error("no-decision", s),
        "setup.policies[0].decision: is required (allow, deny, non_identity or bypass)"
    );
}

fn formats_setup(key: &str, objects: Value) -> Value {
    let mut s = json!({"account_id": "acc"});
    s[key] = objects;
    s
}

#[test]
fn ztna_time_window_that_does_not_parse_is_refused() {
    let s = formats_setup(
        "ztna_policies",
        json!([{
            "id": "00000000-0000-4000-8000-000000000001", "name": "n", "decision": "allow",
            "subjects": [{"type": "group", "id": "eng"}],
            "resources": [{"type": "application", "id": "wiki"}],
            "conditions": {"time_window": "Mon-Fri 9-17"}
        }]),
    );
    assert_eq!(
        setup_error("ztna-window", s),
        "setup.ztna_policies[0].conditions.time_window: \"9\" is not a time of day HH:MM"
    );
}

#[test]
fn pingone_reference_cycle_is_refused() {
    let tree = |id: &str, target: &str| {
        json!({"id": id, "type": "POLICY", "name": id,
               "combiningAlgorithm": {"algorithm": "FIRST_APPLICABLE"},
               "children": [{"type": "POLICY", "value": {"id": target}}]})
    };
    let s = formats_setup(
        "authorize_policies",
        json!([tree("a", "b"), tree("b", "a")]),
    );
    assert_eq!(
        setup_error("pingone-cycle", s),
        "setup.authorize_policies[1].children[0].value.id: references form a cycle: a → b → a"
    );
}

#[test]
fn acm_custom_level_with_a_type_error_is_refused() {
    let s = formats_setup(
        "access_levels",
        json!([{"name": "accessPolicies/p/accessLevels/c", "title": "C",
                "custom": {"expr": {"expression": "origin.region_code"}}}]),
    );
    assert_eq!(
        setup_error("acm-cel", s),
        "setup.access_levels[0].custom.expr.expression: CEL expression does not type-check: the expression is string, an access level needs bool"
    );
}

#[test]
fn acm_required_level_cycle_is_refused() {
    let level = |name: &str, needs: &str| {
        json!({"name": format!("accessPolicies/p/accessLevels/{name}"), "title": name,
               "basic": {"conditions": [{"requiredAccessLevels": [format!("accessPolicies/p/accessLevels/{needs}")]}]}})
    };
    let s = formats_setup("access_levels", json!([level("a", "b"), level("b", "a")]));
    assert_eq!(
        setup_error("acm-cycle", s),
        "setup.access_levels[1].basic.conditions[0].requiredAccessLevels[0]: access levels require each other in a cycle: accessPolicies/p/accessLevels/a → accessPolicies/p/accessLevels/b → accessPolicies/p/accessLevels/a"
    );
}

#[test]
fn two_policies_with_one_id_are_refused() {
    let s = setup(
        json!([
            allow("p1", json!([{"everyone": {}}])),
            allow("p1", json!([{"email": {"email": "a@example.com"}}]))
        ]),
        app_with(json!(["p1"])),
    );
    assert_eq!(
        setup_error("duplicate-policy-id", s),
        r#"policy "p1": another policy already has the id "p1""#
    );
}

#[test]
fn two_service_tokens_with_one_client_id_are_refused() {
    let mut s = setup(json!([]), json!([]));
    s["service_tokens"] = json!([
        {"id": "st1", "name": "a", "client_id": "ci.access", "client_secret": "x"},
        {"id": "st2", "name": "b", "client_id": "ci.access", "client_secret": "y"}
    ]);
    assert_eq!(
        setup_error("duplicate-client-id", s),
        r#"service token "st2": client_id: another service token already has client id "ci.access""#
    );
}
