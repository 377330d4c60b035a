//! Stage 1, load: model files on disk to a [`RawModel`].
//!
//! Input: a model directory. Output: the [`SourceMap`] of every file read, the [`RawModel`] of
//! everything that parsed, and the diagnostics of what did not. A broken file is reported and
//! skipped; the others are still read, so one run shows every problem.

pub mod jinja;
pub mod keys;
mod obj;
pub mod raw;
pub mod read;
mod read_preagg;
mod refresh_key;
pub mod yaml;

use crate::diag::{Code, Diagnostic, FileId, SourceMap, Span};
pub use raw::RawModel;
use std::path::{Path, PathBuf};

/// Largest model file accepted.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// What loading a model directory produced.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: SourceMap,
    pub raw: RawModel,
    pub diagnostics: Vec<Diagnostic>,
}

/// The model directory to use when none is given: `./metrics`, else Cube's `./model`.
pub fn default_model_dir() -> PathBuf {
    for candidate in ["metrics", "model"] {
        if Path::new(candidate).is_dir() {
            return PathBuf::from(candidate);
        }
    }
    PathBuf::from("metrics")
}

/// The folders directly under a model directory that hold something other than model files.
pub const NON_MODEL_FOLDERS: &[&str] = &["data", "tests", "queries", "macros"];

/// Model files under `dir` (`*.yml`, `*.yaml`, Cube's `*.js`, `*.yml.jinja` templates), at any
/// depth, sorted, by the walk every command shares ([`crate::files`]); the folders of
/// [`NON_MODEL_FOLDERS`] are skipped.
pub fn model_files(dir: &Path) -> Result<Vec<PathBuf>, crate::files::WalkError> {
    crate::files::Walk { skip_top: NON_MODEL_FOLDERS, ..crate::files::Walk::deep(MODEL_EXTENSIONS) }.files(dir)
}

const MODEL_EXTENSIONS: &[&str] = &["yml", "yaml", "js", "yml.jinja", "yaml.jinja"];

/// Whether a path relative to the model directory (a file in a git tree, which is not walked)
/// is a model file by the same rules as [`model_files`].
pub fn is_model_path(rel: &Path) -> bool {
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let skipped_top = parts.len() > 1 && NON_MODEL_FOLDERS.contains(&parts[0].as_str());
    crate::files::Walk::deep(MODEL_EXTENSIONS).wants(rel) && !skipped_top && !parts.iter().any(|p| p.starts_with('.'))
}

/// Loads every model file under `dir`.
pub fn load_dir(dir: &Path) -> Loaded {
    let mut loaded = Loaded::default();
    if !dir.is_dir() {
        loaded.diagnostics.push(
            Diagnostic::error(Code::NoModel, format!("model directory `{}` does not exist", dir.display()))
                .with_help("pass --model DIR, or run from a folder that has `metrics/` or `model/`"),
        );
        return loaded;
    }
    let files = match model_files(dir) {
        Ok(f) => f,
        Err(e) => {
            loaded.diagnostics.push(Diagnostic::error(Code::Io, e.to_string()));
            return loaded;
        }
    };
    if files.is_empty() {
        loaded.diagnostics.push(
            Diagnostic::error(Code::NoModel, format!("no model files (*.yml, *.yaml) under `{}`", dir.display()))
                .with_help("model files hold `cubes:` and `views:` lists"),
        );
    }
    let macros = dir.join("macros");
    let outcomes = load_files_parallel(&files, &macros);
    for (path, outcome) in files.into_iter().zip(outcomes) {
        loaded.sources.add_rendered(path, outcome.text, outcome.template);
        loaded.raw.cubes.extend(outcome.raw.cubes);
        loaded.raw.views.extend(outcome.raw.views);
        loaded.diagnostics.extend(outcome.diagnostics);
    }
    loaded
}

/// Loads model files given as (path, bytes) pairs, as [`load_dir`] would have read them:
/// for callers whose model is not on disk (tests, fuzzing, rendered templates).
/// Templates (`.yml.jinja`) are rendered, importing macros from `macros` when given.
pub fn load_texts(files: Vec<(PathBuf, Vec<u8>)>, macros: Option<&Path>) -> Loaded {
    let mut loaded = Loaded::default();
    for (i, (path, bytes)) in files.into_iter().enumerate() {
        let mut outcome =
            FileOutcome { text: String::new(), template: None, raw: RawModel::default(), diagnostics: Vec::new() };
        if bytes.len() as u64 > MAX_FILE_BYTES {
            outcome.diagnostics.push(
                Diagnostic::error(
                    Code::InputLimit,
                    format!(
                        "`{}` is {} bytes, over the {MAX_FILE_BYTES}-byte limit for a model file",
                        path.display(),
                        bytes.len()
                    ),
                )
                .at(Span::new(FileId(i as u32), 0, 0), "this file"),
            );
        } else if jinja::is_template(&path) {
            load_template(&path, bytes, FileId(i as u32), macros.unwrap_or(Path::new("")), &mut outcome);
        } else if path.extension().is_some_and(|x| x == "js") {
            load_js(bytes, FileId(i as u32), &mut outcome);
        } else {
            load_text(bytes, FileId(i as u32), &mut outcome);
        }
        loaded.sources.add_rendered(path, outcome.text, outcome.template);
        loaded.raw.cubes.extend(outcome.raw.cubes);
        loaded.raw.views.extend(outcome.raw.views);
        loaded.diagnostics.extend(outcome.diagnostics);
    }
    loaded
}

/// What reading one file produced. The text is kept even when the file is broken, so that its
/// diagnostics can show the source.
pub struct FileOutcome {
    pub text: String,
    /// For a `.yml.jinja` file that rendered: the template (`text` is the rendered output).
    pub template: Option<crate::diag::Template>,
    pub raw: RawModel,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads and parses files on every available core (rayon's pool; see BENCHMARKS.md). File `i`
/// gets `FileId(i)` and the outcomes come back in file order, so the result is the same as a
/// sequential run.
fn load_files_parallel(files: &[PathBuf], macros: &Path) -> Vec<FileOutcome> {
    use rayon::prelude::*;
    files.par_iter().enumerate().map(|(i, p)| load_one(p, FileId(i as u32), macros)).collect()
}

/// Reads one file: size limit, bytes, decoding, YAML, raw model.
pub fn load_one(path: &Path, file: FileId, macros: &Path) -> FileOutcome {
    let mut out =
        FileOutcome { text: String::new(), template: None, raw: RawModel::default(), diagnostics: Vec::new() };
    let bytes = match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_BYTES => {
            out.diagnostics.push(
                Diagnostic::error(
                    Code::InputLimit,
                    format!(
                        "`{}` is {} bytes, over the {MAX_FILE_BYTES}-byte limit for a model file",
                        path.display(),
                        m.len()
                    ),
                )
                .at(Span::new(file, 0, 0), "this file")
                .with_help("split the model into several files"),
            );
            return out;
        }
        _ => match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                out.diagnostics.push(
                    Diagnostic::error(Code::Io, format!("cannot read `{}`: {e}", path.display()))
                        .at(Span::new(file, 0, 0), "this file"),
                );
                return out;
            }
        },
    };
    if jinja::is_template(path) {
        load_template(path, bytes, file, macros, &mut out);
    } else if path.extension().is_some_and(|x| x == "js") {
        load_js(bytes, file, &mut out);
    } else {
        load_text(bytes, file, &mut out);
    }
    out
}

/// A Cube JavaScript model file: converted to YAML (see [`crate::import_js`]) and read as such;
/// positions point into the JavaScript.
pub fn load_js(bytes: Vec<u8>, file: FileId, out: &mut FileOutcome) {
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => return load_text(e.into_bytes(), file, out),
    };
    match crate::import_js::convert(&text) {
        Ok((yaml, line_map)) => {
            load_text(yaml.into_bytes(), file, out);
            out.template =
                Some(crate::diag::Template { text, line_map, output: "converted YAML", command: "cubec import-js" });
        }
        Err(errors) => {
            for e in errors {
                let at = (e.offset as usize).min(text.len());
                out.diagnostics.push(
                    Diagnostic::error(Code::JsModel, format!("cannot convert this JavaScript model: {}", e.message))
                        .at(Span::new(file, at, at), "here")
                        .with_help("cubec reads cube(...) and view(...) calls whose objects are plain data; write the rest in YAML"),
                );
            }
            out.text = text;
        }
    }
}

/// Renders a `.yml.jinja` file, then reads the output as [`load_text`] would. A template error
/// points at the template's line; problems in the output point back at the template too.
pub fn load_template(path: &Path, bytes: Vec<u8>, file: FileId, macros: &Path, out: &mut FileOutcome) {
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => return load_text(e.into_bytes(), file, out),
    };
    match jinja::render(path, text.trim_start_matches('\u{feff}'), Some(macros)) {
        Ok((rendered, template)) => {
            load_text(rendered.into_bytes(), file, out);
            out.template = Some(template);
        }
        Err(e) => {
            let src = crate::diag::SourceFile::new(path.to_path_buf(), text.clone());
            let (start, end) = src.template_line_range(e.line.unwrap_or(1));
            out.text = text;
            out.diagnostics.push(
                Diagnostic::error(Code::Template, format!("the template does not render: {}", e.message))
                    .at(Span::new(file, start, end), "here")
                    .with_help("templates are minijinja (Jinja2 syntax); macros come from the model's macros/ folder"),
            );
        }
    }
}

/// Decodes, parses and reads one file's bytes into `out`.
pub fn load_text(bytes: Vec<u8>, file: FileId, out: &mut FileOutcome) {
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let prefix_len = String::from_utf8_lossy(&e.as_bytes()[..valid]).len();
            out.text = String::from_utf8_lossy(e.as_bytes()).to_string();
            out.diagnostics.push(
                Diagnostic::error(Code::Encoding, "the file is not valid UTF-8")
                    .at(Span::new(file, prefix_len, prefix_len + 1), "invalid byte here")
                    .with_help("save the file as UTF-8"),
            );
            return;
        }
    };
    out.text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    match yaml::parse(&out.text, file) {
        Ok(root) => read::read_file(&root, &mut out.raw, &mut out.diagnostics),
        Err(diags) => out.diagnostics.extend(diags),
    }
}
