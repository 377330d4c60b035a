//! Cube JavaScript models: the seed's ReferralMessages cube (JS) loads directly and through
//! `cubec import-js`, and compiles to the same SQL as its YAML version for every dialect;
//! constructs that cannot be converted are errors with file:line:col.

use std::process::Command;

fn cubec(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cubec")).args(args).output().expect("cubec runs")
}

fn sql(model: &str, dialect: &str) -> String {
    let out =
        cubec(&["sql", "--model", model, "--query", "tests/fixtures/outreach_by_week.json", "--dialect", dialect]);
    assert!(out.status.success(), "{model}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn the_seed_js_cube_compiles_like_its_yaml_version_directly_and_imported() {
    let out = std::env::temp_dir().join(format!("cubec_import_js_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run = cubec(&["import-js", "tests/models/referral_js", "--out", &out.to_string_lossy()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(out.join("referral_messages.yml").is_file());
    let imported = out.to_string_lossy().to_string();
    let checked = cubec(&["validate", "--model", &imported]);
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    for dialect in ["postgres", "bigquery", "snowflake", "duckdb"] {
        let yaml = sql("tests/models/referral", dialect);
        assert_eq!(sql("tests/models/referral_js", dialect), yaml, "{dialect}: JS read directly");
        assert_eq!(sql(&imported, dialect), yaml, "{dialect}: imported YAML");
    }
}

#[test]
fn unconvertible_constructs_and_model_errors_point_into_the_js() {
    let out = std::env::temp_dir().join(format!("cubec_import_js_bad_{}", std::process::id()));
    let run = cubec(&["import-js", "tests/errors/l012_js_function", "--out", &out.to_string_lossy()]);
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("tests/errors/l012_js_function/orders.js:2:1: only `cube(...)` and `view(...)` calls"),
        "{err}"
    );
    assert!(err.contains("orders.js:5:25: only `${name}` and `${cube.member}`"), "{err}");
    assert!(!out.join("orders.yml").exists(), "nothing written for a file that failed");

    let v = cubec(&["validate", "--model", "tests/errors/r005_in_js", "--format", "json"]);
    assert_eq!(v.status.code(), Some(1));
    let body: serde_json::Value = serde_json::from_slice(&v.stdout).expect("json");
    let r005 =
        body["diagnostics"].as_array().into_iter().flatten().find(|d| d["code"] == "R005").cloned().unwrap_or_default();
    assert_eq!(r005["file"], "tests/errors/r005_in_js/orders.js");
    assert_eq!(r005["line"], 5, "the line of `type: 'cnt'` in the JS: {r005}");
}
