//! `cubec diff`: what a change to the model changes, for review.
//!
//! Input: the model files at two versions (a git revision read with `git show`, never checked
//! out, and the work tree or another revision). Output: a [`ModelDiff`]: cubes and views added
//! and removed; members added, removed and changed, with the keys that changed (type, sql,
//! filters, relationships, formats, ...); and for a query corpus (the saved queries under
//! `<model>/queries/`, plus one query per measure with each dimension of its cube) the queries
//! whose SQL changed, per dialect, with a unified diff.

use crate::sql::{Dialect, RenderOptions};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// One version of the model: its files (path relative to the model folder, bytes).
pub struct Version {
    pub label: String,
    pub files: Vec<(PathBuf, Vec<u8>)>,
}

/// Reads the model folder `model_dir` at git revision `rev`, without touching the work tree.
pub fn at_revision(model_dir: &Path, rev: &str) -> Result<Version, String> {
    let git = |args: &[&str]| -> Result<Vec<u8>, String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(model_dir)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
        }
    };
    let commit =
        String::from_utf8_lossy(&git(&["rev-parse", "--verify", &format!("{rev}^{{commit}}")])?).trim().to_string();
    let listing = git(&["ls-tree", "-r", "--name-only", "--full-tree", &commit])?;
    let prefix = String::from_utf8_lossy(&git(&["rev-parse", "--show-prefix"])?).trim().to_string();
    let mut files = Vec::new();
    for path in String::from_utf8_lossy(&listing).lines() {
        let Some(rel) = path.strip_prefix(&prefix) else { continue };
        if !crate::load::is_model_path(Path::new(rel)) {
            continue;
        }
        let bytes = git(&["show", &format!("{commit}:{path}")])?;
        files.push((PathBuf::from(rel), bytes));
    }
    Ok(Version { label: rev.to_string(), files })
}

/// The model folder as it is on disk.
pub fn work_tree(model_dir: &Path) -> Result<Version, String> {
    let paths = crate::load::model_files(model_dir).map_err(|e| e.to_string())?;
    let mut files = Vec::new();
    for p in paths {
        let bytes = std::fs::read(&p).map_err(|e| format!("cannot read `{}`: {e}", p.display()))?;
        files.push((p.strip_prefix(model_dir).unwrap_or(&p).to_path_buf(), bytes));
    }
    Ok(Version { label: "work tree".to_string(), files })
}

#[derive(Debug, Default, Serialize)]
pub struct ModelDiff {
    pub base: String,
    pub head: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub members_added: Vec<String>,
    pub members_removed: Vec<String>,
    /// `cube.member` and the keys whose values differ.
    pub members_changed: Vec<(String, Vec<String>)>,
    /// Cube-level keys (sql, joins, ...) that differ, per cube.
    pub cubes_changed: Vec<(String, Vec<String>)>,
    pub queries_compared: usize,
    pub sql_changed: Vec<SqlChange>,
    /// Model errors at either version (its SQL is then not compared).
    pub errors: Vec<String>,
}

impl ModelDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.members_added.is_empty()
            && self.members_removed.is_empty()
            && self.members_changed.is_empty()
            && self.cubes_changed.is_empty()
            && self.sql_changed.is_empty()
    }
}

#[derive(Debug, Serialize)]
pub struct SqlChange {
    pub query: String,
    pub dialect: String,
    /// A unified diff, or what happened when one side does not compile.
    pub diff: String,
}

const MEMBER_LISTS: &[&str] = &["measures", "dimensions", "segments", "hierarchies", "pre_aggregations"];

/// Every cube and view of a checked version as JSON, by name (templates as rendered).
fn definitions(checked: &crate::Checked) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for i in 0..checked.sources.len() {
        let text = checked.sources.text(crate::diag::FileId(i as u32));
        let Ok(root) = crate::load::yaml::parse(text, crate::diag::FileId(i as u32)) else {
            continue;
        };
        let root = root.to_json_snake_keys();
        for kind in ["cubes", "views"] {
            for c in root.get(kind).and_then(Value::as_array).into_iter().flatten() {
                if let Some(name) = c.get("name").and_then(Value::as_str) {
                    out.insert(name.to_string(), c.clone());
                }
            }
        }
    }
    out
}

fn by_name(list: Option<&Value>) -> BTreeMap<String, &Value> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| Some((m.get("name")?.as_str()?.to_string(), m)))
        .collect()
}

fn changed_keys(a: &Value, b: &Value, skip: &[&str]) -> Vec<String> {
    let empty = Map::new();
    let (a, b) = (a.as_object().unwrap_or(&empty), b.as_object().unwrap_or(&empty));
    let mut keys: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| !skip.contains(&k.as_str()))
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Compares two versions; `queries` are the saved queries (name, JSON) to compile at both.
/// `macros`: the folder templates import macros from (the work tree's, for both versions).
pub fn diff(
    base: &Version,
    head: &Version,
    queries: &[(String, Value)],
    dialects: &[Arc<Dialect>],
    macros: Option<&Path>,
) -> ModelDiff {
    let mut d = ModelDiff { base: base.label.clone(), head: head.label.clone(), ..ModelDiff::default() };
    let (checked_old, checked_new) =
        (crate::check_texts(base.files.clone(), macros), crate::check_texts(head.files.clone(), macros));
    let (old, new) = (definitions(&checked_old), definitions(&checked_new));
    for name in new.keys().filter(|n| !old.contains_key(*n)) {
        d.added.push(name.clone());
    }
    for name in old.keys().filter(|n| !new.contains_key(*n)) {
        d.removed.push(name.clone());
    }
    for (name, a) in &old {
        let Some(b) = new.get(name) else { continue };
        let cube_keys = changed_keys(a, b, MEMBER_LISTS);
        if !cube_keys.is_empty() {
            d.cubes_changed.push((name.clone(), cube_keys));
        }
        for list in MEMBER_LISTS {
            let (ma, mb) = (by_name(a.get(*list)), by_name(b.get(*list)));
            for m in mb.keys().filter(|m| !ma.contains_key(*m)) {
                d.members_added.push(format!("{name}.{m}"));
            }
            for m in ma.keys().filter(|m| !mb.contains_key(*m)) {
                d.members_removed.push(format!("{name}.{m}"));
            }
            for (m, x) in &ma {
                if let Some(y) = mb.get(m) {
                    let keys = changed_keys(x, y, &[]);
                    if !keys.is_empty() {
                        d.members_changed.push((format!("{name}.{m}"), keys));
                    }
                }
            }
        }
    }
    for (label, c) in [(&base.label, &checked_old), (&head.label, &checked_new)] {
        for e in c.diagnostics.iter().filter(|x| x.is_error()) {
            d.errors.push(format!("{label}: {} {}", e.code.as_str(), e.message));
        }
    }
    if !d.errors.is_empty() {
        // SQL cannot be compared against a broken model; the errors say why.
        return d;
    }
    let mut corpus: Vec<(String, Value)> = queries.to_vec();
    corpus.extend(generated_queries(&checked_old.model));
    corpus.extend(generated_queries(&checked_new.model));
    corpus.sort_by(|a, b| a.0.cmp(&b.0));
    corpus.dedup_by(|a, b| a.0 == b.0);
    d.queries_compared = corpus.len();
    let opts = crate::query::QueryOptions {
        now: chrono::DateTime::parse_from_rfc3339("2024-03-13T15:30:00Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(|_| chrono::Utc::now()),
        // A model check compiles every member as the model's author, whoever may query it.
        access: crate::query::AccessOptions::off(),
        ..crate::query::QueryOptions::default()
    };
    for (name, q) in &corpus {
        for dialect in dialects {
            let compile = |c: &crate::Checked| {
                crate::compile(&c.model, q, dialect, &opts, RenderOptions::default())
                    .map(|s| {
                        format!("{};\n-- params: {}\n", s.sql, serde_json::to_string(&s.params).unwrap_or_default())
                    })
                    .map_err(|diags| {
                        diags
                            .iter()
                            .filter(|x| x.is_error())
                            .map(|x| format!("{} {}", x.code.as_str(), x.message))
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
            };
            let (a, b) = (compile(&checked_old), compile(&checked_new));
            let text = |r: &Result<String, String>| match r {
                Ok(s) => s.clone(),
                Err(e) => format!("-- does not compile: {e}\n"),
            };
            if a != b {
                let (ta, tb) = (text(&a), text(&b));
                let diff = similar::TextDiff::from_lines(&ta, &tb)
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("{} ({})", name, base.label), &format!("{} ({})", name, head.label))
                    .to_string();
                d.sql_changed.push(SqlChange { query: name.clone(), dialect: dialect.name.clone(), diff });
            }
        }
    }
    d
}

/// One query per public measure with each public dimension of its own cube (and the measure
/// alone), named `measure by dimension`.
fn generated_queries(model: &crate::resolve::Model) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for c in model.cubes.iter().filter(|c| c.public) {
        for m in c.measures.iter().filter(|m| m.public) {
            let measure = format!("{}.{}", c.name, m.name);
            out.push((measure.clone(), json!({ "measures": [measure] })));
            for dim in c.dimensions.iter().filter(|x| x.public) {
                let dimension = format!("{}.{}", c.name, dim.name);
                out.push((
                    format!("{measure} by {dimension}"),
                    json!({ "measures": [measure], "dimensions": [dimension] }),
                ));
            }
        }
    }
    out
}

/// The saved queries under `<model>/queries/*.json` of the head version (on disk).
pub fn saved_queries(model_dir: &Path) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let dir = model_dir.join("queries");
    let paths =
        if dir.is_dir() { crate::files::Walk::flat(&["json"]).files(&dir).unwrap_or_default() } else { Vec::new() };
    for p in paths {
        if let Some(q) = std::fs::read_to_string(&p).ok().and_then(|t| serde_json::from_str(&t).ok()) {
            let name =
                format!("queries/{}", p.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default());
            out.push((name, q));
        }
    }
    out
}

/// Markdown for a pull request comment.
pub fn to_markdown(d: &ModelDiff) -> String {
    let mut s = format!("### cubec diff: `{}` → `{}`\n\n", d.base, d.head);
    if d.is_empty() && d.errors.is_empty() {
        s.push_str(&format!("No change to the model or to the SQL of {} queries.\n", d.queries_compared));
        return s;
    }
    let list = |s: &mut String, title: &str, items: &[String]| {
        if !items.is_empty() {
            s.push_str(&format!(
                "**{title}** ({}): {}\n\n",
                items.len(),
                items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
            ));
        }
    };
    list(&mut s, "Cubes and views added", &d.added);
    list(&mut s, "Cubes and views removed", &d.removed);
    list(&mut s, "Members added", &d.members_added);
    list(&mut s, "Members removed", &d.members_removed);
    if !d.members_changed.is_empty() || !d.cubes_changed.is_empty() {
        s.push_str("| changed | keys |\n|---|---|\n");
        for (m, keys) in d.cubes_changed.iter().chain(&d.members_changed) {
            s.push_str(&format!("| `{m}` | {} |\n", keys.join(", ")));
        }
        s.push('\n');
    }
    for e in &d.errors {
        s.push_str(&format!("> **error** {e}\n\n"));
    }
    s.push_str(&format!(
        "**SQL changed** for {} of {} queries × dialects:\n\n",
        d.sql_changed.len(),
        d.queries_compared
    ));
    for c in &d.sql_changed {
        s.push_str(&format!(
            "<details><summary><code>{}</code> ({})</summary>\n\n```diff\n{}```\n</details>\n\n",
            c.query, c.dialect, c.diff
        ));
    }
    s
}

/// Plain text for a terminal.
pub fn to_human(d: &ModelDiff) -> String {
    let mut s = format!("cubec diff: {} -> {}\n", d.base, d.head);
    for (title, items) in [
        ("added", &d.added),
        ("removed", &d.removed),
        ("member added", &d.members_added),
        ("member removed", &d.members_removed),
    ] {
        for i in items {
            s.push_str(&format!("  {title}: {i}\n"));
        }
    }
    for (m, keys) in d.cubes_changed.iter().chain(&d.members_changed) {
        s.push_str(&format!("  changed: {m} ({})\n", keys.join(", ")));
    }
    for e in &d.errors {
        s.push_str(&format!("  error: {e}\n"));
    }
    for c in &d.sql_changed {
        s.push_str(&format!("\n== SQL of `{}` ({}) changed\n{}", c.query, c.dialect, c.diff));
    }
    s.push_str(&format!(
        "\n{} queries compared; SQL changed for {}; {}\n",
        d.queries_compared,
        d.sql_changed.len(),
        if d.is_empty() { "no change" } else { "changes found" }
    ));
    s
}
