//! PostgreSQL through the `postgres` crate. Parameters are bound, never pasted: the statement is
//! prepared, and each parameter (a string, as in Cube) is converted to the type the server
//! inferred for it.

use super::url::redact;
use super::{Cell, ExecError, ResultSet};
use postgres::types::{ToSql, Type};
use postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

pub struct Postgres {
    client: Client,
    /// For cancel requests, which open a connection of their own.
    tls: MakeRustlsConnect,
    /// `postgres`, or `redshift` for a `redshift://` URL (the same client, Redshift's SQL).
    dialect: &'static str,
}

impl Postgres {
    /// Connects to `url`, with TLS as its `sslmode` says (see [`super::tls`]) and a connect
    /// timeout (5 s unless `connect_timeout` says otherwise). A failure is "unavailable".
    pub fn connect(url: &str) -> Result<Postgres, ExecError> {
        let target = super::tls::target(url)?;
        let client = target
            .config
            .connect(target.tls.clone())
            .map_err(|e| ExecError::unavailable(format!("cannot connect to {}: {}", redact(url), source_text(&e))))?;
        let dialect = super::dialect_of(url).unwrap_or("postgres");
        Ok(Postgres { client, tls: target.tls, dialect })
    }

    /// The SQL dialect the server speaks.
    pub fn dialect(&self) -> &'static str {
        self.dialect
    }

    /// Asks the server to cancel this connection's running query (from another thread).
    pub fn cancel_token(&self) -> (postgres::CancelToken, MakeRustlsConnect) {
        (self.client.cancel_token(), self.tls.clone())
    }

    /// Whether the connection is gone (server restarted, backend killed, network cut).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    pub fn execute_batch(&mut self, sql: &str) -> Result<(), ExecError> {
        self.client.batch_execute(sql).map_err(|e| classify(&e, format!("PostgreSQL: {}", source_text(&e))))
    }

    pub fn query(&mut self, sql: &str, params: &[String]) -> Result<ResultSet, ExecError> {
        let stmt = self
            .client
            .prepare(sql)
            .map_err(|e| classify(&e, format!("PostgreSQL could not prepare the query: {}", source_text(&e))))?;
        let mut bound: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(params.len());
        for (i, (value, ty)) in params.iter().zip(stmt.params()).enumerate() {
            bound.push(bind(value, ty).map_err(|e| ExecError(format!("parameter ${}: {e}", i + 1)))?);
        }
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b.as_ref()).collect();
        let rows = self
            .client
            .query(&stmt, &refs)
            .map_err(|e| classify(&e, format!("PostgreSQL could not run the query: {}", source_text(&e))))?;
        let columns: Vec<String> = stmt.columns().iter().map(|c| c.name().to_string()).collect();
        let mut out = ResultSet { columns, rows: Vec::with_capacity(rows.len()) };
        for row in &rows {
            let mut cells = Vec::with_capacity(row.len());
            for (i, col) in row.columns().iter().enumerate() {
                cells.push(cell(row, i, col.type_())?);
            }
            out.rows.push(cells);
        }
        Ok(out)
    }
}

/// A statement the server rejected is the query's fault; a lost connection, a server shutting
/// down or refusing connections (SQLSTATE class 08, 57P01-57P03) is the database being away.
fn classify(e: &postgres::Error, message: String) -> ExecError {
    let away = match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        }
        None => e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
    };
    if away {
        ExecError::unavailable(message)
    } else {
        ExecError(message)
    }
}

/// The database's own words, not the driver's wrapper; otherwise the driver's message with its
/// causes (a TLS handshake failure says which certificate check failed).
fn source_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => super::error_chain(e),
    }
}

fn bind(value: &str, ty: &Type) -> Result<Box<dyn ToSql + Sync>, String> {
    let bad = |what: &str| format!("`{value}` is not {what}");
    Ok(match *ty {
        Type::BOOL => Box::new(match value.to_ascii_lowercase().as_str() {
            "true" | "t" | "1" | "yes" => true,
            "false" | "f" | "0" | "no" => false,
            _ => return Err(bad("a boolean")),
        }),
        Type::INT2 => Box::new(value.parse::<i16>().map_err(|_| bad("a small integer"))?),
        Type::INT4 => Box::new(value.parse::<i32>().map_err(|_| bad("an integer"))?),
        Type::INT8 => Box::new(value.parse::<i64>().map_err(|_| bad("an integer"))?),
        Type::FLOAT4 => Box::new(value.parse::<f32>().map_err(|_| bad("a number"))?),
        Type::FLOAT8 => Box::new(value.parse::<f64>().map_err(|_| bad("a number"))?),
        Type::NUMERIC => Box::new(
            value
                .parse::<rust_decimal::Decimal>()
                .or_else(|_| rust_decimal::Decimal::from_scientific(value))
                .map_err(|_| bad("a number"))?,
        ),
        Type::TIMESTAMPTZ => Box::new(
            chrono::DateTime::parse_from_rfc3339(value)
                .map(|d| d.with_timezone(&chrono::Utc))
                .map_err(|_| bad("a timestamp"))?,
        ),
        Type::TIMESTAMP => Box::new(crate::vocab::time::parse_local_datetime(value).ok_or_else(|| bad("a timestamp"))?),
        Type::DATE => Box::new(crate::vocab::time::parse_local_datetime(value).ok_or_else(|| bad("a date"))?.date()),
        _ => Box::new(value.to_string()),
    })
}

fn cell(row: &postgres::Row, i: usize, ty: &Type) -> Result<Cell, ExecError> {
    let e = |err: postgres::Error| ExecError(format!("reading column {i}: {err}"));
    Ok(match *ty {
        Type::BOOL => row.try_get::<_, Option<bool>>(i).map_err(e)?.map(Cell::Bool),
        Type::INT2 => row.try_get::<_, Option<i16>>(i).map_err(e)?.map(|v| Cell::Int(v.into())),
        Type::INT4 => row.try_get::<_, Option<i32>>(i).map_err(e)?.map(|v| Cell::Int(v.into())),
        Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(e)?.map(Cell::Int),
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(i).map_err(e)?.map(|v| Cell::Float(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map_err(e)?.map(Cell::Float),
        Type::NUMERIC => row
            .try_get::<_, Option<rust_decimal::Decimal>>(i)
            .map_err(e)?
            .map(|d| Cell::Decimal(d.normalize().to_string())),
        Type::TIMESTAMP => row.try_get::<_, Option<chrono::NaiveDateTime>>(i).map_err(e)?.map(Cell::Timestamp),
        Type::TIMESTAMPTZ => row
            .try_get::<_, Option<chrono::DateTime<chrono::Utc>>>(i)
            .map_err(e)?
            .map(|d| Cell::Timestamp(d.naive_utc())),
        Type::DATE => row
            .try_get::<_, Option<chrono::NaiveDate>>(i)
            .map_err(e)?
            .map(|d| Cell::Timestamp(d.and_time(chrono::NaiveTime::MIN))),
        Type::TIME => row
            .try_get::<_, Option<chrono::NaiveTime>>(i)
            .map_err(e)?
            .map(|t| Cell::Text(t.format("%H:%M:%S%.6f").to_string().trim_end_matches(".000000").to_string())),
        _ => row
            .try_get::<_, Option<String>>(i)
            .map_err(|_| {
                ExecError(format!(
                "column `{}` has PostgreSQL type {ty}, which cubec cannot read; CAST it to text in the member's sql",
                row.columns().get(i).map(|c| c.name()).unwrap_or("?")
            ))
            })?
            .map(Cell::Text),
    }
    .unwrap_or(Cell::Null))
}
