//! Metric unit tests (`cubec test`): YAML files under `<model>/tests/` give fixture rows per
//! table, queries, and the rows each query must return. Each test runs on a fresh embedded
//! DuckDB (or, with a PostgreSQL URL, in temporary tables that shadow the real ones for the
//! session only), and its outcome is a value the command line renders.
//!
//! ```yaml
//! fixtures:                    # shared by the file's tests (a test may add its own)
//!   referrals:
//!     columns: {id: integer, converted_at: timestamp}
//!     rows:
//!       - [1, "2024-01-03 10:00:00"]
//!       - {repeat: 399, row: ["$n", null]}   # "$n" is the row number within the table
//! tests:
//!   - name: conversion rate
//!     query: {measures: [referrals.conversion_rate]}
//!     expect: [{referrals.conversion_rate: 0.25}]
//!   - name: a partner sees only its own rows    # access policies: the caller's context
//!     security_context: {groups: [partner], affiliate_id: 7}
//!     query: {measures: [referrals.count]}
//!     expect: [{referrals.count: 3}]
//!   - name: no group, no data
//!     query: {measures: [referrals.count]}
//!     expect_error: access denied              # refused with this text in the message
//! ```

use crate::exec::{fixtures, shape, Database};
use crate::query::QueryOptions;
use crate::resolve::Model;
use crate::sql::{Dialects, RenderOptions};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One test's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub file: String,
    pub name: String,
    /// `None` when it passed.
    pub failure: Option<String>,
    pub millis: f64,
}

/// Test files (`*.yml`, `*.yaml`) under `dir` at any depth, sorted; none when `dir` does not
/// exist.
pub fn test_files(dir: &Path) -> Result<Vec<PathBuf>, crate::files::WalkError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    crate::files::Walk::deep(&["yml", "yaml"]).files(dir)
}

/// Which tests run: those whose name or file contains `only` (all without), less those whose
/// name or file contains one of `skip`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub only: Option<String>,
    pub skip: Vec<String>,
}

impl Selection {
    fn takes(&self, name: &str, file: &str) -> bool {
        let said = |t: &str| name.contains(t) || file.contains(t);
        self.only.as_deref().is_none_or(said) && !self.skip.iter().any(|t| said(t))
    }
}

/// Runs every test of `file` the selection takes.
pub fn run_file(
    model: &Model,
    dialects: &Dialects,
    db_url: Option<&str>,
    file: &Path,
    selection: &Selection,
    base: &QueryOptions,
) -> Vec<Outcome> {
    let label = file.display().to_string();
    let fail = |name: &str, msg: String| Outcome {
        file: label.clone(),
        name: name.to_string(),
        failure: Some(msg),
        millis: 0.0,
    };
    let doc = match std::fs::read_to_string(file).map_err(|e| e.to_string()).and_then(|t| {
        crate::load::yaml::parse(&t, crate::diag::FileId(0))
            .map_err(|d| d.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; "))
    }) {
        Ok(node) => node.to_json(),
        Err(e) => return vec![fail("(file)", format!("cannot read the test file: {e}"))],
    };
    let Some(tests) = doc.get("tests").and_then(Value::as_array) else {
        return vec![fail("(file)", "a test file needs a `tests` list".to_string())];
    };
    let shared = doc.get("fixtures").cloned().unwrap_or(Value::Object(Map::new()));
    let mut out = Vec::new();
    let mut session: Option<Session> = None;
    for (i, test) in tests.iter().enumerate() {
        let name =
            test.get("name").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| format!("test {}", i + 1));
        if !selection.takes(&name, &label) {
            continue;
        }
        let started = Instant::now();
        let failure = run_one(model, dialects, db_url, &mut session, &shared, test, base).err();
        out.push(Outcome { file: label.clone(), name, failure, millis: started.elapsed().as_secs_f64() * 1000.0 });
    }
    out
}

/// One connection to a real database for all the tests of a file, and the fixture tables it
/// holds now (as temporary tables). A test loads only the tables that differ from what the
/// previous test left, and drops those it does not declare: on a warehouse each statement
/// costs a round trip (BigQuery: a job), so reloading every table per test would dominate.
struct Session {
    db: Database,
    loaded: Map<String, Value>,
}

impl Session {
    /// Makes the connection hold exactly `tables`.
    fn sync(&mut self, tables: &Map<String, Value>) -> Result<(), String> {
        let stale: Vec<String> = self.loaded.keys().filter(|k| !tables.contains_key(*k)).cloned().collect();
        for name in stale {
            self.db.drop_temporary_table(&name).map_err(|e| e.to_string())?;
            self.loaded.remove(&name);
        }
        let changed: Map<String, Value> = tables
            .iter()
            .filter(|(k, v)| self.loaded.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !changed.is_empty() {
            fixtures::load_temporary(&mut self.db, &serde_json::json!({ "tables": changed }), true)
                .map_err(|e| e.to_string())?;
            self.loaded.extend(changed);
        }
        Ok(())
    }
}

fn run_one(
    model: &Model,
    dialects: &Dialects,
    db_url: Option<&str>,
    session: &mut Option<Session>,
    shared: &Value,
    test: &Value,
    base: &QueryOptions,
) -> Result<(), String> {
    let mut tables = shared.as_object().cloned().unwrap_or_default();
    if let Some(own) = test.get("fixtures").and_then(Value::as_object) {
        tables.extend(own.clone());
    }
    let tables = expand_rows(tables)?;
    let mut embedded;
    let db = match db_url {
        Some(url) => {
            let current = match session.take() {
                Some(s) => s,
                None => Session {
                    db: Database::open(Some(url), Path::new(".")).map_err(|e| e.to_string())?,
                    loaded: Map::new(),
                },
            };
            // A failed load leaves the connection's tables unknown: the next test starts afresh.
            let current = session.insert(current);
            if let Err(e) = current.sync(&tables) {
                *session = None;
                return Err(e);
            }
            &mut current.db
        }
        None => {
            embedded = Database::open(Some("duckdb::memory:"), Path::new(".")).map_err(|e| e.to_string())?;
            fixtures::load(&mut embedded, &serde_json::json!({ "tables": tables })).map_err(|e| e.to_string())?;
            &mut embedded
        }
    };
    let query = test.get("query").ok_or("the test has no `query`")?;
    let dialect = dialects.get(db.dialect_name()).map_err(|d| d.message)?;
    let mut opts = base.clone();
    if let Some(now) = test.get("now").and_then(Value::as_str) {
        opts.now = now.parse().map_err(|e| format!("`now` is not an RFC 3339 instant: {e}"))?;
    }
    match test.get("security_context") {
        None => {}
        Some(ctx @ Value::Object(_)) => opts.security_context = ctx.clone(),
        Some(_) => return Err("`security_context` must be a mapping".to_string()),
    }
    let compiled = crate::compile(model, query, &dialect, &opts, RenderOptions::default())
        .map_err(|d| d.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; "));
    // `expect_error: text`: the query must be refused with a message containing the text (an
    // access denial, say).
    if let Some(want) = test.get("expect_error") {
        let want = want.as_str().ok_or("`expect_error` must be the text the error contains")?;
        return match compiled {
            Err(message) if message.contains(want) => Ok(()),
            Err(message) => Err(format!("expected an error containing `{want}`, got: {message}")),
            Ok(c) => Err(format!("expected an error containing `{want}`, but the query compiled:\n{}", c.sql)),
        };
    }
    let compiled = compiled?;
    let result = db.run(&compiled).map_err(|e| format!("the query failed: {e}"))?;
    let rows = shape::cube_rows(&result, &compiled);
    let expected = test.get("expect").and_then(Value::as_array).ok_or("the test has no `expect` list of rows")?;
    let want: Vec<Vec<(String, String)>> = expected
        .iter()
        .map(|r| r.as_object().map(|o| o.iter().map(|(k, v)| (k.clone(), norm(v))).collect()).unwrap_or_default())
        .collect();
    // Only the members the expected rows name are compared (a time bucket also appears under its
    // dimension's name).
    let keys: Vec<&String> = want.iter().flat_map(|r| r.iter().map(|(k, _)| k)).collect();
    let got: Vec<Vec<(String, String)>> = rows
        .iter()
        .map(|r| r.iter().filter(|(k, _)| keys.contains(k)).map(|(k, v)| (k.clone(), norm(v))).collect())
        .collect();
    let ordered = test.get("ordered").and_then(Value::as_bool).unwrap_or(false);
    let (mut a, mut b) = (want.clone(), got.clone());
    if !ordered {
        a.iter_mut().for_each(|r| r.sort());
        b.iter_mut().for_each(|r| r.sort());
        a.sort();
        b.sort();
    }
    if a == b {
        Ok(())
    } else {
        Err(diff(&want, &got))
    }
}

/// `{repeat: N, row: [...]}` rows become N rows; a `"$n"` cell becomes the row's number.
fn expand_rows(mut tables: Map<String, Value>) -> Result<Map<String, Value>, String> {
    const MAX_ROWS: usize = 1_000_000;
    for (name, table) in tables.iter_mut() {
        let Some(rows) = table.get("rows").and_then(Value::as_array) else { continue };
        let mut out = Vec::new();
        for row in rows {
            let (count, cells) = match row {
                Value::Object(o) => {
                    let n = o
                        .get("repeat")
                        .and_then(Value::as_u64)
                        .ok_or(format!("table `{name}`: a row mapping needs `repeat: N`"))?;
                    let cells = o
                        .get("row")
                        .and_then(Value::as_array)
                        .ok_or(format!("table `{name}`: a repeated row needs `row: [...]`"))?;
                    (n as usize, cells.clone())
                }
                Value::Array(cells) => (1, cells.clone()),
                other => return Err(format!("table `{name}`: a row is a list of values, found {other}")),
            };
            if out.len() + count > MAX_ROWS {
                return Err(format!("table `{name}` would have more than {MAX_ROWS} rows"));
            }
            for _ in 0..count {
                let n = out.len() + 1;
                out.push(Value::Array(
                    cells.iter().map(|c| if c.as_str() == Some("$n") { Value::from(n) } else { c.clone() }).collect(),
                ));
            }
        }
        if let Some(obj) = table.as_object_mut() {
            obj.insert("rows".to_string(), Value::Array(out));
        }
    }
    Ok(tables)
}

/// A value as text, numbers to 6 decimals so engines' formatting agrees (expected rows are
/// compared with actual ones through this).
pub fn norm(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => match s.parse::<f64>() {
            Ok(f) if !s.is_empty() && !s.contains(['T', ':']) => format!("{f:.6}"),
            _ => s.clone(),
        },
        Value::Number(n) => format!("{:.6}", n.as_f64().unwrap_or(0.0)),
        other => other.to_string(),
    }
}

fn row_text(r: &[(String, String)]) -> String {
    let cells: Vec<String> = r
        .iter()
        .map(|(k, v)| {
            // Numbers were normalized to six decimals; show them without trailing zeros.
            let shown = match v.split_once('.') {
                Some((int, frac)) if v.parse::<f64>().is_ok() => match frac.trim_end_matches('0') {
                    "" => int.to_string(),
                    f => format!("{int}.{f}"),
                },
                _ => v.clone(),
            };
            format!("{k}: {shown}")
        })
        .collect();
    format!("{{{}}}", cells.join(", "))
}

/// Expected and actual rows, line by line, `-` for expected only and `+` for actual only.
fn diff(want: &[Vec<(String, String)>], got: &[Vec<(String, String)>]) -> String {
    let w: Vec<String> = want.iter().map(|r| row_text(r)).collect();
    let g: Vec<String> = got.iter().map(|r| row_text(r)).collect();
    let mut out = String::from("rows differ (- expected, + actual):\n");
    for r in &w {
        out.push_str(&format!("{} {r}\n", if g.contains(r) { ' ' } else { '-' }));
    }
    for r in g.iter().filter(|r| !w.contains(r)) {
        out.push_str(&format!("+ {r}\n"));
    }
    out
}

/// JUnit XML for CI systems (quick-junit: one `cubec` suite, a test case per metric test with
/// its file as the class name, the failure's text as its description).
pub fn junit(outcomes: &[Outcome]) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new("cubec");
    for o in outcomes {
        let status = match &o.failure {
            None => TestCaseStatus::success(),
            Some(why) => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message("failed").set_description(why.as_str());
                s
            }
        };
        let mut case = TestCase::new(o.name.as_str(), status);
        case.set_classname(o.file.as_str())
            .set_time(std::time::Duration::try_from_secs_f64(o.millis / 1000.0).unwrap_or_default());
        suite.add_test_case(case);
    }
    let mut report = Report::new("cubec");
    report.add_test_suite(suite);
    report.to_string().unwrap_or_else(|e| format!("<!-- cubec could not write JUnit XML: {e} -->\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_reads_back_whatever_a_failure_says() {
        // Markup, quotes and a terminal escape (invalid in XML 1.0) in a failure's text.
        let why = "rows differ: <a & \"b\"> \u{1b}[31mred\u{1b}[0m";
        let outcomes = vec![
            Outcome { file: "tests/a.yml".into(), name: "ok".into(), failure: None, millis: 1.5 },
            Outcome {
                file: "tests/a.yml".into(),
                name: "bad <one>".into(),
                failure: Some(why.into()),
                millis: f64::NAN,
            },
        ];
        let xml = junit(&outcomes);
        let report = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
        let suite = &report.test_suites[0];
        assert_eq!((suite.tests, suite.failures), (2, 1));
        assert_eq!(suite.test_cases[1].name.as_str(), "bad <one>");
        let text = format!("{:?}", suite.test_cases[1].status);
        assert!(text.contains("rows differ: <a & \\\"b\\\">"), "{text}");
    }

    #[test]
    fn selection_takes_by_name_or_file_and_skip_wins() {
        let all = Selection { only: None, skip: vec![] };
        assert!(all.takes("referral rate", "metrics/tests/a.yml"));
        let only = Selection { only: Some("rate".into()), skip: vec![] };
        assert!(only.takes("referral rate", "x.yml") && !only.takes("count", "x.yml"));
        assert!(only.takes("count", "tests/rate.yml"), "the file name counts too");
        let skip = Selection { only: Some("rate".into()), skip: vec!["referral".into(), "epoch".into()] };
        assert!(!skip.takes("referral rate", "x.yml") && skip.takes("conversion rate", "x.yml"));
        assert!(!skip.takes("conversion rate", "epoch.yml"));
    }
}
