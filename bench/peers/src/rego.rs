//! The workload in Rego (regorus 0.14).
//!
//! One generic policy interprets Cloudflare rules; the data document holds, per
//! application, its policies already split into the two phases and sorted by
//! precedence, plus the Access groups and IP lists by id. A request is the
//! query `data.portcullis.decision` with the request facts as `input`.
//!
//! regorus can run this two ways, and both are measured: the tree-walking
//! interpreter (`Engine::eval_rule`) and the Rego virtual machine (the policy
//! compiled to an RVM program, run by `RegoVM::execute`).

use std::sync::Arc;

use portcullis_formats::cloudflare::AccessRule;
use portcullis_formats::corpus::Setup;
use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::program::Program;
use regorus::rvm::vm::RegoVM;
use regorus::{Engine, Rc, Value};
use serde_json::{json, Map};

use crate::facts::{Facts, Outcome};
use crate::plan::{decision_name, plans, policy_id, rules};

/// Rego cannot recurse, so group rules (which hold leaf rules only, as in the
/// workload) are interpreted by `leaf` and policy rules by `rule_ok`.
pub const POLICY: &str = r#"
package portcullis
import rego.v1

leaf(r) if r.t == "everyone"
leaf(r) if { r.t == "email"; input.email == r.v }
leaf(r) if { r.t == "email_domain"; endswith(input.email, r.v) }
leaf(r) if { r.t == "ip"; net.cidr_contains(r.v, input.ip) }
leaf(r) if { r.t == "ip_list"; some c in data.lists[r.v]; net.cidr_contains(c, input.ip) }
leaf(r) if { r.t == "geo"; input.country == r.v }
leaf(r) if { r.t == "auth_method"; r.v in input.amr }
leaf(r) if { r.t == "device_posture"; r.v in input.posture }
leaf(r) if { r.t == "service_token"; input.token == r.v }
leaf(r) if { r.t == "any_valid_service_token"; input.token != "" }

group_excluded(g) if { some r in g.exclude; leaf(r) }

group_ok(g) if {
	some r in g.include
	leaf(r)
	every q in g.require { leaf(q) }
	not group_excluded(g)
}

rule_ok(r) if { r.t != "group"; leaf(r) }
rule_ok(r) if { r.t == "group"; group_ok(data.groups[r.v]) }

excluded(p) if { some r in p.exclude; rule_ok(r) }

policy_ok(p) if {
	some r in p.include
	rule_ok(r)
	every q in p.require { rule_ok(q) }
	not excluded(p)
}

app := data.apps[input.app]

first := [p | some p in app.first; policy_ok(p)]

second := [p | some p in app.second; policy_ok(p)]

decision := {"decision": first[0].action, "policy_id": first[0].id} if {
	count(first) > 0
} else := {"decision": "login_required"} if {
	is_object(app)
	not input.identity
} else := {"decision": second[0].action, "policy_id": second[0].id} if {
	count(second) > 0
} else := {"decision": "deny"}
"#;

const ENTRY: &str = "data.portcullis.decision";

fn rule_json(rule: &AccessRule) -> serde_json::Value {
    let (t, v) = match rule {
        AccessRule::Everyone(_) => ("everyone", json!(null)),
        AccessRule::Email(r) => ("email", json!(r.email.to_lowercase())),
        // Stored as the suffix `@domain`: the part after the last @ equals the
        // domain exactly when the email ends with @domain (domains hold no @).
        AccessRule::EmailDomain(r) => (
            "email_domain",
            json!(format!(
                "@{}",
                r.domain.trim_start_matches('@').to_lowercase()
            )),
        ),
        AccessRule::Ip(r) => ("ip", json!(r.ip)),
        AccessRule::IpList(r) => ("ip_list", json!(r.id)),
        AccessRule::Geo(r) => ("geo", json!(r.country_code.to_uppercase())),
        AccessRule::AuthMethod(r) => ("auth_method", json!(r.auth_method)),
        AccessRule::DevicePosture(r) => ("device_posture", json!(r.integration_uid)),
        AccessRule::ServiceToken(r) => ("service_token", json!(r.token_id)),
        AccessRule::AnyValidServiceToken(_) => ("any_valid_service_token", json!(null)),
        AccessRule::Group(r) => ("group", json!(r.id)),
        other => unimplemented!("the workload has no {} rules", other.type_name()),
    };
    json!({"t": t, "v": v})
}

fn rules_json(list: &Option<Vec<AccessRule>>) -> serde_json::Value {
    rules(list).iter().map(rule_json).collect()
}

/// The data document: apps (phases in Cloudflare order), groups and lists.
pub fn data(setup: &Setup) -> Result<Value, String> {
    let mut apps = Map::new();
    for plan in plans(setup) {
        let phase = |policies: &[&portcullis_formats::cloudflare::AccessPolicy]| {
            policies
                .iter()
                .map(|p| {
                    json!({"id": policy_id(p), "action": decision_name(p),
                           "include": rules_json(&p.include), "require": rules_json(&p.require),
                           "exclude": rules_json(&p.exclude)})
                })
                .collect::<Vec<_>>()
        };
        apps.insert(
            plan.id.to_string(),
            json!({"first": phase(&plan.first), "second": phase(&plan.second)}),
        );
    }
    let groups: Map<String, serde_json::Value> = setup
        .groups
        .iter()
        .map(|g| {
            (
                g.id.clone().unwrap_or_default(),
                json!({"include": rules_json(&g.include), "require": rules_json(&g.require),
                       "exclude": rules_json(&g.exclude)}),
            )
        })
        .collect();
    let lists: Map<String, serde_json::Value> = setup
        .lists
        .iter()
        .map(|l| {
            let items: Vec<&str> = l.items.iter().flatten().map(|i| i.value.as_str()).collect();
            (l.id.clone().unwrap_or_default(), json!(items))
        })
        .collect();
    let doc = json!({"apps": apps, "groups": groups, "lists": lists});
    Value::from_json_str(&doc.to_string()).map_err(|e| e.to_string())
}

/// The request as Rego input, built before timing starts.
pub fn input(facts: &Facts) -> Result<Value, String> {
    let mut doc = json!({"app": facts.app, "identity": facts.identity, "amr": facts.amr,
                         "posture": facts.posture, "token": facts.token.clone().unwrap_or_default()});
    if let Some(e) = &facts.email {
        doc["email"] = json!(e);
    }
    if let Some(ip) = facts.ip {
        doc["ip"] = json!(ip.to_string());
    }
    if let Some(c) = &facts.country {
        doc["country"] = json!(c);
    }
    Value::from_json_str(&doc.to_string()).map_err(|e| e.to_string())
}

/// The tree-walking interpreter.
pub struct Interpreter {
    engine: Engine,
    entry: String,
}

impl Interpreter {
    pub fn build(data: &Value) -> Result<Interpreter, String> {
        let mut engine = Engine::new();
        engine
            .add_policy("portcullis.rego".into(), POLICY.into())
            .map_err(|e| e.to_string())?;
        engine.add_data(data.clone()).map_err(|e| e.to_string())?;
        Ok(Interpreter {
            engine,
            entry: ENTRY.into(),
        })
    }

    pub fn decide(&mut self, input: &Value) -> Result<Value, String> {
        self.engine.set_input(input.clone());
        self.engine
            .eval_rule(self.entry.clone())
            .map_err(|e| e.to_string())
    }
}

/// The RVM: the same policy compiled to a program once, run per request.
pub struct Vm {
    vm: RegoVM,
}

impl Vm {
    pub fn build(data: &Value) -> Result<Vm, String> {
        let mut engine = Engine::new();
        engine
            .add_policy("portcullis.rego".into(), POLICY.into())
            .map_err(|e| e.to_string())?;
        engine.add_data(data.clone()).map_err(|e| e.to_string())?;
        let compiled = engine
            .compile_with_entrypoint(&Rc::from(ENTRY))
            .map_err(|e| e.to_string())?;
        let program: Arc<Program> =
            Compiler::compile_from_policy(&compiled, &[ENTRY]).map_err(|e| e.to_string())?;
        let mut vm = RegoVM::new();
        vm.load_program(program);
        vm.set_data(data.clone()).map_err(|e| e.to_string())?;
        Ok(Vm { vm })
    }

    pub fn decide(&mut self, input: &Value) -> Result<Value, String> {
        self.vm.set_input(input.clone());
        self.vm.execute().map_err(|e| e.to_string())
    }
}

/// Reads `{"decision", "policy_id"}` back.
pub fn outcome(value: &Value) -> Result<Outcome, String> {
    let text = value.to_json_str().map_err(|e| e.to_string())?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let decision = doc["decision"]
        .as_str()
        .ok_or_else(|| format!("no decision in {text}"))?
        .to_string();
    Ok(Outcome {
        decision,
        policy_id: doc["policy_id"].as_str().map(str::to_string),
    })
}
