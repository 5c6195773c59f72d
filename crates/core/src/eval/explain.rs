//! The explain trace: in words, which clause decided each policy. Only built when a
//! caller asks for it, so it may allocate freely.

use super::request::{Eval, RulesOutcome, Tri};
use crate::compile::{Cond, Country, Leaf, RuleSet};

fn country_text(c: Country) -> String {
    String::from_utf8_lossy(&c).into_owned()
}

/// Describes how include / require / exclude rules turned out.
pub(crate) fn rules_outcome(ev: &Eval<'_, '_>, outcome: RulesOutcome, rules: &RuleSet) -> String {
    let (include, require, exclude) = (rules.include(), rules.require(), rules.exclude());
    match outcome {
        RulesOutcome::Matched(i) => {
            format!("include[{i}] {}", describe(ev, &include[i], true))
        }
        RulesOutcome::IncludeEmpty => "include is empty, so the policy never matches".into(),
        RulesOutcome::NoIncludeMatched => {
            if include.len() == 1 {
                format!("include[0] {}", describe(ev, &include[0], false))
            } else {
                let reasons: Vec<String> = include
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("include[{i}] {}", describe(ev, c, false)))
                    .collect();
                format!("no include rule matched: {}", reasons.join("; "))
            }
        }
        RulesOutcome::RequireFailed(i) => {
            format!("require[{i}] {}", describe(ev, &require[i], false))
        }
        RulesOutcome::Excluded(i) => {
            format!("exclude[{i}] {}", describe(ev, &exclude[i], true))
        }
    }
}

/// Why a condition evaluated the way it did (`matched` tells which way).
pub(crate) fn describe(ev: &Eval<'_, '_>, cond: &Cond, matched: bool) -> String {
    match cond {
        Cond::Leaf(leaf) => {
            let (name, detail) = leaf_detail(ev, leaf);
            format!("{name}: {detail}")
        }
        Cond::Const(b) => format!("constant {b}"),
        Cond::All(items) => match items.iter().position(|c| !ev.cond(c).is_true()) {
            Some(i) if !matched => format!("all-of: {}", describe(ev, &items[i], false)),
            _ => "all-of: every condition holds".into(),
        },
        Cond::Any(items) => match items.iter().position(|c| ev.cond(c).is_true()) {
            Some(i) if matched => format!("any-of: {}", describe(ev, &items[i], true)),
            _ => "any-of: no condition holds".into(),
        },
        Cond::Not(inner) => format!("not ({})", describe(ev, inner, !matched)),
        Cond::Compare(_) => match ev.cond(cond) {
            Tri::True => "comparison holds".into(),
            Tri::False => "comparison does not hold".into(),
            Tri::Unknown => "comparison is indeterminate (type mismatch)".into(),
        },
        Cond::Level(idx) => {
            let name = &ev.acct.levels[*idx as usize].name;
            if matched {
                format!("access level {name} is granted")
            } else {
                format!("access level {name} is not granted")
            }
        }
        Cond::Cel(_) => match ev.cond(cond) {
            Tri::True => "CEL expression is true".into(),
            Tri::False => "CEL expression is false".into(),
            Tri::Unknown => "CEL expression could not be evaluated".into(),
        },
        Cond::TimeWindow(_) => match ev.req.time {
            None => "time_window: the request has no time".into(),
            Some(t) if matched => format!("time_window: {t} is inside the window"),
            Some(t) => format!("time_window: {t} is outside the window"),
        },
    }
}

fn or_none(v: Option<&str>) -> String {
    match v {
        Some(v) => format!("{v:?}"),
        None => "(none)".into(),
    }
}

fn idp_detail(ev: &Eval<'_, '_>, idp: &Option<Box<str>>) -> Option<String> {
    match idp {
        Some(want) if ev.idp_id() != Some(&**want) => Some(format!(
            "identity provider {} is not {want:?}",
            or_none(ev.idp_id())
        )),
        _ => None,
    }
}

/// The rule's wire name and what it looked at, phrased for the way it turned out.
fn leaf_detail(ev: &Eval<'_, '_>, leaf: &Leaf) -> (&'static str, String) {
    let req = ev.req;
    let identity = req.identity.as_ref();
    let email = or_none(ev.email());
    let held = ev.leaf(leaf);
    let is = if held { "is" } else { "is not" };
    let has = if held { "has" } else { "does not have" };
    match leaf {
        Leaf::Everyone => ("everyone", "everyone matches".into()),
        Leaf::Email(e) => ("email", format!("email {email} {is} {:?}", &**e)),
        Leaf::EmailSet(set) => (
            "email",
            format!("email {email} {is} one of {} addresses", set.len()),
        ),
        Leaf::EmailList(_) => ("email_list", format!("email {email} {is} in the list")),
        Leaf::EmailDomain(d) => {
            let domain = ev.email().and_then(|e| e.rsplit_once('@')).map(|(_, d)| d);
            (
                "email_domain",
                format!("domain {} {is} {:?}", or_none(domain), &**d),
            )
        }
        Leaf::Ip(_) => (
            "ip",
            format!("address {} {is} in the rule's ranges", ip_text(ev)),
        ),
        Leaf::IpList(_) => (
            "ip_list",
            format!("address {} {is} in the list", ip_text(ev)),
        ),
        Leaf::Country(_) | Leaf::FewCountries(_) => {
            let codes = match leaf {
                Leaf::FewCountries(few) => few.codes(),
                Leaf::Country(codes) => codes,
                _ => &[],
            };
            let want: Vec<String> = codes.iter().map(|c| country_text(*c)).collect();
            let got = ev.country().map(country_text);
            (
                "geo",
                format!(
                    "country {} {is} {}",
                    got.as_deref().unwrap_or("(none)"),
                    want.join(" or ")
                ),
            )
        }
        Leaf::Group(i) => {
            let g = &ev.acct.groups[*i as usize];
            let outcome = ev.rules(&g.rules);
            (
                "group",
                format!(
                    "Access group {:?}: {}",
                    &*g.id,
                    rules_outcome(ev, outcome, &g.rules)
                ),
            )
        }
        Leaf::IdentityGroup(rule) => (
            "identity group",
            idp_detail(ev, &rule.idp).unwrap_or_else(|| {
                format!("group {:?} {is} among the user's groups", &*rule.group)
            }),
        ),
        Leaf::UserId(u) => (
            "user",
            format!(
                "user id {} {is} {:?}",
                or_none(identity.and_then(|i| i.user_id.as_deref())),
                &**u
            ),
        ),
        Leaf::Workload(w) => (
            "workload",
            format!(
                "workload {} {is} {:?}",
                or_none(identity.and_then(|i| i.workload.as_deref())),
                &**w
            ),
        ),
        Leaf::IdpIs(id) => (
            "login_method",
            format!(
                "identity provider {} {is} {:?}",
                or_none(ev.idp_id()),
                &**id
            ),
        ),
        Leaf::AuthMethod(m) => {
            let amr = identity.map(|i| i.amr.join(", ")).unwrap_or_default();
            (
                "auth_method",
                format!("{:?} {is} among the authentication methods [{amr}]", &**m),
            )
        }
        Leaf::Saml(rule) => (
            "saml",
            idp_detail(ev, &rule.idp).unwrap_or_else(|| {
                format!(
                    "attribute {:?} {has} the value {:?}",
                    &*rule.attribute, &*rule.value
                )
            }),
        ),
        Leaf::OidcClaim(rule) => (
            "oidc",
            idp_detail(ev, &rule.idp).unwrap_or_else(|| {
                format!(
                    "claim {:?} {has} the value {:?}",
                    &*rule.claim, &*rule.value
                )
            }),
        ),
        Leaf::Github(rule) => (
            "github-organization",
            idp_detail(ev, &rule.idp).unwrap_or_else(|| match &rule.team {
                Some(t) => format!("the user {is} in team {:?} of {:?}", &**t, &*rule.org),
                None => format!("the user {is} in organization {:?}", &*rule.org),
            }),
        ),
        Leaf::AuthContext(rule) => (
            "auth_context",
            idp_detail(ev, &rule.idp).unwrap_or_else(|| {
                format!("authentication context {:?} {is} present", &*rule.ac_id)
            }),
        ),
        Leaf::AnyValidServiceToken => ("any_valid_service_token", token_text(ev)),
        Leaf::ServiceToken(_) => (
            "service_token",
            match ev.valid_token() {
                Some(_) => format!("{} and {is} the rule's token", token_text(ev)),
                None => token_text(ev),
            },
        ),
        Leaf::ServiceAccount(id) => (
            "service_account",
            format!("{}; client id {is} {:?}", token_text(ev), &**id),
        ),
        Leaf::Certificate => ("certificate", cert_text(ev)),
        Leaf::CommonName(cn) => (
            "common_name",
            format!("{}; common name {is} {:?}", cert_text(ev), &**cn),
        ),
        Leaf::DevicePosture(uid) => (
            "device_posture",
            format!("posture check {:?} {is} among the passed checks", &**uid),
        ),
        Leaf::LinkedAppToken(uid) => (
            "linked_app_token",
            format!("a token of app {:?} {is} presented", &**uid),
        ),
        Leaf::UserRiskScore(_) => (
            "user_risk_score",
            format!(
                "risk level {} {is} one of the rule's levels",
                identity
                    .and_then(|i| i.risk_level)
                    .map_or("unscored", |r| r.as_str())
            ),
        ),
        Leaf::External(url) => (
            "external_evaluation",
            match req.external.get(&**url) {
                Some(true) => format!("{:?} answered true", &**url),
                Some(false) => format!("{:?} answered false", &**url),
                None => format!("{:?} gave no answer (fails closed)", &**url),
            },
        ),
        Leaf::ResourceAppId(id) => ("resource", format!("app id {is} {:?}", &**id)),
        Leaf::ResourceHost(h) => ("resource", format!("host {is} {:?}", &**h)),
        Leaf::ResourcePort(ports) => ("resource", format!("port {is} among {ports:?}")),
        Leaf::RiskScoreAtMost(max) => (
            "risk_score_max",
            format!(
                "risk score {} {is} at most {max}",
                identity
                    .and_then(|i| i.risk_score)
                    .map_or("(none)".to_string(), |s| s.to_string())
            ),
        ),
        Leaf::DevicePolicy(_) => (
            "devicePolicy",
            if req.device.is_none() {
                "the request has no device".into()
            } else {
                format!("the device {is} compliant with the device policy")
            },
        ),
        Leaf::VpcNetwork(rule) => (
            "vpcNetworkSources",
            format!("the request {is} from VPC network {:?}", &*rule.network),
        ),
    }
}

fn ip_text(ev: &Eval<'_, '_>) -> String {
    ev.ip().map_or("(none)".to_string(), |ip| ip.to_string())
}

fn token_text(ev: &Eval<'_, '_>) -> String {
    match (&ev.req.service_token, ev.valid_token()) {
        (None, _) => "no service token presented".into(),
        (Some(t), None) => format!("service token {:?} is not valid", t.client_id),
        (Some(t), Some(_)) => format!("service token {:?} is valid", t.client_id),
    }
}

fn cert_text(ev: &Eval<'_, '_>) -> String {
    match &ev.req.certificate {
        Some(c) if c.verified => "a verified client certificate".into(),
        Some(_) => "an unverified client certificate".into(),
        None => "no client certificate".into(),
    }
}
