//! A static type check for ACM CEL expressions, so that `origin.ip == 1` or a
//! misspelt attribute is refused when the level is written, as Google does, rather
//! than failing closed on every request.
//!
//! The check knows the ACM attribute schema and the types of the standard
//! operators and functions. Whatever it cannot type precisely (claims, macro
//! accumulators) is `dyn` and passes.

use std::fmt;

use cel::common::ast::{EntryExpr, Expr, LiteralValue};

use super::{ENCRYPTION_STATUSES, MANAGEMENT_LEVELS, OS_TYPES};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CelType {
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    Null,
    Timestamp,
    Duration,
    List(Box<CelType>),
    Map(Box<CelType>, Box<CelType>),
    Dyn,
    /// One of the ACM attribute objects (`origin`, `request.auth`, …).
    Object(&'static str),
}

impl fmt::Display for CelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CelType::Bool => f.write_str("bool"),
            CelType::Int => f.write_str("int"),
            CelType::Uint => f.write_str("uint"),
            CelType::Double => f.write_str("double"),
            CelType::String => f.write_str("string"),
            CelType::Bytes => f.write_str("bytes"),
            CelType::Null => f.write_str("null"),
            CelType::Timestamp => f.write_str("google.protobuf.Timestamp"),
            CelType::Duration => f.write_str("google.protobuf.Duration"),
            CelType::List(e) => write!(f, "list({e})"),
            CelType::Map(k, v) => write!(f, "map({k}, {v})"),
            CelType::Dyn => f.write_str("dyn"),
            CelType::Object(name) => f.write_str(name),
        }
    }
}

/// The type of a field of an ACM attribute object, or why there is none.
fn field_type(object: &'static str, field: &str) -> Result<CelType, String> {
    use CelType::*;
    let t = match (object, field) {
        ("origin", "ip" | "region_code") => String,
        ("request", "auth") => Object("request.auth"),
        ("request", "time") => Timestamp,
        ("request.auth", "principal") => String,
        ("request.auth", "claims") => Map(Box::new(String), Box::new(Dyn)),
        ("device", "encryption_status" | "os_type" | "os_version" | "management_level" | "id") => {
            String
        }
        (
            "device",
            "is_secured_with_screenlock" | "is_admin_approved_device" | "is_corp_owned_device",
        ) => Bool,
        ("levels", _) => Bool,
        ("DeviceEncryptionStatus", f) if ENCRYPTION_STATUSES.contains(&f) => String,
        ("OsType", f) if OS_TYPES.contains(&f) => String,
        ("DeviceManagementLevel", f) if MANAGEMENT_LEVELS.contains(&f) => String,
        _ => return Err(format!("{object} has no field {field:?}")),
    };
    Ok(t)
}

fn root_type(name: &str) -> Option<CelType> {
    let object = match name {
        "origin" => "origin",
        "request" => "request",
        "device" => "device",
        "levels" => "levels",
        "DeviceEncryptionStatus" => "DeviceEncryptionStatus",
        "OsType" => "OsType",
        "DeviceManagementLevel" => "DeviceManagementLevel",
        _ => return None,
    };
    Some(CelType::Object(object))
}

/// Type-checks an expression and returns its type.
pub(crate) fn check(expr: &cel::IdedExpr) -> Result<CelType, String> {
    Checker { scopes: Vec::new() }.expr(&expr.expr)
}

struct Checker {
    /// Comprehension variables in scope, innermost last.
    scopes: Vec<(String, CelType)>,
}

fn is_numeric(t: &CelType) -> bool {
    matches!(t, CelType::Int | CelType::Uint | CelType::Double)
}

/// Whether values of the two types can meet in `==`, `<` and friends.
fn comparable(a: &CelType, b: &CelType) -> bool {
    a == b
        || matches!(a, CelType::Dyn)
        || matches!(b, CelType::Dyn)
        || (is_numeric(a) && is_numeric(b))
        || matches!(a, CelType::Null)
        || matches!(b, CelType::Null)
        || matches!(
            (a, b),
            (CelType::List(_), CelType::List(_)) | (CelType::Map(..), CelType::Map(..))
        )
}

fn expect(what: &str, got: &CelType, want: &[CelType]) -> Result<(), String> {
    if matches!(got, CelType::Dyn) || want.contains(got) {
        Ok(())
    } else {
        let names: Vec<String> = want.iter().map(ToString::to_string).collect();
        Err(format!("{what} is {got}, expected {}", names.join(" or ")))
    }
}

impl Checker {
    fn expr(&mut self, expr: &Expr) -> Result<CelType, String> {
        match expr {
            Expr::Unspecified => Ok(CelType::Dyn),
            Expr::Literal(lit) => Ok(match lit {
                LiteralValue::Boolean(_) => CelType::Bool,
                LiteralValue::Bytes(_) => CelType::Bytes,
                LiteralValue::Double(_) => CelType::Double,
                LiteralValue::Int(_) => CelType::Int,
                LiteralValue::Null => CelType::Null,
                LiteralValue::String(_) => CelType::String,
                LiteralValue::UInt(_) => CelType::Uint,
            }),
            Expr::Ident(name) => {
                if let Some((_, t)) = self.scopes.iter().rev().find(|(n, _)| n == name) {
                    return Ok(t.clone());
                }
                root_type(name).ok_or_else(|| format!("undeclared reference to {name:?}"))
            }
            Expr::Select(select) => {
                let operand = self.expr(&select.operand.expr)?;
                let field_t = match &operand {
                    CelType::Object(object) => field_type(object, &select.field)?,
                    CelType::Map(_, v) => (**v).clone(),
                    CelType::Dyn => CelType::Dyn,
                    other => return Err(format!("{other} has no field {:?}", select.field)),
                };
                Ok(if select.test { CelType::Bool } else { field_t })
            }
            Expr::List(list) => {
                let mut elem: Option<CelType> = None;
                for e in &list.elements {
                    let t = self.expr(&e.expr)?;
                    elem = Some(match elem {
                        Some(prev) if prev == t => prev,
                        Some(_) => CelType::Dyn,
                        None => t,
                    });
                }
                Ok(CelType::List(Box::new(elem.unwrap_or(CelType::Dyn))))
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(m) = &entry.expr {
                        self.expr(&m.key.expr)?;
                        self.expr(&m.value.expr)?;
                    }
                }
                Ok(CelType::Map(Box::new(CelType::Dyn), Box::new(CelType::Dyn)))
            }
            Expr::Struct(s) => Err(format!(
                "message construction {} is not supported",
                s.type_name
            )),
            Expr::Comprehension(c) => {
                let range = self.expr(&c.iter_range.expr)?;
                let elem = match &range {
                    CelType::List(e) => (**e).clone(),
                    CelType::Map(k, _) => (**k).clone(),
                    CelType::Dyn => CelType::Dyn,
                    other => return Err(format!("cannot iterate over {other}")),
                };
                let accu = self.expr(&c.accu_init.expr)?;
                self.scopes.push((c.iter_var.clone(), elem));
                if let Some(var2) = &c.iter_var2 {
                    self.scopes.push((var2.clone(), CelType::Dyn));
                }
                // The accumulator's type can change across steps (`map` builds a
                // list from an empty one), so it is checked as dyn.
                self.scopes.push((c.accu_var.clone(), CelType::Dyn));
                let cond = self.expr(&c.loop_cond.expr);
                let step = self.expr(&c.loop_step.expr);
                let result = self.expr(&c.result.expr);
                let pushed = 2 + usize::from(c.iter_var2.is_some());
                self.scopes.truncate(self.scopes.len() - pushed);
                cond?;
                step?;
                let result = result?;
                Ok(match (&accu, result) {
                    (CelType::Bool, _) => CelType::Bool,
                    (_, r) => r,
                })
            }
            Expr::Call(call) => self.call(call),
        }
    }

    fn call(&mut self, call: &cel::common::ast::CallExpr) -> Result<CelType, String> {
        let target = match &call.target {
            Some(t) => Some(self.expr(&t.expr)?),
            None => None,
        };
        let mut args = Vec::with_capacity(call.args.len());
        for a in &call.args {
            args.push(self.expr(&a.expr)?);
        }
        let name = call.func_name.as_str();
        let arity = |n: usize| -> Result<(), std::string::String> {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!("{name} takes {n} argument(s), got {}", args.len()))
            }
        };
        use CelType::*;
        match (name, &target) {
            ("_&&_" | "_||_", None) => {
                arity(2)?;
                expect("an operand of && / ||", &args[0], &[Bool])?;
                expect("an operand of && / ||", &args[1], &[Bool])?;
                Ok(Bool)
            }
            ("!_", None) => {
                arity(1)?;
                expect("the operand of !", &args[0], &[Bool])?;
                Ok(Bool)
            }
            ("@not_strictly_false", None) => Ok(Bool),
            ("_==_" | "_!=_" | "_<_" | "_<=_" | "_>_" | "_>=_", None) => {
                arity(2)?;
                if !comparable(&args[0], &args[1]) {
                    return Err(format!("cannot compare {} with {}", args[0], args[1]));
                }
                Ok(Bool)
            }
            ("@in", None) => {
                arity(2)?;
                match &args[1] {
                    List(e) if !comparable(&args[0], e) => {
                        Err(format!("cannot look for {} in {}", args[0], args[1]))
                    }
                    Map(k, _) if !comparable(&args[0], k) => {
                        Err(format!("cannot look for {} in {}", args[0], args[1]))
                    }
                    List(_) | Map(..) | Dyn => Ok(Bool),
                    other => Err(format!("`in` needs a list or map, got {other}")),
                }
            }
            ("_?_:_", None) => {
                arity(3)?;
                expect("a condition", &args[0], &[Bool])?;
                Ok(if args[1] == args[2] {
                    args[1].clone()
                } else {
                    Dyn
                })
            }
            ("_+_" | "_-_" | "_*_" | "_/_" | "_%_", None) => {
                arity(2)?;
                let (a, b) = (&args[0], &args[1]);
                if matches!(a, Dyn) || matches!(b, Dyn) {
                    return Ok(Dyn);
                }
                match (name, a, b) {
                    (_, a, b) if a == b && is_numeric(a) => Ok(a.clone()),
                    ("_+_", String, String) | ("_+_", Bytes, Bytes) => Ok(a.clone()),
                    ("_+_", List(_), List(_)) => Ok(a.clone()),
                    ("_+_" | "_-_", Timestamp, Duration) => Ok(Timestamp),
                    ("_-_", Timestamp, Timestamp) => Ok(Duration),
                    ("_+_" | "_-_", Duration, Duration) => Ok(Duration),
                    _ => Err(format!("no operator {name} for {a} and {b}")),
                }
            }
            ("-_", None) => {
                arity(1)?;
                expect("the operand of unary -", &args[0], &[Int, Double, Dyn])?;
                Ok(args[0].clone())
            }
            ("_[_]", None) => {
                arity(2)?;
                match &args[0] {
                    List(e) => {
                        expect("a list index", &args[1], &[Int, Uint])?;
                        Ok((**e).clone())
                    }
                    Map(_, v) => Ok((**v).clone()),
                    Dyn => Ok(Dyn),
                    other => Err(format!("cannot index {other}")),
                }
            }
            ("size", None) => {
                arity(1)?;
                expect("the argument of size", &args[0], &[String, Bytes, Dyn]).or_else(|_| {
                    match &args[0] {
                        List(_) | Map(..) => Ok(()),
                        other => Err(format!("size() of {other}")),
                    }
                })?;
                Ok(Int)
            }
            ("size", Some(t)) => {
                arity(0)?;
                match t {
                    String | Bytes | List(_) | Map(..) | Dyn => Ok(Int),
                    other => Err(format!("size() of {other}")),
                }
            }
            ("contains" | "startsWith" | "endsWith" | "matches", Some(t)) => {
                arity(1)?;
                expect(&format!("the receiver of {name}"), t, &[String])?;
                expect(&format!("the argument of {name}"), &args[0], &[String])?;
                Ok(Bool)
            }
            ("inIpRange", None) => {
                arity(2)?;
                expect("the address given to inIpRange", &args[0], &[String])?;
                expect("the range given to inIpRange", &args[1], &[String])?;
                Ok(Bool)
            }
            ("timestamp", None) => {
                arity(1)?;
                expect(
                    "the argument of timestamp",
                    &args[0],
                    &[String, Int, Timestamp],
                )?;
                Ok(Timestamp)
            }
            ("duration", None) => {
                arity(1)?;
                expect("the argument of duration", &args[0], &[String, Duration])?;
                Ok(Duration)
            }
            ("string", None) => Ok(String),
            ("int", None) => Ok(Int),
            ("uint", None) => Ok(Uint),
            ("double", None) => Ok(Double),
            ("bool", None) => Ok(Bool),
            ("dyn", None) => Ok(Dyn),
            (
                "getFullYear" | "getMonth" | "getDate" | "getDayOfMonth" | "getDayOfWeek"
                | "getDayOfYear" | "getHours" | "getMinutes" | "getSeconds" | "getMilliseconds",
                Some(t),
            ) => {
                expect(
                    &format!("the receiver of {name}"),
                    t,
                    &[Timestamp, Duration],
                )?;
                Ok(Int)
            }
            ("lowerAscii" | "upperAscii" | "trim", Some(t)) => {
                expect(&format!("the receiver of {name}"), t, &[String])?;
                Ok(String)
            }
            _ => Err(format!("unknown function {name}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_src(src: &str) -> Result<CelType, String> {
        let program = cel::Env::stdlib().compile(src).unwrap();
        check(program.expression())
    }

    #[test]
    fn types_the_acm_schema() {
        assert_eq!(check_src("origin.region_code == 'US'"), Ok(CelType::Bool));
        assert_eq!(
            check_src("request.auth.claims.groups.exists(g, g == 'eng')"),
            Ok(CelType::Bool)
        );
        assert_eq!(
            check_src("device.os_type == OsType.DESKTOP_MAC && levels.corp"),
            Ok(CelType::Bool)
        );
        assert_eq!(
            check_src("request.time.getHours('Europe/Berlin') < 18"),
            Ok(CelType::Bool)
        );
    }

    #[test]
    fn refuses_mismatches_and_unknown_names() {
        assert!(check_src("origin.ip == 1").is_err());
        assert!(check_src("origin.country == 'US'").is_err());
        assert!(check_src("OsType.BEOS == device.os_type").is_err());
        assert!(check_src("size(true) > 1").is_err());
        assert!(check_src("frobnicate(origin.ip)").is_err());
    }
}
