//! A reference evaluator for the ZTNA, PingOne Authorize and ACM parts of the IR,
//! written from "ZTNA, PingOne and ACM semantics" and the corpus section of
//! DESIGN.md: plain recursion over the IR, nothing compiled, indexed or cached
//! across requests, nothing shared with the engine but the IR and context types
//! (and the secret hash, since the IR stores only that).
//!
//! Where DESIGN.md is silent the reference follows the choice the engine
//! documents, and says so: comparisons read a string constant as a number,
//! boolean, time or address when the other side is one (eval/compare.rs); among
//! several policies of the winning kind the first one names the decision; when
//! sources tie, the earlier one (ZTNA before PingOne) names it (eval/mod.rs); a
//! repeating PingOne policy decides its filter decision when an item was kept
//! (eval/authorize.rs).

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Datelike, Timelike, Utc};
use portcullis_core::context::RequestContext;
use portcullis_core::decision::{AuthorizeDecision as AD, Decision, Obligations};
use portcullis_core::ir::{
    AccountIr, AuthorizeChildIr, AuthorizePolicyIr, AuthorizeRuleIr, CombiningAlgorithm,
    Comparator, Condition, DevicePolicyIr, Operand, Predicate, RuleEffect, StatementAppliesIf,
    StatementAppliesTo, StatementIr, ZtnaEffect, ZtnaPolicyIr,
};
use portcullis_core::service_token::hash_secret;

use crate::gen::cel_reference;

/// What the reference decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub decision: Decision,
    pub policy_id: Option<String>,
    pub obligations: Obligations,
    /// Granted levels, sorted.
    pub access_levels: Vec<String>,
    pub authorize_decision: Option<AD>,
    /// Statement codes, sorted.
    pub statements: Vec<String>,
}

/// Three-valued logic: false conditions make a node NOT_APPLICABLE, errors
/// (type mismatches, a CEL error, a time window without a time) INDETERMINATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T3 {
    T,
    F,
    U,
}

fn t3(b: bool) -> T3 {
    if b {
        T3::T
    } else {
        T3::F
    }
}

/// A request attribute or constant, as comparisons see it.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Missing,
    Str(String),
    Num(f64),
    Bool(bool),
    Time(DateTime<Utc>),
    Ip(IpAddr),
    List(Vec<V>),
}

fn from_json(v: &serde_json::Value) -> V {
    match v {
        serde_json::Value::Null => V::Missing,
        serde_json::Value::Bool(b) => V::Bool(*b),
        serde_json::Value::Number(n) => n.as_f64().map_or(V::Missing, V::Num),
        serde_json::Value::String(s) => V::Str(s.clone()),
        serde_json::Value::Array(items) => V::List(items.iter().map(from_json).collect()),
        serde_json::Value::Object(_) => panic!("the generator writes no object values"),
    }
}

pub struct Reference<'a> {
    ir: &'a AccountIr,
    req: &'a RequestContext,
    levels: RefCell<HashMap<String, bool>>,
}

pub fn decide(ir: &AccountIr, req: &RequestContext) -> Expected {
    let r = Reference {
        ir,
        req,
        levels: RefCell::new(HashMap::new()),
    };
    r.decide()
}

impl<'a> Reference<'a> {
    fn decide(&self) -> Expected {
        // Each source that governs the request answers (decision, policy id,
        // obligations), in the engine's order: ZTNA, then the named PingOne tree.
        let mut sources: Vec<(Decision, Option<String>, Obligations)> = Vec::new();
        if let Some(z) = self.ztna() {
            sources.push(z);
        }
        let mut authorize_decision = None;
        let mut statements = Vec::new();
        if let Some(root) = self
            .req
            .resource
            .as_ref()
            .and_then(|r| r.authorization_policy.as_deref())
        {
            match self.ir.authorize_policies.iter().find(|p| p.id == root) {
                None => {
                    authorize_decision = Some(AD::NotApplicable);
                    sources.push((Decision::Deny, None, Obligations::default()));
                }
                Some(tree) => {
                    let (d, candidates) = self.policy(tree, None);
                    statements = candidates
                        .into_iter()
                        .filter(|s| {
                            s.applies_if == StatementAppliesIf::PathMatches
                                || applies(s.applies_to, d)
                        })
                        .map(|s| s.code.clone())
                        .collect();
                    statements.sort();
                    authorize_decision = Some(d);
                    let decision = if d == AD::Permit {
                        Decision::Allow
                    } else {
                        Decision::Deny
                    };
                    sources.push((decision, Some(root.to_string()), Obligations::default()));
                }
            }
        }
        // Every source must permit; the most blocking answer wins (deny, then a
        // login, then a step-up); on a tie the earlier source names it.
        let rank = |d: Decision| match d {
            Decision::Deny => 3,
            Decision::LoginRequired => 2,
            Decision::MfaRequired => 1,
            _ => 0,
        };
        let (decision, policy_id, obligations) = match sources.iter().map(|s| rank(s.0)).max() {
            None => (Decision::Deny, None, Obligations::default()),
            Some(0) => {
                let mut merged = sources[0].2.clone();
                for s in &sources[1..] {
                    merged = merge(merged, &s.2);
                }
                (sources[0].0, sources[0].1.clone(), merged)
            }
            Some(worst) => {
                let s = sources.iter().find(|s| rank(s.0) == worst).unwrap();
                // A deny or step-up carries no allow obligations (a step-up would
                // carry `mfa`, which ZTNA policies do not set).
                (s.0, s.1.clone(), Obligations::default())
            }
        };
        let mut access_levels: Vec<String> = self
            .ir
            .access_levels
            .iter()
            .filter(|l| self.level(&l.name))
            .map(|l| l.name.clone())
            .collect();
        access_levels.sort();
        Expected {
            decision,
            policy_id,
            obligations,
            access_levels,
            authorize_decision,
            statements,
        }
    }

    // ------------------------------------------------------------------ ZTNA

    /// `None` when no enabled policy's resource matches (ZTNA does not govern).
    fn ztna(&self) -> Option<(Decision, Option<String>, Obligations)> {
        let governing: Vec<&ZtnaPolicyIr> = self
            .ir
            .ztna_policies
            .iter()
            .filter(|p| p.enabled && self.cond(&p.resource, None) == T3::T)
            .collect();
        if governing.is_empty() {
            return None;
        }
        let applicable: Vec<&ZtnaPolicyIr> = governing
            .into_iter()
            .filter(|p| {
                self.cond(&p.subject, None) == T3::T
                    && p.conditions.iter().all(|c| self.cond(c, None) == T3::T)
            })
            .collect();
        let mfa = self
            .req
            .identity
            .as_ref()
            .is_some_and(|i| i.amr.iter().any(|a| a == "mfa"));
        let first = |effect: ZtnaEffect| applicable.iter().find(|p| p.effect == effect);
        if let Some(p) = first(ZtnaEffect::Deny) {
            return Some((Decision::Deny, Some(p.id.clone()), Obligations::default()));
        }
        if !mfa {
            if let Some(p) = first(ZtnaEffect::RequireMfa) {
                return Some((
                    Decision::MfaRequired,
                    Some(p.id.clone()),
                    Obligations::default(),
                ));
            }
        }
        // Everything left permits; an isolating policy names the decision first.
        let by = first(ZtnaEffect::Isolate).or_else(|| applicable.first());
        let Some(by) = by else {
            return Some((Decision::Deny, None, Obligations::default()));
        };
        let mut obligations = Obligations::default();
        for p in &applicable {
            obligations = merge(obligations, &p.obligations);
            obligations.isolation |= p.effect == ZtnaEffect::Isolate;
        }
        Some((Decision::Allow, Some(by.id.clone()), obligations))
    }

    // --------------------------------------------------------------- PingOne

    fn gate(&self, enabled: bool, condition: &Option<Condition>, item: Option<&V>) -> Option<AD> {
        if !enabled {
            return Some(AD::NotApplicable);
        }
        match condition.as_ref().map_or(T3::T, |c| self.cond(c, item)) {
            T3::T => None,
            T3::F => Some(AD::NotApplicable),
            T3::U => Some(AD::Indeterminate),
        }
    }

    fn rule(&self, r: &'a AuthorizeRuleIr, item: Option<&V>) -> (AD, Vec<&'a StatementIr>) {
        let d = self.gate(r.enabled, &r.condition, item).unwrap_or_else(|| {
            let by = |c: &Condition, yes: AD, no: AD| match self.cond(c, item) {
                T3::T => yes,
                T3::F => no,
                T3::U => AD::Indeterminate,
            };
            match &r.effect {
                RuleEffect::Permit => AD::Permit,
                RuleEffect::Deny => AD::Deny,
                RuleEffect::PermitElseDeny(c) => by(c, AD::Permit, AD::Deny),
                RuleEffect::DenyElsePermit(c) => by(c, AD::Deny, AD::Permit),
            }
        });
        (d, own(&r.statements, d))
    }

    fn child(&self, c: &'a AuthorizeChildIr, item: Option<&V>) -> (AD, Vec<&'a StatementIr>) {
        match c {
            AuthorizeChildIr::Rule(r) => self.rule(r, item),
            AuthorizeChildIr::Policy(p) => self.policy(p, item),
            AuthorizeChildIr::Reference(id) => {
                let p = self
                    .ir
                    .authorize_policies
                    .iter()
                    .find(|p| &p.id == id)
                    .expect("the generator only references existing policies");
                self.policy(p, item)
            }
        }
    }

    fn policy(&self, p: &'a AuthorizePolicyIr, item: Option<&V>) -> (AD, Vec<&'a StatementIr>) {
        // The policy's own condition sees the enclosing item.
        if let Some(d) = self.gate(p.enabled, &p.condition, item) {
            return (d, Vec::new());
        }
        let (d, contributed) = match &p.repetition {
            None => self.combine(p, item),
            Some(rep) => {
                let items = match self.attribute(&rep.source) {
                    V::Missing => Vec::new(),
                    V::List(items) => items,
                    scalar => vec![scalar],
                };
                let mut kept = false;
                let mut statements = Vec::new();
                for it in &items {
                    let (d, s) = self.combine(p, Some(it));
                    if d == rep.decision {
                        kept = true;
                        statements.extend(s);
                    }
                }
                if kept {
                    (rep.decision, statements)
                } else {
                    (AD::NotApplicable, Vec::new())
                }
            }
        };
        let mut out = own(&p.statements, d);
        out.extend(contributed);
        (d, out)
    }

    /// XACML combining over all children (first-applicable stops at the first
    /// child that applies); the children that decided the combined decision
    /// contribute their statements.
    fn combine(&self, p: &'a AuthorizePolicyIr, item: Option<&V>) -> (AD, Vec<&'a StatementIr>) {
        let mut results = Vec::new();
        for c in &p.children {
            let r = self.child(c, item);
            let applies = r.0 != AD::NotApplicable;
            results.push(r);
            if p.algorithm == CombiningAlgorithm::FirstApplicable && applies {
                break;
            }
        }
        let has = |d: AD| results.iter().any(|r| r.0 == d);
        let applicable: Vec<AD> = results
            .iter()
            .map(|r| r.0)
            .filter(|d| *d != AD::NotApplicable)
            .collect();
        let d = match p.algorithm {
            CombiningAlgorithm::DenyOverrides if has(AD::Deny) => AD::Deny,
            CombiningAlgorithm::DenyOverrides if has(AD::Indeterminate) => AD::Indeterminate,
            CombiningAlgorithm::DenyOverrides if has(AD::Permit) => AD::Permit,
            CombiningAlgorithm::DenyOverrides => AD::NotApplicable,
            CombiningAlgorithm::PermitOverrides if has(AD::Permit) => AD::Permit,
            CombiningAlgorithm::PermitOverrides if has(AD::Indeterminate) => AD::Indeterminate,
            CombiningAlgorithm::PermitOverrides if has(AD::Deny) => AD::Deny,
            CombiningAlgorithm::PermitOverrides => AD::NotApplicable,
            CombiningAlgorithm::DenyUnlessPermit if has(AD::Permit) => AD::Permit,
            CombiningAlgorithm::DenyUnlessPermit => AD::Deny,
            CombiningAlgorithm::PermitUnlessDeny if has(AD::Deny) => AD::Deny,
            CombiningAlgorithm::PermitUnlessDeny => AD::Permit,
            CombiningAlgorithm::FirstApplicable => {
                applicable.first().copied().unwrap_or(AD::NotApplicable)
            }
            CombiningAlgorithm::OnlyOneApplicable => match applicable.as_slice() {
                [] => AD::NotApplicable,
                [one] => *one,
                _ => AD::Indeterminate,
            },
        };
        let statements = if matches!(d, AD::Permit | AD::Deny) {
            results
                .into_iter()
                .filter(|r| r.0 == d)
                .flat_map(|r| r.1)
                .collect()
        } else {
            Vec::new()
        };
        (d, statements)
    }

    // ------------------------------------------------------------ ACM levels

    fn level(&self, name: &str) -> bool {
        if let Some(g) = self.levels.borrow().get(name) {
            return *g;
        }
        let level = self
            .ir
            .access_levels
            .iter()
            .find(|l| l.name == name)
            .expect("the generator only references existing levels");
        let granted = match &level.condition {
            Condition::Cel(cel) => {
                let scope = &cel.level_scope;
                cel_reference(&cel.expr)(self.req, &|short: &str| {
                    self.level(&format!("{scope}{short}"))
                })
            }
            c => self.cond(c, None) == T3::T,
        };
        self.levels.borrow_mut().insert(name.to_string(), granted);
        granted
    }

    // ------------------------------------------------------------ conditions

    pub fn cond(&self, c: &Condition, item: Option<&V>) -> T3 {
        match c {
            Condition::Const(b) => t3(*b),
            Condition::All(items) => {
                let r: Vec<T3> = items.iter().map(|i| self.cond(i, item)).collect();
                if r.contains(&T3::F) {
                    T3::F
                } else if r.contains(&T3::U) {
                    T3::U
                } else {
                    T3::T
                }
            }
            Condition::Any(items) => {
                let r: Vec<T3> = items.iter().map(|i| self.cond(i, item)).collect();
                if r.contains(&T3::T) {
                    T3::T
                } else if r.contains(&T3::U) {
                    T3::U
                } else {
                    T3::F
                }
            }
            Condition::Not(inner) => match self.cond(inner, item) {
                T3::T => T3::F,
                T3::F => T3::T,
                T3::U => T3::U,
            },
            Condition::Leaf(p) => t3(self.leaf(p)),
            Condition::AccessLevel(name) => t3(self.level(name)),
            Condition::TimeWindow(text) => match self.req.time {
                None => T3::U,
                Some(t) => t3(window_contains(text, t)),
            },
            Condition::Cel(cel) => {
                let scope = &cel.level_scope;
                t3(cel_reference(&cel.expr)(self.req, &|short: &str| {
                    self.level(&format!("{scope}{short}"))
                }))
            }
            Condition::Compare {
                left,
                comparator,
                right,
            } => compare(
                self.operand(left, item),
                *comparator,
                self.operand(right, item),
            ),
        }
    }

    fn operand(&self, op: &Operand, item: Option<&V>) -> V {
        match op {
            Operand::Constant(v) => from_json(v),
            Operand::RepetitionItem => item.cloned().unwrap_or(V::Missing),
            Operand::Attribute(path) => self.attribute(path),
        }
    }

    fn attribute(&self, path: &portcullis_core::attribute::AttributePath) -> V {
        use portcullis_core::attribute::AttributePath as P;
        let req = self.req;
        let identity = req.identity.as_ref();
        let s = |v: Option<&String>| v.map_or(V::Missing, |s| V::Str(s.clone()));
        match path {
            P::IdentityEmail => s(identity.and_then(|i| i.email.as_ref())),
            P::IdentityGroups => identity.map_or(V::Missing, |i| {
                V::List(i.groups.iter().map(|g| V::Str(g.clone())).collect())
            }),
            P::IdentityRiskScore => identity
                .and_then(|i| i.risk_score)
                .map_or(V::Missing, |r| V::Num(f64::from(r))),
            P::IdentityClaim(keys) => {
                let mut value = match identity.and_then(|i| i.claims.get(&keys[0])) {
                    Some(v) => v,
                    None => return V::Missing,
                };
                for k in &keys[1..] {
                    match value.get(k) {
                        Some(v) => value = v,
                        None => return V::Missing,
                    }
                }
                from_json(value)
            }
            P::NetworkCountry => s(req.network.as_ref().and_then(|n| n.country.as_ref())),
            P::NetworkIp => req
                .network
                .as_ref()
                .and_then(|n| n.ip)
                .map_or(V::Missing, V::Ip),
            P::ResourcePort => req
                .resource
                .as_ref()
                .and_then(|r| r.port)
                .map_or(V::Missing, |p| V::Num(f64::from(p))),
            P::ResourcePath => s(req.resource.as_ref().and_then(|r| r.path.as_ref())),
            P::ResourceType => s(req.resource.as_ref().and_then(|r| r.kind.as_ref())),
            P::DeviceScreenlock => req
                .device
                .as_ref()
                .and_then(|d| d.screenlock)
                .map_or(V::Missing, V::Bool),
            P::Time => req.time.map_or(V::Missing, V::Time),
            other => panic!("the generator does not compare {other:?}"),
        }
    }

    fn email(&self) -> Option<String> {
        self.req
            .identity
            .as_ref()?
            .email
            .as_ref()
            .map(|e| e.to_lowercase())
    }

    fn idp_ok(&self, want: &Option<String>) -> bool {
        want.as_ref().is_none_or(|w| self.idp() == Some(w.as_str()))
    }

    fn idp(&self) -> Option<&str> {
        self.req.identity.as_ref()?.idp.as_ref()?.id.as_deref()
    }

    /// The presented token is one of the account's (right client id and
    /// secret; the generator's tokens never expire).
    fn token_valid(&self) -> bool {
        let Some(creds) = &self.req.service_token else {
            return false;
        };
        self.ir.service_tokens.iter().any(|t| {
            t.client_id == creds.client_id && t.secret_sha256 == hash_secret(&creds.client_secret)
        })
    }

    fn leaf(&self, p: &Predicate) -> bool {
        let req = self.req;
        let identity = req.identity.as_ref();
        let network = req.network.as_ref();
        let resource = req.resource.as_ref();
        match p {
            Predicate::Everyone => true,
            Predicate::EmailIn(list) => self
                .email()
                .is_some_and(|e| list.iter().any(|l| l.to_lowercase() == e)),
            Predicate::UserId(u) => identity.and_then(|i| i.user_id.as_ref()) == Some(u),
            Predicate::Workload(w) => identity.and_then(|i| i.workload.as_ref()) == Some(w),
            Predicate::IdentityGroup { group, idp } => {
                self.idp_ok(idp) && identity.is_some_and(|i| i.groups.contains(group))
            }
            Predicate::IdpIs(id) => self.idp() == Some(id.as_str()),
            Predicate::AuthMethod(m) => identity.is_some_and(|i| i.amr.contains(m)),
            Predicate::ServiceAccount(client_id) => {
                self.token_valid()
                    && req
                        .service_token
                        .as_ref()
                        .is_some_and(|t| &t.client_id == client_id)
            }
            Predicate::ResourceAppId(id) => resource.and_then(|r| r.app_id.as_ref()) == Some(id),
            Predicate::ResourceHost(host) => resource
                .and_then(|r| r.host.as_deref())
                .is_some_and(|h| normalise_host(h) == host.to_lowercase()),
            Predicate::ResourcePort(ports) => resource
                .and_then(|r| r.port)
                .is_some_and(|p| ports.contains(&p)),
            Predicate::DevicePosture(uid) => req
                .device
                .as_ref()
                .is_some_and(|d| d.posture_passed.contains(uid)),
            Predicate::Country(codes) => network
                .and_then(|n| n.country.as_deref())
                .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
                .is_some_and(|c| codes.iter().any(|code| code.eq_ignore_ascii_case(c))),
            Predicate::RiskScoreAtMost(max) => identity
                .and_then(|i| i.risk_score)
                .is_some_and(|s| s <= *max),
            Predicate::IpIn(nets) => network
                .and_then(|n| n.ip)
                .is_some_and(|ip| nets.iter().any(|n| n.contains(&ip))),
            Predicate::DevicePolicy(policy) => {
                req.device.as_ref().is_some_and(|d| device_ok(policy, d))
            }
            Predicate::VpcNetwork {
                network: want,
                ranges,
            } => network.and_then(|n| n.vpc.as_ref()).is_some_and(|vpc| {
                &vpc.network == want
                    && (ranges.is_empty()
                        || vpc
                            .ip
                            .is_some_and(|ip| ranges.iter().any(|r| r.contains(&ip))))
            }),
            other => panic!("the generator does not write {other:?}"),
        }
    }
}

fn applies(to: StatementAppliesTo, d: AD) -> bool {
    match to {
        StatementAppliesTo::Permit => d == AD::Permit,
        StatementAppliesTo::Deny => d == AD::Deny,
        StatementAppliesTo::PermitOrDeny => matches!(d, AD::Permit | AD::Deny),
    }
}

fn own(statements: &[StatementIr], d: AD) -> Vec<&StatementIr> {
    statements
        .iter()
        .filter(|s| applies(s.applies_to, d))
        .collect()
}

/// `Ns` durations: the shorter wins; isolation if either asks.
fn merge(a: Obligations, b: &Obligations) -> Obligations {
    let seconds = |s: &Option<String>| -> Option<u64> {
        s.as_ref()
            .map(|s| s.strip_suffix('s').unwrap().parse().unwrap())
    };
    let shorter = |x: &Option<String>, y: &Option<String>| match (seconds(x), seconds(y)) {
        (Some(p), Some(q)) => Some(format!("{}s", p.min(q))),
        (Some(_), None) => x.clone(),
        (None, _) => y.clone(),
    };
    Obligations {
        session_duration: shorter(&a.session_duration, &b.session_duration),
        reauth_interval: shorter(&a.reauth_interval, &b.reauth_interval),
        isolation: a.isolation || b.isolation,
        ..a
    }
}

/// `host[:port][.]`, lower case.
fn normalise_host(host: &str) -> String {
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    host.strip_suffix('.').unwrap_or(host).to_lowercase()
}

/// Google's DevicePolicy: an AND over the fields set, each list an OR.
fn device_ok(p: &DevicePolicyIr, d: &portcullis_core::context::Device) -> bool {
    let listed = |list: &[String], v: &Option<String>| {
        list.is_empty() || v.as_ref().is_some_and(|v| list.contains(v))
    };
    (!p.require_screenlock || d.screenlock == Some(true))
        && listed(&p.allowed_encryption_statuses, &d.encryption_status)
        && listed(&p.allowed_device_management_levels, &d.management_level)
        && (!p.require_admin_approval || d.admin_approved == Some(true))
        && (!p.require_corp_owned || d.corp_owned == Some(true))
        && (p.os_constraints.is_empty()
            || p.os_constraints.iter().any(|c| {
                d.os_type.as_ref() == Some(&c.os_type)
                    && c.minimum_version
                        .as_ref()
                        .is_none_or(|min| d.os_version.as_ref().is_some_and(|v| version_ge(v, min)))
                    && (!c.require_verified_chrome_os || d.verified_chrome_os == Some(true))
            }))
}

/// Dotted numbers, missing parts 0; a part that is not a number fails.
fn version_ge(version: &str, minimum: &str) -> bool {
    let parts = |s: &str| -> Option<Vec<u64>> { s.split('.').map(|p| p.parse().ok()).collect() };
    let (Some(mut v), Some(mut m)) = (parts(version), parts(minimum)) else {
        return false;
    };
    let n = v.len().max(m.len());
    v.resize(n, 0);
    m.resize(n, 0);
    v >= m
}

/// `DAYS HH:MM-HH:MM [zone]`: DAYS `*`, `Mon`, `Mon-Fri` (wrapping), joined by
/// commas; the end is exclusive; a window whose end is not after its start
/// crosses midnight and belongs to the day it starts on.
pub fn window_contains(text: &str, t: DateTime<Utc>) -> bool {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let parts: Vec<&str> = text.split_whitespace().collect();
    let day = |s: &str| DAYS.iter().position(|d| d.eq_ignore_ascii_case(s)).unwrap();
    let mut days = [false; 7];
    if parts[0] == "*" {
        days = [true; 7];
    } else {
        for item in parts[0].split(',') {
            match item.split_once('-') {
                None => days[day(item)] = true,
                Some((a, b)) => {
                    let (mut i, end) = (day(a), day(b));
                    loop {
                        days[i] = true;
                        if i == end {
                            break;
                        }
                        i = (i + 1) % 7;
                    }
                }
            }
        }
    }
    let minute = |s: &str| {
        let (h, m) = s.split_once(':').unwrap();
        h.parse::<u32>().unwrap() * 60 + m.parse::<u32>().unwrap()
    };
    let (start, end) = parts[1].split_once('-').unwrap();
    let (start, end) = (minute(start), minute(end));
    let zone: chrono_tz::Tz = parts.get(2).map_or(chrono_tz::UTC, |z| z.parse().unwrap());
    let local = t.with_timezone(&zone);
    let wd = local.weekday().num_days_from_monday() as usize;
    let m = local.hour() * 60 + local.minute();
    if start < end {
        days[wd] && m >= start && m < end
    } else {
        (days[wd] && m >= start) || (days[(wd + 6) % 7] && m < end)
    }
}

// ----------------------------------------------------------- comparisons

fn scalar(v: &V) -> bool {
    !matches!(v, V::Missing | V::List(_))
}

/// Reads a string constant as the other side's type, when it is not a string.
fn coerce(s: &str, like: &V) -> Option<V> {
    match like {
        V::Num(_) => s.trim().parse().ok().map(V::Num),
        V::Bool(_) => match s {
            "true" => Some(V::Bool(true)),
            "false" => Some(V::Bool(false)),
            _ => None,
        },
        V::Time(_) => s.parse().ok().map(V::Time),
        V::Ip(_) => s.parse().ok().map(V::Ip),
        _ => None,
    }
}

fn same_kind(a: &V, b: &V) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn unify(a: &V, b: &V) -> Option<(V, V)> {
    if same_kind(a, b) {
        return Some((a.clone(), b.clone()));
    }
    match (a, b) {
        (V::Str(s), other) => coerce(s, other).map(|c| (c, other.clone())),
        (other, V::Str(s)) => coerce(s, other).map(|c| (other.clone(), c)),
        _ => None,
    }
}

fn equal(a: &V, b: &V) -> Option<bool> {
    unify(a, b).map(|(a, b)| a == b)
}

/// DESIGN.md: a missing attribute compares false; a type mismatch is
/// INDETERMINATE.
pub fn compare(left: V, op: Comparator, right: V) -> T3 {
    if left == V::Missing || right == V::Missing {
        return T3::F;
    }
    match op {
        Comparator::Equals | Comparator::NotEquals => {
            if !scalar(&left) || !scalar(&right) {
                return T3::U;
            }
            match equal(&left, &right) {
                Some(eq) => t3(eq == (op == Comparator::Equals)),
                None => T3::U,
            }
        }
        Comparator::Contains | Comparator::NotContains => {
            if !scalar(&right) {
                return T3::U;
            }
            let found = match &left {
                V::List(items) => items
                    .iter()
                    .any(|i| scalar(i) && equal(i, &right) == Some(true)),
                V::Str(haystack) => match &right {
                    V::Str(needle) => haystack.contains(needle.as_str()),
                    _ => return T3::U,
                },
                _ => return T3::U,
            };
            t3(found == (op == Comparator::Contains))
        }
        Comparator::GreaterThan
        | Comparator::GreaterThanOrEqual
        | Comparator::LessThan
        | Comparator::LessThanOrEqual => {
            if !scalar(&left) || !scalar(&right) {
                return T3::U;
            }
            let ord = match unify(&left, &right) {
                Some((V::Num(a), V::Num(b))) => a.partial_cmp(&b),
                Some((V::Time(a), V::Time(b))) => Some(a.cmp(&b)),
                _ => None,
            };
            let Some(ord) = ord else {
                return T3::U;
            };
            t3(match op {
                Comparator::GreaterThan => ord.is_gt(),
                Comparator::GreaterThanOrEqual => ord.is_ge(),
                Comparator::LessThan => ord.is_lt(),
                _ => ord.is_le(),
            })
        }
        Comparator::StartsWith | Comparator::EndsWith => match (&left, &right) {
            (V::Str(a), V::Str(b)) => t3(if op == Comparator::StartsWith {
                a.starts_with(b.as_str())
            } else {
                a.ends_with(b.as_str())
            }),
            _ => T3::U,
        },
    }
}
