//! Query cases under `tests/cases/**/*.yml`: each names a model under `tests/models/`, a query
//! and optionally a fixed "now". Its SQL for every dialect is an insta snapshot, and every
//! statement must parse with sqlparser's matching dialect. Cases with `expect_error: true`
//! snapshot the error instead. A case's `security_context` is the caller's (access policies).

use cubec::query::QueryOptions;
use cubec::sql::{check_parses, Dialects, RenderOptions};
use std::collections::HashMap;
use std::path::Path;

const DIALECTS: &[&str] = &["postgres", "duckdb", "bigquery", "snowflake"];
const FURTHER_DIALECTS: &[&str] = &["mysql", "redshift", "databricks", "clickhouse"];

fn yaml_to_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("read case");
    let node = cubec::load::yaml::parse(&text, cubec::diag::FileId(0)).expect("case is valid YAML");
    node.to_json()
}

/// A case's "now" (2024-03-13T15:30:00Z unless it says) and caller.
fn case_options(case: &serde_json::Value) -> QueryOptions {
    QueryOptions {
        now: case["now"].as_str().unwrap_or("2024-03-13T15:30:00Z").parse().expect("now is an RFC 3339 instant"),
        security_context: case
            .get("security_context")
            .cloned()
            .unwrap_or_else(|| QueryOptions::default().security_context),
        ..QueryOptions::default()
    }
}

#[test]
fn query_cases() {
    let dialects = Dialects::builtin();
    let mut models: HashMap<String, cubec::Checked> = HashMap::new();
    let mut count = 0;
    insta::glob!("cases/**/*.yml", |path| {
        count += 1;
        let case = yaml_to_json(path);
        let model_name = case["model"].as_str().expect("case names a model").to_string();
        let checked = models.entry(model_name.clone()).or_insert_with(|| {
            let c = cubec::check_model(&Path::new("tests/models").join(&model_name));
            assert!(!c.has_errors(), "model {model_name} is valid");
            c
        });
        let opts = case_options(&case);
        let query = &case["query"];
        let expect_error = case["expect_error"].as_bool().unwrap_or(false);
        let mut out = String::new();
        if expect_error {
            let d = dialects.get("postgres").unwrap();
            let err = cubec::compile(&checked.model, query, &d, &opts, RenderOptions::default())
                .expect_err("the case expects an error");
            out.push_str(&cubec::diag::render::to_human(&err, &checked.sources, false));
        } else {
            for (i, name) in DIALECTS.iter().enumerate() {
                out.push_str(&dialect_sql(&dialects, name, checked, query, &opts, path, i == 0));
            }
        }
        insta::assert_snapshot!(out);
    });
    assert!(count >= 60, "at least 60 query cases, found {count}");
}

/// A case's SQL for one dialect as its snapshot shows it (the aliases first when `aliases`), after
/// checking that every statement parses with the dialect's sqlparser dialect, inlined or not.
fn dialect_sql(
    dialects: &Dialects,
    name: &str,
    checked: &cubec::Checked,
    query: &serde_json::Value,
    opts: &QueryOptions,
    path: &Path,
    aliases: bool,
) -> String {
    let d = dialects.get(name).unwrap();
    let mut out = String::new();
    let compiled = cubec::compile(&checked.model, query, &d, opts, RenderOptions::default()).unwrap_or_else(|e| {
        panic!("{}: {name}: {:?}", path.display(), e.iter().map(|d| &d.message).collect::<Vec<_>>())
    });
    if let Err(e) = parses(&d, &compiled.sql) {
        panic!("{}: {name} SQL does not parse: {e}\n{}", path.display(), compiled.sql);
    }
    let inlined = cubec::compile(&checked.model, query, &d, opts, RenderOptions { inline: true }).unwrap();
    if let Err(e) = parses(&d, &inlined.sql) {
        panic!("{}: {name} inlined SQL does not parse: {e}\n{}", path.display(), inlined.sql);
    }
    if aliases {
        out.push_str("-- aliases\n");
        for (a, m) in &compiled.alias_to_member {
            out.push_str(&format!("--   {a} -> {m}\n"));
        }
    }
    out.push_str(&format!(
        "-- {name}\n{}\n-- params: {}\n",
        compiled.sql,
        serde_json::to_string(&compiled.params).unwrap()
    ));
    if let Some(t) = &compiled.total {
        parses(&d, &t.sql).unwrap_or_else(|e| panic!("{}: {name} total SQL does not parse: {e}", path.display()));
        out.push_str(&format!(
            "-- total ({name})\n{}\n-- params: {}\n",
            t.sql,
            serde_json::to_string(&t.params).unwrap()
        ));
    }
    for w in &compiled.warnings {
        out.push_str(&format!("-- warning: {w}\n"));
    }
    out
}

/// [`check_parses`], except that sqlparser 0.63 does not know Redshift's `APPROXIMATE COUNT(DISTINCT
/// x)`: there the keyword is read past (the rest of the statement is parsed as written).
fn parses(d: &cubec::sql::Dialect, sql: &str) -> Result<(), String> {
    if d.name == "redshift" {
        return check_parses(d, &sql.replace("APPROXIMATE COUNT(DISTINCT", "COUNT(DISTINCT"));
    }
    check_parses(d, sql)
}

/// The warehouses added after the first four, snapshotted apart so that their SQL is reviewed on
/// its own: MySQL (run on MariaDB by tests/exec.rs), Redshift (run on PostgreSQL for what the two
/// share) and Databricks.
#[test]
fn query_cases_on_further_warehouses() {
    let dialects = Dialects::builtin();
    let mut models: HashMap<String, cubec::Checked> = HashMap::new();
    insta::glob!("cases/**/*.yml", |path| {
        let case = yaml_to_json(path);
        if case["expect_error"].as_bool().unwrap_or(false) {
            return;
        }
        let model_name = case["model"].as_str().expect("case names a model").to_string();
        let checked = models
            .entry(model_name.clone())
            .or_insert_with(|| cubec::check_model(&Path::new("tests/models").join(&model_name)));
        let opts = case_options(&case);
        let mut out = String::new();
        for name in FURTHER_DIALECTS {
            out.push_str(&dialect_sql(&dialects, name, checked, &case["query"], &opts, path, false));
        }
        insta::assert_snapshot!(out);
    });
}
