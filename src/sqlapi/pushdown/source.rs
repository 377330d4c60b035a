//! A cube table's row source in a pushdown statement: the query stage's ungrouped query of the
//! members the statement reads from it, planned for the caller (hidden members refused, policy
//! row filters and the cube's joins applied) and rendered for the data source.

use super::super::error::{diagnostics_error, SqlError, SqlResult};
use super::super::schema::{ColumnKind, Table};
use super::measures::underlying;
use super::Context;
use crate::resolve::{CubeId, MeasureType, MemberRef, Model};
use crate::sql::{CompiledSql, RenderOptions};
use serde_json::json;

/// One cube table of the statement, under the name the statement uses for it.
pub(super) struct Binding<'a> {
    pub alias: String,
    pub table: &'a Table,
    /// The table's cube or view in the model.
    pub cube: CubeId,
    dimensions: Vec<String>,
    measures: Vec<String>,
    segments: Vec<String>,
}

/// A row source, compiled.
pub(super) struct Source {
    pub compiled: CompiledSql,
}

impl Source {
    /// The row source's column for a member.
    pub fn alias_of(&self, member: &str) -> SqlResult<&str> {
        self.compiled
            .alias_to_member
            .iter()
            .find(|(_, m)| m.as_str() == member)
            .map(|(a, _)| a.as_str())
            .ok_or_else(|| SqlError::internal(format!("the row source has no column for {member}")))
    }
}

fn push(list: &mut Vec<String>, member: &str) {
    if !list.iter().any(|m| m == member) {
        list.push(member.to_string());
    }
}

/// The member of the binding's table that carries measure `(cube, m)`'s per-row value: the
/// measure itself on a cube, the view member that stands for it on a view.
pub(super) fn leaf_member(model: &Model, table_cube: CubeId, (cube, m): (CubeId, usize)) -> SqlResult<String> {
    let table = model.cube(table_cube);
    let found = table.member_refs().find_map(|r| match r {
        MemberRef::Measure(i) if underlying(model, table_cube, i) == (cube, m) => Some(table.measures[i].name.clone()),
        _ => None,
    });
    found.map(|name| format!("{}.{name}", table.name)).ok_or_else(|| {
        SqlError::unsupported(format!(
            "a measure of \"{}\" is computed from `{}.{}`, which \"{}\" does not include, so it is not recomputed in \
             an expression; select it in a subquery and compute over that",
            table.name,
            model.cube(cube).name,
            model.cube(cube).measures[m].name,
            table.name
        ))
    })
}

impl<'a> Binding<'a> {
    pub fn new(alias: String, table: &'a Table, cube: CubeId) -> Binding<'a> {
        Binding { alias, table, cube, dimensions: Vec::new(), measures: Vec::new(), segments: Vec::new() }
    }

    pub fn add_dimension(&mut self, member: &str) {
        push(&mut self.dimensions, member)
    }

    pub fn add_measure(&mut self, member: &str) {
        push(&mut self.measures, member)
    }

    pub fn add_segment(&mut self, member: &str) {
        push(&mut self.segments, member)
    }

    /// The ungrouped query of the members read, compiled for the caller without order or limit.
    pub fn compile(&self, ctx: &Context) -> SqlResult<Source> {
        let mut dimensions = self.dimensions.clone();
        if dimensions.is_empty() && self.measures.is_empty() {
            // Rows are counted, not read: any one dimension carries them.
            let first = self
                .table
                .columns
                .iter()
                .find(|c| c.primary_key)
                .or_else(|| self.table.columns.iter().find(|c| matches!(c.kind, ColumnKind::Dimension { .. })))
                .ok_or_else(|| {
                    SqlError::unsupported(format!("\"{}\" has no dimension to read its rows by", self.table.name))
                })?;
            dimensions.push(first.member.clone());
        }
        let query = json!({
            "dimensions": dimensions,
            "measures": self.measures,
            "segments": self.segments,
            "ungrouped": true,
        });
        let (q, mut plan) = crate::plan_for_caller(ctx.model, &query, ctx.opts).map_err(|d| diagnostics_error(&d))?;
        plan.order.clear();
        plan.limit = u64::MAX;
        plan.offset = None;
        for member in &self.measures {
            let Some((c, MemberRef::Measure(i))) = ctx.model.member(member) else { continue };
            let (cube, m) = underlying(ctx.model, c, i);
            let measure = &ctx.model.cube(cube).measures[m];
            let safe = matches!(
                measure.type_,
                MeasureType::Min | MeasureType::Max | MeasureType::CountDistinct | MeasureType::CountDistinctApprox
            );
            if !safe && plan.multiplied.contains(&cube) {
                return Err(SqlError::unsupported(format!(
                    "`{member}`: the joins of \"{}\" repeat the rows of `{}`, so its {} would count them more than \
                     once in an expression; select it with MEASURE() in a query of its own (cubec deduplicates \
                     there) and compute over that",
                    self.table.name,
                    ctx.model.cube(cube).name,
                    measure.type_.agg_name()
                )));
            }
        }
        let compiled = crate::sql::render(ctx.model, &q, &plan, ctx.dialect, RenderOptions { inline: true })
            .map_err(|d| diagnostics_error(&d))?;
        Ok(Source { compiled })
    }
}
