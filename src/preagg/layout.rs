//! What a rollup stores and how it is read back.
//!
//! A rollup's table has one column per grouping member (dimension, time dimension at its
//! granularity, segment as a boolean) and one per *leaf*: an aggregate that can be computed at
//! the rollup's grain and combined again at a coarser one. `count`, `sum`, `min`, `max` are
//! leaves of themselves (combined by sum, sum, min, max); `avg` is stored as its sum and its
//! count; a calculated (`number`) measure is stored as the leaves it is computed from, so it is
//! right at any grain (Cube stores the ratio and then sums ratios); distinct counts are leaves
//! that only serve the rollup's exact grain. Every table also stores its row count.
//!
//! Two models are derived from the source model once per load: the *building* model, the
//! source with hidden helper members the build query asks for (the parts of an `avg`, a segment
//! as a boolean dimension, the row count), and the *serving* model, one cube per rollup over
//! its table, whose members re-aggregate the stored columns. A query a rollup can answer is
//! rewritten onto that cube and compiled by the ordinary stages ([`super::rewrite`]).

use crate::resolve::*;
use crate::sql::Dialect;
use std::collections::HashMap;

/// Where a rollup is in the model: its cube and its position in `pre_aggregations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RollupRef {
    pub cube: CubeId,
    pub index: usize,
}

/// A grouping column.
#[derive(Debug, Clone, PartialEq)]
pub enum Grain {
    Dimension {
        source: (CubeId, usize),
        column: String,
        virt: usize,
    },
    Time {
        source: (CubeId, usize),
        granularity: String,
        column: String,
        virt: usize,
    },
    /// A segment stored as a boolean column; `virt` is the serving cube's segment.
    Segment {
        source: (CubeId, usize),
        column: String,
        virt: usize,
    },
}

impl Grain {
    pub fn column(&self) -> &str {
        match self {
            Grain::Dimension { column, .. } | Grain::Time { column, .. } | Grain::Segment { column, .. } => column,
        }
    }
}

/// A stored aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    pub column: String,
    /// Combined again at a coarser grain (else only the exact grain reads it).
    pub additive: bool,
    /// The building model's measure that computes it.
    pub build_measure: (CubeId, usize),
}

/// A source measure the rollup can answer: the serving cube's measure for it and the leaves it
/// reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Servable {
    pub source: (CubeId, usize),
    pub virt: usize,
    pub leaves: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Layout {
    pub at: RollupRef,
    /// `cube.name`, as Cube's `preAggregationId`.
    pub id: String,
    pub grain: Vec<Grain>,
    pub leaves: Vec<Leaf>,
    pub servable: Vec<Servable>,
    /// The row count column.
    pub rows_column: String,
    /// The serving cube, alone in its model (cube 0): its source is set per query to the
    /// built tables it reads.
    pub serving: Model,
    /// Why it can be neither built nor served, if so (a `rollup_join`, a rolling measure, ...).
    pub unsupported: Option<String>,
}

impl Layout {
    pub fn grain_of_dimension(&self, source: (CubeId, usize)) -> Option<&Grain> {
        self.grain.iter().find(|g| match g {
            Grain::Dimension { source: s, .. } | Grain::Time { source: s, .. } => *s == source,
            Grain::Segment { .. } => false,
        })
    }

    pub fn servable(&self, measure: (CubeId, usize)) -> Option<&Servable> {
        self.servable.iter().find(|s| s.source == measure)
    }
}

/// Names of the building model's helper members (hidden, never in meta or queries).
pub fn avg_sum_name(m: &str) -> String {
    format!("__cubec_{m}_sum")
}
pub fn avg_count_name(m: &str) -> String {
    format!("__cubec_{m}_count")
}
pub fn segment_dim_name(s: &str) -> String {
    format!("__cubec_segment_{s}")
}
pub const ROWS_MEASURE: &str = "__cubec_rows";
pub fn time_min_name(d: &str) -> String {
    format!("__cubec_{d}_min")
}
pub fn time_max_name(d: &str) -> String {
    format!("__cubec_{d}_max")
}

/// The source model with the helper members every rollup's build query needs.
pub fn building_model(model: &Model) -> Model {
    let mut out = model.clone();
    let add_measure = |cube: CubeId, m: Measure, out: &mut Model| {
        let c = &mut out.cubes[cube];
        if c.member(&m.name).is_none() {
            c.members.insert(m.name.clone(), MemberRef::Measure(c.measures.len()));
            c.measures.push(m);
        }
    };
    for (cid, cube) in model.cubes.iter().enumerate() {
        if cube.pre_aggregations.is_empty() {
            continue;
        }
        add_measure(
            cid,
            hidden_measure(ROWS_MEASURE, MeasureType::Number, Some(SqlTemplate::text("count(*)")), &[]),
            &mut out,
        );
        for p in &cube.pre_aggregations {
            for &(c, m) in &leaf_measures(model, &p.measures) {
                let src = &model.cube(c).measures[m];
                if src.type_ == MeasureType::Avg {
                    add_measure(
                        c,
                        hidden_measure(&avg_sum_name(&src.name), MeasureType::Sum, src.sql.clone(), &src.filters),
                        &mut out,
                    );
                    add_measure(
                        c,
                        hidden_measure(&avg_count_name(&src.name), MeasureType::Count, src.sql.clone(), &src.filters),
                        &mut out,
                    );
                }
            }
            // The data's first and last time, for partitions without a build range.
            if let Some(&(c, d, _)) = p.time_dimensions.first() {
                let dim = &model.cube(c).dimensions[d];
                let value = SqlTemplate {
                    parts: vec![SqlPart::Ref(
                        Ref::Member { cube: c, member: MemberRef::Dimension(d), path: Vec::new() },
                        crate::diag::Span::default(),
                    )],
                    span: None,
                };
                add_measure(
                    c,
                    hidden_measure(&time_min_name(&dim.name), MeasureType::Min, Some(value.clone()), &[]),
                    &mut out,
                );
                add_measure(c, hidden_measure(&time_max_name(&dim.name), MeasureType::Max, Some(value), &[]), &mut out);
            }
            for &(c, s) in &p.segments {
                let seg = &model.cube(c).segments[s];
                let name = segment_dim_name(&seg.name);
                let cube = &mut out.cubes[c];
                if cube.member(&name).is_none() {
                    cube.members.insert(name.clone(), MemberRef::Dimension(cube.dimensions.len()));
                    cube.dimensions.push(Dimension {
                        name,
                        span: seg.span,
                        type_: DimensionType::Boolean,
                        sql: Some(seg.sql.clone()),
                        case: None,
                        geo: None,
                        primary_key: false,
                        sub_query: false,
                        propagate_filters_to_sub_query: false,
                        granularities: Vec::new(),
                        title: None,
                        description: None,
                        format: None,
                        meta: None,
                        public: false,
                        proxy: None,
                    });
                }
            }
        }
    }
    out
}

fn hidden_measure(name: &str, type_: MeasureType, sql: Option<SqlTemplate>, filters: &[SqlTemplate]) -> Measure {
    Measure {
        name: name.to_string(),
        span: crate::diag::Span::default(),
        type_,
        sql,
        filters: filters.to_vec(),
        title: None,
        description: None,
        format: None,
        meta: None,
        public: false,
        rolling_window: None,
        drill_members: Vec::new(),
        multi_stage: false,
        stage: None,
        proxy: None,
    }
}

/// The measures a list of measures is computed from: calculated measures replaced by the
/// measures they reference, transitively; each once, in order.
pub fn leaf_measures(model: &Model, measures: &[(CubeId, usize)]) -> Vec<(CubeId, usize)> {
    let mut out = Vec::new();
    for &m in measures {
        collect_leaves(model, m, &mut out, 0);
    }
    out
}

fn collect_leaves(model: &Model, (c, i): (CubeId, usize), out: &mut Vec<(CubeId, usize)>, depth: usize) {
    let m = &model.cube(c).measures[i];
    let refs: Vec<(CubeId, usize)> = m
        .sql
        .iter()
        .flat_map(|t| t.refs())
        .filter_map(|r| match r {
            Ref::Member { cube, member: MemberRef::Measure(j), .. } => Some((*cube, *j)),
            _ => None,
        })
        .collect();
    if m.type_.is_calculated() && !refs.is_empty() && depth < 32 {
        for r in refs {
            collect_leaves(model, r, out, depth + 1);
        }
    } else if !out.contains(&(c, i)) {
        out.push((c, i));
    }
}

/// Why a measure cannot be stored in or served from a rollup at all.
pub fn unsupported_measure(model: &Model, (c, i): (CubeId, usize)) -> Option<String> {
    let m = &model.cube(c).measures[i];
    let name = format!("{}.{}", model.cube(c).name, m.name);
    if m.rolling_window.is_some() {
        return Some(format!("`{name}` is a rolling window"));
    }
    if m.multi_stage || m.stage.is_some() {
        return Some(format!("`{name}` is a multi-stage measure"));
    }
    if matches!(m.type_, MeasureType::NumberAgg | MeasureType::Rank) {
        return Some(format!("`{name}` is of type {}", m.type_.agg_name()));
    }
    if m.type_.is_calculated() {
        let bad = m
            .sql
            .iter()
            .flat_map(|t| t.refs())
            .any(|r| !matches!(r, Ref::Member { member: MemberRef::Measure(_), .. }));
        let refs_measures =
            m.sql.iter().flat_map(|t| t.refs()).any(|r| matches!(r, Ref::Member { member: MemberRef::Measure(_), .. }));
        if bad && refs_measures {
            return Some(format!("`{name}` mixes measures with other references in its SQL"));
        }
    }
    None
}

/// A stored column's name for a member of `cube` as the build query aliases it.
fn column(model: &Model, cube: CubeId, member: MemberRef) -> String {
    model.cube(cube).column_alias(member)
}

/// The layout of every pre-aggregation of `model`, each with its serving cube, whose SQL reads
/// the stored columns quoted for the `dialect_of` the rollup's store.
pub fn layouts(
    model: &Model,
    building: &Model,
    dialect_of: &dyn Fn(&PreAggregation) -> std::sync::Arc<Dialect>,
) -> Vec<Layout> {
    let mut out = Vec::new();
    for (cid, cube) in model.cubes.iter().enumerate() {
        for (index, p) in cube.pre_aggregations.iter().enumerate() {
            let at = RollupRef { cube: cid, index };
            let id = format!("{}.{}", cube.name, p.name);
            out.push(layout_of(model, building, at, &id, p, &dialect_of(p)));
        }
    }
    out
}

fn layout_of(
    model: &Model,
    building: &Model,
    at: RollupRef,
    id: &str,
    p: &PreAggregation,
    dialect: &Dialect,
) -> Layout {
    let virt_id: CubeId = 0;
    let mut virt = empty_cube(&format!("{}__{}", model.cube(at.cube).name, p.name));
    let col = |c: &str| SqlTemplate {
        parts: vec![
            SqlPart::Ref(Ref::CubeAlias { cube: virt_id, path: Vec::new() }, crate::diag::Span::default()),
            SqlPart::Text(format!(".{}", dialect.ident(c))),
        ],
        span: None,
    };
    let mut unsupported = match p.kind {
        PreAggKind::Rollup => None,
        other => Some(format!("a {} is not served by cubec (the query runs on the source)", other.name())),
    };
    let mut grain = Vec::new();
    for &(c, d) in &p.dimensions {
        let column = column(model, c, MemberRef::Dimension(d));
        let src = &model.cube(c).dimensions[d];
        let v = push_dimension(
            &mut virt,
            &format!("{}__{}", model.cube(c).name, src.name),
            src.type_,
            col(&column),
            Vec::new(),
        );
        grain.push(Grain::Dimension { source: (c, d), column, virt: v });
    }
    for (c, d, g) in &p.time_dimensions {
        let src = &model.cube(*c).dimensions[*d];
        let column = format!("{}_{}", column(model, *c, MemberRef::Dimension(*d)), crate::util::underscore(g));
        let granularities: Vec<CustomGranularity> =
            src.granularities.iter().filter(|x| matches!(x.kind, GranularityKind::Interval { .. })).cloned().collect();
        let v = push_dimension(
            &mut virt,
            &format!("{}__{}", model.cube(*c).name, src.name),
            DimensionType::Time,
            col(&column),
            granularities,
        );
        grain.push(Grain::Time { source: (*c, *d), granularity: g.clone(), column, virt: v });
    }
    for &(c, s) in &p.segments {
        let seg = &model.cube(c).segments[s];
        let helper = building.cube(c).member(&segment_dim_name(&seg.name));
        let column = match helper {
            Some(r) => column(building, c, r),
            None => segment_dim_name(&seg.name),
        };
        let v = virt.segments.len();
        let name = format!("{}__{}", model.cube(c).name, seg.name);
        virt.members.insert(name.clone(), MemberRef::Segment(v));
        virt.segments.push(Segment {
            name,
            span: seg.span,
            sql: col(&column),
            title: None,
            description: None,
            meta: None,
            public: true,
            proxy: None,
        });
        grain.push(Grain::Segment { source: (c, s), column, virt: v });
    }
    // Leaves: what the build query computes.
    let mut leaves: Vec<Leaf> = Vec::new();
    let mut leaf_of: HashMap<(CubeId, usize), Vec<usize>> = HashMap::new();
    let listed = leaf_measures(model, &p.measures);
    for &m in &listed {
        if let Some(why) = unsupported_measure(model, m) {
            unsupported.get_or_insert(why);
            continue;
        }
        let src = &model.cube(m.0).measures[m.1];
        let parts: Vec<(String, bool)> = match src.type_ {
            MeasureType::Avg => vec![(avg_sum_name(&src.name), true), (avg_count_name(&src.name), true)],
            MeasureType::Count | MeasureType::Sum | MeasureType::Min | MeasureType::Max => {
                vec![(src.name.clone(), true)]
            }
            _ => vec![(src.name.clone(), false)],
        };
        let mut ids = Vec::new();
        for (name, additive) in parts {
            let Some(MemberRef::Measure(bm)) = building.cube(m.0).member(&name) else { continue };
            let column = column(building, m.0, MemberRef::Measure(bm));
            let counted =
                matches!(src.type_, MeasureType::Count | MeasureType::CountDistinct | MeasureType::CountDistinctApprox)
                    || name == avg_count_name(&src.name);
            let virt_name = format!("{}__{}", model.cube(m.0).name, name);
            let v = match src.type_ {
                MeasureType::Min => push_measure(&mut virt, &virt_name, MeasureType::Min, col(&column)),
                MeasureType::Max => push_measure(&mut virt, &virt_name, MeasureType::Max, col(&column)),
                // A count over no rows is 0, not the NULL a sum of nothing gives (a query whose
                // range holds no rows): Cube's rollups answer NULL there, the source 0.
                _ if counted => {
                    let mut sql = col(&column);
                    sql.parts.insert(0, SqlPart::Text("COALESCE(sum(".into()));
                    sql.parts.push(SqlPart::Text("), 0)".into()));
                    push_measure(&mut virt, &virt_name, MeasureType::Number, sql)
                }
                _ => push_measure(&mut virt, &virt_name, MeasureType::Sum, col(&column)),
            };
            debug_assert_eq!(v, leaves.len());
            ids.push(leaves.len());
            leaves.push(Leaf { column, additive, build_measure: (m.0, bm) });
        }
        leaf_of.insert(m, ids);
    }
    let rows_column = building
        .cube(at.cube)
        .member(ROWS_MEASURE)
        .map(|r| column(building, at.cube, r))
        .unwrap_or_else(|| ROWS_MEASURE.to_string());
    // Servable source measures: every stored leaf measure, and every measure of the cubes
    // involved that is computed from servable measures only.
    let cubes: Vec<CubeId> = {
        let mut v: Vec<CubeId> = listed.iter().map(|m| m.0).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut served: HashMap<(CubeId, usize), Option<Servable>> = HashMap::new();
    for &c in &cubes {
        for i in 0..model.cube(c).measures.len() {
            serve(model, (c, i), virt_id, &mut virt, &leaf_of, &mut served, 0);
        }
    }
    let mut servable: Vec<Servable> = served.into_values().flatten().collect();
    servable.sort_by_key(|s| s.source);
    // Its rows change only when it is rebuilt, and a rebuilt table has a new name: cached
    // answers over it never go stale.
    virt.refresh_key =
        Some(RefreshKey { every: None, sql: None, immutable: true, incremental: false, update_window: None });
    let serving = Model { index: HashMap::from([(virt.name.clone(), 0)]), cubes: vec![virt] };
    Layout { at, id: id.to_string(), grain, leaves, servable, rows_column, serving, unsupported }
}

/// How the serving cube answers source measure `m`, worked out once per measure: a stored
/// leaf read back, an `avg` from its sum and count, a calculated measure from the servable
/// measures it references (its SQL moved onto the serving cube).
fn serve(
    model: &Model,
    m: (CubeId, usize),
    virt_id: CubeId,
    virt: &mut Cube,
    leaf_of: &HashMap<(CubeId, usize), Vec<usize>>,
    served: &mut HashMap<(CubeId, usize), Option<Servable>>,
    depth: usize,
) -> Option<Servable> {
    if let Some(known) = served.get(&m) {
        return known.clone();
    }
    served.insert(m, None); // a cycle, or too deep, serves nothing
    if depth > 32 || unsupported_measure(model, m).is_some() {
        return None;
    }
    let src = &model.cube(m.0).measures[m.1];
    let name = format!("{}__{}", model.cube(m.0).name, src.name);
    let leaf_ref = |leaf: usize| {
        SqlPart::Ref(
            Ref::Member { cube: virt_id, member: MemberRef::Measure(leaf), path: Vec::new() },
            crate::diag::Span::default(),
        )
    };
    let out = if let Some(ids) = leaf_of.get(&m) {
        match (src.type_, ids.as_slice()) {
            (MeasureType::Avg, &[sum, count]) => {
                // The division as a decimal whatever the sum's type (an integer sum over an
                // integer count would truncate).
                let sql = SqlTemplate {
                    parts: vec![
                        SqlPart::Text("(1.0 * ".into()),
                        leaf_ref(sum),
                        SqlPart::Text(" / NULLIF(".into()),
                        leaf_ref(count),
                        SqlPart::Text(", 0))".into()),
                    ],
                    span: None,
                };
                let v = push_measure(virt, &name, MeasureType::Number, sql);
                Some(Servable { source: m, virt: v, leaves: vec![sum, count] })
            }
            (_, &[leaf]) => Some(Servable { source: m, virt: leaf, leaves: vec![leaf] }),
            _ => None,
        }
    } else if src.type_.is_calculated() {
        let sql = src.sql.as_ref()?;
        let mut parts = Vec::with_capacity(sql.parts.len());
        let mut leaves = Vec::new();
        for p in &sql.parts {
            match p {
                SqlPart::Ref(Ref::Member { cube, member: MemberRef::Measure(j), .. }, span) => {
                    let inner = serve(model, (*cube, *j), virt_id, virt, leaf_of, served, depth + 1)?;
                    leaves.extend(inner.leaves.iter().copied().filter(|l| !leaves.contains(l)).collect::<Vec<_>>());
                    parts.push(SqlPart::Ref(
                        Ref::Member { cube: virt_id, member: MemberRef::Measure(inner.virt), path: Vec::new() },
                        *span,
                    ));
                }
                SqlPart::Text(t) => parts.push(SqlPart::Text(t.clone())),
                // `{CUBE}` and other references only make sense on the source.
                SqlPart::Ref(..) => return None,
            }
        }
        if leaves.is_empty() {
            return None;
        }
        let v = push_measure(virt, &name, src.type_, SqlTemplate { parts, span: sql.span });
        Some(Servable { source: m, virt: v, leaves })
    } else {
        None
    };
    served.insert(m, out.clone());
    out
}

fn empty_cube(name: &str) -> Cube {
    Cube {
        name: name.to_string(),
        kind: CubeKind::Cube,
        name_span: crate::diag::Span::default(),
        source: None,
        sql_alias: None,
        data_source: "default".to_string(),
        title: name.to_string(),
        description: None,
        meta: None,
        public: false,
        measures: Vec::new(),
        dimensions: Vec::new(),
        segments: Vec::new(),
        joins: Vec::new(),
        hierarchies: Vec::new(),
        pre_aggregations: Vec::new(),
        folders: Vec::new(),
        refresh_key: None,
        access_policy: Vec::new(),
        members: HashMap::new(),
    }
}

fn push_dimension(
    virt: &mut Cube,
    name: &str,
    type_: DimensionType,
    sql: SqlTemplate,
    granularities: Vec<CustomGranularity>,
) -> usize {
    let i = virt.dimensions.len();
    virt.members.insert(name.to_string(), MemberRef::Dimension(i));
    virt.dimensions.push(Dimension {
        name: name.to_string(),
        span: crate::diag::Span::default(),
        type_,
        sql: Some(sql),
        case: None,
        geo: None,
        primary_key: false,
        sub_query: false,
        propagate_filters_to_sub_query: false,
        granularities,
        title: None,
        description: None,
        format: None,
        meta: None,
        public: true,
        proxy: None,
    });
    i
}

fn push_measure(virt: &mut Cube, name: &str, type_: MeasureType, sql: SqlTemplate) -> usize {
    let i = virt.measures.len();
    virt.members.insert(name.to_string(), MemberRef::Measure(i));
    virt.measures.push(Measure { public: true, ..hidden_measure(name, type_, Some(sql), &[]) });
    i
}
