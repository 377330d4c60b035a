//! A query a rollup answers, moved onto the rollup's serving cube and compiled by the ordinary
//! stages: every member becomes the serving cube's member that reads its stored column, names
//! stay as the query wrote them (so rows come back keyed as from the source), and the time
//! zone becomes UTC, because the stored buckets are already the query zone's wall-clock times
//! (so bucketing them again to a coarser grain needs no conversion).

use super::layout::{Grain, Layout};
use crate::diag::Diagnostic;
use crate::query::{FilterNode, Query, QueryMember};
use crate::resolve::*;
use crate::sql::{CompiledSql, Dialect, RenderOptions};

/// `q` on the serving cube of `layout`, reading `tables` (the built partitions, a table name
/// each).
pub fn compile(
    q: &Query,
    layout: &Layout,
    tables: &[String],
    dialect: &Dialect,
    render: RenderOptions,
) -> Result<CompiledSql, Vec<Diagnostic>> {
    let on = onto(q, layout);
    let mut model = layout.serving.clone();
    model.cubes[0].source = Some(match tables {
        [one] => CubeSource::Table(one.clone()),
        many => CubeSource::Sql(SqlTemplate::text(
            many.iter().map(|t| format!("SELECT * FROM {t}")).collect::<Vec<_>>().join(" UNION ALL "),
        )),
    });
    let plan = crate::plan::plan(&model, &on)?;
    crate::sql::render(&model, &on, &plan, dialect, render)
}

/// The query with its members on the serving cube (cube 0 of the layout's model).
fn onto(q: &Query, layout: &Layout) -> Query {
    let member = |orig: &QueryMember| -> QueryMember {
        let virt = match orig.source_member {
            MemberRef::Measure(i) => layout.servable((orig.source_cube, i)).map(|s| MemberRef::Measure(s.virt)),
            MemberRef::Dimension(i) => layout.grain_of_dimension((orig.source_cube, i)).map(|g| match g {
                Grain::Dimension { virt, .. } | Grain::Time { virt, .. } => MemberRef::Dimension(*virt),
                Grain::Segment { virt, .. } => MemberRef::Segment(*virt),
            }),
            MemberRef::Segment(i) => layout.grain.iter().find_map(|g| match g {
                Grain::Segment { source, virt, .. } if *source == (orig.source_cube, i) => {
                    Some(MemberRef::Segment(*virt))
                }
                _ => None,
            }),
        };
        // The matcher only routes queries whose members are all stored.
        let virt = virt.unwrap_or(orig.source_member);
        QueryMember {
            name: orig.name.clone(),
            cube: 0,
            member: virt,
            source_cube: 0,
            source_member: virt,
            join_path: Vec::new(),
        }
    };
    fn filters(nodes: &[FilterNode], member: &dyn Fn(&QueryMember) -> QueryMember) -> Vec<FilterNode> {
        nodes
            .iter()
            .map(|n| match n {
                FilterNode::Leaf(f) => {
                    FilterNode::Leaf(crate::query::Filter { member: member(&f.member), ..f.clone() })
                }
                FilterNode::And(v) => FilterNode::And(filters(v, member)),
                FilterNode::Or(v) => FilterNode::Or(filters(v, member)),
            })
            .collect()
    }
    Query {
        measures: q.measures.iter().map(member).collect(),
        dimensions: q.dimensions.iter().map(member).collect(),
        time_dimensions: q
            .time_dimensions
            .iter()
            .map(|t| crate::query::TimeDimension { member: member(&t.member), ..t.clone() })
            .collect(),
        segments: q.segments.iter().map(member).collect(),
        filters: filters(&q.filters, &member),
        join_hints: Vec::new(),
        sub_query_filters: Vec::new(),
        timezone: chrono_tz::UTC,
        ..q.clone()
    }
}
