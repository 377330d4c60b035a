//! Bad input through the real binary: every broken model under `tests/errors/` and every bad
//! query under `tests/query_errors/` must exit 1 (a clean error), never 101 (a panic), and each
//! query error's message is an insta snapshot. Also: inputs too big to commit (generated here),
//! encodings, and command-line misuse (exit 2).

use std::path::Path;
use std::process::{Command, Output};

fn cubec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cubec")).args(args).env_remove("CUBEC_DB_URL").output().expect("cubec runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

fn dirs(root: &str) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> =
        std::fs::read_dir(root).expect("folder exists").filter_map(Result::ok).map(|e| e.path()).collect();
    out.sort();
    out
}

#[test]
fn every_broken_model_exits_1_not_101() {
    let cases: Vec<_> = dirs("tests/errors").into_iter().filter(|p| p.is_dir()).collect();
    assert!(cases.len() >= 60, "{} broken models", cases.len());
    for dir in cases {
        let out = cubec(&["validate", "--model", &dir.to_string_lossy()]);
        // Warning-only cases (a Python keyword as a name) pass validation with exit 0.
        let want = if text(&out.stderr).contains("\n0 errors") { 0 } else { 1 };
        assert_eq!(out.status.code(), Some(want), "{}: {}", dir.display(), text(&out.stderr));
        assert!(!out.stderr.is_empty(), "{}: says nothing", dir.display());
    }
}

#[test]
fn every_bad_query_exits_1_with_its_message() {
    let files: Vec<_> =
        dirs("tests/query_errors").into_iter().filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    assert!(files.len() >= 25, "{} bad queries", files.len());
    for file in files {
        let name = file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        let out = cubec(&["sql", "--model", "tests/models/shop", "--query", &file.to_string_lossy()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: printed SQL for a bad query");
        // The case name starts with the code it must report; reading and JSON errors (q001)
        // come before any code is assigned.
        let code = name.split('_').next().unwrap_or_default().to_uppercase();
        assert!(
            stderr.contains(&code) || (code == "Q001" && stderr.starts_with("error: ")),
            "{name}: expected {code} in\n{stderr}"
        );
        insta::assert_snapshot!(format!("query_error_{name}"), stderr);
    }
}

#[test]
fn too_many_filters_and_values_are_refused_quickly() {
    let dir = std::env::temp_dir().join(format!("cubec_hostile_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let one = serde_json::json!({"member": "orders.status", "operator": "equals", "values": ["a"]});
    let many_filters = serde_json::json!({"measures": ["orders.count"], "filters": vec![one; 10_001]});
    let many_values = serde_json::json!({"measures": ["orders.count"], "filters": [
        {"member": "orders.status", "operator": "equals", "values": (0..100_001).map(|i| i.to_string()).collect::<Vec<_>>()}
    ]});
    for (name, q, message) in [
        ("filters", many_filters, "more than 10000 filters"),
        ("values", many_values, "more than 100000 filter values"),
    ] {
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, q.to_string()).expect("write");
        let out = cubec(&["sql", "--model", "tests/models/shop", "--query", &path.to_string_lossy()]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(text(&out.stderr).contains(message), "{name}: {}", text(&out.stderr));
    }
}

#[test]
fn a_model_file_over_16_mb_is_refused_before_parsing() {
    let dir = std::env::temp_dir().join(format!("cubec_hostile_big_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let line = "# padding padding padding padding padding padding padding padding padding padding\n";
    let body = line.repeat(17 * 1024 * 1024 / line.len() + 1);
    std::fs::write(dir.join("big.yml"), format!("cubes: []\n{body}")).expect("write");
    let out = cubec(&["validate", "--model", &dir.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("L009") && text(&out.stderr).contains("over the"), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bom_and_crlf_are_accepted_in_models_and_queries() {
    let out = cubec(&["validate", "--model", "tests/models/bom_crlf"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out =
        cubec(&["sql", "--model", "tests/models/bom_crlf", "--query", "\u{feff}{\"measures\":[\"orders.count\"]}"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("count(*)"), "{}", text(&out.stdout));
}

#[test]
fn command_line_misuse_exits_2_with_a_message() {
    let q = r#"{"measures":["orders.count"]}"#;
    let cases: Vec<Vec<&str>> = vec![
        vec!["sql", "--model", "tests/models/shop", "--query", q, "--dialect", ","],
        vec!["sql", "--model", "tests/models/shop", "--query", q, "--dialect", "oracle"],
        vec!["sql", "--model", "tests/models/shop", "--query", q, "--security-context", "[1]"],
        vec!["sql", "--model", "tests/models/shop", "--query", q, "--format", "xml"],
        vec!["serve", "--model", "tests/models/shop", "--query-timeout", "0"],
        vec!["serve", "--model", "tests/models/shop", "--query-timeout", "NaN"],
        vec!["serve", "--model", "tests/models/shop", "--max-concurrent-queries", "0"],
        vec!["serve", "--model", "tests/models/shop", "--port", "70000"],
        vec!["demo-data", "--scale", "0"],
        vec!["validate", "--format", "yaml"],
        vec!["nope"],
    ];
    for args in cases {
        let out = cubec(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(!out.stderr.is_empty(), "{args:?}: no message");
    }
    // Missing files and folders are errors of the input, not of usage.
    for args in [
        vec!["sql", "--model", "tests/models/shop", "--query", "/nonexistent/q.json"],
        vec!["validate", "--model", "/nonexistent"],
        vec!["sql", "--model", "tests/models/shop", "--query", "[]"],
    ] {
        let out = cubec(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out.stderr));
    }
    assert!(Path::new("tests/models/shop").is_dir());
}
