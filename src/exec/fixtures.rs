//! Fixture tables for tests: `{tables: {name: {columns: {col: type}, rows: [[...]]}}}` created
//! and filled in any engine, with values written as escaped literals.

use super::tables::Table;
use super::{Cell, Database, ExecError};
use serde_json::Value;

/// Column types a fixture may use (portable between DuckDB and PostgreSQL).
fn valid_type(t: &str) -> bool {
    let base = t.split('(').next().unwrap_or("").trim();
    let args_ok = match t.find('(') {
        Some(i) => t.ends_with(')') && t[i + 1..t.len() - 1].split(',').all(|a| a.trim().parse::<u32>().is_ok()),
        None => true,
    };
    args_ok
        && matches!(
            base.to_ascii_lowercase().as_str(),
            "integer"
                | "bigint"
                | "smallint"
                | "text"
                | "varchar"
                | "numeric"
                | "decimal"
                | "boolean"
                | "timestamp"
                | "date"
                | "real"
                | "double precision"
        )
}

/// A double-quoted identifier (DuckDB and PostgreSQL alike).
#[cfg_attr(not(feature = "engine"), allow(dead_code))]
pub(super) fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A fixture value as a cell: whole numbers as integers, other numbers as exact decimals,
/// strings as text (each engine reads a date or time from a string literal).
fn cell(v: &Value) -> Result<Cell, ExecError> {
    Ok(match v {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cell::Int(i),
            None => Cell::Decimal(n.to_string()),
        },
        Value::String(s) => Cell::Text(s.clone()),
        other => return Err(ExecError(format!("fixture values are scalars, found {other}"))),
    })
}

/// Creates (replacing) and fills every table of `fixtures`.
pub fn load(db: &mut Database, fixtures: &Value) -> Result<(), ExecError> {
    load_temporary(db, fixtures, false)
}

/// [`load`], optionally as temporary tables: visible to this connection only, shadowing real
/// tables of the same name, which are never dropped or written (PostgreSQL and Snowflake
/// temporary tables; on BigQuery a scratch dataset dropped with the connection).
pub fn load_temporary(db: &mut Database, fixtures: &Value, temporary: bool) -> Result<(), ExecError> {
    let Some(tables) = fixtures.get("tables").and_then(Value::as_object) else {
        return Err(ExecError("fixtures need a `tables` mapping".to_string()));
    };
    for (name, table) in tables {
        let columns = table
            .get("columns")
            .and_then(Value::as_object)
            .ok_or_else(|| ExecError(format!("fixture table `{name}` needs `columns`")))?;
        let mut defs = Vec::new();
        for (col, ty) in columns {
            let ty = ty.as_str().unwrap_or("");
            if !valid_type(ty) {
                return Err(ExecError(format!("fixture column `{name}.{col}` has unsupported type `{ty}`")));
            }
            defs.push((col.clone(), ty.to_string()));
        }
        let mut t = Table { name: name.clone(), columns: defs, rows: Vec::new() };
        let rows = table.get("rows").and_then(Value::as_array).cloned().unwrap_or_default();
        for (i, row) in rows.iter().enumerate() {
            let cells = row.as_array().ok_or_else(|| ExecError(format!("fixture `{name}` row {i} is not a list")))?;
            if cells.len() != columns.len() {
                return Err(ExecError(format!(
                    "fixture `{name}` row {i} has {} values for {} columns",
                    cells.len(),
                    columns.len()
                )));
            }
            t.rows.push(cells.iter().map(cell).collect::<Result<Vec<_>, _>>()?);
        }
        // A dotted fixture name is one table name here, not a schema.
        if name.contains('.') {
            return Err(ExecError(format!("fixture table `{name}`: names cannot contain `.`")));
        }
        db.load_table(&t, temporary).map_err(|e| ExecError(format!("loading fixture `{name}`: {e}")))?;
    }
    Ok(())
}
