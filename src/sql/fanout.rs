//! Queries whose measures cannot share one aggregate (see [`crate::plan::groups`]): one subquery
//! per measure group, grouped by the query's dimensions, joined by an outer query.
//!
//! The keys subquery is what keeps fan-out honest: `SELECT DISTINCT <dimensions>, <primary key>`
//! over the whole join tree (every filter applied) lists each row of the multiplied cube once per
//! dimension combination; joining the cube back on its key and aggregating then counts each row
//! once, however many rows the other joins produced for it.

use super::render::{JoinClause, Renderer, Select, R};
use crate::plan::{ColumnKind, GroupKind, MeasureGroup, Plan};
use crate::resolve::{CubeId, MemberRef};
use minijinja::context;

impl Renderer<'_> {
    pub(super) fn grouped_statement(&mut self, plan: &Plan) -> R<String> {
        let dims = &plan.columns[..plan.dimension_count];
        let mut subqueries = Vec::new();
        for group in &plan.groups {
            let sql = match group.kind {
                GroupKind::Main => self.main_subquery(plan, group)?,
                GroupKind::Keyed(cube) => self.keyed_subquery(plan, group, cube)?,
                GroupKind::Rolling => self.rolling_subquery(plan, group)?,
            };
            subqueries.push(sql);
        }
        let q = |i: usize| self.d.ident(&format!("q_{i}"));
        let column_of = |i: usize, alias: &str| format!("{}.{}", q(i), self.d.ident(alias));
        self.outer_measures = plan
            .groups
            .iter()
            .enumerate()
            .flat_map(|(i, g)| g.measures.iter().map(move |m| (i, m)))
            .map(|(i, m)| ((m.cube, m.measure), column_of(i, &m.alias)))
            .collect();
        let mut columns = Vec::new();
        for c in &plan.columns {
            let source = match c.kind {
                ColumnKind::Measure { .. } => {
                    let i = plan.groups.iter().position(|g| g.measures.iter().any(|m| m.alias == c.alias)).unwrap_or(0);
                    column_of(i, &c.alias)
                }
                _ => column_of(0, &c.alias),
            };
            columns.push(format!("{source} {}", self.d.ident(&c.alias)));
        }
        // A rolling window fills buckets the other measures may not have: as Cube's Tesseract
        // does, every bucket of either side is kept (the keys of all groups, each LEFT JOINed).
        // (Rolling groups alone keep the inner join: their series list the same buckets, and
        // PostgreSQL plans the null-safe joins of a keys union so expensively that it JIT-compiles
        // the statement, 0.6 s on the rolling benchmark.)
        let rolling = plan.groups.iter().any(|g| g.kind == GroupKind::Rolling);
        let plain = plan.groups.iter().any(|g| g.kind != GroupKind::Rolling);
        if !dims.is_empty() && rolling && plain {
            return self.keyed_union_statement(plan, subqueries, columns);
        }
        let mut joins = Vec::new();
        let mut from = String::new();
        for (i, sql) in subqueries.into_iter().enumerate() {
            let source = self.tpl("subquery", context! { sql => sql })?;
            let table = self.tpl("table", context! { source => source, alias => q(i) })?;
            if i == 0 {
                from = table;
                continue;
            }
            if dims.is_empty() {
                joins.push(JoinClause { kind: "CROSS", table, on: None });
                continue;
            }
            let mut on = Vec::new();
            for d in dims {
                let (left, right) = (column_of(0, &d.alias), column_of(i, &d.alias));
                on.push(self.tpl("null_safe_equals", context! { left => left, right => right })?);
            }
            joins.push(JoinClause { kind: "INNER", table, on: Some(on.join(" AND ")) });
        }
        self.outer_select(plan, columns, from, joins)
    }

    /// The outer query over subqueries or stages: measure filters (read through
    /// `outer_measures`), then the query's order, limit and offset.
    pub(super) fn outer_select(
        &mut self,
        plan: &Plan,
        columns: Vec<String>,
        from: String,
        joins: Vec<JoinClause>,
    ) -> R<String> {
        let mut wheres = Vec::new();
        for f in &plan.having_filters {
            wheres.push(format!("({})", self.filter_node(f)?));
        }
        self.outer_measures.clear();
        self.select(Select {
            columns,
            from,
            joins,
            where_: wheres,
            order_by: Self::order_by(plan),
            limit: (plan.limit != u64::MAX).then_some(plan.limit),
            offset: plan.offset,
            ..Select::default()
        })
    }

    /// The groups as CTEs `q_i`, joined to the union of their keys: the outer query of a query
    /// with rolling windows.
    fn keyed_union_statement(&mut self, plan: &Plan, subqueries: Vec<String>, columns: Vec<String>) -> R<String> {
        let dims = &plan.columns[..plan.dimension_count];
        let q = |i: usize| self.d.ident(&format!("q_{i}"));
        let aliases: Vec<String> = dims.iter().map(|c| c.alias.clone()).collect();
        let tables: Vec<String> = (0..subqueries.len()).map(q).collect();
        let sources: Vec<(String, Vec<String>)> = tables.iter().map(|t| (t.clone(), aliases.clone())).collect();
        let keyed = self.union_keys(&aliases, &tables, &sources)?;
        // Dimensions come from the keys, not from the first group.
        let mut columns = columns;
        for ((c, a), expr) in columns.iter_mut().zip(dims).zip(&keyed.dims) {
            *c = format!("{expr} {}", self.d.ident(&a.alias));
        }
        let sql = self.outer_select(plan, columns, keyed.from, keyed.joins)?;
        let ctes: Vec<minijinja::Value> =
            subqueries.into_iter().enumerate().map(|(i, sql)| context! { name => q(i), sql => sql }).collect();
        self.tpl("with", context! { ctes => ctes, sql => sql })
    }

    /// The query's dimensions and time buckets, aliased as selected.
    pub(super) fn dimension_columns(&mut self, plan: &Plan) -> R<Vec<String>> {
        let mut out = Vec::new();
        for c in &plan.columns[..plan.dimension_count] {
            let expr = self.dimension_column(&c.kind)?;
            out.push(format!("{expr} {}", self.d.ident(&c.alias)));
        }
        Ok(out)
    }

    fn measure_columns(&mut self, group: &MeasureGroup, out: &mut Vec<String>) -> R<()> {
        for m in &group.measures {
            let expr = self.measure(m.cube, m.measure, false, 0)?;
            out.push(format!("{expr} {}", self.d.ident(&m.alias)));
        }
        Ok(())
    }

    /// Measures the join tree does not repeat: aggregated over it directly.
    fn main_subquery(&mut self, plan: &Plan, group: &MeasureGroup) -> R<String> {
        let mut columns = self.dimension_columns(plan)?;
        self.measure_columns(group, &mut columns)?;
        let (from, joins, wheres) = self.join_tree(plan)?;
        let group_by: Vec<usize> = (1..=plan.dimension_count).collect();
        self.select(Select { columns, from, joins, where_: wheres, group_by, ..Select::default() })
    }

    /// Measures of a cube the join tree repeats: distinct (dimensions, primary key) pairs over
    /// the join tree, the cube joined back on its key, then aggregated.
    fn keyed_subquery(&mut self, plan: &Plan, group: &MeasureGroup, cube: CubeId) -> R<String> {
        let model = self.model;
        let c = model.cube(cube);
        let mut key_columns = self.dimension_columns(plan)?;
        let dim_aliases: Vec<&str> = plan.columns[..plan.dimension_count].iter().map(|c| c.alias.as_str()).collect();
        let mut key_aliases = Vec::new();
        for pk in c.primary_keys() {
            let alias = c.column_alias(MemberRef::Dimension(pk));
            let expr = self.dimension(cube, pk, 0)?;
            if !dim_aliases.contains(&alias.as_str()) {
                key_columns.push(format!("{expr} {}", self.d.ident(&alias)));
            }
            key_aliases.push((alias, expr));
        }
        let (from, joins, wheres) = self.join_tree(plan)?;
        let keys = self.select(Select {
            distinct: true,
            columns: key_columns,
            from,
            joins,
            where_: wheres,
            ..Select::default()
        })?;
        let keys_alias = self.d.ident("keys");
        let mut columns: Vec<String> =
            dim_aliases.iter().map(|a| format!("{keys_alias}.{} {}", self.d.ident(a), self.d.ident(a))).collect();
        self.measure_columns(group, &mut columns)?;
        let on: Vec<String> =
            key_aliases.iter().map(|(alias, expr)| format!("{keys_alias}.{} = {expr}", self.d.ident(alias))).collect();
        let keys_source = self.tpl("subquery", context! { sql => keys })?;
        let from = self.tpl("table", context! { source => keys_source, alias => keys_alias })?;
        let back = self.source(cube)?;
        let joins = vec![JoinClause { kind: "LEFT", table: back, on: Some(on.join(" AND ")) }];
        let group_by: Vec<usize> = (1..=plan.dimension_count).collect();
        self.select(Select { columns, from, joins, group_by, ..Select::default() })
    }
}
