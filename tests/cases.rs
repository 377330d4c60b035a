//! Query cases under `tests/cases/**/*.yml`: each names a model under `tests/models/`, a query
//! and optionally a fixed "now". Its SQL for every dialect is an insta snapshot, and every
//! statement must parse with sqlparser's matching dialect. Cases with `expect_error: true`
//! snapshot the error instead. A case's `security_context` is the caller's (access policies).

use cubec::query::QueryOptions;
use cubec::sql::{check_parses, Dialects, RenderOptions};
use std::collections::HashMap;
use std::path::Path;

const DIALECTS: &[&str] = &["postgres", "duckdb", "bigquery", "snowflake"];

fn yaml_to_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("read case");
    let node = cubec::load::yaml::parse(&text, cubec::diag::FileId(0)).expect("case is valid YAML");
    node.to_json()
}

#[test]
fn query_cases() {
    let dialects = Dialects::builtin();
    let mut models: HashMap<String, cubec::Checked> = HashMap::new();
    let mut count = 0;
    insta::glob!("cases/**/*.yml", |path| {
        count += 1;
        let case = yaml_to_json(path);
        let model_name = case["model"].as_str().expect("case names a model").to_string();
        let checked = models.entry(model_name.clone()).or_insert_with(|| {
            let c = cubec::check_model(&Path::new("tests/models").join(&model_name));
            assert!(!c.has_errors(), "model {model_name} is valid");
            c
        });
        let mut opts = QueryOptions::default();
        if let Some(now) = case["now"].as_str() {
            opts.now = now.parse().expect("now is an RFC 3339 instant");
        } else {
            opts.now = "2024-03-13T15:30:00Z".parse().unwrap();
        }
        if let Some(ctx) = case.get("security_context") {
            opts.security_context = ctx.clone();
        }
        let query = &case["query"];
        let expect_error = case["expect_error"].as_bool().unwrap_or(false);
        let mut out = String::new();
        if expect_error {
            let d = dialects.get("postgres").unwrap();
            let err = cubec::compile(&checked.model, query, &d, &opts, RenderOptions::default())
                .expect_err("the case expects an error");
            out.push_str(&cubec::diag::render::to_human(&err, &checked.sources, false));
        } else {
            for (i, name) in DIALECTS.iter().enumerate() {
                let d = dialects.get(name).unwrap();
                let compiled = cubec::compile(&checked.model, query, &d, &opts, RenderOptions::default())
                    .unwrap_or_else(|e| {
                        panic!("{}: {name}: {:?}", path.display(), e.iter().map(|d| &d.message).collect::<Vec<_>>())
                    });
                if let Err(e) = check_parses(&d, &compiled.sql) {
                    panic!("{}: {name} SQL does not parse: {e}\n{}", path.display(), compiled.sql);
                }
                let inlined = cubec::compile(&checked.model, query, &d, &opts, RenderOptions { inline: true }).unwrap();
                if let Err(e) = check_parses(&d, &inlined.sql) {
                    panic!("{}: {name} inlined SQL does not parse: {e}\n{}", path.display(), inlined.sql);
                }
                if i == 0 {
                    out.push_str("-- aliases\n");
                    for (a, m) in &compiled.alias_to_member {
                        out.push_str(&format!("--   {a} -> {m}\n"));
                    }
                }
                out.push_str(&format!(
                    "-- {name}\n{}\n-- params: {}\n",
                    compiled.sql,
                    serde_json::to_string(&compiled.params).unwrap()
                ));
                if let Some(t) = &compiled.total {
                    check_parses(&d, &t.sql)
                        .unwrap_or_else(|e| panic!("{}: {name} total SQL does not parse: {e}", path.display()));
                    out.push_str(&format!(
                        "-- total ({name})\n{}\n-- params: {}\n",
                        t.sql,
                        serde_json::to_string(&t.params).unwrap()
                    ));
                }
                for w in &compiled.warnings {
                    out.push_str(&format!("-- warning: {w}\n"));
                }
            }
        }
        insta::assert_snapshot!(out);
    });
    assert!(count >= 60, "at least 60 query cases, found {count}");
}
