//! One SQL API session: its settings, user and catalog, and how each statement runs.
//!
//! Routing: SET/SHOW/transaction statements are answered from the session; a SELECT that is
//! one semantic query is compiled and run exactly as `/v1/load` runs it (same compile, same
//! pool); a SELECT over semantic subqueries or CTEs runs them, loads their rows into the
//! session's DuckDB and evaluates the rest there (post-processing); a SELECT over no cube table
//! is introspection, answered by the embedded catalog.

use super::catalog::{self, SessionInfo};
use super::error::{SqlError, SqlResult};
use super::postprocess::{collect_semantic, cte_names, load_rows_sql, run_duckdb, semantic_or_flattened};
use super::pushdown;
use super::schema::{PgType, ResultTable, Schema};
use super::scope;
use super::semantic::{self, SemanticQuery};
use super::users::Users;
use crate::exec::duckdb::DuckDb;
use crate::exec::Cell;
use crate::query::QueryOptions;
use crate::server::AppState;
use serde_json::Value;
use sqlparser::ast::{Expr, Query, Statement, Value as SqlValue, VisitMut, VisitorMut};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;

/// Which way a SELECT goes (Cube's query types).
pub enum Route {
    /// One semantic query, compiled and run as `/v1/load` runs it.
    Regular(SemanticQuery),
    /// Semantic subqueries, loaded into the session's DuckDB under these names, and the rest of
    /// the statement run there.
    PostProcessing { found: Vec<(String, SemanticQuery)>, stmt: Statement },
    /// One statement for the data source, built around the cubes' SQL.
    Pushdown(super::pushdown::Pushdown),
}

/// What one statement produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Rows(ResultTable),
    /// A command tag (`SET`, `DISCARD ALL`, ...).
    Command(String),
    Begin,
    Commit(String),
    /// Rows of a cursor (`FETCH n`).
    Fetched(ResultTable),
}

/// The longest statement text accepted (a defence against oversized input; BI tools' longest
/// introspection queries are a few kilobytes).
pub const MAX_STATEMENT_BYTES: usize = 1024 * 1024;

pub struct Session {
    pub user: String,
    pub database: String,
    pub context: Value,
    pub superuser: bool,
    pub pid: i32,
    settings: Vec<(String, String)>,
    catalog: Option<(DuckDb, HashSet<(String, String)>)>,
    /// The schema the catalog was built from (rebuilt when the model reloads).
    catalog_for: Option<Arc<crate::server::reload::Snapshot>>,
    in_transaction: bool,
    /// The semantic queries the last statement ran, for tests and EXPLAIN-like inspection.
    pub last_semantic: Vec<Value>,
    /// The result keys (`cube.member[.granularity]`) of the last semantic query's columns.
    pub last_keys: Vec<String>,
    /// The SQL of the last pushdown statement, for tests.
    pub last_pushdown: Option<String>,
    pub cursors: super::cursors::Cursors,
    /// Temporary tables and their rows (kept to reload them when the catalog is rebuilt).
    pub temp_tables: Vec<(String, ResultTable)>,
}

impl Session {
    pub fn new(user: &str, database: &str, context: Value, superuser: bool, pid: i32) -> Session {
        let mut settings: Vec<(String, String)> =
            catalog::DEFAULT_SETTINGS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        settings.push(("session_authorization".into(), user.to_string()));
        Session {
            user: user.to_string(),
            database: database.to_string(),
            context,
            superuser,
            pid,
            settings,
            catalog: None,
            catalog_for: None,
            in_transaction: false,
            last_semantic: Vec::new(),
            last_keys: Vec::new(),
            last_pushdown: None,
            cursors: Default::default(),
            temp_tables: Vec::new(),
        }
    }

    pub fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    pub fn temp_table(&self, name: &str) -> Option<&ResultTable> {
        self.temp_tables.iter().find(|(n, _)| n == name || n.eq_ignore_ascii_case(name)).map(|(_, t)| t)
    }

    pub(super) fn catalog_db(&self) -> Option<&(DuckDb, HashSet<(String, String)>)> {
        self.catalog.as_ref()
    }

    /// The session's time zone (`SET TIME ZONE`), an IANA name; `UTC` by default.
    pub fn timezone(&self) -> &str {
        self.setting("timezone").unwrap_or("UTC")
    }

    pub fn setting(&self, name: &str) -> Option<&str> {
        let name = name.to_lowercase();
        self.settings.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    fn set(&mut self, name: &str, value: String) {
        let name = name.to_lowercase();
        if let Some((db, _)) = &self.catalog {
            let _ = db.execute_batch(&format!(
                "DELETE FROM pgc.pg_settings WHERE name = {n}; INSERT INTO pgc.pg_settings (name, setting, context, \
                 vartype, source) VALUES ({n}, {v}, 'user', 'string', 'session');",
                n = catalog::lit(&name),
                v = catalog::lit(&value)
            ));
        }
        match self.settings.iter_mut().find(|(k, _)| *k == name) {
            Some(entry) => entry.1 = value,
            None => self.settings.push((name, value)),
        }
        if let Some((db, _)) = &self.catalog {
            let _ = db.execute_batch(&catalog::current_setting_macro(&self.settings));
        }
    }
}

/// The server side shared by all sessions.
pub struct Engine {
    pub state: Arc<AppState>,
    pub users: Users,
}

/// Parses SQL as PostgreSQL does; an empty string is no statements.
pub fn parse(sql: &str) -> SqlResult<Vec<Statement>> {
    if sql.len() > MAX_STATEMENT_BYTES {
        return Err(SqlError::new(
            "54000",
            format!("the statement is {} bytes, over the limit of {MAX_STATEMENT_BYTES}", sql.len()),
        ));
    }
    // sqlparser has no MOVE: such statements are FETCH without rows, marked as such.
    if let Some(pieces) = super::cursors::split_moves(sql) {
        let mut all = Vec::new();
        for (text, is_move) in pieces {
            let mut stmts = Parser::parse_sql(&PostgreSqlDialect {}, &text)
                .map_err(|e| SqlError::syntax(format!("syntax error: {e}")))?;
            if is_move {
                for s in &mut stmts {
                    if let Statement::Fetch { into, .. } = s {
                        *into = Some(super::cursors::move_mark());
                    }
                }
            }
            all.extend(stmts);
        }
        return Ok(all);
    }
    Parser::parse_sql(&PostgreSqlDialect {}, sql).map_err(|e| SqlError::syntax(format!("syntax error: {e}")))
}

/// Replaces `$n` placeholders with the bound values as literals (`None` is NULL).
pub fn bind(stmt: &mut Statement, params: &[Option<Param>]) -> SqlResult<()> {
    struct Binder<'a> {
        params: &'a [Option<Param>],
        error: Option<SqlError>,
    }
    impl VisitorMut for Binder<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
            if let Expr::Value(v) = e {
                if let SqlValue::Placeholder(p) = &v.value {
                    let Some(n) = p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) else {
                        self.error = Some(SqlError::syntax(format!("unsupported placeholder {p}")));
                        return ControlFlow::Break(());
                    };
                    let Some(value) = n.checked_sub(1).and_then(|i| self.params.get(i)) else {
                        self.error = Some(SqlError::new("08P01", format!("no value was bound for parameter ${n}")));
                        return ControlFlow::Break(());
                    };
                    v.value = match value {
                        None => SqlValue::Null,
                        Some(Param::Number(s)) => SqlValue::Number(s.clone(), false),
                        Some(Param::Bool(b)) => SqlValue::Boolean(*b),
                        Some(Param::Text(s)) => SqlValue::SingleQuotedString(s.clone()),
                    };
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut b = Binder { params, error: None };
    let _ = stmt.visit(&mut b);
    b.error.map_or(Ok(()), Err)
}

/// A bound parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Number(String),
    Bool(bool),
    Text(String),
}

/// The number of `$n` parameters a statement takes.
pub fn parameter_count(stmt: &Statement) -> usize {
    let mut max = 0;
    let _ = sqlparser::ast::visit_expressions(stmt, |e: &Expr| {
        if let Expr::Value(v) = e {
            if let SqlValue::Placeholder(p) = &v.value {
                if let Some(n) = p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
                    max = max.max(n);
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    max
}

/// `SELECT ... INTO TEMP name`: takes the INTO off and gives the name (a plain `INTO` would
/// write a table, which the SQL API does not do).
fn select_into_temp(q: &mut Query) -> SqlResult<Option<sqlparser::ast::ObjectName>> {
    let sqlparser::ast::SetExpr::Select(select) = q.body.as_mut() else { return Ok(None) };
    let Some(into) = select.into.take() else { return Ok(None) };
    if !into.temporary {
        return Err(SqlError::unsupported("SELECT INTO a table: the SQL API is read-only (SELECT INTO TEMP works)"));
    }
    match into.targets.as_slice() {
        [sqlparser::ast::Expr::Identifier(i)] => Ok(Some(sqlparser::ast::ObjectName::from(vec![i.clone()]))),
        [sqlparser::ast::Expr::CompoundIdentifier(ids)] => Ok(Some(sqlparser::ast::ObjectName::from(ids.clone()))),
        _ => Err(SqlError::unsupported("SELECT INTO TEMP: give one table name")),
    }
}

/// A `SET TIME ZONE` value as an IANA name: results and date literals are read in that zone.
/// Offsets other than zero are refused (PostgreSQL's POSIX offsets have the sign reversed, an
/// easy way to be an hour wrong).
fn time_zone(value: &str) -> SqlResult<String> {
    let v = value.trim().trim_matches('\'');
    let lower = v.to_ascii_lowercase();
    if ["utc", "etc/utc", "gmt", "z", "zulu", "0", "+00:00", "00:00", "default", "local", "universal"]
        .contains(&lower.as_str())
    {
        return Ok("UTC".into());
    }
    match v.parse::<chrono_tz::Tz>() {
        Ok(tz) => Ok(tz.name().to_string()),
        Err(_) => Err(SqlError::bad_value(format!(
            "invalid value for parameter \"TimeZone\": \"{v}\" (use a time zone name such as 'Europe/Berlin')"
        ))),
    }
}

fn set_value(values: &[Expr]) -> String {
    values
        .iter()
        .map(|v| match v {
            Expr::Value(x) => match &x.value {
                SqlValue::SingleQuotedString(s) | SqlValue::DoubleQuotedString(s) => s.clone(),
                other => other.to_string(),
            },
            Expr::Identifier(i) => i.value.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Engine {
    /// The model snapshot and the caller's schema for a security context.
    fn schema_for(&self, context: &Value) -> SqlResult<(Arc<crate::server::reload::Snapshot>, Schema)> {
        let snapshot = self.state.models.current();
        let meta = crate::server::api::meta(&self.state, &snapshot, context)
            .map_err(|e| SqlError::new("42501", e.body["error"].as_str().unwrap_or("access denied").to_string()))?;
        Ok((snapshot, Schema::from_meta(&meta)))
    }

    /// Runs one statement.
    pub async fn execute(&self, session: &mut Session, stmt: Statement) -> SqlResult<Outcome> {
        match stmt {
            Statement::Query(mut q) => match select_into_temp(&mut q)? {
                Some(name) => self.create_temp(session, &name, *q).await,
                None => self.query(session, *q).await.map(Outcome::Rows),
            },
            Statement::Declare { stmts } => self.declare(session, stmts).await,
            Statement::Fetch { name, direction, into, .. } => self.fetch(session, &name, &direction, &into),
            Statement::Close { cursor } => self.close(session, cursor),
            Statement::CreateTable(ct) if ct.temporary && ct.query.is_some() && ct.columns.is_empty() => {
                let Some(query) = ct.query else { return Err(SqlError::internal("no query")) };
                self.create_temp(session, &ct.name, *query).await
            }
            Statement::Drop { object_type: sqlparser::ast::ObjectType::Table, names, if_exists, .. } => {
                self.drop_temp(session, &names, if_exists)
            }
            Statement::Set(set) => self.set(session, set),
            Statement::ShowVariable { variable } => {
                let name = variable.iter().map(|i| i.value.to_lowercase()).collect::<Vec<_>>().join(" ");
                let name = match name.as_str() {
                    "transaction isolation level" => "transaction_isolation".to_string(),
                    "time zone" => "timezone".to_string(),
                    other => other.replace(' ', "_"),
                };
                if name == "all" {
                    let rows = session
                        .settings
                        .iter()
                        .map(|(k, v)| vec![Cell::Text(k.clone()), Cell::Text(v.clone()), Cell::Text(String::new())])
                        .collect();
                    return Ok(Outcome::Rows(ResultTable {
                        columns: vec![
                            ("name".into(), PgType::Text),
                            ("setting".into(), PgType::Text),
                            ("description".into(), PgType::Text),
                        ],
                        rows,
                    }));
                }
                let value = session.setting(&name).map(str::to_string).ok_or_else(|| {
                    SqlError::new("42704", format!("unrecognized configuration parameter \"{name}\""))
                })?;
                Ok(Outcome::Rows(ResultTable {
                    columns: vec![(name, PgType::Text)],
                    rows: vec![vec![Cell::Text(value)]],
                }))
            }
            Statement::StartTransaction { .. } => {
                session.in_transaction = true;
                Ok(Outcome::Begin)
            }
            Statement::Commit { .. } => {
                session.in_transaction = false;
                session.cursors.commit();
                Ok(Outcome::Commit("COMMIT".into()))
            }
            Statement::Rollback { savepoint: None, .. } => {
                session.in_transaction = false;
                session.cursors.rollback();
                Ok(Outcome::Commit("ROLLBACK".into()))
            }
            Statement::Rollback { .. } => Ok(Outcome::Command("ROLLBACK".into())),
            Statement::Savepoint { .. } => Ok(Outcome::Command("SAVEPOINT".into())),
            Statement::ReleaseSavepoint { .. } => Ok(Outcome::Command("RELEASE".into())),
            Statement::Discard { .. } => Ok(Outcome::Command("DISCARD ALL".into())),
            Statement::Deallocate { .. } => Ok(Outcome::Command("DEALLOCATE".into())),
            other => {
                let text = other.to_string();
                let head: String = text.chars().take(80).collect();
                Err(SqlError::unsupported(format!(
                    "Unsupported query type: {head}; the SQL API is read-only: SELECT, SET, SHOW and transaction \
                     statements"
                )))
            }
        }
    }

    fn set(&self, session: &mut Session, set: sqlparser::ast::Set) -> SqlResult<Outcome> {
        use sqlparser::ast::Set;
        match set {
            Set::SingleAssignment { variable, values, .. } => {
                let name = variable.to_string().to_lowercase();
                let value = set_value(&values);
                if name == "role" || name == "session_authorization" || name == "user" || name == "current_user" {
                    let target = value.trim_matches('\'').to_string();
                    if target.eq_ignore_ascii_case("none")
                        || target.eq_ignore_ascii_case("default")
                        || target == session.user
                    {
                        return Ok(Outcome::Command("SET".into()));
                    }
                    return Err(SqlError::new(
                        "42501",
                        format!("user '{}' is not allowed to switch to '{target}'", session.user),
                    ));
                }
                let value = if name == "timezone" || name == "time zone" { time_zone(&value)? } else { value };
                session.set(&name, value);
                Ok(Outcome::Command("SET".into()))
            }
            Set::SetTimeZone { value, .. } => {
                let tz = time_zone(&set_value(&[value]))?;
                session.set("timezone", tz);
                Ok(Outcome::Command("SET".into()))
            }
            Set::SetRole { role_name, .. } => match role_name {
                Some(r) if r.value != session.user => Err(SqlError::new(
                    "42501",
                    format!("user '{}' is not allowed to switch to '{}'", session.user, r.value),
                )),
                _ => Ok(Outcome::Command("SET".into())),
            },
            Set::SetNames { .. } | Set::SetNamesDefault {} | Set::SetTransaction { .. } | Set::SetSessionParam(_) => {
                Ok(Outcome::Command("SET".into()))
            }
            Set::MultipleAssignments { assignments } => {
                for a in assignments {
                    session.set(&a.name.to_string(), a.value.to_string());
                }
                Ok(Outcome::Command("SET".into()))
            }
            other => Err(SqlError::unsupported(format!("{other}"))),
        }
    }

    /// The session's catalog database, built on first use and rebuilt after a model reload.
    pub(super) fn catalog<'s>(&self, session: &'s mut Session) -> SqlResult<&'s (DuckDb, HashSet<(String, String)>)> {
        let (snapshot, schema) = self.schema_for(&session.context)?;
        let stale = session.catalog_for.as_ref().is_none_or(|s| !Arc::ptr_eq(s, &snapshot));
        if stale || session.catalog.is_none() {
            let info = SessionInfo { database: &session.database, user: &session.user, pid: session.pid };
            let db = catalog::open(&schema, &info, &session.settings)
                .map_err(|e| SqlError::internal(format!("building the catalog: {e}")))?;
            let tables = catalog::catalog_tables(&db)
                .map_err(|e| SqlError::internal(format!("reading the catalog: {e}")))?
                .into_iter()
                .collect();
            for (name, rows) in &session.temp_tables {
                db.execute_batch(&load_rows_sql(name, rows))
                    .map_err(|e| SqlError::internal(format!("reloading temporary table \"{name}\": {e}")))?;
            }
            session.catalog = Some((db, tables));
            session.catalog_for = Some(snapshot);
        }
        session.catalog.as_ref().ok_or_else(|| SqlError::internal("no catalog"))
    }

    /// The result columns of a statement before its parameters are bound: a semantic query's
    /// from its rewrite, anything else by running it with NULL parameters.
    pub async fn describe(&self, session: &mut Session, sql: &str, params: usize) -> SqlResult<Vec<(String, PgType)>> {
        let mut stmts = parse(sql)?;
        let Some(mut stmt) = stmts.pop() else { return Ok(Vec::new()) };
        let Statement::Query(q) = &stmt else { return Ok(Vec::new()) };
        let (_, schema) = self.schema_for(&session.context)?;
        if params == 0 {
            return match self.execute(session, stmt).await? {
                Outcome::Rows(t) => Ok(t.columns),
                _ => Ok(Vec::new()),
            };
        }
        let mut bound = q.clone();
        let mut as_stmt = Statement::Query(bound.clone());
        bind(&mut as_stmt, &vec![Some(Param::Text("1970-01-01".into())); params])?;
        if let Statement::Query(b) = as_stmt {
            bound = b;
        }
        if let Ok(Some(sq)) = semantic::rewrite(&bound, &schema) {
            return Ok(sq.columns.iter().map(|c| (c.name.clone(), c.pg_type)).collect());
        }
        bind(&mut stmt, &vec![None; params])?;
        match self.execute(session, stmt).await? {
            Outcome::Rows(t) => Ok(t.columns),
            _ => Ok(Vec::new()),
        }
    }

    /// A SELECT (or VALUES, or a set operation): one semantic query (regular), semantic
    /// subqueries with the rest on the session's DuckDB (post-processing), or SQL built around
    /// the cubes' SQL for the data source (pushdown); see [`Engine::route`].
    pub async fn query(&self, session: &mut Session, q: Query) -> SqlResult<ResultTable> {
        session.last_semantic.clear();
        session.last_pushdown = None;
        match self.route(session, q)? {
            Route::Regular(sq) => self.run_semantic(session, &sq).await,
            Route::PostProcessing { found, stmt } => {
                let mut loaded = Vec::new();
                for (name, sq) in &found {
                    let rows = self.run_semantic(session, sq).await?;
                    loaded.push((name.clone(), rows));
                }
                self.on_duckdb(session, loaded, stmt.to_string()).await
            }
            Route::Pushdown(p) => self.run_pushdown(session, p).await,
        }
    }

    /// Which way a statement goes. A cube table that is neither one semantic query nor a
    /// semantic subquery makes the statement a pushdown.
    pub fn route(&self, session: &mut Session, q: Query) -> SqlResult<Route> {
        let (_, schema) = self.schema_for(&session.context)?;
        match semantic_or_flattened(&q, &schema) {
            Ok(Some(sq)) => return Ok(Route::Regular(sq)),
            Ok(None) => {}
            // Valid SQL that is not one semantic query: the data source computes it.
            Err(e) if e.code == "0A000" => return self.pushdown_instead(session, &q, &schema, e),
            Err(e) => return Err(e),
        }
        // Post-processing: semantic subqueries and CTEs become tables in the session's DuckDB.
        let original = q.clone();
        let mut q = q;
        let mut found = Vec::new();
        match collect_semantic(&mut q, &schema, &mut found) {
            Ok(()) => {}
            Err(e) if e.code == "0A000" => return self.pushdown_instead(session, &original, &schema, e),
            Err(e) => return Err(e),
        }
        let cte_names = cte_names(&q);
        let tables = self.catalog(session)?.1.clone();
        let mut stmt = Statement::Query(Box::new(q));
        let others = super::pgsql::rewrite(&mut stmt, &tables)?;
        for name in others {
            let parts = scope::ident_parts(&name);
            let last = parts.last().cloned().unwrap_or_default();
            let is_loaded = found.iter().any(|(n, _)| *n == last);
            // Set-returning functions PostgreSQL clients call in FROM, which DuckDB has too.
            let table_function =
                ["generate_series", "generate_subscripts", "unnest"].contains(&last.to_lowercase().as_str());
            let temporary = session.temp_table(&last).is_some();
            if !is_loaded && !table_function && !temporary && !cte_names.contains(&last.to_lowercase()) {
                if scope::cube_table(&schema, &name).is_some() {
                    return self.pushdown(session, &original, &schema);
                }
                return Err(SqlError::no_table(&name.to_string()));
            }
        }
        Ok(Route::PostProcessing { found, stmt })
    }

    /// Pushdown for a statement the other routes refused with `refusal`; a fault of pushdown
    /// itself reports the refusal instead.
    fn pushdown_instead(&self, session: &Session, q: &Query, schema: &Schema, refusal: SqlError) -> SqlResult<Route> {
        self.pushdown(session, q, schema).map_err(|p| if p.code == "XX000" { refusal } else { p })
    }

    /// Compiles a statement for the data source, as the session's user.
    fn pushdown(&self, session: &Session, q: &Query, schema: &Schema) -> SqlResult<Route> {
        if self.state.rollups.config.rollup_only {
            return Err(SqlError::unsupported(
                "rollup-only mode: this statement is not one semantic query, and pushdown would read the source;                  select the members in a subquery",
            ));
        }
        let snapshot = self.state.models.current();
        let dialect =
            self.state.dialects.get(self.state.pool.dialect_name()).map_err(|d| SqlError::internal(d.message))?;
        let opts = QueryOptions {
            security_context: session.context.clone(),
            access: self.state.access.clone(),
            ungrouped_without_primary_key: true,
            ..QueryOptions::default()
        };
        let ctx = pushdown::Context {
            model: &snapshot.checked.model,
            dialect: &dialect,
            opts: &opts,
            timezone: session.timezone(),
            max_rows: self.state.limits.max_limit,
        };
        pushdown::compile(q, schema, &ctx).map(Route::Pushdown)
    }

    /// Loads the semantic results and runs `sql` on the session's DuckDB, on a blocking thread
    /// (a heavy catalog join must not hold an async worker), interrupted after the query
    /// timeout, and refused past the row maximum.
    async fn on_duckdb(
        &self,
        session: &mut Session,
        loaded: Vec<(String, ResultTable)>,
        sql: String,
    ) -> SqlResult<ResultTable> {
        let (db, tables) = session.catalog.take().ok_or_else(|| SqlError::internal("the session has no catalog"))?;
        let interrupt = db.interrupt_handle();
        let max = self.state.limits.max_limit;
        let mut task = tokio::task::spawn_blocking(move || {
            let mut result = Ok(());
            for (name, rows) in &loaded {
                if let Err(e) = db.execute_batch(&load_rows_sql(name, rows)) {
                    result = Err(SqlError::internal(format!("loading a semantic result for post-processing: {e}")));
                    break;
                }
            }
            let result = result.and_then(|_| run_duckdb(&db, &sql, max));
            for (name, _) in &loaded {
                let _ = db.execute_batch(&format!("DROP TABLE IF EXISTS \"{}\"", name.replace('"', "\"\"")));
            }
            (db, result)
        });
        let timeout = self.state.limits.query_timeout;
        let (joined, timed_out) = match tokio::time::timeout(timeout, &mut task).await {
            Ok(j) => (j, false),
            Err(_) => {
                interrupt.interrupt();
                (task.await, true)
            }
        };
        let (db, result) = joined.map_err(|e| SqlError::internal(format!("the post-processing task failed: {e}")))?;
        session.catalog = Some((db, tables));
        if timed_out {
            return Err(SqlError::new(
                "57014",
                format!("canceling statement due to statement timeout ({} s)", timeout.as_secs_f64()),
            ));
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_bound_as_literals() {
        let mut stmts = parse("SELECT status FROM orders WHERE status = $1 AND amount > $2").expect("parses");
        assert_eq!(parameter_count(&stmts[0]), 2);
        bind(&mut stmts[0], &[Some(Param::Text("it's".into())), Some(Param::Number("5".into()))]).expect("binds");
        assert_eq!(stmts[0].to_string(), "SELECT status FROM orders WHERE status = 'it''s' AND amount > 5");
        let err = bind(&mut parse("SELECT $3").expect("parses")[0], &[None]).expect_err("unbound");
        assert_eq!(err.code, "08P01");
    }
}
