//! Hostile filter values through `cubec query`, bound as parameters and `--inline` (escaped by
//! the dialect's one literal function), on DuckDB and (with `CUBEC_TEST_POSTGRES_URL`, as in CI)
//! PostgreSQL. For every value, the counts `equals`, `contains`, `startsWith` and `endsWith`
//! return must equal the same comparisons done here in Rust over the same rows, `equals` must
//! return the stored text byte for byte, and afterwards both tables must be exactly as before:
//! no value ever ran as SQL.
#![cfg(feature = "engine")]

use cubec::exec::{Cell, Database};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Values that break naive quoting, LIKE patterns, comment syntax, placeholders, templates,
/// encodings and lengths; each also with text around it, doubled, and upper-cased.
fn hostile_values() -> Vec<String> {
    let base: Vec<String> = [
        "'",
        "''",
        "'''",
        "\"",
        "\\",
        "\\\\",
        "\\'",
        "'\\",
        "%",
        "%%",
        "_",
        "%_%",
        "\\%",
        "\\_",
        "[a-z]%",
        "^a.*$",
        ";",
        "--",
        "-- x",
        "/*",
        "*/",
        "/* x */",
        "#",
        "'; DROP TABLE canary; --",
        "' OR '1'='1",
        "1' OR 1=1 --",
        "\" OR \"\"=\"",
        "'); DELETE FROM notes; --",
        "\\'; DROP TABLE canary; --",
        "' || (SELECT count(*) FROM canary) || '",
        "$1",
        "$2::text",
        "$$",
        "$$; DROP TABLE canary; $$",
        "$tag$ x $tag$",
        "?",
        ":name",
        "@var",
        "${x}",
        "{x}",
        "{{ x }}",
        "{% if true %}y{% endif %}",
        "{# c #}",
        "`",
        "``; DROP TABLE canary; --",
        "E'\\x27'",
        "U&'\\0027'",
        "0x27",
        "char(39)",
        "null",
        "NULL",
        "true",
        "1e999",
        "-0",
        "\n",
        "\r\n",
        "\t",
        " ",
        "  leading",
        "trailing  ",
        "é",
        "日本語",
        "🙂",
        "\u{202e}rtl",
        "zero\u{200b}width",
        "combining e\u{301}",
        "\u{feff}bom",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(["'".repeat(3000), "x%_\\".repeat(500)])
    .collect();
    let mut out = Vec::new();
    for b in &base {
        for v in [b.clone(), format!("a{b}z"), format!("{b}{b}"), b.to_uppercase()] {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// NUL cannot be stored in PostgreSQL text at all; it is checked separately (a clean error).
const NUL_VALUES: &[&str] = &["\0", "a\0b", "'\0; DROP TABLE canary; --"];

fn rows_of(values: &[String]) -> Vec<String> {
    let mut rows: Vec<String> = values.iter().flat_map(|v| [v.clone(), format!("<<{v}>>")]).collect();
    rows.extend(["plain".to_string(), String::new()]);
    rows
}

struct Target {
    url: String,
    notes: String,
    canary: String,
}

fn model_dir(t: &Target) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cubec_injection_{}_{}", t.notes, std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(
        dir.join("notes.yml"),
        format!(
            "cubes:\n  - name: notes\n    sql_table: {}\n    measures:\n      - name: count\n        type: count\n    \
             dimensions:\n      - name: id\n        sql: id\n        type: number\n        primary_key: true\n      \
             - name: body\n        sql: body\n        type: string\n",
            t.notes
        ),
    )
    .expect("model");
    dir
}

fn setup(t: &Target, rows: &[String]) {
    let mut db = Database::open(Some(&t.url), Path::new(".")).expect("connect");
    db.execute_batch(&format!(
        "DROP TABLE IF EXISTS {n}; DROP TABLE IF EXISTS {c};
         CREATE TABLE {n} (id INTEGER, body TEXT); CREATE TABLE {c} (id INTEGER);
         INSERT INTO {c} VALUES (1), (2), (3);",
        n = t.notes,
        c = t.canary
    ))
    .expect("tables");
    for (i, r) in rows.iter().enumerate() {
        db.run_sql(&format!("INSERT INTO {} VALUES ({i}, $1)", t.notes), std::slice::from_ref(r)).expect("insert");
    }
}

/// Everything in both tables, to compare before and after.
fn snapshot(t: &Target) -> Vec<Vec<Cell>> {
    let mut db = Database::open(Some(&t.url), Path::new(".")).expect("connect");
    let mut out = db.run_sql(&format!("SELECT id, body FROM {} ORDER BY id", t.notes), &[]).expect("notes").rows;
    out.extend(db.run_sql(&format!("SELECT id, NULL FROM {} ORDER BY id", t.canary), &[]).expect("canary").rows);
    out
}

fn queries_for(v: &str) -> Vec<Value> {
    let mut qs = vec![json!({
        "measures": ["notes.count"], "dimensions": ["notes.body"],
        "filters": [{"member": "notes.body", "operator": "equals", "values": [v]}]
    })];
    for op in ["contains", "startsWith", "endsWith"] {
        qs.push(
            json!({"measures": ["notes.count"], "filters": [{"member": "notes.body", "operator": op, "values": [v]}]}),
        );
    }
    qs
}

/// The rows each query must return, worked out here (LIKE-style operators ignore case).
fn expected_for(v: &str, rows: &[String]) -> Vec<Value> {
    let lower = v.to_lowercase();
    let count = |f: &dyn Fn(&str) -> bool| rows.iter().filter(|r| f(&r.to_lowercase())).count();
    let equal = rows.iter().filter(|r| r.as_str() == v).count();
    let eq = if equal == 0 { json!([]) } else { json!([{"notes.body": v, "notes.count": equal.to_string()}]) };
    let n = |k: usize| json!([{"notes.count": k.to_string()}]);
    vec![
        eq,
        n(count(&|r| r.contains(&lower))),
        n(count(&|r| r.starts_with(&lower))),
        n(count(&|r| r.ends_with(&lower))),
    ]
}

fn cubec_query(dir: &Path, url: &str, queries: &[Value], inline: bool) -> std::process::Output {
    let file = dir.join(format!("queries_{inline}.json"));
    std::fs::write(&file, serde_json::to_string(queries).expect("json")).expect("write queries");
    let mut args = vec!["query", "--model", dir.to_str().unwrap_or("."), "--db", url, "--format", "json", "--query"];
    let file_arg = file.to_string_lossy().to_string();
    args.push(&file_arg);
    if inline {
        args.push("--inline");
    }
    Command::new(env!("CARGO_BIN_EXE_cubec")).args(&args).output().expect("cubec runs")
}

fn run_against(t: Target) {
    let values = hostile_values();
    assert!(values.len() >= 200, "hundreds of values, got {}", values.len());
    let rows = rows_of(&values);
    setup(&t, &rows);
    let before = snapshot(&t);
    let dir = model_dir(&t);
    let queries: Vec<Value> = values.iter().flat_map(|v| queries_for(v)).collect();
    let expected: Vec<Value> = values.iter().flat_map(|v| expected_for(v, &rows)).collect();
    for inline in [false, true] {
        let out = cubec_query(&dir, &t.url, &queries, inline);
        assert_eq!(out.status.code(), Some(0), "inline={inline}: {}", String::from_utf8_lossy(&out.stderr));
        let bodies: Value = serde_json::from_slice(&out.stdout).expect("json output");
        let bodies = bodies.as_array().cloned().unwrap_or_default();
        assert_eq!(bodies.len(), queries.len());
        for ((q, body), want) in queries.iter().zip(&bodies).zip(&expected) {
            assert_eq!(&body["data"], want, "inline={inline}, {} on {:?}", t.url, q["filters"][0]);
        }
        assert_eq!(snapshot(&t), before, "inline={inline}: the tables changed");
    }
    // NUL: stored and matched where the engine can hold it, a clean error (exit 1) where not.
    for v in NUL_VALUES {
        for inline in [false, true] {
            let out = cubec_query(&dir, &t.url, &queries_for(v), inline);
            assert!(matches!(out.status.code(), Some(0) | Some(1)), "NUL {v:?} inline={inline}: {out:?}");
        }
    }
    assert_eq!(snapshot(&t), before, "the tables changed after the NUL values");
    println!("{}: {} values x 4 operators x 2 modes agree", t.url, values.len());
}

#[test]
fn hostile_filter_values_on_duckdb() {
    let path = std::env::temp_dir().join(format!("cubec_injection_{}.duckdb", std::process::id()));
    let _ = std::fs::remove_file(&path);
    run_against(Target {
        url: format!("duckdb:{}", path.display()),
        notes: "notes".to_string(),
        canary: "canary".to_string(),
    });
    let _ = std::fs::remove_file(&path);
}

#[test]
fn hostile_filter_values_on_postgres() {
    let Ok(url) = std::env::var("CUBEC_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "CI must set CUBEC_TEST_POSTGRES_URL");
        return;
    };
    let pid = std::process::id();
    let t = Target { url: url.clone(), notes: format!("inj_notes_{pid}"), canary: format!("inj_canary_{pid}") };
    let (notes, canary) = (t.notes.clone(), t.canary.clone());
    run_against(t);
    let mut db = Database::open(Some(&url), Path::new(".")).expect("connect");
    db.execute_batch(&format!("DROP TABLE {notes}; DROP TABLE {canary};")).expect("cleanup");
}
