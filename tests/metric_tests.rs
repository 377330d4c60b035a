//! `cubec test` on the shipped KPI library: every metric test under `metrics/tests/` passes on
//! the embedded DuckDB and, with `CUBEC_TEST_POSTGRES_URL` set (CI), on PostgreSQL; a failing
//! test makes the command exit 1 with a readable diff.
#![cfg(feature = "engine")]

use std::process::Command;

fn cubec(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cubec")).args(args).env_remove("CUBEC_DB_URL").output().expect("cubec runs")
}

#[test]
fn metric_tests_pass_on_duckdb() {
    let out = cubec(&["test", "--model", "metrics", "--format", "json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let outcomes: serde_json::Value = serde_json::from_str(&text).expect("json outcomes");
    let n = outcomes.as_array().map(Vec::len).unwrap_or(0);
    assert!(n >= 30, "expected the KPI tests, found {n}");
}

#[test]
fn metric_tests_pass_on_postgres() {
    let Ok(url) = std::env::var("CUBEC_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "CI must set CUBEC_TEST_POSTGRES_URL");
        return;
    };
    let out = cubec(&["test", "--model", "metrics", "--db", &url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_failing_metric_test_exits_1_with_a_diff() {
    let dir = std::env::temp_dir().join(format!("cubec_failing_test_{}", std::process::id()));
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::write(
        dir.join("model.yml"),
        "cubes:\n  - name: t\n    sql_table: t\n    measures:\n      - {name: total, type: sum, sql: v}\n    dimensions:\n      - {name: k, sql: k, type: string}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("tests/t.yml"),
        "fixtures:\n  t:\n    columns: {k: text, v: integer}\n    rows: [[a, 1], [a, 2], [b, 5]]\ntests:\n  - name: right\n    query: {measures: [t.total]}\n    expect: [{t.total: 8}]\n  - name: wrong\n    query: {measures: [t.total], dimensions: [t.k]}\n    expect: [{t.k: a, t.total: 3}, {t.k: b, t.total: 6}]\n",
    )
    .unwrap();
    let out = cubec(&["test", "--model", dir.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("PASS") && text.contains("> right"), "{text}");
    assert!(
        text.contains("FAIL") && text.contains("- {t.k: b, t.total: 6}") && text.contains("+ {t.k: b, t.total: 5}"),
        "{text}"
    );
    let junit = cubec(&["test", "--model", dir.to_str().unwrap(), "--format", "junit", "--filter", "wrong"]);
    let xml = String::from_utf8_lossy(&junit.stdout);
    let suite = xml.lines().find(|l| l.trim_start().starts_with("<testsuite ")).unwrap_or_default();
    assert!(suite.contains("tests=\"1\"") && suite.contains("failures=\"1\""), "{xml}");
    assert!(xml.contains("<testcase name=\"wrong\"") && xml.contains("<failure"), "{xml}");
    assert!(xml.contains("- {t.k: b, t.total: 6}"), "the failure's text is in the report: {xml}");
    let _ = std::fs::remove_dir_all(&dir);
}
