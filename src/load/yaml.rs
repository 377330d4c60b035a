//! YAML text to a tree of spanned [`Node`]s.
//!
//! Input: one file's text. Output: its root [`Node`] (every node knows its byte span), or the
//! diagnostics that stopped it. The events come from `saphyr-parser`; this module builds the tree
//! itself because it must keep a span on every key and value, resolve anchors, aliases and merge
//! keys (`<<`), and refuse alias bombs and absurd nesting before they cost memory or time.

use crate::diag::{Code, Diagnostic, FileId, Span};
use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;

/// Nodes a file may expand to, aliases included (a "billion laughs" file stops here).
pub const MAX_NODES: usize = 2_000_000;
/// Nesting depth of collections.
pub const MAX_DEPTH: usize = 200;
/// Bytes of keys and scalars a file may expand to, aliases included: a long string aliased a
/// million times stays under the node budget but would take gigabytes.
pub const MAX_EXPANDED_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// How a scalar was written, which decides how offsets inside it map back to the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
    Collection,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    pub style: Style,
}

impl Node {
    pub fn kind_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The text of a scalar (numbers and booleans as written), `None` for collections and null.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The tree as JSON with every key in snake_case (as the loader reads keys), for comparing
    /// definitions written in either spelling.
    pub fn to_json_snake_keys(&self) -> serde_json::Value {
        self.json_with_keys(&|k| crate::util::snake_case(k).into_owned())
    }

    /// Looks a key up in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }

    /// Nodes and scalar bytes of this subtree: what one more alias to it costs.
    fn weight(&self) -> (usize, usize) {
        match &self.value {
            Value::Seq(s) => s.iter().map(Node::weight).fold((1, 0), |a, b| (a.0 + b.0, a.1 + b.1)),
            Value::Map(m) => m
                .iter()
                .map(|(k, v)| {
                    let (kw, vw) = (k.weight(), v.weight());
                    (kw.0 + vw.0, kw.1 + vw.1)
                })
                .fold((1, 0), |a, b| (a.0 + b.0, a.1 + b.1)),
            Value::Str(text) => (1, text.len()),
            _ => (1, 8),
        }
    }

    /// Converts to JSON (used for `meta` and other free-form values).
    pub fn to_json(&self) -> serde_json::Value {
        self.json_with_keys(&|k| k.to_string())
    }

    fn json_with_keys(&self, key: &dyn Fn(&str) -> String) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(s) => J::Array(s.iter().map(|n| n.json_with_keys(key)).collect()),
            Value::Map(m) => J::Object(
                m.iter().map(|(k, v)| (key(&k.scalar_text().unwrap_or_default()), v.json_with_keys(key))).collect(),
            ),
        }
    }
}

/// Maps saphyr's character indices to byte offsets.
struct Offsets {
    char_to_byte: Option<Vec<u32>>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Offsets {
        let char_to_byte = if text.is_ascii() {
            None
        } else {
            let mut v: Vec<u32> = text.char_indices().map(|(b, _)| b as u32).collect();
            v.push(text.len() as u32);
            Some(v)
        };
        Offsets { char_to_byte, len: text.len() }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.char_to_byte {
            None => char_index.min(self.len),
            Some(v) => v.get(char_index).copied().map(|b| b as usize).unwrap_or(self.len),
        }
    }
}

enum Frame {
    Seq { items: Vec<Node>, start: usize, anchor: usize },
    Map { entries: Vec<(Node, Node)>, key: Option<Node>, start: usize, anchor: usize },
}

/// Parses one YAML document into a tree. An empty file gives `Value::Null`.
pub fn parse(text: &str, file: FileId) -> Result<Node, Vec<Diagnostic>> {
    let offsets = Offsets::new(text);
    let span = |s: usize, e: usize| Span::new(file, offsets.byte(s), offsets.byte(e));
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut nodes = 0usize;
    let mut bytes = 0usize;
    let mut diags = Vec::new();
    let mut documents = 0;

    while let Some(item) = parser.next_event() {
        let (event, ev_span) = match item {
            Ok(e) => e,
            Err(err) => {
                let mut at = offsets.byte(err.marker().index());
                // The scanner reports a tab at the token it was reading; point at the tab itself.
                if err.info().contains("tab") {
                    if let Some(i) = text.get(at..).and_then(|rest| rest.find('\t')) {
                        at += i;
                    }
                }
                if err.info().contains("recursion limit") {
                    return Err(vec![limit_diag(Span::new(file, at, at + 1), "nesting is too deep")]);
                }
                let d = Diagnostic::error(Code::YamlSyntax, format!("invalid YAML: {}", err.info()))
                    .at(Span::new(file, at, at + 1), "here")
                    .with_help("fix the YAML syntax; check indentation (spaces, not tabs) and quoting");
                return Err(vec![d]);
            }
        };
        let (s, e) = (ev_span.start.index(), ev_span.end.index());
        let finished: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => None,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    let d = Diagnostic::error(Code::YamlSyntax, "a model file must hold a single YAML document")
                        .at(span(s, e.max(s + 3)), "second document starts here")
                        .with_help("split the documents into separate files");
                    return Err(vec![d]);
                }
                None
            }
            Event::Alias(id) => {
                let node = match anchors.get(&id) {
                    Some(n) => n,
                    None => {
                        let d = Diagnostic::error(Code::YamlSyntax, "alias refers to an unknown anchor")
                            .at(span(s, e), "unknown anchor");
                        return Err(vec![d]);
                    }
                };
                let (size, size_bytes) = node.weight();
                nodes += size;
                bytes += size_bytes;
                if nodes > MAX_NODES {
                    return Err(vec![limit_diag(span(s, e), "aliases expand this file to too many nodes")]);
                }
                if bytes > MAX_EXPANDED_BYTES {
                    return Err(vec![limit_diag(span(s, e), "aliases expand this file to too many bytes")]);
                }
                let mut n = node.clone();
                n.span = span(s, e);
                Some((n, 0))
            }
            Event::Scalar(value, style, anchor, tag) => {
                nodes += 1;
                bytes += value.len();
                let plain = style == ScalarStyle::Plain && tag.is_none();
                let forced_str = tag.as_ref().map(|t| t.suffix == "str").unwrap_or(false);
                let v = if plain {
                    resolve_plain(&value)
                } else if forced_str {
                    Value::Str(value.into_owned())
                } else {
                    tagged(&value, tag.as_ref().map(|t| t.suffix.as_str()))
                };
                let st = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                Some((Node { value: v, span: span(s, e), style: st }, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(vec![limit_diag(span(s, e), "nesting is too deep")]);
                }
                stack.push(Frame::Seq { items: Vec::new(), start: s, anchor });
                None
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(vec![limit_diag(span(s, e), "nesting is too deep")]);
                }
                stack.push(Frame::Map { entries: Vec::new(), key: None, start: s, anchor });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { items, start, anchor }) => {
                    nodes += 1;
                    let end = items.last().map(|n| n.span.end as usize).unwrap_or(offsets.byte(e));
                    let sp = Span::new(file, offsets.byte(start), end.max(offsets.byte(start)));
                    Some((Node { value: Value::Seq(items), span: sp, style: Style::Collection }, anchor))
                }
                _ => None,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map { entries, start, anchor, .. }) => {
                    nodes += 1;
                    let end = entries.last().map(|(_, v)| v.span.end as usize).unwrap_or(offsets.byte(e));
                    let sp = Span::new(file, offsets.byte(start), end.max(offsets.byte(start)));
                    let entries = apply_merge_keys(entries, &mut diags);
                    check_duplicate_keys(&entries, &mut diags);
                    Some((Node { value: Value::Map(entries), span: sp, style: Style::Collection }, anchor))
                }
                _ => None,
            },
        };
        if nodes > MAX_NODES {
            return Err(vec![limit_diag(span(s, e), "this file has too many nodes")]);
        }
        if let Some((node, anchor)) = finished {
            if anchor != 0 {
                anchors.insert(anchor, node.clone());
            }
            match stack.last_mut() {
                None => root = Some(node),
                Some(Frame::Seq { items, .. }) => items.push(node),
                Some(Frame::Map { entries, key, .. }) => match key.take() {
                    None => *key = Some(node),
                    Some(k) => entries.push((k, node)),
                },
            }
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(root.unwrap_or(Node { value: Value::Null, span: Span::new(file, 0, 0), style: Style::Plain }))
}

fn limit_diag(span: Span, what: &str) -> Diagnostic {
    Diagnostic::error(Code::InputLimit, format!("{what}: refusing to load it"))
        .at(span, "limit reached here")
        .with_help(format!(
            "a model file may expand to at most {MAX_NODES} nodes and {} MiB of text, and nest at most \
             {MAX_DEPTH} levels deep",
            MAX_EXPANDED_BYTES >> 20
        ))
}

/// YAML 1.2 core schema resolution of an untagged plain scalar.
fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = s.parse::<i64>() {
            return Value::Int(i);
        }
        if let Ok(f) = s.parse::<f64>() {
            return Value::Float(f);
        }
    }
    if let Some(hex) = s.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Value::Int(i);
        }
    }
    if let Some(oct) = s.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Value::Int(i);
        }
    }
    if looks_like_float(s) {
        if let Ok(f) = s.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(s.to_string())
}

fn looks_like_float(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mantissa_ok = {
        let mut parts = mantissa.splitn(2, '.');
        let int = parts.next().unwrap_or("");
        let frac = parts.next();
        let int_ok = int.bytes().all(|b| b.is_ascii_digit());
        let frac_ok = frac.map(|f| f.bytes().all(|b| b.is_ascii_digit())).unwrap_or(true);
        int_ok && frac_ok && (frac.is_some() || exp.is_some()) && (int.len() + frac.map_or(0, str::len)) > 0
    };
    let exp_ok = exp
        .map(|e| {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
        })
        .unwrap_or(true);
    mantissa_ok && exp_ok
}

fn tagged(s: &str, tag: Option<&str>) -> Value {
    match tag {
        Some("int") | Some("float") | Some("bool") | Some("null") => resolve_plain(s),
        _ => Value::Str(s.to_string()),
    }
}

/// `<<: *base` and `<<: [*a, *b]`: keys already in the mapping win, then earlier merged maps.
fn apply_merge_keys(entries: Vec<(Node, Node)>, diags: &mut Vec<Diagnostic>) -> Vec<(Node, Node)> {
    if !entries.iter().any(|(k, _)| is_merge_key(k)) {
        return entries;
    }
    let mut own: Vec<(Node, Node)> = Vec::new();
    let mut merged: Vec<(Node, Node)> = Vec::new();
    for (k, v) in entries {
        if !is_merge_key(&k) {
            own.push((k, v));
            continue;
        }
        let sources: Vec<Node> = match v.value {
            Value::Map(_) => vec![v],
            Value::Seq(items) => items,
            _ => {
                diags.push(
                    Diagnostic::error(Code::WrongType, "a merge key `<<` needs a mapping or a list of mappings")
                        .at(v.span, format!("found {}", v.kind_name())),
                );
                continue;
            }
        };
        for src in sources {
            match src.value {
                Value::Map(m) => {
                    for (mk, mv) in m {
                        let taken = |list: &[(Node, Node)]| list.iter().any(|(k2, _)| k2.value == mk.value);
                        if !taken(&own) && !taken(&merged) {
                            merged.push((mk, mv));
                        }
                    }
                }
                _ => diags.push(
                    Diagnostic::error(Code::WrongType, "a merge key `<<` needs a mapping or a list of mappings")
                        .at(src.span, format!("found {}", src.kind_name())),
                ),
            }
        }
    }
    merged.retain(|(mk, _)| !own.iter().any(|(k, _)| k.value == mk.value));
    own.extend(merged);
    own
}

fn is_merge_key(k: &Node) -> bool {
    k.style == Style::Plain && k.as_str() == Some("<<")
}

fn check_duplicate_keys(entries: &[(Node, Node)], diags: &mut Vec<Diagnostic>) {
    // Mappings are small: a quadratic scan without allocation beats hashing here.
    for (i, (k, _)) in entries.iter().enumerate().skip(1) {
        let Some(first) = entries[..i].iter().find(|(prev, _)| prev.value == k.value).map(|(prev, _)| prev.span) else {
            continue;
        };
        let text = k.scalar_text().unwrap_or_default();
        diags.push(
            Diagnostic::error(Code::DuplicateKey, format!("duplicate key `{text}` in a mapping"))
                .at(k.span, "repeated here")
                .at(first, "first defined here")
                .with_help("YAML keys must be unique within a mapping; remove or rename one of them"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Node {
        parse(text, FileId(0)).expect("parses")
    }

    #[test]
    fn scalars_resolve_like_yaml_core_schema() {
        let n = p("a: 1\nb: true\nc: ~\nd: '1'\ne: 1.5\nf: hello\ng: 1e3\n");
        let m = n.as_map().unwrap();
        let vals: Vec<&Value> = m.iter().map(|(_, v)| &v.value).collect();
        assert_eq!(vals[0], &Value::Int(1));
        assert_eq!(vals[1], &Value::Bool(true));
        assert_eq!(vals[2], &Value::Null);
        assert_eq!(vals[3], &Value::Str("1".into()));
        assert_eq!(vals[4], &Value::Float(1.5));
        assert_eq!(vals[5], &Value::Str("hello".into()));
        assert_eq!(vals[6], &Value::Float(1000.0));
    }

    #[test]
    fn merge_keys_and_anchors() {
        let n = p("base: &b\n  x: 1\n  y: 2\nchild:\n  <<: *b\n  y: 3\n");
        let child = n.get("child").unwrap();
        assert_eq!(child.get("x").unwrap().value, Value::Int(1));
        assert_eq!(child.get("y").unwrap().value, Value::Int(3));
        assert_eq!(child.as_map().unwrap().len(), 2);
    }

    #[test]
    fn spans_point_at_values() {
        let text = "cubes:\n  - name: orders\n";
        let n = p(text);
        let name = n.get("cubes").unwrap().as_seq().unwrap()[0].get("name").unwrap();
        assert_eq!(&text[name.span.start as usize..name.span.end as usize], "orders");
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = (b'a' + i) as char;
            let cur = (b'a' + i + 1) as char;
            text.push_str(&format!("{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let err = parse(&text, FileId(0)).unwrap_err();
        assert_eq!(err[0].code, Code::InputLimit);
    }

    #[test]
    fn long_string_aliased_a_million_times_is_refused() {
        let mut text = format!("a: &a \"{}\"\nb: [", "x".repeat(10_000));
        text.push_str(&"*a, ".repeat(1_000_000));
        text.push_str("]\n");
        let err = parse(&text, FileId(0)).unwrap_err();
        assert_eq!(err[0].code, Code::InputLimit);
        assert!(err[0].message.contains("too many bytes"), "{}", err[0].message);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let err = parse(&text, FileId(0)).unwrap_err();
        assert_eq!(err[0].code, Code::InputLimit);
    }

    #[test]
    fn locates_reference_in_block_scalar() {
        let text = "sql: >\n  100.0 * {a}\n  / {b}\n";
        let mut sources = crate::diag::SourceMap::default();
        let file = sources.add("m.yml".into(), text.to_string());
        let n = parse(text, file).unwrap();
        let sql = n.get("sql").unwrap();
        let sp = crate::diag::locate(&sources, sql.span, "{b}", 0);
        assert_eq!(&text[sp.start as usize..sp.end as usize], "{b}");
    }
}
