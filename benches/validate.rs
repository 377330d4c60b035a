//! `cubec validate` on a generated 1,000-cube model, against the floor of merely parsing the
//! same files with the YAML crate (saphyr-parser events, nothing built).
//!
//!     cargo bench --no-default-features --bench validate

mod synth;

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::PathBuf;

fn parse_only(files: &[PathBuf]) -> usize {
    let mut events = 0;
    for f in files {
        let text = std::fs::read_to_string(f).expect("read");
        for ev in saphyr_parser::Parser::new_from_str(&text) {
            ev.expect("valid yaml");
            events += 1;
        }
    }
    events
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join("cubec-bench");
    let model = synth::write_model(&dir, 1000);
    let files = cubec::load::model_files(&model).expect("list files");
    assert_eq!(files.len(), 1000);
    let checked = cubec::check_model(&model);
    assert!(checked.diagnostics.is_empty(), "the synthetic model is valid");

    let mut g = c.benchmark_group("1000_cubes");
    g.sample_size(20);
    g.bench_function("yaml_parse_only", |b| b.iter(|| parse_only(&files)));
    g.bench_function("validate", |b| b.iter(|| cubec::check_model(&model).diagnostics.len()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
