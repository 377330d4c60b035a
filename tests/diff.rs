//! `cubec diff` over a real git repository made in a temp dir: what changed between two
//! revisions and between a revision and the work tree, the SQL of the queries that changed,
//! `--fail-on-change`, and a work tree left exactly as it was.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").args(args).current_dir(dir).output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn cubec(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cubec")).args(args).current_dir(dir).output().expect("cubec runs")
}

const V1: &str = r#"cubes:
  - name: orders
    sql_table: orders
    measures:
      - name: count
        type: count
      - name: revenue
        type: sum
        sql: amount
    dimensions:
      - name: id
        sql: id
        type: number
        primary_key: true
      - name: status
        sql: status
        type: string
    segments:
      - name: big
        sql: "{CUBE}.amount > 100"
"#;

fn repo() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cubec_diff_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("model/queries")).expect("dirs");
    git(&dir, &["init", "-q"]);
    git(&dir, &["config", "user.email", "test@example.com"]);
    git(&dir, &["config", "user.name", "test"]);
    std::fs::write(dir.join("model/orders.yml"), V1).expect("write");
    std::fs::write(
        dir.join("model/queries/revenue_by_status.json"),
        r#"{"measures": ["orders.revenue"], "dimensions": ["orders.status"]}"#,
    )
    .expect("write");
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "v1"]);
    git(&dir, &["tag", "v1"]);
    let v2 = V1
        .replace("        sql: status\n", "        sql: lower(status)\n")
        .replace("    segments:\n      - name: big\n        sql: \"{CUBE}.amount > 100\"\n", "")
        .replace(
            "      - name: revenue\n",
            "      - name: paid_count\n        type: count\n        filters:\n          - sql: \"{CUBE}.status = 'paid'\"\n      - name: revenue\n",
        );
    std::fs::write(dir.join("model/orders.yml"), v2).expect("write");
    std::fs::write(
        dir.join("model/users.yml"),
        "cubes:\n  - name: users\n    sql_table: users\n    measures:\n      - name: count\n        type: count\n",
    )
    .expect("write");
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "v2"]);
    git(&dir, &["tag", "v2"]);
    dir
}

#[test]
fn two_revisions_and_the_work_tree() {
    let dir = repo();
    let out = cubec(&dir, &["diff", "--base", "v1", "--head", "v2", "--model", "model", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let d: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(d["added"], serde_json::json!(["users"]));
    assert_eq!(d["members_added"], serde_json::json!(["orders.paid_count"]));
    assert_eq!(d["members_removed"], serde_json::json!(["orders.big"]));
    assert_eq!(d["members_changed"], serde_json::json!([["orders.status", ["sql"]]]));
    let changes = d["sql_changed"].as_array().cloned().unwrap_or_default();
    let saved = changes
        .iter()
        .find(|c| c["query"] == "queries/revenue_by_status.json" && c["dialect"] == "postgres")
        .expect("the saved query's postgres SQL changed");
    let diff = saved["diff"].as_str().unwrap_or_default();
    assert!(diff.contains("-  \"orders\".status \"orders__status\""), "{diff}");
    assert!(diff.contains("+  lower(status) \"orders__status\""), "{diff}");
    // The measure that exists only in v2 shows as not compiling in v1.
    assert!(changes
        .iter()
        .any(|c| c["query"] == "orders.paid_count" && c["diff"].as_str().unwrap_or("").contains("does not compile")));

    // Work tree against v2: a format change, no SQL change; the work tree stays untouched.
    let edited = std::fs::read_to_string(dir.join("model/orders.yml"))
        .expect("read")
        .replace("        sql: amount\n", "        sql: amount\n        format: currency\n");
    std::fs::write(dir.join("model/orders.yml"), &edited).expect("write");
    let status_before = git(&dir, &["status", "--porcelain"]);
    let out = cubec(&dir, &["diff", "--base", "v2", "--model", "model", "--format", "json", "--fail-on-change"]);
    assert_eq!(out.status.code(), Some(1), "something changed");
    let d: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(d["members_changed"], serde_json::json!([["orders.revenue", ["format"]]]));
    assert_eq!(d["sql_changed"], serde_json::json!([]));
    assert_eq!(git(&dir, &["status", "--porcelain"]), status_before);
    assert_eq!(std::fs::read_to_string(dir.join("model/orders.yml")).expect("read"), edited);

    // Markdown for a pull request; no change gives exit 0 even with --fail-on-change.
    let out = cubec(&dir, &["diff", "--base", "v1", "--head", "v2", "--model", "model", "--format", "markdown"]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.starts_with("### cubec diff: `v1` → `v2`")
            && md.contains("```diff")
            && md.contains("| `orders.status` | sql |"),
        "{md}"
    );
    let out = cubec(&dir, &["diff", "--base", "v2", "--head", "v2", "--model", "model", "--fail-on-change"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no change"));

    let out = cubec(&dir, &["diff", "--base", "no-such-tag", "--model", "model"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-tag"), "{}", String::from_utf8_lossy(&out.stderr));
}
