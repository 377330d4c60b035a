//! `conditions: [{if: ...}]`: the small expression language Cube's YAML accepts over the
//! security context: paths, `.includes(literal)`, `and`, `or`, `not`, parentheses, `True` and
//! `False`. Comparisons (`==`, `in`, `<`, ...) are refused at load time, as Cube refuses them.
//! Conditions are evaluated without running SQL, and a condition must give a boolean: anything
//! else (a missing key, a string) is an evaluation failure, which denies that policy only.

use serde_json::Value;

/// A path into the security context (`securityContext.tenant.id` is `["tenant", "id"]`).
/// Cube Cloud's `userAttributes.x` and `groups` read `cubeCloud.userAttributes.x` and
/// `cubeCloud.groups`, as Cube rewrites them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextPath {
    pub segments: Vec<String>,
}

impl ContextPath {
    /// The value at this path, if every step exists.
    pub fn lookup<'a>(&self, context: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        self.segments.iter().try_fold(context, |v, k| v.get(k))
    }

    /// As written in messages: `securityContext.tenant.id`.
    pub fn display(&self) -> String {
        format!("securityContext.{}", self.segments.join("."))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Literal(bool),
    Path(ContextPath),
    /// `path.includes(literal)`: list membership, or a substring of a string.
    Includes(ContextPath, Value),
    Not(Box<Condition>),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Num(f64),
    Open,
    Close,
    Dot,
}

/// Parses an `if:` expression: `"{ securityContext.is_admin }"` or the same without braces.
pub fn parse(text: &str) -> Result<Condition, String> {
    let trimmed = text.trim();
    let inner = match trimmed.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        Some(i) => i,
        None => trimmed,
    };
    let tokens = tokenize(inner)?;
    if tokens.is_empty() {
        return Err("the condition is empty".to_string());
    }
    let mut p = Parser { tokens, pos: 0, depth: 0 };
    let c = p.or()?;
    if p.pos < p.tokens.len() {
        return Err(format!("unexpected `{}` after the condition", show(&p.tokens[p.pos])));
    }
    Ok(c)
}

fn show(t: &Token) -> String {
    match t {
        Token::Ident(s) => s.clone(),
        Token::Str(s) => format!("'{s}'"),
        Token::Num(n) => n.to_string(),
        Token::Open => "(".into(),
        Token::Close => ")".into(),
        Token::Dot => ".".into(),
    }
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1
            }
            ')' => {
                out.push(Token::Close);
                i += 1
            }
            '.' => {
                out.push(Token::Dot);
                i += 1
            }
            '\'' | '"' => {
                let end = chars[i + 1..].iter().position(|&x| x == c).ok_or("a string literal is not closed")?;
                out.push(Token::Str(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                out.push(Token::Num(text.parse().map_err(|_| format!("`{text}` is not a number"))?));
            }
            c if c.is_alphabetic() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                    i += 1;
                }
                out.push(Token::Ident(chars[start..i].iter().collect()));
            }
            _ => {
                let rest: String = chars[i..].iter().take(2).collect();
                let op = if rest.len() == 2 && ["==", "!=", "<=", ">=", "&&", "||"].contains(&rest.as_str()) {
                    rest
                } else {
                    c.to_string()
                };
                return Err(format!(
                    "`{op}` is not supported in conditions (Cube's YAML conditions have no comparison operators)"
                ));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Ident(s)) if s == w)
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut left = self.not()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Condition::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Condition, String> {
        self.depth += 1;
        if self.depth > 64 {
            return Err("the condition nests too deeply".to_string());
        }
        let out = if self.peek_word("not") {
            self.pos += 1;
            Ok(Condition::Not(Box::new(self.not()?)))
        } else {
            self.primary()
        };
        self.depth -= 1;
        out
    }

    fn primary(&mut self) -> Result<Condition, String> {
        let Some(t) = self.tokens.get(self.pos).cloned() else {
            return Err("the condition ends too early".to_string());
        };
        self.pos += 1;
        match t {
            Token::Open => {
                let c = self.or()?;
                if self.tokens.get(self.pos) != Some(&Token::Close) {
                    return Err("a `(` is not closed".to_string());
                }
                self.pos += 1;
                Ok(c)
            }
            Token::Ident(w) if w == "True" || w == "true" => Ok(Condition::Literal(true)),
            Token::Ident(w) if w == "False" || w == "false" => Ok(Condition::Literal(false)),
            Token::Ident(w) if w == "in" || w == "is" => {
                Err(format!("`{w}` is not supported in conditions (Cube's YAML conditions have no comparisons)"))
            }
            Token::Ident(root) => self.path(root),
            other => Err(format!("unexpected `{}` in the condition", show(&other))),
        }
    }

    /// `root.a.b` or `root.a.includes(lit)`.
    fn path(&mut self, root: String) -> Result<Condition, String> {
        let mut segments = Vec::new();
        while self.tokens.get(self.pos) == Some(&Token::Dot) {
            let Some(Token::Ident(seg)) = self.tokens.get(self.pos + 1).cloned() else {
                return Err("a `.` must be followed by a name".to_string());
            };
            self.pos += 2;
            if self.tokens.get(self.pos) == Some(&Token::Open) {
                if seg != "includes" {
                    return Err(format!("`.{seg}(...)` is not supported in conditions; only `.includes(value)` is"));
                }
                let arg = match self.tokens.get(self.pos + 1).cloned() {
                    Some(Token::Str(s)) => Value::String(s),
                    Some(Token::Num(n)) => serde_json::Number::from_f64(n).map(Value::Number).unwrap_or(Value::Null),
                    Some(Token::Ident(w)) if w == "True" || w == "true" => Value::Bool(true),
                    Some(Token::Ident(w)) if w == "False" || w == "false" => Value::Bool(false),
                    _ => return Err("`.includes(...)` takes one string, number or boolean literal".to_string()),
                };
                if self.tokens.get(self.pos + 2) != Some(&Token::Close) {
                    return Err("`.includes(...)` takes one literal and a `)`".to_string());
                }
                self.pos += 3;
                return Ok(Condition::Includes(context_path(&root, segments)?, arg));
            }
            segments.push(seg);
        }
        Ok(Condition::Path(context_path(&root, segments)?))
    }
}

/// Maps the names Cube binds in policies to a path in the security context.
pub fn context_path(root: &str, segments: Vec<String>) -> Result<ContextPath, String> {
    let prefix: Vec<String> = match root {
        "securityContext" | "security_context" | "SECURITY_CONTEXT" => Vec::new(),
        "userAttributes" | "user_attributes" => vec!["cubeCloud".into(), "userAttributes".into()],
        "groups" => vec!["cubeCloud".into(), "groups".into()],
        _ => {
            return Err(format!("`{root}` names nothing here; use `securityContext.<key>` (or `userAttributes.<key>`)"))
        }
    };
    if segments.is_empty() && prefix.is_empty() {
        return Err(format!("`{root}` needs a key: `{root}.<key>`"));
    }
    Ok(ContextPath { segments: prefix.into_iter().chain(segments).collect() })
}

impl Condition {
    /// Evaluates against a security context: `Err` names what could not be evaluated.
    pub fn eval(&self, context: &Value) -> Result<bool, String> {
        match self {
            Condition::Literal(b) => Ok(*b),
            Condition::Path(p) => match p.lookup(context) {
                Some(Value::Bool(b)) => Ok(*b),
                Some(other) => Err(format!("`{}` is {other}, not true or false", p.display())),
                None => Err(format!("`{}` is missing from the security context", p.display())),
            },
            Condition::Includes(p, needle) => match p.lookup(context) {
                Some(Value::Array(items)) => Ok(items.iter().any(|i| same(i, needle))),
                Some(Value::String(s)) => match needle {
                    Value::String(n) => Ok(s.contains(n.as_str())),
                    _ => Err(format!("`{}` is a string; `.includes` needs a string", p.display())),
                },
                Some(other) => Err(format!("`{}` is {other}, not a list", p.display())),
                None => Err(format!("`{}` is missing from the security context", p.display())),
            },
            Condition::Not(c) => Ok(!c.eval(context)?),
            Condition::And(a, b) => Ok(a.eval(context)? && b.eval(context)?),
            Condition::Or(a, b) => Ok(a.eval(context)? || b.eval(context)?),
        }
    }
}

/// JSON equality where `1` and `1.0` are the same number.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_evaluates() {
        let ctx = json!({"is_admin": true, "regions": ["EU", "US"], "n": 3, "cubeCloud": {"groups": ["a"]}});
        let t = |s: &str| parse(s).unwrap().eval(&ctx);
        assert_eq!(t("{ securityContext.is_admin }"), Ok(true));
        assert_eq!(t("securityContext.is_admin"), Ok(true));
        assert_eq!(t("not securityContext.is_admin"), Ok(false));
        assert_eq!(t("{ securityContext.regions.includes('EU') }"), Ok(true));
        assert_eq!(t("securityContext.regions.includes(\"APAC\") or securityContext.is_admin"), Ok(true));
        assert_eq!(t("(True and not False)"), Ok(true));
        assert_eq!(t("groups.includes('a')"), Ok(true));
        assert!(t("securityContext.n").is_err(), "a number is not a boolean");
        assert!(t("securityContext.missing").is_err());
        assert!(t("securityContext.missing or True").is_err(), "an error is not hidden by `or`");
    }

    #[test]
    fn refuses_what_cube_refuses() {
        for bad in [
            "securityContext.region == 'EMEA'",
            "'EU' in securityContext.regions",
            "securityContext.a ? 1 : 2",
            "foo.bar",
            "securityContext.x.startsWith('a')",
            "",
            "(securityContext.a",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
