//! Post-processing and the session's DuckDB: semantic subqueries and CTEs of a statement
//! become tables (their rows loaded), and the rest of the statement runs on the session's
//! embedded DuckDB, beside the catalog. Also the DuckDB-to-PostgreSQL type and error mapping.

use super::error::{SqlError, SqlResult};
use super::schema::{PgType, ResultTable, Schema};
use super::semantic::{self, SemanticQuery};
use crate::exec::duckdb::DuckDb;
use crate::exec::Cell;
use sqlparser::ast::{ObjectName, Query, SetExpr, TableFactor};
use std::collections::HashSet;

pub(super) fn duck_type(t: PgType) -> &'static str {
    match t {
        PgType::Bool => "BOOLEAN",
        PgType::Int4 => "INTEGER",
        PgType::Int8 => "BIGINT",
        PgType::Float8 => "DOUBLE",
        PgType::Numeric => "DOUBLE",
        PgType::Text => "VARCHAR",
        PgType::Date => "DATE",
        PgType::Timestamp => "TIMESTAMP",
    }
}

/// `CREATE TABLE` and inserts of a result's rows in the session's DuckDB (semantic results for
/// post-processing, temporary tables).
pub(super) fn load_rows_sql(name: &str, rows: &ResultTable) -> String {
    let table = crate::exec::tables::Table {
        name: name.to_string(),
        columns: rows.columns.iter().map(|(n, t)| (n.clone(), duck_type(*t).to_string())).collect(),
        rows: rows.rows.clone(),
    };
    crate::exec::tables::standard_sql(&table, false)
}

/// A DuckDB type name as the PostgreSQL type the result reports.
fn pg_type_of(duck: &str) -> PgType {
    let t = duck.to_uppercase();
    match t.split('(').next().unwrap_or("") {
        "BOOLEAN" => PgType::Bool,
        "TINYINT" | "SMALLINT" | "INTEGER" | "UTINYINT" | "USMALLINT" => PgType::Int4,
        "BIGINT" | "UINTEGER" | "UBIGINT" | "HUGEINT" => PgType::Int8,
        "FLOAT" | "DOUBLE" => PgType::Float8,
        "DECIMAL" => PgType::Numeric,
        "DATE" => PgType::Date,
        "TIMESTAMP" | "TIMESTAMP_NS" | "TIMESTAMP_MS" | "TIMESTAMP_S" | "TIMESTAMP WITH TIME ZONE" => PgType::Timestamp,
        _ => PgType::Text,
    }
}

/// Runs SQL on the session's DuckDB: its column types first (`DESCRIBE`), lists rendered as
/// PostgreSQL array text.
pub(super) fn run_duckdb(db: &DuckDb, sql: &str, max_rows: u64) -> SqlResult<ResultTable> {
    let described = db.query(&format!("DESCRIBE {sql}"), &[]).map_err(duck_error)?;
    let mut columns = Vec::new();
    let mut replace = Vec::new();
    for r in &described.rows {
        let cell = |i: usize| r.get(i).map(Cell::to_text).unwrap_or_default();
        let (name, ty) = (cell(0), cell(1));
        if ty.ends_with(']') || ty.starts_with("STRUCT") || ty.starts_with("MAP") {
            let q = format!("\"{}\"", name.replace('"', "\"\""));
            replace.push(format!("'{{' || array_to_string(CAST({q} AS VARCHAR[]), ',') || '}}' AS {q}"));
            columns.push((name, PgType::Text));
        } else {
            columns.push((name, pg_type_of(&ty)));
        }
    }
    // One row over the maximum tells a result is too big, without reading all of it.
    let capped = if replace.is_empty() {
        format!("SELECT * FROM ({sql}) AS __cubec_q LIMIT {}", max_rows + 1)
    } else {
        format!("SELECT * REPLACE ({}) FROM ({sql}) AS __cubec_q LIMIT {}", replace.join(", "), max_rows + 1)
    };
    let rs = db.query(&capped, &[]).map_err(duck_error)?;
    if rs.rows.len() as u64 > max_rows {
        return Err(SqlError::new(
            "54000",
            format!("the result has more than {max_rows} rows, the configured maximum; add a LIMIT (or filters)"),
        ));
    }
    Ok(ResultTable { columns, rows: rs.rows })
}

/// A DuckDB error as PostgreSQL's SQLSTATE.
fn duck_error(e: crate::exec::ExecError) -> SqlError {
    let m = e.0;
    let code = if m.contains("does not exist") && (m.contains("Table") || m.contains("table")) {
        "42P01"
    } else if m.contains("Referenced column") || m.contains("not found in FROM clause") {
        "42703"
    } else if m.contains("Function") && m.contains("does not exist") {
        "42883"
    } else if m.contains("Parser Error") {
        "42601"
    } else if m.contains("Binder Error") || m.contains("Catalog Error") {
        "42000"
    } else if m.contains("Conversion Error") || m.contains("Out of Range") || m.contains("Invalid Input") {
        "22000"
    } else {
        "XX000"
    };
    let m = m.split_once(": ").map(|(_, rest)| rest.to_string()).unwrap_or(m);
    SqlError::new(code, m)
}

pub(super) fn cte_names(q: &Query) -> HashSet<String> {
    q.with
        .as_ref()
        .map(|w| w.cte_tables.iter().map(|c| c.alias.name.value.to_lowercase()).collect())
        .unwrap_or_default()
}

/// The query as one semantic query: as written, or read top-down through a projection
/// subquery (when that rewrite fails, the query is post-processed as written instead).
pub(super) fn semantic_or_flattened(q: &Query, schema: &Schema) -> SqlResult<Option<SemanticQuery>> {
    if let Some(sq) = semantic::rewrite(q, schema)? {
        return Ok(Some(sq));
    }
    match super::flatten::flatten(q, schema).map(|flat| semantic::rewrite(&flat, schema)) {
        Some(Ok(Some(sq))) => Ok(Some(sq)),
        _ => Ok(None),
    }
}

/// Replaces every subquery in FROM and every CTE that is one semantic query with a table name,
/// collecting the names and queries.
pub(super) fn collect_semantic(
    q: &mut Query,
    schema: &Schema,
    found: &mut Vec<(String, SemanticQuery)>,
) -> SqlResult<()> {
    if let Some(with) = &mut q.with {
        let mut kept = Vec::new();
        for cte in with.cte_tables.drain(..) {
            match semantic_or_flattened(&cte.query, schema)? {
                Some(sq) if cte.alias.columns.is_empty() => found.push((cte.alias.name.value.clone(), sq)),
                _ => {
                    let mut cte = cte;
                    collect_semantic(&mut cte.query, schema, found)?;
                    kept.push(cte);
                }
            }
        }
        with.cte_tables = kept;
        if with.cte_tables.is_empty() {
            q.with = None;
        }
    }
    collect_in_set(&mut q.body, schema, found)
}

fn collect_in_set(body: &mut SetExpr, schema: &Schema, found: &mut Vec<(String, SemanticQuery)>) -> SqlResult<()> {
    match body {
        SetExpr::Select(select) => {
            for twj in &mut select.from {
                collect_in_factor(&mut twj.relation, schema, found)?;
                for j in &mut twj.joins {
                    collect_in_factor(&mut j.relation, schema, found)?;
                }
            }
            Ok(())
        }
        SetExpr::Query(q) => collect_semantic(q, schema, found),
        SetExpr::SetOperation { left, right, .. } => {
            collect_in_set(left, schema, found)?;
            collect_in_set(right, schema, found)
        }
        _ => Ok(()),
    }
}

fn collect_in_factor(f: &mut TableFactor, schema: &Schema, found: &mut Vec<(String, SemanticQuery)>) -> SqlResult<()> {
    if let TableFactor::Derived { subquery, alias, .. } = f {
        match semantic_or_flattened(subquery, schema)? {
            Some(sq) => {
                let name = format!("__cubec_semantic_{}", found.len() + 1);
                let alias = alias.clone().or_else(|| {
                    Some(sqlparser::ast::TableAlias {
                        explicit: true,
                        name: sqlparser::ast::Ident::new(name.clone()),
                        columns: Vec::new(),
                        at: None,
                    })
                });
                found.push((name.clone(), sq));
                *f = TableFactor::Table {
                    name: ObjectName(vec![sqlparser::ast::ObjectNamePart::Identifier(
                        sqlparser::ast::Ident::with_quote('"', name),
                    )]),
                    alias,
                    args: None,
                    with_hints: Vec::new(),
                    version: None,
                    with_ordinality: false,
                    partitions: Vec::new(),
                    json_path: None,
                    sample: None,
                    index_hints: Vec::new(),
                };
            }
            None => collect_semantic(subquery, schema, found)?,
        }
    }
    if let TableFactor::NestedJoin { table_with_joins, .. } = f {
        collect_in_factor(&mut table_with_joins.relation, schema, found)?;
        for j in &mut table_with_joins.joins {
            collect_in_factor(&mut j.relation, schema, found)?;
        }
    }
    Ok(())
}
