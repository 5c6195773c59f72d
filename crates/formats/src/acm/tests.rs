use super::*;
use portcullis_core::eval::EvalOptions;
use portcullis_core::ir::AccountIr;
use portcullis_core::{CompiledAccount, RequestContext};

const P: &str = "accessPolicies/p1/accessLevels/";

fn errors(body: serde_json::Value) -> Vec<String> {
    match crate::from_value::<AccessLevel>(body) {
        Err(e) => vec![e.to_string()],
        Ok(l) => l
            .validate()
            .err()
            .map(|e| e.0.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
    }
}

fn basic(conditions: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"name": format!("{P}corp"), "title": "Corp", "basic": {"conditions": conditions}})
}

fn level(body: serde_json::Value) -> AccessLevel {
    crate::from_value(body).unwrap()
}

#[test]
fn a_basic_and_a_custom_level_are_valid() {
    assert!(errors(basic(
        serde_json::json!([{"ipSubnetworks": ["10.0.0.0/8"]}])
    ))
    .is_empty());
    assert!(errors(serde_json::json!({
        "name": format!("{P}ny"), "title": "NY",
        "custom": {"expr": {"expression": "origin.region_code == 'US'", "title": "t"}}
    }))
    .is_empty());
}

#[test]
fn names_follow_the_resource_pattern() {
    let named = |n: &str| {
        let mut b = basic(serde_json::json!([{"regions": ["US"]}]));
        b["name"] = n.into();
        errors(b)
    };
    assert_eq!(
        named("accessLevels/corp"),
        ["name: \"accessLevels/corp\" is not of the form accessPolicies/{policy}/accessLevels/{short_name}"]
    );
    assert_eq!(
        named("accessPolicies/p1/accessLevels/1corp"),
        ["name: short name \"1corp\" must start with a letter and hold only letters, digits and underscores (at most 50)"]
    );
    assert_eq!(
        named(&format!("{P}corp-devices")),
        ["name: short name \"corp-devices\" must start with a letter and hold only letters, digits and underscores (at most 50)"]
    );
    assert_eq!(named(&format!("{P}{}", "a".repeat(51))).len(), 1);
    assert!(named(&format!("{P}{}", "a".repeat(50))).is_empty());
}

#[test]
fn required_top_level_fields_and_the_level_union() {
    assert_eq!(
        errors(serde_json::json!({})),
        [
            "name: is required",
            "title: is required",
            "exactly one of basic and custom is required",
        ]
    );
    let mut both = basic(serde_json::json!([{"regions": ["US"]}]));
    both["custom"] = serde_json::json!({"expr": {"expression": "true"}});
    assert_eq!(
        errors(both),
        ["custom: cannot be set together with basic (exactly one of basic and custom)"]
    );
    assert_eq!(
        errors(basic(serde_json::json!([]))),
        ["basic.conditions: at least one condition is required"]
    );
}

#[test]
fn unknown_fields_and_enum_values_are_refused() {
    let e = errors(basic(serde_json::json!([{"ipSubnetwork": ["10.0.0.0/8"]}])));
    assert!(
        e[0].starts_with("basic.conditions[0].ipSubnetwork: unknown field `ipSubnetwork`"),
        "{e:?}"
    );
    let e = errors(basic(
        serde_json::json!([{"devicePolicy": {"osConstraints": [{"osType": "MACOS"}]}}]),
    ));
    assert!(
        e[0].starts_with(
            "basic.conditions[0].devicePolicy.osConstraints[0].osType: unknown variant `MACOS`"
        ),
        "{e:?}"
    );
    let mut b = basic(serde_json::json!([{"regions": ["US"]}]));
    b["basic"]["combiningFunction"] = "XOR".into();
    assert_eq!(
        errors(b),
        ["basic.combiningFunction: unknown variant `XOR`, expected `AND` or `OR`"]
    );
}

#[test]
fn conditions_are_validated_field_by_field() {
    assert_eq!(
        errors(basic(serde_json::json!([{"negate": true}]))),
        ["basic.conditions[0]: sets no requirement (give ipSubnetworks, devicePolicy, requiredAccessLevels, members, regions or vpcNetworkSources)"]
    );
    assert_eq!(
        errors(basic(serde_json::json!([{"ipSubnetworks": ["192.0.2.1/24", "nope"]}]))),
        [
            "basic.conditions[0].ipSubnetworks[0]: \"192.0.2.1/24\" is not truncated: the host bits of the address must be zero (use \"192.0.2.0/24\")",
            "basic.conditions[0].ipSubnetworks[1]: \"nope\" is not an IP address or CIDR",
        ]
    );
    assert_eq!(
        errors(basic(serde_json::json!([{"members": ["alice@example.com", "group:eng@example.com", "serviceAccount:ci@p.iam.gserviceaccount.com"]}]))),
        [
            "basic.conditions[0].members[0]: \"alice@example.com\" is not user:EMAIL or serviceAccount:EMAIL (groups are not supported)",
            "basic.conditions[0].members[1]: \"group:eng@example.com\" is not user:EMAIL or serviceAccount:EMAIL (groups are not supported)",
        ]
    );
    assert_eq!(
        errors(basic(serde_json::json!([{"regions": ["US", "EU"]}]))),
        ["basic.conditions[0].regions[1]: \"EU\" is not an ISO 3166-1 alpha-2 country code"]
    );
    assert_eq!(
        errors(basic(serde_json::json!([{"devicePolicy": {"osConstraints": [{"minimumVersion": "14.x"}]}}]))),
        [
            "basic.conditions[0].devicePolicy.osConstraints[0].osType: is required",
            "basic.conditions[0].devicePolicy.osConstraints[0].minimumVersion: \"14.x\" is not a version major.minor.patch (e.g. 10.5.301)",
        ]
    );
}

#[test]
fn vpc_sources_are_validated_and_exclude_ip_subnetworks() {
    let net = "//compute.googleapis.com/projects/p/global/networks/n";
    assert_eq!(
        errors(basic(
            serde_json::json!([{"ipSubnetworks": ["10.0.0.0/8"], "vpcNetworkSources": [{"vpcSubnetwork": {"network": net}}]}])
        )),
        ["basic.conditions[0].vpcNetworkSources: cannot be set together with ipSubnetworks"]
    );
    assert_eq!(
        errors(basic(serde_json::json!([{"vpcNetworkSources": [
            {},
            {"vpcSubnetwork": {"network": "n"}},
            {"vpcSubnetwork": {"network": net, "vpcIpSubnetworks": ["10.0.0.1/8", "2001:db8::/32"]}}
        ]}]))),
        [
            "basic.conditions[0].vpcNetworkSources[0].vpcSubnetwork: is required",
            "basic.conditions[0].vpcNetworkSources[1].vpcSubnetwork.network: \"n\" is not a network name //compute.googleapis.com/projects/PROJECT/global/networks/NETWORK",
            "basic.conditions[0].vpcNetworkSources[2].vpcSubnetwork.vpcIpSubnetworks[0]: \"10.0.0.1/8\" is not truncated: the host bits of the address must be zero (use \"10.0.0.0/8\")",
            "basic.conditions[0].vpcNetworkSources[2].vpcSubnetwork.vpcIpSubnetworks[1]: \"2001:db8::/32\" is not an IPv4 range",
        ]
    );
}

#[test]
fn required_levels_must_be_in_the_same_policy_and_not_the_level_itself() {
    assert_eq!(
        errors(basic(serde_json::json!([{"requiredAccessLevels": [
            "accessPolicies/p2/accessLevels/x", format!("{P}corp"), "x"
        ]}]))),
        [
            "basic.conditions[0].requiredAccessLevels[0]: \"accessPolicies/p2/accessLevels/x\" is not in this access policy (accessPolicies/p1)",
            "basic.conditions[0].requiredAccessLevels[1]: a level cannot require itself",
            "basic.conditions[0].requiredAccessLevels[2]: \"x\" is not of the form accessPolicies/{policy}/accessLevels/{short_name}",
        ]
    );
}

#[test]
fn custom_cel_is_compiled_at_load() {
    let custom = |e: &str| {
        errors(
            serde_json::json!({"name": format!("{P}c"), "title": "C", "custom": {"expr": {"expression": e}}}),
        )
    };
    let syntax = custom("origin.ip ==");
    assert!(
        syntax[0].starts_with("custom.expr.expression: CEL expression does not parse: "),
        "{syntax:?}"
    );
    let typed = custom("origin.ip == 1");
    assert!(
        typed[0].starts_with("custom.expr.expression: CEL expression does not type-check: "),
        "{typed:?}"
    );
    assert_eq!(
        custom("origin.region_code"),
        ["custom.expr.expression: CEL expression does not type-check: the expression is string, an access level needs bool"]
    );
    assert_eq!(
        errors(serde_json::json!({"name": format!("{P}c"), "title": "C", "custom": {"expr": {}}})),
        ["custom.expr.expression: is required"]
    );
}

#[test]
fn the_set_needs_existing_levels_unique_names_and_no_cycles() {
    let a = level(basic(
        serde_json::json!([{"requiredAccessLevels": [format!("{P}b")]}]),
    ));
    let mut b_body = basic(serde_json::json!([{"requiredAccessLevels": [format!("{P}missing")]}]));
    b_body["name"] = format!("{P}b").into();
    b_body["title"] = "B".into();
    let b = level(b_body);
    let c = level(
        serde_json::json!({"name": format!("{P}c"), "title": "Corp", "custom": {"expr": {"expression": "levels.corp"}}}),
    );
    let e = validate_level_set(&[&a, &b, &c]).unwrap_err();
    assert_eq!(
        e.0.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "[2].title: another level of accessPolicies/p1 already has the title \"Corp\"",
            "[1].basic.conditions[0].requiredAccessLevels[0]: access level \"accessPolicies/p1/accessLevels/missing\" does not exist",
        ]
    );
    let mut cyc = basic(serde_json::json!([{"requiredAccessLevels": [format!("{P}corp")]}]));
    cyc["name"] = format!("{P}b").into();
    cyc["title"] = "B".into();
    let b = level(cyc);
    let e = validate_level_set(&[&a, &b]).unwrap_err();
    assert_eq!(
        e.0[0].to_string(),
        "[1].basic.conditions[0].requiredAccessLevels[0]: access levels require each other in a cycle: accessPolicies/p1/accessLevels/corp → accessPolicies/p1/accessLevels/b → accessPolicies/p1/accessLevels/corp"
    );
    let e = validate_level_set(&[&a, &a]).unwrap_err();
    assert_eq!(
        e.0[0].to_string(),
        "[1].name: another access level is already named \"accessPolicies/p1/accessLevels/corp\""
    );
}

#[test]
fn untranslatable_fields_are_named() {
    let l = level(basic(serde_json::json!([
        {"devicePolicy": {"osConstraints": [{"osType": "DESKTOP_MAC", "minimumVersion": "14.0.0", "requireVerifiedChromeOs": true}]}},
        {"vpcNetworkSources": [{"vpcSubnetwork": {"network": "//compute.googleapis.com/projects/p/global/networks/n"}}]}
    ])));
    assert_eq!(
        basic_to_cel(&l).unwrap_err().to_string(),
        "basic.conditions[0].devicePolicy.osConstraints[0].minimumVersion: has no CEL equivalent (CEL compares versions as strings); basic.conditions[0].devicePolicy.osConstraints[0].requireVerifiedChromeOs: has no CEL equivalent; basic.conditions[1].vpcNetworkSources: has no CEL equivalent (the request's VPC network is not a CEL attribute)"
    );
}

/// The translation must grant exactly when the basic level does.
#[test]
fn basic_levels_and_their_cel_translation_decide_the_same() {
    let helper = level(serde_json::json!({
        "name": format!("{P}trusted"), "title": "Trusted",
        "basic": {"conditions": [{"regions": ["US", "CA"]}]}
    }));
    let shapes = [
        serde_json::json!({"conditions": [{"ipSubnetworks": ["10.0.0.0/8", "2001:db8::/32"], "regions": ["US"]}]}),
        serde_json::json!({"conditions": [{"ipSubnetworks": ["10.0.0.0/8"], "negate": true}, {"members": ["user:alice@example.com", "serviceAccount:ci@example.com"]}], "combiningFunction": "OR"}),
        serde_json::json!({"conditions": [{"devicePolicy": {"requireScreenlock": true, "allowedEncryptionStatuses": ["ENCRYPTED"], "osConstraints": [{"osType": "DESKTOP_MAC"}, {"osType": "DESKTOP_LINUX"}], "allowedDeviceManagementLevels": ["COMPLETE", "BASIC"], "requireAdminApproval": true, "requireCorpOwned": true}}]}),
        serde_json::json!({"conditions": [{"devicePolicy": {"allowedEncryptionStatuses": ["ENCRYPTED"]}, "negate": true}]}),
        serde_json::json!({"conditions": [{"requiredAccessLevels": [format!("{P}trusted")], "members": ["user:bob@example.com"]}, {"regions": ["DE"]}], "combiningFunction": "OR"}),
        serde_json::json!({"conditions": [{"requiredAccessLevels": [format!("{P}trusted")], "negate": true}], "combiningFunction": "AND"}),
    ];
    let requests: Vec<RequestContext> = [
        serde_json::json!({}),
        serde_json::json!({"network": {"ip": "10.1.2.3", "country": "US"}}),
        serde_json::json!({"network": {"ip": "2001:db8::7", "country": "US"}, "identity": {"email": "alice@example.com"}}),
        serde_json::json!({"network": {"ip": "192.0.2.9", "country": "DE"}, "identity": {"email": "bob@example.com"}}),
        serde_json::json!({"network": {"ip": "192.0.2.9", "country": "CA"}, "identity": {"email": "bob@example.com"}}),
        serde_json::json!({"identity": {"email": "ci@example.com"}, "network": {"ip": "10.0.0.1"}}),
        serde_json::json!({"device": {"os_type": "DESKTOP_MAC", "encryption_status": "ENCRYPTED", "screenlock": true, "management_level": "COMPLETE", "admin_approved": true, "corp_owned": true}}),
        serde_json::json!({"device": {"os_type": "DESKTOP_WINDOWS", "encryption_status": "ENCRYPTED", "screenlock": true, "management_level": "COMPLETE", "admin_approved": true, "corp_owned": true}}),
        serde_json::json!({"device": {"os_type": "DESKTOP_LINUX", "encryption_status": "UNENCRYPTED", "screenlock": true}}),
        serde_json::json!({"device": {"id": "d-1"}}),
    ]
    .into_iter()
    .map(|r| serde_json::from_value(r).unwrap())
    .collect();
    for (i, shape) in shapes.iter().enumerate() {
        let original = level(
            serde_json::json!({"name": format!("{P}basic{i}"), "title": "b", "basic": shape}),
        );
        let expression = basic_to_cel(&original).unwrap();
        let translated = level(serde_json::json!({
            "name": format!("{P}cel{i}"), "title": "c", "custom": {"expr": {"expression": expression}}
        }));
        assert!(
            translated.validate().is_ok(),
            "{expression}: {:?}",
            translated.validate()
        );
        let account = CompiledAccount::compile(&AccountIr {
            account_id: "a".into(),
            access_levels: vec![helper.lower(), original.lower(), translated.lower()],
            ..AccountIr::default()
        })
        .unwrap();
        let mut granted_some = false;
        for (r, req) in requests.iter().enumerate() {
            let levels = account.evaluate(req, EvalOptions::default()).access_levels;
            let basic_granted = levels.contains(&format!("{P}basic{i}").as_str());
            let cel_granted = levels.contains(&format!("{P}cel{i}").as_str());
            assert_eq!(
                basic_granted, cel_granted,
                "shape {i}, request {r}: {expression}"
            );
            granted_some |= basic_granted;
        }
        assert!(
            granted_some,
            "shape {i} is never granted, so it proves little"
        );
    }
}

#[test]
fn negate_is_a_nand_over_the_non_empty_fields() {
    use portcullis_core::ir::{Condition, Predicate};
    let l = level(basic(serde_json::json!([
        {"regions": ["US"], "members": [], "devicePolicy": {"requireScreenlock": false}, "negate": true}
    ])));
    assert_eq!(
        l.lower().condition,
        Condition::Not(Box::new(Condition::All(vec![Condition::Leaf(
            Predicate::Country(vec!["US".into()])
        )])))
    );
}

#[test]
fn cel_level_references_must_exist() {
    let c = level(
        serde_json::json!({"name": format!("{P}c"), "title": "C", "custom": {"expr": {"expression": "levels.ghost || levels.c2"}}}),
    );
    let c2 = level(
        serde_json::json!({"name": format!("{P}c2"), "title": "C2", "custom": {"expr": {"expression": "levels.c"}}}),
    );
    let e = validate_level_set(&[&c, &c2]).unwrap_err();
    assert_eq!(
        e.0.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "[0].custom.expr.expression: access level \"accessPolicies/p1/accessLevels/ghost\" does not exist",
            "[1].custom.expr.expression: access levels require each other in a cycle: accessPolicies/p1/accessLevels/c → accessPolicies/p1/accessLevels/c2 → accessPolicies/p1/accessLevels/c",
        ]
    );
}
