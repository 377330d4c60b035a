//! [`Obj`]: a YAML mapping being read into a raw model part. It hands out each key's value
//! with its expected shape checked (a string, a list, a bool, ...), remembers which keys were
//! consumed, and reports the rest as unknown keys with a "did you mean".

use super::raw::*;
use crate::diag::{Code, Diagnostic, Span};
use crate::load::yaml::{Node, Value};
use crate::util::{did_you_mean, snake_case};

/// A mapping being read: remembers which keys were consumed and reports the rest as unknown.
pub(super) struct Obj<'a> {
    entries: Vec<(std::borrow::Cow<'a, str>, &'a Node, &'a Node)>,
    what: &'static str,
    allowed: &'static [&'static str],
    span: Span,
}

impl<'a> Obj<'a> {
    pub(super) fn new(
        node: &'a Node,
        what: &'static str,
        allowed: &'static [&'static str],
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Obj<'a>> {
        let Some(map) = node.as_map() else {
            diags.push(
                Diagnostic::error(Code::WrongType, format!("{what} must be a mapping, found {}", node.kind_name()))
                    .at(node.span, "expected a mapping here"),
            );
            return None;
        };
        let mut entries = Vec::with_capacity(map.len());
        for (k, v) in map {
            let Some(text) = k.as_str() else {
                diags.push(Diagnostic::error(Code::WrongType, "keys must be plain names").at(k.span, "not a name"));
                continue;
            };
            let key = snake_case(text);
            if entries.iter().any(|(seen, _, _)| *seen == key) {
                diags.push(
                    Diagnostic::error(Code::DuplicateKey, format!("`{text}` is set twice in this {what}"))
                        .at(k.span, "set again here")
                        .with_help("camelCase and snake_case spellings of a key are the same key"),
                );
                continue;
            }
            entries.push((key, k, v));
        }
        let obj = Obj { entries, what, allowed, span: node.span };
        obj.report_unknown(diags);
        Some(obj)
    }

    pub(super) fn report_unknown(&self, diags: &mut Vec<Diagnostic>) {
        for (key, k, _) in &self.entries {
            if self.allowed.contains(&key.as_ref()) {
                continue;
            }
            let shown = k.scalar_text().unwrap_or_default();
            let help = match did_you_mean(key, self.allowed.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("allowed keys for a {}: {}", self.what, self.allowed.join(", ")),
            };
            diags.push(
                Diagnostic::error(Code::UnknownKey, format!("unknown key `{shown}` in {}", self.what))
                    .at(k.span, "not a known key")
                    .with_help(help),
            );
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| *v)
    }

    pub(super) fn key_span(&self, key: &str) -> Option<Span> {
        self.entries.iter().find(|(k, _, _)| k == key).map(|(_, k, _)| k.span)
    }

    /// A string value. Numbers and booleans are accepted as their text (`sql: 1`).
    pub(super) fn str(&self, key: &str, diags: &mut Vec<Diagnostic>) -> Option<SpStr> {
        let node = self.get(key)?;
        match &node.value {
            Value::Null => None,
            Value::Str(s) => Some(Sp::new(s.clone(), node.span)),
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                Some(Sp::new(node.scalar_text().unwrap_or_default(), node.span))
            }
            _ => {
                diags.push(
                    Diagnostic::error(Code::WrongType, format!("`{key}` must be a string, found {}", node.kind_name()))
                        .at(node.span, "expected a string"),
                );
                None
            }
        }
    }

    pub(super) fn bool(&self, key: &str, diags: &mut Vec<Diagnostic>) -> Option<Sp<bool>> {
        let node = self.get(key)?;
        match &node.value {
            Value::Bool(b) => Some(Sp::new(*b, node.span)),
            Value::Null => None,
            Value::Str(s) if s == "true" || s == "false" => {
                diags.push(
                    Diagnostic::error(Code::WrongType, format!("`{key}` must be a boolean, found the string \"{s}\""))
                        .at(node.span, "a quoted string")
                        .with_help(format!("write {s} without quotes")),
                );
                None
            }
            _ => {
                diags.push(
                    Diagnostic::error(
                        Code::WrongType,
                        format!("`{key}` must be a boolean, found {}", node.kind_name()),
                    )
                    .at(node.span, "expected true or false"),
                );
                None
            }
        }
    }

    pub(super) fn json(&self, key: &str) -> Option<serde_json::Value> {
        self.get(key).map(Node::to_json)
    }

    /// A list value. Cube's YAML wants arrays of named objects; a mapping is a common mistake.
    pub(super) fn list(&self, key: &str, diags: &mut Vec<Diagnostic>) -> &'a [Node] {
        let Some(node) = self.get(key) else {
            return &[];
        };
        match &node.value {
            Value::Seq(items) => items,
            Value::Null => &[],
            Value::Map(_) => {
                diags.push(
                    Diagnostic::error(Code::WrongType, format!("`{key}` must be defined as a list, found a mapping"))
                        .at(self.key_span(key).unwrap_or(node.span), "a mapping, not a list")
                        .with_help(format!("write each item as `- name: ...` under `{key}:`")),
                );
                &[]
            }
            _ => {
                diags.push(
                    Diagnostic::error(Code::WrongType, format!("`{key}` must be a list, found {}", node.kind_name()))
                        .at(node.span, "expected a list"),
                );
                &[]
            }
        }
    }

    /// A list of strings; a single string is accepted as a one-item list.
    pub(super) fn str_list(&self, key: &str, diags: &mut Vec<Diagnostic>) -> Vec<SpStr> {
        let Some(node) = self.get(key) else {
            return Vec::new();
        };
        if let Value::Str(s) = &node.value {
            return vec![Sp::new(s.clone(), node.span)];
        }
        self.list(key, diags)
            .iter()
            .filter_map(|item| match item.scalar_text() {
                Some(s) if !matches!(item.value, Value::Null) => Some(Sp::new(s, item.span)),
                _ => {
                    diags.push(
                        Diagnostic::error(
                            Code::WrongType,
                            format!("items of `{key}` must be strings, found {}", item.kind_name()),
                        )
                        .at(item.span, "expected a string"),
                    );
                    None
                }
            })
            .collect()
    }

    pub(super) fn require_name(&self, diags: &mut Vec<Diagnostic>) -> Option<SpStr> {
        let name = self.str("name", diags);
        if name.is_none() && self.get("name").is_none() {
            diags.push(
                Diagnostic::error(Code::MissingKey, format!("{} has no `name`", self.what))
                    .at(Span { end: self.span.start + 1, ..self.span }, format!("this {} needs a name", self.what))
                    .with_help("add `name: <identifier>`"),
            );
        }
        name
    }
}
