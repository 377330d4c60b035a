//! Any text as a member's `sql`: splitting it into text and `{references}` never panics, and a
//! model using it as a dimension resolves (or reports) cleanly and renders its errors.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    let _ = cubec::resolve::refs::split(sql);
    let quoted = serde_json::to_string(sql).unwrap_or_default();
    let model = format!(
        "cubes:\n  - name: t\n    sql_table: t\n    measures:\n      - name: c\n        type: sum\n        sql: {quoted}\n    \
         dimensions:\n      - name: d\n        sql: {quoted}\n        type: string\n"
    );
    let checked = cubec::check_texts(vec![("model.yml".into(), model.into_bytes())], None);
    let _ = cubec::diag::render::to_human(&checked.diagnostics, &checked.sources, false);
});
