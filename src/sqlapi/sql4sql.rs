//! `/v1/sql` with `format: "sql"` (Cube's "sql4sql"): how the SQL API would answer a statement,
//! without running it. The route is [`Engine::route`]'s, so what this reports is what a session
//! runs: `regular` with the compiled semantic query, `pushdown` with the statement for the data
//! source, `post_processing` with the semantic queries that would run first (Cube answers those
//! with an error, as they have no single SQL; the queries are added so the user sees them).

use super::engine::{parse, Engine, Route, Session};
use super::error::SqlError;
use super::users::Users;
use crate::server::{AppState, PlanError, SqlPlanner};
use serde_json::{json, Value};
use sqlparser::ast::Statement;
use std::sync::Arc;

/// The SQL API's planner, installed into the server state by `cubec serve`.
pub struct Planner;

fn plan_error(e: SqlError) -> PlanError {
    PlanError { forbidden: e.code == "42501", message: format!("{} ({})", e.message, e.code) }
}

impl SqlPlanner for Planner {
    fn plan(&self, state: &Arc<AppState>, sql: &str, context: &Value) -> Result<Value, PlanError> {
        let engine = Engine { state: Arc::clone(state), users: Users { users: Vec::new(), anyone: false } };
        let mut session = Session::new("api", "db", context.clone(), false, 0);
        let mut stmts = parse(sql).map_err(plan_error)?;
        let stmt = match (stmts.pop(), stmts.is_empty()) {
            (Some(s), true) => s,
            _ => return Err(PlanError { forbidden: false, message: "give exactly one statement".into() }),
        };
        let Statement::Query(q) = stmt else {
            return Err(PlanError { forbidden: false, message: "only SELECT statements are planned".into() });
        };
        Ok(match engine.route(&mut session, *q).map_err(plan_error)? {
            Route::Regular(sq) => {
                let compiled = engine.compile_semantic(&mut session, &sq).map_err(plan_error)?;
                json!({ "status": "ok", "query_type": "regular", "sql": [compiled.sql, compiled.params] })
            }
            Route::Pushdown(p) => {
                json!({ "status": "ok", "query_type": "pushdown", "sql": [p.compiled.sql, p.compiled.params] })
            }
            Route::PostProcessing { found, .. } => {
                let mut queries = Vec::new();
                for (_, sq) in &found {
                    let c = engine.compile_semantic(&mut session, sq).map_err(plan_error)?;
                    queries.push(json!([c.sql, c.params]));
                }
                json!({
                    "status": "error",
                    "query_type": "post_processing",
                    "error": "Provided query can not be executed without post-processing.",
                    "queries": queries,
                })
            }
        })
    }
}
