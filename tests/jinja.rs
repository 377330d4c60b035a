//! `.yml.jinja` model files: rendered with minijinja (loops, variables, macros from the model's
//! `macros/` folder), then loaded like YAML; `cubec render` prints the output; errors point at
//! the template's own lines (see `tests/errors/l011_*` and `r005_in_template` for the messages).

use std::process::Command;

fn cubec(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cubec")).args(args).output().expect("cubec runs")
}

#[test]
fn a_templated_model_loads_and_compiles() {
    let checked = cubec::check_model(std::path::Path::new("tests/models/templated"));
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
    let names: Vec<&str> = checked.model.cube_names().collect();
    assert_eq!(names, ["signups", "invites", "rewards"]);
    let out = cubec(&[
        "sql",
        "--model",
        "tests/models/templated",
        "--query",
        r#"{"measures": ["rewards.total_amount", "rewards.count"]}"#,
    ]);
    let sql = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(sql.contains("sum(\"rewards\".amount)") && sql.contains("FROM events.rewards AS \"rewards\""), "{sql}");
}

#[test]
fn render_prints_the_output_or_the_template_error() {
    let out = cubec(&["render", "tests/models/templated/events.yml.jinja"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("  - name: invites\n    sql_table: events.invites\n"), "{text}");
    assert!(text.contains("      - name: total_amount\n        type: sum\n        sql: amount"), "{text}");
    let out = cubec(&["render", "tests/errors/l011_template_undefined/model.yml.jinja"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("model.yml.jinja:3: the template does not render") && err.contains("`schema` is undefined"),
        "{err}"
    );
}

#[test]
fn problems_in_the_output_point_at_the_template_line() {
    let out = cubec(&["validate", "--model", "tests/errors/r005_in_template", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let diags: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let r005: Vec<&serde_json::Value> =
        diags["diagnostics"].as_array().into_iter().flatten().filter(|d| d["code"] == "R005").collect();
    assert_eq!(r005.len(), 2, "one per generated cube");
    for d in r005 {
        assert_eq!(d["file"], "tests/errors/r005_in_template/model.yml.jinja");
        assert_eq!((d["line"].as_u64(), d["column"].as_u64()), (Some(7), Some(15)), "`type: cnt` in the template");
    }
}
