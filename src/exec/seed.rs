//! `cubec load-data`: copies the model's `data/` folder (CSV and Parquet files, read by the
//! embedded DuckDB with its type inference) into another database, so the same demo data can be
//! served from PostgreSQL, Snowflake or BigQuery. Each table is replaced only when its copy is
//! complete (see [`super::tables`]): a failure leaves the old table as it was.

use super::duckdb::DuckDb;
use super::fixtures::ident;
use super::tables::Table;
use super::{Cell, Database, ExecError};
use std::path::Path;

/// Copies every table under `data_dir` into `target`; returns each table's name and row count.
pub fn copy_data_dir(data_dir: &Path, target: &mut Database) -> Result<Vec<(String, usize)>, ExecError> {
    if !data_dir.is_dir() {
        return Err(ExecError(format!("`{}` is not a folder of CSV or Parquet files", data_dir.display())));
    }
    let source = DuckDb::open(None)?;
    source.load_data_dir(data_dir)?;
    let tables = source.query(
        "SELECT table_schema, table_name FROM information_schema.tables \
         WHERE table_schema NOT IN ('information_schema', 'pg_catalog') ORDER BY 1, 2",
        &[],
    )?;
    let mut copied = Vec::new();
    for row in &tables.rows {
        let (Cell::Text(schema), Cell::Text(table)) = (&row[0], &row[1]) else { continue };
        let qualified = if schema == "main" { ident(table) } else { format!("{}.{}", ident(schema), ident(table)) };
        let columns = source.query(
            "SELECT column_name, data_type FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            &[schema.clone(), table.clone()],
        )?;
        let defs: Vec<(String, String)> =
            columns.rows.iter().map(|c| (c[0].to_text(), portable_type(&c[1].to_text()))).collect();
        let data = source.query(&format!("SELECT * FROM {qualified}"), &[])?;
        let name = if schema == "main" { table.clone() } else { format!("{schema}.{table}") };
        let t = Table { name: name.clone(), columns: defs, rows: data.rows };
        target.load_table(&t, false).map_err(|e| ExecError(format!("copying table `{table}`: {e}")))?;
        copied.push((name, t.rows.len()));
    }
    Ok(copied)
}

/// DuckDB's inferred type as one that DuckDB and PostgreSQL both accept.
fn portable_type(duck: &str) -> String {
    let t = duck.to_ascii_uppercase();
    match t.as_str() {
        "TINYINT" | "SMALLINT" | "INTEGER" | "BIGINT" | "UTINYINT" | "USMALLINT" | "UINTEGER" => "bigint".into(),
        "UBIGINT" | "HUGEINT" | "UHUGEINT" => "numeric".into(),
        "FLOAT" | "DOUBLE" => "double precision".into(),
        "BOOLEAN" => "boolean".into(),
        "DATE" => "date".into(),
        "TIMESTAMP" | "TIMESTAMP_NS" | "TIMESTAMP_MS" | "TIMESTAMP_S" => "timestamp".into(),
        "TIMESTAMP WITH TIME ZONE" => "timestamptz".into(),
        _ if t.starts_with("DECIMAL") => t.replacen("DECIMAL", "numeric", 1),
        _ => "text".into(),
    }
}
