//! Any bytes as a query, compiled for every dialect: compiling never panics, and whatever
//! compiles parses with the dialect's sqlparser grammar, with parameters and inlined.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let opts = cubec::query::QueryOptions {
        now: "2024-03-13T15:30:00Z".parse().unwrap_or_default(),
        ..cubec::query::QueryOptions::default()
    };
    let model = &common::shop().model;
    for name in ["postgres", "bigquery", "snowflake", "duckdb"] {
        let Ok(dialect) = common::dialects().get(name) else { panic!("dialect {name}") };
        for inline in [false, true] {
            if let Ok(c) = cubec::compile(model, &json, &dialect, &opts, cubec::sql::RenderOptions { inline }) {
                if let Err(e) = cubec::sql::check_parses(&dialect, &c.sql) {
                    panic!("{name} SQL does not parse ({e}):\n{}\nquery: {json}", c.sql);
                }
            }
        }
    }
});
