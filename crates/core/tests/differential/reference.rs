//! A reference evaluator for Cloudflare Access, written straight from the
//! "Cloudflare Access semantics" section of DESIGN.md: plain loops over the IR,
//! no indexes, no precomputation, nothing shared with the engine except the
//! IR and context types (and the secret hash, since the IR stores only that).

use portcullis_core::context::{RequestContext, RiskLevel};
use portcullis_core::decision::{Decision, Obligations};
use portcullis_core::ir::{AccessPolicyIr, AccountIr, AppIr, Condition, PolicyAction, Predicate};
use portcullis_core::service_token::hash_secret;

/// What the reference decides: decision, deciding policy, application, obligations.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub decision: Decision,
    pub policy_id: Option<String>,
    pub app_id: Option<String>,
    pub obligations: Obligations,
}

pub fn decide(account: &AccountIr, req: &RequestContext) -> Expected {
    let Some(app) = find_app(account, req) else {
        // No application → deny.
        return expected(Decision::Deny, None, None, Obligations::default());
    };
    let app_id = Some(app.id.clone());
    // Bypass and non_identity first, then allow / deny; each in precedence order.
    let mut first: Vec<(i64, &AccessPolicyIr)> = Vec::new();
    let mut second: Vec<(i64, &AccessPolicyIr)> = Vec::new();
    for r in &app.policies {
        let policy = account
            .policies
            .iter()
            .find(|p| p.id == r.policy_id)
            .unwrap();
        match policy.action {
            PolicyAction::Bypass | PolicyAction::NonIdentity => first.push((r.precedence, policy)),
            PolicyAction::Allow | PolicyAction::Deny => second.push((r.precedence, policy)),
        }
    }
    first.sort_by_key(|(p, _)| *p);
    second.sort_by_key(|(p, _)| *p);
    for (_, policy) in &first {
        if policy_matches(account, policy, req) {
            let decision = if policy.action == PolicyAction::Bypass {
                Decision::Bypass
            } else {
                Decision::NonIdentity
            };
            return expected(
                decision,
                Some(policy.id.clone()),
                app_id,
                granted_obligations(app, policy),
            );
        }
    }
    if req.identity.is_none() {
        return expected(
            Decision::LoginRequired,
            None,
            app_id,
            Obligations::default(),
        );
    }
    for (_, policy) in &second {
        if policy_matches(account, policy, req) {
            if policy.action == PolicyAction::Deny {
                return expected(
                    Decision::Deny,
                    Some(policy.id.clone()),
                    app_id,
                    Obligations::default(),
                );
            }
            let mfa_done = req
                .identity
                .as_ref()
                .is_some_and(|i| i.amr.contains(&"mfa".to_string()));
            if policy.obligations.mfa.is_some() && !mfa_done {
                let only_mfa = Obligations {
                    mfa: policy.obligations.mfa.clone(),
                    ..Obligations::default()
                };
                return expected(
                    Decision::MfaRequired,
                    Some(policy.id.clone()),
                    app_id,
                    only_mfa,
                );
            }
            return expected(
                Decision::Allow,
                Some(policy.id.clone()),
                app_id,
                granted_obligations(app, policy),
            );
        }
    }
    expected(Decision::Deny, None, app_id, Obligations::default())
}

/// A matching policy's obligations. Allow and non_identity start a session: its
/// duration is the policy's own, else the application's, else 24 hours.
fn granted_obligations(app: &AppIr, policy: &AccessPolicyIr) -> Obligations {
    let mut obligations = policy.obligations.clone();
    let starts_session = matches!(
        policy.action,
        PolicyAction::Allow | PolicyAction::NonIdentity
    );
    if starts_session && obligations.session_duration.is_none() {
        obligations.session_duration = Some(
            app.session_duration
                .clone()
                .unwrap_or_else(|| "24h".to_string()),
        );
    }
    obligations
}

fn expected(
    decision: Decision,
    policy_id: Option<String>,
    app_id: Option<String>,
    obligations: Obligations,
) -> Expected {
    Expected {
        decision,
        policy_id,
        app_id,
        obligations,
    }
}

/// At least one include, every require, no exclude; an empty include never matches.
fn rules_match(
    account: &AccountIr,
    include: &[Condition],
    require: &[Condition],
    exclude: &[Condition],
    req: &RequestContext,
) -> bool {
    let mut any_include = false;
    for c in include {
        if holds(account, c, req) {
            any_include = true;
        }
    }
    let mut all_require = true;
    for c in require {
        if !holds(account, c, req) {
            all_require = false;
        }
    }
    let mut no_exclude = true;
    for c in exclude {
        if holds(account, c, req) {
            no_exclude = false;
        }
    }
    any_include && all_require && no_exclude
}

fn policy_matches(account: &AccountIr, p: &AccessPolicyIr, req: &RequestContext) -> bool {
    rules_match(account, &p.include, &p.require, &p.exclude, req)
}

fn holds(account: &AccountIr, c: &Condition, req: &RequestContext) -> bool {
    match c {
        Condition::Const(b) => *b,
        Condition::Leaf(p) => leaf(account, p, req),
        other => panic!("Cloudflare rules lower to leaves only, got {other:?}"),
    }
}

fn email(req: &RequestContext) -> Option<String> {
    req.identity
        .as_ref()?
        .email
        .as_ref()
        .map(|e| e.to_lowercase())
}

fn idp_is(req: &RequestContext, want: &Option<String>) -> bool {
    match want {
        None => true,
        Some(want) => idp_id(req) == Some(want.as_str()),
    }
}

fn idp_id(req: &RequestContext) -> Option<&str> {
    req.identity.as_ref()?.idp.as_ref()?.id.as_deref()
}

/// The id of the account's service token the request presents, if valid:
/// known client id, right secret, not expired at the request's time.
fn valid_token(account: &AccountIr, req: &RequestContext) -> Option<String> {
    let creds = req.service_token.as_ref()?;
    for t in &account.service_tokens {
        if t.client_id == creds.client_id && t.secret_sha256 == hash_secret(&creds.client_secret) {
            let unexpired = match t.expires_at {
                None => true,
                Some(expires) => req.time.is_some_and(|now| now < expires),
            };
            return unexpired.then(|| t.id.clone());
        }
    }
    None
}

fn leaf(account: &AccountIr, p: &Predicate, req: &RequestContext) -> bool {
    let identity = req.identity.as_ref();
    let ip = req.network.as_ref().and_then(|n| n.ip);
    match p {
        Predicate::Everyone => true,
        Predicate::Email(e) => email(req) == Some(e.to_lowercase()),
        Predicate::EmailDomain(d) => {
            let d = d.strip_prefix('@').unwrap_or(d).to_lowercase();
            match email(req) {
                Some(e) => e.rsplit('@').next() == Some(d.as_str()),
                None => false,
            }
        }
        Predicate::EmailList(id) => {
            let list = account.lists.iter().find(|l| &l.id == id).unwrap();
            match email(req) {
                Some(e) => list.items.iter().any(|i| i.to_lowercase() == e),
                None => false,
            }
        }
        Predicate::IpIn(nets) => ip.is_some_and(|ip| nets.iter().any(|n| n.contains(&ip))),
        Predicate::IpList(id) => {
            let list = account.lists.iter().find(|l| &l.id == id).unwrap();
            ip.is_some_and(|ip| {
                list.items.iter().any(|i| {
                    portcullis_core::ip::parse_cidr_or_ip(i)
                        .unwrap()
                        .contains(&ip)
                })
            })
        }
        Predicate::Country(codes) => {
            let country = req.network.as_ref().and_then(|n| n.country.as_ref());
            country.is_some_and(|c| codes.iter().any(|code| code.eq_ignore_ascii_case(c)))
        }
        Predicate::Group(id) => {
            let g = account.groups.iter().find(|g| &g.id == id).unwrap();
            rules_match(account, &g.include, &g.require, &g.exclude, req)
        }
        Predicate::IdentityGroup { group, idp } => {
            idp_is(req, idp) && identity.is_some_and(|i| i.groups.contains(group))
        }
        Predicate::IdpIs(id) => idp_id(req) == Some(id.as_str()),
        Predicate::AuthMethod(m) => identity.is_some_and(|i| i.amr.contains(m)),
        Predicate::Saml {
            attribute,
            value,
            idp,
        } => {
            idp_is(req, idp)
                && identity
                    .and_then(|i| i.saml_attributes.get(attribute))
                    .is_some_and(|values| values.contains(value))
        }
        Predicate::OidcClaim { claim, value, idp } => {
            idp_is(req, idp)
                && match identity.and_then(|i| i.claims.get(claim)) {
                    Some(serde_json::Value::String(s)) => s == value,
                    Some(serde_json::Value::Array(items)) => {
                        items.iter().any(|i| i.as_str() == Some(value.as_str()))
                    }
                    _ => false,
                }
        }
        Predicate::Github { org, team, idp } => {
            // GitHub organisation and team names are case-insensitive.
            idp_is(req, idp)
                && identity.is_some_and(|i| {
                    i.github.iter().any(|m| {
                        m.org.to_lowercase() == org.to_lowercase()
                            && match team {
                                None => true,
                                Some(t) => m
                                    .teams
                                    .iter()
                                    .any(|mt| mt.to_lowercase() == t.to_lowercase()),
                            }
                    })
                })
        }
        Predicate::AuthContext { ac_id, idp } => {
            idp_is(req, idp) && identity.is_some_and(|i| i.auth_contexts.contains(ac_id))
        }
        Predicate::AnyValidServiceToken => valid_token(account, req).is_some(),
        Predicate::ServiceToken(id) => valid_token(account, req).as_ref() == Some(id),
        Predicate::Certificate => req.certificate.as_ref().is_some_and(|c| c.verified),
        Predicate::CommonName(cn) => req
            .certificate
            .as_ref()
            .is_some_and(|c| c.verified && c.common_name.as_ref() == Some(cn)),
        Predicate::DevicePosture(uid) => req
            .device
            .as_ref()
            .is_some_and(|d| d.posture_passed.contains(uid)),
        Predicate::LinkedAppToken(uid) => req
            .linked_app_token
            .as_ref()
            .is_some_and(|t| &t.app_uid == uid),
        Predicate::UserRiskScore(levels) => {
            let level = identity
                .and_then(|i| i.risk_level)
                .unwrap_or(RiskLevel::Unscored);
            levels.contains(&level)
        }
        Predicate::ExternalEvaluation { evaluate_url, .. } => {
            req.external.get(evaluate_url) == Some(&true)
        }
        other => panic!("not a Cloudflare rule: {other:?}"),
    }
}

/// By `resource.app_id`, or by host and path: the most specific destination wins
/// (an exact host before a wildcard one, then the longest path, then the
/// wildcard label with the most literal characters).
fn find_app<'a>(account: &'a AccountIr, req: &RequestContext) -> Option<&'a AppIr> {
    let resource = req.resource.as_ref()?;
    if let Some(id) = &resource.app_id {
        return account.apps.iter().find(|a| &a.id == id);
    }
    let host = resource.host.as_ref()?;
    let host = host.split(':').next().unwrap_or("").to_lowercase();
    let path = resource.path.clone().unwrap_or_default();
    let path = path.split('?').next().unwrap_or("").to_string();
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path
    };
    let mut best: Option<((bool, usize, usize), &AppIr)> = None;
    for app in &account.apps {
        for pattern in &app.destinations {
            if let Some(key) = pattern_matches(pattern, &host, &path) {
                if best.as_ref().is_none_or(|(k, _)| key > *k) {
                    best = Some((key, app));
                }
            }
        }
    }
    best.map(|(_, app)| app)
}

/// When `pattern` covers the request, its specificity.
fn pattern_matches(pattern: &str, host: &str, path: &str) -> Option<(bool, usize, usize)> {
    let (p_host, p_path) = match pattern.find('/') {
        Some(i) => (&pattern[..i], pattern[i..].trim_end_matches('/')),
        None => (pattern, ""),
    };
    let p_host = p_host.to_lowercase();
    let path_ok = p_path.is_empty() || path == p_path || path.starts_with(&format!("{p_path}/"));
    if !path_ok {
        return None;
    }
    let (p_first, p_rest) = p_host.split_once('.')?;
    if let Some((prefix, suffix)) = p_first.split_once('*') {
        let (first, rest) = host.split_once('.')?;
        let label_ok = first.len() >= prefix.len() + suffix.len()
            && first.starts_with(prefix)
            && first.ends_with(suffix)
            && !first.is_empty();
        (label_ok && rest == p_rest).then_some((false, p_path.len(), prefix.len() + suffix.len()))
    } else {
        (host == p_host).then_some((true, p_path.len(), 0))
    }
}
