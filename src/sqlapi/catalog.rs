//! The embedded catalog: a per-session in-memory DuckDB holding PostgreSQL's `pg_catalog` and
//! `information_schema` tables (`catalog.sql`), plus one row per cube table and column the
//! session's user may see. Introspection queries run here after [`super::pgsql`] has pointed
//! their catalog names at these tables; post-processing runs here too, over semantic results.

use super::schema::{PgType, Schema};
use crate::exec::duckdb::DuckDb;
use crate::exec::ExecError;

/// The first OID of cube tables (Cube's choice too); each table takes three (the table, its row
/// type, the row type's array).
pub const FIRST_TABLE_OID: u32 = 18000;

pub const SERVER_VERSION: &str = "14.2";

/// `version()`: clients parse the number after `PostgreSQL`.
pub fn version_string() -> String {
    format!("PostgreSQL {SERVER_VERSION} on x86_64-pc-linux-gnu, cubec {}", env!("CARGO_PKG_VERSION"))
}

/// Who the catalog is for.
pub struct SessionInfo<'a> {
    pub database: &'a str,
    pub user: &'a str,
    pub pid: i32,
}

/// A SQL string literal.
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn opt_lit(s: Option<&str>) -> String {
    s.map(lit).unwrap_or_else(|| "NULL".into())
}

/// The default session settings (`SHOW`, `pg_settings`, `current_setting`).
pub const DEFAULT_SETTINGS: &[(&str, &str)] = &[
    ("application_name", ""),
    ("client_encoding", "UTF8"),
    ("client_min_messages", "notice"),
    ("datestyle", "ISO, MDY"),
    ("default_transaction_isolation", "read committed"),
    ("default_transaction_read_only", "off"),
    ("extra_float_digits", "1"),
    ("integer_datetimes", "on"),
    ("intervalstyle", "postgres"),
    ("lc_collate", "en_US.utf8"),
    ("lc_ctype", "en_US.utf8"),
    ("max_identifier_length", "63"),
    ("max_index_keys", "32"),
    ("search_path", "\"$user\", public"),
    ("server_encoding", "UTF8"),
    ("server_version", SERVER_VERSION),
    ("server_version_num", "140002"),
    ("standard_conforming_strings", "on"),
    ("statement_timeout", "0"),
    ("timezone", "UTC"),
    ("transaction_isolation", "read committed"),
    ("transaction_read_only", "off"),
    ("block_size", "8192"),
];

/// Opens a session's catalog database.
pub fn open(schema: &Schema, session: &SessionInfo, settings: &[(String, String)]) -> Result<DuckDb, ExecError> {
    let db = DuckDb::open(None)?;
    // One per session: small and single-threaded, so many sessions cannot take the machine.
    db.execute_batch("SET threads = 1; SET memory_limit = '256MB';")?;
    db.execute_batch(include_str!("catalog.sql"))?;
    db.execute_batch(&session_sql(schema, session, settings))?;
    // Gone since PostgreSQL 12, still read by ODBC drivers' column queries: always false.
    db.execute_batch("ALTER TABLE pgc.pg_class ADD COLUMN relhasoids BOOLEAN DEFAULT false;")?;
    // SQL from the network runs here: no files, no extensions, and no way to turn them back on.
    db.execute_batch("SET enable_external_access = false; SET lock_configuration = true;")?;
    Ok(db)
}

/// `current_setting(name)` over the session's settings, as a CASE rather than a lookup in
/// `pg_settings`: DuckDB refuses subqueries inside table functions' arguments, where Grafana
/// calls it (`generate_series(array_lower(string_to_array(current_setting('search_path'), ...`).
/// Re-created by every SET.
pub fn current_setting_macro(settings: &[(String, String)]) -> String {
    let cases: String = settings.iter().map(|(k, v)| format!(" WHEN {} THEN {}", lit(k), lit(v))).collect();
    let body = if cases.is_empty() { "CAST(NULL AS VARCHAR)".to_string() } else { format!("CASE lower(n){cases} END") };
    format!("CREATE OR REPLACE MACRO pgc.current_setting(n) AS {body}, (n, m) AS {body};")
}

fn session_sql(schema: &Schema, s: &SessionInfo, settings: &[(String, String)]) -> String {
    let mut sql = String::new();
    let db = lit(s.database);
    let user = lit(s.user);
    sql.push_str(&format!(
        "CREATE MACRO pgc.version() AS {};\n\
         CREATE MACRO pgc.current_database() AS {db};\n\
         CREATE MACRO pgc.current_schema() AS 'public';\n\
         CREATE MACRO pgc.current_schemas(b) AS CASE WHEN b THEN ['pg_catalog', 'public'] ELSE ['public'] END;\n\
         CREATE MACRO pgc.current_user() AS {user};\n\
         CREATE MACRO pgc.pg_backend_pid() AS {};\n\
         {}\n\
         CREATE MACRO pgc.set_config(n, v, l) AS v;\n\
         INSERT INTO pgc.pg_database VALUES (16384, {db}, 10, 6, 'en_US.utf8', 'en_US.utf8', false, true, -1, 0, 0, \
         1, 1663, NULL);\n\
         INSERT INTO pgc.pg_roles VALUES ({user}, false, true, false, false, true, false, -1, '********', NULL, false, \
         NULL, 10);\n\
         INSERT INTO pgc.pg_user VALUES ({user}, 10, false, false, false, false, '********', NULL, NULL);\n\
         INSERT INTO pgi.schemata VALUES ({db}, 'public', {user}, NULL, NULL, 'UTF8', NULL), \
         ({db}, 'pg_catalog', {user}, NULL, NULL, 'UTF8', NULL), \
         ({db}, 'information_schema', {user}, NULL, NULL, 'UTF8', NULL);\n",
        lit(&version_string()),
        s.pid,
        current_setting_macro(settings)
    ));
    for (name, value) in settings {
        sql.push_str(&format!(
            "INSERT INTO pgc.pg_settings (name, setting, context, vartype, source) VALUES ({}, {}, 'user', 'string', \
             'default');\n",
            lit(name),
            lit(value)
        ));
    }
    let mut oid = FIRST_TABLE_OID;
    let mut rows = Rows::default();
    for t in &schema.tables {
        let (rel, rowtype, arraytype) = (oid, oid + 1, oid + 2);
        oid += 3;
        let name = lit(&t.name);
        rows.class.push(format!(
            "({rel}, {name}, 2200, {rowtype}, 0, 10, 2, {rel}, 0, 0, -1, 0, 0, false, false, 'p', 'r', {}, 0, false, \
             false, false, false, false, true, 'd', false, 0, 0, 1, NULL, NULL, NULL)",
            t.columns.len()
        ));
        rows.types.push(format!(
            "({rowtype}, {name}, 2200, 10, -1, false, 'c', 'C', false, true, ',', {rel}, NULL, 0, {arraytype}, \
             'record_in', 'record_out', 2402, 0, 0, 0, 0, 'd', 'x', false, 0, -1, 0, 0, NULL, NULL, NULL)"
        ));
        rows.types.push(format!(
            "({arraytype}, {}, 2200, 10, -1, false, 'b', 'A', false, true, ',', 0, NULL, {rowtype}, 0, 'array_in', \
             'array_out', 2400, 0, 0, 0, 0, 'd', 'x', false, 0, -1, 0, 0, NULL, NULL, NULL)",
            lit(&format!("_{}", t.name))
        ));
        rows.tables.push(format!("('public', {name}, 'cubec', NULL, false, false, false, false)"));
        rows.info_tables
            .push(format!("({db}, 'public', {name}, 'BASE TABLE', NULL, NULL, NULL, NULL, NULL, 'NO', 'NO', NULL)"));
        if let Some(d) = &t.description {
            rows.descriptions.push(format!("({rel}, 1259, 0, {})", lit(d)));
        }
        for (i, c) in t.columns.iter().enumerate() {
            let n = i + 1;
            let ty = c.pg_type();
            let cname = lit(&c.name);
            let collation = if ty == PgType::Text { 100 } else { 0 };
            rows.attributes.push(format!(
                "({rel}, {cname}, {}, -1, {}, {n}, 0, -1, -1, {}, 'i', 'p', '', {}, false, false, '', '', false, true, \
                 0, {collation}, NULL, NULL, NULL, NULL)",
                ty.oid(),
                ty.typlen(),
                ty.typlen() > 0,
                c.not_null()
            ));
            let (precision, radix, scale, dt_precision, octets) = match ty {
                PgType::Int8 => ("64", "2", "0", "NULL", "NULL"),
                PgType::Int4 => ("32", "2", "0", "NULL", "NULL"),
                PgType::Float8 => ("53", "2", "NULL", "NULL", "NULL"),
                PgType::Numeric => ("NULL", "10", "NULL", "NULL", "NULL"),
                PgType::Timestamp | PgType::Date => ("NULL", "NULL", "NULL", "6", "NULL"),
                PgType::Text => ("NULL", "NULL", "NULL", "NULL", "1073741824"),
                PgType::Bool => ("NULL", "NULL", "NULL", "NULL", "NULL"),
            };
            rows.columns.push(format!(
                "({db}, 'public', {name}, {cname}, {n}, NULL, {}, {}, NULL, {octets}, {precision}, {radix}, {scale}, \
                 {dt_precision}, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, {db}, 'pg_catalog', \
                 {}, NULL, NULL, NULL, NULL, {}, 'NO', 'NO', NULL, NULL, NULL, NULL, NULL, 'NO', 'NEVER', NULL, 'NO')",
                lit(if c.not_null() { "NO" } else { "YES" }),
                lit(ty.sql_name()),
                lit(ty.typname()),
                lit(&n.to_string())
            ));
            if let Some(d) = &c.description {
                rows.descriptions.push(format!("({rel}, 1259, {n}, {})", lit(d)));
            }
        }
    }
    let _ = opt_lit;
    rows.append(&mut sql);
    sql
}

#[derive(Default)]
struct Rows {
    class: Vec<String>,
    types: Vec<String>,
    attributes: Vec<String>,
    descriptions: Vec<String>,
    tables: Vec<String>,
    info_tables: Vec<String>,
    columns: Vec<String>,
}

impl Rows {
    fn append(&self, sql: &mut String) {
        for (table, rows) in [
            ("pgc.pg_class", &self.class),
            ("pgc.pg_type", &self.types),
            ("pgc.pg_attribute", &self.attributes),
            ("pgc.pg_description", &self.descriptions),
            ("pgc.pg_tables", &self.tables),
            ("pgi.tables", &self.info_tables),
            ("pgi.columns", &self.columns),
        ] {
            for chunk in rows.chunks(500) {
                sql.push_str(&format!("INSERT INTO {table} VALUES {};\n", chunk.join(",\n")));
            }
        }
    }
}

/// The tables the catalog has, by schema: what a query may name.
pub fn catalog_tables(db: &DuckDb) -> Result<Vec<(String, String)>, ExecError> {
    let rs =
        db.query("SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('pgc', 'pgi')", &[])?;
    Ok(rs.rows.iter().map(|r| (r[0].to_text(), r[1].to_text())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The session database reads no files even when a query reaches it directly, and its
    /// configuration cannot be changed back.
    #[test]
    fn the_session_database_has_no_file_access() {
        let info = SessionInfo { database: "db", user: "u", pid: 1 };
        let db = open(&Schema::default(), &info, &[]).expect("the catalog opens");
        assert!(db.query("SELECT * FROM read_csv('/etc/passwd')", &[]).is_err());
        assert!(db.execute_batch("SET enable_external_access = true").is_err());
        let rs = db.query("SELECT typname FROM pgc.pg_type WHERE oid = 1700", &[]).expect("catalog rows");
        assert_eq!(rs.rows.first().map(|r| r[0].to_text()), Some("numeric".to_string()));
    }
}
