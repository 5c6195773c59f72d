//! Compiled conditions: references resolved to indices, sets hashed, CIDRs merged
//! into ranges, time windows and CEL parsed.

use rustc_hash::{FxHashMap, FxHashSet};

use super::error::{CompileError, CompileErrorKind};
use crate::attribute::{json_value, AttrValue};
use crate::cel::CelProgram;
use crate::context::RiskLevel;
use crate::ip::CidrSet;
use crate::ir::{Comparator, Condition, DevicePolicyIr, ListKind, Operand, Predicate};
use crate::time_window::TimeWindow;

#[derive(Debug)]
pub(crate) enum Cond {
    Const(bool),
    All(Box<[Cond]>),
    Any(Box<[Cond]>),
    Not(Box<Cond>),
    Leaf(Leaf),
    Compare(Box<Compare>),
    Level(u32),
    Cel(Box<CompiledCel>),
    TimeWindow(Box<TimeWindow>),
}

/// Cloudflare include / require / exclude rules in one allocation: a policy's
/// rules are read together, and one slice is one cache miss where three boxes
/// were up to three.
#[derive(Debug)]
pub(crate) struct RuleSet {
    conds: Box<[Cond]>,
    require_at: u32,
    exclude_at: u32,
}

impl RuleSet {
    /// Every rule: include, then require, then exclude.
    pub fn all(&self) -> &[Cond] {
        &self.conds
    }

    pub fn include(&self) -> &[Cond] {
        &self.conds[..self.require_at as usize]
    }

    pub fn require(&self) -> &[Cond] {
        &self.conds[self.require_at as usize..self.exclude_at as usize]
    }

    pub fn exclude(&self) -> &[Cond] {
        &self.conds[self.exclude_at as usize..]
    }
}

#[derive(Debug)]
pub(crate) struct CompiledCel {
    pub program: CelProgram,
    /// Level index for each of `program.referenced_levels()`, in that order.
    pub levels: Box<[u32]>,
}

#[derive(Debug)]
pub(crate) struct Compare {
    pub left: CompiledOperand,
    pub comparator: Comparator,
    pub right: CompiledOperand,
}

#[derive(Debug)]
pub(crate) enum CompiledOperand {
    Attribute(crate::attribute::AttributePath),
    Constant(serde_json::Value),
    RepetitionItem,
}

impl CompiledOperand {
    pub fn constant(&self) -> Option<AttrValue<'_>> {
        match self {
            CompiledOperand::Constant(v) => Some(json_value(v)),
            _ => None,
        }
    }
}

/// Country codes are two ASCII letters; kept upper case.
pub(crate) type Country = [u8; 2];

pub(crate) fn country_code(text: &str) -> Option<Country> {
    match text.as_bytes() {
        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

#[derive(Debug)]
pub(crate) enum Leaf {
    Everyone,
    Email(Box<str>),
    EmailSet(Box<FxHashSet<Box<str>>>),
    EmailList(u32),
    EmailDomain(Box<str>),
    Ip(CidrSet),
    IpList(u32),
    Country(Box<[Country]>),
    /// A `geo` rule naming up to seven countries (most name one), kept inside
    /// the rule: no pointer to follow.
    FewCountries(FewCountries),
    Group(u32),
    IdentityGroup(Box<IdentityGroupRule>),
    UserId(Box<str>),
    Workload(Box<str>),
    IdpIs(Box<str>),
    AuthMethod(Box<str>),
    Saml(Box<SamlRule>),
    OidcClaim(Box<OidcClaimRule>),
    Github(Box<GithubRule>),
    AuthContext(Box<AuthContextRule>),
    AnyValidServiceToken,
    ServiceToken(u32),
    ServiceAccount(Box<str>),
    Certificate,
    CommonName(Box<str>),
    DevicePosture(Box<str>),
    LinkedAppToken(Box<str>),
    /// Bit per [`RiskLevel`].
    UserRiskScore(u8),
    External(Box<str>),
    ResourceAppId(Box<str>),
    ResourceHost(Box<str>),
    ResourcePort(Box<[u16]>),
    RiskScoreAtMost(u8),
    DevicePolicy(Box<DevicePolicyIr>),
    VpcNetwork(Box<VpcNetworkRule>),
}

// Rules with more than one field are boxed: a condition is then 24 bytes, and
// a policy's rules share cache lines instead of taking one each.
const _: () = assert!(std::mem::size_of::<Cond>() <= 24);

#[derive(Debug, Clone, Copy)]
pub(crate) struct FewCountries {
    len: u8,
    codes: [Country; 7],
}

impl FewCountries {
    fn new(codes: &[Country]) -> Option<FewCountries> {
        let mut few = FewCountries {
            len: u8::try_from(codes.len()).ok()?,
            codes: [[0; 2]; 7],
        };
        few.codes.get_mut(..codes.len())?.copy_from_slice(codes);
        Some(few)
    }

    pub fn codes(&self) -> &[Country] {
        &self.codes[..usize::from(self.len)]
    }
}

#[derive(Debug)]
pub(crate) struct IdentityGroupRule {
    pub group: Box<str>,
    pub idp: Option<Box<str>>,
}

#[derive(Debug)]
pub(crate) struct SamlRule {
    pub attribute: Box<str>,
    pub value: Box<str>,
    pub idp: Option<Box<str>>,
}

#[derive(Debug)]
pub(crate) struct OidcClaimRule {
    pub claim: Box<str>,
    pub value: Box<str>,
    pub idp: Option<Box<str>>,
}

#[derive(Debug)]
pub(crate) struct GithubRule {
    pub org: Box<str>,
    pub team: Option<Box<str>>,
    pub idp: Option<Box<str>>,
}

#[derive(Debug)]
pub(crate) struct AuthContextRule {
    pub ac_id: Box<str>,
    pub idp: Option<Box<str>>,
}

#[derive(Debug)]
pub(crate) struct VpcNetworkRule {
    pub network: Box<str>,
    pub ranges: CidrSet,
}

pub(crate) fn risk_bit(level: RiskLevel) -> u8 {
    match level {
        RiskLevel::Low => 1,
        RiskLevel::Medium => 2,
        RiskLevel::High => 4,
        RiskLevel::Unscored => 8,
    }
}

/// Lower-cases an email (or domain) the one way the evaluator also uses.
pub(crate) fn fold_email(text: &str) -> Box<str> {
    text.to_lowercase().into_boxed_str()
}

/// Id → index maps the conditions of one account resolve against.
pub(crate) struct Refs<'a> {
    pub groups: FxHashMap<&'a str, u32>,
    pub lists: FxHashMap<&'a str, (ListKind, u32)>,
    pub tokens: FxHashMap<&'a str, u32>,
    pub levels: FxHashMap<&'a str, u32>,
}

impl<'a> Refs<'a> {
    /// A resolver for the conditions of one object (named in error messages).
    pub fn resolver<'r>(&'r self, object: &'r str) -> Resolver<'r, 'a> {
        Resolver { refs: self, object }
    }
}

pub(crate) struct Resolver<'r, 'a> {
    refs: &'r Refs<'a>,
    object: &'r str,
}

impl Resolver<'_, '_> {
    fn dangling(&self, path: &str, what: &str, id: &str) -> CompileError {
        CompileError::new(
            CompileErrorKind::DanglingReference,
            self.object,
            path,
            format!("{what} {id:?} does not exist"),
        )
    }

    fn invalid(&self, path: &str, message: String) -> CompileError {
        CompileError::new(CompileErrorKind::InvalidValue, self.object, path, message)
    }

    /// Lowers Cloudflare include / require / exclude rules into one [`RuleSet`].
    pub fn lower_rules(
        &self,
        include: &[Condition],
        require: &[Condition],
        exclude: &[Condition],
    ) -> Result<RuleSet, CompileError> {
        let mut conds = Vec::with_capacity(include.len() + require.len() + exclude.len());
        for (rules, path) in [
            (include, "include"),
            (require, "require"),
            (exclude, "exclude"),
        ] {
            for (i, c) in rules.iter().enumerate() {
                conds.push(self.lower(c, &format!("{path}[{i}]"))?);
            }
        }
        Ok(RuleSet {
            conds: conds.into_boxed_slice(),
            // Rule counts come from wire arrays far below u32::MAX.
            require_at: include.len() as u32,
            exclude_at: (include.len() + require.len()) as u32,
        })
    }

    pub fn lower_all(&self, conds: &[Condition], path: &str) -> Result<Box<[Cond]>, CompileError> {
        conds
            .iter()
            .enumerate()
            .map(|(i, c)| self.lower(c, &format!("{path}[{i}]")))
            .collect()
    }

    pub fn lower(&self, cond: &Condition, path: &str) -> Result<Cond, CompileError> {
        Ok(match cond {
            Condition::Const(b) => Cond::Const(*b),
            Condition::All(items) => Cond::All(self.lower_all(items, &format!("{path}.all"))?),
            Condition::Any(items) => Cond::Any(self.lower_all(items, &format!("{path}.any"))?),
            Condition::Not(inner) => Cond::Not(Box::new(self.lower(inner, path)?)),
            Condition::Leaf(p) => Cond::Leaf(self.leaf(p, path)?),
            Condition::Compare {
                left,
                comparator,
                right,
            } => Cond::Compare(Box::new(Compare {
                left: operand(left),
                comparator: *comparator,
                right: operand(right),
            })),
            Condition::AccessLevel(name) => Cond::Level(
                *self
                    .refs
                    .levels
                    .get(name.as_str())
                    .ok_or_else(|| self.dangling(path, "access level", name))?,
            ),
            Condition::Cel(cel) => {
                let program = CelProgram::compile(&cel.expr)
                    .map_err(|e| self.invalid(path, format!("CEL expression {e}")))?;
                let levels = program
                    .referenced_levels()
                    .iter()
                    .map(|short| {
                        let full = format!("{}{short}", cel.level_scope);
                        self.refs
                            .levels
                            .get(full.as_str())
                            .copied()
                            .ok_or_else(|| self.dangling(path, "access level", &full))
                    })
                    .collect::<Result<Box<[u32]>, _>>()?;
                Cond::Cel(Box::new(CompiledCel { program, levels }))
            }
            Condition::TimeWindow(text) => Cond::TimeWindow(Box::new(
                TimeWindow::parse(text)
                    .map_err(|e| self.invalid(path, format!("time_window {e}")))?,
            )),
        })
    }

    fn leaf(&self, p: &Predicate, path: &str) -> Result<Leaf, CompileError> {
        let b = |s: &str| -> Box<str> { s.into() };
        let ob = |s: &Option<String>| s.as_deref().map(b);
        Ok(match p {
            Predicate::Everyone => Leaf::Everyone,
            Predicate::Email(e) => Leaf::Email(fold_email(e)),
            Predicate::EmailIn(list) => {
                Leaf::EmailSet(Box::new(list.iter().map(|e| fold_email(e)).collect()))
            }
            Predicate::EmailList(id) => match self.refs.lists.get(id.as_str()) {
                Some((ListKind::Email, idx)) => Leaf::EmailList(*idx),
                Some((ListKind::Ip, _)) => {
                    return Err(self.invalid(
                        &format!("{path}.email_list.id"),
                        format!("list {id:?} is an IP list, not an EMAIL list"),
                    ))
                }
                None => return Err(self.dangling(&format!("{path}.email_list.id"), "list", id)),
            },
            Predicate::EmailDomain(d) => {
                Leaf::EmailDomain(fold_email(d.strip_prefix('@').unwrap_or(d)))
            }
            Predicate::IpIn(nets) => Leaf::Ip(CidrSet::from_nets(nets.iter().copied())),
            Predicate::IpList(id) => match self.refs.lists.get(id.as_str()) {
                Some((ListKind::Ip, idx)) => Leaf::IpList(*idx),
                Some((ListKind::Email, _)) => {
                    return Err(self.invalid(
                        &format!("{path}.ip_list.id"),
                        format!("list {id:?} is an EMAIL list, not an IP list"),
                    ))
                }
                None => return Err(self.dangling(&format!("{path}.ip_list.id"), "list", id)),
            },
            Predicate::Country(codes) => {
                let codes = codes
                    .iter()
                    .map(|c| {
                        country_code(c).ok_or_else(|| {
                            self.invalid(
                                path,
                                format!("{c:?} is not an ISO 3166-1 alpha-2 country code"),
                            )
                        })
                    })
                    .collect::<Result<Vec<Country>, _>>()?;
                match FewCountries::new(&codes) {
                    Some(few) => Leaf::FewCountries(few),
                    None => Leaf::Country(codes.into()),
                }
            }
            Predicate::Group(id) => {
                Leaf::Group(*self.refs.groups.get(id.as_str()).ok_or_else(|| {
                    self.dangling(&format!("{path}.group.id"), "Access group", id)
                })?)
            }
            Predicate::IdentityGroup { group, idp } => {
                Leaf::IdentityGroup(Box::new(IdentityGroupRule {
                    group: b(group),
                    idp: ob(idp),
                }))
            }
            Predicate::UserId(u) => Leaf::UserId(b(u)),
            Predicate::Workload(w) => Leaf::Workload(b(w)),
            Predicate::IdpIs(i) => Leaf::IdpIs(b(i)),
            Predicate::AuthMethod(m) => Leaf::AuthMethod(b(m)),
            Predicate::Saml {
                attribute,
                value,
                idp,
            } => Leaf::Saml(Box::new(SamlRule {
                attribute: b(attribute),
                value: b(value),
                idp: ob(idp),
            })),
            Predicate::OidcClaim { claim, value, idp } => {
                Leaf::OidcClaim(Box::new(OidcClaimRule {
                    claim: b(claim),
                    value: b(value),
                    idp: ob(idp),
                }))
            }
            Predicate::Github { org, team, idp } => Leaf::Github(Box::new(GithubRule {
                org: b(org),
                team: ob(team),
                idp: ob(idp),
            })),
            Predicate::AuthContext { ac_id, idp } => Leaf::AuthContext(Box::new(AuthContextRule {
                ac_id: b(ac_id),
                idp: ob(idp),
            })),
            Predicate::AnyValidServiceToken => Leaf::AnyValidServiceToken,
            Predicate::ServiceToken(id) => {
                Leaf::ServiceToken(*self.refs.tokens.get(id.as_str()).ok_or_else(|| {
                    self.dangling(
                        &format!("{path}.service_token.token_id"),
                        "service token",
                        id,
                    )
                })?)
            }
            Predicate::ServiceAccount(client_id) => Leaf::ServiceAccount(b(client_id)),
            Predicate::Certificate => Leaf::Certificate,
            Predicate::CommonName(cn) => Leaf::CommonName(b(cn)),
            Predicate::DevicePosture(uid) => Leaf::DevicePosture(b(uid)),
            Predicate::LinkedAppToken(uid) => Leaf::LinkedAppToken(b(uid)),
            Predicate::UserRiskScore(levels) => {
                Leaf::UserRiskScore(levels.iter().fold(0, |acc, l| acc | risk_bit(*l)))
            }
            Predicate::ExternalEvaluation { evaluate_url, .. } => Leaf::External(b(evaluate_url)),
            Predicate::ResourceAppId(id) => Leaf::ResourceAppId(b(id)),
            Predicate::ResourceHost(h) => Leaf::ResourceHost(h.to_ascii_lowercase().into()),
            Predicate::ResourcePort(ports) => Leaf::ResourcePort(ports.clone().into()),
            Predicate::RiskScoreAtMost(max) => Leaf::RiskScoreAtMost(*max),
            Predicate::DevicePolicy(policy) => Leaf::DevicePolicy(Box::new(policy.clone())),
            Predicate::VpcNetwork { network, ranges } => {
                Leaf::VpcNetwork(Box::new(VpcNetworkRule {
                    network: b(network),
                    ranges: CidrSet::from_nets(ranges.iter().copied()),
                }))
            }
        })
    }
}

fn operand(op: &Operand) -> CompiledOperand {
    match op {
        Operand::Attribute(path) => CompiledOperand::Attribute(path.clone()),
        Operand::Constant(v) => CompiledOperand::Constant(v.clone()),
        Operand::RepetitionItem => CompiledOperand::RepetitionItem,
    }
}

/// Calls `f` on every id a condition refers to through `Group` leaves.
pub(crate) fn visit_group_refs<'a>(cond: &'a Condition, f: &mut impl FnMut(&'a str)) {
    match cond {
        Condition::All(items) | Condition::Any(items) => {
            items.iter().for_each(|c| visit_group_refs(c, f))
        }
        Condition::Not(inner) => visit_group_refs(inner, f),
        Condition::Leaf(Predicate::Group(id)) => f(id),
        _ => {}
    }
}

/// Calls `f` on every access level a condition refers to, directly or from CEL.
pub(crate) fn visit_level_refs(cond: &Condition, f: &mut impl FnMut(String)) {
    match cond {
        Condition::All(items) | Condition::Any(items) => {
            items.iter().for_each(|c| visit_level_refs(c, f))
        }
        Condition::Not(inner) => visit_level_refs(inner, f),
        Condition::AccessLevel(name) => f(name.clone()),
        Condition::Cel(cel) => {
            // A CEL program that does not compile is reported by `lower`.
            if let Ok(program) = CelProgram::compile(&cel.expr) {
                for short in program.referenced_levels() {
                    f(format!("{}{short}", cel.level_scope));
                }
            }
        }
        _ => {}
    }
}

/// Whether a condition contains a `linked_app_token` leaf.
pub(crate) fn uses_linked_app_token(cond: &Condition) -> bool {
    match cond {
        Condition::All(items) | Condition::Any(items) => items.iter().any(uses_linked_app_token),
        Condition::Not(inner) => uses_linked_app_token(inner),
        Condition::Leaf(Predicate::LinkedAppToken(_)) => true,
        _ => false,
    }
}
