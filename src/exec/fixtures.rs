//! Fixture tables for tests: `{tables: {name: {columns: {col: type}, rows: [[...]]}}}` created
//! and filled in any engine, with values written as escaped literals.

use super::{Database, ExecError};
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
pub(super) fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn literal(v: &Value) -> Result<String, ExecError> {
    Ok(match v {
        Value::Null => "NULL".to_string(),
        Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        other => return Err(ExecError(format!("fixture values are scalars, found {other}"))),
    })
}

/// Creates (replacing) and fills every table of `fixtures`.
pub fn load(db: &mut Database, fixtures: &Value) -> Result<(), ExecError> {
    load_temporary(db, fixtures, false)
}

/// [`load`], optionally as temporary tables (PostgreSQL): they shadow real tables of the same
/// name for this session only, and the real ones are never dropped or written.
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
            defs.push(format!("{} {ty}", ident(col)));
        }
        let mut sql = if temporary {
            format!(
                "DROP TABLE IF EXISTS pg_temp.{t};\nCREATE TEMP TABLE {t} ({});\n",
                defs.join(", "),
                t = ident(name)
            )
        } else {
            format!("DROP TABLE IF EXISTS {t};\nCREATE TABLE {t} ({});\n", defs.join(", "), t = ident(name))
        };
        let rows = table.get("rows").and_then(Value::as_array).cloned().unwrap_or_default();
        if !rows.is_empty() {
            let mut values = Vec::new();
            for (i, row) in rows.iter().enumerate() {
                let cells =
                    row.as_array().ok_or_else(|| ExecError(format!("fixture `{name}` row {i} is not a list")))?;
                if cells.len() != columns.len() {
                    return Err(ExecError(format!(
                        "fixture `{name}` row {i} has {} values for {} columns",
                        cells.len(),
                        columns.len()
                    )));
                }
                let lits: Result<Vec<String>, ExecError> = cells.iter().map(literal).collect();
                values.push(format!("({})", lits?.join(", ")));
            }
            sql.push_str(&format!("INSERT INTO {} VALUES {};\n", ident(name), values.join(", ")));
        }
        db.execute_batch(&sql).map_err(|e| ExecError(format!("loading fixture `{name}`: {e}")))?;
    }
    Ok(())
}
