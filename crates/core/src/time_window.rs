//! ZTNA `time_window`: `DAYS HH:MM-HH:MM [IANA zone]`.
//!
//! DAYS is `*` or a comma-separated list of days (`Mon`) and day ranges (`Mon-Fri`,
//! `Fri-Mon` wraps over the weekend). The zone defaults to UTC. The end is
//! exclusive; `24:00` is accepted as an end. A window whose end is before its
//! start crosses midnight: `Fri 22:00-02:00` covers Friday 22:00 to Saturday 02:00,
//! so the day list names the day a window starts on.

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeWindowError {
    #[error("{0:?} is not of the form `DAYS HH:MM-HH:MM [IANA zone]` (e.g. `Mon-Fri 09:00-17:00 Europe/Berlin`)")]
    Shape(String),
    #[error("{0:?} is not a day (use Mon, Tue, Wed, Thu, Fri, Sat, Sun or *)")]
    Day(String),
    #[error("{0:?} is not a time of day HH:MM")]
    Time(String),
    #[error("{0:?} is not an IANA time zone")]
    Zone(String),
    #[error("start and end are equal, so the window is empty")]
    Empty,
}

/// A parsed weekly time window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeWindow {
    /// Bit `n` set: the window starts on weekday `n` (Monday = 0).
    days: u8,
    start_minute: u16,
    end_minute: u16,
    zone: Tz,
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl TimeWindow {
    pub fn parse(text: &str) -> Result<TimeWindow, TimeWindowError> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let (days, times, zone) = match parts.as_slice() {
            [days, times] => (*days, *times, None),
            [days, times, zone] => (*days, *times, Some(*zone)),
            _ => return Err(TimeWindowError::Shape(text.to_string())),
        };
        let days = parse_days(days)?;
        let (start, end) = times
            .split_once('-')
            .ok_or_else(|| TimeWindowError::Shape(text.to_string()))?;
        let start_minute = parse_minute(start, false)?;
        let end_minute = parse_minute(end, true)?;
        if start_minute == end_minute {
            return Err(TimeWindowError::Empty);
        }
        let zone = match zone {
            None => Tz::UTC,
            Some(name) => name
                .parse::<Tz>()
                .map_err(|_| TimeWindowError::Zone(name.to_string()))?,
        };
        Ok(TimeWindow {
            days,
            start_minute,
            end_minute,
            zone,
        })
    }

    /// Whether `at` falls inside the window, in the window's own time zone.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.zone);
        let weekday = local.weekday().num_days_from_monday() as u8;
        let minute = (local.hour() * 60 + local.minute()) as u16;
        let starts_on = |day: u8| self.days & (1 << day) != 0;
        if self.start_minute < self.end_minute {
            starts_on(weekday) && (self.start_minute..self.end_minute).contains(&minute)
        } else {
            // Crosses midnight: the evening part belongs to today's window, the
            // early-morning part to the window that started yesterday.
            let yesterday = (weekday + 6) % 7;
            (starts_on(weekday) && minute >= self.start_minute)
                || (starts_on(yesterday) && minute < self.end_minute)
        }
    }
}

fn parse_days(text: &str) -> Result<u8, TimeWindowError> {
    if text == "*" {
        return Ok(0x7f);
    }
    let mut days = 0u8;
    for item in text.split(',') {
        match item.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (day_index(from)?, day_index(to)?);
                let mut day = from;
                loop {
                    days |= 1 << day;
                    if day == to {
                        break;
                    }
                    day = (day + 1) % 7;
                }
            }
            None => days |= 1 << day_index(item)?,
        }
    }
    Ok(days)
}

fn day_index(name: &str) -> Result<u8, TimeWindowError> {
    let lower = name.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|d| *d == lower)
        .map(|i| i as u8)
        .ok_or_else(|| TimeWindowError::Day(name.to_string()))
}

fn parse_minute(text: &str, is_end: bool) -> Result<u16, TimeWindowError> {
    let bad = || TimeWindowError::Time(text.to_string());
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if m > 59 || h > 24 || (h == 24 && (m != 0 || !is_end)) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn office_hours_in_utc() {
        let w = TimeWindow::parse("Mon-Fri 09:00-17:00").unwrap();
        assert!(w.contains(at("2026-11-23T09:00:00Z"))); // Monday
        assert!(!w.contains(at("2026-11-23T17:00:00Z"))); // end exclusive
        assert!(!w.contains(at("2026-11-22T10:00:00Z"))); // Sunday
    }

    #[test]
    fn crosses_midnight_and_belongs_to_the_start_day() {
        let w = TimeWindow::parse("Fri 22:00-02:00").unwrap();
        assert!(w.contains(at("2026-11-27T23:00:00Z"))); // Friday night
        assert!(w.contains(at("2026-11-28T01:59:00Z"))); // Saturday early
        assert!(!w.contains(at("2026-11-28T02:00:00Z")));
        assert!(!w.contains(at("2026-11-27T01:00:00Z"))); // Friday early: Thursday's window
    }

    #[test]
    fn uses_the_named_zone() {
        let w = TimeWindow::parse("Mon-Fri 09:00-17:00 America/New_York").unwrap();
        assert!(!w.contains(at("2026-11-23T09:30:00Z"))); // 04:30 in New York
        assert!(w.contains(at("2026-11-23T14:30:00Z"))); // 09:30 in New York
    }

    #[test]
    fn refuses_malformed_windows() {
        for bad in [
            "",
            "Mon-Fri",
            "Mon-Fri 9:00-17:00",
            "Funday 09:00-17:00",
            "Mon 09:00-17:00 Mars/Olympus",
            "Mon 25:00-26:00",
            "Mon 09:00-09:00",
            "Mon 24:00-02:00",
            "Mon 09:00-17:00 UTC extra",
        ] {
            assert!(TimeWindow::parse(bad).is_err(), "{bad}");
        }
        assert!(TimeWindow::parse("* 00:00-24:00").is_ok());
        assert!(TimeWindow::parse("Sat,Sun 10:00-12:00").is_ok());
    }
}
