//! Execution: every query case runs on the embedded DuckDB against its model's fixture rows; a
//! case's `expect` rows must match; and with `CUBEC_TEST_POSTGRES_URL` set, every case also runs
//! on PostgreSQL and must return the same rows as DuckDB. With `CUBEC_TEST_SNOWFLAKE_URL` and
//! `CUBEC_TEST_BIGQUERY_URL` (the emulators `.ci/run` starts), every case also runs through the
//! Snowflake and BigQuery clients and must return DuckDB's rows. In CI (`CI` set) a missing
//! database is a failure, not a skip.
#![cfg(feature = "engine")]

use cubec::exec::{fixtures, shape, Database};
use cubec::query::QueryOptions;
use cubec::sql::{Dialects, RenderOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    cubec::load::yaml::parse(&text, cubec::diag::FileId(0)).expect("valid YAML").to_json()
}

fn cases() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from("tests/cases")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

use cubec::testing::norm;

fn norm_rows(rows: &[shape::CubeRow]) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> =
        rows.iter().map(|r| r.iter().map(|(k, v)| (k.clone(), norm(v))).collect()).collect();
    out.sort();
    out
}

/// A case's rows: `expect`, or `expect_by_dialect.<dialect>` where Cube answers otherwise there.
fn expected(case: &Value, dialect: &str) -> Option<Vec<Vec<(String, String)>>> {
    let rows = case.get("expect_by_dialect").and_then(|m| m.get(dialect)).or_else(|| case.get("expect"))?.as_array()?;
    let mut out: Vec<Vec<(String, String)>> = rows
        .iter()
        .map(|r| r.as_object().expect("expected rows are mappings").iter().map(|(k, v)| (k.clone(), norm(v))).collect())
        .collect();
    for r in &mut out {
        r.sort();
    }
    out.sort();
    Some(out)
}

fn run_all(db_for: &mut dyn FnMut(&str) -> Database, dialect_name: &str) -> Vec<(PathBuf, Vec<shape::CubeRow>)> {
    run_cases(db_for, dialect_name, &[])
}

fn run_cases(
    db_for: &mut dyn FnMut(&str) -> Database,
    dialect_name: &str,
    skip: &[(&str, &str)],
) -> Vec<(PathBuf, Vec<shape::CubeRow>)> {
    let dialects = Dialects::builtin();
    let dialect = dialects.get(dialect_name).unwrap();
    let mut results = Vec::new();
    let mut checked: std::collections::HashMap<String, cubec::Checked> = Default::default();
    let mut dbs: std::collections::HashMap<String, Database> = Default::default();
    let mut with_expect = 0;
    let mut failures = Vec::new();
    for path in cases() {
        let case = yaml(&path);
        if case["expect_error"].as_bool().unwrap_or(false) {
            continue;
        }
        if skip.iter().any(|(p, _)| path.ends_with(p)) {
            continue;
        }
        let model = case["model"].as_str().unwrap().to_string();
        let fixtures_path = Path::new("tests/fixtures/rows").join(format!("{model}.yml"));
        if !fixtures_path.exists() {
            continue;
        }
        let c =
            checked.entry(model.clone()).or_insert_with(|| cubec::check_model(&Path::new("tests/models").join(&model)));
        let db = dbs.entry(model.clone()).or_insert_with(|| {
            let mut db = db_for(&model);
            fixtures::load(&mut db, &yaml(&fixtures_path))
                .unwrap_or_else(|e| panic!("fixtures of {model} on {dialect_name}: {e}"));
            db
        });
        let opts = QueryOptions {
            now: case["now"].as_str().unwrap_or("2024-03-13T15:30:00Z").parse().unwrap(),
            security_context: case.get("security_context").cloned().unwrap_or(serde_json::json!({})),
            ..QueryOptions::default()
        };
        let compiled = cubec::compile(&c.model, &case["query"], &dialect, &opts, RenderOptions::default())
            .unwrap_or_else(|e| panic!("{}: {:?}", path.display(), e.iter().map(|d| &d.message).collect::<Vec<_>>()));
        let result = match db.run(&compiled) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{} on {dialect_name}: {e}\n{}", path.display(), compiled.sql));
                continue;
            }
        };
        let rows = shape::cube_rows(&result, &compiled);
        if let Some(total) = &compiled.total {
            if let Err(e) = db.run_sql(&total.sql, &total.params) {
                failures.push(format!("{} total on {dialect_name}: {e}", path.display()));
            }
        }
        if let Some(want) = expected(&case, dialect_name) {
            with_expect += 1;
            let mut got = norm_rows(&rows);
            for r in &mut got {
                r.sort();
            }
            got.sort();
            if got != want {
                failures.push(format!(
                    "{} on {dialect_name}: rows differ\nSQL:\n{}\nparams: {:?}\n want: {want:?}\n  got: {got:?}",
                    path.display(),
                    compiled.sql,
                    compiled.params
                ));
            }
        }
        results.push((path, rows));
    }
    assert!(failures.is_empty(), "{} case(s) failed on {dialect_name}:\n\n{}", failures.len(), failures.join("\n\n"));
    assert!(with_expect >= 40, "at least 40 cases carry expected rows, found {with_expect}");
    eprintln!("{dialect_name}: {} cases ran, {with_expect} with expected rows, {} skipped", results.len(), skip.len());
    results
}

#[test]
fn cases_run_on_duckdb_and_postgres() {
    let duck =
        run_all(&mut |_| Database::open(Some("duckdb::memory:"), Path::new(".")).expect("embedded DuckDB"), "duckdb");
    assert!(duck.len() >= 80, "ran {} cases", duck.len());
    let url = std::env::var("CUBEC_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty());
    let Some(url) = url else {
        assert!(
            std::env::var("CI").map(|v| v.is_empty()).unwrap_or(true),
            "CI is set but CUBEC_TEST_POSTGRES_URL is not: PostgreSQL must run in CI"
        );
        eprintln!(
            "CUBEC_TEST_POSTGRES_URL is not set: PostgreSQL execution skipped (set it to run the cases there too)"
        );
        return;
    };
    let pg = run_all(&mut |model| schema_per_model(&url, model), "postgres");
    assert_eq!(duck.len(), pg.len());
    for ((path, d), (_, p)) in duck.iter().zip(&pg) {
        assert_eq!(norm_rows(d), norm_rows(p), "{}: DuckDB and PostgreSQL disagree", path.display());
    }
}

/// A connection to `url` (PostgreSQL's protocol) whose search path is a fresh schema for `model`.
fn schema_per_model(url: &str, model: &str) -> Database {
    let mut db =
        Database::open(Some(url), Path::new(".")).unwrap_or_else(|e| panic!("{}: {e}", cubec::exec::url::redact(url)));
    let schema = format!("cubec_test_{model}");
    db.execute_batch(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema};"
    ))
    .unwrap();
    db
}

/// The URL in `var`, or None (a failure in CI, where `.ci/run` starts the emulators).
fn emulator_url(var: &str) -> Option<String> {
    let url = std::env::var(var).ok().filter(|u| !u.is_empty());
    if url.is_none() {
        assert!(
            std::env::var("CI").map(|v| v.is_empty()).unwrap_or(true),
            "CI is set but {var} is not: the warehouse emulators must run in CI"
        );
        eprintln!("{var} is not set: skipped (scripts/emulators.py starts an emulator)");
    }
    url
}

/// `base` with a path segment added before its query.
fn with_path(base: &str, segment: &str) -> String {
    let (main, query) = base.split_once('?').unwrap_or((base, ""));
    format!(
        "{}/{segment}{}",
        main.trim_end_matches('/'),
        if query.is_empty() { String::new() } else { format!("?{query}") }
    )
}

/// Cases an emulator cannot run, and why (the SQL is right for the real warehouse).
const SNOWFLAKE_SKIPS: &[(&str, &str)] = &[];
/// bqemulator runs LIKE on DuckDB without BigQuery's backslash escape: `'a%b' LIKE 'a\\%b'` is
/// true on BigQuery and false on the emulator. These three cases escape `%` and `_`; their SQL
/// is checked under sqlglot's translation (scripts/warehouse_check.py), which keeps the escape.
const BIGQUERY_SKIPS: &[(&str, &str)] = &[
    ("filters/contains_wildcards.yml", "LIKE backslash escapes"),
    ("filters/quotes_and_wildcards_contains.yml", "LIKE backslash escapes"),
    ("filters/underscore_is_literal.yml", "LIKE backslash escapes"),
];

/// Whether a case states rows of its own for `dialect` (Cube answers otherwise there).
fn has_own_rows(path: &Path, dialect: &str) -> bool {
    yaml(path).get("expect_by_dialect").and_then(|m| m.get(dialect)).is_some()
}

/// Every case on one engine (a connection per model from `db_for`): its rows must be the
/// expected ones (run_cases) and DuckDB's.
fn run_and_compare(name: &str, dialect: &str, skip: &[(&str, &str)], mut db_for: impl FnMut(&str) -> Database) {
    let rows = run_cases(&mut db_for, dialect, skip);
    assert!(rows.len() >= 80, "ran {} cases on {name}", rows.len());
    compare_with_duckdb(name, dialect, &rows, skip);
}

fn compare_with_duckdb(name: &str, dialect: &str, rows: &[(PathBuf, Vec<shape::CubeRow>)], skip: &[(&str, &str)]) {
    let duck = run_cases(
        &mut |_| Database::open(Some("duckdb::memory:"), Path::new(".")).expect("embedded DuckDB"),
        "duckdb",
        skip,
    );
    assert_eq!(duck.len(), rows.len());
    for ((path, d), (_, w)) in duck.iter().zip(rows) {
        if has_own_rows(path, dialect) {
            continue; // checked against its own rows in run_cases
        }
        assert_eq!(norm_rows(d), norm_rows(w), "{}: DuckDB and {name} disagree", path.display());
    }
}

/// Every case through the Snowflake client against fakesnow's server, one schema per model
/// (the emulator creates databases and schemas on login).
#[test]
fn cases_run_on_the_snowflake_emulator() {
    let Some(url) = emulator_url("CUBEC_TEST_SNOWFLAKE_URL") else { return };
    run_and_compare("Snowflake", "snowflake", SNOWFLAKE_SKIPS, |model| {
        Database::open(Some(&with_path(&url, &format!("cubec_{model}"))), Path::new("."))
            .unwrap_or_else(|e| panic!("Snowflake emulator for {model}: {e}"))
    });
}

/// Every case through the BigQuery client against bqemulator, one dataset per model.
#[test]
fn cases_run_on_the_bigquery_emulator() {
    let Some(url) = emulator_url("CUBEC_TEST_BIGQUERY_URL") else { return };
    run_and_compare("BigQuery", "bigquery", BIGQUERY_SKIPS, |model| {
        let mut admin = Database::open(Some(&url), Path::new(".")).expect("BigQuery emulator");
        admin.execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS `cubec_{model}`")).expect("a dataset per model");
        let (main, query) = url.split_once('?').unwrap_or((&url, ""));
        let project = main.trim_end_matches('/');
        Database::open(Some(&format!("{project}/cubec_{model}?{query}")), Path::new("."))
            .unwrap_or_else(|e| panic!("BigQuery emulator for {model}: {e}"))
    });
}

/// A result larger than a page comes back whole: BigQuery pages of 50,000 rows (pageToken),
/// Snowflake's rowset (the emulator sends one Arrow stream; chunk decoding has unit tests).
#[test]
fn large_results_come_back_whole() {
    if let Some(url) = emulator_url("CUBEC_TEST_BIGQUERY_URL") {
        let mut db = Database::open(Some(&url), Path::new(".")).expect("BigQuery emulator");
        let r =
            db.run_sql("SELECT x, CAST(x AS STRING) AS s FROM UNNEST(GENERATE_ARRAY(1, 120000)) AS x", &[]).unwrap();
        assert_eq!(r.rows.len(), 120_000);
        let mut xs: Vec<i64> = r.rows.iter().map(|row| row[0].to_text().parse().unwrap()).collect();
        xs.sort();
        assert_eq!((xs[0], xs[119_999]), (1, 120_000));
        assert!(xs.windows(2).all(|w| w[0] + 1 == w[1]), "no row lost or repeated across pages");
    }
    if let Some(url) = emulator_url("CUBEC_TEST_SNOWFLAKE_URL") {
        let mut db = Database::open(Some(&with_path(&url, "cubec_large")), Path::new(".")).expect("Snowflake emulator");
        let r = db
            .run_sql("SELECT seq4() AS x, uniform(1, 10, random()) AS y FROM TABLE(GENERATOR(ROWCOUNT => 120000))", &[])
            .unwrap();
        assert_eq!(r.rows.len(), 120_000);
    }
}

/// Cases MariaDB cannot run as Cube would on MySQL, and why.
const MYSQL_SKIPS: &[(&str, &str)] = &[];

/// `url` with its database (the path) replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (main, query) = url.split_once('?').unwrap_or((url, ""));
    let (scheme, rest) = main.split_once("://").expect("a URL");
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}/{database}{}", if query.is_empty() { String::new() } else { format!("?{query}") })
}

/// Every case through the MySQL client on MariaDB (`.ci/run` starts one), a database per model;
/// rows must equal the case's and DuckDB's.
#[test]
fn cases_run_on_mysql() {
    let Some(url) = emulator_url("CUBEC_TEST_MYSQL_URL") else { return };
    run_and_compare("MySQL", "mysql", MYSQL_SKIPS, |model| {
        let mut admin = Database::open(Some(&url), Path::new(".")).expect("MySQL from CUBEC_TEST_MYSQL_URL");
        admin
            .execute_batch(&format!("DROP DATABASE IF EXISTS `cubec_{model}`; CREATE DATABASE `cubec_{model}`"))
            .expect("a database per model");
        Database::open(Some(&with_database(&url, &format!("cubec_{model}"))), Path::new("."))
            .unwrap_or_else(|e| panic!("MySQL for {model}: {e}"))
    });
}

/// What ClickHouse (chDB's engine behind scripts/clickhouse_server.py) cannot run as the cases
/// expect, and why.
const CLICKHOUSE_SKIPS: &[(&str, &str)] = &[];

/// Every case through the ClickHouse client (HTTP) on chDB's engine behind the test front
/// (`.ci/run` starts it), a database per model; rows must equal the case's and DuckDB's.
#[test]
fn cases_run_on_clickhouse() {
    let Some(url) = emulator_url("CUBEC_TEST_CLICKHOUSE_URL") else { return };
    run_and_compare("ClickHouse", "clickhouse", CLICKHOUSE_SKIPS, |model| {
        let mut admin = Database::open(Some(&url), Path::new(".")).expect("ClickHouse from CUBEC_TEST_CLICKHOUSE_URL");
        admin.execute_batch(&format!("DROP DATABASE IF EXISTS `cubec_{model}`")).expect("drop the model's database");
        admin.execute_batch(&format!("CREATE DATABASE `cubec_{model}`")).expect("a database per model");
        Database::open(Some(&with_database(&url, &format!("cubec_{model}"))), Path::new("."))
            .unwrap_or_else(|e| panic!("ClickHouse for {model}: {e}"))
    });
}

/// A ClickHouse query past its time is stopped on the server by the canceller (`KILL QUERY` by
/// its query_id) and the connection stays usable; parameters travel escaped and come back whole.
#[test]
fn clickhouse_cancels_a_running_query() {
    let Some(url) = emulator_url("CUBEC_TEST_CLICKHOUSE_URL") else { return };
    let mut db = Database::open(Some(&url), Path::new(".")).expect("ClickHouse");
    let canceller = db.canceller();
    let started = std::time::Instant::now();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(500));
        canceller.cancel()
    });
    let slow = "SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) % 7 = {p1:String}";
    let err = db.run_sql(slow, &["3".to_string()]).expect_err("the query was stopped");
    stopper.join().unwrap().expect("KILL QUERY was sent");
    assert!(err.0.contains("cancelled"), "{err}");
    assert!(!err.is_unavailable(), "a cancelled query is not the database being away: {err}");
    assert!(started.elapsed().as_secs() < 10, "the query stopped at the cancel");
    let value = "a\\b\tc'd\n%_\u{e9}";
    let r = db
        .run_sql("SELECT {p1:String} AS v, lengthUTF8({p1:String}) AS n", &[value.to_string()])
        .expect("still usable");
    assert_eq!(r.rows[0][0].to_text(), value);
    assert_eq!(r.rows[0][1].to_text(), value.chars().count().to_string());
    let e = db.run_sql("SELECT * FROM no_such_table", &[]).expect_err("an unknown table");
    assert!(!e.is_unavailable() && e.0.contains("no_such_table"), "{e}");
}

/// `url` with its query parameter `key` set to `value`.
fn with_param(url: &str, key: &str, value: &str) -> String {
    format!("{url}{}{key}={value}", if url.contains('?') { "&" } else { "?" })
}

/// Every case through the Databricks client (the SQL Statement Execution API, parameters bound
/// by the engine) on Spark behind scripts/databricks_server.py, a schema per model; rows must
/// equal the case's and DuckDB's.
#[test]
fn cases_run_on_databricks() {
    let Some(url) = emulator_url("CUBEC_TEST_DATABRICKS_URL") else { return };
    run_and_compare("Databricks", "databricks", &[], |model| {
        let mut admin = Database::open(Some(&url), Path::new(".")).expect("Databricks from CUBEC_TEST_DATABRICKS_URL");
        admin.execute_batch(&format!("DROP SCHEMA IF EXISTS `cubec_{model}` CASCADE")).expect("drop the schema");
        admin.execute_batch(&format!("CREATE SCHEMA `cubec_{model}`")).expect("a schema per model");
        Database::open(Some(&with_param(&url, "schema", &format!("cubec_{model}"))), Path::new("."))
            .unwrap_or_else(|e| panic!("Databricks for {model}: {e}"))
    });
}

/// A Databricks statement past its time is cancelled through the API and the connection stays
/// usable; a result of many chunks comes back whole; a bad statement is the query's fault.
#[test]
fn databricks_cancels_and_reads_every_chunk() {
    let Some(url) = emulator_url("CUBEC_TEST_DATABRICKS_URL") else { return };
    let mut db = Database::open(Some(&url), Path::new(".")).expect("Databricks");
    let canceller = db.canceller();
    let started = std::time::Instant::now();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        canceller.cancel()
    });
    let slow = "SELECT sum(hash(id, :p1)) AS s FROM range(100000000000)";
    let err = db.run_sql(slow, &["x".to_string()]).expect_err("the statement was cancelled");
    stopper.join().unwrap().expect("the cancel was sent");
    assert!(err.0.contains("cancelled"), "{err}");
    assert!(started.elapsed().as_secs() < 30, "the statement stopped at the cancel");
    let r = db.run_sql("SELECT id, :p1 AS v FROM range(2500)", &["it's a \\ test".to_string()]).expect("usable");
    assert_eq!(r.rows.len(), 2500, "every chunk read");
    let mut ids: Vec<i64> = r.rows.iter().map(|row| row[0].to_text().parse().unwrap()).collect();
    ids.sort();
    assert!(ids.iter().enumerate().all(|(i, id)| *id == i as i64), "no row lost or repeated across chunks");
    assert_eq!(r.rows[0][1].to_text(), "it's a \\ test");
    let e = db.run_sql("SELECT * FROM no_such_table", &[]).expect_err("an unknown table");
    assert!(!e.is_unavailable() && e.0.contains("no_such_table"), "{e}");
}

/// What the PostgreSQL stand-in for Redshift cannot run (the SQL is Redshift's own).
const REDSHIFT_STANDIN_SKIPS: &[(&str, &str)] = &[
    ("basic/measure_types.yml", "APPROXIMATE COUNT(DISTINCT ...) is Redshift's syntax, not PostgreSQL's"),
    ("rolling/empty_windows_approximate_distinct.yml", "APPROXIMATE COUNT(DISTINCT ...) is Redshift's syntax"),
];

/// Every case in Redshift's SQL through the `redshift://` client on a PostgreSQL database that
/// reads string literals as Redshift does (`standard_conforming_strings = off`; `.ci/run` makes
/// it): what the two share runs for real, the rest is in the snapshots (tests/cases.rs).
#[test]
fn cases_run_on_the_redshift_standin() {
    let Some(url) = emulator_url("CUBEC_TEST_REDSHIFT_URL") else { return };
    run_and_compare("the Redshift stand-in", "redshift", REDSHIFT_STANDIN_SKIPS, |model| {
        let db = schema_per_model(&url, model);
        assert_eq!(db.dialect_name(), "redshift");
        db
    });
}

/// MySQL faults on one connection: a query past its time is stopped on the server by the
/// canceller (`KILL QUERY`) and the connection stays usable; a connection the server kills is
/// "unavailable" (503 under `cubec serve`) and reported closed, so the pool drops it.
#[test]
fn mysql_cancels_and_notices_a_killed_connection() {
    let Some(url) = emulator_url("CUBEC_TEST_MYSQL_URL") else { return };
    let mut db = Database::open(Some(&url), Path::new(".")).expect("MySQL");
    let canceller = db.canceller();
    let started = std::time::Instant::now();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(500));
        canceller.cancel()
    });
    let err = db.run_sql("SELECT SLEEP(20) AS slept, ? AS p", &["x".to_string()]);
    stopper.join().unwrap().expect("KILL QUERY was sent");
    // MariaDB ends SLEEP early with 1 (no error); MySQL 8 answers 1317, cancelled.
    match err {
        Ok(r) => assert_eq!(r.rows[0][0], cubec::exec::Cell::Int(1), "SLEEP was interrupted"),
        Err(e) => assert!(e.0.contains("cancelled"), "{e}"),
    }
    assert!(started.elapsed().as_secs() < 5, "the query stopped at the cancel, not after 20 s");
    assert!(!db.is_closed());
    let r = db.run_sql("SELECT 1 + ?", &["1".to_string()]).expect("the connection still works");
    assert_eq!(r.rows[0][0].to_text(), "2");

    let id = db.run_sql("SELECT CONNECTION_ID()", &[]).unwrap().rows[0][0].to_text();
    let mut other = Database::open(Some(&url), Path::new(".")).expect("MySQL");
    other.execute_batch(&format!("KILL {id}")).expect("KILL the first connection");
    let e = db.run_sql("SELECT 1", &[]).expect_err("a killed connection fails");
    assert!(e.is_unavailable(), "{e}");
    assert!(db.is_closed(), "the pool sees the connection is broken");
    assert!(other.ping().is_ok());
}
