//! Any text as a Cube JavaScript model file: converting it never panics, and whatever converts
//! loads (or reports) cleanly, with diagnostics that render against the JavaScript.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = cubec::import_js::convert(text);
    let checked = cubec::check_texts(vec![("model.js".into(), data.to_vec())], None);
    let _ = cubec::diag::render::to_human(&checked.diagnostics, &checked.sources, false);
    let _ = cubec::diag::render::to_json(&checked.diagnostics, &checked.sources);
});
