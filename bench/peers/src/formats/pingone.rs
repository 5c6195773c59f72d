//! A PingOne Authorize tree of depth 4 with 50 rules: root → 3 policies (each
//! scoped to a path prefix) → 3 policies each (scoped by department or group) →
//! 5–6 rules each. Every combining algorithm appears, conditions mix AND / OR /
//! NOT / EMPTY and comparisons on strings, lists and numbers (a few of them
//! ill-typed, so INDETERMINATE occurs), a few nodes are disabled and three
//! statements ride along. Requests name the tree with
//! `resource.authorization_policy`; the oracle walks the generator's own tree
//! with XACML semantics.

use portcullis_core::context::{Identity, Network, Resource};
use portcullis_core::decision::{AuthorizeDecision as D, Decision};
use portcullis_core::RequestContext;
use portcullis_formats::corpus::Setup;
use portcullis_formats::pingone::PolicyNode;
use serde_json::{json, Value};

use super::{wire, Expected, Rng, RngExt, Workload};

const ROOT: &str = "bench-root";
const REQUESTS: usize = 10_000;
const SERVICES: usize = 3;
const DEPARTMENTS: &[&str] = &["eng", "sales", "ops", "finance", "legal"];
const GROUPS: &[&str] = &["admins", "sre", "dev", "audit", "contractors", "oncall"];
const COUNTRIES: &[&str] = &["US", "DE", "FR", "GB", "JP"];
const ALGORITHMS: [Alg; 6] = [
    Alg::DenyOverrides,
    Alg::PermitOverrides,
    Alg::DenyUnlessPermit,
    Alg::PermitUnlessDeny,
    Alg::FirstApplicable,
    Alg::OnlyOneApplicable,
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Alg {
    DenyOverrides,
    PermitOverrides,
    DenyUnlessPermit,
    PermitUnlessDeny,
    FirstApplicable,
    OnlyOneApplicable,
}

impl Alg {
    fn wire(self) -> &'static str {
        match self {
            Alg::DenyOverrides => "DENY_OVERRIDES",
            Alg::PermitOverrides => "PERMIT_OVERRIDES",
            Alg::DenyUnlessPermit => "DENY_UNLESS_PERMIT",
            Alg::PermitUnlessDeny => "PERMIT_UNLESS_DENY",
            Alg::FirstApplicable => "FIRST_APPLICABLE",
            Alg::OnlyOneApplicable => "ONLY_ONE_APPLICABLE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Attr {
    Email,
    Groups,
    Department,
    Level,
    RiskScore,
    Country,
    Path,
}

impl Attr {
    fn wire(self) -> &'static str {
        match self {
            Attr::Email => "identity.email",
            Attr::Groups => "identity.groups",
            Attr::Department => "identity.claims.department",
            Attr::Level => "identity.claims.level",
            Attr::RiskScore => "identity.risk_score",
            Attr::Country => "network.country",
            Attr::Path => "resource.path",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Contains,
    NotContains,
    Gt,
    Ge,
    Lt,
    StartsWith,
    EndsWith,
}

impl Op {
    fn wire(self) -> &'static str {
        match self {
            Op::Eq => "EQUALS",
            Op::Ne => "NOT_EQUALS",
            Op::Contains => "CONTAINS",
            Op::NotContains => "NOT_CONTAINS",
            Op::Gt => "GREATER_THAN",
            Op::Ge => "GREATER_THAN_OR_EQUAL",
            Op::Lt => "LESS_THAN",
            Op::StartsWith => "STARTS_WITH",
            Op::EndsWith => "ENDS_WITH",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Const {
    Str(String),
    Num(i64),
}

#[derive(Debug, Clone)]
enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp(Attr, Op, Const),
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Effect {
    Permit,
    Deny,
    PermitElseDeny,
    DenyElsePermit,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum AppliesTo {
    Permit,
    Deny,
    Either,
}

#[derive(Debug, Clone)]
struct Stmt {
    code: &'static str,
    applies_to: AppliesTo,
    path_matches: bool,
}

#[derive(Debug, Clone)]
enum Node {
    Policy {
        name: String,
        enabled: bool,
        condition: Option<Cond>,
        alg: Alg,
        children: Vec<Node>,
        statements: Vec<Stmt>,
    },
    Rule {
        name: String,
        enabled: bool,
        condition: Option<Cond>,
        effect: Effect,
        effect_condition: Option<Cond>,
        statements: Vec<Stmt>,
    },
}

/// The request as plain facts.
#[derive(Debug, Clone, Default)]
struct Facts {
    identity: Option<Who>,
    country: Option<&'static str>,
    path: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct Who {
    email: Option<String>,
    groups: Vec<&'static str>,
    department: Option<&'static str>,
    level: Option<i64>,
    risk: Option<u8>,
}

// ---------------------------------------------------------------- oracle

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tri {
    T,
    F,
    U,
}

fn tri(b: bool) -> Tri {
    if b {
        Tri::T
    } else {
        Tri::F
    }
}

/// An attribute's value in the request.
enum Val<'a> {
    Missing,
    Str(&'a str),
    Num(i64),
    List(&'a [&'static str]),
}

fn value<'a>(f: &'a Facts, a: Attr) -> Val<'a> {
    let who = f.identity.as_ref();
    let s = |v: Option<&'a str>| v.map_or(Val::Missing, Val::Str);
    match a {
        Attr::Email => s(who.and_then(|w| w.email.as_deref())),
        Attr::Groups => who.map_or(Val::Missing, |w| Val::List(&w.groups)),
        Attr::Department => s(who.and_then(|w| w.department)),
        Attr::Level => who.and_then(|w| w.level).map_or(Val::Missing, Val::Num),
        Attr::RiskScore => who
            .and_then(|w| w.risk)
            .map_or(Val::Missing, |r| Val::Num(i64::from(r))),
        Attr::Country => s(f.country),
        Attr::Path => s(f.path.as_deref()),
    }
}

/// DESIGN.md: a missing attribute compares false; a type mismatch is
/// INDETERMINATE. The generator only writes the combinations handled here.
fn compare(v: Val<'_>, op: Op, c: &Const) -> Tri {
    match (v, op, c) {
        (Val::Missing, _, _) => Tri::F,
        (Val::Str(a), Op::Eq, Const::Str(b)) => tri(a == b),
        (Val::Str(a), Op::Ne, Const::Str(b)) => tri(a != b),
        (Val::Num(a), Op::Eq, Const::Num(b)) => tri(a == *b),
        (Val::Num(a), Op::Ne, Const::Num(b)) => tri(a != *b),
        (Val::Num(a), Op::Gt, Const::Num(b)) => tri(a > *b),
        (Val::Num(a), Op::Ge, Const::Num(b)) => tri(a >= *b),
        (Val::Num(a), Op::Lt, Const::Num(b)) => tri(a < *b),
        (Val::List(l), Op::Contains, Const::Str(b)) => tri(l.contains(&b.as_str())),
        (Val::List(l), Op::NotContains, Const::Str(b)) => tri(!l.contains(&b.as_str())),
        (Val::Str(a), Op::Contains, Const::Str(b)) => tri(a.contains(b.as_str())),
        (Val::Str(a), Op::StartsWith, Const::Str(b)) => tri(a.starts_with(b.as_str())),
        (Val::Str(a), Op::EndsWith, Const::Str(b)) => tri(a.ends_with(b.as_str())),
        // Ordering a string (an email) against a number.
        (Val::Str(_), Op::Gt | Op::Ge | Op::Lt, Const::Num(_)) => Tri::U,
        (_, op, c) => panic!("the generator does not write {op:?} with {c:?}"),
    }
}

fn eval(c: &Cond, f: &Facts) -> Tri {
    match c {
        Cond::Empty => Tri::T,
        Cond::Cmp(a, op, k) => compare(value(f, *a), *op, k),
        Cond::Not(inner) => match eval(inner, f) {
            Tri::T => Tri::F,
            Tri::F => Tri::T,
            Tri::U => Tri::U,
        },
        Cond::And(items) => {
            let r: Vec<Tri> = items.iter().map(|i| eval(i, f)).collect();
            if r.contains(&Tri::F) {
                Tri::F
            } else if r.contains(&Tri::U) {
                Tri::U
            } else {
                Tri::T
            }
        }
        Cond::Or(items) => {
            let r: Vec<Tri> = items.iter().map(|i| eval(i, f)).collect();
            if r.contains(&Tri::T) {
                Tri::T
            } else if r.contains(&Tri::U) {
                Tri::U
            } else {
                Tri::F
            }
        }
    }
}

fn applies(to: AppliesTo, d: D) -> bool {
    matches!(
        (to, d),
        (AppliesTo::Permit, D::Permit)
            | (AppliesTo::Deny, D::Deny)
            | (AppliesTo::Either, D::Permit | D::Deny)
    )
}

/// A node's decision and the statements (with `applies_if` = path matches) it
/// contributes.
fn decide(n: &Node, f: &Facts) -> (D, Vec<(bool, AppliesTo, &'static str)>) {
    let own = |statements: &[Stmt], d: D| -> Vec<(bool, AppliesTo, &'static str)> {
        statements
            .iter()
            .filter(|s| applies(s.applies_to, d))
            .map(|s| (s.path_matches, s.applies_to, s.code))
            .collect()
    };
    let gate = |enabled: bool, condition: &Option<Cond>| -> Option<D> {
        if !enabled {
            return Some(D::NotApplicable);
        }
        match condition.as_ref().map_or(Tri::T, |c| eval(c, f)) {
            Tri::T => None,
            Tri::F => Some(D::NotApplicable),
            Tri::U => Some(D::Indeterminate),
        }
    };
    match n {
        Node::Rule {
            enabled,
            condition,
            effect,
            effect_condition,
            statements,
            ..
        } => {
            let d = gate(*enabled, condition).unwrap_or_else(|| {
                let c = effect_condition.as_ref().map_or(Tri::T, |c| eval(c, f));
                match (effect, c) {
                    (Effect::Permit, _) => D::Permit,
                    (Effect::Deny, _) => D::Deny,
                    (_, Tri::U) => D::Indeterminate,
                    (Effect::PermitElseDeny, Tri::T) | (Effect::DenyElsePermit, Tri::F) => {
                        D::Permit
                    }
                    (Effect::PermitElseDeny, Tri::F) | (Effect::DenyElsePermit, Tri::T) => D::Deny,
                }
            });
            (d, own(statements, d))
        }
        Node::Policy {
            enabled,
            condition,
            alg,
            children,
            statements,
            ..
        } => {
            if let Some(d) = gate(*enabled, condition) {
                return (d, Vec::new());
            }
            let mut results = Vec::new();
            for child in children {
                let r = decide(child, f);
                let applicable = r.0 != D::NotApplicable;
                results.push(r);
                if *alg == Alg::FirstApplicable && applicable {
                    break;
                }
            }
            let count = |d: D| results.iter().filter(|r| r.0 == d).count();
            let (permits, denies, indets) =
                (count(D::Permit), count(D::Deny), count(D::Indeterminate));
            let d = match alg {
                Alg::DenyOverrides if denies > 0 => D::Deny,
                Alg::DenyOverrides if indets > 0 => D::Indeterminate,
                Alg::DenyOverrides if permits > 0 => D::Permit,
                Alg::PermitOverrides if permits > 0 => D::Permit,
                Alg::PermitOverrides if indets > 0 => D::Indeterminate,
                Alg::PermitOverrides if denies > 0 => D::Deny,
                Alg::DenyOverrides | Alg::PermitOverrides => D::NotApplicable,
                Alg::DenyUnlessPermit => {
                    if permits > 0 {
                        D::Permit
                    } else {
                        D::Deny
                    }
                }
                Alg::PermitUnlessDeny => {
                    if denies > 0 {
                        D::Deny
                    } else {
                        D::Permit
                    }
                }
                // Evaluation stopped at the first applicable child.
                Alg::FirstApplicable => results.last().map_or(D::NotApplicable, |r| r.0),
                Alg::OnlyOneApplicable => match permits + denies + indets {
                    0 => D::NotApplicable,
                    1 => results
                        .iter()
                        .map(|r| r.0)
                        .find(|d| *d != D::NotApplicable)
                        .unwrap_or(D::NotApplicable),
                    _ => D::Indeterminate,
                },
            };
            let mut out = own(statements, d);
            if matches!(d, D::Permit | D::Deny) {
                for (rd, s) in results {
                    if rd == d {
                        out.extend(s);
                    }
                }
            }
            (d, out)
        }
    }
}

fn expected(tree: &Node, f: &Facts) -> Expected {
    let (d, candidates) = decide(tree, f);
    let mut statements: Vec<String> = candidates
        .into_iter()
        .filter(|(path_matches, to, _)| *path_matches || applies(*to, d))
        .map(|(_, _, code)| code.to_string())
        .collect();
    statements.sort();
    let mut e = Expected::new(if d == D::Permit {
        Decision::Allow
    } else {
        Decision::Deny
    });
    e.policy_id = Some(ROOT.to_string());
    e.authorize = Some(d);
    e.statements = statements;
    e
}

// ------------------------------------------------------------- generator

fn email(k: usize) -> String {
    format!("user{k}@corp.example")
}

fn comparison(rng: &mut Rng) -> Cond {
    let s = |v: &str| Const::Str(v.to_string());
    let (a, op, c) = match rng.below(14) {
        0 => (Attr::Email, Op::Eq, Const::Str(email(rng.below(40)))),
        1 => (Attr::Email, Op::EndsWith, s("@corp.example")),
        2 => (Attr::Email, Op::Contains, s("user1")),
        3 | 4 => (
            Attr::Groups,
            if rng.chance(75) {
                Op::Contains
            } else {
                Op::NotContains
            },
            Const::Str(rng.pick(GROUPS).to_string()),
        ),
        5 | 6 => (
            Attr::Department,
            if rng.chance(80) { Op::Eq } else { Op::Ne },
            Const::Str(rng.pick(DEPARTMENTS).to_string()),
        ),
        7 => (Attr::Level, Op::Ge, Const::Num(rng.range(1, 5) as i64)),
        8 => (Attr::Level, Op::Eq, Const::Num(rng.range(1, 5) as i64)),
        9 => (
            Attr::RiskScore,
            Op::Lt,
            Const::Num(rng.range(20, 80) as i64),
        ),
        10 => (
            Attr::RiskScore,
            Op::Gt,
            Const::Num(rng.range(50, 90) as i64),
        ),
        11 => (
            Attr::Country,
            if rng.chance(70) { Op::Eq } else { Op::Ne },
            Const::Str(rng.pick(COUNTRIES).to_string()),
        ),
        12 => (Attr::Path, Op::EndsWith, s(".json")),
        // Ill-typed on purpose: ordering an email against a number is
        // INDETERMINATE (when the email is there).
        _ if rng.chance(40) => (Attr::Email, Op::Gt, Const::Num(5)),
        _ => (Attr::Path, Op::Contains, s("/admin")),
    };
    Cond::Cmp(a, op, c)
}

fn rule_condition(rng: &mut Rng) -> Cond {
    let n = rng.range(1, 3);
    let items: Vec<Cond> = (0..n).map(|_| comparison(rng)).collect();
    let c = match items.len() {
        1 => items.into_iter().next().unwrap_or(Cond::Empty),
        _ if rng.chance(60) => Cond::And(items),
        _ => Cond::Or(items),
    };
    if rng.chance(15) {
        Cond::Not(Box::new(c))
    } else {
        c
    }
}

fn generate_tree(rng: &mut Rng) -> Node {
    // 13 policies; every algorithm at least twice.
    let mut algs: Vec<Alg> = (0..13).map(|i| ALGORITHMS[i % 6]).collect();
    for i in (1..algs.len()).rev() {
        let j = rng.below(i + 1);
        algs.swap(i, j);
    }
    let mut next_alg = algs.into_iter();
    let mut rule_no = 0;
    let rules_per_leaf_policy = [6, 6, 6, 6, 6, 5, 5, 5, 5];
    let mut leaf_no = 0;
    let mut services = Vec::new();
    for k in 0..SERVICES {
        let mut groups = Vec::new();
        for _ in 0..3 {
            let mut rules = Vec::new();
            for _ in 0..rules_per_leaf_policy[leaf_no] {
                let effect = *rng.pick(&[
                    Effect::Permit,
                    Effect::Permit,
                    Effect::Deny,
                    Effect::PermitElseDeny,
                    Effect::DenyElsePermit,
                ]);
                let conditional = matches!(effect, Effect::PermitElseDeny | Effect::DenyElsePermit);
                let statements = if rule_no == 7 {
                    vec![Stmt {
                        code: "audit-sensitive-permit",
                        applies_to: AppliesTo::Permit,
                        path_matches: true,
                    }]
                } else {
                    Vec::new()
                };
                rules.push(Node::Rule {
                    name: format!("rule {rule_no}"),
                    enabled: !matches!(rule_no, 13 | 31),
                    condition: rng.chance(75).then(|| rule_condition(rng)),
                    effect,
                    effect_condition: conditional.then(|| rule_condition(rng)),
                    statements,
                });
                rule_no += 1;
            }
            let condition = match rng.below(5) {
                0 => Some(Cond::Cmp(
                    Attr::Department,
                    Op::Eq,
                    Const::Str(rng.pick(DEPARTMENTS).to_string()),
                )),
                1 => Some(Cond::Cmp(
                    Attr::Groups,
                    Op::Contains,
                    Const::Str(rng.pick(GROUPS).to_string()),
                )),
                2 => Some(Cond::Not(Box::new(Cond::Cmp(
                    Attr::Country,
                    Op::Eq,
                    Const::Str(rng.pick(COUNTRIES).to_string()),
                )))),
                3 => Some(Cond::Empty),
                _ => None,
            };
            groups.push(Node::Policy {
                name: format!("service {k} group {}", groups.len()),
                enabled: leaf_no != 4,
                condition,
                alg: next_alg.next().unwrap_or(Alg::DenyOverrides),
                children: rules,
                statements: Vec::new(),
            });
            leaf_no += 1;
        }
        let prefix = Cond::Cmp(Attr::Path, Op::StartsWith, Const::Str(format!("/svc{k}/")));
        let condition = if k == 1 {
            // Service 1 also needs a signed-in user with a level.
            Cond::And(vec![prefix, Cond::Cmp(Attr::Level, Op::Ge, Const::Num(1))])
        } else {
            prefix
        };
        services.push(Node::Policy {
            name: format!("service {k}"),
            enabled: true,
            condition: Some(condition),
            alg: next_alg.next().unwrap_or(Alg::DenyOverrides),
            children: groups,
            statements: if k == 0 {
                vec![Stmt {
                    code: "service0-denied",
                    applies_to: AppliesTo::Deny,
                    path_matches: false,
                }]
            } else {
                Vec::new()
            },
        });
    }
    Node::Policy {
        name: "root".into(),
        enabled: true,
        condition: None,
        alg: next_alg.next().unwrap_or(Alg::DenyOverrides),
        children: services,
        statements: vec![Stmt {
            code: "decided",
            applies_to: AppliesTo::Either,
            path_matches: false,
        }],
    }
}

fn cond_json(c: &Cond) -> Value {
    match c {
        Cond::Empty => json!({"type": "EMPTY"}),
        Cond::And(items) => {
            json!({"type": "AND", "conditions": items.iter().map(cond_json).collect::<Vec<_>>()})
        }
        Cond::Or(items) => {
            json!({"type": "OR", "conditions": items.iter().map(cond_json).collect::<Vec<_>>()})
        }
        Cond::Not(inner) => json!({"type": "NOT", "condition": cond_json(inner)}),
        Cond::Cmp(a, op, c) => json!({
            "type": "COMPARISON",
            "left": {"type": "ATTRIBUTE", "id": a.wire()},
            "comparator": op.wire(),
            "right": {"type": "CONSTANT", "value": match c {
                Const::Str(s) => json!(s),
                Const::Num(n) => json!(n),
            }},
        }),
    }
}

fn statements_json(statements: &[Stmt]) -> Value {
    statements
        .iter()
        .map(|s| {
            json!({
                "name": s.code.replace('-', " "),
                "code": s.code,
                "appliesTo": match s.applies_to {
                    AppliesTo::Permit => "PERMIT",
                    AppliesTo::Deny => "DENY",
                    AppliesTo::Either => "PERMIT_OR_DENY",
                },
                "appliesIf": if s.path_matches { "PATH_MATCHES" } else { "FINAL_DECISION_MATCHES" },
            })
        })
        .collect()
}

fn node_json(n: &Node) -> Value {
    let mut o = serde_json::Map::new();
    match n {
        Node::Policy {
            name,
            enabled,
            condition,
            alg,
            children,
            statements,
        } => {
            o.insert("type".into(), json!("POLICY"));
            o.insert("name".into(), json!(name));
            if !enabled {
                o.insert("enabled".into(), json!(false));
            }
            if let Some(c) = condition {
                o.insert("condition".into(), cond_json(c));
            }
            o.insert(
                "combiningAlgorithm".into(),
                json!({"algorithm": alg.wire()}),
            );
            o.insert("children".into(), children.iter().map(node_json).collect());
            if !statements.is_empty() {
                o.insert("statements".into(), statements_json(statements));
            }
        }
        Node::Rule {
            name,
            enabled,
            condition,
            effect,
            effect_condition,
            statements,
        } => {
            o.insert("type".into(), json!("RULE"));
            o.insert("name".into(), json!(name));
            if !enabled {
                o.insert("enabled".into(), json!(false));
            }
            if let Some(c) = condition {
                o.insert("condition".into(), cond_json(c));
            }
            let kind = match effect {
                Effect::Permit => "UNCONDITIONAL_PERMIT",
                Effect::Deny => "UNCONDITIONAL_DENY",
                Effect::PermitElseDeny => "CONDITIONAL_PERMIT_ELSE_DENY",
                Effect::DenyElsePermit => "CONDITIONAL_DENY_ELSE_PERMIT",
            };
            let mut e = serde_json::Map::new();
            e.insert("type".into(), json!(kind));
            if let Some(c) = effect_condition {
                e.insert("condition".into(), cond_json(c));
            }
            o.insert("effectSettings".into(), Value::Object(e));
            if !statements.is_empty() {
                o.insert("statements".into(), statements_json(statements));
            }
        }
    }
    Value::Object(o)
}

fn facts(rng: &mut Rng) -> Facts {
    let identity = rng.chance(92).then(|| {
        let k = rng.range(0, 3);
        Who {
            email: rng.chance(85).then(|| email(rng.below(40))),
            groups: rng.sample(GROUPS, k),
            department: rng.chance(85).then(|| *rng.pick(DEPARTMENTS)),
            level: rng.chance(80).then(|| rng.range(0, 5) as i64),
            risk: rng.chance(75).then(|| rng.below(101) as u8),
        }
    });
    let path = rng.chance(97).then(|| {
        let svc = if rng.chance(90) {
            format!("/svc{}/", rng.below(SERVICES))
        } else {
            "/other/".to_string()
        };
        let tail = *rng.pick(&[
            "index.html",
            "admin/users",
            "api/v1/items.json",
            "report.json",
        ]);
        format!("{svc}{tail}")
    });
    Facts {
        identity,
        country: rng.chance(90).then(|| *rng.pick(COUNTRIES)),
        path,
    }
}

fn request(f: &Facts) -> RequestContext {
    RequestContext {
        resource: Some(Resource {
            path: f.path.clone(),
            authorization_policy: Some(ROOT.to_string()),
            ..Resource::default()
        }),
        identity: f.identity.as_ref().map(|w| {
            let mut claims = std::collections::BTreeMap::new();
            if let Some(d) = w.department {
                claims.insert("department".to_string(), json!(d));
            }
            if let Some(l) = w.level {
                claims.insert("level".to_string(), json!(l));
            }
            Identity {
                email: w.email.clone(),
                groups: w.groups.iter().map(|g| g.to_string()).collect(),
                claims,
                risk_score: w.risk,
                ..Identity::default()
            }
        }),
        network: f.country.map(|c| Network {
            country: Some(c.to_string()),
            ..Network::default()
        }),
        ..RequestContext::default()
    }
}

fn count_rules(n: &Node) -> (usize, usize, usize) {
    match n {
        Node::Rule { .. } => (1, 0, 1),
        Node::Policy { children, .. } => {
            let (mut rules, mut policies, mut depth) = (0, 1, 0);
            for c in children {
                let (r, p, d) = count_rules(c);
                rules += r;
                policies += p;
                depth = depth.max(d);
            }
            (rules, policies, depth + 1)
        }
    }
}

pub fn tree(seed: u64) -> Result<Workload, String> {
    let mut rng = Rng::new(seed);
    let root = generate_tree(&mut rng);
    let mut top = node_json(&root);
    top["id"] = json!(ROOT);
    let policy: PolicyNode = wire(top)?;
    let setup = Setup {
        account_id: "acc-pingone".into(),
        authorize_policies: vec![policy],
        ..Setup::default()
    };
    let mut requests = Vec::with_capacity(REQUESTS);
    let mut expect = Vec::with_capacity(REQUESTS);
    let mut with_statements = 0;
    for _ in 0..REQUESTS {
        let f = facts(&mut rng);
        let e = expected(&root, &f);
        with_statements += usize::from(!e.statements.is_empty());
        requests.push(request(&f));
        expect.push(e);
    }
    let (rules, policies, depth) = count_rules(&root);
    Ok(Workload {
        name: "PingOne tree",
        objects: format!("depth {depth}, {policies} policies, {rules} rules"),
        notes: vec![format!(
            "{with_statements} of {REQUESTS} decisions return statements"
        )],
        setup,
        requests,
        expected: expect,
        target_ns: Some(1_000),
    })
}
