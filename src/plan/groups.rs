//! Measure groups: which measures can share one aggregate over the join tree and which need
//! their own subquery, because the joins repeat their cube's rows (fan-out) or because they
//! aggregate over a rolling window of time.
//!
//! A query whose measures all fall into the main group compiles to one SELECT. Otherwise each
//! group becomes a subquery grouped by the query's dimensions, and the outer query joins them on
//! those dimensions (null-safe) and applies measure filters, order and limit.

use super::{joins::JoinTree, multiplied_by, Column, ColumnKind};
use crate::diag::{Code, Diagnostic};
use crate::query::FilterNode;
use crate::resolve::{CubeId, MeasureType, MemberRef, Model, Ref, SqlPart};

/// How a group's measures are aggregated.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupKind {
    /// Over the join tree as it is: measures whose rows the joins do not repeat.
    Main,
    /// Over `SELECT DISTINCT <dimensions>, <primary key of cube>` joined back to the cube, so each
    /// row of the cube counts once per dimension combination.
    Keyed(CubeId),
    /// One measure with a rolling window, aggregated from rows inside each window of the series.
    Rolling,
}

/// A measure a group computes, with the column alias the outer query reads it by.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMeasure {
    pub cube: CubeId,
    pub measure: usize,
    pub alias: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MeasureGroup {
    pub kind: GroupKind,
    pub measures: Vec<GroupMeasure>,
}

/// Splits the selected measures, and the measures that measure filters name, into groups.
pub fn build(
    model: &Model,
    tree: &JoinTree,
    columns: &[Column],
    having: &[FilterNode],
    filter_measures: &[(CubeId, usize, String)],
    rolling: bool,
) -> Result<Vec<MeasureGroup>, Vec<Diagnostic>> {
    let mut wanted: Vec<GroupMeasure> = Vec::new();
    for c in columns {
        if let ColumnKind::Measure { cube, measure } = c.kind {
            wanted.push(GroupMeasure { cube, measure, alias: c.alias.clone() });
        }
    }
    if !having.is_empty() {
        for (cube, measure, alias) in filter_measures {
            if !wanted.iter().any(|w| w.alias == *alias) {
                wanted.push(GroupMeasure { cube: *cube, measure: *measure, alias: alias.clone() });
            }
        }
    }
    let mut diags = Vec::new();
    let mut groups: Vec<MeasureGroup> = Vec::new();
    let mut main = MeasureGroup { kind: GroupKind::Main, measures: Vec::new() };
    for w in wanted {
        let m = &model.cube(w.cube).measures[w.measure];
        let name = format!("{}.{}", model.cube(w.cube).name, m.name);
        if rolling && m.rolling_window.is_some() {
            groups.push(MeasureGroup { kind: GroupKind::Rolling, measures: vec![w] });
            continue;
        }
        let mut leaves = Vec::new();
        leaf_measures(model, w.cube, w.measure, &mut leaves, 0);
        let unsafe_leaves: Vec<CubeId> = leaves
            .iter()
            .filter(|(c, i)| multiplied_by(model, tree, *c).is_some() && !fan_out_safe(model, *c, *i))
            .map(|(c, _)| *c)
            .collect();
        if unsafe_leaves.is_empty() {
            main.measures.push(w);
            continue;
        }
        let cube = unsafe_leaves[0];
        if leaves.iter().any(|(c, _)| *c != cube) {
            diags.push(
                Diagnostic::error(
                    Code::QueryUnsupported,
                    format!(
                        "`{name}` combines measures of several cubes, and the joins of this query repeat rows of `{}`",
                        model.cube(cube).name
                    ),
                )
                .with_help("query its input measures separately, or define it on one cube"),
            );
            continue;
        }
        if model.cube(cube).primary_keys().next().is_none() {
            diags.push(
                Diagnostic::error(
                    Code::QueryUnsupported,
                    format!("one or more primary keys are required for `{}`: the joins of this query repeat its rows, and `{name}` can only be counted once per row through its key", model.cube(cube).name),
                )
                .with_help("mark the dimension (or dimensions) that identify a row with `primary_key: true`"),
            );
            continue;
        }
        if let Some(other) = foreign_reference(model, w.cube, w.measure, 0) {
            diags.push(
                Diagnostic::error(
                    Code::QueryUnsupported,
                    format!(
                        "`{name}` references `{}`, and the joins of this query repeat rows of `{}`",
                        model.cube(other).name,
                        model.cube(cube).name
                    ),
                )
                .with_help(
                    "rewrite the measure over its own cube's columns, or move the value into a sub_query dimension",
                ),
            );
            continue;
        }
        match groups.iter_mut().find(|g| g.kind == GroupKind::Keyed(cube)) {
            Some(g) => g.measures.push(w),
            None => groups.push(MeasureGroup { kind: GroupKind::Keyed(cube), measures: vec![w] }),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    // Measures of a cube that has a keys subquery anyway go there: one scan per cube, as Cube does.
    main.measures.retain(|w| match groups.iter_mut().find(|g| g.kind == GroupKind::Keyed(w.cube)) {
        Some(g) if own_cube_only(model, w.cube, w.measure) => {
            g.measures.push(w.clone());
            false
        }
        _ => true,
    });
    if !main.measures.is_empty() || groups.is_empty() {
        groups.insert(0, main);
    }
    Ok(groups)
}

/// Whether a measure can be computed over its cube alone (in that cube's keys subquery).
fn own_cube_only(model: &Model, cube: CubeId, measure: usize) -> bool {
    let mut leaves = Vec::new();
    leaf_measures(model, cube, measure, &mut leaves, 0);
    leaves.iter().all(|(c, _)| *c == cube) && foreign_reference(model, cube, measure, 0).is_none()
}

/// Whether counting a measure over repeated rows still gives the right answer: distinct counts,
/// and plain counts (rendered as a distinct count of the primary key).
fn fan_out_safe(model: &Model, cube: CubeId, measure: usize) -> bool {
    let c = model.cube(cube);
    let m = &c.measures[measure];
    matches!(m.type_, MeasureType::CountDistinct | MeasureType::CountDistinctApprox)
        || (m.type_ == MeasureType::Count
            && m.sql.is_none()
            && m.filters.is_empty()
            && c.primary_keys().next().is_some())
}

/// The aggregate measures a measure is made of: itself, or for number-like measures the
/// measures their SQL references (a number measure with no references stands for itself).
fn leaf_measures(model: &Model, cube: CubeId, measure: usize, out: &mut Vec<(CubeId, usize)>, depth: usize) {
    let m = &model.cube(cube).measures[measure];
    let calculated =
        matches!(m.type_, MeasureType::Number | MeasureType::String | MeasureType::Time | MeasureType::Boolean);
    let before = out.len();
    if calculated && depth < 32 {
        for t in m.sql.iter() {
            for part in &t.parts {
                if let SqlPart::Ref(Ref::Member { cube: c, member: MemberRef::Measure(i), .. }, _) = part {
                    leaf_measures(model, *c, *i, out, depth + 1);
                }
            }
        }
    }
    if out.len() == before && !out.contains(&(cube, measure)) {
        out.push((cube, measure));
    }
}

/// A cube other than `cube` that the measure's SQL reaches into (through dimensions or `{other}`).
fn foreign_reference(model: &Model, cube: CubeId, measure: usize, depth: usize) -> Option<CubeId> {
    if depth > 32 {
        return None;
    }
    let m = &model.cube(cube).measures[measure];
    for t in m.sql.iter().chain(m.filters.iter()) {
        for part in &t.parts {
            let SqlPart::Ref(r, _) = part else { continue };
            match r {
                Ref::Member { cube: c, member, .. } if *c != cube => {
                    if matches!(member, MemberRef::Measure(_)) {
                        continue;
                    }
                    return Some(*c);
                }
                Ref::Member { cube: c, member: MemberRef::Measure(i), .. } => {
                    if let Some(o) = foreign_reference(model, *c, *i, depth + 1) {
                        return Some(o);
                    }
                }
                Ref::CubeAlias { cube: c, .. } | Ref::Granularity { cube: c, .. } if *c != cube => return Some(*c),
                _ => {}
            }
        }
    }
    None
}
