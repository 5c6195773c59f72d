//! Compiling one account's IR into the immutable form the evaluator runs on.
//!
//! Compilation resolves every reference (groups, lists, tokens, levels, PingOne
//! children) to an index, refuses dangling references and reference cycles,
//! hashes email sets, merges CIDRs into ranges, orders each application's
//! policies the way Cloudflare evaluates them and indexes applications by host.

mod cond;
mod error;
mod ztna_index;

use std::collections::hash_map::Entry;

use chrono::{DateTime, Utc};
use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

pub(crate) use cond::{
    country_code, fold_email, risk_bit, Compare, CompiledOperand, Cond, Country, Leaf, RuleSet,
};
pub use error::{CompileError, CompileErrorKind};
pub(crate) use ztna_index::ZtnaIndex;

use crate::apps::{AppIndex, Destination};
use crate::attribute::AttributePath;
use crate::decision::{AuthorizeDecision, Obligations, DEFAULT_SESSION_DURATION};
use crate::ip::{parse_cidr_or_ip, CidrSet};
use crate::ir::{
    AccountIr, AuthorizeChildIr, AuthorizePolicyIr, CombiningAlgorithm, ListKind, PolicyAction,
    RuleEffect, StatementIr, ZtnaEffect,
};
use cond::Refs;

/// One account, compiled. Immutable; shared by every decision that reads it.
#[derive(Debug)]
pub struct CompiledAccount {
    pub(crate) account_id: Box<str>,
    pub(crate) groups: Vec<CompiledGroup>,
    pub(crate) lists: Vec<CompiledList>,
    pub(crate) tokens: Vec<CompiledToken>,
    pub(crate) token_by_client_id: FxHashMap<Box<str>, u32>,
    pub(crate) policies: Vec<CompiledPolicy>,
    pub(crate) apps: Vec<CompiledApp>,
    pub(crate) app_by_id: FxHashMap<Box<str>, u32>,
    pub(crate) app_index: AppIndex<u32>,
    /// Every parsed destination and its app, for the server-wide host index.
    pub(crate) destinations: Vec<(Destination, u32)>,
    pub(crate) ztna: Vec<CompiledZtna>,
    pub(crate) ztna_index: ZtnaIndex,
    pub(crate) authorize_nodes: Vec<AuthorizeNode>,
    pub(crate) authorize_roots: FxHashMap<Box<str>, u32>,
    /// Decision endpoint id → the id of the top-level policy it evaluates.
    pub(crate) decision_endpoints: FxHashMap<Box<str>, Box<str>>,
    pub(crate) levels: Vec<CompiledLevel>,
}

#[derive(Debug)]
pub(crate) struct CompiledGroup {
    pub id: Box<str>,
    pub rules: RuleSet,
}

#[derive(Debug)]
pub(crate) enum CompiledList {
    Email(FxHashSet<Box<str>>),
    Ip(CidrSet),
}

#[derive(Debug)]
pub(crate) struct CompiledToken {
    pub secret_sha256: [u8; 32],
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug)]
pub(crate) struct CompiledPolicy {
    pub id: Box<str>,
    pub action: PolicyAction,
    pub rules: RuleSet,
    /// Boxed: read only when the policy matches, and without it a policy is one
    /// cache line instead of four, which is what the evaluation loop walks.
    pub obligations: Box<Obligations>,
}

/// An application and its policies in evaluation order.
#[derive(Debug)]
pub struct CompiledApp {
    pub(crate) id: Box<str>,
    pub(crate) aud: Option<Box<str>>,
    /// Policy indices: bypass / non_identity first, then allow / deny, each group
    /// by ascending precedence. Kept inline for the few policies most
    /// applications have: one cache miss fewer per decision.
    pub(crate) policies: SmallVec<[u32; 4]>,
    /// How many of `policies` belong to the first phase.
    pub(crate) first_phase: usize,
    /// Obligations of policies that take this application's session duration
    /// instead of the default, by policy index; empty for most applications.
    pub(crate) own_obligations: Box<[(u32, Box<Obligations>)]>,
}

impl CompiledApp {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The 64-hex audience tag tokens for this app carry.
    pub fn aud(&self) -> Option<&str> {
        self.aud.as_deref()
    }
}

#[derive(Debug)]
pub(crate) struct CompiledZtna {
    pub id: Box<str>,
    pub subject: Cond,
    pub resource: Cond,
    pub conditions: Box<[Cond]>,
    pub effect: ZtnaEffect,
    pub obligations: Obligations,
}

#[derive(Debug)]
pub(crate) enum AuthorizeNode {
    Policy {
        id: Box<str>,
        enabled: bool,
        condition: Option<Cond>,
        algorithm: CombiningAlgorithm,
        children: Box<[u32]>,
        statements: Box<[StatementIr]>,
        repetition: Option<(AttributePath, AuthorizeDecision)>,
    },
    Rule {
        id: Box<str>,
        enabled: bool,
        condition: Option<Cond>,
        effect: CompiledEffect,
        statements: Box<[StatementIr]>,
    },
}

#[derive(Debug)]
pub(crate) enum CompiledEffect {
    Permit,
    Deny,
    PermitElseDeny(Cond),
    DenyElsePermit(Cond),
}

#[derive(Debug)]
pub(crate) struct CompiledLevel {
    pub name: Box<str>,
    pub condition: Cond,
}

fn index_ids<'a, T>(
    items: &'a [T],
    id: impl Fn(&'a T) -> &'a str,
    kind: &str,
) -> Result<FxHashMap<&'a str, u32>, CompileError> {
    let mut map = FxHashMap::default();
    map.reserve(items.len());
    for (i, item) in items.iter().enumerate() {
        let key = id(item);
        if map.insert(key, i as u32).is_some() {
            return Err(CompileError::new(
                CompileErrorKind::DuplicateId,
                format!("{kind} {key:?}"),
                "",
                format!("another {kind} already has the id {key:?}"),
            ));
        }
    }
    Ok(map)
}

/// Finds a cycle in a graph given as adjacency lists; returns the nodes on it.
fn find_cycle(edges: &[Vec<u32>]) -> Option<Vec<u32>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks = vec![Mark::New; edges.len()];
    for root in 0..edges.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // Iterative DFS: (node, next edge to follow).
        let mut stack: Vec<(u32, usize)> = vec![(root as u32, 0)];
        marks[root] = Mark::Active;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let node_edges = &edges[node as usize];
            if *next < node_edges.len() {
                let target = node_edges[*next];
                *next += 1;
                match marks[target as usize] {
                    Mark::New => {
                        marks[target as usize] = Mark::Active;
                        stack.push((target, 0));
                    }
                    Mark::Active => {
                        let start = stack.iter().position(|(n, _)| *n == target).unwrap_or(0);
                        return Some(stack[start..].iter().map(|(n, _)| *n).collect());
                    }
                    Mark::Done => {}
                }
            } else {
                marks[node as usize] = Mark::Done;
                stack.pop();
            }
        }
    }
    None
}

fn cycle_error(kind: &str, names: Vec<&str>) -> CompileError {
    let first = names.first().copied().unwrap_or_default();
    let mut chain: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    chain.push(format!("{first:?}"));
    CompileError::new(
        CompileErrorKind::ReferenceCycle,
        format!("{kind} {first:?}"),
        "",
        format!(
            "{kind}s refer to each other in a cycle: {}",
            chain.join(" → ")
        ),
    )
}

impl CompiledAccount {
    /// Compiles an account. Fails on the first dangling reference, cycle, duplicate
    /// or malformed value, naming the object and the place in it.
    pub fn compile(ir: &AccountIr) -> Result<CompiledAccount, CompileError> {
        let group_ids = index_ids(&ir.groups, |g| g.id.as_str(), "Access group")?;
        let token_ids = index_ids(&ir.service_tokens, |t| t.id.as_str(), "service token")?;
        let level_ids = index_ids(&ir.access_levels, |l| l.name.as_str(), "access level")?;
        let mut list_ids: FxHashMap<&str, (ListKind, u32)> = FxHashMap::default();
        for (i, list) in ir.lists.iter().enumerate() {
            if list_ids.insert(&list.id, (list.kind, i as u32)).is_some() {
                return Err(CompileError::new(
                    CompileErrorKind::DuplicateId,
                    format!("list {:?}", list.id),
                    "",
                    "another list already has this id",
                ));
            }
        }

        // Groups may include other groups; a cycle would never terminate.
        let group_edges: Vec<Vec<u32>> = ir
            .groups
            .iter()
            .map(|g| {
                let mut out = Vec::new();
                for c in g.include.iter().chain(&g.require).chain(&g.exclude) {
                    cond::visit_group_refs(c, &mut |id| {
                        if let Some(i) = group_ids.get(id) {
                            out.push(*i);
                        }
                    });
                }
                out
            })
            .collect();
        if let Some(cycle) = find_cycle(&group_edges) {
            let names = cycle
                .iter()
                .map(|i| ir.groups[*i as usize].id.as_str())
                .collect();
            return Err(cycle_error("Access group", names));
        }

        let level_edges: Vec<Vec<u32>> = ir
            .access_levels
            .iter()
            .map(|l| {
                let mut out = Vec::new();
                cond::visit_level_refs(&l.condition, &mut |name| {
                    if let Some(i) = level_ids.get(name.as_str()) {
                        out.push(*i);
                    }
                });
                out
            })
            .collect();
        if let Some(cycle) = find_cycle(&level_edges) {
            let names = cycle
                .iter()
                .map(|i| ir.access_levels[*i as usize].name.as_str())
                .collect();
            return Err(cycle_error("access level", names));
        }

        let refs = Refs {
            groups: group_ids,
            lists: list_ids,
            tokens: token_ids,
            levels: level_ids,
        };

        let mut account = CompiledAccount {
            account_id: ir.account_id.as_str().into(),
            groups: Vec::with_capacity(ir.groups.len()),
            lists: Vec::with_capacity(ir.lists.len()),
            tokens: Vec::with_capacity(ir.service_tokens.len()),
            token_by_client_id: FxHashMap::default(),
            policies: Vec::with_capacity(ir.policies.len()),
            apps: Vec::with_capacity(ir.apps.len()),
            app_by_id: FxHashMap::default(),
            app_index: AppIndex::default(),
            destinations: Vec::new(),
            ztna: Vec::with_capacity(ir.ztna_policies.len()),
            ztna_index: ZtnaIndex::default(),
            authorize_nodes: Vec::new(),
            authorize_roots: FxHashMap::default(),
            decision_endpoints: FxHashMap::default(),
            levels: Vec::with_capacity(ir.access_levels.len()),
        };

        for group in &ir.groups {
            let object = format!("Access group {:?}", group.id);
            let r = refs.resolver(&object);
            account.groups.push(CompiledGroup {
                id: group.id.as_str().into(),
                rules: r.lower_rules(&group.include, &group.require, &group.exclude)?,
            });
        }

        for list in &ir.lists {
            let object = format!("list {:?}", list.id);
            account.lists.push(match list.kind {
                ListKind::Email => {
                    CompiledList::Email(list.items.iter().map(|e| fold_email(e)).collect())
                }
                ListKind::Ip => {
                    let nets = list
                        .items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| {
                            parse_cidr_or_ip(item).map_err(|e| {
                                CompileError::new(
                                    CompileErrorKind::InvalidValue,
                                    object.clone(),
                                    format!("items[{i}].value"),
                                    e.to_string(),
                                )
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    CompiledList::Ip(CidrSet::from_nets(nets))
                }
            });
        }

        for (i, token) in ir.service_tokens.iter().enumerate() {
            account.tokens.push(CompiledToken {
                secret_sha256: token.secret_sha256,
                expires_at: token.expires_at,
            });
            if account
                .token_by_client_id
                .insert(token.client_id.as_str().into(), i as u32)
                .is_some()
            {
                return Err(CompileError::new(
                    CompileErrorKind::DuplicateId,
                    format!("service token {:?}", token.id),
                    "client_id",
                    format!(
                        "another service token already has client id {:?}",
                        token.client_id
                    ),
                ));
            }
        }

        let policy_ids = index_ids(&ir.policies, |p| p.id.as_str(), "policy")?;
        for policy in &ir.policies {
            let object = format!("policy {:?}", policy.id);
            if !policy.action.runs_first() {
                for (field, conds) in [
                    ("include", &policy.include),
                    ("require", &policy.require),
                    ("exclude", &policy.exclude),
                ] {
                    if let Some(i) = conds.iter().position(cond::uses_linked_app_token) {
                        return Err(CompileError::new(
                            CompileErrorKind::MisplacedRule,
                            object,
                            format!("{field}[{i}].linked_app_token"),
                            "linked_app_token is only allowed in non_identity and bypass policies",
                        ));
                    }
                }
            }
            let r = refs.resolver(&object);
            let mut obligations = policy.obligations.clone();
            if policy.action.starts_session() && obligations.session_duration.is_none() {
                obligations.session_duration = Some(DEFAULT_SESSION_DURATION.to_string());
            }
            account.policies.push(CompiledPolicy {
                id: policy.id.as_str().into(),
                action: policy.action,
                rules: r.lower_rules(&policy.include, &policy.require, &policy.exclude)?,
                obligations: Box::new(obligations),
            });
        }

        for (app_idx, app) in ir.apps.iter().enumerate() {
            let object = format!("app {:?}", app.id);
            match account.app_by_id.entry(app.id.as_str().into()) {
                Entry::Occupied(_) => {
                    return Err(CompileError::new(
                        CompileErrorKind::DuplicateId,
                        object,
                        "",
                        "another app already has this id",
                    ))
                }
                Entry::Vacant(v) => {
                    v.insert(app_idx as u32);
                }
            }
            let mut seen_precedence: FxHashMap<i64, &str> = FxHashMap::default();
            let mut ordered: Vec<(bool, i64, u32)> = Vec::with_capacity(app.policies.len());
            for (i, pref) in app.policies.iter().enumerate() {
                let Some(&policy_idx) = policy_ids.get(pref.policy_id.as_str()) else {
                    return Err(CompileError::new(
                        CompileErrorKind::DanglingReference,
                        object,
                        format!("policies[{i}].id"),
                        format!("policy {:?} does not exist", pref.policy_id),
                    ));
                };
                if let Some(other) = seen_precedence.insert(pref.precedence, &pref.policy_id) {
                    return Err(CompileError::new(
                        CompileErrorKind::DuplicatePrecedence,
                        object,
                        format!("policies[{i}].precedence"),
                        format!(
                            "policies {other:?} and {:?} both have precedence {}; precedence must be unique within an application",
                            pref.policy_id, pref.precedence
                        ),
                    ));
                }
                let first = account.policies[policy_idx as usize].action.runs_first();
                ordered.push((!first, pref.precedence, policy_idx));
            }
            ordered.sort_unstable();
            let first_phase = ordered.iter().take_while(|(later, _, _)| !later).count();
            for (i, dest) in app.destinations.iter().enumerate() {
                let destination = Destination::parse(dest).map_err(|e| {
                    CompileError::new(
                        CompileErrorKind::InvalidValue,
                        object.clone(),
                        format!("destinations[{i}]"),
                        e.to_string(),
                    )
                })?;
                let conflict = account.app_index.insert(&destination, app_idx as u32);
                account.destinations.push((destination, app_idx as u32));
                if let Some(other) = conflict {
                    if other != app_idx as u32 {
                        return Err(CompileError::new(
                            CompileErrorKind::DomainConflict,
                            object,
                            format!("destinations[{i}]"),
                            format!(
                                "{dest:?} is already the domain of app {:?}",
                                ir.apps[other as usize].id
                            ),
                        ));
                    }
                }
            }
            // Policies without a session of their own take the application's.
            let own_obligations = match &app.session_duration {
                None => Box::default(),
                Some(duration) => ordered
                    .iter()
                    .map(|(_, _, p)| *p)
                    .filter(|p| {
                        let policy = &ir.policies[*p as usize];
                        policy.action.starts_session()
                            && policy.obligations.session_duration.is_none()
                    })
                    .map(|p| {
                        let mut own = account.policies[p as usize].obligations.clone();
                        own.session_duration = Some(duration.clone());
                        (p, own)
                    })
                    .collect(),
            };
            account.apps.push(CompiledApp {
                id: app.id.as_str().into(),
                aud: app.aud.as_deref().map(Into::into),
                policies: ordered.into_iter().map(|(_, _, p)| p).collect(),
                first_phase,
                own_obligations,
            });
        }

        let mut ztna_ids = FxHashSet::default();
        for policy in &ir.ztna_policies {
            let object = format!("ZTNA policy {:?}", policy.id);
            if !ztna_ids.insert(policy.id.as_str()) {
                return Err(CompileError::new(
                    CompileErrorKind::DuplicateId,
                    object,
                    "",
                    "another ZTNA policy already has this id",
                ));
            }
            if !policy.enabled {
                continue;
            }
            let r = refs.resolver(&object);
            account
                .ztna_index
                .add(account.ztna.len() as u32, &policy.resource);
            account.ztna.push(CompiledZtna {
                id: policy.id.as_str().into(),
                subject: r.lower(&policy.subject, "subjects")?,
                resource: r.lower(&policy.resource, "resources")?,
                conditions: r.lower_all(&policy.conditions, "conditions")?,
                effect: policy.effect,
                obligations: policy.obligations.clone(),
            });
        }

        for level in &ir.access_levels {
            let object = format!("access level {:?}", level.name);
            let r = refs.resolver(&object);
            account.levels.push(CompiledLevel {
                name: level.name.as_str().into(),
                condition: r.lower(&level.condition, "")?,
            });
        }

        let root_ids = index_ids(
            &ir.authorize_policies,
            |p| p.id.as_str(),
            "authorization policy",
        )?;
        let mut builder = AuthorizeBuilder {
            roots: &root_ids,
            nodes: Vec::new(),
            refs: &refs,
        };
        // Top-level policies take the first indices so references resolve to them.
        builder
            .nodes
            .resize_with(ir.authorize_policies.len(), || None);
        for (i, policy) in ir.authorize_policies.iter().enumerate() {
            let node = builder.policy(policy, &format!("authorization policy {:?}", policy.id))?;
            builder.nodes[i] = Some(node);
        }
        let nodes: Vec<AuthorizeNode> = builder.nodes.into_iter().flatten().collect();
        let edges: Vec<Vec<u32>> = nodes
            .iter()
            .map(|n| match n {
                AuthorizeNode::Policy { children, .. } => children.to_vec(),
                AuthorizeNode::Rule { .. } => Vec::new(),
            })
            .collect();
        if let Some(cycle) = find_cycle(&edges) {
            let names = cycle
                .iter()
                .map(|i| match &nodes[*i as usize] {
                    AuthorizeNode::Policy { id, .. } | AuthorizeNode::Rule { id, .. } => &**id,
                })
                .collect();
            return Err(cycle_error("authorization policy", names));
        }
        account.authorize_nodes = nodes;
        account.authorize_roots = root_ids
            .into_iter()
            .map(|(id, idx)| (Box::from(id), idx))
            .collect();
        index_ids(
            &ir.decision_endpoints,
            |e| e.id.as_str(),
            "decision endpoint",
        )?;
        account.decision_endpoints = ir
            .decision_endpoints
            .iter()
            .map(|e| (Box::from(e.id.as_str()), Box::from(e.policy_id.as_str())))
            .collect();
        Ok(account)
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub fn app(&self, id: &str) -> Option<&CompiledApp> {
        self.app_by_id.get(id).map(|i| &self.apps[*i as usize])
    }

    /// Every parsed `host[/path]` and the index of its app.
    pub fn destinations(&self) -> &[(Destination, u32)] {
        &self.destinations
    }

    pub fn app_at(&self, idx: u32) -> Option<&CompiledApp> {
        self.apps.get(idx as usize)
    }

    /// The id of the top-level authorization policy a decision endpoint
    /// evaluates (which may no longer exist); `None` for an unknown endpoint.
    pub fn decision_endpoint_policy(&self, endpoint_id: &str) -> Option<&str> {
        self.decision_endpoints.get(endpoint_id).map(|p| &**p)
    }

    /// Number of Cloudflare policies, for metrics and benchmarks.
    pub fn policy_count(&self) -> usize {
        self.policies.len()
    }
}

struct AuthorizeBuilder<'r, 'a> {
    roots: &'r FxHashMap<&'a str, u32>,
    /// `None` only while the top-level slots are being filled.
    nodes: Vec<Option<AuthorizeNode>>,
    refs: &'r Refs<'a>,
}

impl AuthorizeBuilder<'_, '_> {
    fn policy(
        &mut self,
        p: &AuthorizePolicyIr,
        object: &str,
    ) -> Result<AuthorizeNode, CompileError> {
        let condition = match &p.condition {
            Some(c) => Some(self.refs.resolver(object).lower(c, "condition")?),
            None => None,
        };
        let mut children = Vec::with_capacity(p.children.len());
        for (i, child) in p.children.iter().enumerate() {
            let idx = match child {
                AuthorizeChildIr::Reference(id) => {
                    *self.roots.get(id.as_str()).ok_or_else(|| {
                        CompileError::new(
                            CompileErrorKind::DanglingReference,
                            object,
                            format!("children[{i}].value.id"),
                            format!("authorization policy {id:?} does not exist"),
                        )
                    })?
                }
                AuthorizeChildIr::Policy(inner) => {
                    let node = self.policy(inner, &format!("{object}: children[{i}]"))?;
                    self.push(node)
                }
                AuthorizeChildIr::Rule(rule) => {
                    let path = format!("{object}: children[{i}]");
                    let r = self.refs.resolver(&path);
                    let condition = match &rule.condition {
                        Some(c) => Some(r.lower(c, "condition")?),
                        None => None,
                    };
                    let effect = match &rule.effect {
                        RuleEffect::Permit => CompiledEffect::Permit,
                        RuleEffect::Deny => CompiledEffect::Deny,
                        RuleEffect::PermitElseDeny(c) => {
                            CompiledEffect::PermitElseDeny(r.lower(c, "effectSettings.condition")?)
                        }
                        RuleEffect::DenyElsePermit(c) => {
                            CompiledEffect::DenyElsePermit(r.lower(c, "effectSettings.condition")?)
                        }
                    };
                    let node = AuthorizeNode::Rule {
                        id: rule.id.as_str().into(),
                        enabled: rule.enabled,
                        condition,
                        effect,
                        statements: rule.statements.clone().into(),
                    };
                    self.push(node)
                }
            };
            children.push(idx);
        }
        Ok(AuthorizeNode::Policy {
            id: p.id.as_str().into(),
            enabled: p.enabled,
            condition,
            algorithm: p.algorithm,
            children: children.into(),
            statements: p.statements.clone().into(),
            repetition: p
                .repetition
                .as_ref()
                .map(|r| (r.source.clone(), r.decision)),
        })
    }

    fn push(&mut self, node: AuthorizeNode) -> u32 {
        self.nodes.push(Some(node));
        (self.nodes.len() - 1) as u32
    }
}
