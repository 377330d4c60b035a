//! Routing a compiled query: the matcher's choice among the rollups built for the query's time
//! zone and security context, compiled over the partitions it reads; or the source, with every
//! rollup's reason.

use super::available::Available;
use super::matcher::{self, Miss};
use super::Catalog;
use crate::diag::Diagnostic;
use crate::query::Query;
use crate::resolve::Model;
use crate::sql::{CompiledSql, RenderOptions, RunsOn};
use chrono::NaiveDateTime;

/// The rollup a query is answered from (Cube's `usedPreAggregations` entry).
#[derive(Debug, Clone, PartialEq)]
pub struct Used {
    /// `cube.name`.
    pub id: String,
    pub layout: usize,
    /// What every table of the rollup starts with (Cube's `tableName`, unqualified).
    pub base_name: String,
    pub partition_granularity: Option<String>,
    /// The tables read (unqualified), one per partition.
    pub tables: Vec<String>,
    pub external: bool,
    /// The oldest build among them (UTC).
    pub last_built: Option<NaiveDateTime>,
    /// The refresh-key values they were built under.
    pub key_values: Vec<String>,
}

/// How a query is answered.
#[derive(Debug, Clone)]
pub enum Routed {
    Rollup { sql: Box<CompiledSql>, used: Used, misses: Vec<Miss> },
    Source { misses: Vec<Miss> },
}

/// Routes `q` (parsed, access-checked) to a rollup if one gives the source's rows.
pub fn route(
    catalog: &Catalog,
    available: &Available,
    model: &Model,
    q: &Query,
    render: RenderOptions,
) -> Result<Routed, Vec<Diagnostic>> {
    let tz = q.timezone.name();
    let structure = |i: usize| catalog.structure(i, tz, &q.security_context).ok();
    let context = |i: usize| catalog.context_key(i, tz, &q.security_context);
    let built = |i: usize| available.built(&catalog.layouts[i].id, &structure(i)?, tz, &context(i));
    let routed = match matcher::route(model, &catalog.layouts, q, &built) {
        Ok(r) => r,
        Err(misses) => return Ok(Routed::Source { misses }),
    };
    let layout = &catalog.layouts[routed.layout];
    let Some(structure) = structure(routed.layout) else { return Ok(Routed::Source { misses: routed.misses }) };
    let parts = available.parts(&layout.id, &structure, tz, &context(routed.layout));
    let range = matcher::query_range(layout, q);
    let mut read: Vec<&super::available::Part> = parts
        .iter()
        .filter(|p| match (range, p.range) {
            (Some((from, to)), Some((a, b))) => a <= to && b >= from,
            _ => true,
        })
        .collect();
    if read.is_empty() {
        // An empty range: any table gives its (empty) answer with the query's own filters.
        read.extend(parts.first());
    }
    let tables: Vec<String> = read.iter().map(|p| p.table.clone()).collect();
    let external = catalog.definition(model, routed.layout).external;
    let mut sql = super::rewrite::compile(q, layout, &tables, catalog.store_dialect(model, routed.layout), render)?;
    sql.runs_on = if external { RunsOn::Embedded } else { RunsOn::Source };
    let used = Used {
        id: layout.id.clone(),
        layout: routed.layout,
        base_name: super::build::base_name(layout, model),
        partition_granularity: catalog
            .definition(model, routed.layout)
            .partition_granularity
            .map(|u| u.name().to_string()),
        tables: read.iter().map(|p| p.table_name.clone()).collect(),
        external,
        last_built: read.iter().filter_map(|p| p.built_at).min(),
        key_values: read.iter().map(|p| p.key_value.clone()).collect(),
    };
    Ok(Routed::Rollup { sql: Box::new(sql), used, misses: routed.misses })
}

/// Why rollup-only mode refuses a query no rollup served (Cube's `CUBEJS_ROLLUP_ONLY`).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// A rollup fits the query but what it reads is not built yet: a retry may succeed.
    pub unbuilt: bool,
    pub message: String,
}

pub fn rollup_only_refusal(misses: &[Miss]) -> Refusal {
    let reasons: Vec<String> = misses.iter().map(|m| format!("`{}`: {}", m.rollup, m.reason)).collect();
    let why = if reasons.is_empty() {
        "no rollup is defined on the cubes the query reads".to_string()
    } else {
        reasons.join("; ")
    };
    let unbuilt = misses.iter().any(|m| m.unbuilt);
    let message = if unbuilt {
        // Cube's own words first, then which rollup and what it lacks.
        format!(
            "No pre-aggregation table has been built for this query yet. Please check your refresh worker configuration if it persists. ({why})"
        )
    } else {
        format!("No pre-aggregation can serve this query, and rollup-only mode never runs it on the source ({why})")
    };
    Refusal { unbuilt, message }
}
