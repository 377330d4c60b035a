//! Time as both model files and queries write it: the calendar units of granularities,
//! intervals and relative date ranges, their arithmetic, and local date-times (no zone) as Cube
//! reads and writes them. Below `resolve` and `query`, which both use it.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimeUnit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl TimeUnit {
    pub fn parse(s: &str) -> Option<TimeUnit> {
        let s = s.strip_suffix('s').unwrap_or(s);
        Some(match s {
            "second" => TimeUnit::Second,
            "minute" => TimeUnit::Minute,
            "hour" => TimeUnit::Hour,
            "day" => TimeUnit::Day,
            "week" => TimeUnit::Week,
            "month" => TimeUnit::Month,
            "quarter" => TimeUnit::Quarter,
            "year" => TimeUnit::Year,
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            TimeUnit::Second => "second",
            TimeUnit::Minute => "minute",
            TimeUnit::Hour => "hour",
            TimeUnit::Day => "day",
            TimeUnit::Week => "week",
            TimeUnit::Month => "month",
            TimeUnit::Quarter => "quarter",
            TimeUnit::Year => "year",
        }
    }

    pub const ALL: [TimeUnit; 8] = [
        TimeUnit::Second,
        TimeUnit::Minute,
        TimeUnit::Hour,
        TimeUnit::Day,
        TimeUnit::Week,
        TimeUnit::Month,
        TimeUnit::Quarter,
        TimeUnit::Year,
    ];
}

/// Parses `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or an ISO date-time (a `Z` or offset is dropped, as
/// Cube does: the value is read as local time in the query timezone). Returns the local
/// date-time and whether a time part was given.
pub fn parse_local(s: &str) -> Option<(NaiveDateTime, bool)> {
    let s = s.trim();
    let midnight = NaiveTime::MIN;
    if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
        let y: i32 = s.parse().ok()?;
        return Some((NaiveDate::from_ymd_opt(y, 1, 1)?.and_time(midnight), false));
    }
    if s.len() == 7 && s.as_bytes()[4] == b'-' {
        let y: i32 = s[..4].parse().ok()?;
        let m: u32 = s[5..].parse().ok()?;
        return Some((NaiveDate::from_ymd_opt(y, m, 1)?.and_time(midnight), false));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some((d.and_time(midnight), false));
    }
    let body = strip_zone(s);
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(body, fmt) {
            return Some((dt, true));
        }
    }
    None
}

/// Like [`parse_local`], the date-time only.
pub fn parse_local_datetime(s: &str) -> Option<NaiveDateTime> {
    parse_local(s).map(|(d, _)| d)
}

/// Drops a trailing `Z` or `+hh:mm` / `-hh:mm` offset from an ISO date-time.
fn strip_zone(s: &str) -> &str {
    if let Some(b) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        return b;
    }
    // Bytes, not a string slice: the input is user text, and `len - 6` may fall inside a
    // multi-byte character. An ASCII sign at that byte is a character boundary.
    let b = s.as_bytes();
    if b.len() > 6 {
        let at = b.len() - 6;
        if (b[at] == b'+' || b[at] == b'-') && b[at + 3] == b':' && s.contains('T') {
            return s.get(..at).unwrap_or(s);
        }
    }
    s
}

/// A local date-time as Cube writes one in results and labels: `2024-01-31T23:59:59.999`.
pub fn format_local(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// The start of the `unit` period containing `dt` (weeks start on Monday).
pub fn period_start(dt: NaiveDateTime, unit: TimeUnit) -> NaiveDateTime {
    let d = dt.date();
    let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
    match unit {
        TimeUnit::Second => dt.with_nanosecond(0).unwrap_or(dt),
        TimeUnit::Minute => dt.with_nanosecond(0).and_then(|x| x.with_second(0)).unwrap_or(dt),
        TimeUnit::Hour => {
            dt.with_nanosecond(0).and_then(|x| x.with_second(0)).and_then(|x| x.with_minute(0)).unwrap_or(dt)
        }
        TimeUnit::Day => midnight(d),
        TimeUnit::Week => midnight(d - Duration::days(d.weekday().num_days_from_monday() as i64)),
        TimeUnit::Month => midnight(d.with_day(1).unwrap_or(d)),
        TimeUnit::Quarter => {
            let m = (d.month0() / 3) * 3 + 1;
            midnight(NaiveDate::from_ymd_opt(d.year(), m, 1).unwrap_or(d))
        }
        TimeUnit::Year => midnight(NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d)),
    }
}

/// `dt` moved by `n` units (calendar-aware for months, quarters and years).
pub fn add_units(dt: NaiveDateTime, n: i64, unit: TimeUnit) -> Option<NaiveDateTime> {
    let months = |m: i64| {
        if m >= 0 {
            dt.checked_add_months(Months::new(u32::try_from(m).ok()?))
        } else {
            dt.checked_sub_months(Months::new(u32::try_from(-m).ok()?))
        }
    };
    match unit {
        TimeUnit::Second => dt.checked_add_signed(Duration::try_seconds(n)?),
        TimeUnit::Minute => dt.checked_add_signed(Duration::try_minutes(n)?),
        TimeUnit::Hour => dt.checked_add_signed(Duration::try_hours(n)?),
        TimeUnit::Day => dt.checked_add_signed(Duration::try_days(n)?),
        TimeUnit::Week => dt.checked_add_signed(Duration::try_weeks(n)?),
        TimeUnit::Month => months(n),
        TimeUnit::Quarter => months(n.checked_mul(3)?),
        TimeUnit::Year => months(n.checked_mul(12)?),
    }
}

/// The last millisecond of the `unit` period that starts at `start`.
pub fn period_end(start: NaiveDateTime, unit: TimeUnit) -> Option<NaiveDateTime> {
    add_units(start, 1, unit).map(|next| next - Duration::milliseconds(1))
}
