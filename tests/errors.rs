//! Broken models under `tests/errors/<case>/`: the rendered human diagnostics of each case are
//! an insta snapshot, the contract for error positions. The case name starts with the code that
//! must be reported (`r009_...` must report R009); `multi_*` cases report several.

use std::path::Path;

#[test]
fn error_cases() {
    let mut dirs: Vec<_> = std::fs::read_dir("tests/errors")
        .expect("tests/errors exists")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.path())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 40, "at least 40 broken models, found {}", dirs.len());
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let checked = cubec::check_model(Path::new(&dir));
        assert!(!checked.diagnostics.is_empty(), "{name}: no diagnostics");
        let code = name.split('_').next().unwrap().to_uppercase();
        if code.len() == 4 {
            assert!(
                checked.diagnostics.iter().any(|d| d.code.as_str() == code),
                "{name}: expected a {code} diagnostic, got {:?}",
                checked.diagnostics.iter().map(|d| d.code.as_str()).collect::<Vec<_>>()
            );
        }
        // Every diagnostic of a file-based check points into a file.
        for d in &checked.diagnostics {
            assert!(d.primary_span().is_some(), "{name}: {} has no position", d.code.as_str());
        }
        let human = cubec::diag::render::to_human(&checked.diagnostics, &checked.sources, false);
        insta::assert_snapshot!(name, human);
    }
}
