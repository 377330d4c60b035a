//! Compile time per query (JSON to SQL, in process) on generated 100- and 1,000-cube models.
//!
//!     cargo bench --no-default-features --bench compile

mod synth;

use criterion::{criterion_group, criterion_main, Criterion};
use cubec::query::QueryOptions;
use cubec::sql::{Dialects, RenderOptions};

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join("cubec-bench");
    let dialects = Dialects::builtin();
    let mut g = c.benchmark_group("compile_query");
    for cubes in [100, 1000] {
        let model = synth::write_model(&dir, cubes);
        let checked = cubec::check_model(&model);
        assert!(checked.diagnostics.is_empty());
        let k = cubes / 2;
        let query = serde_json::json!({
            "measures": [format!("cube_{k}.count"), format!("cube_{k}.total_amount"), format!("cube_{k}.amount_per_user")],
            "dimensions": [format!("cube_{k}.status"), format!("cube_{}.status", k + 1)],
            "timeDimensions": [{"dimension": format!("cube_{k}.created_at"), "granularity": "day", "dateRange": ["2024-01-01", "2024-01-31"]}],
            "filters": [{"member": format!("cube_{k}.status"), "operator": "equals", "values": ["paid", "shipped"]}],
            "timezone": "America/Los_Angeles",
            "order": {format!("cube_{k}.total_amount"): "desc"},
            "limit": 100
        });
        let opts = QueryOptions::default();
        for dialect in ["postgres", "bigquery"] {
            let d = dialects.get(dialect).unwrap();
            cubec::compile(&checked.model, &query, &d, &opts, RenderOptions::default()).expect("compiles");
            g.bench_function(format!("{cubes}_cubes/{dialect}"), |b| {
                b.iter(|| {
                    cubec::compile(&checked.model, &query, &d, &opts, RenderOptions::default()).map(|c| c.sql.len())
                })
            });
        }
    }
    g.finish();

    // The access stage's cost: the same query on a policed cube (a tenant's row filter from the
    // security context) and on the same cube without policies.
    let checked = cubec::check_model(std::path::Path::new("tests/models/policed"));
    assert!(!checked.has_errors());
    let d = dialects.get("postgres").unwrap();
    let mut g = c.benchmark_group("compile_policed");
    for cube in ["orders", "orders_open"] {
        let query = serde_json::json!({
            "measures": [format!("{cube}.count"), format!("{cube}.total")],
            "dimensions": [format!("{cube}.status")],
            "filters": [{"member": format!("{cube}.region"), "operator": "equals", "values": ["EU"]}],
        });
        let opts = QueryOptions {
            security_context: serde_json::json!({"groups": ["tenant"], "tenant": "t1"}),
            ..QueryOptions::default()
        };
        cubec::compile(&checked.model, &query, &d, &opts, RenderOptions::default()).expect("compiles");
        g.bench_function(cube, |b| {
            b.iter(|| cubec::compile(&checked.model, &query, &d, &opts, RenderOptions::default()).map(|c| c.sql.len()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
