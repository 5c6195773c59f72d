//! Random ZTNA policies, PingOne trees and ACM access levels, and requests.
//!
//! Everything is built from a tape of bytes that proptest draws and shrinks: a
//! byte picks among a few options (0 is always the simplest one), and a tape
//! that runs out reads as zeros. Shrinking the tape therefore shrinks the
//! account: fewer policies, fewer children, simpler conditions. Values come
//! from small pools so that conditions and requests collide often.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use portcullis_core::attribute::AttributePath;
use portcullis_core::context::{
    Device, Identity, IdentityProvider, Network, RequestContext, Resource, ServiceTokenCredentials,
    VpcOrigin,
};
use portcullis_core::decision::{AuthorizeDecision, Obligations};
use portcullis_core::ip::parse_cidr_or_ip;
use portcullis_core::ir::{
    AccessLevelIr, AccountIr, AuthorizeChildIr, AuthorizePolicyIr, AuthorizeRuleIr, CelIr,
    CombiningAlgorithm, Comparator, Condition, DevicePolicyIr, Operand, OsConstraintIr, Predicate,
    RepetitionIr, RuleEffect, ServiceTokenIr, StatementAppliesIf, StatementAppliesTo, StatementIr,
    ZtnaEffect, ZtnaPolicyIr,
};
use portcullis_core::service_token::hash_secret;
use serde_json::json;

/// Reads choices off a byte tape; past its end every choice is 0.
pub struct Tape<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Tape<'a> {
    pub fn new(bytes: &'a [u8]) -> Tape<'a> {
        Tape { bytes, pos: 0 }
    }

    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// `0..n`.
    fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n
    }

    /// True with about `percent` % probability; false on a zero byte.
    fn flag(&mut self, percent: u32) -> bool {
        (self.byte() as u32 * 100) / 256 >= 100 - percent
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    /// A subset of `items` (each kept with probability `percent`).
    fn subset<T: Clone>(&mut self, items: &[T], percent: u32) -> Vec<T> {
        items
            .iter()
            .filter(|_| self.flag(percent))
            .cloned()
            .collect()
    }

    fn opt<T>(&mut self, percent: u32, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.flag(percent) {
            Some(f(self))
        } else {
            None
        }
    }
}

const EMAILS: &[&str] = &["alice@example.com", "Bob@Example.com", "carol@partner.io"];
const USER_IDS: &[&str] = &["u-1", "u-2"];
const GROUPS: &[&str] = &["eng", "ops", "admins"];
const IDPS: &[&str] = &["idp-a", "idp-b"];
const WORKLOADS: &[&str] = &["spiffe://a", "spiffe://b"];
const CLIENTS: &[&str] = &["ci-1", "ci-2"];
const APPS: &[&str] = &["app-1", "app-2"];
const RULE_HOSTS: &[&str] = &["a.example.com", "B.example.com"];
const REQUEST_HOSTS: &[&str] = &[
    "a.example.com",
    "A.EXAMPLE.com:443",
    "b.example.com.",
    "c.example.com",
];
const PORTS: &[u16] = &[22, 443, 8443];
const POSTURES: &[&str] = &["p1", "p2"];
const RULE_COUNTRIES: &[&str] = &["US", "DE"];
const REQUEST_COUNTRIES: &[&str] = &["US", "de", "FR", "usa"];
const RULE_NETS: &[&str] = &["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"];
const REQUEST_IPS: &[&str] = &["10.1.2.3", "192.0.2.5", "203.0.113.1", "2001:db8::1"];
const VPCS: &[&str] = &[
    "//compute.googleapis.com/projects/p/global/networks/n1",
    "//compute.googleapis.com/projects/p/global/networks/n2",
];
const VPC_RANGES: &[&str] = &["10.1.0.0/16", "10.2.0.0/16"];
const VPC_IPS: &[&str] = &["10.1.2.3", "10.9.9.9"];
const OS_TYPES: &[&str] = &["DESKTOP_MAC", "DESKTOP_WINDOWS"];
const OS_VERSIONS: &[&str] = &["13.6", "14.2.0", "10.0.19045", "14.x"];
const MIN_VERSIONS: &[&str] = &["14.0", "10.0.19044", "14.2.1"];
const ENCRYPTION: &[&str] = &["ENCRYPTED", "UNENCRYPTED"];
const MANAGEMENT: &[&str] = &["BASIC", "COMPLETE"];
const WINDOWS: &[&str] = &[
    "Mon-Fri 09:00-17:00",
    "Fri 22:00-02:00",
    "* 00:00-24:00",
    "Sat,Sun 10:00-12:00 Europe/Berlin",
    "Fri-Mon 08:00-20:00 America/New_York",
    "Tue 23:30-00:30 Asia/Kolkata",
];
pub const LEVEL_SCOPE: &str = "accessPolicies/p/accessLevels/";
const STATEMENT_CODES: &[&str] = &["s1", "s2", "s3"];

/// CEL expressions for custom levels, with what each means, written by hand
/// from the CEL and ACM documentation. A level is granted when its expression
/// is true (an error never grants). `levels` answers for short level names.
pub type CelMeaning = fn(&RequestContext, &dyn Fn(&str) -> bool) -> bool;

fn country(req: &RequestContext) -> Option<String> {
    req.network
        .as_ref()?
        .country
        .as_ref()
        .map(|c| c.to_ascii_uppercase())
}

fn device_field(req: &RequestContext, f: fn(&Device) -> Option<&String>) -> Option<&str> {
    req.device.as_ref().and_then(f).map(String::as_str)
}

fn in_ten(req: &RequestContext) -> bool {
    req.network
        .as_ref()
        .and_then(|n| n.ip)
        .is_some_and(|ip| parse_cidr_or_ip("10.0.0.0/8").unwrap().contains(&ip))
}

/// (expression, levels it needs to exist, meaning)
pub const CEL_POOL: &[(&str, usize, CelMeaning)] = &[
    ("origin.region_code == 'US'", 0, |req, _| {
        country(req).as_deref() == Some("US")
    }),
    (
        "device.encryption_status == DeviceEncryptionStatus.ENCRYPTED",
        0,
        |req, _| device_field(req, |d| d.encryption_status.as_ref()) == Some("ENCRYPTED"),
    ),
    ("inIpRange(origin.ip, '10.0.0.0/8')", 0, |req, _| {
        in_ten(req)
    }),
    (
        "device.os_type == OsType.DESKTOP_MAC && origin.region_code in ['US', 'DE']",
        0,
        |req, _| {
            device_field(req, |d| d.os_type.as_ref()) == Some("DESKTOP_MAC")
                && matches!(country(req).as_deref(), Some("US" | "DE"))
        },
    ),
    // `error || true` is true in CEL: a missing address does not hide a Mac.
    (
        "inIpRange(origin.ip, '10.0.0.0/8') || device.os_type == OsType.DESKTOP_MAC",
        0,
        |req, _| in_ten(req) || device_field(req, |d| d.os_type.as_ref()) == Some("DESKTOP_MAC"),
    ),
    (
        "request.auth.principal.endsWith('@example.com')",
        0,
        |req, _| {
            req.identity
                .as_ref()
                .and_then(|i| i.email.as_ref())
                .is_some_and(|e| e.ends_with("@example.com"))
        },
    ),
    (
        "has(request.auth.claims.dept) && request.auth.claims.dept == 'eng'",
        0,
        |req, _| {
            req.identity
                .as_ref()
                .and_then(|i| i.claims.get("dept"))
                .is_some_and(|d| d == "eng")
        },
    ),
    (
        "levels.l0 && origin.region_code == 'US'",
        1,
        |req, levels| levels("l0") && country(req).as_deref() == Some("US"),
    ),
    ("levels.l0 && !levels.l1", 2, |_, levels| {
        levels("l0") && !levels("l1")
    }),
];

pub fn cel_reference(expr: &str) -> CelMeaning {
    CEL_POOL
        .iter()
        .find(|(e, _, _)| *e == expr)
        .map(|(_, _, f)| *f)
        .expect("CEL comes from the pool")
}

fn level_name(i: usize) -> String {
    format!("{LEVEL_SCOPE}l{i}")
}

fn nets(tape: &mut Tape) -> Vec<ipnet::IpNet> {
    let mut out: Vec<ipnet::IpNet> = tape
        .subset(RULE_NETS, 40)
        .iter()
        .map(|n| n.parse().unwrap())
        .collect();
    if out.is_empty() {
        out.push(tape.pick(RULE_NETS).parse().unwrap());
    }
    out
}

fn device_policy(tape: &mut Tape) -> DevicePolicyIr {
    DevicePolicyIr {
        require_screenlock: tape.flag(40),
        allowed_encryption_statuses: tape
            .subset(ENCRYPTION, 40)
            .into_iter()
            .map(String::from)
            .collect(),
        os_constraints: (0..tape.below(3))
            .map(|_| OsConstraintIr {
                os_type: tape.pick(OS_TYPES).to_string(),
                minimum_version: tape.opt(60, |t| t.pick(MIN_VERSIONS).to_string()),
                require_verified_chrome_os: tape.flag(10),
            })
            .collect(),
        allowed_device_management_levels: tape
            .subset(MANAGEMENT, 30)
            .into_iter()
            .map(String::from)
            .collect(),
        require_admin_approval: tape.flag(20),
        require_corp_owned: tape.flag(20),
    }
}

/// What a generated condition may refer to.
#[derive(Clone, Copy)]
struct Scope {
    /// Levels that may be referenced: `l0 .. l{levels}`.
    levels: usize,
    /// Inside a repeating PingOne policy.
    repeating: bool,
}

fn leaf(tape: &mut Tape, scope: Scope) -> Condition {
    let s = |v: &str| v.to_string();
    let p = match tape.below(17) {
        0 => Predicate::EmailIn(tape.subset(EMAILS, 50).into_iter().map(s).collect()),
        1 => Predicate::UserId(s(tape.pick(USER_IDS))),
        2 => Predicate::IdentityGroup {
            group: s(tape.pick(GROUPS)),
            idp: tape.opt(40, |t| s(t.pick(IDPS))),
        },
        3 => Predicate::Workload(s(tape.pick(WORKLOADS))),
        4 => Predicate::ServiceAccount(s(tape.pick(CLIENTS))),
        5 => Predicate::IdpIs(s(tape.pick(IDPS))),
        6 => Predicate::ResourceAppId(s(tape.pick(APPS))),
        7 => Predicate::ResourceHost(s(tape.pick(RULE_HOSTS))),
        8 => Predicate::ResourcePort(tape.subset(PORTS, 50)),
        9 => Predicate::DevicePosture(s(tape.pick(POSTURES))),
        10 => Predicate::AuthMethod(s(tape.pick(&["mfa", "pwd"]))),
        11 => Predicate::Country(tape.subset(RULE_COUNTRIES, 60).into_iter().map(s).collect()),
        12 => Predicate::RiskScoreAtMost(tape.pick(&[0u8, 40, 80, 100])),
        13 => Predicate::IpIn(nets(tape)),
        14 => Predicate::DevicePolicy(device_policy(tape)),
        15 => Predicate::VpcNetwork {
            network: s(tape.pick(VPCS)),
            ranges: tape
                .subset(VPC_RANGES, 40)
                .iter()
                .map(|r| r.parse().unwrap())
                .collect(),
        },
        _ if scope.levels > 0 => {
            return Condition::AccessLevel(level_name(tape.below(scope.levels)))
        }
        _ => Predicate::Everyone,
    };
    Condition::Leaf(p)
}

fn attribute(tape: &mut Tape) -> Operand {
    let path = tape.pick(&[
        "identity.email",
        "identity.groups",
        "identity.risk_score",
        "identity.claims.dept",
        "identity.claims.level",
        "identity.claims.tags",
        "network.country",
        "network.ip",
        "resource.port",
        "resource.path",
        "device.screenlock",
        "time",
    ]);
    Operand::Attribute(AttributePath::parse(path).unwrap())
}

fn constant(tape: &mut Tape) -> Operand {
    Operand::Constant(match tape.below(14) {
        0 => json!("eng"),
        1 => json!("US"),
        2 => json!("alice@example.com"),
        3 => json!("@example.com"),
        4 => json!("3"),
        5 => json!(3),
        6 => json!(50),
        7 => json!(true),
        8 => json!("true"),
        9 => json!("2026-11-23T12:00:00Z"),
        10 => json!("10.1.2.3"),
        11 => json!(["US", "DE"]),
        12 => json!("/admin"),
        _ => json!(2.5),
    })
}

fn compare(tape: &mut Tape, scope: Scope) -> Condition {
    let comparator = tape.pick(&[
        Comparator::Equals,
        Comparator::NotEquals,
        Comparator::Contains,
        Comparator::NotContains,
        Comparator::GreaterThan,
        Comparator::GreaterThanOrEqual,
        Comparator::LessThan,
        Comparator::LessThanOrEqual,
        Comparator::StartsWith,
        Comparator::EndsWith,
    ]);
    let mut left = if scope.repeating && tape.flag(50) {
        Operand::RepetitionItem
    } else {
        attribute(tape)
    };
    let mut right = constant(tape);
    // Now and then the constant on the left (CONTAINS over a constant list).
    if tape.flag(15) {
        std::mem::swap(&mut left, &mut right);
    }
    Condition::Compare {
        left,
        comparator,
        right,
    }
}

fn condition(tape: &mut Tape, scope: Scope, depth: usize) -> Condition {
    let choice = if depth == 0 {
        tape.below(4)
    } else {
        tape.below(9)
    };
    match choice {
        0 => leaf(tape, scope),
        1 => compare(tape, scope),
        2 => Condition::TimeWindow(tape.pick(WINDOWS).to_string()),
        3 => Condition::Const(tape.flag(50)),
        4 | 5 => Condition::All(
            (0..tape.below(4))
                .map(|_| condition(tape, scope, depth - 1))
                .collect(),
        ),
        6 | 7 => Condition::Any(
            (0..tape.below(4))
                .map(|_| condition(tape, scope, depth - 1))
                .collect(),
        ),
        _ => Condition::Not(Box::new(condition(tape, scope, depth - 1))),
    }
}

// --------------------------------------------------------------- ACM levels

/// A level as the ACM lowering writes it: conditions that are ANDs over their
/// fields (negated with `negate`), combined with AND or OR; or a custom CEL
/// expression; or, now and then, any condition at all.
fn access_level(tape: &mut Tape, i: usize) -> AccessLevelIr {
    let scope = Scope {
        levels: i,
        repeating: false,
    };
    let condition = match tape.below(5) {
        0..=2 => {
            let conditions: Vec<Condition> = (0..1 + tape.below(3))
                .map(|_| {
                    let fields: Vec<Condition> = (0..1 + tape.below(3))
                        .map(|_| match tape.below(6) {
                            0 => Condition::Leaf(Predicate::IpIn(nets(tape))),
                            1 => Condition::Leaf(Predicate::Country(
                                tape.subset(RULE_COUNTRIES, 60)
                                    .into_iter()
                                    .map(String::from)
                                    .collect(),
                            )),
                            2 => Condition::Leaf(Predicate::DevicePolicy(device_policy(tape))),
                            3 if i > 0 => Condition::AccessLevel(level_name(tape.below(i))),
                            4 => Condition::Leaf(Predicate::EmailIn(
                                tape.subset(EMAILS, 50)
                                    .into_iter()
                                    .map(String::from)
                                    .collect(),
                            )),
                            _ => leaf(tape, scope),
                        })
                        .collect();
                    let all = Condition::All(fields);
                    if tape.flag(25) {
                        Condition::Not(Box::new(all))
                    } else {
                        all
                    }
                })
                .collect();
            if tape.flag(40) {
                Condition::any(conditions)
            } else {
                Condition::all(conditions)
            }
        }
        3 => {
            let usable: Vec<&(&str, usize, CelMeaning)> = CEL_POOL
                .iter()
                .filter(|(_, needs, _)| *needs <= i)
                .collect();
            let (expr, _, _) = usable[tape.below(usable.len())];
            Condition::Cel(CelIr {
                expr: expr.to_string(),
                level_scope: LEVEL_SCOPE.to_string(),
            })
        }
        _ => condition(tape, scope, 2),
    };
    AccessLevelIr {
        name: level_name(i),
        condition,
    }
}

// ------------------------------------------------------------------- ZTNA

fn ztna_subject(tape: &mut Tape) -> Condition {
    let s = |v: &str| v.to_string();
    let who = match tape.below(5) {
        0 => {
            let id = if tape.flag(70) {
                s(tape.pick(EMAILS))
            } else {
                s(tape.pick(USER_IDS))
            };
            Condition::Any(vec![
                Condition::Leaf(Predicate::EmailIn(vec![id.clone()])),
                Condition::Leaf(Predicate::UserId(id)),
            ])
        }
        1 => {
            return Condition::Leaf(Predicate::IdentityGroup {
                group: s(tape.pick(GROUPS)),
                idp: tape.opt(40, |t| s(t.pick(IDPS))),
            })
        }
        2 => Condition::Leaf(Predicate::Workload(s(tape.pick(WORKLOADS)))),
        3 => Condition::Leaf(Predicate::ServiceAccount(s(tape.pick(CLIENTS)))),
        _ => {
            return condition(
                tape,
                Scope {
                    levels: 0,
                    repeating: false,
                },
                2,
            )
        }
    };
    match tape.opt(25, |t| s(t.pick(IDPS))) {
        Some(idp) => Condition::All(vec![who, Condition::Leaf(Predicate::IdpIs(idp))]),
        None => who,
    }
}

fn ztna_resource(tape: &mut Tape) -> Condition {
    let mut parts = Vec::new();
    match tape.below(4) {
        0 => parts.push(Condition::Leaf(Predicate::ResourceAppId(
            tape.pick(APPS).to_string(),
        ))),
        1 => parts.push(Condition::Leaf(Predicate::ResourceHost(
            tape.pick(RULE_HOSTS).to_string(),
        ))),
        2 => parts.push(Condition::Compare {
            left: Operand::Attribute(AttributePath::ResourceType),
            comparator: Comparator::Equals,
            right: Operand::Constant(json!(tape.pick(&["application", "saas"]))),
        }),
        _ => {
            parts.push(Condition::Leaf(Predicate::ResourceAppId(
                tape.pick(APPS).to_string(),
            )));
            parts.push(Condition::Leaf(Predicate::ResourceHost(
                tape.pick(RULE_HOSTS).to_string(),
            )));
        }
    }
    if tape.flag(30) {
        parts.push(Condition::Leaf(Predicate::ResourcePort(
            tape.subset(PORTS, 50),
        )));
    }
    Condition::all(parts)
}

fn ztna_policy(tape: &mut Tape, i: usize, levels: usize) -> ZtnaPolicyIr {
    let mut conditions = Vec::new();
    if tape.flag(30) {
        conditions.push(Condition::all(
            tape.subset(POSTURES, 60)
                .into_iter()
                .map(|p| Condition::Leaf(Predicate::DevicePosture(p.to_string())))
                .collect(),
        ));
    }
    if tape.flag(25) {
        conditions.push(Condition::Leaf(Predicate::AuthMethod("mfa".into())));
    }
    if tape.flag(25) {
        conditions.push(Condition::Leaf(Predicate::Country(
            tape.subset(RULE_COUNTRIES, 60)
                .into_iter()
                .map(String::from)
                .collect(),
        )));
    }
    if tape.flag(30) {
        conditions.push(Condition::TimeWindow(tape.pick(WINDOWS).to_string()));
    }
    if tape.flag(25) {
        conditions.push(Condition::Leaf(Predicate::RiskScoreAtMost(
            tape.pick(&[0u8, 40, 80]),
        )));
    }
    if tape.flag(10) {
        conditions.push(condition(
            tape,
            Scope {
                levels,
                repeating: false,
            },
            2,
        ));
    }
    let seconds = |t: &mut Tape, pool: &[u64]| t.opt(30, |t| format!("{}s", t.pick(pool)));
    ZtnaPolicyIr {
        id: format!("z{i}"),
        enabled: !tape.flag(15),
        subject: Condition::any((0..tape.below(3) + 1).map(|_| ztna_subject(tape)).collect()),
        resource: Condition::any(
            (0..tape.below(3) + 1)
                .map(|_| ztna_resource(tape))
                .collect(),
        ),
        conditions,
        effect: tape.pick(&[
            ZtnaEffect::Allow,
            ZtnaEffect::Deny,
            ZtnaEffect::RequireMfa,
            ZtnaEffect::Isolate,
        ]),
        obligations: Obligations {
            session_duration: seconds(tape, &[3600, 600, 86400]),
            reauth_interval: seconds(tape, &[900, 60]),
            ..Obligations::default()
        },
    }
}

// ---------------------------------------------------------------- PingOne

fn statements(tape: &mut Tape) -> Vec<StatementIr> {
    (0..tape.below(3))
        .map(|_| {
            let code = tape.pick(STATEMENT_CODES).to_string();
            StatementIr {
                name: format!("statement {code}"),
                code,
                applies_to: tape.pick(&[
                    StatementAppliesTo::Permit,
                    StatementAppliesTo::Deny,
                    StatementAppliesTo::PermitOrDeny,
                ]),
                applies_if: tape.pick(&[
                    StatementAppliesIf::FinalDecisionMatches,
                    StatementAppliesIf::PathMatches,
                ]),
                payload: None,
                obligatory: false,
            }
        })
        .collect()
}

fn algorithm(tape: &mut Tape) -> CombiningAlgorithm {
    tape.pick(&CombiningAlgorithm::ALL)
}

struct TreeScope {
    levels: usize,
    /// Ids of the top-level policies this tree may reference (later ones only,
    /// so references never loop).
    referable: Vec<String>,
}

fn rule(tape: &mut Tape, id: String, ts: &TreeScope, repeating: bool) -> AuthorizeRuleIr {
    let scope = Scope {
        levels: ts.levels,
        repeating,
    };
    AuthorizeRuleIr {
        id,
        name: "rule".into(),
        enabled: !tape.flag(10),
        condition: tape.opt(50, |t| condition(t, scope, 2)),
        effect: match tape.below(4) {
            0 => RuleEffect::Permit,
            1 => RuleEffect::Deny,
            2 => RuleEffect::PermitElseDeny(condition(tape, scope, 2)),
            _ => RuleEffect::DenyElsePermit(condition(tape, scope, 2)),
        },
        statements: statements(tape),
    }
}

fn policy(
    tape: &mut Tape,
    id: String,
    ts: &TreeScope,
    depth: usize,
    repeating: bool,
) -> AuthorizePolicyIr {
    let outer = Scope {
        levels: ts.levels,
        repeating,
    };
    let condition = tape.opt(if depth == 0 { 25 } else { 50 }, |t| condition(t, outer, 2));
    let repetition = (depth > 0 && tape.flag(20)).then(|| RepetitionIr {
        source: AttributePath::parse(tape.pick(&["identity.groups", "identity.claims.tags"]))
            .unwrap(),
        decision: tape.pick(&[
            AuthorizeDecision::Permit,
            AuthorizeDecision::Deny,
            AuthorizeDecision::NotApplicable,
            AuthorizeDecision::Indeterminate,
        ]),
    });
    let inner = repeating || repetition.is_some();
    let children = (0..tape.below(5))
        .map(|k| {
            let child_id = format!("{id}/{k}");
            match tape.below(10) {
                0..=5 => AuthorizeChildIr::Rule(rule(tape, child_id, ts, inner)),
                6..=8 if depth < 3 => {
                    AuthorizeChildIr::Policy(policy(tape, child_id, ts, depth + 1, inner))
                }
                _ if !ts.referable.is_empty() => {
                    AuthorizeChildIr::Reference(tape.pick(&ts.referable))
                }
                _ => AuthorizeChildIr::Rule(rule(tape, child_id, ts, inner)),
            }
        })
        .collect();
    AuthorizePolicyIr {
        id,
        name: "policy".into(),
        enabled: !tape.flag(10),
        condition,
        algorithm: algorithm(tape),
        children,
        statements: statements(tape),
        repetition,
    }
}

// ---------------------------------------------------------------- account

pub fn account(tape: &mut Tape) -> AccountIr {
    let n_levels = tape.below(5);
    let access_levels: Vec<AccessLevelIr> = (0..n_levels).map(|i| access_level(tape, i)).collect();
    let ztna_policies = (0..tape.below(6))
        .map(|i| ztna_policy(tape, i, n_levels))
        .collect();
    let n_trees = tape.below(4);
    let mut authorize_policies = Vec::new();
    for i in 0..n_trees {
        let ts = TreeScope {
            levels: n_levels,
            referable: (i + 1..n_trees).map(|j| format!("t{j}")).collect(),
        };
        authorize_policies.push(policy(tape, format!("t{i}"), &ts, 0, false));
    }
    // The order of levels in the account does not matter.
    let mut access_levels = access_levels;
    if tape.flag(50) {
        access_levels.reverse();
    }
    AccountIr {
        account_id: "acc".into(),
        service_tokens: CLIENTS
            .iter()
            .map(|c| ServiceTokenIr {
                id: format!("tok-{c}"),
                client_id: c.to_string(),
                secret_sha256: hash_secret(&format!("secret-{c}")),
                expires_at: None,
            })
            .collect(),
        ztna_policies,
        authorize_policies,
        access_levels,
        ..AccountIr::default()
    }
}

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0)
        .single()
        .unwrap()
}

pub fn request(tape: &mut Tape) -> RequestContext {
    let s = |v: &str| v.to_string();
    let resource = tape.opt(90, |t| Resource {
        app_id: t.opt(50, |t| s(t.pick(&["app-1", "app-2", "app-x"]))),
        host: t.opt(50, |t| s(t.pick(REQUEST_HOSTS))),
        path: t.opt(40, |t| s(t.pick(&["/admin/x", "/", "/api"]))),
        port: t.opt(60, |t| t.pick(PORTS)),
        kind: t.opt(30, |t| s(t.pick(&["application", "saas"]))),
        authorization_policy: t.opt(60, |t| s(t.pick(&["t0", "t0", "t1", "t2", "nope"]))),
    });
    let identity = tape.opt(80, |t| {
        let mut claims = BTreeMap::new();
        if t.flag(50) {
            claims.insert(s("dept"), json!(t.pick(&["eng", "ops"])));
        }
        if t.flag(50) {
            claims.insert(s("level"), json!(t.pick(&[1, 3, 5])));
        }
        if t.flag(40) {
            claims.insert(s("tags"), json!(t.subset(&["eng", "US", "3", "x"], 50)));
        }
        Identity {
            email: t.opt(80, |t| s(t.pick(EMAILS))),
            user_id: t.opt(30, |t| s(t.pick(USER_IDS))),
            idp: t.opt(60, |t| IdentityProvider {
                id: Some(s(t.pick(IDPS))),
                kind: None,
            }),
            groups: t.subset(GROUPS, 40).into_iter().map(s).collect(),
            amr: t.subset(&["pwd", "mfa"], 50).into_iter().map(s).collect(),
            claims,
            risk_score: t.opt(70, |t| t.pick(&[10u8, 40, 50, 90])),
            workload: t.opt(20, |t| s(t.pick(WORKLOADS))),
            ..Identity::default()
        }
    });
    let service_token = tape.opt(30, |t| {
        let client = t.pick(&["ci-1", "ci-2", "ci-x"]);
        ServiceTokenCredentials {
            client_id: s(client),
            client_secret: if t.flag(80) {
                format!("secret-{client}")
            } else {
                s("wrong")
            },
        }
    });
    let network = tape.opt(85, |t| Network {
        ip: t.opt(80, |t| t.pick(REQUEST_IPS).parse().unwrap()),
        country: t.opt(80, |t| s(t.pick(REQUEST_COUNTRIES))),
        vpc: t.opt(25, |t| VpcOrigin {
            network: s(t.pick(VPCS)),
            ip: t.opt(70, |t| t.pick(VPC_IPS).parse().unwrap()),
        }),
    });
    let device = tape.opt(70, |t| Device {
        posture_passed: t.subset(POSTURES, 50).into_iter().map(s).collect(),
        os_type: t.opt(80, |t| s(t.pick(OS_TYPES))),
        os_version: t.opt(80, |t| s(t.pick(OS_VERSIONS))),
        encryption_status: t.opt(80, |t| s(t.pick(ENCRYPTION))),
        screenlock: t.opt(80, |t| t.flag(60)),
        management_level: t.opt(70, |t| s(t.pick(MANAGEMENT))),
        admin_approved: t.opt(60, |t| t.flag(60)),
        corp_owned: t.opt(60, |t| t.flag(60)),
        verified_chrome_os: t.opt(20, |t| t.flag(50)),
        ..Device::default()
    });
    // Times on and around window edges, and anywhere in the week.
    let time = tape.opt(90, |t| {
        let edge = t.pick(&[
            9 * 60i64,               // Mon 09:00
            17 * 60,                 // Mon 17:00
            4 * 1440 + 23 * 60,      // Fri 23:00
            5 * 1440 + 119,          // Sat 01:59
            5 * 1440 + 120,          // Sat 02:00
            6 * 1440 + 10 * 60,      // Sun 10:00
            1440 + 18 * 60 + 15,     // Tue 18:15 (23:45 in Kolkata)
            2 * 1440 + 18 * 60 + 30, // Wed 18:30 (00:00 in Kolkata)
        ]);
        let offset = if t.flag(50) {
            t.below(256) as i64 * 41
        } else {
            0
        };
        monday() + Duration::minutes(edge + offset)
    });
    RequestContext {
        resource,
        identity,
        service_token,
        network,
        device,
        time,
        ..RequestContext::default()
    }
}

/// Now and then points a request at one of the account's ZTNA policies: each
/// subject, resource and condition value the policy names is copied into the
/// request with some probability, so policies apply far more often than two
/// independent random draws would make them.
pub fn aim(tape: &mut Tape, ir: &AccountIr, req: &mut RequestContext) {
    if ir.ztna_policies.is_empty() || !tape.flag(60) {
        return;
    }
    let policy = &ir.ztna_policies[tape.below(ir.ztna_policies.len())];
    let mut leaves = Vec::new();
    collect(&policy.subject, &mut leaves);
    collect(&policy.resource, &mut leaves);
    for c in &policy.conditions {
        collect(c, &mut leaves);
    }
    for leaf in leaves {
        if !tape.flag(75) {
            continue;
        }
        let identity = || Identity::default();
        match leaf {
            Condition::Leaf(p) => match p {
                Predicate::EmailIn(list) if !list.is_empty() => {
                    req.identity.get_or_insert_with(identity).email = Some(list[0].clone())
                }
                Predicate::UserId(u) => {
                    req.identity.get_or_insert_with(identity).user_id = Some(u.clone())
                }
                Predicate::IdentityGroup { group, idp } => {
                    let i = req.identity.get_or_insert_with(identity);
                    i.groups.push(group.clone());
                    if let Some(idp) = idp {
                        i.idp = Some(IdentityProvider {
                            id: Some(idp.clone()),
                            kind: None,
                        });
                    }
                }
                Predicate::IdpIs(idp) => {
                    req.identity.get_or_insert_with(identity).idp = Some(IdentityProvider {
                        id: Some(idp.clone()),
                        kind: None,
                    })
                }
                Predicate::Workload(w) => {
                    req.identity.get_or_insert_with(identity).workload = Some(w.clone())
                }
                Predicate::ServiceAccount(c) => {
                    req.service_token = Some(ServiceTokenCredentials {
                        client_id: c.clone(),
                        client_secret: format!("secret-{c}"),
                    })
                }
                Predicate::AuthMethod(m) => req
                    .identity
                    .get_or_insert_with(identity)
                    .amr
                    .push(m.clone()),
                Predicate::RiskScoreAtMost(m) => {
                    req.identity.get_or_insert_with(identity).risk_score = Some(*m)
                }
                Predicate::ResourceAppId(a) => {
                    req.resource.get_or_insert_with(Resource::default).app_id = Some(a.clone())
                }
                Predicate::ResourceHost(h) => {
                    req.resource.get_or_insert_with(Resource::default).host = Some(h.clone())
                }
                Predicate::ResourcePort(ports) if !ports.is_empty() => {
                    req.resource.get_or_insert_with(Resource::default).port = Some(ports[0])
                }
                Predicate::DevicePosture(p) => req
                    .device
                    .get_or_insert_with(Device::default)
                    .posture_passed
                    .push(p.clone()),
                Predicate::Country(codes) if !codes.is_empty() => {
                    req.network.get_or_insert_with(Network::default).country =
                        Some(codes[0].clone())
                }
                _ => {}
            },
            Condition::Compare {
                left: Operand::Attribute(AttributePath::ResourceType),
                right: Operand::Constant(serde_json::Value::String(kind)),
                ..
            } => req.resource.get_or_insert_with(Resource::default).kind = Some(kind.clone()),
            _ => {}
        }
    }
}

fn collect<'a>(c: &'a Condition, out: &mut Vec<&'a Condition>) {
    match c {
        Condition::All(items) | Condition::Any(items) => items.iter().for_each(|i| collect(i, out)),
        // A negated leaf is not worth aiming at.
        Condition::Not(_) => {}
        leaf => out.push(leaf),
    }
}
