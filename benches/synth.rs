//! Synthetic models for the benchmarks: `n` cubes, each with 5 measures, 6 dimensions and one
//! join to the next cube, one file per cube.

use std::path::{Path, PathBuf};

pub fn write_model(dir: &Path, cubes: usize) -> PathBuf {
    let root = dir.join(format!("model_{cubes}"));
    if root.is_dir() {
        return root;
    }
    std::fs::create_dir_all(&root).expect("create model dir");
    for i in 0..cubes {
        let next = (i + 1) % cubes;
        let text = format!(
            r#"cubes:
  - name: cube_{i}
    sql_table: public.table_{i}
    joins:
      - name: cube_{next}
        relationship: many_to_one
        sql: "{{CUBE}}.next_id = {{cube_{next}.id}}"
    measures:
      - name: count
        type: count
      - name: total_amount
        sql: amount
        type: sum
        format: currency
      - name: average_amount
        sql: amount
        type: avg
      - name: users
        sql: user_id
        type: count_distinct
      - name: amount_per_user
        sql: "{{total_amount}} / NULLIF({{users}}, 0)"
        type: number
    dimensions:
      - name: id
        sql: id
        type: number
        primary_key: true
      - name: status
        sql: status
        type: string
      - name: amount
        sql: amount
        type: number
      - name: created_at
        sql: created_at
        type: time
      - name: is_paid
        sql: "{{CUBE}}.status = 'paid'"
        type: boolean
      - name: next_status
        sql: "{{cube_{next}.status}}"
        type: string
"#
        );
        std::fs::write(root.join(format!("cube_{i}.yml")), text).expect("write cube");
    }
    root
}
