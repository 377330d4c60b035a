//! The commands that check a model: `validate` (and `--deep`), `diff`, `test`, `docs`.

use super::common::*;
use crate::{DiffFormat, TestFormat};
use cubec::diag::render::{self, DiagFormat};
use std::path::PathBuf;
use std::process::ExitCode;

/// Returns the exit code, and whether the model is free of errors.
/// With `deep` and JSON, a valid model's diagnostics are printed by the deep check instead, so
/// the output stays one JSON document.
pub(crate) fn validate(model: Option<PathBuf>, format: DiagFormat, deep: bool) -> (ExitCode, bool) {
    let dir = model.unwrap_or_else(cubec::load::default_model_dir);
    let checked = cubec::check_model(&dir);
    let out = match format {
        DiagFormat::Human => {
            if checked.diagnostics.is_empty() {
                format!("{}: {} cubes and views, no problems\n", dir.display(), checked.model.cubes.len())
            } else {
                render::to_human_styled(&checked.diagnostics, &checked.sources, render::HumanStyle::for_stderr())
            }
        }
        DiagFormat::Json => render::to_json(&checked.diagnostics, &checked.sources) + "\n",
        DiagFormat::Github => render::to_github(&checked.diagnostics, &checked.sources),
    };
    if format == DiagFormat::Human && !checked.diagnostics.is_empty() {
        eprint!("{out}");
    } else if !(deep && format == DiagFormat::Json && !checked.has_errors()) {
        print!("{out}");
    }
    if checked.has_errors() {
        (ExitCode::from(1), false)
    } else {
        (ExitCode::SUCCESS, true)
    }
}

/// `validate --deep`: the member matrix over every dialect, with a progress bar on a terminal.
pub(crate) fn deep_validate(model: Option<PathBuf>, format: DiagFormat, dialect: Option<&str>) -> ExitCode {
    let (_, checked, dialects) = match load_model(model, None) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let chosen = match choose_dialects(&dialects, dialect) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let queries = cubec::deep::matrix(&checked.model);
    let total = queries.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    // indicatif draws only on a terminal; JSON output gets no bar at all.
    let bar = if format == DiagFormat::Human {
        indicatif::ProgressBar::new(total as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let style = indicatif::ProgressStyle::with_template("[{bar:30}] {pos}/{len} queries ({eta} left)");
    bar.set_style(style.map(|s| s.progress_chars("#>-")).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
    let report = std::thread::scope(|scope| {
        let worker = scope.spawn(|| cubec::deep::check(&checked.model, &queries, &chosen, &done));
        while !worker.is_finished() {
            bar.set_position(done.load(std::sync::atomic::Ordering::Relaxed) as u64);
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        bar.finish_and_clear();
        worker.join()
    });
    let Ok(report) = report else {
        eprintln!("error: the deep check stopped unexpectedly");
        return ExitCode::from(1);
    };
    if format == DiagFormat::Json {
        let diagnostics: serde_json::Value =
            serde_json::from_str(&render::to_json(&checked.diagnostics, &checked.sources)).unwrap_or_default();
        let body = serde_json::json!({ "diagnostics": diagnostics, "deep": report });
        println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
    } else {
        for f in &report.failures {
            eprintln!("FAIL [{}] {}: {}", f.dialect, f.members.join(" + "), f.message);
        }
        println!(
            "deep check: {} queries x {} dialects = {} statements compiled and parsed in {:.2} s; \
             {} combinations without a join path skipped; {} failures",
            report.queries,
            chosen.len(),
            report.statements,
            report.elapsed.as_secs_f64(),
            report.unreachable,
            report.failures.len()
        );
    }
    if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

pub(crate) fn model_diff(
    base: &str,
    head: Option<&str>,
    model: Option<PathBuf>,
    format: DiffFormat,
    fail_on_change: bool,
    dialect: Option<&str>,
) -> ExitCode {
    let dir = model.unwrap_or_else(cubec::load::default_model_dir);
    let dialects = match cubec::sql::Dialects::load(None) {
        Ok(d) => d,
        Err(diags) => {
            report(&diags, &cubec::diag::SourceMap::default());
            return ExitCode::from(1);
        }
    };
    let chosen = match choose_dialects(&dialects, dialect) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let versions = cubec::diff::at_revision(&dir, base).and_then(|b| {
        let h = match head {
            Some(rev) => cubec::diff::at_revision(&dir, rev)?,
            None => cubec::diff::work_tree(&dir)?,
        };
        Ok((b, h))
    });
    let (b, h) = match versions {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let d = cubec::diff::diff(&b, &h, &cubec::diff::saved_queries(&dir), &chosen, Some(&dir.join("macros")));
    match format {
        DiffFormat::Human => print!("{}", cubec::diff::to_human(&d)),
        DiffFormat::Markdown => print!("{}", cubec::diff::to_markdown(&d)),
        DiffFormat::Json => println!("{}", serde_json::to_string_pretty(&d).unwrap_or_default()),
    }
    if fail_on_change && !d.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub(crate) fn write_docs(model: Option<PathBuf>, out: &std::path::Path) -> ExitCode {
    let (_, checked, dialects) = match load_model(model, None) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let text = match cubec::docs::catalog(&checked.model, &dialects) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let path = out.join("kpis.md");
    let tmp = out.join(".kpis.md.tmp");
    let written = std::fs::create_dir_all(out)
        .and_then(|_| std::fs::write(&tmp, &text))
        .and_then(|_| std::fs::rename(&tmp, &path));
    match written {
        Ok(()) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write `{}`: {e}", path.display());
            ExitCode::from(1)
        }
    }
}

pub(crate) fn run_tests(
    model: Option<PathBuf>,
    db: Option<String>,
    selection: cubec::testing::Selection,
    format: TestFormat,
    opts: &cubec::query::QueryOptions,
) -> ExitCode {
    let (dir, checked, dialects) = match load_model(model, None) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let url = db.or_else(|| std::env::var("CUBEC_DB_URL").ok().filter(|u| !u.is_empty()));
    let files = match cubec::testing::test_files(&dir.join("tests")) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if files.is_empty() {
        eprintln!("error: no test files under `{}`", dir.join("tests").display());
        return ExitCode::from(1);
    }
    let mut outcomes = Vec::new();
    for f in &files {
        let results = cubec::testing::run_file(&checked.model, &dialects, url.as_deref(), f, &selection, opts);
        if format == TestFormat::Human {
            for o in &results {
                match &o.failure {
                    None => println!("PASS {} > {} ({:.0} ms)", o.file, o.name, o.millis),
                    Some(why) => {
                        println!("FAIL {} > {}", o.file, o.name);
                        for line in why.lines() {
                            println!("    {line}");
                        }
                    }
                }
            }
        }
        outcomes.extend(results);
    }
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    match format {
        TestFormat::Human => println!("\n{} passed, {failed} failed", outcomes.len() - failed),
        TestFormat::Json => println!("{}", serde_json::to_string_pretty(&outcomes).unwrap_or_default()),
        TestFormat::Junit => print!("{}", cubec::testing::junit(&outcomes)),
    }
    if outcomes.is_empty() {
        eprintln!("error: no test matched");
        return ExitCode::from(1);
    }
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `cubec render FILE`: the template's output, or its error with the template line.
pub(crate) fn render_template(file: &std::path::Path, model: Option<PathBuf>) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", file.display());
            return ExitCode::from(1);
        }
    };
    let dir = model.or_else(|| file.parent().map(PathBuf::from)).unwrap_or_default();
    match cubec::load::jinja::render(file, text.trim_start_matches('\u{feff}'), Some(&dir.join("macros"))) {
        Ok((out, _)) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let at = e.line.map(|l| format!(":{l}")).unwrap_or_default();
            eprintln!("error: {}{at}: the template does not render: {}", file.display(), e.message);
            ExitCode::from(1)
        }
    }
}

/// `cubec import-js`: each .js file under `input` to a .yml file under `out`, written atomically;
/// every construct that cannot be converted is reported with file:line:col (exit 1).
pub(crate) fn import_js(input: &std::path::Path, out: &std::path::Path) -> ExitCode {
    let files: Vec<PathBuf> = if input.is_file() {
        vec![input.to_path_buf()]
    } else {
        match cubec::files::Walk::deep(&["js"]).files(input) {
            Ok(found) => found,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    };
    if files.is_empty() {
        eprintln!("error: no .js files under `{}`", input.display());
        return ExitCode::from(1);
    }
    let mut failed = 0;
    for f in &files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", f.display());
                failed += 1;
                continue;
            }
        };
        match cubec::import_js::convert(&text) {
            Ok((yaml, _)) => {
                // The same relative path under `out`, with `.yml` for `.js`.
                let rel = match f.strip_prefix(input) {
                    Ok(r) if !r.as_os_str().is_empty() => r.to_path_buf(),
                    _ => f.file_name().map(PathBuf::from).unwrap_or_default(),
                };
                let target = out.join(rel).with_extension("yml");
                let tmp = target.with_extension("yml.tmp");
                let written = target
                    .parent()
                    .map(std::fs::create_dir_all)
                    .unwrap_or(Ok(()))
                    .and_then(|_| std::fs::write(&tmp, &yaml))
                    .and_then(|_| std::fs::rename(&tmp, &target));
                match written {
                    Ok(()) => println!("{} -> {}", f.display(), target.display()),
                    Err(e) => {
                        eprintln!("error: cannot write `{}`: {e}", target.display());
                        failed += 1;
                    }
                }
            }
            Err(errors) => {
                failed += 1;
                let src = cubec::diag::SourceFile::new(f.clone(), text);
                for e in errors {
                    let (l, c) = src.line_col(e.offset);
                    eprintln!("error: {}:{l}:{c}: {}", f.display(), e.message);
                }
            }
        }
    }
    if failed > 0 {
        eprintln!("error: {failed} of {} files could not be converted", files.len());
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
