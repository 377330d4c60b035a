//! Custom granularities given as an interval: which bucket a local time falls in.
//!
//! - `1 <unit>` without an origin: the unit's own truncation, moved by the `offset` if any.
//! - `1 month` / `1 quarter` / `1 year` with an origin on day 1 to 28: the same, with the origin
//!   turned into an offset from its period start (Cube's Tesseract, #11742).
//! - Fixed lengths (weeks, days, hours, minutes, seconds): `origin + n * length`.
//! - Anything with months, quarters or years otherwise (`2 months`, `6 months` without an
//!   origin, `3 months 3 days 3 hours`, `1 month` from January 31): calendar-exact buckets
//!   `S(k) = origin + k months + k days + k seconds` (each part times `k`, months first, the
//!   month end clamped as every warehouse clamps it). A row belongs to the `k` with
//!   `S(k) <= t < S(k + 1)`. `k` is first estimated with average month lengths, which is never
//!   more than one bucket off for buckets of a month or more, then corrected by comparing `t` with
//!   `S(k)` and `S(k + 1)`. The same buckets on every dialect; Cube's own SQL measures months as
//!   30 days on PostgreSQL and counts month boundaries on BigQuery and Snowflake, and so puts rows
//!   in other buckets than its own labels say (see the README).

use super::render::{Renderer, R};
use crate::diag::{Code, Diagnostic};
use crate::resolve::Interval;
use crate::vocab::time as dates;
use crate::vocab::TimeUnit;
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use minijinja::context;

/// The average Gregorian month, in seconds (365.2425 days / 12).
const AVERAGE_MONTH_SECONDS: i64 = 2_629_746;

/// How a custom interval granularity cuts time into buckets; the SQL and the rolling-window
/// series both come from it, so they agree on every edge.
#[derive(Debug, Clone, PartialEq)]
pub enum BucketRule {
    /// The unit's own buckets, moved by `offset` (`trunc(t - offset) + offset`).
    Natural { unit: TimeUnit, offset: Option<Interval> },
    /// `origin + k * seconds`.
    Fixed { origin: NaiveDateTime, seconds: i64 },
    /// `origin + k months + k days + k seconds`, months first, the month end clamped.
    Calendar { origin: NaiveDateTime, months: i64, days: i64, seconds: i64 },
}

impl BucketRule {
    /// The rule of `interval` with `offset` or `origin` (local), "now" deciding the default origin.
    pub fn new(
        interval: &Interval,
        offset: Option<&Interval>,
        origin: Option<&str>,
        now: NaiveDateTime,
        name: &str,
    ) -> R<BucketRule> {
        let single = interval.single();
        if let (Some((1, unit)), None) = (single, origin) {
            return Ok(BucketRule::Natural { unit, offset: offset.cloned() });
        }
        let parsed_origin = origin.and_then(crate::vocab::time::parse_local_datetime);
        // `1 month` (quarter, year) with an origin: the unit's calendar buckets shifted by the
        // origin's distance from its period start, as Cube's Tesseract does (#11742), so a
        // fiscal year starting on April 1 is April to March.
        if let (Some((1, unit @ (TimeUnit::Month | TimeUnit::Quarter | TimeUnit::Year))), Some(o)) =
            (single, parsed_origin)
        {
            if let Some(offset) = origin_as_offset(unit, o) {
                return Ok(BucketRule::Natural { unit, offset });
            }
        }
        let overflow =
            || Diagnostic::error(Code::QueryGranularity, format!("granularity `{name}`: {interval} is too large"));
        // Without an origin, Cube anchors buckets at the start of the current year (a Monday for
        // weeks), moved by the offset.
        let origin = match parsed_origin {
            Some(o) => o,
            None => {
                let base = default_origin(interval, now);
                match offset {
                    Some(off) => add_calendar(base, off).ok_or_else(overflow)?,
                    None => base,
                }
            }
        };
        if let Some(seconds) = fixed_seconds(interval) {
            return Ok(BucketRule::Fixed { origin, seconds });
        }
        let (months, days, seconds) = calendar_parts(interval).ok_or_else(overflow)?;
        if months <= 0 || days < 0 || seconds < 0 {
            return Err(Diagnostic::error(
                Code::QueryGranularity,
                format!("granularity `{name}`: the interval {interval} must move forward in every part"),
            ));
        }
        approximate_seconds(months, days, seconds).ok_or_else(overflow)?;
        Ok(BucketRule::Calendar { origin, months, days, seconds })
    }

    /// The start of the bucket holding local time `t`.
    pub fn start_of(&self, t: NaiveDateTime) -> Option<NaiveDateTime> {
        match self {
            BucketRule::Natural { unit, offset } => match offset {
                None => Some(dates::period_start(t, *unit)),
                Some(off) => add_calendar(dates::period_start(add_calendar_negated(t, off)?, *unit), off),
            },
            BucketRule::Fixed { origin, seconds } => {
                let elapsed = (t - *origin).num_seconds();
                let k = elapsed.div_euclid(*seconds);
                // A fraction of a second before a bucket edge belongs to the bucket before it.
                let start = origin.checked_add_signed(chrono::Duration::try_seconds(k.checked_mul(*seconds)?)?)?;
                if start > t {
                    origin.checked_add_signed(chrono::Duration::try_seconds((k - 1).checked_mul(*seconds)?)?)
                } else {
                    Some(start)
                }
            }
            BucketRule::Calendar { origin, months, days, seconds } => {
                calendar_step(*origin, *months, *days, *seconds, self.calendar_index(t)?)
            }
        }
    }

    /// For a calendar rule, the `k` of the bucket holding `t`: estimated with average months,
    /// then corrected by one step either way (never more for buckets of a month or longer).
    fn calendar_index(&self, t: NaiveDateTime) -> Option<i64> {
        let BucketRule::Calendar { origin, months, days, seconds } = self else { return None };
        let approx = approximate_seconds(*months, *days, *seconds)?;
        let k = (t - *origin).num_seconds().div_euclid(approx);
        let step = |k: i64| calendar_step(*origin, *months, *days, *seconds, k);
        Some(if t >= step(k + 1)? {
            k + 1
        } else if t < step(k)? {
            k - 1
        } else {
            k
        })
    }

    /// The start of the bucket after the one starting at `start`.
    pub fn next(&self, start: NaiveDateTime) -> Option<NaiveDateTime> {
        match self {
            BucketRule::Natural { unit, offset } => {
                let base = match offset {
                    None => start,
                    Some(off) => add_calendar_negated(start, off)?,
                };
                let next = dates::add_units(dates::period_start(base, *unit), 1, *unit)?;
                match offset {
                    None => Some(next),
                    Some(off) => add_calendar(next, off),
                }
            }
            BucketRule::Fixed { seconds, .. } => start.checked_add_signed(chrono::Duration::try_seconds(*seconds)?),
            BucketRule::Calendar { origin, months, days, seconds } => {
                calendar_step(*origin, *months, *days, *seconds, self.calendar_index(start)? + 1)
            }
        }
    }
}

/// The length of one bucket with average months, in seconds (`None` if it overflows).
fn approximate_seconds(months: i64, days: i64, seconds: i64) -> Option<i64> {
    months.checked_mul(AVERAGE_MONTH_SECONDS)?.checked_add(days.checked_mul(86_400)?)?.checked_add(seconds)
}

fn calendar_step(origin: NaiveDateTime, months: i64, days: i64, seconds: i64, k: i64) -> Option<NaiveDateTime> {
    let m = months.checked_mul(k)?;
    let months_abs = chrono::Months::new(u32::try_from(m.unsigned_abs()).ok()?);
    let t = if m >= 0 { origin.checked_add_months(months_abs)? } else { origin.checked_sub_months(months_abs)? };
    t.checked_add_signed(chrono::Duration::try_days(days.checked_mul(k)?)?)?
        .checked_add_signed(chrono::Duration::try_seconds(seconds.checked_mul(k)?)?)
}

impl Renderer<'_> {
    /// The bucket of `local` (a local timestamp expression) under an interval granularity.
    pub(super) fn interval_bucket(
        &mut self,
        local: &str,
        interval: &Interval,
        offset: Option<&Interval>,
        origin: Option<&str>,
        name: &str,
    ) -> R<String> {
        let rule = BucketRule::new(interval, offset, origin, self.query.now, name)?;
        self.rule_bucket(local, &rule)
    }

    pub(super) fn rule_bucket(&mut self, local: &str, rule: &BucketRule) -> R<String> {
        let literal = |r: &Self, t: NaiveDateTime| {
            r.tpl("local_timestamp", context! { value => r.d.literal(&crate::vocab::time::format_local(t)) })
        };
        match rule {
            BucketRule::Natural { unit, offset: None } => {
                self.tpl("time_trunc", context! { unit => unit.name(), expr => local })
            }
            BucketRule::Natural { unit, offset: Some(off) } => {
                let shifted = self.shift(local.to_string(), off, false)?;
                let trunc = self.tpl("time_trunc", context! { unit => unit.name(), expr => shifted })?;
                self.shift(trunc, off, true)
            }
            BucketRule::Fixed { origin, seconds } => {
                let origin_lit = literal(self, *origin)?;
                self.tpl("origin_bucket", context! { expr => local, origin => origin_lit, seconds => seconds })
            }
            BucketRule::Calendar { origin, months, days, seconds } => {
                let origin_lit = literal(self, *origin)?;
                let approx = approximate_seconds(*months, *days, *seconds).ok_or_else(|| {
                    Diagnostic::error(Code::QueryGranularity, "a custom granularity's interval is too large")
                })?;
                let elapsed =
                    self.tpl("seconds_between", context! { later => local, earlier => origin_lit.clone() })?;
                let k =
                    self.tpl("cast", context! { expr => format!("FLOOR({elapsed} / {approx})"), type => "BIGINT" })?;
                let step = |r: &mut Self, k: &str| -> R<String> {
                    let part = |n: i64| (n != 0).then(|| format!("{n} * ({k})"));
                    r.tpl(
                        "add_calendar",
                        context! { expr => origin_lit.clone(), months => part(*months), days => part(*days), seconds => part(*seconds) },
                    )
                };
                let here = step(self, &k)?;
                let next = step(self, &format!("{k} + 1"))?;
                let previous = step(self, &format!("{k} - 1"))?;
                Ok(format!(
                    "CASE WHEN {local} >= {next} THEN {next} WHEN {local} < {here} THEN {previous} ELSE {here} END"
                ))
            }
        }
    }
}

/// An interval as calendar months, days and seconds.
fn calendar_parts(iv: &Interval) -> Option<(i64, i64, i64)> {
    let (mut months, mut days, mut seconds) = (0i64, 0i64, 0i64);
    for (n, unit) in &iv.parts {
        let (slot, per) = match unit {
            TimeUnit::Year => (&mut months, 12),
            TimeUnit::Quarter => (&mut months, 3),
            TimeUnit::Month => (&mut months, 1),
            TimeUnit::Week => (&mut days, 7),
            TimeUnit::Day => (&mut days, 1),
            TimeUnit::Hour => (&mut seconds, 3600),
            TimeUnit::Minute => (&mut seconds, 60),
            TimeUnit::Second => (&mut seconds, 1),
        };
        *slot = slot.checked_add(n.checked_mul(per)?)?;
    }
    Some((months, days, seconds))
}

/// `t` minus an interval (each part negated).
fn add_calendar_negated(t: NaiveDateTime, iv: &Interval) -> Option<NaiveDateTime> {
    add_calendar(t, &Interval { parts: iv.parts.iter().map(|(n, u)| (-n, *u)).collect() })
}

/// `t` plus an interval, months first (clamped to the month end), then days, then time.
fn add_calendar(t: NaiveDateTime, iv: &Interval) -> Option<NaiveDateTime> {
    let (months, days, seconds) = calendar_parts(iv)?;
    let m = chrono::Months::new(u32::try_from(months.unsigned_abs()).ok()?);
    let t = if months >= 0 { t.checked_add_months(m)? } else { t.checked_sub_months(m)? };
    t.checked_add_signed(chrono::Duration::try_days(days)?)?.checked_add_signed(chrono::Duration::try_seconds(seconds)?)
}
/// The offset that turns `1 <unit>` buckets into buckets starting at `origin`: its distance from
/// the start of its month, quarter or year, in calendar parts (`3 month 14 day 6 hour`). `Some(None)`
/// when the origin is on a boundary; `None` when no offset form is exact (a day past the 28th,
/// which months do not all have, or a fraction of a second): those take the calendar path.
fn origin_as_offset(unit: TimeUnit, origin: NaiveDateTime) -> Option<Option<Interval>> {
    use chrono::Timelike;
    if origin.nanosecond() != 0 || origin.day() > 28 {
        return None;
    }
    let months = match unit {
        TimeUnit::Year => origin.month() - 1,
        TimeUnit::Quarter => (origin.month() - 1) % 3,
        _ => 0,
    };
    let parts: Vec<(i64, TimeUnit)> = [
        (i64::from(months), TimeUnit::Month),
        (i64::from(origin.day()) - 1, TimeUnit::Day),
        (i64::from(origin.hour()), TimeUnit::Hour),
        (i64::from(origin.minute()), TimeUnit::Minute),
        (i64::from(origin.second()), TimeUnit::Second),
    ]
    .into_iter()
    .filter(|(n, _)| *n != 0)
    .collect();
    Some((!parts.is_empty()).then_some(Interval { parts }))
}

fn fixed_seconds(iv: &Interval) -> Option<i64> {
    let mut total = 0i64;
    for (n, unit) in &iv.parts {
        let s = match unit {
            TimeUnit::Second => 1,
            TimeUnit::Minute => 60,
            TimeUnit::Hour => 3600,
            TimeUnit::Day => 86_400,
            TimeUnit::Week => 604_800,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(s)?)?;
    }
    (total > 0).then_some(total)
}

fn default_origin(iv: &Interval, now: NaiveDateTime) -> NaiveDateTime {
    let year = now.year();
    let jan1 = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default();
    let d = if iv.parts.iter().any(|(_, u)| *u == TimeUnit::Week) {
        jan1 - chrono::Duration::days(jan1.weekday().num_days_from_monday() as i64)
    } else {
        jan1
    };
    d.and_time(chrono::NaiveTime::MIN)
}
