//! Which rollup, if any, answers a query with exactly the rows the source would: a pure
//! function of the query (parsed, views resolved to the cube members they stand for, the
//! caller's access-policy row filters already among its filters), the rollups' layouts and
//! what is built. Every rollup that cannot serve gets the first reason why not.
//!
//! Cube's rules are the baseline: additive measures (count, sum, min, max, and here `avg`
//! through its stored sum and count, and calculated measures through their parts) combine
//! from a finer grain; distinct counts and other non-additive measures only at the exact grain;
//! every dimension, segment and filter member must be stored. Past Cube:
//! - a date range (of a time dimension or a date filter) must fall on the rollup's buckets in
//!   the query's time zone; Cube's default serves a range starting at 10:00 from a day rollup
//!   and leaves the first day out, cubec does not use the rollup then;
//! - the partitions the query reads must be built, and a query without a date range needs the
//!   whole data range built (Cube serves missing partitions as missing rows);
//! - of the rollups that can answer, the smallest (fewest stored rows) wins, not the first
//!   written;
//! - measures stored on a cube the rollup's joins repeat are non-additive.

use super::layout::{Grain, Layout};
use crate::query::{Filter, FilterNode, Query, QueryMember};
use crate::resolve::*;
use crate::vocab::time::{add_units, period_start};
use crate::vocab::{Operator, TimeUnit};
use chrono::{Duration, NaiveDateTime};

/// What is built of a rollup for the query's time zone (and security context).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Built {
    /// Local date-time ranges (inclusive) of the built partitions, in order.
    pub ranges: Vec<(NaiveDateTime, NaiveDateTime)>,
    /// The built ranges cover every row of the source (the build range was the data's own), so
    /// a query without a date range may read the rollup.
    pub covers_all: bool,
    pub rows: u64,
}

/// A rollup that cannot answer, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    pub rollup: String,
    pub reason: String,
    /// The rollup answers the query's shape but what it needs is not built (yet).
    pub unbuilt: bool,
}

/// The chosen rollup (its index in the layouts) and the misses of the others.
#[derive(Debug, Clone, PartialEq)]
pub struct Routed {
    pub layout: usize,
    pub misses: Vec<Miss>,
}

/// Picks the rollup that answers `query`, or says why none does. `built(i)` is what is built of
/// layout `i` for the query.
pub fn route(
    model: &Model,
    layouts: &[Layout],
    query: &Query,
    built: &dyn Fn(usize) -> Option<Built>,
) -> Result<Routed, Vec<Miss>> {
    let cubes = query_cubes(query);
    let mut misses = Vec::new();
    let mut best: Option<(usize, (u64, usize, usize))> = None;
    for (i, layout) in layouts.iter().enumerate() {
        // Rollups of the cubes the query reads.
        if !cubes.contains(&layout.at.cube) {
            continue;
        }
        match check(model, layout, query, built(i)) {
            Ok(rows) => {
                let rank = (rows, layout.grain.len(), i);
                if best.is_none_or(|(_, b)| rank < b) {
                    if let Some((prev, _)) = best {
                        misses.push(Miss {
                            rollup: layouts[prev].id.clone(),
                            reason: format!("`{}` is smaller", layout.id),
                            unbuilt: false,
                        });
                    }
                    best = Some((i, rank));
                } else if let Some((b, _)) = best {
                    misses.push(Miss {
                        rollup: layout.id.clone(),
                        reason: format!("`{}` is smaller", layouts[b].id),
                        unbuilt: false,
                    });
                }
            }
            Err(Unserved::Shape(reason)) => misses.push(Miss { rollup: layout.id.clone(), reason, unbuilt: false }),
            Err(Unserved::Unbuilt(reason)) => misses.push(Miss { rollup: layout.id.clone(), reason, unbuilt: true }),
        }
    }
    match best {
        Some((layout, _)) => Ok(Routed { layout, misses }),
        None => Err(misses),
    }
}

fn query_cubes(q: &Query) -> Vec<CubeId> {
    let mut out = Vec::new();
    let mut add = |m: &QueryMember| {
        if !out.contains(&m.source_cube) {
            out.push(m.source_cube);
        }
    };
    q.measures.iter().chain(&q.dimensions).chain(&q.segments).for_each(&mut add);
    q.time_dimensions.iter().for_each(|t| add(&t.member));
    for f in FilterNode::leaves(&q.filters) {
        add(&f.member);
    }
    out
}

fn name(m: &QueryMember) -> &str {
    &m.name
}

/// Why a rollup does not answer a query.
enum Unserved {
    /// It cannot: the query's shape is not the rollup's.
    Shape(String),
    /// It could, once what the query reads is built.
    Unbuilt(String),
}

/// `Ok(stored rows)` when `layout` answers `q` with the source's rows, else the first reason.
fn check(model: &Model, layout: &Layout, q: &Query, built: Option<Built>) -> Result<u64, Unserved> {
    fits(model, layout, q).map_err(Unserved::Shape)?;
    let Some(built) = built.filter(|b| !b.ranges.is_empty()) else {
        return Err(Unserved::Unbuilt(format!("not built for time zone {}", q.timezone.name())));
    };
    covered(layout, q, &built).map_err(Unserved::Unbuilt)?;
    Ok(built.rows)
}

/// Whether `layout`'s shape answers `q` with the source's rows, built or not.
fn fits(model: &Model, layout: &Layout, q: &Query) -> Result<(), String> {
    if let Some(why) = &layout.unsupported {
        return Err(why.clone());
    }
    if q.ungrouped {
        return Err("an ungrouped query reads the source's rows".into());
    }
    // Measures: servable, and additive unless the query is at the rollup's exact grain.
    let mut exact_only = Vec::new();
    for m in &q.measures {
        let MemberRef::Measure(i) = m.source_member else { continue };
        if let Some(why) = super::layout::unsupported_measure(model, (m.source_cube, i)) {
            return Err(why);
        }
        let Some(s) = layout.servable((m.source_cube, i)) else {
            return Err(format!("measure `{}` is not stored", name(m)));
        };
        if s.leaves.iter().any(|&l| !layout.leaves[l].additive) {
            exact_only.push(name(m).to_string());
        }
    }
    for d in &q.dimensions {
        let MemberRef::Dimension(i) = d.source_member else { continue };
        if model.cube(d.source_cube).dimensions[i].sub_query {
            return Err(format!("dimension `{}` is a sub_query dimension", name(d)));
        }
        match layout.grain_of_dimension((d.source_cube, i)) {
            Some(Grain::Dimension { .. }) => {}
            _ => return Err(format!("dimension `{}` is not stored", name(d))),
        }
    }
    for s in &q.segments {
        let MemberRef::Segment(i) = s.source_member else { continue };
        if !layout.grain.iter().any(|g| matches!(g, Grain::Segment { source, .. } if *source == (s.source_cube, i))) {
            return Err(format!("segment `{}` is not stored", name(s)));
        }
    }
    // Time dimensions: stored at a granularity whose buckets divide the query's.
    for td in &q.time_dimensions {
        let MemberRef::Dimension(i) = td.member.source_member else { continue };
        let Some(Grain::Time { granularity: stored, .. }) = layout.grain_of_dimension((td.member.source_cube, i))
        else {
            return Err(format!("time dimension `{}` is not stored", name(&td.member)));
        };
        let dim = &model.cube(td.member.source_cube).dimensions[i];
        if let Some(g) = &td.granularity {
            if !divides(stored, g, dim) {
                return Err(format!("`{}` is stored by {stored}, which does not divide {g}", name(&td.member)));
            }
            if !exact_only.is_empty() && stored != g {
                return Err(format!(
                    "`{}` is not additive and `{}` is stored by {stored}, not {g}",
                    exact_only[0],
                    name(&td.member)
                ));
            }
        } else if !exact_only.is_empty() {
            return Err(format!("`{}` is not additive and `{}` has no granularity", exact_only[0], name(&td.member)));
        }
        if let Some((from, to)) = td.date_range {
            aligned_range(stored, from, to).map_err(|why| format!("the date range of `{}` {why}", name(&td.member)))?;
        }
    }
    // Filters: every member stored; date filters on stored buckets' edges.
    for f in FilterNode::leaves(&q.filters) {
        filter_servable(model, layout, f)?;
    }
    if !exact_only.is_empty() {
        exact_grain(layout, q, &exact_only[0])?;
    }
    Ok(())
}

fn filter_servable(model: &Model, layout: &Layout, f: &Filter) -> Result<(), String> {
    let m = &f.member;
    match m.source_member {
        MemberRef::Measure(i) => {
            if f.operator == Operator::MeasureFilter {
                return Err(format!("measure filter on `{}`", name(m)));
            }
            match layout.servable((m.source_cube, i)) {
                Some(s) if s.leaves.iter().all(|&l| layout.leaves[l].additive) => Ok(()),
                Some(_) => Err(format!("a filter on `{}`, which is not additive", name(m))),
                None => Err(format!("a filter on measure `{}`, which is not stored", name(m))),
            }
        }
        MemberRef::Segment(_) => Err(format!("a filter on segment `{}`", name(m))),
        MemberRef::Dimension(i) => match layout.grain_of_dimension((m.source_cube, i)) {
            Some(Grain::Dimension { .. }) => Ok(()),
            Some(Grain::Time { granularity, .. }) => {
                let _ = model;
                time_filter_servable(granularity, f).map_err(|why| format!("the filter on `{}` {why}", name(m)))
            }
            _ => Err(format!("a filter on `{}`, which is not stored", name(m))),
        },
    }
}

/// A filter on a time dimension stored by `granularity`: set/notSet, or a date operator whose
/// bounds fall on bucket edges (so every bucket is wholly in or wholly out).
fn time_filter_servable(granularity: &str, f: &Filter) -> Result<(), String> {
    let Some((from, to)) = f.date_bounds else {
        return match f.operator {
            Operator::Set | Operator::NotSet => Ok(()),
            op => Err(format!("compares raw times ({})", op.name())),
        };
    };
    let ms = Duration::milliseconds(1);
    match f.operator {
        Operator::InDateRange | Operator::NotInDateRange | Operator::OnTheDate => aligned_range(granularity, from, to),
        Operator::BeforeDate | Operator::AfterOrOnDate => edge(granularity, from),
        Operator::BeforeOrOnDate | Operator::AfterDate => edge(granularity, from + ms),
        op => Err(format!("compares raw times ({})", op.name())),
    }
}

/// `[from, to]` (inclusive, to the millisecond) covers whole buckets of `granularity`.
fn aligned_range(granularity: &str, from: NaiveDateTime, to: NaiveDateTime) -> Result<(), String> {
    edge(granularity, from)?;
    edge(granularity, to + Duration::milliseconds(1))
}

/// `t` is where a bucket of `granularity` starts.
fn edge(granularity: &str, t: NaiveDateTime) -> Result<(), String> {
    let Some(unit) = builtin(granularity) else {
        return Err(format!("is checked against the {granularity} buckets, which only built-in granularities allow"));
    };
    if period_start(t, unit) == t {
        Ok(())
    } else {
        Err(format!("has {} inside a {granularity} bucket", crate::vocab::time::format_local(t)))
    }
}

fn builtin(g: &str) -> Option<TimeUnit> {
    TimeUnit::parse(g).filter(|_| crate::resolve::templates::BUILTIN_GRANULARITIES.contains(&g))
}

/// Whether every bucket edge of `query` granularity is an edge of `stored` granularity, so the
/// stored buckets regroup exactly into the query's.
pub fn divides(stored: &str, query: &str, dim: &Dimension) -> bool {
    if stored == query {
        return true;
    }
    let Some(s) = builtin(stored) else { return false };
    if let Some(q) = builtin(query) {
        return unit_divides(s, q, 1);
    }
    // A custom interval granularity: its origin (shifted by its offset) on a stored edge, and
    // each part of its interval a whole number of stored buckets.
    let Some(custom) = dim.granularity(query) else { return false };
    let GranularityKind::Interval { interval, offset, origin } = &custom.kind else { return false };
    let origin = origin.as_deref().and_then(crate::vocab::time::parse_local_datetime).unwrap_or_else(|| {
        chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default().and_time(chrono::NaiveTime::MIN)
    });
    let mut start = origin;
    if let Some(off) = offset {
        for &(n, u) in &off.parts {
            match add_units(start, n, u) {
                Some(t) => start = t,
                None => return false,
            }
        }
    }
    period_start(start, s) == start && interval.parts.iter().all(|&(n, u)| n > 0 && unit_divides(s, u, n))
}

/// Whether buckets of `stored` tile `n` units of `query` exactly (from an edge of both).
fn unit_divides(stored: TimeUnit, query: TimeUnit, n: i64) -> bool {
    use TimeUnit::*;
    match (stored, query) {
        (a, b) if a == b => true,
        (Second, _) => true,
        (Minute, Second) | (Hour, Second | Minute) | (Day, Second | Minute | Hour) => false,
        (Minute | Hour | Day, _) => true,
        (Week, Week) => true,
        (Week, _) => false,
        (Month, Quarter | Year) => true,
        (Quarter, Year) => true,
        (Quarter, Month) => n % 3 == 0,
        (Year, Month) => n % 12 == 0,
        (Year, Quarter) => n % 4 == 0,
        _ => false,
    }
}

/// A query with non-additive measures must not combine stored rows: every stored grouping
/// column is among its own, or pinned to one value by a filter.
fn exact_grain(layout: &Layout, q: &Query, measure: &str) -> Result<(), String> {
    let pinned = |source: (CubeId, usize)| {
        q.filters.iter().any(|f| match f {
            FilterNode::Leaf(f) => {
                f.operator == Operator::Equals
                    && f.values.len() == 1
                    && f.member.source_member == MemberRef::Dimension(source.1)
                    && f.member.source_cube == source.0
            }
            _ => false,
        })
    };
    for g in &layout.grain {
        let ok = match g {
            Grain::Dimension { source, .. } => {
                q.dimensions
                    .iter()
                    .any(|d| d.source_cube == source.0 && d.source_member == MemberRef::Dimension(source.1))
                    || pinned(*source)
            }
            Grain::Time { source, granularity, .. } => q.time_dimensions.iter().any(|t| {
                t.member.source_cube == source.0
                    && t.member.source_member == MemberRef::Dimension(source.1)
                    && t.granularity.as_deref() == Some(granularity.as_str())
            }),
            Grain::Segment { source, .. } => {
                q.segments.iter().any(|s| s.source_cube == source.0 && s.source_member == MemberRef::Segment(source.1))
            }
        };
        if !ok {
            return Err(format!("`{measure}` is not additive and the rollup is grouped by `{}` too", g.column()));
        }
    }
    Ok(())
}

/// The local date range a query reads of a rollup's partitioned (first) time dimension: the
/// intersection of its date ranges and top-level date filters on it; `None` for all of it.
pub fn query_range(layout: &Layout, q: &Query) -> Option<(NaiveDateTime, NaiveDateTime)> {
    let Some(Grain::Time { source, .. }) = layout.grain.iter().find(|g| matches!(g, Grain::Time { .. })) else {
        return None;
    };
    let mut range: Option<(NaiveDateTime, NaiveDateTime)> = None;
    let mut narrow = |from: NaiveDateTime, to: NaiveDateTime| {
        range = Some(match range {
            Some((a, b)) => (a.max(from), b.min(to)),
            None => (from, to),
        });
    };
    for td in &q.time_dimensions {
        if td.member.source_cube == source.0 && td.member.source_member == MemberRef::Dimension(source.1) {
            if let Some((from, to)) = td.date_range {
                narrow(from, to);
            }
        }
    }
    for f in &q.filters {
        if let FilterNode::Leaf(f) = f {
            let on_it = f.member.source_cube == source.0 && f.member.source_member == MemberRef::Dimension(source.1);
            if let (true, Operator::InDateRange | Operator::OnTheDate, Some((from, to))) =
                (on_it, f.operator, f.date_bounds)
            {
                narrow(from, to);
            }
        }
    }
    range
}

/// The partitions the query reads are built: its date range on the partitioned (first) time
/// dimension within the built ranges, or, without one, every row of the source built.
fn covered(layout: &Layout, q: &Query, built: &Built) -> Result<(), String> {
    if !layout.grain.iter().any(|g| matches!(g, Grain::Time { .. })) {
        return if built.covers_all { Ok(()) } else { Err("not built for the whole data range".into()) };
    }
    let Some((mut from, mut to)) = query_range(layout, q) else {
        return if built.covers_all {
            Ok(())
        } else {
            Err("a query without a date range needs every partition built".into())
        };
    };
    if built.covers_all {
        // Outside the data's range there are no rows to miss.
        if let (Some(first), Some(last)) = (built.ranges.first(), built.ranges.last()) {
            from = from.max(first.0);
            to = to.min(last.1);
        }
    }
    if from > to {
        return Ok(()); // an empty range reads nothing
    }
    // Walk the built ranges (in order) from `from`: each must start where the last ended.
    let mut at = from;
    for &(a, b) in &built.ranges {
        if b < at {
            continue;
        }
        if a > at {
            break;
        }
        at = b + Duration::milliseconds(1);
        if at > to {
            return Ok(());
        }
    }
    Err(format!("the partition holding {} is not built", crate::vocab::time::format_local(at)))
}
