//! Whole-model checks that need every cube resolved: reference cycles, primary keys of joined
//! cubes, and member names used outside SQL (drill members, hierarchies, pre-aggregations).

use super::model::*;
use crate::diag::{Code, Diagnostic, Span};
use crate::load::raw::RawCube;
use crate::util::did_you_mean;
use std::collections::{HashMap, HashSet};

/// A node of the reference graph: a member, or a cube's own SQL (for `{cube.sql()}`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Node {
    Member(CubeId, MemberRef),
    CubeSql(CubeId),
}

fn node_name(model: &Model, n: Node) -> String {
    match n {
        Node::Member(c, m) => format!("{}.{}", model.cube(c).name, model.cube(c).member_name(m)),
        Node::CubeSql(c) => format!("{}.sql()", model.cube(c).name),
    }
}

fn edges_of(t: &SqlTemplate, out: &mut Vec<(Node, Span)>) {
    for p in &t.parts {
        if let SqlPart::Ref(r, span) = p {
            match r {
                Ref::Member { cube, member, .. } => out.push((Node::Member(*cube, *member), *span)),
                Ref::Granularity { cube, dimension, .. } => {
                    out.push((Node::Member(*cube, MemberRef::Dimension(*dimension)), *span))
                }
                Ref::CubeSql { cube } => out.push((Node::CubeSql(*cube), *span)),
                Ref::CubeAlias { .. } | Ref::Context { .. } => {}
            }
        }
    }
}

fn edges(model: &Model, n: Node) -> Vec<(Node, Span)> {
    let mut out = Vec::new();
    match n {
        Node::Member(c, MemberRef::Measure(i)) => {
            let m = &model.cube(c).measures[i];
            if let Some(s) = &m.sql {
                edges_of(s, &mut out);
            }
            for f in &m.filters {
                edges_of(f, &mut out);
            }
        }
        Node::Member(c, MemberRef::Dimension(i)) => {
            let d = &model.cube(c).dimensions[i];
            if let Some(s) = &d.sql {
                edges_of(s, &mut out);
            }
            if let Some(case) = &d.case {
                for (cond, label) in &case.when {
                    edges_of(cond, &mut out);
                    if let CaseLabel::Sql(s) = label {
                        edges_of(s, &mut out);
                    }
                }
                if let Some(CaseLabel::Sql(s)) = &case.else_label {
                    edges_of(s, &mut out);
                }
            }
            if let Some((a, b)) = &d.geo {
                edges_of(a, &mut out);
                edges_of(b, &mut out);
            }
            for g in &d.granularities {
                if let GranularityKind::Sql(s) = &g.kind {
                    edges_of(s, &mut out);
                }
            }
        }
        Node::Member(c, MemberRef::Segment(i)) => edges_of(&model.cube(c).segments[i].sql, &mut out),
        Node::CubeSql(c) => {
            if let Some(CubeSource::Sql(s)) = &model.cube(c).source {
                edges_of(s, &mut out);
            }
        }
    }
    out
}

/// Finds every reference cycle, once each, naming the whole cycle (`a -> b -> a`). Cube itself
/// only finds these at query time, by overflowing its stack.
pub fn reference_cycles(model: &Model, diags: &mut Vec<Diagnostic>) {
    let mut all: Vec<Node> = Vec::new();
    for (c, cube) in model.cubes.iter().enumerate() {
        if cube.is_view() {
            continue;
        }
        all.push(Node::CubeSql(c));
        all.extend((0..cube.measures.len()).map(|i| Node::Member(c, MemberRef::Measure(i))));
        all.extend((0..cube.dimensions.len()).map(|i| Node::Member(c, MemberRef::Dimension(i))));
        all.extend((0..cube.segments.len()).map(|i| Node::Member(c, MemberRef::Segment(i))));
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Color {
        White,
        Gray,
        Black,
    }
    let mut color: HashMap<Node, Color> = all.iter().map(|n| (*n, Color::White)).collect();
    let mut reported: HashSet<Vec<Node>> = HashSet::new();
    for &start in &all {
        if color.get(&start) != Some(&Color::White) {
            continue;
        }
        // Iterative DFS: (node, its edges, next edge index).
        let mut stack: Vec<(Node, Vec<(Node, Span)>, usize)> = vec![(start, edges(model, start), 0)];
        color.insert(start, Color::Gray);
        while let Some(top) = stack.last_mut() {
            if top.2 >= top.1.len() {
                color.insert(top.0, Color::Black);
                stack.pop();
                continue;
            }
            let (next, span) = top.1[top.2];
            top.2 += 1;
            match color.get(&next).copied().unwrap_or(Color::Black) {
                Color::White => {
                    color.insert(next, Color::Gray);
                    let e = edges(model, next);
                    stack.push((next, e, 0));
                }
                Color::Gray => {
                    let pos = stack.iter().position(|(n, _, _)| *n == next).unwrap_or(0);
                    let cycle: Vec<Node> = stack[pos..].iter().map(|(n, _, _)| *n).collect();
                    let mut key = cycle.clone();
                    key.sort_by_key(|n| format!("{n:?}"));
                    if reported.insert(key) {
                        let mut names: Vec<String> = cycle.iter().map(|n| node_name(model, *n)).collect();
                        names.push(node_name(model, next));
                        diags.push(
                            Diagnostic::error(Code::ReferenceCycle, format!("reference cycle: {}", names.join(" -> ")))
                                .at(span, "this reference closes the cycle")
                                .with_help("a member cannot depend on itself, directly or through other members"),
                        );
                    }
                }
                Color::Black => {}
            }
        }
    }
}

/// A dimension is computed per row, so its SQL cannot use an aggregate: a measure reference in a
/// dimension is an error at the reference unless the dimension is a `sub_query` one (then the
/// measure is aggregated per primary key in a subquery). Cube rejects these too; the database
/// would otherwise fail on the aggregate in WHERE or GROUP BY.
pub fn dimensions_without_measures(model: &Model, diags: &mut Vec<Diagnostic>) {
    for (c, cube) in model.cubes.iter().enumerate() {
        if cube.is_view() {
            continue;
        }
        for (i, d) in cube.dimensions.iter().enumerate() {
            if d.sub_query {
                continue;
            }
            for (target, span) in edges(model, Node::Member(c, MemberRef::Dimension(i))) {
                let Node::Member(tc, m @ MemberRef::Measure(_)) = target else { continue };
                diags.push(
                    Diagnostic::error(
                        Code::DimensionReferencesMeasure,
                        format!(
                            "dimension `{}.{}` references measure `{}`",
                            cube.name,
                            d.name,
                            node_name(model, Node::Member(tc, m))
                        ),
                    )
                    .at(span, "a measure is an aggregate; a dimension is computed per row")
                    .with_help(
                        "add `sub_query: true` to compute it per primary key in a subquery, or make this a \
                         measure (type: number, boolean or string)",
                    ),
                );
            }
        }
    }
}

/// A cube that takes part in a join and has count, sum, avg or number measures needs a primary
/// key, or its aggregates cannot be protected from join fan-out.
pub fn primary_keys(model: &Model, diags: &mut Vec<Diagnostic>) {
    let mut joined = vec![false; model.cubes.len()];
    for (c, cube) in model.cubes.iter().enumerate() {
        for j in &cube.joins {
            joined[c] = true;
            joined[j.target] = true;
        }
    }
    for (c, cube) in model.cubes.iter().enumerate() {
        if !joined[c] || cube.is_view() || cube.primary_keys().next().is_some() {
            continue;
        }
        let needs = cube.measures.iter().find(|m| {
            matches!(m.type_, MeasureType::Count | MeasureType::Sum | MeasureType::Avg | MeasureType::Number)
        });
        if let Some(m) = needs {
            diags.push(
                Diagnostic::error(Code::MissingPrimaryKey, format!("cube `{}` takes part in a join but has no primary key", cube.name))
                    .at(cube.name_span, "no dimension has `primary_key: true`")
                    .with_help(format!(
                        "measure `{}` ({}) needs it to aggregate correctly across joins; mark the unique id dimension with `primary_key: true`",
                        m.name,
                        m.type_.agg_name()
                    )),
            );
        }
    }
}

/// Names outside SQL: `drill_members`, hierarchy `levels` (pre-aggregations: [`super::preagg`]).
pub fn member_lists(model: &Model, raws: &[(CubeId, &RawCube)], diags: &mut Vec<Diagnostic>) {
    for &(id, raw) in raws {
        let cube = model.cube(id);
        let check = |name: &str,
                     span: Span,
                     context: &str,
                     want: &dyn Fn(MemberRef) -> bool,
                     diags: &mut Vec<Diagnostic>| {
            let (target, member) = match name.split_once('.') {
                Some((c, m)) if c == "CUBE" => (Some(cube), m),
                Some((c, m)) => (model.cube_by_name(c), m),
                None => (Some(cube), name),
            };
            let Some(target) = target else {
                diags.push(
                    Diagnostic::error(Code::UnknownMember, format!("{context} `{name}` names an unknown cube"))
                        .at(span, "no such cube")
                        .maybe_help(
                            did_you_mean(name.split('.').next().unwrap_or(""), model.cube_names())
                                .map(|s| format!("did you mean `{s}`?")),
                        ),
                );
                return;
            };
            match target.member(member) {
                Some(r) if want(r) => {}
                Some(_) => diags.push(
                    Diagnostic::error(Code::UnknownMember, format!("{context} `{name}` is the wrong kind of member"))
                        .at(span, "wrong member kind"),
                ),
                None => diags.push(
                    Diagnostic::error(
                        Code::UnknownMember,
                        format!("{context} `{name}` is not a member of `{}`", target.name),
                    )
                    .at(span, "unknown member")
                    .maybe_help(
                        did_you_mean(member, target.members.keys().map(String::as_str))
                            .map(|s| format!("did you mean `{s}`?")),
                    ),
                ),
            }
        };
        let is_dim = |r: MemberRef| matches!(r, MemberRef::Dimension(_));
        for m in &raw.measures {
            for d in &m.drill_members {
                check(&d.value, d.span, "drill member", &is_dim, diags);
            }
        }
        for h in &raw.hierarchies {
            for l in &h.levels {
                check(&l.value, l.span, "hierarchy level", &is_dim, diags);
            }
        }
    }
}
