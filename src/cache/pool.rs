//! The database connections behind the queue: an r2d2 pool over the blocking engines (the `postgres`
//! client and DuckDB). r2d2 checks a connection (`SELECT 1`) before handing it out, drops
//! broken ones and opens replacements in the background with backoff. On top of it:
//!
//! - a health flag: when connecting fails, the database is "down" and requests get 503 at once
//!   instead of waiting; a probe with backoff (100 ms doubling to 2 s) clears the flag when the
//!   database answers again, and `/readyz` reports it;
//! - the query timeout, which also bounds the wait for a free connection; a query past it is
//!   cancelled on the database (PostgreSQL cancel request, DuckDB interrupt).
//!
//! The server starts while the database is down: no connection is needed to start.

use crate::exec::{Database, ExecError, ResultSet};
use crate::sql::CompiledSql;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a pooled query gave no rows.
#[derive(Debug, Clone, PartialEq)]
pub enum RunError {
    /// The database refused or failed the statement.
    Database(String),
    /// The database cannot be reached or the connection was lost: retry later (503).
    Unavailable(String),
    /// It ran past the timeout and was cancelled.
    Timeout(Duration),
    /// Something broke on our side (a worker thread died).
    Internal(String),
}

/// Opens connections for r2d2: PostgreSQL sessions to a URL, or connections to one embedded
/// DuckDB (a template connection keeps the database and its loaded data alive).
struct Manager {
    url: Option<String>,
    template: Option<Mutex<Database>>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Database;
    type Error = ExecError;

    fn connect(&self) -> Result<Database, ExecError> {
        match (&self.template, &self.url) {
            (Some(t), _) => {
                t.lock().map_err(|_| ExecError("the DuckDB template is poisoned".into()))?.connect_another(None)
            }
            (None, Some(url)) => Database::open(Some(url), Path::new(".")),
            (None, None) => Err(ExecError("no database to connect to".into())),
        }
    }

    fn is_valid(&self, conn: &mut Database) -> Result<(), ExecError> {
        conn.ping()
    }

    fn has_broken(&self, conn: &mut Database) -> bool {
        conn.is_closed()
    }
}

/// Whether the database is known to be down, and why.
#[derive(Default)]
struct Health {
    down: Mutex<Option<String>>,
    probing: Mutex<bool>,
}

impl Health {
    fn reason(&self) -> Option<String> {
        self.down.lock().map(|g| g.clone()).unwrap_or(None)
    }

    fn set(&self, why: Option<String>) {
        if let Ok(mut g) = self.down.lock() {
            *g = why;
        }
    }
}

pub struct Pool {
    pool: Option<r2d2::Pool<Manager>>,
    health: Arc<Health>,
    dialect: &'static str,
    metrics: Arc<super::metrics::CacheMetrics>,
}

/// How long one attempt to get a connection waits before looking at why none came.
const SLICE: Duration = Duration::from_millis(250);

/// How long a timed-out query's cancel, and then its worker, may delay the 504.
const CANCEL_GRACE: Duration = Duration::from_millis(500);

impl Pool {
    /// `size` connections at most: to `url` (PostgreSQL, opened lazily, so the database may be
    /// down now), or to one embedded DuckDB with the model's `data/` loaded once (which must
    /// work now). A malformed URL fails here.
    pub fn open(
        url: Option<&str>,
        model_dir: &Path,
        size: usize,
        metrics: Arc<super::metrics::CacheMetrics>,
    ) -> Result<Pool, ExecError> {
        let (manager, dialect) = match url {
            Some(u) if crate::exec::is_remote_url(u) => {
                crate::exec::check_remote_url(u)?;
                let dialect = crate::exec::dialect_of(u).unwrap_or("postgres");
                (Manager { url: Some(u.to_string()), template: None }, dialect)
            }
            _ => {
                let first = Database::open(url, model_dir)?;
                let dialect = first.dialect_name();
                (Manager { url: None, template: Some(Mutex::new(first)) }, dialect)
            }
        };
        let pool = r2d2::Pool::builder()
            .max_size(size.clamp(1, 256) as u32)
            .min_idle(Some(0))
            .test_on_check_out(true)
            .connection_timeout(SLICE)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(manager);
        Ok(Pool { pool: Some(pool), health: Arc::new(Health::default()), dialect, metrics })
    }

    pub fn dialect_name(&self) -> &'static str {
        self.dialect
    }

    /// Open connections and how many of them run a query now.
    pub fn usage(&self) -> (u32, u32) {
        match &self.pool {
            Some(p) => {
                let s = p.state();
                (s.connections, s.connections.saturating_sub(s.idle_connections))
            }
            None => (0, 0),
        }
    }

    fn pool(&self) -> Result<r2d2::Pool<Manager>, RunError> {
        self.pool.clone().ok_or_else(|| RunError::Internal("the connection pool is closed".into()))
    }

    /// Why the database is down, if it is (the probe has not seen it answer since).
    pub fn down_reason(&self) -> Option<String> {
        self.health.reason()
    }

    /// Marks the database down and starts the probe that brings it back (once).
    fn mark_down(&self, why: String) {
        self.health.set(Some(why));
        let Ok(pool) = self.pool() else { return };
        {
            let Ok(mut probing) = self.health.probing.lock() else { return };
            if *probing {
                return;
            }
            *probing = true;
        }
        let health = Arc::clone(&self.health);
        tokio::spawn(async move {
            let mut wait = Duration::from_millis(100);
            loop {
                tokio::time::sleep(wait).await;
                let p = pool.clone();
                let answered = tokio::task::spawn_blocking(move || {
                    let mut c = p.get_timeout(crate::exec::tls::DEFAULT_CONNECT_TIMEOUT).map_err(|e| e.to_string())?;
                    c.ping().map_err(|e| e.0)
                })
                .await;
                match answered {
                    Ok(Ok(())) => {
                        health.set(None);
                        break;
                    }
                    Ok(Err(why)) => health.set(Some(why)),
                    Err(_) => {}
                }
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            if let Ok(mut probing) = health.probing.lock() {
                *probing = false;
            }
        });
    }

    /// Runs `f` with a connection of the pool (blocking: call it from a blocking thread), for
    /// work that is not one statement (pre-aggregation builds, manifest reads).
    pub fn with_connection<T>(&self, f: impl FnOnce(&mut Database) -> T) -> Result<T, RunError> {
        let pool = self.pool()?;
        let mut conn = pool.get().map_err(|e| RunError::Unavailable(e.to_string()))?;
        Ok(f(&mut conn))
    }

    /// Runs one statement (and, for `total`, the count statement on the same connection).
    /// Waiting for a free connection counts against the timeout too.
    pub async fn run(
        &self,
        compiled: Arc<CompiledSql>,
        timeout: Duration,
    ) -> Result<(ResultSet, Option<ResultSet>), RunError> {
        let result = self.run_once(compiled, timeout).await;
        if let Err(e) = &result {
            self.metrics.database_error(match e {
                RunError::Database(_) => "rejected",
                RunError::Unavailable(_) => "unavailable",
                RunError::Timeout(_) => "timeout",
                RunError::Internal(_) => "internal",
            });
        }
        result
    }

    async fn run_once(
        &self,
        compiled: Arc<CompiledSql>,
        timeout: Duration,
    ) -> Result<(ResultSet, Option<ResultSet>), RunError> {
        if let Some(why) = self.health.reason() {
            return Err(RunError::Unavailable(why));
        }
        let started = tokio::time::Instant::now();
        let pool = self.pool()?;
        // r2d2 blocks: wait in slices on the blocking pool, so that a connection error (the
        // database is down) is seen at once and a busy pool is waited on until the timeout.
        self.metrics.pool_waiting.inc();
        let waited = self.wait_for_connection(&pool, started, timeout).await;
        self.metrics.pool_waiting.dec();
        let conn = waited?;
        self.run_on(conn, compiled, started, timeout).await
    }

    /// A connection within the timeout; a connection error means the database is down.
    async fn wait_for_connection(
        &self,
        pool: &r2d2::Pool<Manager>,
        started: tokio::time::Instant,
        timeout: Duration,
    ) -> Result<r2d2::PooledConnection<Manager>, RunError> {
        loop {
            let p = pool.clone();
            // r2d2's check of a connection (a query, a heartbeat) is not bounded by the slice;
            // the timeout bounds the whole wait, so a database that stopped answering gives a
            // 504 in time (the blocking check finishes in the background).
            let remaining = timeout.saturating_sub(started.elapsed());
            let got = match tokio::time::timeout(remaining, tokio::task::spawn_blocking(move || p.get_timeout(SLICE)))
                .await
            {
                Ok(joined) => joined.map_err(|e| RunError::Internal(format!("the connection worker failed: {e}")))?,
                Err(_) => return Err(RunError::Timeout(timeout)),
            };
            match got {
                Ok(c) => return Ok(c),
                Err(e) => {
                    let text = e.to_string();
                    // r2d2 appends the last connection error to its timeout message.
                    if let Some((_, why)) = text.split_once("connection: ") {
                        let why = why.to_string();
                        self.mark_down(why.clone());
                        return Err(RunError::Unavailable(why));
                    }
                    if started.elapsed() >= timeout {
                        return Err(RunError::Timeout(timeout));
                    }
                }
            }
        }
    }

    /// Runs the statement (and its total) on `conn`, cancelling it past the timeout.
    async fn run_on(
        &self,
        conn: r2d2::PooledConnection<Manager>,
        compiled: Arc<CompiledSql>,
        started: tokio::time::Instant,
        timeout: Duration,
    ) -> Result<(ResultSet, Option<ResultSet>), RunError> {
        let canceller = conn.canceller();
        let mut task = tokio::task::spawn_blocking(move || {
            let mut conn = conn;
            let rows = conn.run(&compiled).and_then(|rows| match &compiled.total {
                Some(t) => conn.run_sql(&t.sql, &t.params).map(|total| (rows, Some(total))),
                None => Ok((rows, None)),
            });
            // The connection goes back here, on a blocking thread (dropping a broken PostgreSQL
            // client inside the async runtime would panic); r2d2 discards it if it broke.
            drop(conn);
            rows
        });
        let remaining = timeout.saturating_sub(started.elapsed());
        match tokio::time::timeout(remaining, &mut task).await {
            Ok(Ok(Ok(rows))) => Ok(rows),
            Ok(Ok(Err(e))) if e.is_unavailable() => Err(RunError::Unavailable(e.0)),
            Ok(Ok(Err(e))) => Err(RunError::Database(e.0)),
            Ok(Err(join)) => Err(RunError::Internal(format!("the query worker failed: {join}"))),
            Err(_) => {
                // Cancel on the database, then wait for the worker so the connection is free
                // (and back in the pool) before answering; but only briefly: a database that
                // stopped answering (a frozen warehouse, a cut network) would hold the answer
                // too. The worker then finishes in the background and returns its connection.
                let cancel = tokio::task::spawn_blocking(move || canceller.cancel());
                let _ = tokio::time::timeout(CANCEL_GRACE, cancel).await;
                let _ = tokio::time::timeout(CANCEL_GRACE, task).await;
                Err(RunError::Timeout(timeout))
            }
        }
    }
}

impl Drop for Pool {
    /// Closing a blocking PostgreSQL client inside an async runtime panics (it drives its own
    /// runtime), and the pool is usually dropped there: drop the connections on a plain thread.
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}
