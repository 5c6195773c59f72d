//! Per-request evaluation state and the leaves.
//!
//! The request is normalised once (email lower-cased, country upper-cased) and a
//! presented service token is checked at most once, lazily; nothing here allocates
//! unless the email carries upper-case letters or more than 64 access levels are
//! evaluated.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};

use crate::attribute::AttrValue;
use crate::compile::{
    country_code, risk_bit, CompiledAccount, CompiledList, Cond, Country, Leaf, RuleSet,
};
use crate::context::{Device, RequestContext, RiskLevel};
use crate::ir::DevicePolicyIr;
use crate::service_token::secret_matches;

/// Three-valued logic: PingOne comparisons can be INDETERMINATE, and CEL or time
/// windows cannot be evaluated without the attributes they need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tri {
    True,
    False,
    Unknown,
}

impl From<bool> for Tri {
    fn from(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }
}

impl Tri {
    pub fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }

    pub fn is_true(self) -> bool {
        self == Tri::True
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LevelState {
    Unknown,
    InProgress,
    Granted,
    NotGranted,
}

/// How a set of include / require / exclude rules turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RulesOutcome {
    /// Matched; the index of the include rule that matched.
    Matched(usize),
    IncludeEmpty,
    NoIncludeMatched,
    RequireFailed(usize),
    Excluded(usize),
}

impl RulesOutcome {
    pub fn matched(self) -> bool {
        matches!(self, RulesOutcome::Matched(_))
    }
}

/// `'s` is the snapshot's lifetime, `'r` the request's.
pub(crate) struct Eval<'s, 'r> {
    pub acct: &'s CompiledAccount,
    pub req: &'r RequestContext,
    email: Option<Cow<'r, str>>,
    country: Option<Country>,
    /// `None`: not checked yet; `Some(None)`: no valid token.
    token: Cell<Option<Option<u32>>>,
    /// Access levels of the first 64: known, granted and in-progress bits (no
    /// allocation); the others in `levels`.
    level_bits: Cell<[u64; 3]>,
    levels: RefCell<Vec<LevelState>>,
    /// The current item of the innermost repeating PingOne policy.
    pub item: Cell<Option<AttrValue<'r>>>,
}

impl<'s, 'r> Eval<'s, 'r> {
    pub fn new(acct: &'s CompiledAccount, req: &'r RequestContext) -> Eval<'s, 'r> {
        let email = req
            .identity
            .as_ref()
            .and_then(|i| i.email.as_deref())
            .map(|e| {
                // Almost every address is ASCII: check its bytes, and take the
                // Unicode path only for the rest.
                // One pass without early exit, which vectorises.
                let (upper, non_ascii) = e.bytes().fold((false, false), |(u, n), b| {
                    (u | b.is_ascii_uppercase(), n | !b.is_ascii())
                });
                let lower = if non_ascii {
                    !e.chars().any(char::is_uppercase)
                } else {
                    !upper
                };
                if lower {
                    Cow::Borrowed(e)
                } else {
                    Cow::Owned(e.to_lowercase())
                }
            });
        let country = req
            .network
            .as_ref()
            .and_then(|n| n.country.as_deref())
            .and_then(country_code);
        Eval {
            acct,
            req,
            email,
            country,
            token: Cell::new(None),
            level_bits: Cell::new([0; 3]),
            levels: RefCell::new(Vec::new()),
            item: Cell::new(None),
        }
    }

    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    pub fn country(&self) -> Option<Country> {
        self.country
    }

    /// The index of the presented service token, if it is valid: known client id,
    /// matching secret, not expired at the request's time.
    pub fn valid_token(&self) -> Option<u32> {
        if let Some(known) = self.token.get() {
            return known;
        }
        let found = self.req.service_token.as_ref().and_then(|creds| {
            let idx = *self.acct.token_by_client_id.get(creds.client_id.as_str())?;
            let token = &self.acct.tokens[idx as usize];
            if !secret_matches(&creds.client_secret, &token.secret_sha256) {
                return None;
            }
            match (token.expires_at, self.req.time) {
                (None, _) => Some(idx),
                (Some(expires), Some(now)) if now < expires => Some(idx),
                // An expiring token without a request time cannot be checked.
                _ => None,
            }
        });
        self.token.set(Some(found));
        found
    }

    pub fn cond(&self, c: &Cond) -> Tri {
        match c {
            Cond::Const(b) => Tri::from(*b),
            Cond::All(items) => {
                let mut unknown = false;
                for item in items.iter() {
                    match self.cond(item) {
                        Tri::False => return Tri::False,
                        Tri::Unknown => unknown = true,
                        Tri::True => {}
                    }
                }
                if unknown {
                    Tri::Unknown
                } else {
                    Tri::True
                }
            }
            Cond::Any(items) => {
                let mut unknown = false;
                for item in items.iter() {
                    match self.cond(item) {
                        Tri::True => return Tri::True,
                        Tri::Unknown => unknown = true,
                        Tri::False => {}
                    }
                }
                if unknown {
                    Tri::Unknown
                } else {
                    Tri::False
                }
            }
            Cond::Not(inner) => self.cond(inner).not(),
            Cond::Leaf(leaf) => Tri::from(self.leaf(leaf)),
            Cond::Compare(cmp) => super::compare::compare(self, cmp),
            Cond::Level(idx) => Tri::from(self.level_granted(*idx)),
            Cond::Cel(cel) => {
                let result = cel.program.evaluate(self.req, |short| {
                    cel.program
                        .referenced_levels()
                        .iter()
                        .position(|n| n == short)
                        .is_some_and(|i| self.level_granted(cel.levels[i]))
                });
                match result {
                    Ok(b) => Tri::from(b),
                    Err(_) => Tri::Unknown,
                }
            }
            Cond::TimeWindow(window) => match self.req.time {
                Some(t) => Tri::from(window.contains(t)),
                None => Tri::Unknown,
            },
        }
    }

    /// Cloudflare semantics: at least one include, every require, no exclude.
    /// A rule that cannot be evaluated counts against the request.
    pub fn rules(&self, rules: &RuleSet) -> RulesOutcome {
        let (include, require, exclude) = (rules.include(), rules.require(), rules.exclude());
        if include.is_empty() {
            return RulesOutcome::IncludeEmpty;
        }
        let Some(matched) = include.iter().position(|c| self.cond(c).is_true()) else {
            return RulesOutcome::NoIncludeMatched;
        };
        if let Some(i) = require.iter().position(|c| !self.cond(c).is_true()) {
            return RulesOutcome::RequireFailed(i);
        }
        if let Some(i) = exclude.iter().position(|c| self.cond(c) != Tri::False) {
            return RulesOutcome::Excluded(i);
        }
        RulesOutcome::Matched(matched)
    }

    pub fn level_granted(&self, idx: u32) -> bool {
        if idx < 64 {
            let bit = 1u64 << idx;
            let [known, granted, active] = self.level_bits.get();
            if known & bit != 0 {
                return granted & bit != 0;
            }
            if active & bit != 0 {
                // A cycle, which compilation refuses; deny anyway.
                return false;
            }
            self.level_bits.set([known, granted, active | bit]);
            let yes = self
                .cond(&self.acct.levels[idx as usize].condition)
                .is_true();
            let [known, granted, active] = self.level_bits.get();
            self.level_bits.set([
                known | bit,
                if yes { granted | bit } else { granted },
                active & !bit,
            ]);
            return yes;
        }
        let i = idx as usize;
        let state = {
            let mut states = self.levels.borrow_mut();
            if states.is_empty() {
                states.resize(self.acct.levels.len(), LevelState::Unknown);
            }
            let state = states[i];
            if state == LevelState::Unknown {
                states[i] = LevelState::InProgress;
            }
            state
        };
        match state {
            LevelState::Granted => return true,
            // In progress means a cycle, which compilation refuses; deny anyway.
            LevelState::NotGranted | LevelState::InProgress => return false,
            LevelState::Unknown => {}
        }
        let granted = self.cond(&self.acct.levels[i].condition).is_true();
        self.levels.borrow_mut()[i] = if granted {
            LevelState::Granted
        } else {
            LevelState::NotGranted
        };
        granted
    }

    fn idp_is(&self, idp: &Option<Box<str>>) -> bool {
        match idp {
            None => true,
            Some(want) => self.idp_id() == Some(&**want),
        }
    }

    pub fn idp_id(&self) -> Option<&'r str> {
        self.req
            .identity
            .as_ref()
            .and_then(|i| i.idp.as_ref())
            .and_then(|p| p.id.as_deref())
    }

    pub fn leaf(&self, leaf: &Leaf) -> bool {
        let req = self.req;
        let identity = req.identity.as_ref();
        match leaf {
            Leaf::Everyone => true,
            Leaf::Email(e) => self.email() == Some(&**e),
            Leaf::EmailSet(set) => self.email().is_some_and(|e| set.contains(e)),
            Leaf::EmailList(idx) => match (&self.acct.lists[*idx as usize], self.email()) {
                (CompiledList::Email(set), Some(e)) => set.contains(e),
                _ => false,
            },
            Leaf::EmailDomain(d) => self.email().is_some_and(|e| email_in_domain(e, d)),
            Leaf::Ip(set) => self.ip().is_some_and(|ip| set.contains(ip)),
            Leaf::IpList(idx) => match (&self.acct.lists[*idx as usize], self.ip()) {
                (CompiledList::Ip(set), Some(ip)) => set.contains(ip),
                _ => false,
            },
            Leaf::Country(codes) => self.country.is_some_and(|c| codes.contains(&c)),
            Leaf::FewCountries(few) => self.country.is_some_and(|c| few.codes().contains(&c)),
            Leaf::Group(idx) => {
                let g = &self.acct.groups[*idx as usize];
                self.rules(&g.rules).matched()
            }
            Leaf::IdentityGroup(rule) => {
                self.idp_is(&rule.idp)
                    && identity.is_some_and(|i| i.groups.iter().any(|g| *g == *rule.group))
            }
            Leaf::UserId(u) => identity.and_then(|i| i.user_id.as_deref()) == Some(&**u),
            Leaf::Workload(w) => identity.and_then(|i| i.workload.as_deref()) == Some(&**w),
            Leaf::IdpIs(id) => self.idp_id() == Some(&**id),
            Leaf::AuthMethod(m) => identity.is_some_and(|i| i.amr.iter().any(|a| a == &**m)),
            Leaf::Saml(rule) => {
                self.idp_is(&rule.idp)
                    && identity
                        .and_then(|i| i.saml_attributes.get(&*rule.attribute))
                        .is_some_and(|values| values.iter().any(|v| *v == *rule.value))
            }
            Leaf::OidcClaim(rule) => {
                self.idp_is(&rule.idp)
                    && identity
                        .and_then(|i| i.claims.get(&*rule.claim))
                        .is_some_and(|c| claim_matches(c, &rule.value))
            }
            Leaf::Github(rule) => {
                let (org, team) = (&rule.org, &rule.team);
                self.idp_is(&rule.idp)
                    && identity.is_some_and(|i| {
                        i.github.iter().any(|m| {
                            // GitHub organisation and team names are case-insensitive.
                            m.org.eq_ignore_ascii_case(org)
                                && team.as_ref().is_none_or(|t| {
                                    m.teams.iter().any(|mt| mt.eq_ignore_ascii_case(t))
                                })
                        })
                    })
            }
            Leaf::AuthContext(rule) => {
                self.idp_is(&rule.idp)
                    && identity.is_some_and(|i| i.auth_contexts.iter().any(|c| *c == *rule.ac_id))
            }
            Leaf::AnyValidServiceToken => self.valid_token().is_some(),
            Leaf::ServiceToken(idx) => self.valid_token() == Some(*idx),
            Leaf::ServiceAccount(client_id) => {
                self.valid_token().is_some()
                    && req
                        .service_token
                        .as_ref()
                        .is_some_and(|t| t.client_id == **client_id)
            }
            Leaf::Certificate => req.certificate.as_ref().is_some_and(|c| c.verified),
            Leaf::CommonName(cn) => req
                .certificate
                .as_ref()
                .is_some_and(|c| c.verified && c.common_name.as_deref() == Some(&**cn)),
            Leaf::DevicePosture(uid) => req
                .device
                .as_ref()
                .is_some_and(|d| d.posture_passed.iter().any(|p| p == &**uid)),
            Leaf::LinkedAppToken(uid) => req
                .linked_app_token
                .as_ref()
                .is_some_and(|t| t.app_uid == **uid),
            Leaf::UserRiskScore(mask) => {
                let level = identity
                    .and_then(|i| i.risk_level)
                    .unwrap_or(RiskLevel::Unscored);
                mask & risk_bit(level) != 0
            }
            Leaf::External(url) => req.external.get(&**url) == Some(&true),
            Leaf::ResourceAppId(id) => {
                req.resource.as_ref().and_then(|r| r.app_id.as_deref()) == Some(&**id)
            }
            Leaf::ResourceHost(host) => req
                .resource
                .as_ref()
                .and_then(|r| r.host.as_deref())
                .is_some_and(|h| crate::apps::normalize_host(h) == **host),
            Leaf::ResourcePort(ports) => req
                .resource
                .as_ref()
                .and_then(|r| r.port)
                .is_some_and(|p| ports.contains(&p)),
            Leaf::RiskScoreAtMost(max) => identity
                .and_then(|i| i.risk_score)
                .is_some_and(|s| s <= *max),
            Leaf::DevicePolicy(policy) => req
                .device
                .as_ref()
                .is_some_and(|d| device_policy_holds(policy, d)),
            Leaf::VpcNetwork(rule) => req
                .network
                .as_ref()
                .and_then(|n| n.vpc.as_ref())
                .is_some_and(|vpc| {
                    vpc.network == *rule.network
                        && (rule.ranges.is_empty()
                            || vpc.ip.is_some_and(|ip| rule.ranges.contains(ip)))
                }),
        }
    }

    pub fn ip(&self) -> Option<std::net::IpAddr> {
        self.req.network.as_ref().and_then(|n| n.ip)
    }
}

/// Whether the part of `email` after its last `@` is `domain`. Compares the tail
/// first: that rejects most addresses without searching for the `@`.
fn email_in_domain(email: &str, domain: &str) -> bool {
    email.len() > domain.len()
        && email.ends_with(domain)
        && email.as_bytes()[email.len() - domain.len() - 1] == b'@'
        && !domain.contains('@')
}

/// OIDC: a string claim matches by equality, an array claim by membership.
fn claim_matches(claim: &serde_json::Value, value: &str) -> bool {
    match claim {
        serde_json::Value::String(s) => s == value,
        serde_json::Value::Array(items) => items.iter().any(|i| claim_matches(i, value)),
        serde_json::Value::Bool(b) => value == if *b { "true" } else { "false" },
        serde_json::Value::Number(n) => n.to_string() == value,
        _ => false,
    }
}

/// ACM DevicePolicy: an AND over the fields that are set, each list an OR.
pub(crate) fn device_policy_holds(policy: &DevicePolicyIr, device: &Device) -> bool {
    let in_list = |list: &[String], value: &Option<String>| {
        list.is_empty() || value.as_ref().is_some_and(|v| list.iter().any(|l| l == v))
    };
    (!policy.require_screenlock || device.screenlock == Some(true))
        && in_list(
            &policy.allowed_encryption_statuses,
            &device.encryption_status,
        )
        && in_list(
            &policy.allowed_device_management_levels,
            &device.management_level,
        )
        && (!policy.require_admin_approval || device.admin_approved == Some(true))
        && (!policy.require_corp_owned || device.corp_owned == Some(true))
        && (policy.os_constraints.is_empty()
            || policy.os_constraints.iter().any(|c| {
                device.os_type.as_deref() == Some(c.os_type.as_str())
                    && c.minimum_version.as_ref().is_none_or(|min| {
                        device
                            .os_version
                            .as_deref()
                            .is_some_and(|v| version_at_least(v, min))
                    })
                    && (!c.require_verified_chrome_os || device.verified_chrome_os == Some(true))
            }))
}

/// Compares dotted version numbers (`14.2.0` ≥ `14.1`); missing parts are 0.
/// A part that is not a number makes the comparison fail.
pub(crate) fn version_at_least(version: &str, minimum: &str) -> bool {
    // Walks both part lists together, without collecting them: the first
    // differing part decides, but every part must still be a number.
    let part = |p: Option<&str>| p.map_or(Some(0u64), |p| p.parse().ok());
    let (mut v, mut m) = (version.split('.'), minimum.split('.'));
    let mut decided = None;
    loop {
        let (a, b) = (v.next(), m.next());
        if a.is_none() && b.is_none() {
            return decided.unwrap_or(true);
        }
        let (Some(a), Some(b)) = (part(a), part(b)) else {
            return false;
        };
        if decided.is_none() && a != b {
            decided = Some(a > b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{email_in_domain, version_at_least};
    use crate::context::{Identity, Network, Resource};
    use crate::decision::Decision;
    use crate::ir::{
        AccessPolicyIr, AccountIr, AppIr, AppPolicyRef, Condition, PolicyAction, Predicate,
    };
    use crate::{CompiledAccount, RequestContext};

    /// The decision of an app allowing `include` for a request from `country`.
    fn decide_from(include: Predicate, country: &str) -> Decision {
        let ir = AccountIr {
            account_id: "acc".into(),
            policies: vec![AccessPolicyIr {
                id: "p".into(),
                action: PolicyAction::Allow,
                include: vec![Condition::Leaf(include)],
                require: Vec::new(),
                exclude: Vec::new(),
                obligations: Default::default(),
            }],
            apps: vec![AppIr {
                id: "app".into(),
                aud: None,
                destinations: Vec::new(),
                policies: vec![AppPolicyRef {
                    policy_id: "p".into(),
                    precedence: 1,
                }],
                session_duration: None,
            }],
            ..AccountIr::default()
        };
        let req = RequestContext {
            resource: Some(Resource {
                app_id: Some("app".into()),
                ..Resource::default()
            }),
            identity: Some(Identity {
                email: Some("a@example.com".into()),
                ..Identity::default()
            }),
            network: Some(Network {
                country: Some(country.into()),
                ..Network::default()
            }),
            ..RequestContext::default()
        };
        let account = CompiledAccount::compile(&ir).unwrap();
        account.evaluate(&req, Default::default()).decision
    }

    #[test]
    fn geo_rules_of_any_size_match_their_countries_only() {
        let codes = ["US", "DE", "FR", "GB", "JP", "BR", "IN", "CA", "AU", "NL"];
        for n in [0, 1, 7, 8, 10] {
            let rule = || Predicate::Country(codes[..n].iter().map(|c| c.to_string()).collect());
            for (i, code) in codes.iter().enumerate() {
                let want = if i < n {
                    Decision::Allow
                } else {
                    Decision::Deny
                };
                assert_eq!(decide_from(rule(), code), want, "{n} codes, {code}");
                let lower = code.to_ascii_lowercase();
                assert_eq!(decide_from(rule(), &lower), want, "{n} codes, {lower}");
            }
            assert_eq!(decide_from(rule(), "KP"), Decision::Deny);
        }
    }

    #[test]
    fn email_domain_is_the_part_after_the_last_at() {
        assert!(email_in_domain("a@example.com", "example.com"));
        assert!(!email_in_domain("a@sub.example.com", "example.com"));
        assert!(!email_in_domain("a@badexample.com", "example.com"));
        assert!(!email_in_domain("example.com", "example.com"));
        assert!(!email_in_domain("@example.com", "@example.com"));
        assert!(email_in_domain("a@b@example.com", "example.com"));
    }

    #[test]
    fn compares_dotted_versions() {
        assert!(version_at_least("14.2.0", "14.1"));
        assert!(version_at_least("14.1", "14.1.0"));
        assert!(!version_at_least("13.9.9", "14"));
        assert!(version_at_least("10.0.19045", "10.0.19044"));
        assert!(!version_at_least("14.beta", "14"));
        assert!(!version_at_least("15.0", "14.x"));
        assert!(!version_at_least("15.", "14"));
        assert!(!version_at_least("", "14"));
        assert!(version_at_least("14.0.0.0", "14"));
        assert!(!version_at_least("13.10", "13.10.1"));
    }
}
