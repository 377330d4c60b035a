//! Dates and times of queries: parsing absolute and relative date ranges in the query timezone
//! and turning local bounds into UTC instants.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

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
    if s.len() > 6 {
        let tail = &s[s.len() - 6..];
        let tb = tail.as_bytes();
        if (tb[0] == b'+' || tb[0] == b'-') && tb[3] == b':' && s.contains('T') {
            return &s[..s.len() - 6];
        }
    }
    s
}
