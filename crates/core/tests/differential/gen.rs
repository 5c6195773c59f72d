//! Random Cloudflare-style accounts and requests.
//!
//! Values are drawn from small pools so that rules and requests collide often:
//! a random email would almost never equal a random rule's email, and the test
//! would only ever see "no policy matched". Raw choices are small integers that
//! shrink well; `build_*` turns them into IR and request contexts.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use portcullis_core::context::{
    ClientCertificate, Device, GithubMembership, Identity, IdentityProvider, LinkedAppToken,
    Network, RequestContext, Resource, RiskLevel, ServiceTokenCredentials,
};
use portcullis_core::decision::{MfaObligation, Obligations};
use portcullis_core::ip::parse_cidr_or_ip;
use portcullis_core::ir::{
    AccessGroupIr, AccessPolicyIr, AccountIr, AppIr, AppPolicyRef, Condition, ListIr, ListKind,
    PolicyAction, Predicate, ServiceTokenIr,
};
use portcullis_core::service_token::hash_secret;
use proptest::collection::vec;
use proptest::prelude::*;

pub const EMAILS: &[&str] = &[
    "alice@example.com",
    "Bob@Example.COM",
    "carol@partner.io",
    "dave@eu.example.com",
    "eve@other.test",
];
const RULE_DOMAINS: &[&str] = &["example.com", "@partner.io", "EU.example.com", "other.test"];
const RULE_NETS: &[&str] = &[
    "10.0.0.0/8",
    "192.0.2.0/24",
    "198.51.100.7",
    "2001:db8::/32",
    "203.0.113.0/25",
    "0.0.0.0/0",
];
const REQUEST_IPS: &[&str] = &[
    "10.1.2.3",
    "192.0.2.10",
    "198.51.100.7",
    "198.51.100.8",
    "2001:db8::5",
    "203.0.113.9",
    "203.0.113.200",
];
const RULE_COUNTRIES: &[&str] = &["US", "DE", "KP"];
const REQUEST_COUNTRIES: &[&str] = &["US", "de", "KP", "FR"];
const IDPS: &[&str] = &["idp-a", "idp-b"];
const IDP_GROUPS: &[&str] = &["eng", "ops", "admins@example.com"];
const AMRS: &[&str] = &["pwd", "mfa", "hwk"];
const SAML_VALUES: &[&str] = &["admin", "dev"];
const CLAIM_VALUES: &[&str] = &["eng", "ops"];
const ORGS: &[&str] = &["acme", "ACME", "other"];
const TEAMS: &[&str] = &["sre", "dev"];
const AUTH_CONTEXTS: &[&str] = &["c1", "c2"];
const POSTURES: &[&str] = &["posture-disk", "posture-fw"];
const LINKED_APPS: &[&str] = &["saas-1", "saas-2"];
const COMMON_NAMES: &[&str] = &["dev-1", "dev-2"];
const EXTERNAL_URLS: &[&str] = &["https://e1.example.com", "https://e2.example.com"];
const RISK: &[RiskLevel] = &[
    RiskLevel::Low,
    RiskLevel::Medium,
    RiskLevel::High,
    RiskLevel::Unscored,
];

/// Application host patterns; distinct after normalisation, so no two apps
/// ever claim the same one.
pub const PATTERNS: &[&str] = &[
    "app.example.com",
    "app.example.com/admin",
    "app.example.com/admin/users",
    "*.example.com",
    "*.example.com/api",
    "*-dev.example.com",
    "other.test",
    "other.test/api",
    "*.other.test",
];
const REQUEST_HOSTS: &[&str] = &[
    "app.example.com",
    "APP.example.com:443",
    "x.example.com",
    "x-dev.example.com",
    "a.b.example.com",
    "example.com",
    "other.test",
    "api.other.test",
    "nowhere.test",
];
const REQUEST_PATHS: &[&str] = &[
    "/",
    "/admin",
    "/admin/",
    "/admin/users/7",
    "/administrator",
    "/api",
    "/api/v1?x=1",
    "",
];

pub const TOKEN_COUNT: usize = 3;
pub const LIST_COUNT: usize = 4;

fn pick<T: Copy>(pool: &[T], n: u8) -> T {
    pool[n as usize % pool.len()]
}

fn s(pool: &[&str], n: u8) -> String {
    pick(pool, n).to_string()
}

fn expiry() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single().unwrap()
}

/// A rule: kind, two value choices, a flag.
pub type RawRule = (u8, u8, u8, bool);
/// Kinds past the last rule are `everyone`, so that policies match often enough.
const RULE_KINDS: u8 = 33;

fn raw_rule() -> impl Strategy<Value = RawRule> {
    (0..RULE_KINDS, any::<u8>(), any::<u8>(), any::<bool>())
}

/// Turns a raw rule into a condition. `groups` is how many groups it may refer
/// to (only earlier ones, so there are no cycles); `linked` whether
/// `linked_app_token` is allowed here.
fn rule(raw: RawRule, groups: usize, linked: bool) -> Condition {
    let (kind, a, b, flag) = raw;
    let idp = |n: u8| Some(s(IDPS, n));
    let p = match kind {
        0 => Predicate::Everyone,
        1 => Predicate::Email(s(EMAILS, a)),
        2 => Predicate::EmailDomain(s(RULE_DOMAINS, a)),
        3 => Predicate::EmailList(format!("list-email-{}", a % 2)),
        4 => Predicate::IpIn(vec![parse_cidr_or_ip(pick(RULE_NETS, a)).unwrap()]),
        5 => Predicate::IpList(format!("list-ip-{}", a % 2)),
        6 => Predicate::Country(vec![s(RULE_COUNTRIES, a)]),
        7 if groups > 0 => Predicate::Group(format!("grp-{}", a as usize % groups)),
        7 => Predicate::Everyone,
        // azureAD, okta and gsuite all lower to an IdP group.
        8 => Predicate::IdentityGroup {
            group: s(IDP_GROUPS, a),
            idp: idp(b),
        },
        9 => Predicate::IdpIs(s(IDPS, a)),
        10 => Predicate::AuthMethod(s(AMRS, a)),
        11 => Predicate::Saml {
            attribute: "role".into(),
            value: s(SAML_VALUES, a),
            idp: idp(b),
        },
        12 => Predicate::OidcClaim {
            claim: "dept".into(),
            value: s(CLAIM_VALUES, a),
            idp: idp(b),
        },
        13 => Predicate::Github {
            org: s(ORGS, a),
            team: flag.then(|| s(TEAMS, a / 3)),
            idp: idp(b),
        },
        14 => Predicate::AuthContext {
            ac_id: s(AUTH_CONTEXTS, a),
            idp: idp(b),
        },
        15 => Predicate::AnyValidServiceToken,
        16 => Predicate::ServiceToken(format!("st-{}", a as usize % TOKEN_COUNT)),
        17 => Predicate::Certificate,
        18 => Predicate::CommonName(s(COMMON_NAMES, a)),
        19 => Predicate::DevicePosture(s(POSTURES, a)),
        20 if linked => Predicate::LinkedAppToken(s(LINKED_APPS, a)),
        20 => Predicate::Everyone,
        21 => Predicate::UserRiskScore(
            RISK.iter()
                .enumerate()
                .filter(|(i, _)| a & (1 << i) != 0)
                .map(|(_, r)| *r)
                .collect(),
        ),
        22 => Predicate::ExternalEvaluation {
            evaluate_url: s(EXTERNAL_URLS, a),
            keys_url: "https://keys.example.com".into(),
        },
        // A rule whose value did not parse lowers to a constant that never matches.
        23 => return Condition::Const(false),
        24 => Predicate::Email(s(EMAILS, a).to_uppercase()),
        25 => Predicate::IdentityGroup {
            group: s(IDP_GROUPS, a),
            idp: None,
        },
        26 => Predicate::Country(vec![s(RULE_COUNTRIES, a), s(RULE_COUNTRIES, b)]),
        _ => Predicate::Everyone,
    };
    Condition::Leaf(p)
}

#[derive(Debug, Clone)]
pub struct RawRules {
    include: Vec<RawRule>,
    require: Vec<RawRule>,
    exclude: Vec<RawRule>,
}

fn raw_rules() -> impl Strategy<Value = RawRules> {
    (
        vec(raw_rule(), 0..4),
        vec(raw_rule(), 0..3),
        vec(raw_rule(), 0..2),
    )
        .prop_map(|(include, require, exclude)| RawRules {
            include,
            require,
            exclude,
        })
}

#[derive(Debug, Clone)]
pub struct RawPolicy {
    action: u8,
    rules: RawRules,
    mfa: bool,
    session: u8,
    isolation: bool,
}

fn raw_policy() -> impl Strategy<Value = RawPolicy> {
    (
        0u8..4,
        raw_rules(),
        any::<bool>(),
        any::<u8>(),
        any::<bool>(),
    )
        .prop_map(|(action, rules, mfa, session, isolation)| RawPolicy {
            action,
            rules,
            mfa,
            session,
            isolation,
        })
}

#[derive(Debug, Clone)]
pub struct RawApp {
    /// (policy choice, precedence); duplicates are dropped when building.
    policies: Vec<(u8, i64)>,
    /// Whether the application sets its own session duration.
    session: bool,
}

#[derive(Debug, Clone)]
pub struct RawAccount {
    groups: Vec<RawRules>,
    lists: Vec<Vec<u8>>,
    tokens: Vec<(bool, bool)>,
    policies: Vec<RawPolicy>,
    apps: Vec<RawApp>,
    /// For each pattern, the app that gets it (none when out of range).
    patterns: Vec<u8>,
}

pub fn raw_account() -> impl Strategy<Value = RawAccount> {
    (
        vec(raw_rules(), 0..4),
        vec(vec(any::<u8>(), 0..4), LIST_COUNT),
        vec((any::<bool>(), any::<bool>()), TOKEN_COUNT),
        vec(raw_policy(), 1..9),
        vec(
            (vec((any::<u8>(), -3i64..12), 0..7), any::<bool>())
                .prop_map(|(policies, session)| RawApp { policies, session }),
            1..4,
        ),
        vec(0u8..6, PATTERNS.len()),
    )
        .prop_map(
            |(groups, lists, tokens, policies, apps, patterns)| RawAccount {
                groups,
                lists,
                tokens,
                policies,
                apps,
                patterns,
            },
        )
}

fn rules(raw: &[RawRule], groups: usize, linked: bool) -> Vec<Condition> {
    raw.iter().map(|r| rule(*r, groups, linked)).collect()
}

pub fn build_account(raw: &RawAccount) -> AccountIr {
    let groups = raw
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| AccessGroupIr {
            id: format!("grp-{i}"),
            include: rules(&g.include, i, false),
            require: rules(&g.require, i, false),
            exclude: rules(&g.exclude, i, false),
        })
        .collect();
    let lists = raw
        .lists
        .iter()
        .enumerate()
        .map(|(i, items)| {
            let (kind, id, pool) = if i < 2 {
                (ListKind::Email, format!("list-email-{i}"), EMAILS)
            } else {
                (ListKind::Ip, format!("list-ip-{}", i - 2), RULE_NETS)
            };
            ListIr {
                id,
                kind,
                items: items.iter().map(|n| s(pool, *n)).collect(),
            }
        })
        .collect();
    let service_tokens = raw
        .tokens
        .iter()
        .enumerate()
        .map(|(i, (expires, _))| ServiceTokenIr {
            id: format!("st-{i}"),
            client_id: format!("client-{i}"),
            secret_sha256: hash_secret(&format!("secret-{i}")),
            expires_at: expires.then(expiry),
        })
        .collect();
    let group_count = raw.groups.len();
    let policies = raw
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let action = [
                PolicyAction::Allow,
                PolicyAction::Deny,
                PolicyAction::Bypass,
                PolicyAction::NonIdentity,
            ][p.action as usize % 4];
            let linked = action.runs_first();
            let obligations = Obligations {
                session_duration: (p.session % 3 != 0)
                    .then(|| ["8h", "30m"][p.session as usize % 2].into()),
                mfa: p.mfa.then(|| MfaObligation {
                    allowed_authenticators: vec!["totp".into()],
                    session_duration: None,
                }),
                isolation: p.isolation,
                ..Obligations::default()
            };
            AccessPolicyIr {
                id: format!("pol-{i}"),
                action,
                include: rules(&p.rules.include, group_count, linked),
                require: rules(&p.rules.require, group_count, linked),
                exclude: rules(&p.rules.exclude, group_count, linked),
                obligations,
            }
        })
        .collect::<Vec<_>>();
    let apps = raw
        .apps
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut refs: Vec<AppPolicyRef> = Vec::new();
            for (choice, precedence) in &a.policies {
                let policy_id = format!("pol-{}", *choice as usize % policies.len());
                if refs
                    .iter()
                    .any(|r| r.policy_id == policy_id || r.precedence == *precedence)
                {
                    continue;
                }
                refs.push(AppPolicyRef {
                    policy_id,
                    precedence: *precedence,
                });
            }
            AppIr {
                id: format!("app-{i}"),
                aud: None,
                destinations: raw
                    .patterns
                    .iter()
                    .enumerate()
                    .filter(|(_, owner)| **owner as usize % (raw.apps.len() + 1) == i)
                    .map(|(p, _)| PATTERNS[p].to_string())
                    .collect(),
                policies: refs,
                session_duration: a.session.then(|| "2h".into()),
            }
        })
        .collect();
    AccountIr {
        account_id: "acc".into(),
        groups,
        lists,
        service_tokens,
        policies,
        apps,
        ..AccountIr::default()
    }
}

/// Raw request: every part is an optional choice.
#[derive(Debug, Clone)]
pub struct RawRequest {
    resource: (u8, u8, u8),
    identity: Option<(u8, u8, u8, u8, u8, u8)>,
    token: Option<(u8, bool)>,
    certificate: Option<(bool, u8)>,
    linked: Option<u8>,
    network: (Option<u8>, Option<u8>),
    posture: Option<u8>,
    time: u8,
    external: u8,
}

pub fn raw_request() -> impl Strategy<Value = RawRequest> {
    (
        (0u8..10, any::<u8>(), any::<u8>()),
        proptest::option::weighted(
            0.75,
            (
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
            ),
        ),
        proptest::option::of((any::<u8>(), any::<bool>())),
        proptest::option::of((any::<bool>(), any::<u8>())),
        proptest::option::weighted(0.2, any::<u8>()),
        (
            proptest::option::weighted(0.8, any::<u8>()),
            proptest::option::weighted(0.8, any::<u8>()),
        ),
        proptest::option::of(any::<u8>()),
        0u8..3,
        any::<u8>(),
    )
        .prop_map(
            |(resource, identity, token, certificate, linked, network, posture, time, external)| {
                RawRequest {
                    resource,
                    identity,
                    token,
                    certificate,
                    linked,
                    network,
                    posture,
                    time,
                    external,
                }
            },
        )
}

/// Picks a subset of a pool by the bits of `mask`.
fn subset(pool: &[&str], mask: u8) -> Vec<String> {
    pool.iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, v)| v.to_string())
        .collect()
}

pub fn build_request(raw: &RawRequest, apps: usize) -> RequestContext {
    let (mode, a, b) = raw.resource;
    let resource = match mode {
        0 => None,
        1..=5 => Some(Resource {
            app_id: Some(if a % 16 == 0 {
                "app-missing".into()
            } else {
                format!("app-{}", a as usize % apps)
            }),
            ..Resource::default()
        }),
        _ => Some(Resource {
            host: Some(s(REQUEST_HOSTS, a)),
            path: (b % 5 != 0).then(|| s(REQUEST_PATHS, b)),
            ..Resource::default()
        }),
    };
    let identity = raw.identity.map(|(e, idp, groups, amr, misc, misc2)| {
        let mut claims = BTreeMap::new();
        match misc % 3 {
            0 => {}
            1 => {
                claims.insert("dept".into(), serde_json::json!(s(CLAIM_VALUES, misc2)));
            }
            _ => {
                claims.insert(
                    "dept".into(),
                    serde_json::json!(subset(CLAIM_VALUES, misc2)),
                );
            }
        }
        let mut saml = BTreeMap::new();
        if misc2 & 4 != 0 {
            saml.insert("role".into(), subset(SAML_VALUES, misc2 >> 3));
        }
        Identity {
            email: (e % 7 != 0).then(|| s(EMAILS, e)),
            idp: (idp % 4 != 0).then(|| IdentityProvider {
                id: Some(s(IDPS, idp)),
                kind: None,
            }),
            groups: subset(IDP_GROUPS, groups),
            github: (misc & 8 != 0)
                .then(|| GithubMembership {
                    org: s(ORGS, misc >> 4),
                    teams: subset(TEAMS, misc2 >> 5),
                })
                .into_iter()
                .collect(),
            amr: subset(AMRS, amr),
            claims,
            saml_attributes: saml,
            auth_contexts: subset(AUTH_CONTEXTS, groups >> 3),
            risk_level: (amr & 8 != 0).then(|| pick(RISK, amr >> 4)),
            ..Identity::default()
        }
    });
    let service_token = raw.token.map(|(n, right)| {
        // One client id in four is unknown to the account.
        let i = n as usize % (TOKEN_COUNT + 1);
        ServiceTokenCredentials {
            client_id: format!("client-{i}"),
            client_secret: if right {
                format!("secret-{i}")
            } else {
                format!("secret-{}", (i + 1) % TOKEN_COUNT)
            },
        }
    });
    let time = match raw.time {
        0 => None,
        1 => Some(expiry() - chrono::Duration::days(30)),
        _ => Some(expiry()),
    };
    let external = EXTERNAL_URLS
        .iter()
        .enumerate()
        .filter(|(i, _)| raw.external & (1 << (2 * i)) != 0)
        .map(|(i, url)| (url.to_string(), raw.external & (2 << (2 * i)) != 0))
        .collect();
    RequestContext {
        resource,
        identity,
        service_token,
        certificate: raw.certificate.map(|(verified, cn)| ClientCertificate {
            verified,
            common_name: (cn % 3 != 0).then(|| s(COMMON_NAMES, cn)),
        }),
        linked_app_token: raw.linked.map(|n| LinkedAppToken {
            app_uid: s(LINKED_APPS, n),
        }),
        network: match raw.network {
            (None, None) => None,
            (ip, country) => Some(Network {
                ip: ip.map(|n| s(REQUEST_IPS, n).parse().unwrap()),
                country: country.map(|n| s(REQUEST_COUNTRIES, n)),
                vpc: None,
            }),
        },
        device: raw.posture.map(|n| Device {
            posture_passed: subset(POSTURES, n),
            ..Device::default()
        }),
        time,
        external,
    }
}
