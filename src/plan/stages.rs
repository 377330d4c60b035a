//! Multi-stage measures as a small tree of named nodes.
//!
//! A query with multi-stage measures (`multi_stage: true`, `rank`, `number_agg`) becomes
//! [`Stages`]: nodes in dependency order, each grouped by a *grain* (a set of the query's
//! dimensions, changed by `group_by` / `reduce_by` / `add_group_by`) and computed under a *state*
//! (time shifts). The renderer turns each node into a CTE:
//!
//! - a [`StageKind::Leaf`] is an ordinary query (a full [`Plan`], with fan-out groups, rolling
//!   windows and sub_query dimensions as usual) computing regular measures at its grain, with its
//!   time dimensions moved by the state's shifts;
//! - a [`StageKind::Calc`] computes one multi-stage measure from its input nodes, joined on the
//!   grain's dimensions: the measure's expression per row, re-aggregated to the outer grain
//!   (`add_group_by`), or ranked (`rank`).
//!
//! The final query lists the result's keys (the union of the nodes at the query's grain, so a
//! bucket that only a shifted measure fills is kept, as Cube's Tesseract does) and LEFT JOINs
//! every node on its own dimensions: a node at a coarser grain (`group_by`, `reduce_by`) repeats
//! its value on every row it covers.

use super::{member_alias, Column, ColumnKind, GroupMeasure, Plan};
use crate::diag::{Code, Diagnostic};
use crate::query::{FilterNode, Query, QueryMember};
use crate::resolve::{CubeId, Interval, MeasureType, MemberRef, Model, Ref, SqlPart, Stage};

/// At most this many nodes: a guard against a model whose measures fan out combinatorially.
const MAX_NODES: usize = 200;

/// Time dimensions moved by an interval (positive: later), applied to the raw column.
pub type Shifts = Vec<(CubeId, usize, Interval)>;

#[derive(Debug, Clone)]
pub struct Stages {
    /// In dependency order; node `i` renders as CTE `cte_i`.
    pub nodes: Vec<StageNode>,
    /// The node each measure of the query (selected or filtered on) is read from.
    pub outputs: Vec<(CubeId, usize, usize)>,
    /// Nodes at the query's grain: their rows are the result's keys.
    pub keys: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct StageNode {
    /// The grouping columns, by alias, as the node selects them.
    pub grain: Vec<Column>,
    /// The measures the node selects, with their column aliases.
    pub measures: Vec<GroupMeasure>,
    pub kind: StageKind,
}

#[derive(Debug, Clone)]
pub enum StageKind {
    Leaf(Box<Plan>),
    Calc(Calc),
}

#[derive(Debug, Clone)]
pub struct Calc {
    pub cube: CubeId,
    pub measure: usize,
    /// The grain the inputs are joined at (the node's own grain is `StageNode::grain`).
    pub inner: Vec<Column>,
    pub inputs: Vec<usize>,
    /// Inputs at the inner grain, whose rows are the inner keys.
    pub keys: Vec<usize>,
    pub how: CalcKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CalcKind {
    /// The measure's expression over its inputs, one value per inner row.
    Row,
    /// Aggregated from the inner grain to the node's grain by the measure's type.
    Aggregate,
    /// The leaf column `alias` re-aggregated (a self-contained measure with `add_group_by`).
    Reaggregate { alias: String },
    /// `rank() OVER (PARTITION BY <partition> ORDER BY <measures>)`.
    Rank { partition: Vec<String>, order: Vec<(CubeId, usize, bool)> },
}

/// Whether a measure is computed in stages rather than in one aggregate.
pub fn is_stage_measure(model: &Model, cube: CubeId, m: usize) -> bool {
    let measure = &model.cube(cube).measures[m];
    measure.multi_stage || matches!(measure.type_, MeasureType::NumberAgg | MeasureType::Rank)
}

/// The measures a measure's SQL (and a rank's order) names directly.
pub fn measure_inputs(model: &Model, cube: CubeId, m: usize) -> Vec<(CubeId, usize)> {
    let measure = &model.cube(cube).measures[m];
    let mut out = Vec::new();
    for t in measure.sql.iter() {
        for part in &t.parts {
            if let SqlPart::Ref(Ref::Member { cube, member: MemberRef::Measure(i), .. }, _) = part {
                if !out.contains(&(*cube, *i)) {
                    out.push((*cube, *i));
                }
            }
        }
    }
    if let Some(stage) = &measure.stage {
        for (c, i, _) in &stage.order_by {
            if !out.contains(&(*c, *i)) {
                out.push((*c, *i));
            }
        }
    }
    out
}

/// A multi-stage measure already computed: (measure, grain aliases, shifts, node).
type Built = ((CubeId, usize), Vec<String>, Shifts, usize);

struct Builder<'a> {
    model: &'a Model,
    query: &'a Query,
    nodes: Vec<StageNode>,
    /// (measure, grain aliases, shifts) -> node, so shared inputs are computed once.
    built: Vec<Built>,
    depth: usize,
}

type R<T> = Result<T, Vec<Diagnostic>>;

fn unsupported(msg: String) -> Vec<Diagnostic> {
    vec![Diagnostic::error(Code::QueryUnsupported, msg)]
}

/// Builds the stage tree of `query`, whose grain is `grain` (the plan's dimension columns).
/// `measures` are the query's measures (selected, then filtered on).
pub fn build(model: &Model, query: &Query, grain: &[Column], measures: &[(CubeId, usize)]) -> R<Stages> {
    if query.ungrouped {
        return Err(vec![Diagnostic::error(
            Code::QueryUngrouped,
            "multi-stage measures aggregate other measures, so they cannot be queried ungrouped",
        )]);
    }
    let mut b = Builder { model, query, nodes: Vec::new(), built: Vec::new(), depth: 0 };
    let mut outputs = Vec::new();
    let regular: Vec<(CubeId, usize)> =
        measures.iter().copied().filter(|(c, m)| !is_stage_measure(model, *c, *m)).collect();
    if !regular.is_empty() {
        let node = b.leaf(grain, &Vec::new(), &regular)?;
        outputs.extend(regular.iter().map(|(c, m)| (*c, *m, node)));
    }
    for &(c, m) in measures.iter().filter(|(c, m)| is_stage_measure(model, *c, *m)) {
        let node = b.stage(c, m, grain, &Vec::new())?;
        outputs.push((c, m, node));
    }
    let mut keys = b.at_grain(outputs.iter().map(|o| o.2), grain);
    if keys.is_empty() && !grain.is_empty() {
        keys.push(b.leaf(grain, &Vec::new(), &[])?);
    }
    Ok(Stages { nodes: b.nodes, outputs, keys })
}

fn aliases(grain: &[Column]) -> Vec<String> {
    let mut a: Vec<String> = grain.iter().map(|c| c.alias.clone()).collect();
    a.sort();
    a
}

/// The source dimension of a grouping column.
fn source_of(c: &Column) -> Option<(CubeId, usize)> {
    match c.kind {
        ColumnKind::Dimension { cube, dimension } | ColumnKind::TimeBucket { cube, dimension, .. } => {
            Some((cube, dimension))
        }
        ColumnKind::Measure { .. } => None,
    }
}

impl Builder<'_> {
    fn push(&mut self, node: StageNode) -> R<usize> {
        if self.nodes.len() >= MAX_NODES {
            return Err(unsupported(format!("this query needs more than {MAX_NODES} stages")));
        }
        self.nodes.push(node);
        Ok(self.nodes.len() - 1)
    }

    /// Nodes among `nodes` whose grain is `grain`.
    fn at_grain(&self, nodes: impl Iterator<Item = usize>, grain: &[Column]) -> Vec<usize> {
        let want = aliases(grain);
        let mut out = Vec::new();
        for n in nodes {
            if aliases(&self.nodes[n].grain) == want && !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// The node computing multi-stage measure `(cube, m)` at `grain` under `shifts`.
    fn stage(&mut self, cube: CubeId, m: usize, grain: &[Column], shifts: &Shifts) -> R<usize> {
        let key = ((cube, m), aliases(grain), shifts.clone());
        if let Some(found) = self.built.iter().find(|(k, g, s, _)| (*k, g, s) == (key.0, &key.1, &key.2)) {
            return Ok(found.3);
        }
        self.depth += 1;
        if self.depth > 32 {
            return Err(unsupported("multi-stage measures nest more than 32 deep".into()));
        }
        let node = self.stage_node(cube, m, grain, shifts);
        self.depth -= 1;
        let node = node?;
        self.built.push((key.0, key.1, key.2, node));
        Ok(node)
    }

    fn stage_node(&mut self, cube: CubeId, m: usize, grain: &[Column], shifts: &Shifts) -> R<usize> {
        let model = self.model;
        let measure = &model.cube(cube).measures[m];
        let name = format!("{}.{}", model.cube(cube).name, measure.name);
        let stage = measure.stage.clone().unwrap_or_default();
        if !measure.filters.is_empty() {
            return Err(unsupported(format!("`{name}`: `filters` on a multi-stage measure are not compiled yet")));
        }
        let rank = measure.type_ == MeasureType::Rank;
        let inner = if rank { grain.to_vec() } else { self.inner_grain(grain, &stage) };
        let mut inner_shifts = shifts.clone();
        inner_shifts.extend(self.shifts_of(&name, &stage)?);
        let inputs = measure_inputs(model, cube, m);
        let alias = model.cube(cube).column_alias(MemberRef::Measure(m));
        let adds = !stage.add_group_by.is_empty() && aliases(&inner) != aliases(grain);
        let out_grain: Vec<Column> = if adds {
            grain.iter().filter(|c| inner.iter().any(|i| i.alias == c.alias)).cloned().collect()
        } else {
            inner.clone()
        };
        if inputs.is_empty() && !rank {
            // A self-contained measure: aggregated as usual in a leaf at the inner grain.
            if matches!(
                measure.type_,
                MeasureType::Number
                    | MeasureType::NumberAgg
                    | MeasureType::String
                    | MeasureType::Boolean
                    | MeasureType::Time
            ) {
                return Err(unsupported(format!(
                    "`{name}` is a multi-stage `{}` measure that references no measure",
                    measure.type_.agg_name()
                )));
            }
            let leaf = self.leaf(&inner, &inner_shifts, &[(cube, m)])?;
            if !adds {
                return Ok(leaf);
            }
            if !matches!(
                measure.type_,
                MeasureType::Sum | MeasureType::Count | MeasureType::Min | MeasureType::Max | MeasureType::Avg
            ) {
                return Err(unsupported(format!(
                    "`{name}`: a `{}` measure over its own column cannot be re-aggregated after `add_group_by`",
                    measure.type_.agg_name()
                ))
                .into_iter()
                .map(|d| d.with_help("reference a measure instead: `sql: \"{my_count_distinct}\"`"))
                .collect());
            }
            let leaf_alias = self.nodes[leaf]
                .measures
                .iter()
                .find(|g| (g.cube, g.measure) == (cube, m))
                .map(|g| g.alias.clone())
                .unwrap_or_default();
            let calc = Calc {
                cube,
                measure: m,
                inner: inner.clone(),
                inputs: vec![leaf],
                keys: vec![leaf],
                how: CalcKind::Reaggregate { alias: leaf_alias },
            };
            return self.push(StageNode {
                grain: out_grain,
                measures: vec![GroupMeasure { cube, measure: m, alias }],
                kind: StageKind::Calc(calc),
            });
        }
        if adds
            && matches!(
                measure.type_,
                MeasureType::Number | MeasureType::String | MeasureType::Boolean | MeasureType::Time
            )
        {
            return Err(vec![Diagnostic::error(
                Code::QueryUnsupported,
                format!(
                    "`{name}` has `add_group_by`, so its type must aggregate the inner rows, and `{}` does not",
                    measure.type_.agg_name()
                ),
            )
            .with_help("use `type: sum`, `avg`, `min`, `max` or `number_agg` (an aggregate expression)")]);
        }
        let mut input_nodes = Vec::new();
        let regular: Vec<(CubeId, usize)> =
            inputs.iter().copied().filter(|(c, i)| !is_stage_measure(model, *c, *i)).collect();
        if !regular.is_empty() {
            input_nodes.push(self.leaf(&inner, &inner_shifts, &regular)?);
        }
        for &(c, i) in inputs.iter().filter(|(c, i)| is_stage_measure(model, *c, *i)) {
            if (c, i) == (cube, m) {
                return Err(unsupported(format!("`{name}` references itself")));
            }
            let n = self.stage(c, i, &inner, &inner_shifts)?;
            if !input_nodes.contains(&n) {
                input_nodes.push(n);
            }
        }
        let mut keys = self.at_grain(input_nodes.iter().copied(), &inner);
        if keys.is_empty() && !inner.is_empty() {
            let k = self.leaf(&inner, &inner_shifts, &[])?;
            keys.push(k);
            input_nodes.push(k);
        }
        // `sql: "{other}"` with nothing to aggregate is the input itself (a shifted or regrouped
        // copy of it): read its column instead of adding a stage that only renames it.
        if !rank && !adds && measure.type_ != MeasureType::NumberAgg && input_nodes.len() == 1 && inputs.len() == 1 {
            let only = input_nodes[0];
            let single_ref = measure.sql.as_ref().is_some_and(|t| {
                t.parts.iter().filter(|p| !matches!(p, SqlPart::Text(s) if s.trim().is_empty())).count() == 1
            });
            if single_ref && aliases(&self.nodes[only].grain) == aliases(&out_grain) {
                let (c, i) = inputs[0];
                if let Some(alias) =
                    self.nodes[only].measures.iter().find(|g| (g.cube, g.measure) == (c, i)).map(|g| g.alias.clone())
                {
                    self.nodes[only].measures.push(GroupMeasure { cube, measure: m, alias });
                    return Ok(only);
                }
            }
        }
        let how = if rank {
            let reduced: Vec<(CubeId, usize)> = stage.reduce_by.clone();
            let partition = grain
                .iter()
                .filter(|c| !source_of(c).is_some_and(|s| reduced.contains(&s)))
                .map(|c| c.alias.clone())
                .collect();
            CalcKind::Rank { partition, order: stage.order_by.clone() }
        } else if adds || measure.type_ == MeasureType::NumberAgg {
            CalcKind::Aggregate
        } else {
            CalcKind::Row
        };
        let calc = Calc { cube, measure: m, inner, inputs: input_nodes, keys, how };
        self.push(StageNode {
            grain: out_grain,
            measures: vec![GroupMeasure { cube, measure: m, alias }],
            kind: StageKind::Calc(calc),
        })
    }

    /// The grain of a measure's inner stage: the outer grain changed by its modifiers.
    fn inner_grain(&self, grain: &[Column], stage: &Stage) -> Vec<Column> {
        let mut out: Vec<Column> = match &stage.group_by {
            Some(keep) => grain.iter().filter(|c| source_of(c).is_some_and(|s| keep.contains(&s))).cloned().collect(),
            None => grain.to_vec(),
        };
        out.retain(|c| !source_of(c).is_some_and(|s| stage.reduce_by.contains(&s)));
        for &(c, d) in &stage.add_group_by {
            if out.iter().any(|col| source_of(col) == Some((c, d))) {
                continue;
            }
            let cube = self.model.cube(c);
            out.push(Column {
                alias: cube.column_alias(MemberRef::Dimension(d)),
                member: format!("{}.{}", cube.name, cube.dimensions[d].name),
                kind: ColumnKind::Dimension { cube: c, dimension: d },
            });
        }
        out
    }

    /// The concrete shifts of a measure's `time_shift` for this query.
    fn shifts_of(&self, name: &str, stage: &Stage) -> R<Shifts> {
        let mut out = Vec::new();
        let query_dims: Vec<(CubeId, usize)> = self
            .query
            .time_dimensions
            .iter()
            .filter_map(|td| match td.member.source_member {
                MemberRef::Dimension(d) => Some((td.member.source_cube, d)),
                _ => None,
            })
            .collect();
        for shift in &stage.time_shifts {
            if let Some(n) = &shift.named {
                return Err(vec![Diagnostic::error(
                    Code::QueryUnsupported,
                    format!("`{name}`: the named time shift `{n}` needs a calendar cube, which cubec does not support"),
                )
                .with_help("give the shift as `interval` and `type` instead")]);
            }
            let targets: Vec<(CubeId, usize)> = match shift.dimension {
                Some(d) => query_dims.iter().copied().filter(|q| *q == d).collect(),
                None => query_dims.clone(),
            };
            if targets.is_empty() {
                let which = match shift.dimension {
                    Some((c, d)) => format!("`{}.{}`", self.model.cube(c).name, self.model.cube(c).dimensions[d].name),
                    None => "a time dimension".to_string(),
                };
                return Err(vec![Diagnostic::error(
                    Code::QueryMultiStage,
                    format!("`{name}` shifts time by {}, and the query has no {which} to shift", shift.interval),
                )
                .with_help(format!("add {which} to `timeDimensions` (with a granularity or a dateRange)"))]);
            }
            for (c, d) in targets {
                out.push((c, d, shift.interval.clone()));
            }
        }
        Ok(out)
    }

    /// An ordinary query at `grain` under `shifts` computing `measures` (none: just the keys).
    fn leaf(&mut self, grain: &[Column], shifts: &Shifts, measures: &[(CubeId, usize)]) -> R<usize> {
        // One leaf per (grain, shifts): measures that share them share the scan.
        let want = aliases(grain);
        let existing = self.nodes.iter().position(|n| {
            matches!(&n.kind, StageKind::Leaf(p) if p.time_shifts == *shifts) && aliases(&n.grain) == want
        });
        let mut wanted: Vec<(CubeId, usize)> = Vec::new();
        let mut pass_through: Vec<GroupMeasure> = Vec::new();
        if let Some(i) = existing {
            if measures.iter().all(|(c, m)| self.nodes[i].measures.iter().any(|g| (g.cube, g.measure) == (*c, *m))) {
                return Ok(i);
            }
            if let StageKind::Leaf(p) = &self.nodes[i].kind {
                for c in &p.columns {
                    if let ColumnKind::Measure { cube, measure } = c.kind {
                        wanted.push((cube, measure));
                    }
                }
            }
            pass_through =
                self.nodes[i].measures.iter().filter(|g| !wanted.contains(&(g.cube, g.measure))).cloned().collect();
        }
        for m in measures {
            if !wanted.contains(m) {
                wanted.push(*m);
            }
        }
        let q = self.leaf_query(grain, &wanted);
        let mut plan = super::plan_flat(self.model, &q)?;
        plan.time_shifts = shifts.clone();
        let grain: Vec<Column> = plan.columns[..plan.dimension_count].to_vec();
        let mut node_measures: Vec<GroupMeasure> = plan
            .columns
            .iter()
            .filter_map(|c| match c.kind {
                ColumnKind::Measure { cube, measure } => Some(GroupMeasure { cube, measure, alias: c.alias.clone() }),
                _ => None,
            })
            .collect();
        node_measures.extend(pass_through);
        let node = StageNode { grain, measures: node_measures, kind: StageKind::Leaf(Box::new(plan)) };
        match existing {
            Some(i) => {
                self.nodes[i] = node;
                Ok(i)
            }
            None => self.push(node),
        }
    }

    fn leaf_query(&self, grain: &[Column], measures: &[(CubeId, usize)]) -> Query {
        let q = self.query;
        let member = |cube: CubeId, r: MemberRef| QueryMember::of_cube(self.model, cube, r);
        let mut dimensions = Vec::new();
        let mut time_dimensions = q.time_dimensions.clone();
        for td in &mut time_dimensions {
            let alias = td
                .granularity
                .as_ref()
                .map(|g| format!("{}_{}", member_alias(self.model, &td.member), crate::util::underscore(g)));
            if !alias.is_some_and(|a| grain.iter().any(|c| c.alias == a)) {
                td.granularity = None;
            }
        }
        for col in grain {
            if let ColumnKind::Dimension { cube, dimension } = col.kind {
                let found = q
                    .dimensions
                    .iter()
                    .find(|d| d.source_cube == cube && d.source_member == MemberRef::Dimension(dimension));
                dimensions.push(found.cloned().unwrap_or_else(|| member(cube, MemberRef::Dimension(dimension))));
            }
        }
        let measures = measures
            .iter()
            .map(|&(c, m)| {
                let found = q.measures.iter().find(|x| x.source_cube == c && x.source_member == MemberRef::Measure(m));
                found.cloned().unwrap_or_else(|| member(c, MemberRef::Measure(m)))
            })
            .collect();
        Query {
            measures,
            dimensions,
            time_dimensions,
            filters: q.filters.iter().filter(|f| !f.is_measure()).cloned().collect::<Vec<FilterNode>>(),
            order: Some(Vec::new()),
            limit: u64::MAX,
            offset: None,
            total: false,
            ..q.clone()
        }
    }
}

/// The time dimension a query must have for `(cube, m)` to compile: the first `time_shift` in
/// its tree of measures names one (or, naming none, any will do: the cube's first).
pub fn shifted_time_dimension(model: &Model, cube: CubeId, m: usize) -> Option<(CubeId, usize)> {
    let mut stack = vec![(cube, m)];
    let mut seen = Vec::new();
    while let Some((c, i)) = stack.pop() {
        if seen.contains(&(c, i)) || seen.len() > 256 {
            continue;
        }
        seen.push((c, i));
        if let Some(stage) = &model.cube(c).measures[i].stage {
            if let Some(shift) = stage.time_shifts.iter().find(|s| s.named.is_none()) {
                let first_time = || {
                    let d =
                        model.cube(c).dimensions.iter().position(|d| d.type_ == crate::resolve::DimensionType::Time)?;
                    Some((c, d))
                };
                return shift.dimension.or_else(first_time);
            }
        }
        stack.extend(measure_inputs(model, c, i));
    }
    None
}
