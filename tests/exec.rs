//! Execution: every query case runs on the embedded DuckDB against its model's fixture rows; a
//! case's `expect` rows must match; and with `CUBEC_TEST_POSTGRES_URL` set, every case also runs
//! on PostgreSQL and must return the same rows as DuckDB. In CI (`CI` set) a missing PostgreSQL
//! is a failure, not a skip.
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

fn expected(case: &Value) -> Option<Vec<Vec<(String, String)>>> {
    let rows = case.get("expect")?.as_array()?;
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
    let dialects = Dialects::builtin();
    let dialect = dialects.get(dialect_name).unwrap();
    let mut results = Vec::new();
    let mut checked: std::collections::HashMap<String, cubec::Checked> = Default::default();
    let mut dbs: std::collections::HashMap<String, Database> = Default::default();
    let mut with_expect = 0;
    for path in cases() {
        let case = yaml(&path);
        if case["expect_error"].as_bool().unwrap_or(false) {
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
        let result =
            db.run(&compiled).unwrap_or_else(|e| panic!("{} on {dialect_name}: {e}\n{}", path.display(), compiled.sql));
        let rows = shape::cube_rows(&result, &compiled);
        if let Some(total) = &compiled.total {
            db.run_sql(&total.sql, &total.params)
                .unwrap_or_else(|e| panic!("{} total on {dialect_name}: {e}", path.display()));
        }
        if let Some(want) = expected(&case) {
            with_expect += 1;
            let mut got = norm_rows(&rows);
            for r in &mut got {
                r.sort();
            }
            got.sort();
            assert_eq!(
                got,
                want,
                "{} on {dialect_name}: rows differ\nSQL:\n{}\nparams: {:?}",
                path.display(),
                compiled.sql,
                compiled.params
            );
        }
        results.push((path, rows));
    }
    assert!(with_expect >= 40, "at least 40 cases carry expected rows, found {with_expect}");
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
    let pg = run_all(
        &mut |model| {
            let mut db = Database::open(Some(&url), Path::new(".")).expect("PostgreSQL from CUBEC_TEST_POSTGRES_URL");
            let schema = format!("cubec_test_{model}");
            db.execute_batch(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema};"
            ))
            .unwrap();
            db
        },
        "postgres",
    );
    assert_eq!(duck.len(), pg.len());
    for ((path, d), (_, p)) in duck.iter().zip(&pg) {
        assert_eq!(norm_rows(d), norm_rows(p), "{}: DuckDB and PostgreSQL disagree", path.display());
    }
}
