//! Stage 6, run: [`CompiledSql`] + a connection to rows.
//!
//! Input: compiled SQL and its parameters. Output: a [`ResultSet`] of typed cells, and from it
//! Cube's result shape (keys are member names, times are local `YYYY-MM-DDTHH:mm:ss.SSS`).
//! Engines: an embedded DuckDB (feature `engine`, the default), PostgreSQL (and Redshift through
//! its client), MySQL and MariaDB, ClickHouse, Snowflake, BigQuery and Databricks. The engine decides the dialect the SQL is compiled for.

pub mod bigquery;
pub mod clickhouse;
pub mod databricks;
#[cfg(feature = "engine")]
pub mod duckdb;
pub mod fixtures;
pub mod http;
pub mod keys;
pub mod mysql;
pub mod postgres;
#[cfg(feature = "engine")]
pub mod seed;
pub mod shape;
pub mod snowflake;
#[cfg(test)]
pub(crate) mod stub;
pub mod tables;
pub mod tls;
pub mod url;

use crate::sql::CompiledSql;
use chrono::NaiveDateTime;
use std::path::Path;

/// One value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Exact decimals keep their text.
    Decimal(String),
    Text(String),
    Timestamp(NaiveDateTime),
}

impl Cell {
    /// The value as Cube's REST API returns it: numbers and times as strings.
    pub fn to_cube_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Cell::Null => J::Null,
            Cell::Bool(b) => J::Bool(*b),
            Cell::Int(i) => J::String(i.to_string()),
            Cell::Float(f) => J::String(format_float(*f)),
            Cell::Decimal(d) => J::String(d.clone()),
            Cell::Text(s) => J::String(s.clone()),
            Cell::Timestamp(t) => J::String(crate::vocab::time::format_local(*t)),
        }
    }

    /// Plain text for tables and CSV.
    pub fn to_text(&self) -> String {
        match self.to_cube_json() {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }
    }
}

fn format_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Rows as the database returned them, with the SQL column names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultSet {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// Why a query could not run.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecError(pub String);

/// How [`ExecError::unavailable`] messages start (and how they are recognized).
const UNAVAILABLE: &str = "database unavailable: ";

impl ExecError {
    /// The database could not be reached or the connection was lost: not the query's fault,
    /// and worth retrying (503 under `cubec serve`).
    pub fn unavailable(message: impl Into<String>) -> ExecError {
        ExecError(format!("{UNAVAILABLE}{}", message.into()))
    }

    pub fn is_unavailable(&self) -> bool {
        self.0.starts_with(UNAVAILABLE)
    }
}

impl std::error::Error for ExecError {}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An error with its causes (`connect failed: tls: certificate expired`), each said once.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !text.contains(&part) {
            text = format!("{text}: {part}");
        }
        cause = c.source();
    }
    text
}

/// A database to run compiled SQL on.
pub enum Database {
    #[cfg(feature = "engine")]
    DuckDb(self::duckdb::DuckDb),
    Postgres(self::postgres::Postgres),
    /// Boxed: the client's connection state is large beside the other engines'.
    MySql(Box<self::mysql::MySql>),
    ClickHouse(self::clickhouse::ClickHouse),
    Databricks(self::databricks::Databricks),
    Snowflake(self::snowflake::Snowflake),
    BigQuery(self::bigquery::BigQuery),
}

/// The engine a database URL names, by its scheme (`None`: not a URL cubec knows).
pub fn engine_of(url: &str) -> Option<&'static str> {
    let scheme =
        url.split_once("://").map(|(s, _)| s).unwrap_or(if url.starts_with("duckdb:") { "duckdb" } else { "" });
    match scheme {
        "postgres" | "postgresql" | "redshift" => Some("postgres"),
        "mysql" | "mariadb" => Some("mysql"),
        // ClickHouse's HTTP interface is the one database cubec reaches by a plain HTTP URL.
        "clickhouse" | "http" | "https" => Some("clickhouse"),
        "databricks" => Some("databricks"),
        "snowflake" => Some("snowflake"),
        "bigquery" => Some("bigquery"),
        "duckdb" => Some("duckdb"),
        _ => None,
    }
}

/// The SQL dialect a database URL's engine speaks (Redshift: PostgreSQL's client, its own SQL).
pub fn dialect_of(url: &str) -> Option<&'static str> {
    if url.starts_with("redshift://") {
        return Some("redshift");
    }
    engine_of(url)
}

/// Checks a remote database URL without connecting (so a server can start while the database
/// is down, and still refuse a malformed URL at once).
pub fn check_remote_url(url: &str) -> Result<(), ExecError> {
    match engine_of(url) {
        Some("postgres") => self::tls::target(url).map(|_| ()),
        Some("mysql") => self::mysql::Settings::parse(url).map(|_| ()),
        Some("clickhouse") => self::clickhouse::Settings::parse(url).map(|_| ()),
        Some("databricks") => {
            self::databricks::Settings::parse(url, &|k| std::env::var(k).ok().filter(|v| !v.is_empty())).map(|_| ())
        }
        Some("snowflake") => {
            self::snowflake::Settings::parse(url, &|k| std::env::var(k).ok().filter(|v| !v.is_empty())).map(|_| ())
        }
        Some("bigquery") => {
            self::bigquery::Settings::parse(url, &|k| std::env::var(k).ok().filter(|v| !v.is_empty())).map(|_| ())
        }
        _ => Err(ExecError(format!("`{}` is not a remote database URL", self::url::redact(url)))),
    }
}

/// Whether a URL names a database reached over the network (opened lazily by the server).
pub fn is_remote_url(url: &str) -> bool {
    matches!(engine_of(url), Some("postgres" | "mysql" | "clickhouse" | "databricks" | "snowflake" | "bigquery"))
}

impl Database {
    /// The SQL dialect the database speaks.
    pub fn dialect_name(&self) -> &'static str {
        match self {
            #[cfg(feature = "engine")]
            Database::DuckDb(_) => "duckdb",
            Database::Postgres(p) => p.dialect(),
            Database::MySql(_) => "mysql",
            Database::ClickHouse(_) => "clickhouse",
            Database::Databricks(_) => "databricks",
            Database::Snowflake(_) => "snowflake",
            Database::BigQuery(_) => "bigquery",
        }
    }

    /// Opens `url`: `postgres://...`, `snowflake://...`, `bigquery://...`, `duckdb:PATH`, or
    /// (none) the embedded DuckDB with the model's `data/` folder loaded as tables.
    pub fn open(url: Option<&str>, model_dir: &Path) -> Result<Database, ExecError> {
        match url {
            Some(u) if engine_of(u) == Some("postgres") => {
                Ok(Database::Postgres(self::postgres::Postgres::connect(u)?))
            }
            Some(u) if engine_of(u) == Some("mysql") => Ok(Database::MySql(Box::new(self::mysql::MySql::connect(u)?))),
            Some(u) if engine_of(u) == Some("clickhouse") => {
                Ok(Database::ClickHouse(self::clickhouse::ClickHouse::connect(u)?))
            }
            Some(u) if engine_of(u) == Some("databricks") => {
                Ok(Database::Databricks(self::databricks::Databricks::connect(u)?))
            }
            Some(u) if engine_of(u) == Some("snowflake") => {
                Ok(Database::Snowflake(self::snowflake::Snowflake::connect(u)?))
            }
            Some(u) if engine_of(u) == Some("bigquery") => {
                Ok(Database::BigQuery(self::bigquery::BigQuery::connect(u)?))
            }
            #[cfg(feature = "engine")]
            Some(u) if u.starts_with("duckdb:") => {
                let path = &u["duckdb:".len()..];
                let db = self::duckdb::DuckDb::open(if path.is_empty() || path == ":memory:" {
                    None
                } else {
                    Some(Path::new(path))
                })?;
                Ok(Database::DuckDb(db))
            }
            #[cfg(feature = "engine")]
            None => {
                let db = self::duckdb::DuckDb::open(None)?;
                db.load_data_dir(&model_dir.join("data"))?;
                Ok(Database::DuckDb(db))
            }
            #[cfg(not(feature = "engine"))]
            None => {
                let _ = model_dir;
                Err(ExecError(
                    "this build of cubec has no embedded engine (feature `engine`); pass --db postgres://..."
                        .to_string(),
                ))
            }
            Some(u) => Err(ExecError(format!(
                "unsupported database URL `{}`: use postgres://user@host:5432/db, mysql://user@host:3306/db, \
                 clickhouse://user@host:8123/db, databricks://token:TOKEN@host/WAREHOUSE, snowflake://USER@ACCOUNT/DB/SCHEMA, bigquery://PROJECT/DATASET or duckdb:PATH",
                self::url::redact(u)
            ))),
        }
    }

    pub fn run(&mut self, sql: &CompiledSql) -> Result<ResultSet, ExecError> {
        self.run_sql(&sql.sql, &sql.params)
    }

    pub fn run_sql(&mut self, sql: &str, params: &[String]) -> Result<ResultSet, ExecError> {
        match self {
            #[cfg(feature = "engine")]
            Database::DuckDb(d) => d.query(sql, params),
            Database::Postgres(p) => p.query(sql, params),
            Database::MySql(m) => m.query(sql, params),
            Database::ClickHouse(c) => c.query(sql, params),
            Database::Databricks(d) => d.query(sql, params),
            Database::Snowflake(s) => s.query(sql, params),
            Database::BigQuery(b) => b.query(sql, params),
        }
    }

    /// Proves the connection works, as cheaply as the engine allows (the pool's check before
    /// handing a connection out): `SELECT 1`, a Snowflake session heartbeat, a BigQuery
    /// metadata read that starts no job.
    pub fn ping(&mut self) -> Result<(), ExecError> {
        match self {
            Database::Snowflake(s) => s.ping(),
            Database::BigQuery(b) => b.ping(),
            Database::MySql(m) => m.ping(),
            Database::ClickHouse(c) => c.ping(),
            Database::Databricks(d) => d.ping(),
            _ => self.run_sql("SELECT 1", &[]).map(|_| ()),
        }
    }

    /// Drops a table [`Database::load_table`] made temporary (never a real table: on
    /// PostgreSQL `pg_temp`, on Snowflake a temporary table shadows, on BigQuery the scratch
    /// dataset).
    pub fn drop_temporary_table(&mut self, name: &str) -> Result<(), ExecError> {
        match self {
            Database::Snowflake(s) => s.drop_temporary_table(name),
            Database::BigQuery(b) => b.drop_temporary_table(name),
            Database::MySql(m) => m.drop_temporary_table(name),
            Database::ClickHouse(c) => c.drop_temporary_table(name),
            Database::Databricks(d) => d.drop_temporary_table(name),
            Database::Postgres(_) => {
                self.execute_batch(&format!("DROP TABLE IF EXISTS pg_temp.{}", (tables::STANDARD.quote)(name)))
            }
            #[cfg(feature = "engine")]
            Database::DuckDb(_) => {
                self.execute_batch(&format!("DROP TABLE IF EXISTS {}", (tables::STANDARD.quote)(name)))
            }
        }
    }

    /// Creates and fills a table (see [`tables`]); `temporary`: visible to this connection
    /// only and gone with it, shadowing any real table of the same name.
    pub fn load_table(&mut self, t: &tables::Table, temporary: bool) -> Result<(), ExecError> {
        match self {
            Database::Snowflake(s) => s.load_table(t, temporary),
            Database::BigQuery(b) => b.load_table(t, temporary),
            Database::MySql(m) => m.load_table(t, temporary),
            Database::ClickHouse(c) => c.load_table(t, temporary),
            Database::Databricks(d) => d.load_table(t, temporary),
            _ => self.execute_batch(&tables::standard_sql(t, temporary)),
        }
    }

    /// Another connection to the same database: a new PostgreSQL session to `url`, or another
    /// connection to the same embedded DuckDB (which shares its tables).
    pub fn connect_another(&self, url: Option<&str>) -> Result<Database, ExecError> {
        match self {
            #[cfg(feature = "engine")]
            Database::DuckDb(d) => Ok(Database::DuckDb(d.try_clone()?)),
            _ => match url {
                Some(u) => Database::open(Some(u), Path::new(".")),
                None => Err(ExecError("a connection to a remote database needs its URL".to_string())),
            },
        }
    }

    /// A handle that cancels whatever query this connection is running, from another thread.
    pub fn canceller(&self) -> Canceller {
        match self {
            #[cfg(feature = "engine")]
            Database::DuckDb(d) => Canceller::DuckDb(d.interrupt_handle()),
            Database::Postgres(p) => {
                let (token, tls) = p.cancel_token();
                Canceller::Postgres(token, tls)
            }
            Database::MySql(m) => {
                let (opts, id) = m.canceller();
                Canceller::MySql(Box::new(opts), id)
            }
            Database::ClickHouse(c) => Canceller::ClickHouse(c.running()),
            Database::Databricks(d) => Canceller::Databricks(d.running()),
            Database::Snowflake(s) => Canceller::Snowflake(s.running()),
            Database::BigQuery(b) => Canceller::BigQuery(b.running()),
        }
    }

    /// Whether the connection is known to be broken (PostgreSQL; DuckDB's never break).
    pub fn is_closed(&self) -> bool {
        match self {
            #[cfg(feature = "engine")]
            Database::DuckDb(_) => false,
            Database::Postgres(p) => p.is_closed(),
            Database::MySql(m) => m.is_closed(),
            Database::ClickHouse(c) => c.is_closed(),
            Database::Snowflake(_) | Database::BigQuery(_) | Database::Databricks(_) => false,
        }
    }

    /// Creates a table holding `rows` (the embedded store's tables: DuckDB only).
    pub fn create_table_with_rows(
        &mut self,
        schema: &str,
        table: &str,
        rows: &ResultSet,
        samples: &[Cell],
    ) -> Result<(), ExecError> {
        match self {
            #[cfg(feature = "engine")]
            Database::DuckDb(d) => d.create_table_with_rows(schema, table, rows, samples),
            _ => {
                let _ = (schema, table, rows, samples);
                Err(ExecError("only the embedded DuckDB holds tables copied row by row".into()))
            }
        }
    }

    /// Runs statements without results (fixtures, setup). Snowflake takes one statement per
    /// request; BigQuery runs `;`-separated statements as one script.
    pub fn execute_batch(&mut self, sql: &str) -> Result<(), ExecError> {
        match self {
            #[cfg(feature = "engine")]
            Database::DuckDb(d) => d.execute_batch(sql),
            Database::Postgres(p) => p.execute_batch(sql),
            Database::MySql(m) => m.execute_batch(sql),
            Database::ClickHouse(c) => c.execute_batch(sql),
            Database::Databricks(d) => d.execute_batch(sql),
            Database::Snowflake(s) => s.execute(sql),
            Database::BigQuery(b) => b.execute(sql),
        }
    }
}

/// Stops a running query of one connection (see [`Database::canceller`]).
pub enum Canceller {
    #[cfg(feature = "engine")]
    DuckDb(std::sync::Arc<::duckdb::InterruptHandle>),
    Postgres(::postgres::CancelToken, tokio_postgres_rustls::MakeRustlsConnect),
    /// The connection's options and its server-side id, for `KILL QUERY`.
    MySql(Box<::mysql::Opts>, u32),
    /// The connection's running query, for `KILL QUERY WHERE query_id`.
    ClickHouse(std::sync::Arc<self::clickhouse::Running>),
    Databricks(std::sync::Arc<self::databricks::Running>),
    Snowflake(std::sync::Arc<std::sync::Mutex<self::snowflake::Running>>),
    BigQuery(std::sync::Arc<self::bigquery::Running>),
}

impl Canceller {
    /// Blocks until the request is sent (PostgreSQL opens a short connection for it).
    pub fn cancel(&self) -> Result<(), ExecError> {
        match self {
            #[cfg(feature = "engine")]
            Canceller::DuckDb(h) => {
                h.interrupt();
                Ok(())
            }
            Canceller::Postgres(t, tls) => {
                t.cancel_query(tls.clone()).map_err(|e| ExecError(format!("cancelling the query: {e}")))
            }
            Canceller::MySql(opts, id) => self::mysql::cancel(opts, *id),
            Canceller::ClickHouse(running) => self::clickhouse::cancel(running),
            Canceller::Databricks(running) => self::databricks::cancel(running),
            Canceller::Snowflake(running) => self::snowflake::cancel(running),
            Canceller::BigQuery(running) => self::bigquery::cancel(running),
        }
    }
}
