//! The shape of the code, checked: data flows one way between the modules under `src/`, and no
//! file grows past the size the design sets.
//!
//! Imports are read from the source text: `use` trees and inline `crate::`, `super::` and
//! `self::` paths, outside comments and string literals. A path is followed to the file that
//! defines it (a folder's `mod.rs` re-export is followed to the file it re-exports). Then, for
//! every folder, its entries (files other than `mod.rs`/`lib.rs`/`main.rs`, and sub-folders,
//! each standing for everything under it) must import each other without a circle. A folder's
//! `mod.rs` is its face and may use its own children; what the children import from each other,
//! and what the folder as a whole imports from its siblings, must form a DAG.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 800;

/// Source text with comments and string/char literals blanked, line breaks kept.
fn strip(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, s: &[u8]| out.extend(s.iter().filter(|&&c| c == b'\n').map(|_| '\n'));
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            let end = b[i..].iter().position(|&c| c == b'\n').map(|p| i + p).unwrap_or(b.len());
            i = end;
        } else if b[i..].starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map(|p| i + 2 + p + 2).unwrap_or(b.len());
            blank(&mut out, &b[i..end]);
            i = end;
        } else if (b[i] == b'r' && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#')))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            let close = format!("\"{}", "#".repeat(hashes));
            let start = i + 2 + hashes;
            let end = text[start..].find(&close).map(|p| start + p + close.len()).unwrap_or(b.len());
            out.push_str("\"\"");
            blank(&mut out, &b[i..end]);
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            blank(&mut out, &b[i..j.min(b.len())]);
            i = j + 1;
        } else if b[i] == b'\'' && is_char_literal(&b[i..]) {
            let len = char_literal_len(&b[i..]);
            out.push_str("' '");
            i += len;
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn is_char_literal(b: &[u8]) -> bool {
    char_literal_len(b) > 0
}

/// Length of a char literal starting at `b[0] == '\''`, or 0 for a lifetime.
fn char_literal_len(b: &[u8]) -> usize {
    if b.get(1) == Some(&b'\\') {
        return b[2..].iter().position(|&c| c == b'\'').map(|p| p + 3).unwrap_or(0);
    }
    // One UTF-8 character then a quote.
    let first = b.get(1).copied().unwrap_or(0);
    let width = match first {
        0..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    };
    if b.get(1 + width) == Some(&b'\'') {
        2 + width
    } else {
        0
    }
}

/// The paths a `use` tree names: `a::{b, c::{d, e as f}}` is `a::b`, `a::c::d`, `a::c::e`.
fn expand_use(tree: &str) -> Vec<Vec<String>> {
    fn split_top(s: &str) -> Vec<&str> {
        let (mut depth, mut start, mut out) = (0, 0, Vec::new());
        for (i, c) in s.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        out.push(&s[start..]);
        out
    }
    fn walk(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
        for item in split_top(tree) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            if let Some(open) = item.find('{') {
                let head: Vec<String> =
                    item[..open].split("::").map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
                let inner = &item[open + 1..item.rfind('}').unwrap_or(item.len())];
                walk(&[prefix, &head].concat(), inner, out);
            } else {
                let item = item.split(" as ").next().unwrap_or(item);
                let segs: Vec<String> =
                    item.split("::").map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
                out.push([prefix, &segs].concat());
            }
        }
    }
    let compact: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = Vec::new();
    walk(&[], &compact, &mut out);
    out
}

struct Crate {
    /// Path relative to `src/` (with `/`), to stripped text.
    files: BTreeMap<String, String>,
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut files = BTreeMap::new();
        let mut stack = vec![src.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().map(Result::unwrap) {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let rel = p.strip_prefix(src).unwrap().to_string_lossy().replace('\\', "/");
                    files.insert(rel, std::fs::read_to_string(&p).unwrap());
                }
            }
        }
        Crate { files }
    }

    /// The module path of a file: `a/b.rs` and `a/b/mod.rs` are `[a, b]`; the crate roots `[]`.
    fn module_of(file: &str) -> Vec<String> {
        let mut parts: Vec<String> = file.trim_end_matches(".rs").split('/').map(String::from).collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        if parts == ["lib"] || parts == ["main"] {
            parts.clear();
        }
        parts
    }

    /// The deepest file that defines a prefix of `segs`, and the segments left over.
    fn resolve<'a>(&self, segs: &'a [String]) -> (String, &'a [String]) {
        let (mut dir, mut file) = (String::new(), "lib.rs".to_string());
        let mut i = 0;
        while i < segs.len() {
            let a = format!("{dir}{}.rs", segs[i]);
            let b = format!("{dir}{}/mod.rs", segs[i]);
            if self.files.contains_key(&a) {
                file = a;
            } else if self.files.contains_key(&b) {
                file = b;
            } else {
                break;
            }
            dir = format!("{dir}{}/", segs[i]);
            i += 1;
        }
        (file, &segs[i..])
    }

    /// `pub use` re-exports of a `mod.rs`/`lib.rs`: named items to the file they come from,
    /// and the files re-exported whole (`pub use model::*`).
    fn reexports(&self, file: &str) -> (HashMap<String, String>, Vec<String>) {
        let me = Crate::module_of(file);
        let (mut named, mut globs) = (HashMap::new(), Vec::new());
        let text = strip(&self.files[file]);
        for stmt in statements(&text, true) {
            for path in expand_use(&stmt.1) {
                let Some(abs) = absolute(&me, file, &path) else { continue };
                match path.last().map(String::as_str) {
                    Some("*") => globs.push(self.resolve(&abs[..abs.len() - 1]).0),
                    Some(name) => {
                        named.insert(name.to_string(), self.resolve(&abs).0);
                    }
                    None => {}
                }
            }
        }
        (named, globs)
    }

    /// The file that defines `name` as seen through `file`: followed through named and glob
    /// re-exports of faces (`mod.rs`, `lib.rs`), down to the file with its definition.
    fn defining_file(&self, file: &str, name: &str, depth: usize) -> Option<String> {
        let is_face = file.ends_with("mod.rs") || file == "lib.rs";
        if !is_face || depth > 8 {
            return Some(file.to_string());
        }
        if defines(&self.files[file], name) {
            return Some(file.to_string());
        }
        let (named, globs) = self.reexports(file);
        if let Some(target) = named.get(name) {
            return self.defining_file(target, name, depth + 1);
        }
        for target in globs.iter().filter(|g| *g != file) {
            let is_face = target.ends_with("mod.rs") || target == "lib.rs";
            if is_face {
                if let Some(found) = self.defining_file(target, name, depth + 1).filter(|f| f != target) {
                    return Some(found);
                }
            }
            if defines(&self.files[target], name) {
                return Some(target.clone());
            }
        }
        None
    }

    /// Every (importing file, imported file, line) edge.
    fn edges(&self) -> Vec<(String, String, usize)> {
        let mut out = Vec::new();
        let mut through_faces: HashMap<(String, String), Option<String>> = HashMap::new();
        for (file, text) in &self.files {
            let me = Crate::module_of(file);
            let text = strip(text);
            let mut paths: Vec<(Vec<String>, usize)> = Vec::new();
            for (line, tree) in statements(&text, false) {
                paths.extend(expand_use(&tree).into_iter().map(|p| (p, line)));
            }
            for (line, path) in inline_paths(&text) {
                paths.push((path, line));
            }
            for (path, line) in paths {
                let Some(abs) = absolute(&me, file, &path) else { continue };
                let (mut target, rest) = self.resolve(&abs);
                if (target.ends_with("mod.rs") || target == "lib.rs") && !rest.is_empty() {
                    let key = (target.clone(), rest[0].clone());
                    let found = through_faces.entry(key).or_insert_with(|| self.defining_file(&target, &rest[0], 0));
                    if let Some(real) = found {
                        target = real.clone();
                    }
                }
                if &target != file {
                    out.push((file.clone(), target, line));
                }
            }
        }
        out
    }
}

/// Whether stripped source `text` defines an item called `name` at any nesting.
fn defines(text: &str, name: &str) -> bool {
    let text = strip(text);
    ["struct", "enum", "fn", "type", "const", "static", "trait", "mod", "union"].iter().any(|kw| {
        let pattern = format!("{kw} {name}");
        text.match_indices(&pattern).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + pattern.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    })
}

/// `use` statements (`pub use` only when `public_only`), with their line.
fn statements(text: &str, public_only: bool) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = text[from..].find("use ") {
        let at = from + p;
        from = at + 4;
        let before = &text[..at];
        let word_start = at == 0 || !text.as_bytes()[at - 1].is_ascii_alphanumeric() && text.as_bytes()[at - 1] != b'_';
        if !word_start {
            continue;
        }
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let lead = before[line_start..].trim();
        let is_pub = lead.starts_with("pub");
        if !(lead.is_empty() || is_pub) || (public_only && !is_pub) {
            continue;
        }
        let Some(end) = text[at..].find(';') else { break };
        let line = before.matches('\n').count() + 1;
        out.push((line, text[at + 4..at + end].to_string()));
    }
    out
}

/// `crate::a::b`, `super::x`, `self::y` paths written inline in code.
fn inline_paths(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    for root in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(p) = text[from..].find(root) {
            let at = from + p;
            from = at + root.len();
            if at > 0 {
                let c = text.as_bytes()[at - 1];
                if c.is_ascii_alphanumeric() || c == b'_' || c == b':' {
                    continue;
                }
            }
            let tail: String =
                text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':').collect();
            let segs: Vec<String> = tail.split("::").filter(|s| !s.is_empty()).map(String::from).collect();
            out.push((text[..at].matches('\n').count() + 1, segs));
        }
    }
    out
}

/// A path as module segments from the crate root, for paths that start at `crate`, `self` or
/// `super` (and, in a folder's `mod.rs` or a crate root, at one of its children).
fn absolute(me: &[String], file: &str, path: &[String]) -> Option<Vec<String>> {
    let first = path.first()?;
    match first.as_str() {
        "crate" => Some(path[1..].to_vec()),
        "self" => Some([me, &path[1..]].concat()),
        "super" => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            let base = me.len().checked_sub(ups)?;
            Some([&me[..base], &path[ups..]].concat())
        }
        _ if file.ends_with("mod.rs") || file == "lib.rs" || file == "main.rs" => Some([me, path].concat()),
        _ => None,
    }
}

fn is_face(entry: &str) -> bool {
    matches!(entry, "mod.rs" | "lib.rs" | "main.rs")
}

/// Per folder: entry -> entries it imports, with one example edge each.
type FolderGraphs = BTreeMap<String, BTreeMap<String, BTreeMap<String, (String, String, usize)>>>;

fn folder_graphs(edges: &[(String, String, usize)]) -> FolderGraphs {
    let bin = |f: &str| f == "main.rs" || f.starts_with("cli/");
    let mut graphs: FolderGraphs = BTreeMap::new();
    for (from, to, line) in edges {
        if bin(from) != bin(to) {
            continue; // the binary uses the library through `cubec::`, never the other way
        }
        let a: Vec<&str> = from.split('/').collect();
        let b: Vec<&str> = to.split('/').collect();
        let mut k = 0;
        while k + 1 < a.len().min(b.len()) && a[k] == b[k] {
            k += 1;
        }
        let (ea, eb) = (a[k], b[k]);
        if ea == eb || is_face(ea) || is_face(eb) {
            continue;
        }
        let folder = a[..k].join("/");
        graphs
            .entry(folder)
            .or_default()
            .entry(ea.to_string())
            .or_default()
            .entry(eb.to_string())
            .or_insert_with(|| (from.clone(), to.clone(), *line));
    }
    graphs
}

/// Strongly connected components with more than one entry (Tarjan).
fn circles(graph: &BTreeMap<String, BTreeMap<String, (String, String, usize)>>) -> Vec<Vec<String>> {
    struct T<'g> {
        g: &'g BTreeMap<String, BTreeMap<String, (String, String, usize)>>,
        index: HashMap<&'g str, usize>,
        low: HashMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on: BTreeSet<&'g str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    impl<'g> T<'g> {
        fn visit(&mut self, v: &'g str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on.insert(v);
            let g = self.g;
            for w in g.get(v).into_iter().flat_map(|m| m.keys()) {
                if !self.index.contains_key(w.as_str()) {
                    self.visit(w);
                    let lw = self.low[w.as_str()];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(lw));
                } else if self.on.contains(w.as_str()) {
                    let iw = self.index[w.as_str()];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(iw));
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    comp.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    self.out.push(comp);
                }
            }
        }
    }
    let mut t = T {
        g: graph,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    let nodes: BTreeSet<&str> =
        graph.keys().map(String::as_str).chain(graph.values().flat_map(|m| m.keys().map(String::as_str))).collect();
    for v in nodes {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.out
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn modules_import_without_circles() {
    let krate = Crate::read(&src_dir());
    let edges = krate.edges();
    let mut report = String::new();
    for (folder, graph) in folder_graphs(&edges) {
        for circle in circles(&graph) {
            report.push_str(&format!("import circle in src/{folder}: {}\n", circle.join(" <-> ")));
            for a in &circle {
                for (b, (from, to, line)) in &graph[a] {
                    if circle.contains(b) {
                        report.push_str(&format!("    {a} -> {b}: src/{from}:{line} uses src/{to}\n"));
                    }
                }
            }
        }
    }
    assert!(report.is_empty(), "data must flow one way between modules:\n{report}");
    // The reader itself: it must see the edges that matter, or an empty report means nothing.
    let has = |from: &str, to: &str| edges.iter().any(|(a, b, _)| a == from && b == to);
    assert!(has("plan/mod.rs", "query/mod.rs"), "the reader lost `use crate::query::...`");
    assert!(
        has("access/caller.rs", "resolve/model/policy.rs"),
        "the reader lost a glob re-export (`pub use model::*`)"
    );
    assert!(has("sql/filters.rs", "sql/render.rs"), "the reader lost `use super::render::...`");
}

#[test]
fn a_circle_is_found() {
    let edges = vec![
        ("a/x.rs".to_string(), "b/y.rs".to_string(), 1),
        ("b/mod.rs".to_string(), "a/mod.rs".to_string(), 2),
        ("c/p.rs".to_string(), "c/q.rs".to_string(), 3),
        ("c/q.rs".to_string(), "c/p.rs".to_string(), 4),
        ("c/mod.rs".to_string(), "c/p.rs".to_string(), 5),
    ];
    let graphs = folder_graphs(&edges);
    assert_eq!(circles(&graphs[""]), vec![vec!["a".to_string(), "b".to_string()]]);
    assert_eq!(circles(&graphs["c"]), vec![vec!["p.rs".to_string(), "q.rs".to_string()]]);
    assert_eq!(
        expand_use("super::{a::{B, C as D}, e}"),
        vec![vec!["super", "a", "B"], vec!["super", "a", "C"], vec!["super", "e"]]
    );
    assert_eq!(
        strip("let s = \"crate::x\"; // crate::y\nlet c = '\"'; crate::z"),
        "let s = \"\"; \nlet c = ' '; crate::z"
    );
}

#[test]
fn no_file_is_too_long() {
    let krate = Crate::read(&src_dir());
    let long: Vec<String> = krate
        .files
        .iter()
        .map(|(f, text)| (f, text.lines().count()))
        .filter(|(_, n)| *n > MAX_LINES)
        .map(|(f, n)| format!("src/{f}: {n} lines"))
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines (split them where their parts are):\n{}", long.join("\n"));
}
