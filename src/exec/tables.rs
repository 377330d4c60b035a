//! Writing a table into an engine (test fixtures, `cubec load-data`): the table as data, and
//! each engine's DDL for it. Column types are written in a portable vocabulary (`integer`,
//! `text`, `numeric(10,2)`, `timestamp`, ...) and mapped to each engine's own types here.
//!
//! (MySQL's, ClickHouse's and Spark's words are [`TypeWords`] in their engine modules.)
//!
//! | portable | DuckDB / PostgreSQL | Snowflake | BigQuery |
//! |---|---|---|---|
//! | integer, bigint, smallint | as written | NUMBER(38,0) | INT64 |
//! | text, varchar(n) | as written | VARCHAR | STRING |
//! | numeric(p,s), decimal(p,s) | as written | NUMBER(p,s) | NUMERIC, or BIGNUMERIC past its range |
//! | numeric (bare) | as written | NUMBER(38,12) | BIGNUMERIC |
//! | boolean | as written | BOOLEAN | BOOL |
//! | timestamp / timestamptz | as written | TIMESTAMP_NTZ / TIMESTAMP_TZ | TIMESTAMP |
//! | date | as written | DATE | DATE |
//! | real, double precision | as written | FLOAT | FLOAT64 |

use super::Cell;

/// A table to create and fill.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// `name` or `schema.name`.
    pub name: String,
    /// Column names and portable types.
    pub columns: Vec<(String, String)>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn schema_and_name(&self) -> (Option<&str>, &str) {
        match self.name.split_once('.') {
            Some((s, n)) => (Some(s), n),
            None => (None, &self.name),
        }
    }
}

/// The type's base word (lower case) and its numeric arguments.
pub fn parse_type(t: &str) -> (String, Vec<u32>) {
    let base = t.split('(').next().unwrap_or("").trim().to_ascii_lowercase();
    let args = match (t.find('('), t.rfind(')')) {
        (Some(a), Some(b)) if b > a => t[a + 1..b].split(',').filter_map(|x| x.trim().parse().ok()).collect(),
        _ => Vec::new(),
    };
    (base, args)
}

/// One engine's words for the portable types (see the table above), for its CREATE TABLE.
pub struct TypeWords {
    pub text: &'static str,
    /// `varchar(n)` keeps its length (else it is `text`).
    pub varchar: bool,
    pub timestamp: &'static str,
    /// The decimal type's name, and its precision and scale when the type gives none.
    pub decimal: &'static str,
    pub bare_decimal: &'static str,
    pub double: &'static str,
    pub real: &'static str,
    pub integer: &'static str,
    pub bigint: &'static str,
    pub smallint: &'static str,
    pub boolean: &'static str,
    pub date: &'static str,
}

/// A portable column type in an engine's words; a type outside the vocabulary is kept as written.
pub fn engine_type(t: &str, w: &TypeWords) -> String {
    let (base, args) = parse_type(t);
    let list = |args: &[u32]| args.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    match base.as_str() {
        "varchar" | "character varying" if w.varchar && !args.is_empty() => format!("VARCHAR({})", args[0]),
        "text" | "varchar" | "string" | "character varying" | "char" | "character" => w.text.to_string(),
        "timestamp" | "timestamptz" | "timestamp with time zone" | "timestamp without time zone" | "datetime" => {
            w.timestamp.to_string()
        }
        "numeric" | "decimal" if args.is_empty() => format!("{}({})", w.decimal, w.bare_decimal),
        "numeric" | "decimal" => format!("{}({})", w.decimal, list(&args)),
        "double precision" | "double" | "float8" | "float" => w.double.to_string(),
        "real" | "float4" => w.real.to_string(),
        "integer" | "int" | "int4" => w.integer.to_string(),
        "bigint" | "int8" => w.bigint.to_string(),
        "smallint" | "int2" => w.smallint.to_string(),
        "boolean" | "bool" => w.boolean.to_string(),
        "date" => w.date.to_string(),
        _ => t.to_string(),
    }
}

/// Rows per INSERT statement.
pub const BATCH: usize = 1000;

/// Quoting and literals of one engine's SQL, for the INSERT statements.
pub struct Literals {
    pub quote: fn(&str) -> String,
    pub text: fn(&str) -> String,
    pub float: fn(f64) -> String,
    pub timestamp: fn(&str) -> String,
}

pub fn literal(c: &Cell, l: &Literals) -> String {
    match c {
        Cell::Null => "NULL".into(),
        Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        Cell::Int(i) => i.to_string(),
        Cell::Float(f) => (l.float)(*f),
        Cell::Decimal(d) => d.clone(),
        Cell::Text(s) => (l.text)(s),
        Cell::Timestamp(t) => (l.timestamp)(&t.format("%Y-%m-%d %H:%M:%S%.f").to_string()),
    }
}

/// `INSERT INTO target VALUES (...), ...` in batches of [`BATCH`] rows.
pub fn inserts(target: &str, rows: &[Vec<Cell>], l: &Literals) -> Vec<String> {
    rows.chunks(BATCH)
        .map(|chunk| {
            let values: Vec<String> = chunk
                .iter()
                .map(|r| format!("({})", r.iter().map(|c| literal(c, l)).collect::<Vec<_>>().join(", ")))
                .collect();
            format!("INSERT INTO {target} VALUES {}", values.join(",\n"))
        })
        .collect()
}

/// DuckDB's and PostgreSQL's: double quotes, `''` in strings.
pub const STANDARD: Literals = Literals {
    quote: |s| format!("\"{}\"", s.replace('"', "\"\"")),
    text: |s| format!("'{}'", s.replace('\'', "''")),
    float: |f| if f.is_finite() { format!("{f:?}") } else { format!("'{f}'") },
    timestamp: |t| format!("'{t}'"),
};

/// The statements that replace `t` in DuckDB or PostgreSQL, in one transaction (a failure
/// leaves the old table), or that create it as a temporary table (PostgreSQL: it shadows a
/// real table of the same name for this session only).
pub fn standard_sql(t: &Table, temporary: bool) -> String {
    let q = STANDARD.quote;
    let (schema, name) = t.schema_and_name();
    let qualified = match schema {
        Some(s) => format!("{}.{}", q(s), q(name)),
        None => q(name),
    };
    let defs: Vec<String> = t.columns.iter().map(|(c, ty)| format!("{} {ty}", q(c))).collect();
    let mut sql = String::new();
    if temporary {
        sql.push_str(&format!(
            "DROP TABLE IF EXISTS pg_temp.{};\nCREATE TEMP TABLE {} ({});\n",
            q(name),
            q(name),
            defs.join(", ")
        ));
    } else {
        sql.push_str("BEGIN;\n");
        if let Some(s) = schema {
            sql.push_str(&format!("CREATE SCHEMA IF NOT EXISTS {};\n", q(s)));
        }
        sql.push_str(&format!("DROP TABLE IF EXISTS {qualified};\nCREATE TABLE {qualified} ({});\n", defs.join(", ")));
    }
    let target = if temporary { q(name) } else { qualified };
    for insert in inserts(&target, &t.rows, &STANDARD) {
        sql.push_str(&insert);
        sql.push_str(";\n");
    }
    if !temporary {
        sql.push_str("COMMIT;\n");
    }
    sql
}

/// Replaces `target` with a table of `defs` filled by `inserts` (into `staging`), built under `staging` first so that
/// readers see the old table or the complete new one, never a half-filled one (the warehouses
/// have no transactional DDL). The staging table is dropped also when an insert fails.
pub fn replace_through_staging(
    execute: &mut dyn FnMut(&str) -> Result<(), super::ExecError>,
    target: &str,
    staging: &str,
    defs: &[String],
    inserts: &[String],
) -> Result<(), super::ExecError> {
    execute(&format!("CREATE OR REPLACE TABLE {staging} ({})", defs.join(", ")))?;
    let filled = inserts.iter().try_for_each(|i| execute(i));
    if let Err(e) = filled {
        let _ = execute(&format!("DROP TABLE IF EXISTS {staging}"));
        return Err(e);
    }
    execute(&format!("CREATE OR REPLACE TABLE {target} AS SELECT * FROM {staging}"))?;
    execute(&format!("DROP TABLE IF EXISTS {staging}"))
}
