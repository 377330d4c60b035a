//! A bounded set of database connections for the server: at most `size` queries run at once,
//! each on its own connection, each cancelled on the database when it passes the timeout.
//!
//! The engines are blocking (the `postgres` client and DuckDB), so each query runs on tokio's
//! blocking pool; the async side only waits for a permit and for the result.

use crate::exec::{Database, ExecError, ResultSet};
use crate::sql::CompiledSql;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

pub struct Pool {
    idle: Arc<Mutex<Vec<Database>>>,
    permits: Semaphore,
    dialect: &'static str,
}

/// Why a pooled query gave no rows.
#[derive(Debug)]
pub enum RunError {
    /// The database refused or failed the statement.
    Database(String),
    /// It ran past the timeout and was cancelled.
    Timeout(Duration),
    /// Something broke on our side (a worker thread died, the pool lost a connection).
    Internal(String),
}

impl Pool {
    /// Opens `size` connections: sessions to `url`, or connections to one embedded DuckDB with
    /// the model's `data/` folder loaded once.
    pub fn open(url: Option<&str>, model_dir: &std::path::Path, size: usize) -> Result<Pool, ExecError> {
        let first = Database::open(url, model_dir)?;
        let dialect = first.dialect_name();
        let mut idle = Vec::with_capacity(size.max(1));
        for _ in 1..size.max(1) {
            idle.push(first.connect_another(url)?);
        }
        idle.push(first);
        Ok(Pool { permits: Semaphore::new(idle.len()), idle: Arc::new(Mutex::new(idle)), dialect })
    }

    pub fn dialect_name(&self) -> &'static str {
        self.dialect
    }

    /// Runs one statement (and, for `total`, the count statement on the same connection).
    /// Waiting for a free connection counts against the timeout too.
    pub async fn run(
        &self,
        compiled: Arc<CompiledSql>,
        timeout: Duration,
    ) -> Result<(ResultSet, Option<ResultSet>), RunError> {
        let started = tokio::time::Instant::now();
        let _permit = match tokio::time::timeout(timeout, self.permits.acquire()).await {
            Ok(Ok(p)) => p,
            Ok(Err(_)) => return Err(RunError::Internal("the connection pool is closed".to_string())),
            Err(_) => return Err(RunError::Timeout(timeout)),
        };
        let db = self
            .idle
            .lock()
            .map_err(|_| RunError::Internal("the connection pool lock is poisoned".to_string()))?
            .pop()
            .ok_or_else(|| RunError::Internal("no idle connection behind a free permit".to_string()))?;
        let canceller = db.canceller();
        let idle = Arc::clone(&self.idle);
        let mut task = tokio::task::spawn_blocking(move || {
            let mut db = db;
            let rows = db.run(&compiled).and_then(|rows| match &compiled.total {
                Some(t) => db.run_sql(&t.sql, &t.params).map(|total| (rows, Some(total))),
                None => Ok((rows, None)),
            });
            // The connection goes back even when the query failed or was cancelled.
            if let Ok(mut v) = idle.lock() {
                v.push(db);
            }
            rows
        });
        let remaining = timeout.saturating_sub(started.elapsed());
        match tokio::time::timeout(remaining, &mut task).await {
            Ok(Ok(result)) => result.map_err(|e| RunError::Database(e.0)),
            Ok(Err(join)) => Err(RunError::Internal(format!("the query worker failed: {join}"))),
            Err(_) => {
                // Cancel on the database, then wait for the worker so the connection is free
                // (and idle again) before the permit is released.
                let _ = tokio::task::spawn_blocking(move || canceller.cancel()).await;
                let _ = task.await;
                Err(RunError::Timeout(timeout))
            }
        }
    }
}

impl Drop for Pool {
    /// Closing a blocking PostgreSQL client inside an async runtime panics (it drives its own
    /// runtime), and the pool is usually dropped there: close the connections on a plain thread.
    fn drop(&mut self) {
        let conns: Vec<Database> = match self.idle.lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        if !conns.is_empty() {
            let _ = std::thread::spawn(move || drop(conns)).join();
        }
    }
}
