//! Cube's JavaScript model files to Cube YAML (`cubec import-js`, and `.js` files in a model).
//!
//! Input: JS source parsed by oxc. Each top-level statement must be `cube('name', {...})` or
//! `view('name', {...})` whose object is plain data: literals, arrays, objects with static keys,
//! and template strings whose `${...}` are names (`${CUBE}`, `${member}`, `${Cube.member}`).
//! Output: YAML text, and for each YAML line the JS line it came from, so diagnostics about the
//! converted model point into the JS file. Anything else (imports, functions, computed keys,
//! spreads, calls, arbitrary expressions) is an error at its position: nothing is guessed.

use oxc_allocator::Allocator;
use oxc_ast::ast::*;
use oxc_span::{GetSpan, SourceType};
use serde_json::Value;

/// A construct that cannot be converted, at a byte offset of the JS source.
#[derive(Debug, Clone, PartialEq)]
pub struct JsError {
    pub message: String,
    pub offset: u32,
}

/// Keys whose object values are maps of named things, written as YAML lists with `name`.
const NAMED_LISTS: &[&str] =
    &["measures", "dimensions", "segments", "joins", "pre_aggregations", "granularities", "hierarchies"];

/// The YAML for `source`, and the 1-based JS line of each YAML line.
pub fn convert(source: &str) -> Result<(String, Vec<u32>), Vec<JsError>> {
    let allocator = Allocator::default();
    let parsed = oxc_parser::Parser::new(&allocator, source, SourceType::cjs()).parse();
    let syntax: Vec<JsError> = parsed
        .diagnostics
        .errors()
        .map(|d| JsError {
            message: format!("JavaScript syntax: {}", d.message),
            offset: d.labels.first().map(|l| l.offset()).unwrap_or(0),
        })
        .collect();
    if !syntax.is_empty() || parsed.panicked {
        return Err(if syntax.is_empty() {
            vec![JsError { message: "JavaScript syntax error".into(), offset: 0 }]
        } else {
            syntax
        });
    }
    let mut errors = Vec::new();
    let mut cubes = Vec::new();
    let mut views = Vec::new();
    for stmt in &parsed.program.body {
        let Statement::ExpressionStatement(es) = stmt else {
            errors
                .push(err(stmt.span(), "only `cube(...)` and `view(...)` calls can be converted, not this statement"));
            continue;
        };
        let Expression::CallExpression(call) = &es.expression else {
            errors.push(err(es.span, "only `cube(...)` and `view(...)` calls can be converted"));
            continue;
        };
        let kind = match &call.callee {
            Expression::Identifier(id) if id.name == "cube" || id.name == "view" => id.name.to_string(),
            other => {
                errors.push(err(other.span(), "only `cube(...)` and `view(...)` calls can be converted"));
                continue;
            }
        };
        let (Some(name), Some(body), 2) = (
            call.arguments.first().and_then(Argument::as_expression),
            call.arguments.get(1).and_then(Argument::as_expression),
            call.arguments.len(),
        ) else {
            errors.push(err(call.span, &format!("`{kind}(...)` takes a name and an object")));
            continue;
        };
        let name = match name {
            Expression::StringLiteral(s) => s.value.to_string(),
            Expression::TemplateLiteral(t) if t.expressions.is_empty() => {
                t.quasis.first().map(|q| q.value.raw.to_string()).unwrap_or_default()
            }
            other => {
                errors.push(err(other.span(), "the cube name must be a string literal"));
                continue;
            }
        };
        let line = line_of(source, call.span.start);
        match value(body, None, &mut errors, source) {
            Some(Node::Map(mut fields)) => {
                fields.insert(0, ("name".to_string(), Node::Leaf(Value::String(name), line)));
                let node = Node::Map(fields);
                if kind == "cube" {
                    cubes.push((node, line))
                } else {
                    views.push((node, line))
                }
            }
            Some(_) => errors.push(err(body.span(), "the second argument must be an object literal")),
            None => {}
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = Emitter::default();
    out.line("# Converted from Cube JavaScript by `cubec import-js`.", 1);
    for (key, list) in [("cubes", cubes), ("views", views)] {
        if list.is_empty() {
            continue;
        }
        out.line(&format!("{key}:"), list.first().map(|(_, l)| *l).unwrap_or(1));
        for (node, _) in &list {
            out.list_item(node, 1);
        }
    }
    Ok((out.text, out.lines))
}

/// A converted value, each leaf with the JS line it came from.
enum Node {
    Leaf(Value, u32),
    List(Vec<Node>, u32),
    Map(Vec<(String, Node)>),
}

fn err(span: oxc_span::Span, message: &str) -> JsError {
    JsError { message: message.to_string(), offset: span.start }
}

fn line_of(source: &str, offset: u32) -> u32 {
    source.as_bytes().iter().take(offset as usize).filter(|b| **b == b'\n').count() as u32 + 1
}

fn snake(key: &str) -> String {
    crate::util::snake_case(key).into_owned()
}

/// Converts one expression; `parent` is the key it sits under (to know named lists).
fn value(e: &Expression, parent: Option<&str>, errors: &mut Vec<JsError>, src: &str) -> Option<Node> {
    let line = line_of(src, e.span().start);
    Some(match e {
        Expression::StringLiteral(s) => Node::Leaf(Value::String(s.value.to_string()), line),
        Expression::NumericLiteral(n) => {
            Node::Leaf(serde_json::Number::from_f64(n.value).map(Value::Number).unwrap_or(Value::Null), line)
        }
        Expression::BooleanLiteral(b) => Node::Leaf(Value::Bool(b.value), line),
        Expression::NullLiteral(_) => Node::Leaf(Value::Null, line),
        Expression::TemplateLiteral(t) => Node::Leaf(Value::String(template(t, errors)?), line),
        Expression::ArrayExpression(a) => {
            let mut items = Vec::new();
            for el in &a.elements {
                match el.as_expression() {
                    Some(x) => items.push(value(x, None, errors, src)?),
                    None => {
                        errors.push(err(el.span(), "spreads and holes in arrays cannot be converted"));
                        return None;
                    }
                }
            }
            Node::List(items, line)
        }
        Expression::ObjectExpression(o) => {
            let named = parent.is_some_and(|p| NAMED_LISTS.contains(&p));
            let mut fields = Vec::new();
            let mut list = Vec::new();
            for p in &o.properties {
                let ObjectPropertyKind::ObjectProperty(prop) = p else {
                    errors.push(err(p.span(), "object spreads cannot be converted"));
                    return None;
                };
                if prop.computed || prop.method || prop.kind != PropertyKind::Init {
                    errors.push(err(prop.span, "computed keys, methods, getters and setters cannot be converted"));
                    return None;
                }
                let Some(key) = prop.key.static_name() else {
                    errors.push(err(prop.key.span(), "this key cannot be converted"));
                    return None;
                };
                if named {
                    // `measures: { count: {...} }` becomes a list item with `name: count`.
                    match value(&prop.value, None, errors, src)? {
                        Node::Map(mut inner) => {
                            let kline = line_of(src, prop.span.start);
                            inner.insert(0, ("name".to_string(), Node::Leaf(Value::String(key.to_string()), kline)));
                            list.push(Node::Map(inner));
                        }
                        _ => {
                            errors.push(err(prop.value.span(), "a member definition must be an object"));
                            return None;
                        }
                    }
                } else {
                    let k = snake(&key);
                    let v = value(&prop.value, Some(&k), errors, src)?;
                    fields.push((k, v));
                }
            }
            if named {
                Node::List(list, line)
            } else {
                Node::Map(fields)
            }
        }
        other => {
            errors.push(err(
                other.span(),
                "only literals, arrays, objects and template strings can be converted (functions, calls, variables and operators cannot)",
            ));
            return None;
        }
    })
}

/// A template string as Cube YAML text: `${name}` and `${a.b}` become `{name}` and `{a.b}`.
fn template(t: &TemplateLiteral, errors: &mut Vec<JsError>) -> Option<String> {
    let mut out = String::new();
    for (i, q) in t.quasis.iter().enumerate() {
        let text = q.value.cooked.as_ref().map(|c| c.to_string()).unwrap_or_else(|| q.value.raw.to_string());
        if text.contains(['{', '}']) {
            errors.push(err(
                q.span,
                "braces in a template string would read as references in YAML; write this member in YAML by hand",
            ));
            return None;
        }
        out.push_str(&text);
        if let Some(e) = t.expressions.get(i) {
            out.push('{');
            out.push_str(&path(e).or_else(|| {
                errors.push(err(
                    e.span(),
                    "only `${name}` and `${cube.member}` can be converted inside a template string",
                ));
                None
            })?);
            out.push('}');
        }
    }
    Some(out)
}

fn path(e: &Expression) -> Option<String> {
    match e {
        Expression::Identifier(id) => Some(id.name.to_string()),
        Expression::StaticMemberExpression(m) => Some(format!("{}.{}", path(&m.object)?, m.property.name)),
        _ => None,
    }
}

/// Block-style YAML, scalars as JSON (always valid YAML), with a JS line per output line.
#[derive(Default)]
struct Emitter {
    text: String,
    lines: Vec<u32>,
}

impl Emitter {
    fn line(&mut self, s: &str, js_line: u32) {
        self.text.push_str(s);
        self.text.push('\n');
        self.lines.push(js_line);
    }

    fn scalar(v: &Value) -> String {
        match v {
            Value::String(s) if plain(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// `- ` followed by the node, at `depth` (two spaces per level).
    fn list_item(&mut self, node: &Node, depth: usize) {
        let pad = "  ".repeat(depth);
        match node {
            Node::Map(fields) if !fields.is_empty() => {
                for (i, (k, v)) in fields.iter().enumerate() {
                    let lead = if i == 0 { format!("{pad}- ") } else { format!("{pad}  ") };
                    self.field(&lead, k, v, depth + 1);
                }
            }
            Node::Map(_) => self.line(&format!("{pad}- {{}}"), 1),
            Node::Leaf(v, l) => self.line(&format!("{pad}- {}", Self::scalar(v)), *l),
            Node::List(items, l) => {
                self.line(&format!("{pad}-"), *l);
                for it in items {
                    self.list_item(it, depth + 1);
                }
            }
        }
    }

    fn field(&mut self, lead: &str, key: &str, v: &Node, depth: usize) {
        let pad = "  ".repeat(depth);
        match v {
            Node::Leaf(x, l) => self.line(&format!("{lead}{key}: {}", Self::scalar(x)), *l),
            Node::List(items, l) if items.is_empty() => self.line(&format!("{lead}{key}: []"), *l),
            Node::List(items, l) => {
                self.line(&format!("{lead}{key}:"), *l);
                for it in items {
                    self.list_item(it, depth + 1);
                }
            }
            Node::Map(fields) if fields.is_empty() => self.line(&format!("{lead}{key}: {{}}"), 1),
            Node::Map(fields) => {
                let first = first_line(v);
                self.line(&format!("{lead}{key}:"), first);
                for (k, x) in fields {
                    self.field(&format!("{pad}  "), k, x, depth + 1);
                }
            }
        }
    }
}

fn first_line(n: &Node) -> u32 {
    match n {
        Node::Leaf(_, l) | Node::List(_, l) => *l,
        Node::Map(f) => f.first().map(|(_, v)| first_line(v)).unwrap_or(1),
    }
}

/// Strings safe to write unquoted in YAML.
fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.trim() == s
        && s.chars().all(|c| c.is_alphanumeric() || " _-.()*/+<>=,'".contains(c))
        && !s.starts_with(['-', '*', '\'', '<', '>', '=', '.', '('])
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "~"
        )
        && s.parse::<f64>().is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cube_with_template_references_converts() {
        let js = "cube('Orders', {\n  sql: `SELECT * FROM orders`,\n  measures: {\n    count: { type: 'count' },\n    rate: { sql: `100.0 * ${paid} / ${CUBE.count}`, type: 'number' },\n  },\n  dimensions: { createdAt: { sql: `created_at`, type: `time`, primaryKey: false } },\n});\n";
        let (yaml, lines) = convert(js).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(yaml.contains("  - name: Orders\n    sql: SELECT * FROM orders\n    measures:\n      - name: count\n        type: count\n"), "{yaml}");
        assert!(yaml.contains("sql: \"100.0 * {paid} / {CUBE.count}\""), "{yaml}");
        assert!(yaml.contains("primary_key: false"), "{yaml}");
        assert_eq!(lines.len(), yaml.lines().count());
    }

    #[test]
    fn functions_imports_and_computed_keys_are_refused_with_positions() {
        for (js, needle) in [
            ("import x from 'y';\ncube('a', {});", "not this statement"),
            ("cube('a', { sql: () => `x` });", "functions"),
            ("cube('a', { [k]: 1 });", "computed keys"),
            ("cube('a', { ...base });", "spreads"),
            ("cube('a', { sql: `${f(x)}` });", "inside a template string"),
            ("cube('a', {", "syntax"),
        ] {
            let errors = convert(js).err().unwrap_or_default();
            assert!(errors.iter().any(|e| e.message.contains(needle)), "{js}: {errors:?}");
        }
    }
}
