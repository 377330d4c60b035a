//! Rendering a plan of stages ([`crate::plan::stages`]): one CTE per node, then the final query
//! over the result's keys with every node LEFT JOINed on its own dimensions.

use super::render::{JoinClause, Renderer, Select, R};
use crate::diag::{Code, Diagnostic};
use crate::plan::stages::{Calc, CalcKind, StageKind, StageNode, Stages};
use crate::plan::{Column, ColumnKind, Plan};
use minijinja::context;

/// Where a set of nodes is read from: FROM, JOINs, and the grain's columns.
pub(super) struct Combined {
    pub from: String,
    pub joins: Vec<JoinClause>,
    /// The grain's columns, qualified, in grain order.
    pub dims: Vec<String>,
}

impl Renderer<'_> {
    pub(super) fn stages_statement(&mut self, plan: &Plan, stages: &Stages) -> R<String> {
        let mut ctes = Vec::new();
        let mut warnings = Vec::new();
        for (i, node) in stages.nodes.iter().enumerate() {
            let sql = match &node.kind {
                StageKind::Leaf(p) => {
                    let (sql, w) = self.statement(p)?;
                    warnings.extend(w);
                    sql
                }
                StageKind::Calc(calc) => self.calc_sql(node, calc, stages)?,
            };
            ctes.push(context! { name => self.cte(i), sql => sql });
        }
        let grain = &plan.columns[..plan.dimension_count];
        let used: Vec<usize> = {
            let mut u: Vec<usize> = stages.outputs.iter().map(|o| o.2).collect();
            u.extend(stages.keys.iter().copied());
            u.sort();
            u.dedup();
            u
        };
        let combined = self.combine(grain, &used, &stages.keys, stages)?;
        self.outer_measures =
            stages.outputs.iter().map(|&(c, m, n)| ((c, m), self.node_measure(&stages.nodes[n], n, c, m))).collect();
        let mut columns = Vec::new();
        let mut dims = combined.dims.iter();
        for c in &plan.columns {
            let expr = match c.kind {
                ColumnKind::Measure { cube, measure } => self.measure(cube, measure, false, 0)?,
                _ => dims.next().cloned().unwrap_or_default(),
            };
            columns.push(format!("{expr} {}", self.d.ident(&c.alias)));
        }
        let sql = self.outer_select(plan, columns, combined.from, combined.joins)?;
        self.warnings.extend(warnings);
        self.tpl("with", context! { ctes => ctes, sql => sql })
    }

    fn cte(&self, i: usize) -> String {
        self.d.ident(&format!("cte_{i}"))
    }

    /// `cte_n."alias"` of a measure a node selects.
    fn node_measure(&self, node: &StageNode, n: usize, cube: crate::resolve::CubeId, m: usize) -> String {
        let alias = node.measures.iter().find(|g| (g.cube, g.measure) == (cube, m)).map(|g| g.alias.as_str());
        format!("{}.{}", self.cte(n), self.d.ident(alias.unwrap_or_default()))
    }

    /// The keys of `grain` (the union of the `keys` nodes' rows) with every node of `nodes`
    /// LEFT JOINed on its own dimensions (null-safe). Without dimensions every node is one row,
    /// and they are cross joined.
    fn combine(&mut self, grain: &[Column], nodes: &[usize], keys: &[usize], stages: &Stages) -> R<Combined> {
        if grain.is_empty() {
            let mut it = nodes.iter();
            let first = it.next().ok_or_else(|| Diagnostic::error(Code::SqlRender, "a stage has no inputs"))?;
            let from = self.cte(*first);
            let joins = it.map(|n| JoinClause { kind: "CROSS", table: self.cte(*n), on: None }).collect();
            return Ok(Combined { from, joins, dims: Vec::new() });
        }
        let aliases: Vec<String> = grain.iter().map(|c| c.alias.clone()).collect();
        let tables: Vec<String> = keys.iter().map(|k| self.cte(*k)).collect();
        let sources: Vec<(String, Vec<String>)> = nodes
            .iter()
            .map(|&n| (self.cte(n), stages.nodes[n].grain.iter().map(|c| c.alias.clone()).collect()))
            .collect();
        self.union_keys(&aliases, &tables, &sources)
    }

    /// FROM the union of `grain` over `key_tables` (aliased `keys`), each of `sources` (a table
    /// and the grain columns it has) LEFT JOINed on its own columns, null-safe.
    pub(super) fn union_keys(
        &mut self,
        grain: &[String],
        key_tables: &[String],
        sources: &[(String, Vec<String>)],
    ) -> R<Combined> {
        let keys_alias = self.d.ident("keys");
        let aliases: Vec<String> = grain.iter().map(|a| self.d.ident(a)).collect();
        let selects: Vec<String> =
            key_tables.iter().map(|t| format!("SELECT {} FROM {t}", aliases.join(", "))).collect();
        let union = self.tpl("union", context! { selects => selects })?;
        let source = self.tpl("subquery", context! { sql => union })?;
        let from = self.tpl("table", context! { source => source, alias => keys_alias.clone() })?;
        let mut joins = Vec::new();
        for (table, columns) in sources {
            let mut on = Vec::new();
            for c in columns {
                let left = format!("{keys_alias}.{}", self.d.ident(c));
                let right = format!("{table}.{}", self.d.ident(c));
                on.push(self.tpl("null_safe_equals", context! { left => left, right => right })?);
            }
            let on = if on.is_empty() { None } else { Some(on.join(" AND ")) };
            let kind = if on.is_some() { "LEFT" } else { "CROSS" };
            joins.push(JoinClause { kind, table: table.clone(), on });
        }
        let dims = aliases.iter().map(|a| format!("{keys_alias}.{a}")).collect();
        Ok(Combined { from, joins, dims })
    }

    /// One multi-stage measure from its inputs.
    fn calc_sql(&mut self, node: &StageNode, calc: &Calc, stages: &Stages) -> R<String> {
        // A calculation reads columns of other stages: nothing in it is a cube's row.
        self.multiplied.clear();
        self.time_shifts.clear();
        let combined = self.combine(&calc.inner, &calc.inputs, &calc.keys, stages)?;
        self.outer_measures = calc
            .inputs
            .iter()
            .flat_map(|&n| stages.nodes[n].measures.iter().map(move |g| (n, g)))
            .map(|(n, g)| ((g.cube, g.measure), self.node_measure(&stages.nodes[n], n, g.cube, g.measure)))
            .collect();
        let model = self.model;
        let measure = &model.cube(calc.cube).measures[calc.measure];
        let value = match &calc.how {
            CalcKind::Row => match &measure.sql {
                Some(t) => self.template(t, 0),
                None => Err(Diagnostic::error(Code::SqlRender, format!("measure `{}` has no SQL", measure.name))),
            },
            CalcKind::Aggregate => match (&measure.sql, measure.type_) {
                (Some(t), crate::resolve::MeasureType::NumberAgg) => self.template(t, 0),
                _ => {
                    // The measure's own aggregate over its inputs' columns.
                    let saved = std::mem::take(&mut self.outer_measures);
                    self.outer_measures =
                        saved.iter().filter(|(k, _)| *k != (calc.cube, calc.measure)).cloned().collect();
                    let v = self.measure(calc.cube, calc.measure, false, 0);
                    self.outer_measures = saved;
                    v
                }
            },
            CalcKind::Reaggregate { alias } => {
                let input = calc.inputs.first().copied().unwrap_or_default();
                let col = format!("{}.{}", self.cte(input), self.d.ident(alias));
                let f = match measure.type_ {
                    crate::resolve::MeasureType::Min => "min",
                    crate::resolve::MeasureType::Max => "max",
                    crate::resolve::MeasureType::Avg => "avg",
                    _ => "sum",
                };
                Ok(format!("{f}({col})"))
            }
            CalcKind::Rank { partition, order } => {
                let keys_alias = self.d.ident("keys");
                let partition: Vec<String> =
                    partition.iter().map(|a| format!("{keys_alias}.{}", self.d.ident(a))).collect();
                let mut items = Vec::new();
                for &(c, m, desc) in order {
                    let col = self.measure(c, m, false, 0)?;
                    items.push(format!("{col} {}", if desc { "DESC" } else { "ASC" }));
                }
                self.tpl("rank", context! { partition => partition, order => items })
            }
        };
        self.outer_measures.clear();
        let value = value?;
        let alias = node.measures.first().map(|g| g.alias.clone()).unwrap_or_default();
        let grouped = matches!(calc.how, CalcKind::Aggregate | CalcKind::Reaggregate { .. });
        // The node's grain, read from the inner keys (it is the inner grain, or part of it).
        let mut columns = Vec::new();
        for c in &node.grain {
            let pos = calc.inner.iter().position(|i| i.alias == c.alias).unwrap_or(0);
            let expr = combined.dims.get(pos).cloned().unwrap_or_default();
            columns.push(format!("{expr} {}", self.d.ident(&c.alias)));
        }
        columns.push(format!("{value} {}", self.d.ident(&alias)));
        let group_by = if grouped { (1..=node.grain.len()).collect() } else { Vec::new() };
        self.select(Select { columns, from: combined.from, joins: combined.joins, group_by, ..Select::default() })
    }
}
