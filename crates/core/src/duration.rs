//! Go duration syntax (`300ms`, `2h45m`, `1.5h`), as Cloudflare uses for
//! `session_duration`. Units: ns, us (or µs), ms, s, m, h.

use std::time::Duration;

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("is empty")]
    Empty,
    #[error("must not be negative")]
    Negative,
    #[error("is missing a unit (use ns, us, µs, ms, s, m or h)")]
    MissingUnit,
    #[error("has unknown unit {0:?} (use ns, us, µs, ms, s, m or h)")]
    UnknownUnit(String),
    #[error("has a malformed number")]
    BadNumber,
    #[error("is too large")]
    Overflow,
}

/// Parses a Go duration. A bare `0` is accepted, as Go does.
pub fn parse_go_duration(text: &str) -> Result<Duration, DurationError> {
    let mut rest = text;
    if let Some(stripped) = rest.strip_prefix('+') {
        rest = stripped;
    } else if rest.starts_with('-') {
        return Err(DurationError::Negative);
    }
    if rest.is_empty() {
        return Err(DurationError::Empty);
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(DurationError::BadNumber);
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(DurationError::MissingUnit);
        }
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            other => return Err(DurationError::UnknownUnit(other.to_string())),
        };
        total_nanos = total_nanos
            .checked_add(scaled(number, unit_nanos)?)
            .ok_or(DurationError::Overflow)?;
        rest = next;
    }
    // Go durations are int64 nanoseconds.
    if total_nanos > i64::MAX as u128 {
        return Err(DurationError::Overflow);
    }
    let secs = (total_nanos / 1_000_000_000) as u64;
    let nanos = (total_nanos % 1_000_000_000) as u32;
    Ok(Duration::new(secs, nanos))
}

/// `number` (digits with at most one dot) times `unit_nanos`, truncated like Go.
fn scaled(number: &str, unit_nanos: u128) -> Result<u128, DurationError> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| DurationError::Overflow)?
    };
    let mut value = whole
        .checked_mul(unit_nanos)
        .ok_or(DurationError::Overflow)?;
    let mut scale = unit_nanos;
    for digit in frac.bytes().take(30) {
        scale /= 10;
        if scale == 0 {
            break;
        }
        value += u128::from(digit - b'0') * scale;
    }
    Ok(value)
}

/// Formats whole seconds the way the API reports derived durations (`3600s`).
pub fn format_seconds(seconds: u64) -> String {
    format!("{seconds}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_go_examples() {
        assert_eq!(parse_go_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(
            parse_go_duration("2h45m"),
            Ok(Duration::from_secs(2 * 3600 + 45 * 60))
        );
        assert_eq!(parse_go_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("24h"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_go_duration("10µs"), Ok(Duration::from_micros(10)));
        assert_eq!(parse_go_duration("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(parse_go_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_go_duration(".5s"), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn refuses_malformed_durations() {
        assert_eq!(parse_go_duration(""), Err(DurationError::Empty));
        assert_eq!(parse_go_duration("24"), Err(DurationError::MissingUnit));
        assert_eq!(
            parse_go_duration("3d"),
            Err(DurationError::UnknownUnit("d".into()))
        );
        assert_eq!(parse_go_duration("-1h"), Err(DurationError::Negative));
        assert_eq!(parse_go_duration("h"), Err(DurationError::BadNumber));
        assert_eq!(parse_go_duration("1..2h"), Err(DurationError::BadNumber));
        assert_eq!(
            parse_go_duration("99999999999999999999h"),
            Err(DurationError::Overflow)
        );
    }
}
