//! CEL for ACM custom access levels, on the `cel` crate.
//!
//! The attributes are the ones Access Context Manager documents:
//! `origin.ip`, `origin.region_code`, `request.auth.principal`,
//! `request.auth.claims`, `request.time`, `levels.NAME`, and the `device.*`
//! fields with the `DeviceEncryptionStatus`, `OsType` and
//! `DeviceManagementLevel` enums, plus `inIpRange(ip, 'CIDR')`. Enum values are
//! represented by their names, so `device.os_type == OsType.DESKTOP_MAC` compares
//! two strings.
//!
//! Programs are compiled once, when the snapshot is built; a program that does not
//! parse or does not check is refused at write time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use cel::common::ast::{EntryExpr, Expr};
use cel::common::types::{CelBool, CelString, CelTimestamp};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, Env, Program, Value};

use crate::context::RequestContext;
use crate::ip::parse_cidr_or_ip;

mod check;

pub use check::CelType;

/// Why a CEL expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CelError {
    #[error("does not parse: {0}")]
    Syntax(String),
    #[error("does not type-check: {0}")]
    Type(String),
}

/// A compiled CEL program and the access levels it reads.
#[derive(Debug)]
pub struct CelProgram {
    program: Program,
    /// Short names used as `levels.NAME`.
    referenced_levels: Vec<String>,
}

pub(crate) const ENCRYPTION_STATUSES: &[&str] = &[
    "ENCRYPTION_UNSPECIFIED",
    "ENCRYPTION_UNSUPPORTED",
    "UNENCRYPTED",
    "ENCRYPTED",
];
pub(crate) const OS_TYPES: &[&str] = &[
    "OS_UNSPECIFIED",
    "DESKTOP_MAC",
    "DESKTOP_WINDOWS",
    "DESKTOP_LINUX",
    "DESKTOP_CHROME_OS",
    "ANDROID",
    "IOS",
];
pub(crate) const MANAGEMENT_LEVELS: &[&str] =
    &["MANAGEMENT_UNSPECIFIED", "NONE", "BASIC", "COMPLETE"];

fn shared_env() -> Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        // Registering one fresh overload on a fresh environment cannot clash.
        let _ = cel::add_overload!(env, fn in_ip_range: (CelString, CelString) -> CelBool, name = "inIpRange");
        Arc::new(env)
    })
    .clone()
}

fn in_ip_range(ip: &CelString<'_>, cidr: &CelString<'_>) -> CelBool {
    let inside = match (ip.inner().parse::<IpAddr>(), parse_cidr_or_ip(cidr.inner())) {
        (Ok(ip), Ok(net)) => net.contains(&ip),
        _ => false,
    };
    CelBool::from(inside)
}

fn enum_map(values: &[&str]) -> Value {
    let map: HashMap<String, Value> = values
        .iter()
        .map(|v| ((*v).to_string(), Value::from(*v)))
        .collect();
    Value::from(map)
}

impl CelProgram {
    /// Parses and checks an expression. It must be boolean.
    pub fn compile(expr: &str) -> Result<CelProgram, CelError> {
        let env = shared_env();
        let program = env
            .compile(expr)
            .map_err(|e| CelError::Syntax(e.to_string().trim().to_string()))?;
        let result = check::check(program.expression()).map_err(CelError::Type)?;
        if !matches!(result, CelType::Bool | CelType::Dyn) {
            return Err(CelError::Type(format!(
                "the expression is {result}, an access level needs bool"
            )));
        }
        let mut referenced_levels = Vec::new();
        collect_levels(&program.expression().expr, &mut referenced_levels);
        referenced_levels.sort();
        referenced_levels.dedup();
        Ok(CelProgram {
            program,
            referenced_levels,
        })
    }

    /// Short names of the levels the expression reads as `levels.NAME`.
    pub fn referenced_levels(&self) -> &[String] {
        &self.referenced_levels
    }

    /// Evaluates against a request. `level_granted` answers for each name in
    /// [`Self::referenced_levels`]. Errors (a missing attribute, a bad overload)
    /// are returned so the caller can fail closed.
    ///
    /// Attributes are read on demand: the program asks for `origin.region_code`
    /// and gets the request's country, borrowed, instead of a map of every
    /// attribute built and converted for each evaluation. A bare object
    /// (`device`, `has(device.id)`) still gets the whole map, so both paths
    /// answer alike.
    pub fn evaluate(
        &self,
        req: &RequestContext,
        mut level_granted: impl FnMut(&str) -> bool,
    ) -> Result<bool, String> {
        let vars = RequestVars {
            req,
            levels: &self.referenced_levels,
            granted: self
                .referenced_levels
                .iter()
                .map(|name| level_granted(name))
                .collect(),
        };
        let mut ctx = Context::with_env(shared_env());
        ctx.set_variable_resolver(&vars);
        match self.program.execute(&ctx) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!("evaluated to {other:?}, not a bool")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The ACM attributes of one request, looked up by their qualified name.
struct RequestVars<'r> {
    req: &'r RequestContext,
    /// Short names of the levels the program reads, and whether each is granted.
    levels: &'r [String],
    granted: Vec<bool>,
}

fn boxed(value: Value) -> Option<CowVal<'static, 'static>> {
    let val: Box<dyn Val> = value.try_into().ok()?;
    Some(CowVal::Owned(val))
}

impl VariableResolver for RequestVars<'_> {
    fn resolve<'b>(&'b self, name: &str) -> Option<CowVal<'b, 'b>> {
        let req = self.req;
        let string = |v: &'b str| CowVal::owned(CelString::from(v));
        let boolean = |v: bool| CowVal::owned(CelBool::from(v));
        let network = req.network.as_ref();
        let identity = req.identity.as_ref();
        let device = req.device.as_ref();
        match name {
            "origin.ip" => {
                let ip = network?.ip?;
                Some(CowVal::owned(CelString::from(ip.to_string())))
            }
            "origin.region_code" => {
                let country = network?.country.as_deref()?;
                Some(if country.bytes().any(|b| b.is_ascii_lowercase()) {
                    CowVal::owned(CelString::from(country.to_ascii_uppercase()))
                } else {
                    string(country)
                })
            }
            "request.auth.principal" => identity?.email.as_deref().map(string),
            "request.time" => req
                .time
                .map(|t| CowVal::owned(CelTimestamp::from(t.fixed_offset()))),
            "device.encryption_status" => device?.encryption_status.as_deref().map(string),
            "device.os_type" => device?.os_type.as_deref().map(string),
            "device.os_version" => device?.os_version.as_deref().map(string),
            "device.management_level" => device?.management_level.as_deref().map(string),
            "device.id" => device?.id.as_deref().map(string),
            "device.is_secured_with_screenlock" => device?.screenlock.map(boolean),
            "device.is_admin_approved_device" => device?.admin_approved.map(boolean),
            "device.is_corp_owned_device" => device?.corp_owned.map(boolean),
            "origin" => boxed(origin_value(req)),
            "request" => boxed(request_value(req)),
            "request.auth" => boxed(auth_value(req)),
            "request.auth.claims" => {
                identity?;
                boxed(claims_value(req))
            }
            "device" => boxed(device_value(req)),
            "levels" => boxed(Value::from(
                self.levels
                    .iter()
                    .zip(&self.granted)
                    .map(|(n, g)| (n.clone(), Value::Bool(*g)))
                    .collect::<HashMap<_, _>>(),
            )),
            _ => {
                if let Some(short) = name.strip_prefix("levels.") {
                    let i = self.levels.iter().position(|l| l == short)?;
                    return Some(boolean(self.granted[i]));
                }
                for (enum_name, values) in [
                    ("DeviceEncryptionStatus", ENCRYPTION_STATUSES),
                    ("OsType", OS_TYPES),
                    ("DeviceManagementLevel", MANAGEMENT_LEVELS),
                ] {
                    let Some(rest) = name.strip_prefix(enum_name) else {
                        continue;
                    };
                    if rest.is_empty() {
                        return boxed(enum_map(values));
                    }
                    let value = rest.strip_prefix('.')?;
                    return values
                        .iter()
                        .find(|v| **v == value)
                        .map(|v| CowVal::owned(CelString::from(*v)));
                }
                None
            }
        }
    }
}

fn collect_levels(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::Select(select) => {
            if let Expr::Ident(root) = &select.operand.expr {
                if root == "levels" {
                    out.push(select.field.clone());
                }
            }
            collect_levels(&select.operand.expr, out);
        }
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                collect_levels(&target.expr, out);
            }
            for arg in &call.args {
                collect_levels(&arg.expr, out);
            }
        }
        Expr::Comprehension(c) => {
            for e in [
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ] {
                collect_levels(&e.expr, out);
            }
        }
        Expr::List(list) => {
            for e in &list.elements {
                collect_levels(&e.expr, out);
            }
        }
        Expr::Map(map) => {
            for entry in &map.entries {
                if let EntryExpr::MapEntry(m) = &entry.expr {
                    collect_levels(&m.key.expr, out);
                    collect_levels(&m.value.expr, out);
                }
            }
        }
        Expr::Struct(s) => {
            for entry in &s.entries {
                if let EntryExpr::StructField(f) = &entry.expr {
                    collect_levels(&f.value.expr, out);
                }
            }
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

fn str_map(entries: Vec<(&str, Value)>) -> Value {
    let map: HashMap<String, Value> = entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Value::from(map)
}

fn origin_value(req: &RequestContext) -> Value {
    let mut entries = Vec::new();
    if let Some(network) = &req.network {
        if let Some(ip) = network.ip {
            entries.push(("ip", Value::from(ip.to_string())));
        }
        if let Some(country) = &network.country {
            entries.push(("region_code", Value::from(country.to_ascii_uppercase())));
        }
    }
    str_map(entries)
}

fn request_value(req: &RequestContext) -> Value {
    let mut entries = vec![("auth", auth_value(req))];
    if let Some(time) = req.time {
        entries.push(("time", Value::Timestamp(time.fixed_offset())));
    }
    str_map(entries)
}

/// `request.auth`: the principal and claims when there is an identity.
fn auth_value(req: &RequestContext) -> Value {
    let mut auth = Vec::new();
    if let Some(identity) = &req.identity {
        if let Some(email) = &identity.email {
            auth.push(("principal", Value::from(email.as_str())));
        }
        auth.push(("claims", claims_value(req)));
    }
    str_map(auth)
}

/// `request.auth.claims`: the identity's claims (an empty map without them).
fn claims_value(req: &RequestContext) -> Value {
    let claims: HashMap<String, Value> = req
        .identity
        .iter()
        .flat_map(|i| &i.claims)
        .map(|(k, v)| (k.clone(), json_to_cel(v)))
        .collect();
    Value::from(claims)
}

fn device_value(req: &RequestContext) -> Value {
    let mut entries = Vec::new();
    if let Some(device) = &req.device {
        let mut put_str = |key, value: &Option<String>| {
            if let Some(v) = value {
                entries.push((key, Value::from(v.as_str())));
            }
        };
        put_str("encryption_status", &device.encryption_status);
        put_str("os_type", &device.os_type);
        put_str("os_version", &device.os_version);
        put_str("management_level", &device.management_level);
        put_str("id", &device.id);
        if let Some(v) = device.screenlock {
            entries.push(("is_secured_with_screenlock", Value::Bool(v)));
        }
        if let Some(v) = device.admin_approved {
            entries.push(("is_admin_approved_device", Value::Bool(v)));
        }
        if let Some(v) = device.corp_owned {
            entries.push(("is_corp_owned_device", Value::Bool(v)));
        }
    }
    str_map(entries)
}

fn json_to_cel(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => {
            Value::from(items.iter().map(json_to_cel).collect::<Vec<_>>())
        }
        serde_json::Value::Object(map) => Value::from(
            map.iter()
                .map(|(k, v)| (k.clone(), json_to_cel(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: &str) -> RequestContext {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn evaluates_google_style_expressions() {
        let p = CelProgram::compile(
            "device.encryption_status == DeviceEncryptionStatus.ENCRYPTED && origin.region_code in ['US', 'CA'] && inIpRange(origin.ip, '10.0.0.0/8')",
        )
        .unwrap();
        let ok = req(
            r#"{"network": {"ip": "10.1.2.3", "country": "US"}, "device": {"encryption_status": "ENCRYPTED"}}"#,
        );
        assert_eq!(p.evaluate(&ok, |_| false), Ok(true));
        let wrong_ip = req(
            r#"{"network": {"ip": "192.0.2.1", "country": "US"}, "device": {"encryption_status": "ENCRYPTED"}}"#,
        );
        assert_eq!(p.evaluate(&wrong_ip, |_| false), Ok(false));
    }

    #[test]
    fn missing_attributes_are_errors_so_callers_fail_closed() {
        let p = CelProgram::compile("device.os_type == OsType.DESKTOP_MAC").unwrap();
        assert!(p.evaluate(&req("{}"), |_| false).is_err());
    }

    #[test]
    fn reads_levels_and_reports_them() {
        let p = CelProgram::compile("levels.corp && !levels.blocked").unwrap();
        assert_eq!(p.referenced_levels(), ["blocked", "corp"]);
        assert_eq!(p.evaluate(&req("{}"), |n| n == "corp"), Ok(true));
    }

    #[test]
    fn reads_every_attribute_by_name_and_as_objects() {
        let full = req(r#"{"network": {"ip": "10.1.2.3", "country": "us"},
                "identity": {"email": "alice@example.com", "claims": {"department": "eng", "level": 3}},
                "device": {"id": "d-1", "os_type": "DESKTOP_MAC", "os_version": "14.2.0",
                           "encryption_status": "ENCRYPTED", "management_level": "COMPLETE",
                           "screenlock": true, "admin_approved": false, "corp_owned": true},
                "time": "2026-11-23T10:00:00Z"}"#);
        let empty = req("{}");
        for (expr, on_full, on_empty) in [
            ("origin.region_code == 'US'", Ok(true), None),
            ("origin.ip == '10.1.2.3' && inIpRange(origin.ip, '10.0.0.0/8')", Ok(true), None),
            ("request.auth.principal.endsWith('@example.com')", Ok(true), None),
            ("request.auth.claims.department == 'eng'", Ok(true), None),
            ("request.auth.claims['level'] == 3", Ok(true), None),
            ("'department' in request.auth.claims", Ok(true), None),
            ("request.time > timestamp('2026-01-01T00:00:00Z')", Ok(true), None),
            ("device.os_type == OsType.DESKTOP_MAC && device.os_version == '14.2.0'", Ok(true), None),
            ("device.encryption_status == DeviceEncryptionStatus.ENCRYPTED", Ok(true), None),
            ("device.management_level == DeviceManagementLevel.COMPLETE", Ok(true), None),
            ("device.is_secured_with_screenlock && !device.is_admin_approved_device && device.is_corp_owned_device", Ok(true), None),
            ("device.id == 'd-1'", Ok(true), None),
            ("has(device.os_type)", Ok(true), Some(false)),
            ("has(origin.region_code)", Ok(true), Some(false)),
            ("has(request.auth.claims.level)", Ok(true), None),
            ("levels.corp", Ok(true), Some(true)),
        ] {
            let p = CelProgram::compile(expr).unwrap();
            assert_eq!(p.evaluate(&full, |n| n == "corp"), on_full, "{expr}");
            match on_empty {
                Some(want) => assert_eq!(p.evaluate(&empty, |n| n == "corp"), Ok(want), "{expr}"),
                None => assert!(p.evaluate(&empty, |_| true).is_err(), "{expr}"),
            }
        }
    }

    #[test]
    fn refuses_syntax_and_type_errors() {
        assert!(matches!(
            CelProgram::compile("origin.ip =="),
            Err(CelError::Syntax(_))
        ));
        assert!(matches!(
            CelProgram::compile("origin.ip == 1"),
            Err(CelError::Type(_))
        ));
        assert!(matches!(
            CelProgram::compile("origin.region_code"),
            Err(CelError::Type(_))
        ));
        assert!(matches!(
            CelProgram::compile("nonsense.attr == 'x'"),
            Err(CelError::Type(_))
        ));
    }
}
