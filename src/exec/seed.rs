//! `cubec load-data`: copies the model's `data/` folder (CSV and Parquet files, read by the
//! embedded DuckDB with its type inference) into another database, so the same demo data can be
//! served from a real PostgreSQL. Each table is replaced in one transaction: a failure leaves
//! the old table as it was.

use super::duckdb::DuckDb;
use super::fixtures::ident;
use super::{Cell, Database, ExecError};
use std::path::Path;

/// Rows per INSERT statement.
const BATCH: usize = 1000;

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
        let defs: Vec<String> = columns
            .rows
            .iter()
            .map(|c| format!("{} {}", ident(&c[0].to_text()), portable_type(&c[1].to_text())))
            .collect();
        let data = source.query(&format!("SELECT * FROM {qualified}"), &[])?;
        let mut sql = String::from("BEGIN;\n");
        if schema != "main" {
            sql.push_str(&format!("CREATE SCHEMA IF NOT EXISTS {};\n", ident(schema)));
        }
        sql.push_str(&format!("DROP TABLE IF EXISTS {qualified};\nCREATE TABLE {qualified} ({});\n", defs.join(", ")));
        for chunk in data.rows.chunks(BATCH) {
            let values: Vec<String> =
                chunk.iter().map(|r| format!("({})", r.iter().map(literal).collect::<Vec<_>>().join(", "))).collect();
            sql.push_str(&format!("INSERT INTO {qualified} VALUES {};\n", values.join(",\n")));
        }
        sql.push_str("COMMIT;\n");
        if let Err(e) = target.execute_batch(&sql) {
            let _ = target.execute_batch("ROLLBACK;");
            return Err(ExecError(format!("copying table `{table}`: {e}")));
        }
        copied.push((if schema == "main" { table.clone() } else { format!("{schema}.{table}") }, data.rows.len()));
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

fn literal(c: &Cell) -> String {
    match c {
        Cell::Null => "NULL".into(),
        Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        Cell::Int(i) => i.to_string(),
        Cell::Float(f) if f.is_finite() => format!("{f:?}"),
        Cell::Float(f) => format!("'{f}'"),
        Cell::Decimal(d) => d.clone(),
        Cell::Text(s) => format!("'{}'", s.replace('\'', "''")),
        Cell::Timestamp(t) => format!("'{}'", t.format("%Y-%m-%d %H:%M:%S%.f")),
    }
}
