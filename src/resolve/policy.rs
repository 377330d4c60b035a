//! Reads `access_policy` items (YAML nodes kept by the loader) into [`Policy`] values once the
//! cube's or view's members are known: a policy is part of the model, resolved like its joins
//! and views; the `access` stage only evaluates and enforces it. Every problem is a located diagnostic: unknown keys,
//! `role` (removed in Cube 1.7), `group` with `groups`, unknown or foreign members, operators that
//! do not exist, templates that name nothing, `allow_all` that is not `true`.

use super::model::condition::{self, context_path};
use super::model::*;
use crate::diag::{Code, Diagnostic, Span};
use crate::load::yaml::{Node, Value};
use crate::util::{did_you_mean, snake_case};
use crate::vocab::Operator;

pub(crate) const POLICY_KEYS: &[&str] =
    &["group", "groups", "role", "conditions", "member_level", "row_level", "member_masking"];
pub(crate) const MEMBER_LEVEL_KEYS: &[&str] = &["includes", "excludes"];
pub(crate) const ROW_LEVEL_KEYS: &[&str] = &["filters", "allow_all"];
pub(crate) const FILTER_KEYS: &[&str] = &["member", "operator", "values", "and", "or"];
pub(crate) const CONDITION_KEYS: &[&str] = &["if"];
/// Nesting of `and`/`or` in a row filter.
const MAX_DEPTH: usize = 32;

/// Reads every policy of `cube` (a cube or a view, with its members resolved).
pub fn read_policies(cube: &Cube, items: &[Node], diags: &mut Vec<Diagnostic>) -> Vec<Policy> {
    items.iter().filter_map(|n| read_policy(cube, n, diags)).collect()
}

fn policy_error(message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(Code::AccessPolicy, message)
}

/// The entries of a mapping with snake_case keys; unknown keys are reported.
fn entries<'a>(
    node: &'a Node,
    what: &str,
    allowed: &[&str],
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<(String, &'a Node, &'a Node)>> {
    let Some(map) = node.as_map() else {
        diags.push(
            Diagnostic::error(Code::WrongType, format!("{what} must be a mapping, found {}", node.kind_name()))
                .at(node.span, "expected a mapping here"),
        );
        return None;
    };
    let mut out = Vec::new();
    for (k, v) in map {
        let text = k.scalar_text().unwrap_or_default();
        let key = snake_case(&text).into_owned();
        if !allowed.contains(&key.as_str()) {
            let help = match did_you_mean(&key, allowed.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("allowed keys in {what}: {}", allowed.join(", ")),
            };
            diags.push(
                Diagnostic::error(Code::UnknownKey, format!("unknown key `{text}` in {what}"))
                    .at(k.span, "not a known key")
                    .with_help(help),
            );
            continue;
        }
        out.push((key, k, v));
    }
    Some(out)
}

fn find<'a>(entries: &[(String, &'a Node, &'a Node)], key: &str) -> Option<(&'a Node, &'a Node)> {
    entries.iter().find(|(k, _, _)| k == key).map(|(_, k, v)| (*k, *v))
}

fn read_policy(cube: &Cube, node: &Node, diags: &mut Vec<Diagnostic>) -> Option<Policy> {
    let e = entries(node, "an access policy", POLICY_KEYS, diags)?;
    let before = diags.len();
    if let Some((k, _)) = find(&e, "role") {
        diags.push(
            policy_error("`role` was removed from access policies in Cube 1.7")
                .at(k.span, "not allowed")
                .with_help("write `group: <name>` (or `groups: [...]`); groups come from the token's `groups` claim"),
        );
    }
    let groups = match (find(&e, "group"), find(&e, "groups")) {
        (Some((k, _)), Some(_)) => {
            diags.push(
                policy_error("an access policy has both `group` and `groups`")
                    .at(k.span, "one of the two")
                    .with_help("use `group: name` for one group or `groups: [a, b]` for several"),
            );
            None
        }
        (Some((_, v)), None) => match &v.value {
            Value::Str(s) => Some(if s == "*" { Groups::Any } else { Groups::Names(vec![s.clone()]) }),
            _ => {
                diags.push(
                    Diagnostic::error(Code::WrongType, format!("`group` must be a string, found {}", v.kind_name()))
                        .at(v.span, "expected one group name")
                        .with_help("for several groups write `groups: [a, b]`"),
                );
                None
            }
        },
        (None, Some((_, v))) => match &v.value {
            Value::Seq(items) => {
                let mut names = Vec::new();
                for i in items {
                    match i.as_str() {
                        Some(s) => names.push(s.to_string()),
                        None => diags.push(
                            Diagnostic::error(
                                Code::WrongType,
                                format!("group names must be strings, found {}", i.kind_name()),
                            )
                            .at(i.span, "expected a string"),
                        ),
                    }
                }
                Some(if names.iter().any(|n| n == "*") { Groups::Any } else { Groups::Names(names) })
            }
            _ => {
                diags.push(
                    Diagnostic::error(Code::WrongType, format!("`groups` must be a list, found {}", v.kind_name()))
                        .at(v.span, "expected a list of group names")
                        .with_help("write `groups: [a, b]`, or `group: a` for one"),
                );
                None
            }
        },
        (None, None) => {
            if find(&e, "role").is_none() {
                diags.push(
                    policy_error("an access policy needs `group` or `groups`")
                        .at(Span { end: node.span.start + 1, ..node.span }, "no group here")
                        .with_help("`group: \"*\"` applies the policy to everyone"),
                );
            }
            None
        }
    };
    if let Some((k, _)) = find(&e, "member_masking") {
        diags.push(
            policy_error("`member_masking` is not supported by cubec")
                .at(k.span, "not supported")
                .with_help("grant the member in `member_level` or leave it out; cubec never returns masked values"),
        );
    }
    let conditions = match find(&e, "conditions") {
        None => Vec::new(),
        Some((_, v)) => read_conditions(v, diags),
    };
    let members = find(&e, "member_level").and_then(|(_, v)| {
        let me = entries(v, "`member_level`", MEMBER_LEVEL_KEYS, diags)?;
        Some(MemberGrant {
            includes: find(&me, "includes")
                .map(|(_, n)| member_set(cube, n, "includes", diags))
                .unwrap_or(MemberSet::All),
            excludes: find(&me, "excludes")
                .map(|(_, n)| member_set(cube, n, "excludes", diags))
                .unwrap_or(MemberSet::Some(Vec::new())),
        })
    });
    let rows = match find(&e, "row_level") {
        None => RowLevel::AllRows,
        Some((_, v)) => read_row_level(cube, v, diags),
    };
    if diags.len() > before {
        return None;
    }
    Some(Policy { span: node.span, groups: groups?, conditions, members, rows })
}

fn read_conditions(v: &Node, diags: &mut Vec<Diagnostic>) -> Vec<Condition> {
    let Some(items) = v.as_seq() else {
        diags.push(
            Diagnostic::error(Code::WrongType, format!("`conditions` must be a list, found {}", v.kind_name()))
                .at(v.span, "expected a list of `- if: ...`"),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let Some(ce) = entries(item, "a condition", CONDITION_KEYS, diags) else { continue };
        let Some((_, expr)) = find(&ce, "if") else {
            diags.push(
                policy_error("a condition needs `if`")
                    .at(item.span, "no `if` here")
                    .with_help("write `- if: \"{ securityContext.is_admin }\"`"),
            );
            continue;
        };
        let parsed = match &expr.value {
            Value::Str(s) => condition::parse(s),
            Value::Bool(b) => Ok(Condition::Literal(*b)),
            _ => Err(format!("`if` must be a string expression, found {}", expr.kind_name())),
        };
        match parsed {
            Ok(c) => out.push(c),
            Err(message) => diags.push(
                policy_error(format!("this condition cannot be used: {message}"))
                    .at(expr.span, "here")
                    .with_help("conditions read booleans from the security context: `{ securityContext.is_admin }`, `.includes('x')`, and, or, not"),
            ),
        }
    }
    out
}

/// `"*"` or a list of member names of this cube or view (bare or `cube.member`).
fn member_set(cube: &Cube, n: &Node, key: &str, diags: &mut Vec<Diagnostic>) -> MemberSet {
    match &n.value {
        Value::Str(s) if s == "*" => MemberSet::All,
        Value::Seq(items) => MemberSet::Some(
            items
                .iter()
                .filter_map(|i| match i.as_str() {
                    Some("*") => {
                        diags.push(
                            policy_error(format!("`\"*\"` must be the whole value of `{key}`, not a list item"))
                                .at(i.span, "write `{key}: \"*\"`"),
                        );
                        None
                    }
                    Some(name) => member_ref(cube, name, i.span, key, diags),
                    None => {
                        diags.push(
                            Diagnostic::error(
                                Code::WrongType,
                                format!("items of `{key}` must be member names, found {}", i.kind_name()),
                            )
                            .at(i.span, "expected a member name"),
                        );
                        None
                    }
                })
                .collect(),
        ),
        _ => {
            diags.push(
                Diagnostic::error(
                    Code::WrongType,
                    format!("`{key}` must be \"*\" or a list of members, found {}", n.kind_name()),
                )
                .at(n.span, "expected \"*\" or a list"),
            );
            MemberSet::Some(Vec::new())
        }
    }
}

/// A member of `cube` named bare or as `cube.member`; another cube's member is refused, as
/// in Cube ("paths aren't allowed").
fn member_ref(cube: &Cube, name: &str, span: Span, role: &str, diags: &mut Vec<Diagnostic>) -> Option<MemberRef> {
    let bare = match name.split_once('.') {
        Some((c, m)) if c == cube.name => m,
        Some((c, _)) => {
            diags.push(
                policy_error(format!(
                    "`{name}` names a member of `{c}`; an access policy of `{}` can only name its own members",
                    cube.name
                ))
                .at(span, format!("not a member of `{}`", cube.name))
                .with_help(format!("put a policy on `{c}` for its members")),
            );
            return None;
        }
        None => name,
    };
    match cube.member(bare) {
        Some(r) => Some(r),
        None => {
            let help = did_you_mean(bare, cube.members.keys().map(String::as_str));
            diags.push(
                policy_error(format!("`{bare}` in `{role}` is not a member of `{}`", cube.name))
                    .at(span, "unknown member")
                    .maybe_help(help.map(|h| format!("did you mean `{h}`?"))),
            );
            None
        }
    }
}

fn read_row_level(cube: &Cube, v: &Node, diags: &mut Vec<Diagnostic>) -> RowLevel {
    let Some(re) = entries(v, "`row_level`", ROW_LEVEL_KEYS, diags) else { return RowLevel::AllRows };
    match (find(&re, "allow_all"), find(&re, "filters")) {
        (Some((k, _)), Some(_)) => {
            diags.push(
                policy_error("`row_level` has both `allow_all` and `filters`")
                    .at(k.span, "one of the two")
                    .with_help("`allow_all: true` grants every row; `filters` grant the rows they match"),
            );
            RowLevel::AllRows
        }
        (Some((_, a)), None) => {
            if a.value != Value::Bool(true) {
                diags.push(policy_error("`allow_all` can only be `true`").at(a.span, "not `true`").with_help(
                    "to restrict rows write `filters: [...]`; to grant no rows leave the group out of the policy",
                ));
            }
            RowLevel::AllRows
        }
        (None, Some((_, f))) => match f.as_seq() {
            Some(items) if !items.is_empty() => {
                RowLevel::Filters(items.iter().filter_map(|i| read_filter(cube, i, 0, diags)).collect())
            }
            _ => {
                diags.push(
                    policy_error("`filters` must be a non-empty list")
                        .at(f.span, "expected `- member: ... operator: ... values: [...]`"),
                );
                RowLevel::AllRows
            }
        },
        (None, None) => {
            diags
                .push(policy_error("`row_level` needs `filters` or `allow_all: true`").at(v.span, "empty `row_level`"));
            RowLevel::AllRows
        }
    }
}

fn read_filter(cube: &Cube, node: &Node, depth: usize, diags: &mut Vec<Diagnostic>) -> Option<RowFilter> {
    if depth > MAX_DEPTH {
        diags.push(policy_error(format!("row filters nest more than {MAX_DEPTH} levels")).at(node.span, "too deep"));
        return None;
    }
    let e = entries(node, "a row filter", FILTER_KEYS, diags)?;
    for (key, is_and) in [("and", true), ("or", false)] {
        if let Some((k, list)) = find(&e, key) {
            if e.len() > 1 {
                diags.push(
                    policy_error(format!("a row filter with `{key}` can have no other keys"))
                        .at(k.span, "a group")
                        .with_help("put the other conditions inside the list"),
                );
                return None;
            }
            let items = match list.as_seq() {
                Some(items) if !items.is_empty() => items,
                _ => {
                    diags.push(
                        policy_error(format!("`{key}` must be a non-empty list")).at(list.span, "expected a list"),
                    );
                    return None;
                }
            };
            let children: Vec<RowFilter> =
                items.iter().filter_map(|i| read_filter(cube, i, depth + 1, diags)).collect();
            if children.len() != items.len() {
                return None;
            }
            return Some(if is_and { RowFilter::And(children) } else { RowFilter::Or(children) });
        }
    }
    let Some((_, m)) = find(&e, "member") else {
        diags.push(policy_error("a row filter needs `member`").at(node.span, "no `member` here"));
        return None;
    };
    let member = member_ref(cube, m.as_str().unwrap_or_default(), m.span, "filters", diags)?;
    let Some((_, op)) = find(&e, "operator") else {
        diags.push(policy_error("a row filter needs `operator`").at(m.span, "no `operator` for this member"));
        return None;
    };
    let op_name = op.as_str().unwrap_or_default();
    let Some(operator) = Operator::parse(op_name) else {
        let names: Vec<&str> = Operator::ALL.iter().map(|(n, _)| *n).collect();
        diags.push(
            policy_error(format!("`{op_name}` is not a filter operator")).at(op.span, "unknown operator").with_help(
                match did_you_mean(op_name, names.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("operators: {}", names.join(", ")),
                },
            ),
        );
        return None;
    };
    let values = match find(&e, "values") {
        None if operator.needs_values() => {
            diags.push(
                policy_error(format!("operator `{op_name}` needs `values`"))
                    .at(op.span, "no `values`")
                    .with_help("write `values: [\"{ securityContext.tenant_id }\"]` or literal values"),
            );
            return None;
        }
        None => FilterValues::None,
        Some((_, v)) => read_values(v, diags)?,
    };
    Some(RowFilter::Leaf { member, operator, values })
}

/// `values: [...]` (literals and templates) or `values: "{ securityContext.list }"`.
fn read_values(v: &Node, diags: &mut Vec<Diagnostic>) -> Option<FilterValues> {
    match &v.value {
        Value::Seq(items) => {
            let mut out = Vec::new();
            for i in items {
                match &i.value {
                    Value::Str(s) if s.contains('{') || s.contains('}') => match template(s) {
                        Ok(parts) => out.push(ValueItem::Template(parts)),
                        Err(m) => {
                            diags.push(policy_error(m).at(i.span, "in this value"));
                            return None;
                        }
                    },
                    Value::Null => out.push(ValueItem::Literal(None)),
                    _ => match i.scalar_text() {
                        Some(t) => out.push(ValueItem::Literal(Some(t))),
                        None => {
                            diags.push(
                                Diagnostic::error(
                                    Code::WrongType,
                                    format!("filter values must be scalars, found {}", i.kind_name()),
                                )
                                .at(i.span, "expected a string, number or boolean"),
                            );
                            return None;
                        }
                    },
                }
            }
            Some(FilterValues::List(out))
        }
        Value::Str(s) => {
            let inner = s.trim();
            let inner = inner.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(inner).trim();
            match path_expression(inner) {
                Ok(p) => Some(FilterValues::Context(p)),
                Err(m) => {
                    diags.push(
                        policy_error(m)
                            .at(v.span, "expected a list, or one `{ securityContext.<list> }`")
                            .with_help("write literal values as a list: `values: [EU]`"),
                    );
                    None
                }
            }
        }
        _ => {
            diags.push(
                Diagnostic::error(Code::WrongType, format!("`values` must be a list, found {}", v.kind_name()))
                    .at(v.span, "expected a list")
                    .with_help("quote a template: `values: [\"{ securityContext.tenant_id }\"]`"),
            );
            None
        }
    }
}

/// `a.b.c` rooted at a security-context name.
fn path_expression(text: &str) -> Result<ContextPath, String> {
    let mut parts = text.split('.').map(str::trim);
    let root = parts.next().unwrap_or_default();
    let segments: Vec<String> = parts.map(str::to_string).collect();
    let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '-');
    if !valid(root) || !segments.iter().all(|s| valid(s)) {
        return Err(format!("`{text}` is not a security context path such as `securityContext.tenant_id`"));
    }
    context_path(root, segments)
}

/// `"pre-{ securityContext.x }-post"` into text and value parts.
fn template(s: &str) -> Result<Vec<TemplatePart>, String> {
    let mut parts = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        if rest[..open].contains('}') {
            return Err(format!("`{s}` has a `}}` without a `{{`"));
        }
        if open > 0 {
            parts.push(TemplatePart::Text(rest[..open].to_string()));
        }
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("`{s}` has a `{{` that is not closed"));
        };
        let inner = rest[open + 1..open + close].trim();
        parts.push(TemplatePart::Value(path_expression(inner)?));
        rest = &rest[open + close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("`{s}` has a `}}` without a `{{`"));
    }
    if !rest.is_empty() {
        parts.push(TemplatePart::Text(rest.to_string()));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_and_paths() {
        assert_eq!(
            template("{ securityContext.tenant }").unwrap(),
            vec![TemplatePart::Value(ContextPath { segments: vec!["tenant".into()] })]
        );
        assert_eq!(template("pre-{securityContext.a.b}").unwrap().len(), 2);
        assert!(template("{ tenant }").is_err(), "a bare name is not a context path");
        assert!(template("{ securityContext.a").is_err());
        assert!(template("a } b").is_err());
        assert_eq!(
            path_expression("userAttributes.region").unwrap().segments,
            vec!["cubeCloud", "userAttributes", "region"]
        );
    }
}
