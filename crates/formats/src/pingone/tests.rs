use super::*;
use portcullis_core::ir::{AuthorizeChildIr, Condition, Operand, RuleEffect};

fn errors(body: serde_json::Value) -> Vec<String> {
    match crate::from_value::<PolicyNode>(body) {
        Err(e) => vec![e.to_string()],
        Ok(p) => p
            .validate()
            .err()
            .map(|e| e.0.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
    }
}

fn permit_rule() -> serde_json::Value {
    serde_json::json!({"type": "RULE", "name": "r", "effectSettings": {"type": "UNCONDITIONAL_PERMIT"}})
}

fn policy(children: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "type": "POLICY", "name": "root",
        "combiningAlgorithm": {"algorithm": "DENY_OVERRIDES"},
        "children": children
    })
}

fn node(body: serde_json::Value) -> PolicyNode {
    crate::from_value(body).unwrap()
}

#[test]
fn a_policy_with_a_rule_is_valid() {
    assert!(errors(policy(serde_json::json!([permit_rule()]))).is_empty());
}

#[test]
fn top_level_must_be_a_policy() {
    assert_eq!(
        errors(permit_rule()),
        ["type: a top-level authorization policy must be a POLICY"]
    );
    assert_eq!(
        errors(serde_json::json!({"type": "POLICY", "value": {"id": "x"}})),
        ["value: only a child can reference another policy"]
    );
    assert_eq!(
        errors(serde_json::json!({})),
        ["type: is required (POLICY or RULE)"]
    );
}

#[test]
fn policies_need_a_name_and_an_algorithm() {
    assert_eq!(
        errors(serde_json::json!({"type": "POLICY"})),
        ["name: is required", "combiningAlgorithm: is required"]
    );
    assert_eq!(
        errors(serde_json::json!({"type": "POLICY", "name": "p", "combiningAlgorithm": {}})),
        ["combiningAlgorithm.algorithm: is required (DENY_OVERRIDES, PERMIT_OVERRIDES, DENY_UNLESS_PERMIT, PERMIT_UNLESS_DENY, FIRST_APPLICABLE or ONLY_ONE_APPLICABLE)"]
    );
    assert_eq!(
        errors(serde_json::json!({"type": "POLICY", "name": "p", "combiningAlgorithm": {"algorithm": "MAJORITY"}})),
        ["combiningAlgorithm.algorithm: unknown variant `MAJORITY`, expected one of `DENY_OVERRIDES`, `PERMIT_OVERRIDES`, `DENY_UNLESS_PERMIT`, `PERMIT_UNLESS_DENY`, `FIRST_APPLICABLE`, `ONLY_ONE_APPLICABLE`"]
    );
}

#[test]
fn unknown_fields_are_refused_with_their_path() {
    let e = errors(policy(
        serde_json::json!([{"type": "RULE", "effect": "PERMIT"}]),
    ));
    assert!(
        e[0].starts_with("children[0].effect: unknown field `effect`"),
        "{e:?}"
    );
}

#[test]
fn rule_fields_and_policy_fields_do_not_mix() {
    assert_eq!(
        errors(policy(
            serde_json::json!([{"type": "RULE", "combiningAlgorithm": {"algorithm": "DENY_OVERRIDES"}, "children": []}])
        )),
        [
            "children[0].combiningAlgorithm: is only allowed on policies",
            "children[0].children: is only allowed on policies",
            "children[0].effectSettings: is required on a rule",
        ]
    );
    let mut p = policy(serde_json::json!([]));
    p["effectSettings"] = serde_json::json!({"type": "UNCONDITIONAL_PERMIT"});
    assert_eq!(errors(p), ["effectSettings: is only allowed on rules"]);
}

#[test]
fn effect_conditions_follow_the_effect_type() {
    assert_eq!(
        errors(policy(
            serde_json::json!([{"type": "RULE", "effectSettings": {"type": "CONDITIONAL_PERMIT_ELSE_DENY"}}])
        )),
        ["children[0].effectSettings.condition: is required with a CONDITIONAL effect"]
    );
    assert_eq!(
        errors(policy(
            serde_json::json!([{"type": "RULE", "effectSettings": {"type": "UNCONDITIONAL_DENY", "condition": {"type": "EMPTY"}}}])
        )),
        ["children[0].effectSettings.condition: is not allowed with an UNCONDITIONAL effect"]
    );
    assert_eq!(
        errors(policy(serde_json::json!([{"type": "RULE", "effectSettings": {}}]))),
        ["children[0].effectSettings.type: is required (UNCONDITIONAL_PERMIT, UNCONDITIONAL_DENY, CONDITIONAL_PERMIT_ELSE_DENY or CONDITIONAL_DENY_ELSE_PERMIT)"]
    );
}

#[test]
fn conditions_need_the_fields_of_their_type() {
    let with_condition = |c: serde_json::Value| {
        let mut p = policy(serde_json::json!([]));
        p["condition"] = c;
        errors(p)
    };
    assert_eq!(
        with_condition(serde_json::json!({"type": "AND"})),
        ["condition.conditions: is required when type is AND"]
    );
    assert_eq!(
        with_condition(serde_json::json!({"type": "NOT", "conditions": []})),
        [
            "condition.conditions: is not allowed when type is NOT",
            "condition.condition: is required when type is NOT",
        ]
    );
    assert_eq!(
        with_condition(serde_json::json!({"type": "COMPARISON", "left": {"type": "ATTRIBUTE", "id": "identity.emial"}, "comparator": "EQUALS", "right": {"type": "CONSTANT"}})),
        [
            "condition.left.id: \"identity.emial\" is not a request attribute (e.g. identity.email, identity.groups, identity.claims.NAME, network.country, device.os_type)",
            "condition.right.value: is required",
        ]
    );
    assert_eq!(
        with_condition(
            serde_json::json!({"type": "OR", "conditions": [{"type": "REFERENCE", "reference": {}}, {"type": "EMPTY", "left": {"type": "CONSTANT", "value": 1}}]})
        ),
        [
            "condition.conditions[0].reference.id: is required (the full name of an access level)",
            "condition.conditions[1].left: is not allowed when type is EMPTY",
        ]
    );
    assert_eq!(
        with_condition(serde_json::json!({"type": "COMPARISON", "left": {"type": "ATTRIBUTE", "id": "identity.email"}, "comparator": "MATCHES", "right": {"type": "CONSTANT", "value": "x"}})),
        ["condition.comparator: unknown variant `MATCHES`, expected one of `EQUALS`, `NOT_EQUALS`, `CONTAINS`, `NOT_CONTAINS`, `GREATER_THAN`, `GREATER_THAN_OR_EQUAL`, `LESS_THAN`, `LESS_THAN_OR_EQUAL`, `STARTS_WITH`, `ENDS_WITH`"]
    );
    assert_eq!(
        with_condition(
            serde_json::json!({"type": "COMPARISON", "left": {"type": "CONSTANT", "id": "x", "value": {"a": 1}}, "comparator": "EQUALS", "right": {"id": "identity.email"}})
        ),
        [
            "condition.left.id: is not allowed in a CONSTANT operand",
            "condition.left.value: must be a string, number, boolean or array",
            "condition.right.type: is required (ATTRIBUTE or CONSTANT)",
        ]
    );
}

#[test]
fn statements_need_name_code_applies_to_and_applies_if() {
    let mut p = policy(serde_json::json!([]));
    p["statements"] = serde_json::json!([{"payload": "{}"}]);
    assert_eq!(
        errors(p),
        [
            "statements[0].name: is required",
            "statements[0].code: is required",
            "statements[0].appliesTo: is required (PERMIT, DENY or PERMIT_OR_DENY)",
            "statements[0].appliesIf: is required (FINAL_DECISION_MATCHES or PATH_MATCHES)",
        ]
    );
}

#[test]
fn repetition_needs_a_known_source_and_a_decision() {
    let mut p = policy(serde_json::json!([]));
    p["repetitionSettings"] = serde_json::json!({"source": {"id": "identity.teams"}});
    assert_eq!(
        errors(p),
        [
            "repetitionSettings.source.id: \"identity.teams\" is not a request attribute (e.g. identity.email, identity.groups, identity.claims.NAME, network.country, device.os_type)",
            "repetitionSettings.decision: is required (PERMIT, DENY, NOT_APPLICABLE or INDETERMINATE)",
        ]
    );
}

#[test]
fn references_carry_only_type_and_value() {
    assert_eq!(
        errors(policy(
            serde_json::json!([{"type": "RULE", "value": {"id": "p2"}}, {"type": "POLICY", "name": "x", "value": {}}])
        )),
        [
            "children[0].type: a reference must have type POLICY",
            "children[1].value.id: is required",
            "children[1].name: is not allowed in a reference (only type and value)",
        ]
    );
}

#[test]
fn missing_references_and_cycles_are_reported_with_paths() {
    let a = node(policy(
        serde_json::json!([{"type": "POLICY", "value": {"id": "b"}}]),
    ));
    let b = node(policy(serde_json::json!([
        permit_rule(),
        {"type": "POLICY", "name": "inner", "combiningAlgorithm": {"algorithm": "FIRST_APPLICABLE"},
         "children": [{"type": "POLICY", "value": {"id": "a"}}]}
    ])));
    let c = node(policy(
        serde_json::json!([{"type": "POLICY", "value": {"id": "nope"}}]),
    ));
    let e = validate_policy_set(&[("a", &a), ("b", &b), ("c", &c)]).unwrap_err();
    assert_eq!(
        e.0.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "[2].children[0].value.id: authorization policy \"nope\" does not exist",
            "[1].children[1].children[0].value.id: references form a cycle: a → b → a",
        ]
    );
    let e = validate_policy_set(&[("a", &c), ("a", &c)]).unwrap_err();
    assert_eq!(
        e.0[0].to_string(),
        "[1].id: another authorization policy already has the id \"a\""
    );
}

#[test]
fn lowering_names_children_and_maps_the_repetition_attribute_to_the_item() {
    let p = node(serde_json::json!({
        "type": "POLICY", "name": "root", "combiningAlgorithm": {"algorithm": "PERMIT_OVERRIDES"},
        "repetitionSettings": {"source": {"id": "identity.groups"}, "decision": "PERMIT"},
        "condition": {"type": "COMPARISON", "left": {"type": "ATTRIBUTE", "id": "identity.groups"}, "comparator": "CONTAINS", "right": {"type": "CONSTANT", "value": "eng"}},
        "children": [{"type": "RULE", "condition": {"type": "COMPARISON", "left": {"type": "ATTRIBUTE", "id": "identity.groups"}, "comparator": "STARTS_WITH", "right": {"type": "CONSTANT", "value": "team-"}}, "effectSettings": {"type": "UNCONDITIONAL_PERMIT"}}]
    }));
    let ir = p.lower("root");
    let Some(Condition::Compare { left, .. }) = &ir.condition else {
        panic!("{ir:?}")
    };
    assert!(matches!(left, Operand::Attribute(_)));
    let AuthorizeChildIr::Rule(rule) = &ir.children[0] else {
        panic!("{ir:?}")
    };
    assert_eq!(rule.id, "root/children[0]");
    assert_eq!(rule.effect, RuleEffect::Permit);
    let Some(Condition::Compare { left, .. }) = &rule.condition else {
        panic!("{rule:?}")
    };
    assert_eq!(left, &Operand::RepetitionItem);
}

#[test]
fn parse_policy_round_trips() {
    let text = serde_json::to_string(&policy(serde_json::json!([permit_rule()]))).unwrap();
    let p = parse_policy(&text).unwrap();
    assert_eq!(
        serde_json::to_value(&p).unwrap(),
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    );
    assert_eq!(
        parse_policy("{\"type\": \"POLICY\", \"enabled\": \"yes\"}")
            .unwrap_err()
            .to_string(),
        "enabled: invalid type: string \"yes\", expected a boolean"
    );
}

#[test]
fn remaining_condition_and_repetition_errors_are_named() {
    let mut p = policy(serde_json::json!([]));
    p["condition"] = serde_json::json!({"type": "AND", "conditions": [
        {},
        {"type": "COMPARISON", "left": {"type": "ATTRIBUTE", "value": 1}, "comparator": "EQUALS", "right": {"type": "CONSTANT", "value": 1}}
    ]});
    p["repetitionSettings"] = serde_json::json!({"source": {}, "decision": "PERMIT"});
    assert_eq!(
        errors(p),
        [
            "condition.conditions[0].type: is required (AND, OR, NOT, COMPARISON, EMPTY or REFERENCE)",
            "condition.conditions[1].left.value: is not allowed in an ATTRIBUTE operand",
            "condition.conditions[1].left.id: is required",
            "repetitionSettings.source.id: is required",
        ]
    );
}

#[test]
fn level_references_are_listed_with_paths() {
    let mut p = policy(
        serde_json::json!([{"type": "RULE", "effectSettings": {"type": "CONDITIONAL_PERMIT_ELSE_DENY",
        "condition": {"type": "NOT", "condition": {"type": "REFERENCE", "reference": {"id": "accessPolicies/p/accessLevels/b"}}}}}]),
    );
    p["condition"] = serde_json::json!({"type": "REFERENCE", "reference": {"id": "accessPolicies/p/accessLevels/a"}});
    assert_eq!(
        node(p).level_references(),
        [
            (
                "condition.reference.id".to_string(),
                "accessPolicies/p/accessLevels/a".to_string()
            ),
            (
                "children[0].effectSettings.condition.condition.reference.id".to_string(),
                "accessPolicies/p/accessLevels/b".to_string()
            ),
        ]
    );
}
