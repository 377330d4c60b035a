//! cubec: a Cube-compatible semantic layer and metrics compiler.
//!
//! The pipeline has one IR per stage (see the README's architecture section):
//! load ([`load`]) -> resolve ([`resolve`]) -> query ([`query`]) -> plan ([`plan`]) -> render ([`sql`])
//! -> run ([`exec`]); [`server`] serves the same over Cube's REST API. [`access`] enforces
//! access policies between query and plan.

pub mod access;
pub mod cache;
pub mod deep;
pub mod demo;
pub mod diag;
pub mod diff;
pub mod docs;
pub mod exec;
pub mod files;
pub mod import_js;
pub mod load;
pub mod mcp;
pub mod plan;
pub mod preagg;
pub mod query;
pub mod resolve;
pub mod schema;
pub mod server;
pub mod sql;
#[cfg(feature = "engine")]
pub mod sqlapi;
pub mod testing;
pub mod util;
pub mod vocab;

use diag::{Diagnostic, SourceMap};
use std::path::Path;

/// A model loaded and resolved, with the diagnostics of both stages.
pub struct Checked {
    pub sources: SourceMap,
    pub model: resolve::Model,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        diag::has_errors(&self.diagnostics)
    }
}

/// Loads and resolves the model under `dir`: what `cubec validate` runs.
pub fn check_model(dir: &Path) -> Checked {
    finish_check(load::load_dir(dir))
}

/// [`check_model`] for files held in memory: (path, bytes) pairs; templates import their
/// macros from `macros` when given.
pub fn check_texts(files: Vec<(std::path::PathBuf, Vec<u8>)>, macros: Option<&Path>) -> Checked {
    finish_check(load::load_texts(files, macros))
}

fn finish_check(loaded: load::Loaded) -> Checked {
    let (model, mut resolve_diags) = resolve::resolve(&loaded.raw, &loaded.sources);
    let mut diagnostics = loaded.diagnostics;
    diagnostics.append(&mut resolve_diags);
    sort_diagnostics(&mut diagnostics);
    Checked { sources: loaded.sources, model, diagnostics }
}

/// Orders diagnostics by file and position, so output is stable and reads top to bottom.
pub fn sort_diagnostics(diags: &mut [Diagnostic]) {
    diags.sort_by_key(|d| match d.primary_span() {
        Some(s) => (0, s.file.0, s.start),
        None => (1, 0, 0),
    });
}

/// Pre-aggregations to route to: the model's catalog and what the stores hold.
pub struct Rollups<'a> {
    pub catalog: &'a preagg::Catalog,
    pub available: &'a preagg::available::Available,
}

/// A query compiled for the source, or over the rollup that answers it.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub sql: sql::CompiledSql,
    pub used: Option<preagg::route::Used>,
    /// Why each rollup that could have answered did not.
    pub misses: Vec<preagg::matcher::Miss>,
}

/// A query (JSON) parsed and planned for the caller `opts` names: access policies checked and
/// their row filters added. The plan's join tree says which cubes it reads and how.
pub fn plan_for_caller(
    model: &resolve::Model,
    query: &serde_json::Value,
    opts: &query::QueryOptions,
) -> Result<(query::Query, plan::Plan), Vec<Diagnostic>> {
    let caller = access::Caller::new(model, &opts.security_context, &opts.access).map_err(|d| vec![d])?;
    let mut q = query::parse_query_as(query, model, opts, Some(&caller))?;
    let mut guard = access::enforce::guard_named(model, &mut q, &caller)?;
    let mut p = plan::plan(model, &q)?;
    // Row filters of cubes only the plan shows (joined through, inside sub_query dimensions);
    // they add no cubes, so one more plan settles it.
    for _ in 0..3 {
        if !guard.guard_plan(model, &mut q, &p, &caller)? {
            break;
        }
        p = plan::plan(model, &q)?;
    }
    Ok((q, p))
}

/// [`compile`], answered from a rollup when one gives the source's rows.
pub fn compile_routed(
    model: &resolve::Model,
    query: &serde_json::Value,
    dialect: &sql::Dialect,
    opts: &query::QueryOptions,
    render: sql::RenderOptions,
    rollups: Option<&Rollups>,
) -> Result<Compiled, Vec<Diagnostic>> {
    let (q, p) = plan_for_caller(model, query, opts)?;
    let mut misses = Vec::new();
    if let Some(r) = rollups {
        match preagg::route::route(r.catalog, r.available, model, &q, render)? {
            preagg::route::Routed::Rollup { sql, used, misses } => {
                return Ok(Compiled { sql: *sql, used: Some(used), misses })
            }
            preagg::route::Routed::Source { misses: m } => misses = m,
        }
    }
    Ok(Compiled { sql: sql::render(model, &q, &p, dialect, render)?, used: None, misses })
}

/// Compiles one query (JSON) against a valid model for one dialect: query, plan and render.
pub fn compile(
    model: &resolve::Model,
    query: &serde_json::Value,
    dialect: &sql::Dialect,
    opts: &query::QueryOptions,
    render: sql::RenderOptions,
) -> Result<sql::CompiledSql, Vec<Diagnostic>> {
    compile_routed(model, query, dialect, opts, render, None).map(|c| c.sql)
}
