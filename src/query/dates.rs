//! Dates and times of queries: parsing absolute and relative date ranges in the query timezone
//! and turning local bounds into UTC instants.

use crate::vocab::time::{add_units, parse_local, parse_local_datetime, period_end, period_start};
use crate::vocab::TimeUnit;
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

/// Inclusive local bounds in the query timezone.
pub type DateRange = (NaiveDateTime, NaiveDateTime);

const END_OF_DAY: (u32, u32, u32, u32) = (23, 59, 59, 999);

fn end_of_day(d: NaiveDate) -> NaiveDateTime {
    let (h, m, s, ms) = END_OF_DAY;
    d.and_hms_milli_opt(h, m, s, ms).unwrap_or_else(|| d.and_time(NaiveTime::MIN))
}

/// `[from, to]` as Cube pads them: a date-only `from` starts at 00:00:00.000 and a date-only
/// `to` ends at 23:59:59.999.
pub fn absolute_range(from: &str, to: &str) -> Result<DateRange, String> {
    let (f, _) = parse_local(from).ok_or_else(|| format!("can't parse date: '{}'", short(from)))?;
    let (t, t_has_time) = parse_local(to).ok_or_else(|| format!("can't parse date: '{}'", short(to)))?;
    let t = if t_has_time { t } else { end_of_day(t.date()) };
    Ok((f, t))
}

fn short(s: &str) -> String {
    s.chars().take(60).collect()
}

/// Relative ranges as Cube reads them, in local time: `today`, `yesterday`, `tomorrow`,
/// `this|last|next <unit>`, `last|next N <units>`, `from X to Y`, or a single date.
pub fn relative_range(s: &str, now: NaiveDateTime) -> Result<DateRange, String> {
    let text = s.trim().to_ascii_lowercase();
    let words: Vec<&str> = text.split_whitespace().collect();
    let bad = || format!("can't parse date: '{}'", short(s));
    let day = |offset: i64| {
        let d = now.date() + Duration::days(offset);
        Ok((d.and_time(NaiveTime::MIN), end_of_day(d)))
    };
    match words.as_slice() {
        ["today"] => return day(0),
        ["yesterday"] => return day(-1),
        ["tomorrow"] => return day(1),
        [which @ ("this" | "last" | "next"), unit] => {
            let unit = TimeUnit::parse(unit).ok_or_else(bad)?;
            let shift = match *which {
                "this" => 0,
                "last" => -1,
                _ => 1,
            };
            let start = add_units(period_start(now, unit), shift, unit).ok_or_else(bad)?;
            return Ok((start, period_end(start, unit).ok_or_else(bad)?));
        }
        [which @ ("last" | "next"), n, unit] => {
            let n: i64 = n.parse().map_err(|_| bad())?;
            let unit = TimeUnit::parse(unit).ok_or_else(bad)?;
            let base = period_start(now, unit);
            let (a, b) = if *which == "last" { (-n, -1) } else { (1, n) };
            let start = add_units(base, a, unit).ok_or_else(bad)?;
            let last = add_units(base, b, unit).ok_or_else(bad)?;
            return Ok((start, period_end(last, unit).ok_or_else(bad)?));
        }
        _ => {}
    }
    if let Some(rest) = text.strip_prefix("from ") {
        let (x, y) = rest.split_once(" to ").ok_or_else(bad)?;
        let fine = ["second", "minute", "hour"].iter().any(|u| text.contains(u));
        let from = point(x.trim(), now).ok_or_else(bad)?;
        let to = point(y.trim(), now).ok_or_else(bad)?;
        let (from, to) = if fine { (from, to) } else { (from.date().and_time(NaiveTime::MIN), end_of_day(to.date())) };
        return Ok((from, to));
    }
    absolute_range(s, s).map_err(|_| bad())
}

/// One end of `from X to Y`: `now`, `today`, `yesterday`, `tomorrow`, `N units ago`,
/// `N units from now`, or a date.
fn point(s: &str, now: NaiveDateTime) -> Option<NaiveDateTime> {
    let words: Vec<&str> = s.split_whitespace().collect();
    match words.as_slice() {
        ["now"] => Some(now),
        ["today"] => Some(now.date().and_time(NaiveTime::MIN)),
        ["yesterday"] => Some((now.date() - Duration::days(1)).and_time(NaiveTime::MIN)),
        ["tomorrow"] => Some((now.date() + Duration::days(1)).and_time(NaiveTime::MIN)),
        [n, unit, "ago"] => add_units(now, -n.parse::<i64>().ok()?, TimeUnit::parse(unit)?),
        [n, unit, "from", "now"] => add_units(now, n.parse().ok()?, TimeUnit::parse(unit)?),
        _ => parse_local_datetime(s),
    }
}

/// The UTC instant of a local wall-clock time in `tz`. In a DST gap the first valid instant
/// after it is used; in an overlap, the earlier instant for a start bound and the later for an
/// end bound.
pub fn local_to_utc(local: NaiveDateTime, tz: chrono_tz::Tz, is_end: bool) -> NaiveDateTime {
    use chrono::offset::LocalResult;
    use chrono::TimeZone;
    let mut probe = local;
    for _ in 0..8 {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(t) => return t.naive_utc(),
            LocalResult::Ambiguous(a, b) => return if is_end { b.naive_utc() } else { a.naive_utc() },
            LocalResult::None => probe += Duration::minutes(30),
        }
    }
    local
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::time::format_local;

    fn dt(s: &str) -> NaiveDateTime {
        parse_local_datetime(s).unwrap()
    }

    fn range(s: &str) -> (String, String) {
        let now = dt("2024-03-13T15:30:00");
        let (a, b) = relative_range(s, now).unwrap();
        (format_local(a), format_local(b))
    }

    #[test]
    fn relative_ranges() {
        assert_eq!(range("today"), ("2024-03-13T00:00:00.000".into(), "2024-03-13T23:59:59.999".into()));
        assert_eq!(range("yesterday").0, "2024-03-12T00:00:00.000");
        assert_eq!(range("this week"), ("2024-03-11T00:00:00.000".into(), "2024-03-17T23:59:59.999".into()));
        assert_eq!(range("last month"), ("2024-02-01T00:00:00.000".into(), "2024-02-29T23:59:59.999".into()));
        assert_eq!(range("next quarter"), ("2024-04-01T00:00:00.000".into(), "2024-06-30T23:59:59.999".into()));
        assert_eq!(range("last 7 days"), ("2024-03-06T00:00:00.000".into(), "2024-03-12T23:59:59.999".into()));
        assert_eq!(range("last year").0, "2023-01-01T00:00:00.000");
        assert_eq!(
            range("from 7 days ago to now"),
            ("2024-03-06T00:00:00.000".into(), "2024-03-13T23:59:59.999".into())
        );
        assert_eq!(
            range("from 2 hours ago to now"),
            ("2024-03-13T13:30:00.000".into(), "2024-03-13T15:30:00.000".into())
        );
        assert!(relative_range("fortnight ago", dt("2024-03-13T00:00:00")).is_err());
    }

    #[test]
    fn absolute_padding() {
        let (a, b) = absolute_range("2024-01-01", "2024-01-31").unwrap();
        assert_eq!(a, dt("2024-01-01T00:00:00"));
        assert_eq!(b.format("%H:%M:%S%.3f").to_string(), "23:59:59.999");
        let (_, b) = absolute_range("2024-01-01", "2024-01-31T10:00:00Z").unwrap();
        assert_eq!(b, dt("2024-01-31T10:00:00"));
    }

    #[test]
    fn utc_conversion_across_dst() {
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(local_to_utc(dt("2024-01-01T00:00:00"), berlin, false), dt("2023-12-31T23:00:00"));
        assert_eq!(local_to_utc(dt("2024-07-01T00:00:00"), berlin, false), dt("2024-06-30T22:00:00"));
        // 02:30 on 2024-03-31 does not exist in Berlin.
        assert_eq!(local_to_utc(dt("2024-03-31T02:30:00"), berlin, false), dt("2024-03-31T01:00:00"));
    }
}
