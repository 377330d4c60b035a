//! `cubec validate --deep`: the member matrix over a generated model passes and counts what it
//! compiled; a model with a broken member and an unsupported combination fails and names them.

#[path = "../benches/synth.rs"]
mod synth;

use std::process::Command;

fn cubec(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cubec")).args(args).output().expect("cubec runs")
}

#[test]
fn a_generated_model_passes_the_matrix_and_every_statement_is_counted() {
    let dir = std::env::temp_dir().join(format!("cubec_deep_{}", std::process::id()));
    let model = synth::write_model(&dir, 20);
    let out = cubec(&["validate", "--deep", "--format", "json", "--model", &model.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let deep = &body["deep"];
    // Per cube: 5 measures, each alone and with the 4 plain dimensions and 8 granularities of
    // `created_at` of its own cube and of the cube it joins: 5 x (1 + 2 x 12) = 125.
    assert_eq!(deep["queries"], 20 * 125);
    assert_eq!(deep["statements"], 20 * 125 * 8, "every query compiled and parsed for the 8 dialects");
    assert_eq!(deep["failures"], serde_json::json!([]));
}

#[test]
fn a_broken_member_and_an_unsupported_combination_are_reported_with_their_members() {
    let dir = std::env::temp_dir().join(format!("cubec_deep_broken_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(
        dir.join("m.yml"),
        r#"cubes:
  - name: orders
    sql_table: orders
    measures:
      - name: count
        type: count
      - name: running_total
        sql: amount
        type: sum
        rolling_window:
          trailing: unbounded
      - name: running_ratio
        sql: "{count}"
        type: number
        rolling_window:
          trailing: unbounded
    dimensions:
      - name: id
        sql: id
        type: number
        primary_key: true
      - name: half_written
        sql: "(amount"
        type: number
      - name: created_at
        sql: created_at
        type: time
        granularities:
          - name: bimonth
            interval: 2 months
"#,
    )
    .expect("model");
    let out = cubec(&["validate", "--deep", "--dialect", "postgres,bigquery", "--model", &dir.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FAIL [postgres] orders.count + orders.half_written: the SQL does not parse"), "{stderr}");
    assert!(stderr.contains("FAIL [bigquery] orders.count + orders.half_written"), "{stderr}");
    // Rolling windows over a 2-month custom granularity compile; over a number measure they do not.
    assert!(!stderr.contains("orders.running_total + orders.created_at.bimonth"), "{stderr}");
    assert!(stderr.contains("FAIL [postgres] orders.running_ratio + orders.created_at.day: Q016"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("x 2 dialects"), "{stdout}");
}
