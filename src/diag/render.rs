//! Rendering diagnostics at the edge: `human` (a source excerpt with a marker under the token,
//! drawn by miette), `json` and `github` (workflow annotations). Positions are computed here and
//! nowhere else.

use super::{Diagnostic, Label, Severity, SourceMap};
use serde::Serialize;
use std::fmt;

/// The output formats `--format` accepts for diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DiagFormat {
    Human,
    Json,
    Github,
}

/// A diagnostic with its position resolved, as printed by `--format json`.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ResolvedDiagnostic {
    pub code: &'static str,
    pub severity: &'static str,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub help: Option<String>,
}

pub fn resolve(diag: &Diagnostic, sources: &SourceMap) -> ResolvedDiagnostic {
    let (file, line, column) = match diag.primary_span() {
        Some(span) if (span.file.0 as usize) < sources.len() => {
            let at = sources.get(span.file).locate(span.start);
            (Some(display_path(sources, span.file)), Some(at.line), Some(at.column))
        }
        _ => (None, None, None),
    };
    ResolvedDiagnostic {
        code: diag.code.as_str(),
        severity: diag.severity.as_str(),
        message: diag.message.clone(),
        file,
        line,
        column,
        help: full_help(diag, sources),
    }
}

fn display_path(sources: &SourceMap, file: super::FileId) -> String {
    sources.path(file).to_string_lossy().replace('\\', "/")
}

/// The help line, plus a note for each secondary label that lives in another file (miette draws
/// one file per report).
fn full_help(diag: &Diagnostic, sources: &SourceMap) -> Option<String> {
    let mut help = diag.help.clone();
    let primary_file = diag.primary_span().map(|s| s.file);
    for label in diag.labels.iter().skip(1) {
        if Some(label.span.file) != primary_file && (label.span.file.0 as usize) < sources.len() {
            let at = sources.get(label.span.file).locate(label.span.start);
            let (l, c) = (at.line, at.column);
            let note = format!("{} at {}:{}:{}", label.message, display_path(sources, label.span.file), l, c);
            help = Some(match help {
                Some(h) => format!("{h}\n{note}"),
                None => note,
            });
        }
    }
    help
}

pub fn to_json(diags: &[Diagnostic], sources: &SourceMap) -> String {
    #[derive(Serialize)]
    struct Out {
        diagnostics: Vec<ResolvedDiagnostic>,
    }
    let out = Out { diagnostics: diags.iter().map(|d| resolve(d, sources)).collect() };
    serde_json::to_string_pretty(&out).unwrap_or_else(|_| "{\"diagnostics\":[]}".to_string())
}

/// GitHub workflow commands: `::error file=F,line=L,col=C,title=CODE::message`.
pub fn to_github(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diags {
        let r = resolve(d, sources);
        let kind = if d.severity == Severity::Error { "error" } else { "warning" };
        let mut props = Vec::new();
        if let Some(f) = &r.file {
            props.push(format!("file={}", escape_property(f)));
        }
        if let Some(l) = r.line {
            props.push(format!("line={l}"));
        }
        if let Some(c) = r.column {
            props.push(format!("col={c}"));
        }
        props.push(format!("title={}", r.code));
        let mut message = r.message.clone();
        if let Some(h) = &r.help {
            message.push_str("\nhelp: ");
            message.push_str(h);
        }
        out.push_str(&format!("::{kind} {}::{}\n", props.join(","), escape_data(&message)));
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// How human output is drawn: colours, the line width, and plain ASCII for dumb terminals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanStyle {
    pub color: bool,
    pub width: usize,
    pub ascii: bool,
}

/// The width used when output is not a terminal and `COLUMNS` does not say (stable for logs
/// and snapshots).
pub const DEFAULT_WIDTH: usize = 110;

impl HumanStyle {
    pub fn plain() -> HumanStyle {
        HumanStyle { color: false, width: DEFAULT_WIDTH, ascii: false }
    }

    /// The style for standard error, from the environment and the terminal.
    pub fn for_stderr() -> HumanStyle {
        use std::io::IsTerminal;
        let stderr = std::io::stderr();
        let tty = stderr.is_terminal();
        let tty_width = if tty { terminal_size::terminal_size_of(&stderr).map(|(w, _)| w.0 as usize) } else { None };
        HumanStyle::from_env(|k| std::env::var(k).ok(), tty, tty_width)
    }

    /// The conventions other command-line tools follow: `NO_COLOR` (any non-empty value) turns
    /// colour off and wins; `CLICOLOR_FORCE` or `FORCE_COLOR` (not `0`) turns it on without a
    /// terminal; `TERM=dumb` means no colour and ASCII; otherwise colour on a terminal only.
    /// The width is the terminal's, else `COLUMNS`, else [`DEFAULT_WIDTH`].
    pub fn from_env(var: impl Fn(&str) -> Option<String>, tty: bool, tty_width: Option<usize>) -> HumanStyle {
        let set = |k: &str| var(k).filter(|v| !v.is_empty());
        let forced = |k: &str| set(k).is_some_and(|v| v != "0");
        let dumb = set("TERM").is_some_and(|t| t == "dumb");
        let color = if set("NO_COLOR").is_some() {
            false
        } else if forced("CLICOLOR_FORCE") || forced("FORCE_COLOR") {
            true
        } else {
            tty && !dumb
        };
        let width = tty_width
            .or_else(|| set("COLUMNS").and_then(|c| c.trim().parse::<usize>().ok()))
            .filter(|w| *w >= 20)
            .unwrap_or(DEFAULT_WIDTH)
            .min(1000);
        HumanStyle { color, width, ascii: dumb }
    }
}

/// Human output: each diagnostic with the source line and a marker under the offending token.
pub fn to_human(diags: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    to_human_styled(diags, sources, HumanStyle { color, ..HumanStyle::plain() })
}

/// [`to_human`] drawn in `style`.
pub fn to_human_styled(diags: &[Diagnostic], sources: &SourceMap, style: HumanStyle) -> String {
    let theme = match (style.ascii, style.color) {
        (true, _) => miette::GraphicalTheme::none(),
        (false, true) => miette::GraphicalTheme::unicode(),
        (false, false) => miette::GraphicalTheme::unicode_nocolor(),
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(style.width).with_links(false);
    let mut out = String::new();
    for d in diags {
        let report = MietteReport::new(d, sources);
        let mut s = String::new();
        if handler.render_report(&mut s, &report).is_err() {
            s = format!("{}[{}]: {}\n", d.severity.as_str(), d.code.as_str(), d.message);
        }
        out.push_str(&s);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    out.push_str(&summary_line(errors, warnings));
    out
}

pub fn summary_line(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, w: &str| {
        if n == 1 {
            format!("{n} {w}")
        } else {
            format!("{n} {w}s")
        }
    };
    format!("{}, {}\n", plural(errors, "error"), plural(warnings, "warning"))
}

/// Adapter from our value type to miette's trait, built only at render time.
struct MietteReport {
    code: String,
    message: String,
    severity: Severity,
    help: Option<String>,
    source: Option<miette::NamedSource<String>>,
    labels: Vec<miette::LabeledSpan>,
}

impl MietteReport {
    fn new(d: &Diagnostic, sources: &SourceMap) -> MietteReport {
        let primary = d.primary_span().filter(|s| (s.file.0 as usize) < sources.len());
        let mut message = d.message.clone();
        let (mut source, mut labels) = (None, Vec::new());
        if let Some(p) = primary {
            let file = sources.get(p.file);
            let at = file.locate(p.start);
            message = format!("{message}\n  --> {}:{}:{}", display_path(sources, p.file), at.line, at.column);
            if let (Some(t), Some(r)) = (&file.template, at.rendered_line) {
                message = format!("{message} (line {r} of the {}; `{}` prints it)", t.output, t.command);
            }
            (source, labels) = snippet(d, sources, p, &at);
        }
        MietteReport {
            code: d.code.as_str().to_string(),
            message,
            severity: d.severity,
            help: full_help(d, sources),
            source,
            labels,
        }
    }
}

/// The text miette draws and the marked spans: the template line for a rendered or converted
/// file (the rendered line is one command away), else the labels in the file itself; nothing
/// when a line there is too long to print (the position in the message says where).
fn snippet(
    d: &Diagnostic,
    sources: &SourceMap,
    p: super::Span,
    at: &super::Location,
) -> (Option<miette::NamedSource<String>>, Vec<miette::LabeledSpan>) {
    let file = sources.get(p.file);
    let name = display_path(sources, p.file);
    if let (Some(t), Some(_)) = (&file.template, at.rendered_line) {
        let (mut start, mut end) = file.template_line_range(at.line);
        if has_long_line_near(&t.text, start) {
            return (None, Vec::new());
        }
        if at.column > 1 {
            // The line came through unchanged: mark the token itself, not the whole line.
            let line_text = t.text.get(start..end).unwrap_or("");
            let offset = line_text.char_indices().nth(at.column - 1).map(|(i, _)| i).unwrap_or(0);
            start += offset;
            end = (start + (p.end.saturating_sub(p.start) as usize).max(1)).min(end);
        }
        let label = d.labels.first().map(|l| l.message.clone()).filter(|m| !m.is_empty());
        return (
            Some(miette::NamedSource::new(name, t.text.clone())),
            vec![miette::LabeledSpan::new(label, start, end - start)],
        );
    }
    let text = sources.text(p.file);
    if has_long_line_near(text, p.start as usize) {
        return (None, Vec::new());
    }
    let labels = d
        .labels
        .iter()
        .filter(|l| l.span.file == p.file)
        .map(|Label { span, message }| {
            let start = (span.start as usize).min(text.len());
            let len = (span.end as usize).min(text.len()).saturating_sub(start);
            miette::LabeledSpan::new((!message.is_empty()).then(|| message.clone()), start, len)
        })
        .collect();
    (Some(miette::NamedSource::new(name, text.to_string())), labels)
}

/// Longest source line shown in a snippet.
const MAX_SNIPPET_LINE: usize = 400;

/// Whether the line at `offset`, or the line before or after it (miette shows one of context),
/// is too long to print.
fn has_long_line_near(text: &str, offset: usize) -> bool {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let prev_start = if start == 0 { 0 } else { text[..start - 1].rfind('\n').map(|i| i + 1).unwrap_or(0) };
    let end = text[offset..].find('\n').map(|i| offset + i).unwrap_or(text.len());
    let next_end =
        if end >= text.len() { end } else { text[end + 1..].find('\n').map(|i| end + 1 + i).unwrap_or(text.len()) };
    text[prev_start..next_end].split('\n').any(|l| l.len() > MAX_SNIPPET_LINE)
}

impl fmt::Debug for MietteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl fmt::Display for MietteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for MietteReport {}

impl miette::Diagnostic for MietteReport {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

#[cfg(test)]
mod style_tests {
    use super::*;

    fn style(vars: &[(&str, &str)], tty: bool, width: Option<usize>) -> HumanStyle {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        HumanStyle::from_env(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()), tty, width)
    }

    #[test]
    fn colour_follows_the_conventions() {
        assert!(style(&[], true, Some(80)).color, "a terminal gets colour");
        assert!(!style(&[], false, None).color, "a pipe does not");
        assert!(!style(&[("NO_COLOR", "1")], true, None).color, "NO_COLOR turns it off");
        assert!(style(&[("NO_COLOR", "")], true, None).color, "an empty NO_COLOR means nothing");
        assert!(style(&[("CLICOLOR_FORCE", "1")], false, None).color, "CLICOLOR_FORCE forces it");
        assert!(!style(&[("CLICOLOR_FORCE", "0")], false, None).color);
        assert!(!style(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")], true, None).color, "NO_COLOR wins");
        let dumb = style(&[("TERM", "dumb")], true, Some(80));
        assert!(!dumb.color && dumb.ascii, "a dumb terminal gets plain ASCII");
    }

    #[test]
    fn width_follows_the_terminal_then_columns() {
        assert_eq!(style(&[], true, Some(72)).width, 72);
        assert_eq!(style(&[("COLUMNS", "90")], false, None).width, 90);
        assert_eq!(style(&[("COLUMNS", "junk")], false, None).width, DEFAULT_WIDTH);
        assert_eq!(style(&[], false, None).width, DEFAULT_WIDTH);
    }

    #[test]
    fn rendering_honours_width_and_ascii() {
        let mut sources = SourceMap::default();
        let file = sources.add("m.yml".into(), "cubes:\n  - name: x\n".into());
        let d = Diagnostic::error(
            crate::diag::Code::UnknownKey,
            "a message long enough to need wrapping when the width is small",
        )
        .at(crate::diag::Span::new(file, 12, 13), "here");
        let narrow = to_human_styled(&[d.clone()], &sources, HumanStyle { color: false, width: 40, ascii: true });
        assert!(narrow.is_ascii(), "{narrow}");
        assert!(narrow.lines().all(|l| l.chars().count() <= 40), "{narrow}");
        let colored = to_human_styled(&[d], &sources, HumanStyle { color: true, width: 110, ascii: false });
        assert!(colored.contains('\u{1b}'), "colour codes expected: {colored:?}");
    }
}
