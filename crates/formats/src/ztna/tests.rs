use super::*;
use portcullis_core::ir::{Condition, Predicate, ZtnaEffect};

const ID: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";

fn errors(body: serde_json::Value) -> Vec<String> {
    match crate::from_value::<ZtnaPolicy>(body) {
        Err(e) => vec![e.to_string()],
        Ok(p) => p
            .validate()
            .err()
            .map(|e| e.0.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
    }
}

fn base() -> serde_json::Value {
    serde_json::json!({
        "id": ID, "name": "eng", "decision": "allow",
        "subjects": [{"type": "group", "id": "eng"}],
        "resources": [{"type": "application", "id": "wiki"}]
    })
}

fn with(key: &str, value: serde_json::Value) -> serde_json::Value {
    let mut b = base();
    b[key] = value;
    b
}

#[test]
fn a_minimal_policy_is_valid_and_enabled_by_default() {
    assert!(errors(base()).is_empty());
    let p: ZtnaPolicy = crate::from_value(base()).unwrap();
    assert!(p.enabled());
    let ir = p.lower();
    assert!(ir.enabled);
    assert_eq!(ir.effect, ZtnaEffect::Allow);
    assert_eq!(
        ir.subject,
        Condition::Leaf(Predicate::IdentityGroup {
            group: "eng".into(),
            idp: None
        })
    );
}

#[test]
fn required_fields_are_named() {
    assert_eq!(
        errors(serde_json::json!({})),
        [
            "id: is required",
            "name: is required",
            "decision: is required (allow, deny, require_mfa or isolate)",
            "subjects: is required",
            "resources: is required",
        ]
    );
}

#[test]
fn id_must_be_a_uuid() {
    assert_eq!(
        errors(with("id", "p1".into())),
        ["id: \"p1\" is not a UUID"]
    );
    assert!(is_uuid("00000000-0000-0000-0000-000000000000"));
    assert!(!is_uuid("00000000-0000-0000-0000-00000000000g"));
}

#[test]
fn unknown_properties_are_refused_with_their_path() {
    assert_eq!(
        errors(with("priority", 1.into())),
        ["priority: unknown field `priority`, expected one of `id`, `name`, `description`, `enabled`, `decision`, `subjects`, `resources`, `conditions`, `session`, `created`, `updated`"]
    );
    let e = errors(with("conditions", serde_json::json!({"risk_score_mx": 5})));
    assert!(
        e[0].starts_with("conditions.risk_score_mx: unknown field `risk_score_mx`"),
        "{e:?}"
    );
    let e = errors(with(
        "subjects",
        serde_json::json!([{"type": "user", "id": "a", "idp": "x"}]),
    ));
    assert!(
        e[0].starts_with("subjects[0].idp: unknown field `idp`"),
        "{e:?}"
    );
}

#[test]
fn enums_are_checked() {
    assert_eq!(
        errors(with("decision", "block".into())),
        ["decision: unknown variant `block`, expected one of `allow`, `deny`, `require_mfa`, `isolate`"]
    );
    assert_eq!(
        errors(with("subjects", serde_json::json!([{"type": "device", "id": "a"}]))),
        ["subjects[0].type: unknown variant `device`, expected one of `user`, `group`, `service_account`, `workload`"]
    );
    assert_eq!(
        errors(with("resources", serde_json::json!([{"type": "api"}]))),
        ["resources[0].type: unknown variant `api`, expected one of `application`, `host`, `network`, `saas`, `url`"]
    );
}

#[test]
fn subjects_and_resources_need_their_required_fields() {
    assert_eq!(
        errors(with(
            "subjects",
            serde_json::json!([{"id": "a"}, {"type": "user"}])
        )),
        [
            "subjects[0].type: is required (user, group, service_account or workload)",
            "subjects[1].id: is required",
        ]
    );
    assert_eq!(
        errors(with(
            "resources",
            serde_json::json!([{"fqdn": "a.example.com"}])
        )),
        ["resources[0].type: is required (application, host, network, saas or url)"]
    );
}

#[test]
fn ports_must_be_port_numbers() {
    assert_eq!(
        errors(with(
            "resources",
            serde_json::json!([{"type": "host", "fqdn": "db", "ports": [5432, 70000]}])
        )),
        ["resources[0].ports[1]: 70000 is not a port number (0-65535)"]
    );
    let e = errors(with(
        "resources",
        serde_json::json!([{"type": "host", "ports": ["22"]}]),
    ));
    assert!(
        e[0].starts_with("resources[0].ports[0]: invalid type: string \"22\", expected i64"),
        "{e:?}"
    );
}

#[test]
fn conditions_are_validated() {
    assert_eq!(
        errors(with(
            "conditions",
            serde_json::json!({"geo": ["US", "usa"]})
        )),
        ["conditions.geo[1]: \"usa\" is not an ISO 3166-1 alpha-2 country code"]
    );
    assert_eq!(
        errors(with(
            "conditions",
            serde_json::json!({"risk_score_max": 101})
        )),
        ["conditions.risk_score_max: 101 is out of range (0-100)"]
    );
    assert_eq!(
        errors(with(
            "conditions",
            serde_json::json!({"risk_score_max": -1})
        )),
        ["conditions.risk_score_max: -1 is out of range (0-100)"]
    );
    let e = errors(with("conditions", serde_json::json!({"mfa": "yes"})));
    assert!(
        e[0].starts_with("conditions.mfa: invalid type: string \"yes\", expected a boolean"),
        "{e:?}"
    );
}

#[test]
fn time_windows_follow_the_grammar() {
    let tw = |w: &str| errors(with("conditions", serde_json::json!({"time_window": w})));
    assert!(tw("Mon-Fri 09:00-17:00").is_empty());
    assert!(tw("Fri 22:00-02:00 Europe/Berlin").is_empty());
    assert!(tw("* 00:00-24:00").is_empty());
    assert!(tw("Sat,Sun 10:00-12:00 America/New_York").is_empty());
    assert_eq!(
        tw("weekdays 9-5"),
        ["conditions.time_window: \"weekdays\" is not a day (use Mon, Tue, Wed, Thu, Fri, Sat, Sun or *)"]
    );
    assert_eq!(
        tw("Mon 09:00"),
        ["conditions.time_window: \"Mon 09:00\" is not of the form `DAYS HH:MM-HH:MM [IANA zone]` (e.g. `Mon-Fri 09:00-17:00 Europe/Berlin`)"]
    );
    assert_eq!(
        tw("Mon 09:00-25:00"),
        ["conditions.time_window: \"25:00\" is not a time of day HH:MM"]
    );
    assert_eq!(
        tw("Mon 09:00-17:00 Mars/Olympus"),
        ["conditions.time_window: \"Mars/Olympus\" is not an IANA time zone"]
    );
    assert_eq!(
        tw("Mon 09:00-09:00"),
        ["conditions.time_window: start and end are equal, so the window is empty"]
    );
}

#[test]
fn session_limits_must_be_positive_and_become_obligations() {
    assert_eq!(
        errors(with(
            "session",
            serde_json::json!({"max_duration_seconds": 0, "reauth_interval_seconds": -5})
        )),
        [
            "session.max_duration_seconds: 0 is not a positive number of seconds",
            "session.reauth_interval_seconds: -5 is not a positive number of seconds",
        ]
    );
    let p: ZtnaPolicy = crate::from_value(with(
        "session",
        serde_json::json!({"max_duration_seconds": 3600, "reauth_interval_seconds": 900}),
    ))
    .unwrap();
    let ir = p.lower();
    assert_eq!(ir.obligations.session_duration.as_deref(), Some("3600s"));
    assert_eq!(ir.obligations.reauth_interval.as_deref(), Some("900s"));
}

#[test]
fn timestamps_must_be_date_times() {
    assert_eq!(
        errors(with("created", "yesterday".into())),
        ["created: \"yesterday\" is not an RFC 3339 date-time (e.g. 2026-11-22T10:00:00Z)"]
    );
    assert!(errors(with("updated", "2026-11-22T10:00:00Z".into())).is_empty());
}

#[test]
fn parse_policy_reports_syntax_and_validation_errors() {
    let e = parse_policy("{\"id\": 1}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "id: invalid type: integer `1`, expected a string"
    );
    let e = parse_policy("{}").unwrap_err();
    assert_eq!(e.0.len(), 5);
}

#[test]
fn round_trips_exactly_what_was_written() {
    let body = with("conditions", serde_json::json!({"mfa": false, "geo": []}));
    let p: ZtnaPolicy = crate::from_value(body.clone()).unwrap();
    assert_eq!(serde_json::to_value(&p).unwrap(), body);
}

#[test]
fn subjects_and_resources_lower_to_the_documented_predicates() {
    let p: ZtnaPolicy = crate::from_value(serde_json::json!({
        "id": ID, "name": "n", "decision": "isolate",
        "subjects": [
            {"type": "user", "id": "u@example.com", "identity_provider": "okta"},
            {"type": "service_account", "id": "ci.access"}
        ],
        "resources": [
            {"type": "host", "fqdn": "db.example.com", "ports": [5432]},
            {"type": "network"}
        ],
        "conditions": {"mfa": true, "geo": ["US"], "device_posture": [], "time_window": "* 00:00-24:00"}
    }))
    .unwrap();
    let ir = p.lower();
    assert_eq!(ir.effect, ZtnaEffect::Isolate);
    assert_eq!(
        ir.subject,
        Condition::Any(vec![
            Condition::All(vec![
                Condition::Any(vec![
                    Condition::Leaf(Predicate::EmailIn(vec!["u@example.com".into()])),
                    Condition::Leaf(Predicate::UserId("u@example.com".into())),
                ]),
                Condition::Leaf(Predicate::IdpIs("okta".into())),
            ]),
            Condition::Leaf(Predicate::ServiceAccount("ci.access".into())),
        ])
    );
    let Condition::Any(resources) = &ir.resource else {
        panic!("{:?}", ir.resource)
    };
    assert_eq!(
        resources[0],
        Condition::All(vec![
            Condition::Leaf(Predicate::ResourceHost("db.example.com".into())),
            Condition::Leaf(Predicate::ResourcePort(vec![5432])),
        ])
    );
    assert!(matches!(resources[1], Condition::Compare { .. }));
    // An empty device_posture list asks for nothing.
    assert_eq!(
        ir.conditions,
        vec![
            Condition::Leaf(Predicate::AuthMethod("mfa".into())),
            Condition::Leaf(Predicate::Country(vec!["US".into()])),
            Condition::TimeWindow("* 00:00-24:00".into()),
        ]
    );
}

#[test]
fn a_disabled_policy_lowers_as_disabled() {
    let p: ZtnaPolicy = crate::from_value(with("enabled", false.into())).unwrap();
    assert!(!p.lower().enabled);
}
