//! Stage 4, plan: [`Model`] + [`Query`] to a [`Plan`].
//!
//! Input: the resolved model and a normalized query. Output: the join tree, the select list with
//! Cube's aliases, the WHERE / HAVING split, date ranges as UTC instants, and the order as select
//! positions. No SQL text is produced here.

pub mod groups;
pub mod joins;
pub mod stages;

use crate::diag::{Code, Diagnostic};
use crate::query::{dates, FilterNode, Query, QueryMember};
use crate::resolve::{CubeId, MeasureType, MemberRef, Model, Ref, Relationship, RollingWindow, SqlPart, SqlTemplate};
use crate::vocab::TimeUnit;
use chrono::NaiveDateTime;
pub use groups::{GroupKind, GroupMeasure, MeasureGroup};
pub use joins::{JoinStep, JoinTree};

#[derive(Debug, Clone, PartialEq)]
pub enum ColumnKind {
    Dimension { cube: CubeId, dimension: usize },
    TimeBucket { cube: CubeId, dimension: usize, granularity: String },
    Measure { cube: CubeId, measure: usize },
}

/// One output column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The SQL column alias, as Cube makes it (`orders__created_at_week`).
    pub alias: String,
    /// The member name the alias maps back to (`orders.created_at.week`).
    pub member: String,
    pub kind: ColumnKind,
}

/// A time dimension's date range: the raw column between two UTC instants.
#[derive(Debug, Clone, PartialEq)]
pub struct DateRangeCond {
    pub cube: CubeId,
    pub dimension: usize,
    pub from_utc: NaiveDateTime,
    pub to_utc: NaiveDateTime,
}

/// The time dimension rolling-window measures slide along.
#[derive(Debug, Clone, PartialEq)]
pub struct RollingTime {
    pub cube: CubeId,
    pub dimension: usize,
    /// A built-in unit; `None` (and no `custom`) means one window over the whole date range.
    pub granularity: Option<TimeUnit>,
    /// A custom interval granularity of the time dimension, by name (its buckets are listed
    /// from the date range).
    pub custom: Option<String>,
    /// The query's local date range; without one the series spans the data.
    pub range: Option<(NaiveDateTime, NaiveDateTime)>,
    /// The select position of the time bucket, when there is a granularity.
    pub column: Option<usize>,
}

/// A `sub_query` dimension: its cube's key and the dimension's value (an aggregate over other
/// cubes) computed in a subquery, LEFT JOINed on the key.
#[derive(Debug, Clone, PartialEq)]
pub struct SubQueryDim {
    pub cube: CubeId,
    pub dimension: usize,
    /// The subquery's own join tree: the dimension's cube and the cubes its SQL references.
    pub joins: JoinTree,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub joins: JoinTree,
    pub columns: Vec<Column>,
    /// How many leading columns are grouped (dimensions and time buckets).
    pub dimension_count: usize,
    pub date_ranges: Vec<DateRangeCond>,
    pub segments: Vec<(CubeId, usize)>,
    pub where_filters: Vec<FilterNode>,
    pub having_filters: Vec<FilterNode>,
    /// 1-based select positions, descending?
    pub order: Vec<(usize, bool)>,
    pub limit: u64,
    pub offset: Option<u64>,
    pub ungrouped: bool,
    pub total: bool,
    pub timezone: chrono_tz::Tz,
    /// Cubes whose rows the join tree repeats; their plain counts become distinct counts of the
    /// primary key.
    pub multiplied: Vec<CubeId>,
    /// The measures split by how they must be aggregated; one `Main` group means one SELECT.
    pub groups: Vec<MeasureGroup>,
    /// Set when the query has rolling-window measures and a time dimension to roll along.
    pub rolling: Option<RollingTime>,
    pub sub_queries: Vec<SubQueryDim>,
    /// Access-policy row filters that apply inside `sub_query` subqueries (see
    /// [`Query::sub_query_filters`]).
    pub sub_query_filters: Vec<FilterNode>,
    /// Time dimensions this plan reads moved in time (a multi-stage measure's `time_shift`).
    pub time_shifts: stages::Shifts,
    /// Set when the query has multi-stage measures: the plan is a tree of stages, and the
    /// fields above describe the whole query (its join tree covers every stage's cubes).
    pub stages: Option<Box<stages::Stages>>,
}

impl Plan {
    /// Every cube the plan reads, in order of first appearance: its join tree, the cubes of
    /// its `sub_query` dimensions and of every stage. Their refresh keys are the query's.
    pub fn cubes_read(&self) -> Vec<CubeId> {
        let mut out: Vec<CubeId> = Vec::new();
        let mut add = |c: CubeId| {
            if !out.contains(&c) {
                out.push(c);
            }
        };
        self.joins.cubes().for_each(&mut add);
        self.sub_queries.iter().flat_map(|s| s.joins.cubes()).for_each(&mut add);
        for node in self.stages.iter().flat_map(|s| s.nodes.iter()) {
            if let stages::StageKind::Leaf(leaf) = &node.kind {
                leaf.cubes_read().into_iter().for_each(&mut add);
            }
        }
        out
    }

    /// Whether the measures need subqueries joined by an outer query.
    pub fn needs_subqueries(&self) -> bool {
        !self.ungrouped && self.groups.iter().any(|g| g.kind != GroupKind::Main)
    }
}

/// The alias base of a member as queried: `sql_alias` replaces the cube part.
fn member_alias(model: &Model, m: &QueryMember) -> String {
    model.cube(m.cube).column_alias(m.member)
}

/// Builds the plan of `query`.
pub fn plan(model: &Model, query: &Query) -> Result<Plan, Vec<Diagnostic>> {
    let mut having_members = Vec::new();
    for f in query.filters.iter().filter(|f| f.is_measure()) {
        collect_filter_members(f, &mut having_members);
    }
    let mut measures: Vec<(CubeId, usize)> = Vec::new();
    for m in query.measures.iter().chain(having_members) {
        if let MemberRef::Measure(i) = m.source_member {
            if !measures.contains(&(m.source_cube, i)) {
                measures.push((m.source_cube, i));
            }
        }
    }
    if !measures.iter().any(|(c, m)| stages::is_stage_measure(model, *c, *m)) {
        return plan_flat(model, query);
    }
    let (columns, dimension_count) = output_columns(model, query);
    let tree = stages::build(model, query, &columns[..dimension_count], &measures)?;
    // The whole query flattened into one ordinary plan: the cubes every stage reads (for access
    // control and the join checks), never rendered.
    let mut flat = query.clone();
    flat.measures.clear();
    flat.filters.retain(|f| !f.is_measure());
    for node in &tree.nodes {
        if let stages::StageKind::Leaf(p) = &node.kind {
            for c in &p.columns {
                if let ColumnKind::Measure { cube, measure } = c.kind {
                    let m = QueryMember::of_cube(model, cube, MemberRef::Measure(measure));
                    if !flat.measures.iter().any(|x| x.name == m.name) {
                        flat.measures.push(m);
                    }
                }
            }
        }
    }
    let base = plan_flat(model, &flat)?;
    Ok(Plan {
        order: order_positions(query, &columns),
        columns,
        dimension_count,
        having_filters: query.filters.iter().filter(|f| f.is_measure()).cloned().collect(),
        limit: query.limit,
        offset: query.offset,
        total: query.total,
        groups: Vec::new(),
        rolling: None,
        stages: Some(Box::new(tree)),
        ..base
    })
}

/// The dimension and time bucket columns of a query, then its measures; and how many of them
/// are grouping columns.
fn output_columns(model: &Model, query: &Query) -> (Vec<Column>, usize) {
    let mut columns = Vec::new();
    for d in &query.dimensions {
        let MemberRef::Dimension(i) = d.source_member else { continue };
        columns.push(Column {
            alias: member_alias(model, d),
            member: d.name.clone(),
            kind: ColumnKind::Dimension { cube: d.source_cube, dimension: i },
        });
    }
    for td in &query.time_dimensions {
        let (Some(g), MemberRef::Dimension(i)) = (&td.granularity, td.member.source_member) else { continue };
        let alias = format!("{}_{}", member_alias(model, &td.member), crate::util::underscore(g));
        if columns.iter().any(|c: &Column| c.alias == alias) {
            continue;
        }
        columns.push(Column {
            alias,
            member: format!("{}.{g}", td.member.name),
            kind: ColumnKind::TimeBucket { cube: td.member.source_cube, dimension: i, granularity: g.clone() },
        });
    }
    let dimension_count = columns.len();
    for m in &query.measures {
        let MemberRef::Measure(i) = m.source_member else { continue };
        columns.push(Column {
            alias: member_alias(model, m),
            member: m.name.clone(),
            kind: ColumnKind::Measure { cube: m.source_cube, measure: i },
        });
    }
    (columns, dimension_count)
}

/// The plan of a query without multi-stage measures (or of one stage of one).
pub(crate) fn plan_flat(model: &Model, query: &Query) -> Result<Plan, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let (columns, dimension_count) = output_columns(model, query);

    // Which cubes the query touches, in Cube's order: measures, dimensions, segments, time
    // dimensions, filters; plus cubes their SQL references.
    let mut needed: Vec<CubeId> = Vec::new();
    let mut hints: Vec<Vec<CubeId>> = query.join_hints.clone();
    let touch = |m: &QueryMember, needed: &mut Vec<CubeId>, hints: &mut Vec<Vec<CubeId>>| {
        if !m.join_path.is_empty() && !hints.contains(&m.join_path) {
            hints.push(m.join_path.clone());
        }
        let mut stack = vec![(m.source_cube, Some(m.source_member))];
        let mut seen: Vec<(CubeId, Option<MemberRef>)> = Vec::new();
        while let Some(item) = stack.pop() {
            if seen.contains(&item) {
                continue;
            }
            seen.push(item);
            let (c, member) = item;
            if !needed.contains(&c) {
                needed.push(c);
            }
            // A sub_query dimension's references are joined inside its own subquery.
            let sub_query = matches!(member, Some(MemberRef::Dimension(d)) if model.cube(c).dimensions[d].sub_query);
            if let Some(r) = member.filter(|_| !sub_query) {
                for t in member_templates(model, c, r) {
                    for part in &t.parts {
                        if let SqlPart::Ref(reference, _) = part {
                            match reference {
                                Ref::Member { cube, member, path } => {
                                    if path.len() > 1 && !hints.contains(path) {
                                        hints.push(path.clone());
                                    }
                                    stack.push((*cube, Some(*member)));
                                }
                                Ref::Granularity { cube, dimension, .. } => {
                                    stack.push((*cube, Some(MemberRef::Dimension(*dimension))))
                                }
                                Ref::CubeAlias { cube, path } => {
                                    if path.len() > 1 && !hints.contains(path) {
                                        hints.push(path.clone());
                                    }
                                    stack.push((*cube, None));
                                }
                                Ref::CubeSql { .. } | Ref::Context { .. } => {}
                            }
                        }
                    }
                }
            }
        }
    };
    for m in &query.measures {
        touch(m, &mut needed, &mut hints);
    }
    for m in &query.dimensions {
        touch(m, &mut needed, &mut hints);
    }
    for m in &query.segments {
        touch(m, &mut needed, &mut hints);
    }
    for td in &query.time_dimensions {
        touch(&td.member, &mut needed, &mut hints);
    }
    let mut filter_members = Vec::new();
    for f in &query.filters {
        collect_filter_members(f, &mut filter_members);
    }
    for m in filter_members {
        touch(m, &mut needed, &mut hints);
    }
    let joins = match joins::build(model, &needed, &hints) {
        Ok(j) => j,
        Err(d) => {
            diags.push(d);
            return Err(diags);
        }
    };
    let multiplied: Vec<CubeId> = std::iter::once(joins.root)
        .chain(joins.steps.iter().map(|s| s.to))
        .filter(|c| multiplied_by(model, &joins, *c).is_some())
        .collect();
    let mut date_ranges = Vec::new();
    for td in &query.time_dimensions {
        if let (Some((from, to)), MemberRef::Dimension(i)) = (td.date_range, td.member.source_member) {
            date_ranges.push(DateRangeCond {
                cube: td.member.source_cube,
                dimension: i,
                from_utc: dates::local_to_utc(from, query.timezone, false),
                to_utc: dates::local_to_utc(to, query.timezone, true),
            });
        }
    }
    let segments = query
        .segments
        .iter()
        .filter_map(|s| match s.source_member {
            MemberRef::Segment(i) => Some((s.source_cube, i)),
            _ => None,
        })
        .collect();
    let (having_filters, where_filters): (Vec<FilterNode>, Vec<FilterNode>) =
        query.filters.iter().cloned().partition(FilterNode::is_measure);

    if query.ungrouped {
        if !having_filters.is_empty() {
            diags.push(Diagnostic::error(Code::QueryUngrouped, "measure filters aren't allowed in an ungrouped query"));
        }
        let mut missing = Vec::new();
        for c in std::iter::once(joins.root).chain(joins.steps.iter().map(|s| s.to)) {
            let cube = model.cube(c);
            for pk in cube.primary_keys() {
                let present = columns.iter().any(|col| matches!(col.kind, ColumnKind::Dimension { cube: cc, dimension } if cc == c && dimension == pk));
                if !present {
                    missing.push(format!("'{}.{}'", cube.name, cube.dimensions[pk].name));
                }
            }
        }
        if !missing.is_empty() && !query.ungrouped_without_primary_key {
            diags.push(
                Diagnostic::error(
                    Code::QueryUngrouped,
                    format!(
                        "ungrouped query requires primary keys to be present in dimensions: {}",
                        missing.join(", ")
                    ),
                )
                .with_help("add the primary key dimensions, so that each row is one record"),
            );
        }
    }

    let mut filter_measures = Vec::new();
    let mut having_members = Vec::new();
    for f in &having_filters {
        collect_filter_members(f, &mut having_members);
    }
    for m in having_members {
        if let MemberRef::Measure(i) = m.source_member {
            filter_measures.push((m.source_cube, i, member_alias(model, m)));
        }
    }
    let sub_queries = sub_query_dims(model, query, &mut diags);
    let rolling = if query.ungrouped { None } else { rolling_time(model, query, &columns, &joins, &mut diags) };
    let groups = if query.ungrouped {
        Vec::new()
    } else {
        match groups::build(model, &joins, &columns, &having_filters, &filter_measures, rolling.is_some()) {
            Ok(g) => g,
            Err(d) => {
                diags.extend(d);
                Vec::new()
            }
        }
    };
    let order = order_positions(query, &columns);
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(Plan {
        joins,
        dimension_count,
        columns,
        date_ranges,
        segments,
        where_filters,
        having_filters,
        order,
        limit: query.limit,
        offset: query.offset,
        ungrouped: query.ungrouped,
        total: query.total,
        timezone: query.timezone,
        multiplied,
        groups,
        rolling,
        sub_queries,
        sub_query_filters: query.sub_query_filters.clone(),
        time_shifts: Vec::new(),
        stages: None,
    })
}

/// The `sub_query` dimensions the query uses (selected or filtered on), with their join trees.
fn sub_query_dims(model: &Model, query: &Query, diags: &mut Vec<Diagnostic>) -> Vec<SubQueryDim> {
    let mut members: Vec<&QueryMember> = query.dimensions.iter().collect();
    for f in &query.filters {
        collect_filter_members(f, &mut members);
    }
    let mut out: Vec<SubQueryDim> = Vec::new();
    for m in members {
        let MemberRef::Dimension(d) = m.source_member else { continue };
        let (cube, dim) = (m.source_cube, &model.cube(m.source_cube).dimensions[d]);
        if !dim.sub_query || out.iter().any(|s| s.cube == cube && s.dimension == d) {
            continue;
        }
        if model.cube(cube).primary_keys().next().is_none() {
            diags.push(
                Diagnostic::error(
                    Code::QueryUnsupported,
                    format!(
                        "`{}` is a sub_query dimension, and `{}` has no primary key to join it on",
                        m.name,
                        model.cube(cube).name
                    ),
                )
                .with_help("mark the dimension that identifies a row with `primary_key: true`"),
            );
            continue;
        }
        let mut needed = vec![cube];
        referenced_cubes(model, cube, MemberRef::Dimension(d), &mut needed, 0);
        match joins::build(model, &needed, &[]) {
            Ok(joins) => out.push(SubQueryDim { cube, dimension: d, joins }),
            Err(e) => diags.push(e),
        }
    }
    out
}

/// Cubes a member's SQL reaches, directly or through other members.
fn referenced_cubes(model: &Model, cube: CubeId, member: MemberRef, out: &mut Vec<CubeId>, depth: usize) {
    if depth > 32 {
        return;
    }
    for t in member_templates(model, cube, member) {
        for part in &t.parts {
            let SqlPart::Ref(r, _) = part else { continue };
            let (c, next) = match r {
                Ref::Member { cube, member, .. } => (*cube, Some(*member)),
                Ref::Granularity { cube, dimension, .. } => (*cube, Some(MemberRef::Dimension(*dimension))),
                Ref::CubeAlias { cube, .. } => (*cube, None),
                _ => continue,
            };
            if !out.contains(&c) {
                out.push(c);
            }
            if let Some(n) = next {
                referenced_cubes(model, c, n, out, depth + 1);
            }
        }
    }
}

/// The time dimension that rolling-window measures slide along: the first one with a granularity
/// or a date range. Without one, rolling measures aggregate over everything, as Cube does.
fn rolling_time(
    model: &Model,
    query: &Query,
    columns: &[Column],
    joins: &JoinTree,
    diags: &mut Vec<Diagnostic>,
) -> Option<RollingTime> {
    let rolling: Vec<&Column> = columns
        .iter()
        .filter(|c| match c.kind {
            ColumnKind::Measure { cube, measure } => model.cube(cube).measures[measure].rolling_window.is_some(),
            _ => false,
        })
        .collect();
    if rolling.is_empty() {
        return None;
    }
    let td = query.time_dimensions.iter().find(|td| td.granularity.is_some() || td.date_range.is_some())?;
    let MemberRef::Dimension(dimension) = td.member.source_member else { return None };
    let cube = td.member.source_cube;
    let mut ok = true;
    let dim = &model.cube(cube).dimensions[dimension];
    let is_interval =
        |g: &str| matches!(dim.granularity(g).map(|c| &c.kind), Some(crate::resolve::GranularityKind::Interval { .. }));
    let mut custom = None;
    let granularity = match &td.granularity {
        None => None,
        Some(g) => match TimeUnit::parse(g)
            .filter(|_| crate::resolve::templates::BUILTIN_GRANULARITIES.contains(&g.as_str()))
        {
            Some(u) => Some(u),
            None if is_interval(g) && td.date_range.is_some() => {
                custom = Some(g.clone());
                None
            }
            None => {
                let why = if is_interval(g) {
                    "needs a dateRange (its buckets are listed from the range)"
                } else {
                    "is defined by `sql`, so its buckets cannot be listed for a window to slide over"
                };
                diags.push(
                    Diagnostic::error(
                        Code::QueryUnsupported,
                        format!("a rolling window over the custom granularity `{g}` {why}"),
                    )
                    .with_help("add a dateRange to the time dimension, or use an interval granularity"),
                );
                ok = false;
                None
            }
        },
    };
    for c in &rolling {
        let ColumnKind::Measure { cube: mc, measure } = c.kind else { continue };
        let m = &model.cube(mc).measures[measure];
        if !matches!(
            m.type_,
            MeasureType::Sum
                | MeasureType::Avg
                | MeasureType::Min
                | MeasureType::Max
                | MeasureType::Count
                | MeasureType::CountDistinct
                | MeasureType::CountDistinctApprox
        ) {
            diags.push(Diagnostic::error(
                Code::QueryUnsupported,
                format!("`{}`: rolling windows over `{}` measures are not compiled yet", c.member, m.type_.agg_name()),
            ));
            ok = false;
        }
        if let Some(reason) = multiplied_by(model, joins, mc) {
            diags.push(
                Diagnostic::error(
                    Code::QueryUnsupported,
                    format!("`{}` has a rolling window, and {reason}; cubec does not combine the two yet", c.member),
                )
                .with_help("query the rolling measure without members of the multiplying cube"),
            );
            ok = false;
        }
        if let Some(RollingWindow::ToDate { granularity: g }) = &m.rolling_window {
            if TimeUnit::parse(g).is_none() && !is_interval(g) {
                diags.push(Diagnostic::error(
                    Code::QueryUnsupported,
                    format!(
                        "`{}`: the to_date window's granularity `{g}` is not a built-in granularity or an interval granularity of the time dimension it slides along",
                        c.member
                    ),
                ));
                ok = false;
            }
        }
    }
    let column = columns.iter().position(|c| {
        matches!(&c.kind, ColumnKind::TimeBucket { cube: cc, dimension: d, granularity: g }
            if *cc == cube && *d == dimension && Some(g) == td.granularity.as_ref())
    });
    ok.then_some(RollingTime { cube, dimension, granularity, custom, range: td.date_range, column })
}

fn collect_filter_members<'a>(f: &'a FilterNode, out: &mut Vec<&'a QueryMember>) {
    match f {
        FilterNode::Leaf(l) => out.push(&l.member),
        FilterNode::And(v) | FilterNode::Or(v) => v.iter().for_each(|c| collect_filter_members(c, out)),
    }
}

/// The SQL templates of one member (its sql, filters, case branches).
pub fn member_templates(model: &Model, cube: CubeId, r: MemberRef) -> Vec<&SqlTemplate> {
    let c = model.cube(cube);
    let mut out = Vec::new();
    match r {
        MemberRef::Measure(i) => {
            let m = &c.measures[i];
            out.extend(m.sql.iter());
            out.extend(m.filters.iter());
        }
        MemberRef::Dimension(i) => {
            let d = &c.dimensions[i];
            out.extend(d.sql.iter());
            if let Some(case) = &d.case {
                for (cond, label) in &case.when {
                    out.push(cond);
                    if let crate::resolve::CaseLabel::Sql(s) = label {
                        out.push(s);
                    }
                }
                if let Some(crate::resolve::CaseLabel::Sql(s)) = &case.else_label {
                    out.push(s);
                }
            }
            if let Some((a, b)) = &d.geo {
                out.push(a);
                out.push(b);
            }
        }
        MemberRef::Segment(i) => out.push(&c.segments[i].sql),
    }
    out
}

/// Why rows of `cube` are multiplied by the join tree, if they are: an edge that fans out away
/// from it (`one_to_many` away, or `many_to_one` pointing back at it).
pub fn multiplied_by(model: &Model, tree: &JoinTree, cube: CubeId) -> Option<String> {
    for step in &tree.steps {
        let rel = model.cube(step.from).joins[step.join].relationship;
        let cube_below_to = is_ancestor_or_self(tree, step.to, cube);
        let fans = if cube_below_to { rel == Relationship::ManyToOne } else { rel == Relationship::OneToMany };
        if fans {
            let (a, b) = (&model.cube(step.from).name, &model.cube(step.to).name);
            let kind = if rel == Relationship::OneToMany { "one_to_many" } else { "many_to_one" };
            return Some(format!("the join `{a}` -> `{b}` ({kind}) repeats rows of `{}`", model.cube(cube).name));
        }
    }
    None
}

/// Whether `ancestor` is `node` or above it in the tree.
fn is_ancestor_or_self(tree: &JoinTree, ancestor: CubeId, node: CubeId) -> bool {
    let mut cur = node;
    loop {
        if cur == ancestor {
            return true;
        }
        match tree.steps.iter().find(|s| s.to == cur) {
            Some(s) => cur = s.from,
            None => return false,
        }
    }
}

/// Positions for ORDER BY: the query's order (members not selected are dropped, as Cube does),
/// or Cube's default: the first time bucket ascending, else the first measure descending when
/// there are dimensions too, else the first dimension ascending.
fn order_positions(query: &Query, columns: &[Column]) -> Vec<(usize, bool)> {
    match &query.order {
        Some(items) => items
            .iter()
            .filter_map(|item| {
                let pos = columns.iter().position(|c| c.member == item.id).or_else(|| {
                    columns.iter().position(|c| {
                        matches!(c.kind, ColumnKind::TimeBucket { .. })
                            && c.member.rsplit_once('.').map(|(b, _)| b) == Some(item.id.as_str())
                    })
                })?;
                Some((pos + 1, item.desc))
            })
            .collect(),
        None => {
            if let Some(p) = columns.iter().position(|c| matches!(c.kind, ColumnKind::TimeBucket { .. })) {
                vec![(p + 1, false)]
            } else if !query.measures.is_empty() && !query.dimensions.is_empty() {
                columns
                    .iter()
                    .position(|c| matches!(c.kind, ColumnKind::Measure { .. }))
                    .map(|p| vec![(p + 1, true)])
                    .unwrap_or_default()
            } else if !query.dimensions.is_empty() {
                vec![(1, false)]
            } else {
                Vec::new()
            }
        }
    }
}
