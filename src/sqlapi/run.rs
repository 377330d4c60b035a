//! Running what [`super::engine::Engine::route`] chose: a semantic query compiled and run as
//! `/v1/load` runs it (same compile, rollups, cache and queue), or a pushdown statement on the
//! data source through the same cache and queue.

use super::engine::{Engine, Session};
use super::error::{SqlError, SqlResult};
use super::pushdown;
use super::schema::ResultTable;
use super::semantic::SemanticQuery;
use crate::cache::pool::RunError;
use crate::cache::{CacheMode, LoadError};
use crate::exec::{Cell, ResultSet};
use crate::query::QueryOptions;
use crate::sql::{CompiledSql, RenderOptions};
use serde_json::json;
use std::sync::Arc;

impl Engine {
    /// Runs a pushdown statement on the data source, through the query cache and queue.
    pub(super) async fn run_pushdown(&self, session: &mut Session, p: pushdown::Pushdown) -> SqlResult<ResultTable> {
        session.last_pushdown = Some(p.compiled.sql.clone());
        let max = self.state.limits.max_limit;
        let answer =
            self.state.cache.load(Arc::new(p.compiled), CacheMode::default(), None, None).await.map_err(load_error)?;
        let rows = &answer.fetched.rows;
        if !p.limited && rows.rows.len() as u64 > max {
            return Err(SqlError::new(
                "54000",
                format!("the result has more than {max} rows, the configured maximum; add a LIMIT (or filters)"),
            ));
        }
        let names = p.names.filter(|n| n.len() == rows.columns.len()).unwrap_or_else(|| rows.columns.clone());
        let columns = names
            .into_iter()
            .enumerate()
            .map(|(i, n)| (n, super::schema::type_of_cells(rows.rows.iter().map(|r| r.get(i)))))
            .collect();
        Ok(ResultTable { columns, rows: rows.rows.clone() })
    }

    /// Compiles a semantic query as `/v1/load` does (a rollup when one answers it), for the
    /// caller or the superuser's `__user`, in the session's time zone.
    pub fn compile_semantic(&self, session: &mut Session, sq: &SemanticQuery) -> SqlResult<CompiledSql> {
        let context = match &sq.user {
            None => session.context.clone(),
            Some(u) if *u == session.user => session.context.clone(),
            Some(u) if session.superuser => self
                .users
                .context_of(u)
                .ok_or_else(|| SqlError::new("28000", format!("no SQL user named \"{u}\" to switch to")))?,
            Some(u) => {
                return Err(SqlError::new(
                    "42501",
                    format!(
                        "You cannot change security context via __user from {} to {u}, because it's not allowed.",
                        session.user
                    ),
                ))
            }
        };
        let max = self.state.limits.max_limit;
        let mut query = sq.query.clone();
        if session.timezone() != "UTC" && query.get("timezone").is_none() {
            query["timezone"] = json!(session.timezone());
        }
        session.last_semantic.push(query.clone());
        if !sq.limited {
            // No silent cap: ask for one row more than the maximum and refuse if it comes.
            query["limit"] = json!(max + 1);
        }

        session.last_keys = sq.columns.iter().map(|c| c.key.clone()).collect();
        let snapshot = self.state.models.current();
        let model = &snapshot.checked.model;
        let dialect =
            self.state.dialects.get(self.state.pool.dialect_name()).map_err(|d| SqlError::internal(d.message))?;
        let opts = QueryOptions {
            max_limit: if sq.limited { max } else { max + 1 },
            security_context: context,
            access: self.state.access.clone(),
            // As Cube's SQL API: a select without GROUP BY is the source rows.
            ungrouped_without_primary_key: true,
            ..QueryOptions::default()
        };
        let catalog = self.state.catalog(&snapshot);
        let available = self.state.rollups.available();
        let rollups = catalog.as_deref().map(|catalog| crate::Rollups { catalog, available: &available });
        let routed = crate::compile_routed(model, &query, &dialect, &opts, RenderOptions::default(), rollups.as_ref())
            .map_err(|diags| super::error::diagnostics_error(&diags))?;
        if routed.used.is_none() && self.state.rollups.config.rollup_only {
            let refusal = crate::preagg::route::rollup_only_refusal(&routed.misses);
            // Not built yet: try again later (57P03); no rollup fits: not supported (0A000).
            return Err(SqlError::new(if refusal.unbuilt { "57P03" } else { "0A000" }, refusal.message));
        }
        Ok(routed.sql)
    }

    /// Compiles and runs a semantic query as `/v1/load` does.
    pub async fn run_semantic(&self, session: &mut Session, sq: &SemanticQuery) -> SqlResult<ResultTable> {
        let max = self.state.limits.max_limit;
        let compiled = Arc::new(self.compile_semantic(session, sq)?);
        // Through the same cache and queue as `/v1/load`; a SQL session waits for its rows.
        let answer =
            self.state.cache.load(Arc::clone(&compiled), CacheMode::default(), None, None).await.map_err(load_error)?;
        let rows = &answer.fetched.rows;
        if !sq.limited && rows.rows.len() as u64 > max {
            return Err(SqlError::new(
                "54000",
                format!("the result has more than {max} rows, the configured maximum; add a LIMIT (or filters)"),
            ));
        }
        project(rows, &compiled.alias_to_member, sq)
    }
}

/// A query cache or database failure as the SQLSTATE PostgreSQL would give.
fn load_error(e: LoadError) -> SqlError {
    match e {
        LoadError::Run(RunError::Database(m)) => SqlError::new("22000", m),
        LoadError::Run(RunError::Unavailable(m)) => {
            SqlError::new("57P03", format!("the database is unavailable, try again: {m}"))
        }
        LoadError::Run(RunError::Timeout(t)) => {
            SqlError::new("57014", format!("canceling statement due to statement timeout ({} s)", t.as_secs_f64()))
        }
        LoadError::Run(RunError::Internal(m)) => SqlError::internal(m),
        LoadError::ContinueWait => SqlError::internal("the query cache answered `continue wait` to a session"),
    }
}

/// The semantic result's columns in the SELECT list's order.
fn project(
    rows: &ResultSet,
    alias_to_member: &indexmap::IndexMap<String, String>,
    sq: &SemanticQuery,
) -> SqlResult<ResultTable> {
    let mut index = Vec::with_capacity(sq.columns.len());
    for c in &sq.columns {
        let alias = alias_to_member
            .iter()
            .find(|(_, m)| **m == c.key)
            .map(|(a, _)| a.as_str())
            .ok_or_else(|| SqlError::internal(format!("the compiled query has no column for {}", c.key)))?;
        let i = rows
            .columns
            .iter()
            .position(|n| n == alias)
            .ok_or_else(|| SqlError::internal(format!("the result has no column {alias}")))?;
        index.push(i);
    }
    Ok(ResultTable {
        columns: sq.columns.iter().map(|c| (c.name.clone(), c.pg_type)).collect(),
        rows: rows
            .rows
            .iter()
            .map(|r| index.iter().map(|&i| r.get(i).cloned().unwrap_or(Cell::Null)).collect())
            .collect(),
    })
}
