//! The embedded engine: an in-process DuckDB.
//!
//! The bundled DuckDB has no ICU, so it has no named time zones: `AT TIME ZONE` and
//! `timezone()` fail, even for 'UTC'. cubec registers its own `timezone(VARCHAR, TIMESTAMPTZ)`
//! overload (conversion with chrono-tz, DST exact), so the SQL it emits for DuckDB is the SQL a
//! stock DuckDB with ICU runs too. Extension auto-install is off: nothing is downloaded.

use super::fixtures::ident;
use super::{Cell, ExecError, ResultSet};
use chrono::{DateTime, TimeZone, Utc};
use duckdb::arrow::datatypes::DataType;
use duckdb::core::{DataChunkHandle, LogicalTypeId};
use duckdb::ffi::duckdb_string_t;
use duckdb::types::ValueRef;
use duckdb::vscalar::{ScalarFunctionSignature, VScalar};
use duckdb::vtab::arrow::WritableVector;
use duckdb::{Config, Connection};
use std::path::Path;

pub struct DuckDb {
    conn: Connection,
}

fn err(context: &str, e: impl std::fmt::Display) -> ExecError {
    ExecError(format!("{context}: {e}"))
}

impl DuckDb {
    /// An in-memory database (`None`) or a database file.
    pub fn open(path: Option<&Path>) -> Result<DuckDb, ExecError> {
        let config = Config::default()
            .with("autoinstall_known_extensions", "false")
            .and_then(|c| c.with("autoload_known_extensions", "false"))
            .map_err(|e| err("configuring DuckDB", e))?;
        let conn = match path {
            None => Connection::open_in_memory_with_flags(config),
            Some(p) => Connection::open_with_flags(p, config),
        }
        .map_err(|e| err("opening DuckDB", e))?;
        conn.register_scalar_function::<TimezoneFn>("timezone").map_err(|e| err("registering timezone()", e))?;
        Ok(DuckDb { conn })
    }

    /// Another connection to the same database (tables, and the `timezone` function, shared),
    /// for running queries side by side.
    pub fn try_clone(&self) -> Result<DuckDb, ExecError> {
        Ok(DuckDb { conn: self.conn.try_clone().map_err(|e| err("opening another DuckDB connection", e))? })
    }

    /// Something another thread can call to stop this connection's running query.
    pub fn interrupt_handle(&self) -> std::sync::Arc<duckdb::InterruptHandle> {
        self.conn.interrupt_handle()
    }

    /// Every CSV or Parquet file in `dir` becomes a table named after the file; a subfolder
    /// becomes a schema.
    pub fn load_data_dir(&self, dir: &Path) -> Result<usize, ExecError> {
        if !dir.is_dir() {
            return Ok(0);
        }
        let walk = crate::files::Walk { max_depth: 2, ..crate::files::Walk::deep(&["csv", "parquet"]) };
        let files = walk.files(dir).map_err(|e| ExecError(e.to_string()))?;
        for path in &files {
            let reader = if path.extension().is_some_and(|x| x == "csv") { "read_csv" } else { "read_parquet" };
            let stem = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
            // A file in a subfolder is a table in the schema named after the folder.
            let table = match path.parent().filter(|p| *p != dir).and_then(|p| p.file_name()) {
                Some(folder) => {
                    let schema = ident(&folder.to_string_lossy());
                    self.execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS {schema};"))?;
                    format!("{schema}.{}", ident(&stem))
                }
                None => ident(&stem),
            };
            let file = path.to_string_lossy().replace('\'', "''");
            self.execute_batch(&format!("CREATE OR REPLACE TABLE {table} AS SELECT * FROM {reader}('{file}');"))
                .map_err(|e| ExecError(format!("loading {}: {}", path.display(), e.0)))?;
        }
        Ok(files.len())
    }

    pub fn execute_batch(&self, sql: &str) -> Result<(), ExecError> {
        self.conn.execute_batch(sql).map_err(|e| err("DuckDB", e))
    }

    /// Creates `schema.table` with a column per result column, typed from its values (or, for
    /// a column without any, from `samples`: a cell of the type it holds), and appends the rows
    /// with DuckDB's appender. Exact decimals keep their scale (up to 18 digits).
    pub fn create_table_with_rows(
        &self,
        schema: &str,
        table: &str,
        rows: &ResultSet,
        samples: &[Cell],
    ) -> Result<(), ExecError> {
        let types: Vec<String> = (0..rows.columns.len())
            .map(|i| {
                let sample = rows.rows.iter().map(|r| &r[i]).find(|c| !matches!(c, Cell::Null)).or(samples.get(i));
                match sample {
                    Some(Cell::Bool(_)) => "BOOLEAN".to_string(),
                    Some(Cell::Int(_)) => "BIGINT".to_string(),
                    Some(Cell::Float(_)) => "DOUBLE".to_string(),
                    Some(Cell::Timestamp(_)) => "TIMESTAMP".to_string(),
                    Some(Cell::Decimal(_)) => {
                        let scale = rows
                            .rows
                            .iter()
                            .filter_map(|r| match &r[i] {
                                Cell::Decimal(d) => Some(d.split_once('.').map(|(_, f)| f.len()).unwrap_or(0)),
                                _ => None,
                            })
                            .max()
                            .unwrap_or(0)
                            .min(18);
                        format!("DECIMAL(38, {scale})")
                    }
                    _ => "VARCHAR".to_string(),
                }
            })
            .collect();
        let columns: Vec<String> = rows.columns.iter().zip(&types).map(|(c, t)| format!("{} {t}", ident(c))).collect();
        self.execute_batch(&format!(
            "CREATE SCHEMA IF NOT EXISTS {s}; CREATE TABLE {s}.{t} ({});",
            columns.join(", "),
            s = ident(schema),
            t = ident(table)
        ))?;
        let mut app = self.conn.appender_to_db(table, schema).map_err(|e| err("DuckDB appender", e))?;
        for row in &rows.rows {
            let values = row.iter().map(|c| match c {
                Cell::Null => duckdb::types::Value::Null,
                Cell::Bool(b) => duckdb::types::Value::Boolean(*b),
                Cell::Int(i) => duckdb::types::Value::BigInt(*i),
                Cell::Float(f) => duckdb::types::Value::Double(*f),
                Cell::Decimal(d) | Cell::Text(d) => duckdb::types::Value::Text(d.clone()),
                Cell::Timestamp(t) => duckdb::types::Value::Timestamp(
                    duckdb::types::TimeUnit::Microsecond,
                    t.and_utc().timestamp_micros(),
                ),
            });
            app.append_row(duckdb::appender_params_from_iter(values)).map_err(|e| err("DuckDB append", e))?;
        }
        app.flush().map_err(|e| err("DuckDB append", e))
    }

    pub fn query(&self, sql: &str, params: &[String]) -> Result<ResultSet, ExecError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| err("DuckDB could not prepare the query", e))?;
        let mut rows = stmt
            .query(duckdb::params_from_iter(params.iter()))
            .map_err(|e| err("DuckDB could not run the query", e))?;
        let mut out = ResultSet::default();
        let mut types: Vec<DataType> = Vec::new();
        while let Some(row) = rows.next().map_err(|e| err("DuckDB failed reading a row", e))? {
            if out.columns.is_empty() {
                out.columns = row.as_ref().column_names();
                types = (0..out.columns.len()).map(|i| row.as_ref().column_type(i)).collect();
                // The crate panics on a column type it cannot read: refuse such a column here.
                if let Some((name, t)) = out.columns.iter().zip(&types).find(|(_, t)| !readable(t)) {
                    return Err(ExecError(format!(
                        "DuckDB column `{name}` has type {t}, which cubec cannot read; CAST it in the member's sql"
                    )));
                }
            }
            let mut cells = Vec::with_capacity(out.columns.len());
            for (i, t) in types.iter().enumerate() {
                if *t == DataType::Null {
                    // An untyped NULL column (`sql: NULL`): the crate cannot read it either.
                    cells.push(Cell::Null);
                    continue;
                }
                let v = row.get_ref(i).map_err(|e| err("DuckDB value", e))?;
                cells.push(cell(v).map_err(|e| ExecError(format!("DuckDB column `{}`: {e}", out.columns[i])))?);
            }
            out.rows.push(cells);
        }
        if out.columns.is_empty() {
            out.columns = stmt.column_names();
        }
        Ok(out)
    }
}

/// Arrow types the `duckdb` crate's `get_ref` reads (its fallback arm panics), plus `Null`,
/// which is read here without it.
fn readable(t: &DataType) -> bool {
    use duckdb::arrow::datatypes::TimeUnit;
    matches!(
        t,
        DataType::Null
            | DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::FixedSizeBinary(_)
            | DataType::Date32
            | DataType::Time64(TimeUnit::Microsecond)
            | DataType::Timestamp(..)
            | DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Interval(_)
            | DataType::List(_)
            | DataType::LargeList(_)
            | DataType::FixedSizeList(..)
            | DataType::Struct(_)
            | DataType::Map(..)
            | DataType::Union(..)
            | DataType::Dictionary(..)
    )
}

/// One value as a [`Cell`]. Times, intervals and bytes are written as PostgreSQL prints them;
/// nested values (lists, structs, maps, unions, enums) are refused rather than shown as debug
/// text.
fn cell(v: ValueRef) -> Result<Cell, String> {
    Ok(match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Boolean(b) => Cell::Bool(b),
        ValueRef::TinyInt(i) => Cell::Int(i.into()),
        ValueRef::SmallInt(i) => Cell::Int(i.into()),
        ValueRef::Int(i) => Cell::Int(i.into()),
        ValueRef::BigInt(i) => Cell::Int(i),
        ValueRef::HugeInt(i) => i64::try_from(i).map(Cell::Int).unwrap_or_else(|_| Cell::Decimal(i.to_string())),
        ValueRef::UTinyInt(i) => Cell::Int(i.into()),
        ValueRef::USmallInt(i) => Cell::Int(i.into()),
        ValueRef::UInt(i) => Cell::Int(i.into()),
        ValueRef::UBigInt(i) => i64::try_from(i).map(Cell::Int).unwrap_or_else(|_| Cell::Decimal(i.to_string())),
        ValueRef::UHugeInt(i) => Cell::Decimal(i.to_string()),
        ValueRef::Float(f) => Cell::Float(f.into()),
        ValueRef::Double(f) => Cell::Float(f),
        ValueRef::Decimal(d) => Cell::Decimal(super::shape::normalize_decimal(&d.to_string())),
        ValueRef::Timestamp(unit, t) => {
            let micros = unit.to_micros(t);
            Cell::Timestamp(DateTime::<Utc>::from_timestamp_micros(micros).map(|d| d.naive_utc()).unwrap_or_default())
        }
        ValueRef::Date32(days) => Cell::Timestamp(
            DateTime::<Utc>::from_timestamp(i64::from(days) * 86_400, 0).map(|d| d.naive_utc()).unwrap_or_default(),
        ),
        ValueRef::Text(b) => Cell::Text(String::from_utf8_lossy(b).to_string()),
        ValueRef::Time64(unit, t) => Cell::Text(time_of_day(unit.to_micros(t))),
        ValueRef::Interval { months, days, nanos } => Cell::Text(interval(months, days, nanos)),
        ValueRef::Blob(b) => Cell::Text(format!("\\x{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())),
        other => {
            let kind = format!("{other:?}");
            let kind = kind.split(['(', ' ', '{']).next().unwrap_or("this");
            return Err(format!(
                "a {kind} value cannot be returned as a scalar; CAST it to VARCHAR in the member's sql"
            ));
        }
    })
}

/// `HH:MM:SS[.ffffff]` for microseconds since midnight.
fn time_of_day(micros: i64) -> String {
    let (secs, frac) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let base = format!("{:02}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60);
    if frac == 0 {
        base
    } else {
        format!("{base}.{frac:06}")
    }
}

/// An interval as PostgreSQL prints it: `1 year 2 mons 3 days 04:05:06`.
fn interval(months: i32, days: i32, nanos: i64) -> String {
    let plural = |n: i64, one: &str, many: &str| format!("{n} {}", if n.abs() == 1 { one } else { many });
    let mut parts = Vec::new();
    let (years, mons) = (i64::from(months) / 12, i64::from(months) % 12);
    if years != 0 {
        parts.push(plural(years, "year", "years"));
    }
    if mons != 0 {
        parts.push(plural(mons, "mon", "mons"));
    }
    if days != 0 {
        parts.push(plural(i64::from(days), "day", "days"));
    }
    let micros = nanos / 1000;
    if micros != 0 || parts.is_empty() {
        let sign = if micros < 0 { "-" } else { "" };
        parts.push(format!("{sign}{}", time_of_day(micros.abs())));
    }
    parts.join(" ")
}

/// `timezone(zone, instant)`: the wall-clock time of a TIMESTAMPTZ in an IANA zone, as a
/// TIMESTAMP. What `instant AT TIME ZONE zone` means in DuckDB and PostgreSQL.
struct TimezoneFn;

impl VScalar for TimezoneFn {
    type State = ();

    fn invoke(
        _: &(),
        input: &mut DataChunkHandle,
        output: &mut dyn WritableVector,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let n = input.len();
        let zones = input.flat_vector(0);
        let instants = input.flat_vector(1);
        // SAFETY: DuckDB hands us flattened VARCHAR and TIMESTAMPTZ (i64 microseconds) vectors of
        // `n` rows, and an output TIMESTAMP vector of the same length; nothing outlives this call.
        let zone_strs = unsafe { zones.as_slice_with_len::<duckdb_string_t>(n) };
        let micros = unsafe { instants.as_slice_with_len::<i64>(n) };
        let mut out = output.flat_vector();
        let mut cached: Option<(String, chrono_tz::Tz)> = None;
        for row in 0..n {
            if zones.row_is_null(row as u64) || instants.row_is_null(row as u64) {
                out.set_null(row);
                continue;
            }
            let mut raw = zone_strs[row];
            let name = duckdb::types::DuckString::new(&mut raw).as_str().to_string();
            let tz = match &cached {
                Some((n, tz)) if *n == name => *tz,
                _ => {
                    let tz: chrono_tz::Tz = name.parse().map_err(|_| format!("unknown time zone '{name}'"))?;
                    cached = Some((name, tz));
                    tz
                }
            };
            let utc = DateTime::<Utc>::from_timestamp_micros(micros[row]).ok_or("timestamp out of range")?;
            let local = tz.from_utc_datetime(&utc.naive_utc()).naive_local();
            let value = local.and_utc().timestamp_micros();
            // SAFETY: `row < n`, the output vector's length.
            unsafe { out.as_mut_slice_with_len::<i64>(n)[row] = value };
        }
        Ok(())
    }

    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(
            vec![LogicalTypeId::Varchar.into(), LogicalTypeId::TimestampTZ.into()],
            LogicalTypeId::Timestamp.into(),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(db: &DuckDb, sql: &str) -> Cell {
        db.query(sql, &[]).expect(sql).rows.remove(0).remove(0)
    }

    #[test]
    fn times_intervals_and_bytes_read_as_postgres_prints_them_and_lists_are_refused() {
        let db = DuckDb::open(None).expect("open");
        let r = db
            .query("SELECT TIME '04:05:06.5', INTERVAL '1 year 2 months 3 days 4 hours', '\\xAB\\x01'::BLOB, INTERVAL '1 day'", &[])
            .expect("query");
        assert_eq!(
            r.rows[0],
            vec![
                Cell::Text("04:05:06.500000".into()),
                Cell::Text("1 year 2 mons 3 days 04:00:00".into()),
                Cell::Text("\\xab01".into()),
                Cell::Text("1 day".into()),
            ]
        );
        let e = db.query("SELECT [1, 2] AS l", &[]).err().map(|e| e.0).unwrap_or_default();
        assert!(e.contains("`l`") && e.contains("CAST it to VARCHAR"), "{e}");
    }

    #[test]
    fn time_zones_work_without_icu_and_respect_dst() {
        let db = DuckDb::open(None).unwrap();
        let ts = |s: &str| Cell::Timestamp(crate::vocab::time::parse_local_datetime(s).unwrap());
        assert_eq!(
            one(&db, "SELECT timezone('America/Los_Angeles', TIMESTAMP '2024-01-01 08:00:00'::timestamptz)"),
            ts("2024-01-01T00:00:00")
        );
        assert_eq!(
            one(&db, "SELECT timezone('America/Los_Angeles', TIMESTAMP '2024-07-01 08:00:00'::timestamptz)"),
            ts("2024-07-01T01:00:00")
        );
        assert_eq!(
            one(&db, "SELECT TIMESTAMP '2024-03-31 01:30:00'::timestamptz AT TIME ZONE 'Europe/Berlin'"),
            ts("2024-03-31T03:30:00")
        );
        assert_eq!(
            one(&db, "SELECT timezone('UTC', TIMESTAMP '2024-03-31 01:30:00'::timestamptz)"),
            ts("2024-03-31T01:30:00")
        );
        assert!(db.query("SELECT timezone('Mars/Base', now())", &[]).is_err());
    }

    #[test]
    fn data_dir_loads_csv_parquet_and_schemas() {
        let dir = std::env::temp_dir().join(format!("cubec-data-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("crm")).unwrap();
        std::fs::write(dir.join("users.csv"), "id,name\n1,Ann\n2,\"O'Brien, Pat\"\n").unwrap();
        let writer = DuckDb::open(None).unwrap();
        let parquet = dir.join("crm").join("leads.parquet");
        writer
            .execute_batch(&format!(
                "COPY (SELECT 7 AS id, 'hot' AS stage) TO '{}' (FORMAT parquet);",
                parquet.display()
            ))
            .unwrap();
        let db = DuckDb::open(None).unwrap();
        assert_eq!(db.load_data_dir(&dir).unwrap(), 2);
        assert_eq!(one(&db, "SELECT name FROM users WHERE id = 2"), Cell::Text("O'Brien, Pat".into()));
        assert_eq!(one(&db, "SELECT stage FROM crm.leads"), Cell::Text("hot".into()));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn string_params_cast_to_timestamptz() {
        let db = DuckDb::open(None).unwrap();
        let r = db
            .query(
                "SELECT TIMESTAMP '2024-01-01 08:00:00' >= $1::timestamptz",
                &["2024-01-01T08:00:00.000Z".to_string()],
            )
            .unwrap();
        assert_eq!(r.rows[0][0], Cell::Bool(true));
    }
}
