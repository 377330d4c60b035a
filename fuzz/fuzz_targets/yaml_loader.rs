//! Any bytes as a model file: loading and resolving never panics, and every diagnostic renders.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let checked = cubec::check_texts(vec![("model.yml".into(), data.to_vec())], None);
    let _ = cubec::diag::render::to_human(&checked.diagnostics, &checked.sources, false);
    let _ = cubec::diag::render::to_json(&checked.diagnostics, &checked.sources);
});
