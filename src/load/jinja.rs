//! Model files ending `.yml.jinja` / `.yaml.jinja`: rendered with minijinja before they are
//! parsed, as Cube renders its Jinja models (loops that generate cubes, variables, and macros
//! from the `macros/` folder next to the model; no Python).
//!
//! The YAML parser sees the rendered text, so positions are found there; to point diagnostics
//! at the template, each rendered line is matched back to the template line that produced it:
//! a template line is a pattern whose `{{ ... }}` parts match anything, and a rendered line maps
//! to the first matching template line at or after the previous match (wrapping around, for
//! loops). Lines nothing matches keep the nearest earlier mapping.

use crate::diag::Template;
use std::path::Path;

/// Files under `macros/` that templates can import (`{% import "helpers.jinja" as h %}`).
const MACRO_EXTENSIONS: &[&str] = &["jinja", "j2", "jinja2"];

pub fn is_template(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.ends_with(".yml.jinja") || name.ends_with(".yaml.jinja")
}

/// Why a template did not render: the message and the template line (1-based), if known.
pub struct RenderError {
    pub message: String,
    pub line: Option<usize>,
}

/// Renders `text` (the template at `path`), with the macro files of `macros_dir` importable.
/// Returns the rendered text and the template it came from.
pub fn render(path: &Path, text: &str, macros_dir: Option<&Path>) -> Result<(String, Template), RenderError> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // Bounded work: a template cannot loop forever or render gigabytes.
    env.set_fuel(Some(50_000_000));
    if let Some(dir) = macros_dir.filter(|d| d.is_dir()) {
        let macros = crate::files::Walk::flat(MACRO_EXTENSIONS)
            .files(dir)
            .map_err(|e| RenderError { message: format!("macro folder: {e}"), line: None })?;
        for p in macros {
            let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let source = std::fs::read_to_string(&p).map_err(|e| RenderError {
                message: format!("cannot read macro file `{}`: {e}", p.display()),
                line: None,
            })?;
            env.add_template_owned(name.clone(), source)
                .map_err(|e| RenderError { message: format!("macro file `{name}`: {e}"), line: None })?;
        }
    }
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "model.yml.jinja".into());
    let rendered = env.render_named_str(&name, text, minijinja::context! {}).map_err(|e| {
        let line = if e.name() == Some(name.as_str()) { e.line() } else { None };
        let mut message = e.kind().to_string();
        if let Some(detail) = e.detail() {
            message = format!("{message}: {detail}");
        }
        if let (Some(other), Some(l)) = (e.name().filter(|n| *n != name), e.line()) {
            message = format!("{message} (in macro file `{other}`, line {l})");
        }
        RenderError { message, line }
    })?;
    let line_map = line_map(text, &rendered);
    Ok((rendered, Template { text: text.to_string(), line_map, output: "rendered output", command: "cubec render" }))
}

/// A template line as a pattern: literal pieces, with expressions matching anything.
fn pieces(line: &str) -> Option<Vec<&str>> {
    let t = line.trim();
    // Lines that are only statements or comments produce no output of their own.
    if (t.starts_with("{%") && t.ends_with("%}")) || (t.starts_with("{#") && t.ends_with("#}")) {
        return None;
    }
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("{{") {
        out.push(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => rest = &rest[start + end + 2..],
            None => return Some(vec![line]),
        }
    }
    out.push(rest);
    Some(out)
}

fn matches(pattern: &[&str], line: &str) -> bool {
    let Some((first, rest)) = pattern.split_first() else { return line.is_empty() };
    let Some(mut remaining) = line.strip_prefix(first) else { return false };
    if rest.is_empty() {
        return remaining.is_empty();
    }
    for (i, piece) in rest.iter().enumerate() {
        if i + 1 == rest.len() {
            return remaining.ends_with(piece);
        }
        match remaining.find(piece) {
            Some(p) => remaining = &remaining[p + piece.len()..],
            None => return false,
        }
    }
    true
}

/// For each rendered line, the 1-based template line that produced it.
fn line_map(template: &str, rendered: &str) -> Vec<u32> {
    let patterns: Vec<Option<Vec<&str>>> = template.lines().map(pieces).collect();
    let n = patterns.len().max(1);
    let mut out = Vec::new();
    let mut cursor = 0usize;
    let mut last = 1u32;
    for line in rendered.lines() {
        let found = (0..n).map(|k| (cursor + k) % n).find(|&i| {
            patterns.get(i).and_then(|p| p.as_ref()).is_some_and(|p| {
                // A blank rendered line only matches a blank template line.
                matches(p, line) && (!line.trim().is_empty() || p.concat().trim().is_empty())
            })
        });
        if let Some(i) = found {
            last = i as u32 + 1;
            cursor = i + 1;
        }
        out.push(last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_map_back_to_their_template_lines() {
        let t = "cubes:\n{% for c in ['a', 'b'] %}\n  - name: {{ c }}\n    sql_table: t_{{ c }}\n{% endfor %}\n";
        let (out, tpl) = render(Path::new("m.yml.jinja"), t, None).ok().unwrap_or_else(|| panic!("renders"));
        assert_eq!(out, "cubes:\n\n  - name: a\n    sql_table: t_a\n\n  - name: b\n    sql_table: t_b\n");
        assert_eq!(tpl.line_map, vec![1, 1, 3, 4, 4, 3, 4]);
    }

    #[test]
    fn an_undefined_variable_is_an_error_at_its_line() {
        let t = "cubes:\n  - name: {{ nope }}\n";
        let e = render(Path::new("m.yml.jinja"), t, None).err().unwrap_or_else(|| panic!("fails"));
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("undefined"), "{}", e.message);
    }
}
