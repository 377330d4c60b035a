//! Rolling-window measures: a series of time buckets (from the query's date range, or spanning
//! the data when there is none), LEFT JOINed to the rows of the measure's cube that fall inside
//! each bucket's window, aggregated per bucket.
//!
//! Count, sum, min and max are first aggregated in the base query by the coarsest time bucket
//! that lines up with every window edge (day buckets when a month window meets weeks), so the
//! series is joined to a few rows per bucket rather than to every record: exact for these
//! aggregates, and what makes a running total over a large table cheap. Avg and distinct counts
//! are not additive (a distinct count over seven days is not the sum of seven daily ones), so
//! their base stays one row per record.

use super::calendar::BucketRule;
use super::render::{JoinClause, Renderer, Select, R};
use crate::diag::{Code, Diagnostic};
use crate::plan::{MeasureGroup, Plan, RollingTime};
use crate::resolve::{GranularityKind, Interval, MeasureType, RollingWindow, WindowSize};
use crate::vocab::time as dates;
use crate::vocab::TimeUnit;
use chrono::NaiveDateTime;
use minijinja::context;

/// More buckets than this in one series is almost certainly a mistake (minutes over years).
const MAX_SERIES_ROWS: usize = 100_000;
/// Longer series than this are generated in SQL rather than listed as VALUES.
const SERIES_VALUES_MAX: usize = 366;

const TIME: &str = "rolling_time";
const VALUE: &str = "rolling_value";
/// A constant on both sides of the window join where the dialect's joins need an equality.
const KEY: &str = "rolling_key";

/// How far a window reaches before and after its bucket, for the base query's WHERE.
struct Reach {
    before: Option<Interval>,
    after: Option<Interval>,
    /// `to_date`: the window starts at the start of this unit.
    to_date: Option<TimeUnit>,
}

impl Renderer<'_> {
    pub(super) fn rolling_subquery(&mut self, plan: &Plan, group: &MeasureGroup) -> R<String> {
        let (Some(rt), Some(gm)) = (plan.rolling.as_ref(), group.measures.first()) else {
            return Err(Diagnostic::error(Code::SqlRender, "a rolling group without a time dimension"));
        };
        let model = self.model;
        let measure = &model.cube(gm.cube).measures[gm.measure];
        let Some(window) = measure.rolling_window.clone() else {
            return Err(Diagnostic::error(Code::SqlRender, "a rolling group without a window"));
        };
        let reach = reach(&window);
        let rule = match &rt.custom {
            Some(name) => Some(self.granularity_rule(rt, name)?),
            None => None,
        };
        // `to_date` over a custom granularity: each window starts at that granularity's bucket.
        let to_date_rule = match &window {
            RollingWindow::ToDate { granularity } if TimeUnit::parse(granularity).is_none() => {
                Some(self.granularity_rule(rt, granularity)?)
            }
            _ => None,
        };
        let buckets = match rt.range {
            Some(range) => Some(series(rt, rule.as_ref(), range)?),
            None => None,
        };
        let pre = pre_aggregation_unit(measure.type_, &window, rt.granularity, buckets.as_deref());

        // The base: the other dimensions, the local time and the value; one row per record, or
        // (with `pre`) one row per time bucket and dimension values, already aggregated.
        let mut columns = Vec::new();
        let dims = &plan.columns[..plan.dimension_count];
        for (i, c) in dims.iter().enumerate() {
            if Some(i) != rt.column {
                let expr = self.dimension_column(&c.kind)?;
                columns.push(format!("{expr} {}", self.d.ident(&c.alias)));
            }
        }
        let raw = self.dimension(rt.cube, rt.dimension, 0)?;
        let tz = self.query.timezone.name();
        let local = self.tpl("convert_tz", context! { expr => raw, tz => tz })?;
        let time_column = match pre {
            Some(unit) => self.tpl("time_trunc", context! { unit => unit.name(), expr => local.clone() })?,
            None => local.clone(),
        };
        columns.push(format!("{time_column} {}", self.d.ident(TIME)));
        let value = self.measure(gm.cube, gm.measure, true, 0)?;
        let value = match (pre, measure.type_) {
            (None, _) => value,
            (Some(_), MeasureType::Count) => format!("count({value})"),
            (Some(_), t) => format!("{}({value})", t.agg_name()),
        };
        columns.push(format!("{value} {}", self.d.ident(VALUE)));
        let group_by: Vec<usize> = if pre.is_some() { (1..columns.len()).collect() } else { Vec::new() };
        if self.d.join_needs_key {
            columns.push(format!("1 {}", self.d.ident(KEY)));
        }
        let (from, joins, mut wheres) = self.join_tree_except(plan, Some((rt.cube, rt.dimension)))?;
        if let (Some(range), Some(buckets)) = (rt.range, &buckets) {
            let (first, last) = match (buckets.first(), buckets.last()) {
                (Some(f), Some(l)) => (f.0, l.1),
                _ => (range.0, range.1),
            };
            let lower = match (reach.to_date, &reach.before) {
                (Some(_), _) if to_date_rule.is_some() => {
                    to_date_rule.as_ref().and_then(|r| r.start_of(first)).map(Some).ok_or_else(outside)?
                }
                (Some(unit), _) => Some(dates::period_start(first, unit)),
                (None, Some(iv)) => Some(shift_local(first, iv, -1)?),
                (None, None) => None,
            };
            let upper = match &reach.after {
                Some(iv) => Some(shift_local(last, iv, 1)?),
                None => None,
            };
            if let Some(l) = lower {
                let p = self.local_param(l)?;
                wheres.push(self.tpl("compare", context! { column => local.clone(), op => ">=", value => p })?);
            }
            if let Some(u) = upper {
                let p = self.local_param(u)?;
                wheres.push(self.tpl("compare", context! { column => local.clone(), op => "<=", value => p })?);
            }
        }
        let base = self.select(Select { columns, from, joins, where_: wheres, group_by, ..Select::default() })?;

        // The series of buckets.
        let series_sql = match (buckets, rt.granularity) {
            // A long series is generated by the database between its first and last bucket, so
            // the statement stays small (a century of weeks as VALUES is megabytes of SQL).
            (Some(buckets), Some(unit)) if buckets.len() > SERIES_VALUES_MAX => {
                let (first, last) = match (buckets.first(), buckets.last()) {
                    (Some(f), Some(l)) => (f.0, l.0),
                    _ => return Err(Diagnostic::error(Code::SqlRender, "an empty rolling series")),
                };
                let start = self.d.literal(&self.local_text(first));
                let stop = self.d.literal(&self.local_text(last));
                let start = self.tpl("local_timestamp", context! { value => start })?;
                let stop = self.tpl("local_timestamp", context! { value => stop })?;
                self.generated_series(&start, &stop, unit)?
            }
            (Some(buckets), _) => {
                let pairs: Vec<Vec<String>> = buckets
                    .into_iter()
                    .map(|(a, b)| vec![self.d.literal(&self.local_text(a)), self.d.literal(&self.local_text(b))])
                    .collect();
                let from = self.tpl("local_timestamp", context! { value => "date_from" })?;
                let to = self.tpl("local_timestamp", context! { value => "date_to" })?;
                self.tpl("series_values", context! { pairs => pairs, from => from, to => to })?
            }
            (None, Some(unit)) => {
                let b = self.tpl("subquery", context! { sql => base.clone() })?;
                let t = self.d.ident(TIME);
                let start = self.tpl(
                    "time_trunc",
                    context! { unit => unit.name(), expr => format!("(SELECT min({t}) FROM {b} AS data_range)") },
                )?;
                let stop = format!("(SELECT max({t}) FROM {b} AS data_range)");
                self.generated_series(&start, &stop, unit)?
            }
            (None, None) => return Err(Diagnostic::error(Code::SqlRender, "a rolling window without a range")),
        };

        // Window conditions, on the base row's local time against the bucket's bounds.
        let series = self.d.ident("series");
        let base_alias = self.d.ident("base");
        let t = format!("{base_alias}.{}", self.d.ident(TIME));
        let date_from = format!("{series}.{}", self.d.ident("date_from"));
        let date_to = format!("{series}.{}", self.d.ident("date_to"));
        let mut on = Vec::new();
        let series_sql = if self.d.join_needs_key {
            let key = self.d.ident(KEY);
            on.push(format!("{series}.{key} = {base_alias}.{key}"));
            let rows = self.tpl("subquery", context! { sql => series_sql })?;
            let from = self.tpl("table", context! { source => rows, alias => self.d.ident("series_rows") })?;
            self.select(Select { columns: vec!["*".to_string(), format!("1 {key}")], from, ..Select::default() })?
        } else {
            series_sql
        };
        match &window {
            RollingWindow::ToDate { granularity } => {
                let start = match &to_date_rule {
                    Some(r) => self.rule_bucket(&date_from, r)?,
                    None => {
                        let unit = TimeUnit::parse(granularity).unwrap_or(TimeUnit::Year);
                        self.tpl("time_trunc", context! { unit => unit.name(), expr => date_from.clone() })?
                    }
                };
                on.push(format!("{t} >= {start}"));
                on.push(format!("{t} <= {date_to}"));
            }
            RollingWindow::Fixed { trailing, leading, offset_start } => {
                let anchor = if *offset_start { &date_from } else { &date_to };
                if let Some(iv) = bounded(trailing) {
                    let bound = self.shift(anchor.clone(), &iv, false)?;
                    on.push(format!("{t} {} {bound}", if *offset_start { ">=" } else { ">" }));
                }
                if let Some(iv) = bounded(leading) {
                    let bound = self.shift(anchor.clone(), &iv, true)?;
                    on.push(format!("{t} {} {bound}", if *offset_start { "<" } else { "<=" }));
                }
            }
        }
        if on.is_empty() {
            on.push("1 = 1".to_string());
        }

        // Per bucket: the dimensions, and the measure's aggregate over the rows in its window.
        let mut columns = Vec::new();
        for (i, c) in dims.iter().enumerate() {
            let source = if Some(i) == rt.column {
                date_from.clone()
            } else {
                format!("{base_alias}.{}", self.d.ident(&c.alias))
            };
            columns.push(format!("{source} {}", self.d.ident(&c.alias)));
        }
        let v = format!("{base_alias}.{}", self.d.ident(VALUE));
        let agg = match measure.type_ {
            MeasureType::Sum | MeasureType::Avg | MeasureType::Min | MeasureType::Max => {
                format!("{}({v})", measure.type_.agg_name())
            }
            // Pre-aggregated counts add up; NULL for a window without rows, as Cube's sum of
            // per-bucket counts gives.
            MeasureType::Count if pre.is_some() => format!("sum({v})"),
            MeasureType::Count => {
                format!("sum(CASE WHEN {t} IS NULL THEN NULL WHEN {v} IS NOT NULL THEN 1 ELSE 0 END)")
            }
            MeasureType::CountDistinct => format!("count(distinct {v})"),
            // What a window without rows gives differs by warehouse as Cube's sketch merges do
            // (NULL on PostgreSQL and BigQuery, 0 on Snowflake): the dialect says.
            MeasureType::CountDistinctApprox => {
                let approx = self.tpl("count_distinct_approx", context! { expr => v })?;
                self.tpl("rolling_count_distinct_approx", context! { approx => approx, time => t.clone() })?
            }
            other => {
                return Err(Diagnostic::error(
                    Code::QueryUnsupported,
                    format!("rolling windows over `{}` measures are not compiled yet", other.agg_name()),
                ))
            }
        };
        columns.push(format!("{agg} {}", self.d.ident(&gm.alias)));
        let series_source = self.tpl("subquery", context! { sql => series_sql })?;
        let from = self.tpl("table", context! { source => series_source, alias => series })?;
        let base_source = self.tpl("subquery", context! { sql => base })?;
        let table = self.tpl("table", context! { source => base_source, alias => base_alias })?;
        let joins = vec![JoinClause { kind: "LEFT", table, on: Some(on.join(" AND ")) }];
        let group_by: Vec<usize> = (1..=plan.dimension_count).collect();
        self.select(Select { columns, from, joins, group_by, ..Select::default() })
    }

    /// A local date-time as text with the dialect's fractional digits (`...59.999` reaches the end
    /// of the last microsecond where the warehouse keeps microseconds).
    fn local_text(&self, t: NaiveDateTime) -> String {
        let utc_style = super::render::format_utc(t, self.d.timestamp_precision);
        utc_style.trim_end_matches('Z').to_string()
    }

    /// A local date-time parameter (compared with tz-converted values).
    fn local_param(&mut self, t: NaiveDateTime) -> R<String> {
        let p = self.param(self.local_text(t));
        self.tpl("local_timestamp", context! { value => p })
    }
}

/// The coarsest unit whose buckets line up with every edge of every window: the series'
/// bucket edges (its granularity, or without one the date range's bounds), the windows' sizes and,
/// for `to_date`, its unit. `None` when the measure is not additive (avg, distinct counts) or an
/// edge is finer than a second.
fn pre_aggregation_unit(
    kind: MeasureType,
    window: &RollingWindow,
    granularity: Option<TimeUnit>,
    buckets: Option<&[(NaiveDateTime, NaiveDateTime)]>,
) -> Option<TimeUnit> {
    if !matches!(kind, MeasureType::Count | MeasureType::Sum | MeasureType::Min | MeasureType::Max) {
        return None;
    }
    let mut units: Vec<TimeUnit> = Vec::new();
    match granularity {
        Some(g) => units.push(g),
        None => {
            // One bucket spanning the date range: its bounds decide (an end is the last instant
            // before the next unit, `...23:59:59.999`).
            for &(from, to) in buckets? {
                units.push(alignment(from)?);
                units.push(alignment(to.checked_add_signed(chrono::Duration::milliseconds(1))?)?);
            }
        }
    }
    match window {
        RollingWindow::ToDate { granularity } => units.push(TimeUnit::parse(granularity)?),
        RollingWindow::Fixed { trailing, leading, offset_start } => {
            for size in [trailing, leading] {
                if let Some(iv) = bounded(size) {
                    // Months back from a bucket's last instant clamp to shorter months (June 30
                    // minus 3 months is March 30, 23:59:59.999), so such an edge is a day edge.
                    units.extend(iv.parts.iter().filter(|(n, _)| *n != 0).map(|(_, u)| match u {
                        TimeUnit::Month | TimeUnit::Quarter | TimeUnit::Year if !offset_start => TimeUnit::Day,
                        u => *u,
                    }));
                }
            }
        }
    }
    coarsest_common(&units)
}

/// The coarsest unit that `t` is the start of (midnight of a Monday is a week start).
fn alignment(t: NaiveDateTime) -> Option<TimeUnit> {
    use chrono::{Datelike, Timelike};
    if t.nanosecond() % 1_000_000_000 != 0 {
        return None;
    }
    Some(if t.second() != 0 {
        TimeUnit::Second
    } else if t.minute() != 0 {
        TimeUnit::Minute
    } else if t.hour() != 0 {
        TimeUnit::Hour
    } else if t.day() == 1 && t.month() == 1 {
        TimeUnit::Year
    } else if t.day() == 1 && (t.month() - 1) % 3 == 0 {
        TimeUnit::Quarter
    } else if t.day() == 1 {
        TimeUnit::Month
    } else if t.weekday() == chrono::Weekday::Mon {
        TimeUnit::Week
    } else {
        TimeUnit::Day
    })
}

/// The coarsest unit every unit in `units` is made of: years contain quarters contain months,
/// but weeks line up with none of them, so weeks with months mean days.
fn coarsest_common(units: &[TimeUnit]) -> Option<TimeUnit> {
    let finest = units.iter().copied().min()?;
    let calendar = units.iter().any(|u| matches!(u, TimeUnit::Month | TimeUnit::Quarter | TimeUnit::Year));
    Some(match finest {
        TimeUnit::Week if calendar => TimeUnit::Day,
        u => u,
    })
}

fn bounded(size: &Option<WindowSize>) -> Option<Interval> {
    match size {
        Some(WindowSize::Unbounded) => None,
        Some(WindowSize::Interval(iv)) => Some(iv.clone()),
        None => Some(Interval::default()),
    }
}

fn reach(window: &RollingWindow) -> Reach {
    match window {
        RollingWindow::ToDate { granularity } => Reach {
            before: None,
            after: Some(Interval::default()),
            to_date: Some(TimeUnit::parse(granularity).unwrap_or(TimeUnit::Year)),
        },
        RollingWindow::Fixed { trailing, leading, .. } => {
            Reach { before: bounded(trailing), after: bounded(leading), to_date: None }
        }
    }
}

fn shift_local(t: NaiveDateTime, iv: &Interval, sign: i64) -> R<NaiveDateTime> {
    let mut out = t;
    for (n, unit) in &iv.parts {
        out = dates::add_units(out, n * sign, *unit).ok_or_else(|| {
            Diagnostic::error(Code::QueryUnsupported, format!("the rolling window {iv} reaches outside the calendar"))
        })?;
    }
    Ok(out)
}

/// The buckets of the query's date range: `(start, last millisecond)` in local time; one bucket
/// for the whole range without a granularity.
impl Renderer<'_> {
    /// Buckets of `unit` from `start` to `stop` (SQL expressions), generated by the database.
    fn generated_series(&mut self, start: &str, stop: &str, unit: TimeUnit) -> R<String> {
        let (amount, step_unit) = match unit {
            TimeUnit::Week => (7, TimeUnit::Day),
            TimeUnit::Quarter => (3, TimeUnit::Month),
            u => (1, u),
        };
        self.tpl(
            "series_generated",
            context! { start => start, stop => stop, amount => amount, unit => step_unit.name(), max_rows => MAX_SERIES_ROWS },
        )
    }
}

fn outside() -> Diagnostic {
    Diagnostic::error(Code::QueryUnsupported, "the rolling window's buckets reach outside the calendar")
}

impl Renderer<'_> {
    /// The bucket rule of interval granularity `name` of the rolling time dimension.
    fn granularity_rule(&self, rt: &RollingTime, name: &str) -> R<BucketRule> {
        let dim = &self.model.cube(rt.cube).dimensions[rt.dimension];
        match dim.granularity(name).map(|g| &g.kind) {
            Some(GranularityKind::Interval { interval, offset, origin }) => {
                BucketRule::new(interval, offset.as_ref(), origin.as_deref(), self.query.now, name)
            }
            _ => Err(Diagnostic::error(
                Code::QueryUnsupported,
                format!("`{name}` is not an interval granularity of `{}`", dim.name),
            )),
        }
    }
}

/// Custom granularities list their buckets as VALUES; a longer list is refused.
const MAX_CUSTOM_BUCKETS: usize = 10_000;

fn series(
    rt: &RollingTime,
    rule: Option<&BucketRule>,
    (from, to): (NaiveDateTime, NaiveDateTime),
) -> R<Vec<(NaiveDateTime, NaiveDateTime)>> {
    if from > to {
        // Without a granularity as well: there is no window to report on.
        return Err(Diagnostic::error(
            Code::QueryDateRange,
            "the date range ends before it starts, so a rolling window has no periods to report",
        )
        .with_help("give the range as [earlier, later]"));
    }
    if let Some(rule) = rule {
        let mut out = Vec::new();
        let mut cur = rule.start_of(from).ok_or_else(outside)?;
        while cur <= to {
            let next = rule.next(cur).filter(|n| *n > cur).ok_or_else(outside)?;
            out.push((cur, next - chrono::Duration::milliseconds(1)));
            if out.len() > MAX_CUSTOM_BUCKETS {
                return Err(Diagnostic::error(
                    Code::QueryUnsupported,
                    format!("the date range holds more than {MAX_CUSTOM_BUCKETS} buckets of the custom granularity"),
                )
                .with_help("narrow the date range or use a coarser granularity"));
            }
            cur = next;
        }
        return Ok(out);
    }
    let Some(unit) = rt.granularity else { return Ok(vec![(from, to)]) };
    let mut out = Vec::new();
    let mut cur = dates::period_start(from, unit);
    while cur <= to {
        let end = dates::period_end(cur, unit).unwrap_or(cur);
        out.push((cur, end));
        if out.len() > MAX_SERIES_ROWS {
            return Err(Diagnostic::error(
                Code::QueryUnsupported,
                format!("the date range holds more than {MAX_SERIES_ROWS} {} buckets", unit.name()),
            )
            .with_help("narrow the date range or use a coarser granularity"));
        }
        match dates::add_units(cur, 1, unit) {
            Some(next) => cur = next,
            None => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        crate::vocab::time::parse_local_datetime(s).expect("a date-time")
    }

    fn window(trailing: &str) -> RollingWindow {
        let size = |s: &str| {
            if s == "unbounded" {
                Some(WindowSize::Unbounded)
            } else {
                Some(WindowSize::Interval(Interval::parse(s, false).expect("interval")))
            }
        };
        RollingWindow::Fixed { trailing: size(trailing), leading: None, offset_start: false }
    }

    #[test]
    fn the_pre_aggregation_bucket_lines_up_with_every_edge() {
        let month = Some(TimeUnit::Month);
        assert_eq!(pre_aggregation_unit(MeasureType::Sum, &window("unbounded"), month, None), Some(TimeUnit::Month));
        assert_eq!(pre_aggregation_unit(MeasureType::Sum, &window("7 day"), month, None), Some(TimeUnit::Day));
        assert_eq!(
            pre_aggregation_unit(MeasureType::Count, &window("1 month"), Some(TimeUnit::Week), None),
            Some(TimeUnit::Day)
        );
        // 3 months back from a month's last instant is not a month edge (June 30 - 3 months is
        // March 30): days.
        assert_eq!(pre_aggregation_unit(MeasureType::Sum, &window("3 month"), month, None), Some(TimeUnit::Day));
        let from_start = RollingWindow::Fixed {
            trailing: Some(WindowSize::Interval(Interval::parse("3 month", false).expect("interval"))),
            leading: None,
            offset_start: true,
        };
        assert_eq!(pre_aggregation_unit(MeasureType::Sum, &from_start, month, None), Some(TimeUnit::Month));
        assert_eq!(
            pre_aggregation_unit(MeasureType::Max, &window("2 week"), Some(TimeUnit::Week), None),
            Some(TimeUnit::Week)
        );
        assert_eq!(
            pre_aggregation_unit(MeasureType::Sum, &window("3 hour"), Some(TimeUnit::Day), None),
            Some(TimeUnit::Hour)
        );
        let ytd = RollingWindow::ToDate { granularity: "year".into() };
        assert_eq!(pre_aggregation_unit(MeasureType::Sum, &ytd, month, None), Some(TimeUnit::Month));
        // Not additive: no pre-aggregation.
        assert_eq!(pre_aggregation_unit(MeasureType::Avg, &window("7 day"), month, None), None);
        assert_eq!(pre_aggregation_unit(MeasureType::CountDistinct, &window("7 day"), month, None), None);
        // One bucket over the date range: its bounds decide.
        let days = [(t("2024-01-01 00:00:00"), t("2024-01-31 23:59:59.999"))];
        assert_eq!(
            pre_aggregation_unit(MeasureType::Sum, &window("unbounded"), None, Some(&days)),
            Some(TimeUnit::Month)
        );
        let odd = [(t("2024-01-01 10:30:00"), t("2024-01-31 23:59:59.999"))];
        assert_eq!(
            pre_aggregation_unit(MeasureType::Sum, &window("unbounded"), None, Some(&odd)),
            Some(TimeUnit::Minute)
        );
        let sub_second = [(t("2024-01-01 00:00:00.5"), t("2024-01-31 23:59:59.999"))];
        assert_eq!(pre_aggregation_unit(MeasureType::Sum, &window("unbounded"), None, Some(&sub_second)), None);
    }
}
