//! The workload in Cedar (cedar-policy 4.x).
//!
//! Each application gets its own prebuilt `PolicySet` with one `permit` per
//! Cloudflare policy whose condition is the policy's include / require / exclude.
//! Access groups and IP lists are expanded inline (Cedar has no way to evaluate a
//! group's own rules from an entity, and membership precomputed outside Cedar
//! would not be Cedar's work). Cloudflare's first match cannot be said with
//! Cedar's permit / forbid combination, so one `is_authorized` call evaluates all
//! of the app's policies and the harness picks the first satisfied one in
//! Cloudflare order from the response's reasons: a single authorizer call per
//! request, which is Cedar's fastest honest setup here.

use std::collections::HashMap;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Entities, EntityUid, Policy, PolicyId, PolicySet, Request, Response,
    RestrictedExpression,
};
use portcullis_formats::cloudflare::{AccessGroup, AccessRule};
use portcullis_formats::corpus::Setup;

use crate::facts::{Facts, Outcome};
use crate::plan::{decision_name, plans, policy_id, rules};

struct CedarApp {
    set: PolicySet,
    first: Vec<(PolicyId, &'static str)>,
    second: Vec<(PolicyId, &'static str)>,
}

pub struct CedarEngine {
    authorizer: Authorizer,
    entities: Entities,
    apps: HashMap<String, CedarApp>,
}

/// A request in Cedar's form, built before timing starts.
#[derive(Clone)]
pub struct CedarRequest {
    app: String,
    identity: bool,
    request: Request,
}

/// Renders a Cedar string literal (the workload's values are plain ASCII).
fn lit(s: &str) -> String {
    format!("{s:?}")
}

struct Translator<'a> {
    groups: HashMap<&'a str, &'a AccessGroup>,
    lists: HashMap<&'a str, Vec<&'a str>>,
}

impl Translator<'_> {
    fn rule(&self, rule: &AccessRule) -> String {
        match rule {
            AccessRule::Everyone(_) => "true".into(),
            AccessRule::Email(r) => format!(
                "(context has email && context.email == {})",
                lit(&r.email.to_lowercase())
            ),
            // `like "*@d"` is "the part after the last @ is d" because d has no @.
            AccessRule::EmailDomain(r) => format!(
                "(context has email && context.email like {})",
                lit(&format!(
                    "*@{}",
                    r.domain.trim_start_matches('@').to_lowercase()
                ))
            ),
            AccessRule::Ip(r) => format!(
                "(context has ip && context.ip.isInRange(ip({})))",
                lit(&r.ip)
            ),
            AccessRule::IpList(r) => {
                let ranges: Vec<String> = self.lists[r.id.as_str()]
                    .iter()
                    .map(|c| format!("context.ip.isInRange(ip({}))", lit(c)))
                    .collect();
                format!("(context has ip && ({}))", ranges.join(" || "))
            }
            AccessRule::Geo(r) => format!(
                "(context has country && context.country == {})",
                lit(&r.country_code.to_uppercase())
            ),
            AccessRule::AuthMethod(r) => format!("context.amr.contains({})", lit(&r.auth_method)),
            AccessRule::DevicePosture(r) => {
                format!("context.posture.contains({})", lit(&r.integration_uid))
            }
            AccessRule::ServiceToken(r) => format!("context.token == {}", lit(&r.token_id)),
            AccessRule::AnyValidServiceToken(_) => "context.token != \"\"".into(),
            AccessRule::Group(r) => {
                let g = self.groups[r.id.as_str()];
                self.clauses(rules(&g.include), rules(&g.require), rules(&g.exclude))
            }
            other => unimplemented!("the workload has no {} rules", other.type_name()),
        }
    }

    /// Cloudflare: some include AND every require AND no exclude.
    fn clauses(
        &self,
        include: &[AccessRule],
        require: &[AccessRule],
        exclude: &[AccessRule],
    ) -> String {
        if include.is_empty() {
            return "false".into();
        }
        let join = |rules: &[AccessRule], op: &str| {
            rules
                .iter()
                .map(|r| self.rule(r))
                .collect::<Vec<_>>()
                .join(op)
        };
        let mut out = format!("(({})", join(include, " || "));
        if !require.is_empty() {
            out.push_str(&format!(" && ({})", join(require, " && ")));
        }
        if !exclude.is_empty() {
            out.push_str(&format!(" && !({})", join(exclude, " || ")));
        }
        out.push(')');
        out
    }
}

impl CedarEngine {
    pub fn build(setup: &Setup) -> Result<CedarEngine, String> {
        let t = Translator {
            groups: setup
                .groups
                .iter()
                .map(|g| (g.id.as_deref().unwrap_or_default(), g))
                .collect(),
            lists: setup
                .lists
                .iter()
                .map(|l| {
                    let items = l.items.iter().flatten().map(|i| i.value.as_str()).collect();
                    (l.id.as_deref().unwrap_or_default(), items)
                })
                .collect(),
        };
        let mut apps = HashMap::new();
        for plan in plans(setup) {
            let mut set = PolicySet::new();
            let mut phase = |policies: &[&portcullis_formats::cloudflare::AccessPolicy]| {
                let mut out = Vec::new();
                for p in policies {
                    let text = format!(
                        "permit(principal, action, resource) when {{ {} }};",
                        t.clauses(rules(&p.include), rules(&p.require), rules(&p.exclude))
                    );
                    let id = PolicyId::new(policy_id(p));
                    let policy = Policy::parse(Some(id.clone()), &text)
                        .map_err(|e| format!("{}: {e}", policy_id(p)))?;
                    set.add(policy).map_err(|e| e.to_string())?;
                    out.push((id, decision_name(p)));
                }
                Ok::<_, String>(out)
            };
            let first = phase(&plan.first)?;
            let second = phase(&plan.second)?;
            apps.insert(plan.id.to_string(), CedarApp { set, first, second });
        }
        Ok(CedarEngine {
            authorizer: Authorizer::new(),
            entities: Entities::empty(),
            apps,
        })
    }

    /// Builds the Cedar request: principal and action are fixed, the resource is
    /// the application, and the facts go into the context.
    pub fn request(facts: &Facts) -> Result<CedarRequest, String> {
        let mut pairs: Vec<(String, RestrictedExpression)> = vec![
            (
                "identity".into(),
                RestrictedExpression::new_bool(facts.identity),
            ),
            (
                "amr".into(),
                RestrictedExpression::new_set(
                    facts
                        .amr
                        .iter()
                        .map(|a| RestrictedExpression::new_string(a.clone())),
                ),
            ),
            (
                "posture".into(),
                RestrictedExpression::new_set(
                    facts
                        .posture
                        .iter()
                        .map(|a| RestrictedExpression::new_string(a.clone())),
                ),
            ),
            (
                "token".into(),
                RestrictedExpression::new_string(facts.token.clone().unwrap_or_default()),
            ),
        ];
        if let Some(email) = &facts.email {
            pairs.push((
                "email".into(),
                RestrictedExpression::new_string(email.clone()),
            ));
        }
        if let Some(ip) = facts.ip {
            pairs.push(("ip".into(), RestrictedExpression::new_ip(ip.to_string())));
        }
        if let Some(country) = &facts.country {
            pairs.push((
                "country".into(),
                RestrictedExpression::new_string(country.clone()),
            ));
        }
        let context = Context::from_pairs(pairs).map_err(|e| e.to_string())?;
        let uid = |s: &str| EntityUid::from_str(s).map_err(|e| e.to_string());
        let resource = uid(&format!("App::{}", lit(&facts.app)))?;
        let request = Request::new(
            uid("User::\"requester\"")?,
            uid("Action::\"access\"")?,
            resource,
            context,
            None,
        )
        .map_err(|e| e.to_string())?;
        Ok(CedarRequest {
            app: facts.app.clone(),
            identity: facts.identity,
            request,
        })
    }

    fn authorize(&self, app: &CedarApp, r: &CedarRequest) -> Response {
        self.authorizer
            .is_authorized(&r.request, &app.set, &self.entities)
    }

    /// The timed call: one authorizer call, then the first satisfied policy in
    /// Cloudflare order.
    pub fn decide<'a>(&'a self, r: &CedarRequest) -> (&'static str, Option<&'a PolicyId>) {
        let Some(app) = self.apps.get(&r.app) else {
            return ("deny", None);
        };
        let response = self.authorize(app, r);
        let satisfied = |id: &PolicyId| response.diagnostics().reason().any(|r| r == id);
        if let Some((id, d)) = app.first.iter().find(|(id, _)| satisfied(id)) {
            return (d, Some(id));
        }
        if !r.identity {
            return ("login_required", None);
        }
        match app.second.iter().find(|(id, _)| satisfied(id)) {
            Some((id, d)) => (d, Some(id)),
            None => ("deny", None),
        }
    }

    /// The decision plus a check that no policy raised an evaluation error
    /// (an error would silently skip a policy).
    pub fn outcome(&self, r: &CedarRequest) -> Result<Outcome, String> {
        if let Some(app) = self.apps.get(&r.app) {
            let response = self.authorize(app, r);
            let first_error = response
                .diagnostics()
                .errors()
                .next()
                .map(|e| e.to_string());
            if let Some(e) = first_error {
                return Err(format!("cedar evaluation error: {e}"));
            }
        }
        let (decision, policy) = self.decide(r);
        Ok(Outcome {
            decision: decision.into(),
            policy_id: policy.map(|p| p.to_string()),
        })
    }
}
