//! PingOne comparisons with XACML meaning: a missing attribute compares false,
//! a type mismatch (GREATER_THAN on a string) is INDETERMINATE.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::request::{Eval, Tri};
use crate::attribute::AttrValue;
use crate::compile::Compare;
use crate::ir::Comparator;

fn operand<'x, 'r: 'x>(
    ev: &Eval<'_, 'r>,
    op: &'x crate::compile::CompiledOperand,
) -> AttrValue<'x> {
    use crate::compile::CompiledOperand as O;
    match op {
        O::Attribute(path) => path.lookup(ev.req),
        O::Constant(_) => op.constant().unwrap_or(AttrValue::Missing),
        O::RepetitionItem => ev.item.get().unwrap_or(AttrValue::Missing),
    }
}

pub(crate) fn compare(ev: &Eval<'_, '_>, cmp: &Compare) -> Tri {
    let left = operand(ev, &cmp.left);
    let right = operand(ev, &cmp.right);
    compare_values(left, cmp.comparator, right)
}

/// A scalar both sides can agree on.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
enum Scalar<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    Time(DateTime<Utc>),
    Ip(IpAddr),
}

fn scalar(v: AttrValue<'_>) -> Option<Scalar<'_>> {
    match v {
        AttrValue::Str(s) => Some(Scalar::Str(s)),
        AttrValue::Num(n) => Some(Scalar::Num(n)),
        AttrValue::Bool(b) => Some(Scalar::Bool(b)),
        AttrValue::Time(t) => Some(Scalar::Time(t)),
        AttrValue::Ip(ip) => Some(Scalar::Ip(ip)),
        AttrValue::Missing | AttrValue::Strs(_) | AttrValue::Json(_) => None,
    }
}

/// Brings two scalars to one type: a string constant is read as a number, a
/// boolean, a time or an address when the other side is one.
fn unify<'a>(a: Scalar<'a>, b: Scalar<'a>) -> Option<(Scalar<'a>, Scalar<'a>)> {
    use Scalar::*;
    let coerce = |s: &str, like: Scalar<'_>| -> Option<Scalar<'static>> {
        match like {
            Num(_) => s.trim().parse().ok().map(Num),
            Bool(_) => match s {
                "true" => Some(Bool(true)),
                "false" => Some(Bool(false)),
                _ => None,
            },
            Time(_) => s.parse::<DateTime<Utc>>().ok().map(Time),
            Ip(_) => s.parse().ok().map(Ip),
            Str(_) => None,
        }
    };
    match (a, b) {
        (Str(_), Str(_))
        | (Num(_), Num(_))
        | (Bool(_), Bool(_))
        | (Time(_), Time(_))
        | (Ip(_), Ip(_)) => Some((a, b)),
        (Str(s), other) => coerce(s, other).map(|c| (c, other)),
        (other, Str(s)) => coerce(s, other).map(|c| (other, c)),
        _ => None,
    }
}

fn equal(a: Scalar<'_>, b: Scalar<'_>) -> Option<bool> {
    unify(a, b).map(|(a, b)| a == b)
}

pub(crate) fn compare_values(left: AttrValue<'_>, op: Comparator, right: AttrValue<'_>) -> Tri {
    if matches!(left, AttrValue::Missing) || matches!(right, AttrValue::Missing) {
        return Tri::False;
    }
    match op {
        Comparator::Equals | Comparator::NotEquals => {
            let (Some(a), Some(b)) = (scalar(left), scalar(right)) else {
                return Tri::Unknown;
            };
            match equal(a, b) {
                Some(eq) => Tri::from(eq == (op == Comparator::Equals)),
                None => Tri::Unknown,
            }
        }
        Comparator::Contains | Comparator::NotContains => {
            let Some(needle) = scalar(right) else {
                return Tri::Unknown;
            };
            let found = match left {
                AttrValue::Strs(items) => Some(
                    items
                        .iter()
                        .any(|i| equal(Scalar::Str(i), needle) == Some(true)),
                ),
                AttrValue::Json(serde_json::Value::Array(items)) => Some(items.iter().any(|i| {
                    scalar(crate::attribute::json_value(i)).and_then(|s| equal(s, needle))
                        == Some(true)
                })),
                AttrValue::Str(haystack) => match needle {
                    Scalar::Str(n) => Some(haystack.contains(n)),
                    _ => None,
                },
                _ => None,
            };
            match found {
                Some(f) => Tri::from(f == (op == Comparator::Contains)),
                None => Tri::Unknown,
            }
        }
        Comparator::GreaterThan
        | Comparator::GreaterThanOrEqual
        | Comparator::LessThan
        | Comparator::LessThanOrEqual => {
            let (Some(a), Some(b)) = (scalar(left), scalar(right)) else {
                return Tri::Unknown;
            };
            match unify(a, b) {
                Some((a @ (Scalar::Num(_) | Scalar::Time(_)), b)) => {
                    let Some(ord) = a.partial_cmp(&b) else {
                        return Tri::Unknown;
                    };
                    Tri::from(match op {
                        Comparator::GreaterThan => ord.is_gt(),
                        Comparator::GreaterThanOrEqual => ord.is_ge(),
                        Comparator::LessThan => ord.is_lt(),
                        _ => ord.is_le(),
                    })
                }
                _ => Tri::Unknown,
            }
        }
        Comparator::StartsWith | Comparator::EndsWith => match (left, right) {
            (AttrValue::Str(a), AttrValue::Str(b)) => Tri::from(if op == Comparator::StartsWith {
                a.starts_with(b)
            } else {
                a.ends_with(b)
            }),
            _ => Tri::Unknown,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_compares_false_and_mismatch_is_indeterminate() {
        assert_eq!(
            compare_values(
                AttrValue::Missing,
                Comparator::NotEquals,
                AttrValue::Str("x")
            ),
            Tri::False
        );
        assert_eq!(
            compare_values(
                AttrValue::Str("abc"),
                Comparator::GreaterThan,
                AttrValue::Str("5")
            ),
            Tri::Unknown
        );
        assert_eq!(
            compare_values(
                AttrValue::Num(12.0),
                Comparator::GreaterThan,
                AttrValue::Str("5")
            ),
            Tri::True
        );
    }

    #[test]
    fn contains_searches_lists_and_substrings() {
        let groups = vec!["eng".to_string(), "ops".to_string()];
        assert_eq!(
            compare_values(
                AttrValue::Strs(&groups),
                Comparator::Contains,
                AttrValue::Str("ops")
            ),
            Tri::True
        );
        assert_eq!(
            compare_values(
                AttrValue::Strs(&groups),
                Comparator::NotContains,
                AttrValue::Str("ops")
            ),
            Tri::False
        );
        assert_eq!(
            compare_values(
                AttrValue::Str("alice@example.com"),
                Comparator::Contains,
                AttrValue::Str("@example")
            ),
            Tri::True
        );
        assert_eq!(
            compare_values(
                AttrValue::Strs(&groups),
                Comparator::Equals,
                AttrValue::Str("ops")
            ),
            Tri::Unknown
        );
    }
}
