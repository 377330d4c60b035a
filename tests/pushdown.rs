//! The SQL API's pushdown on every engine: each statement of `tests/pushdown/cases.sql` runs
//! through the SQL API on DuckDB, PostgreSQL, MySQL (MariaDB), ClickHouse (chDB), Databricks
//! (Spark) and both emulators over the rows of `rows.yml`, and
//! its rows must equal its `-- source:` SQL (the same question over the tables) run directly on
//! PostgreSQL (on DuckDB when no PostgreSQL is configured). The SQL each engine receives is an
//! insta snapshot per dialect, so every change to it is reviewed.

use cubec::exec::{fixtures, Cell, Database};
use cubec::server::{AppState, Limits, ServeConfig};
use cubec::sqlapi::engine::{parse, Engine, Outcome, Session};
use cubec::sqlapi::users::Users;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Case {
    name: String,
    keys: Vec<(String, String)>,
    sql: String,
}

impl Case {
    fn get(&self, key: &str) -> Option<&str> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

fn read_cases() -> Vec<Case> {
    let text = std::fs::read_to_string("tests/pushdown/cases.sql").expect("cases");
    text.split("\n--\n")
        .map(|block| {
            let mut keys = Vec::new();
            let mut sql = Vec::new();
            for line in block.lines() {
                match line.strip_prefix("-- ").and_then(|l| l.split_once(": ")) {
                    Some((k, v)) => keys.push((k.to_string(), v.to_string())),
                    None if line.starts_with("--") => {}
                    None => sql.push(line),
                }
            }
            let name = keys.iter().find(|(k, _)| k == "name").map(|(_, v)| v.clone()).expect("a case name");
            Case { name, keys, sql: sql.join("\n") }
        })
        .collect()
}

fn url(var: &str) -> Option<String> {
    let url = std::env::var(var).ok().filter(|u| !u.is_empty());
    if url.is_none() {
        assert!(std::env::var("CI").map(|v| v.is_empty()).unwrap_or(true), "CI is set but {var} is not");
        eprintln!("{var} is not set: skipped");
    }
    url
}

fn with_path(base: &str, segment: &str) -> String {
    let (main, query) = base.split_once('?').unwrap_or((base, ""));
    let query = if query.is_empty() { String::new() } else { format!("?{query}") };
    format!("{}/{segment}{query}", main.trim_end_matches('/'))
}

/// Loads the rows into the database at `url` and opens the server state over it.
fn state(url: &str) -> Arc<AppState> {
    let text = std::fs::read_to_string("tests/pushdown/rows.yml").expect("rows");
    let rows: Value = cubec::load::yaml::parse(&text, cubec::diag::FileId(0)).expect("valid YAML").to_json();
    {
        let mut db = Database::open(Some(url), Path::new(".")).expect("the database opens");
        fixtures::load(&mut db, &rows).expect("the rows load");
    }
    let config = ServeConfig {
        model_dir: PathBuf::from("tests/pushdown/model"),
        db_url: Some(url.to_string()),
        dialects_dir: None,
        secret: Some("pushdown-test-secret".into()),
        dev: false,
        limits: Limits::default(),
        watch: None,
        context_to_groups: "groups".into(),
        cors_origins: Vec::new(),
        shutdown_timeout: std::time::Duration::from_secs(5),
        rollups: Default::default(),
        api_scopes: cubec::server::default_api_scopes(),
    };
    Arc::new(AppState::open(&config).expect("the server state opens"))
}

/// A value as text for comparison: numbers compared by value, times at second precision.
fn norm(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Timestamp(t) => Value::String(t.format("%Y-%m-%d %H:%M:%S").to_string()),
        Cell::Int(i) => Value::String(format!("{:.9}", *i as f64)),
        Cell::Float(f) => Value::String(format!("{f:.9}")),
        Cell::Decimal(d) => Value::String(d.parse::<f64>().map(|f| format!("{f:.9}")).unwrap_or(d.clone())),
        other => Value::String(other.to_text()),
    }
}

fn rows_of(rows: &[Vec<Cell>], ordered: bool) -> Vec<Vec<Value>> {
    let mut out: Vec<Vec<Value>> = rows.iter().map(|r| r.iter().map(norm).collect()).collect();
    if !ordered {
        out.sort_by_key(|r| r.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("\u{1}"));
    }
    out
}

async fn source_rows(state: &Arc<AppState>, sql: &str) -> Vec<Vec<Cell>> {
    let compiled = cubec::sql::CompiledSql {
        sql: sql.to_string(),
        params: Vec::new(),
        alias_to_member: Default::default(),
        warnings: Vec::new(),
        total: None,
        refresh_keys: Vec::new(),
        runs_on: Default::default(),
    };
    let (rows, _) = state
        .pool
        .run(Arc::new(compiled), std::time::Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("the source SQL fails: {e:?}\n{sql}"));
    rows.rows
}

/// Runs every case on `url`'s engine against the reference rows.
fn run(engine_name: &str, url: &str, reference: &mut Option<Vec<Vec<Vec<Value>>>>) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let state = state(url);
    let engine = Engine { state: Arc::clone(&state), users: Users { users: Vec::new(), anyone: true } };
    let cases = read_cases();
    assert!(cases.len() >= 25, "{} cases", cases.len());
    if reference.is_none() {
        let mut expected = Vec::new();
        for case in &cases {
            let rows = match case.get("source") {
                Some(sql) => rows_of(&runtime.block_on(source_rows(&state, sql)), case.get("ordered").is_some()),
                None => Vec::new(),
            };
            expected.push(rows);
        }
        *reference = Some(expected);
    }
    let expected = reference.as_ref().expect("reference rows");
    let mut failures = Vec::new();
    for (case, want) in cases.iter().zip(expected) {
        // `-- not_on: ENGINE why` (repeatable): a statement that engine's SQL cannot express.
        if case.keys.iter().any(|(k, v)| k == "not_on" && v.split_whitespace().next() == Some(engine_name)) {
            continue;
        }
        let mut session = Session::new("tester", "db", serde_json::json!({}), false, 1);
        let outcome = parse(&case.sql).and_then(|mut stmts| {
            let stmt = stmts.pop().ok_or_else(|| cubec::sqlapi::error::SqlError::syntax("empty"))?;
            runtime.block_on(engine.execute(&mut session, stmt))
        });
        if let Some(code) = case.get("error") {
            match outcome {
                Err(e) if e.code == code && case.get("message").is_none_or(|m| e.message.contains(m)) => {}
                other => failures.push(format!("{}: expected {code}, got {other:?}", case.name)),
            }
            continue;
        }
        let table = match outcome {
            Ok(Outcome::Rows(t)) => t,
            other => {
                failures.push(format!("{}: {other:?}", case.name));
                continue;
            }
        };
        if let Some(sql) = &session.last_pushdown {
            insta::with_settings!({ snapshot_path => "pushdown/snapshots", prepend_module_to_snapshot => false, omit_expression => true, description => case.sql.clone() }, {
                insta::assert_snapshot!(format!("{engine_name}__{}", case.name), sql);
            });
        }
        let got = rows_of(&table.rows, case.get("ordered").is_some());
        if want.is_empty() {
            failures.push(format!("{}: the source returned no rows: the case proves nothing", case.name));
        } else if &got != want {
            failures.push(format!("{}: rows differ\n  sql:    {got:?}\n  source: {want:?}", case.name));
        }
    }
    assert!(failures.is_empty(), "{} failure(s) on {engine_name}:\n{}", failures.len(), failures.join("\n"));
}

/// The reference rows: PostgreSQL's when configured, else DuckDB's.
#[test]
fn pushdown_cases_on_every_engine() {
    let mut reference = None;
    if let Some(pg) = url("CUBEC_TEST_POSTGRES_URL") {
        run("postgres", &pg, &mut reference);
    }
    let file = std::env::temp_dir().join(format!("cubec-pushdown-{}.duckdb", std::process::id()));
    let _ = std::fs::remove_file(&file);
    run("duckdb", &format!("duckdb:{}", file.display()), &mut reference);
    let _ = std::fs::remove_file(&file);
    if let Some(sf) = url("CUBEC_TEST_SNOWFLAKE_URL") {
        run("snowflake", &with_path(&sf, "cubec_pushdown"), &mut reference);
    }
    if let Some(my) = url("CUBEC_TEST_MYSQL_URL") {
        let mut admin = Database::open(Some(&my), Path::new(".")).expect("MySQL");
        admin.execute_batch("CREATE DATABASE IF NOT EXISTS `cubec_pushdown`").expect("a database");
        let (main, query) = my.split_once('?').unwrap_or((&my, ""));
        let server = main.rsplit_once('/').map(|(s, _)| s).unwrap_or(main);
        run("mysql", &format!("{server}/cubec_pushdown?{query}"), &mut reference);
    }
    if let Some(ch) = url("CUBEC_TEST_CLICKHOUSE_URL") {
        let mut admin = Database::open(Some(&ch), Path::new(".")).expect("ClickHouse");
        admin.execute_batch("CREATE DATABASE IF NOT EXISTS `cubec_pushdown`").expect("a database");
        let (main, query) = ch.split_once('?').unwrap_or((&ch, ""));
        let server = main.rsplit_once('/').map(|(s, _)| s).unwrap_or(main);
        let query = if query.is_empty() { String::new() } else { format!("?{query}") };
        run("clickhouse", &format!("{server}/cubec_pushdown{query}"), &mut reference);
    }
    if let Some(dbx) = url("CUBEC_TEST_DATABRICKS_URL") {
        let mut admin = Database::open(Some(&dbx), Path::new(".")).expect("Databricks");
        admin.execute_batch("CREATE SCHEMA IF NOT EXISTS `cubec_pushdown`").expect("a schema");
        let sep = if dbx.contains('?') { "&" } else { "?" };
        run("databricks", &format!("{dbx}{sep}schema=cubec_pushdown"), &mut reference);
    }
    if let Some(bq) = url("CUBEC_TEST_BIGQUERY_URL") {
        let mut admin = Database::open(Some(&bq), Path::new(".")).expect("BigQuery emulator");
        admin.execute_batch("CREATE SCHEMA IF NOT EXISTS `cubec_pushdown`").expect("a dataset");
        let (main, query) = bq.split_once('?').unwrap_or((&bq, ""));
        run("bigquery", &format!("{}/cubec_pushdown?{query}", main.trim_end_matches('/')), &mut reference);
    }
}
