//! Diagnostics as values.
//!
//! Input: whatever a stage finds wrong. Output: [`Diagnostic`] values that carry a stable code,
//! a message, labelled [`Span`]s and a help line. Line and column are computed only when a
//! diagnostic is rendered (see [`render`]), so stages never format positions themselves.

pub mod codes;
pub mod render;

use std::path::{Path, PathBuf};

pub use codes::Code;

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range inside one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span { file, start: start as u32, end: end.max(start) as u32 }
    }

    /// A sub-range of this span, `offset` bytes in and `len` bytes long, clamped to the span.
    pub fn sub(&self, offset: usize, len: usize) -> Span {
        let start = (self.start as usize + offset).min(self.end as usize);
        let end = (start + len).min(self.end as usize).max(start);
        Span { file: self.file, start: start as u32, end: end as u32 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One problem found in a model, a query or a dialect file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// The first label is the primary location.
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic { code, severity: Severity::Error, message: message.into(), labels: Vec::new(), help: None }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    pub fn at(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { span, message: label.into() });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn maybe_help(mut self, help: Option<String>) -> Diagnostic {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The span of the `nth` occurrence of `needle` inside the source text covered by `span`, or
/// `span` itself when it is not there. Positions inside scalars (a reference inside a `sql`
/// string, a step of a `join_path`) are found this way, also in quoted and block scalars.
pub fn locate(sources: &SourceMap, span: Span, needle: &str, nth: usize) -> Span {
    if (span.file.0 as usize) >= sources.len() || needle.is_empty() {
        return span;
    }
    let src = sources.text(span.file);
    let (s, e) = (span.start as usize, (span.end as usize).min(src.len()));
    src.get(s..e)
        .and_then(|raw| raw.match_indices(needle).nth(nth))
        .map(|(i, _)| Span::new(span.file, s + i, s + i + needle.len()))
        .unwrap_or(span)
}

/// Every diagnostic list can answer "did anything fail?".
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}

/// One loaded source file: its display path, its text and where its lines start.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    /// What was parsed: for a template, the rendered output.
    pub text: String,
    line_starts: Vec<u32>,
    /// For a `.yml.jinja` file, the template that produced `text`.
    pub template: Option<Template>,
}

/// A template and, for each line of its rendered output, the 1-based template line it came from.
#[derive(Debug, Clone)]
pub struct Template {
    pub text: String,
    pub line_map: Vec<u32>,
    /// What the parsed text is called in messages, and the command that prints it.
    pub output: &'static str,
    pub command: &'static str,
}

/// Where a diagnostic points, as shown to the user.
pub struct Location {
    pub line: usize,
    pub column: usize,
    /// For a template: the line of the rendered output the problem was found on.
    pub rendered_line: Option<usize>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> SourceFile {
        let mut line_starts = vec![0u32];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i as u32 + 1);
            }
        }
        SourceFile { path, text, line_starts, template: None }
    }

    /// The position to show for a byte offset: in the template when there is one (the column
    /// only when the template line is the rendered line unchanged), else in the text.
    pub fn locate(&self, offset: u32) -> Location {
        let (line, column) = self.line_col(offset);
        let Some(t) = &self.template else { return Location { line, column, rendered_line: None } };
        let tline = t.line_map.get(line - 1).copied().unwrap_or(1) as usize;
        let same = self.text.lines().nth(line - 1) == t.text.lines().nth(tline - 1);
        Location { line: tline, column: if same { column } else { 1 }, rendered_line: Some(line) }
    }

    /// The byte range of 1-based `line` of the template (or of the text).
    pub fn template_line_range(&self, line: usize) -> (usize, usize) {
        let text = self.template.as_ref().map(|t| t.text.as_str()).unwrap_or(&self.text);
        let mut start = 0;
        for (i, l) in text.split('\n').enumerate() {
            if i + 1 == line {
                return (start, start + l.len());
            }
            start += l.len() + 1;
        }
        (0, 0)
    }

    /// 1-based line and 1-based column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let offset = offset.min(self.text.len() as u32);
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line] as usize;
        let mut end = offset as usize;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let col = self.text[start..end].chars().count();
        (line + 1, col + 1)
    }
}

/// All files of one run, addressed by [`FileId`].
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        self.files.push(SourceFile::new(path, text));
        FileId(self.files.len() as u32 - 1)
    }

    /// A rendered template: `text` is what was parsed, `template` where it came from.
    pub fn add_rendered(&mut self, path: PathBuf, text: String, template: Option<Template>) -> FileId {
        let mut f = SourceFile::new(path, text);
        f.template = template;
        self.files.push(f);
        FileId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn path(&self, id: FileId) -> &Path {
        &self.get(id).path
    }

    pub fn text(&self, id: FileId) -> &str {
        &self.get(id).text
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// The error diagnostics' messages, each with its help in parentheses, joined by `sep`: the
/// text of a query's errors in REST error bodies and SQL API error responses alike.
pub fn messages(diags: &[Diagnostic], sep: &str) -> String {
    diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| match &d.help {
            Some(h) => format!("{} ({h})", d.message),
            None => d.message.clone(),
        })
        .collect::<Vec<_>>()
        .join(sep)
}
