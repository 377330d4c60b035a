//! The `{...}` reference syntax inside model SQL strings.
//!
//! Cube reads a YAML SQL string as a Python f-string: `{CUBE}`, `{member}`, `{cube.member}`,
//! `{cube}.column`, `{a.b.member}` join paths, `{time_dim.granularity}`, `{cube.sql()}` and the
//! context variables (`FILTER_PARAMS`, `SECURITY_CONTEXT`, `COMPILE_CONTEXT`, `SQL_UTILS`).
//! `\{` and `\}` (and Python's `{{` and `}}`) are literal braces. This module only splits the
//! text; what a path names is decided by the resolver.

/// A piece of a SQL string: literal text or a reference expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    Text(String),
    Ref(RefExpr),
}

/// One `{...}` expression, with its byte offset inside the decoded string.
#[derive(Clone, Debug, PartialEq)]
pub struct RefExpr {
    /// The text between the braces, trimmed.
    pub expr: String,
    /// The whole `{...}` as written, for locating it in the source.
    pub written: String,
    pub offset: usize,
    pub form: RefForm,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RefForm {
    /// `a`, `a.b`, `a.b.c`: identifiers joined by dots.
    Path(Vec<String>),
    /// `a.sql()`: another cube's SQL inlined.
    CubeSql(Vec<String>),
    /// `FILTER_PARAMS...`, `SECURITY_CONTEXT...`, `COMPILE_CONTEXT...`, `SQL_UTILS...`.
    Context { root: String, path: Vec<String>, call: Option<(String, Vec<String>)> },
}

/// Why a SQL string could not be split.
#[derive(Clone, Debug, PartialEq)]
pub struct RefSyntaxError {
    pub offset: usize,
    pub len: usize,
    pub message: String,
    pub written: String,
}

pub const CONTEXT_ROOTS: &[&str] =
    &["FILTER_PARAMS", "FILTER_GROUP", "SECURITY_CONTEXT", "COMPILE_CONTEXT", "SQL_UTILS"];

/// Splits `sql` into text and reference pieces.
pub fn split(sql: &str) -> Result<Vec<Piece>, RefSyntaxError> {
    let bytes = sql.as_bytes();
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\\' && i + 1 < bytes.len() && (bytes[i + 1] == b'{' || bytes[i + 1] == b'}') {
            text.push(bytes[i + 1] as char);
            i += 2;
            continue;
        }
        if c == b'{' && bytes.get(i + 1) == Some(&b'{') {
            text.push('{');
            i += 2;
            continue;
        }
        if c == b'}' && bytes.get(i + 1) == Some(&b'}') {
            text.push('}');
            i += 2;
            continue;
        }
        if c == b'{' {
            let end = find_close(sql, i + 1).ok_or_else(|| RefSyntaxError {
                offset: i,
                len: sql.len() - i,
                message: "unclosed `{` in SQL".to_string(),
                written: sql[i..].to_string(),
            })?;
            let written = &sql[i..=end];
            let expr = sql[i + 1..end].trim();
            let form = parse_expr(expr).map_err(|message| RefSyntaxError {
                offset: i,
                len: written.len(),
                message,
                written: written.to_string(),
            })?;
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Ref(RefExpr { expr: expr.to_string(), written: written.to_string(), offset: i, form }));
            i = end + 1;
            continue;
        }
        // Copy one whole UTF-8 character.
        let ch_len = utf8_len(c);
        text.push_str(&sql[i..(i + ch_len).min(sql.len())]);
        i += ch_len;
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// The index of the `}` closing a reference opened before `from`, skipping quoted strings and
/// nested brackets (`FILTER_PARAMS.a.b.filter('x')`).
fn find_close(sql: &str, from: usize) -> Option<usize> {
    let bytes = sql.as_bytes();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut i = from;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(q) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                b'\'' | b'"' => quote = Some(c),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' => depth -= 1,
                b'}' if depth == 0 => return Some(i),
                b'}' => depth -= 1,
                _ => {}
            },
        }
        i += 1;
    }
    None
}

fn is_ident(s: &str) -> bool {
    crate::util::is_identifier(s)
}

fn parse_expr(expr: &str) -> Result<RefForm, String> {
    if expr.is_empty() {
        return Err("empty reference `{}`".to_string());
    }
    let root = expr.split(['.', '(']).next().unwrap_or("");
    if CONTEXT_ROOTS.contains(&root) {
        return parse_context(expr);
    }
    if let Some(base) = expr.strip_suffix(".sql()") {
        let path: Vec<String> = base.split('.').map(|s| s.trim().to_string()).collect();
        if path.iter().all(|p| is_ident(p)) {
            return Ok(RefForm::CubeSql(path));
        }
    }
    let path: Vec<String> = expr.split('.').map(|s| s.trim().to_string()).collect();
    if path.iter().all(|p| is_ident(p)) {
        return Ok(RefForm::Path(path));
    }
    Err(format!("`{{{expr}}}` is not a reference cubec understands"))
}

/// `SECURITY_CONTEXT.a.b.filter('col')`, `FILTER_PARAMS.cube.member.filter('col')`,
/// `SQL_UTILS.convertTz(x)`, `COMPILE_CONTEXT.a.b`.
fn parse_context(expr: &str) -> Result<RefForm, String> {
    let (head, call) = match expr.find('(') {
        Some(p) => {
            let close = expr.rfind(')').ok_or_else(|| format!("unclosed `(` in `{{{expr}}}`"))?;
            if close < p || !expr[close + 1..].trim().is_empty() {
                return Err(format!("`{{{expr}}}` is not a reference cubec understands"));
            }
            (&expr[..p], Some(&expr[p + 1..close]))
        }
        None => (expr, None),
    };
    let mut segs: Vec<String> = head.split('.').map(|s| s.trim().to_string()).collect();
    if !segs.iter().all(|s| is_ident(s)) {
        return Err(format!("`{{{expr}}}` is not a reference cubec understands"));
    }
    let root = segs.remove(0);
    let call = match call {
        None => None,
        Some(args) => {
            let method = segs.pop().ok_or_else(|| format!("`{{{expr}}}` calls nothing"))?;
            let args = split_args(args);
            Some((method, args))
        }
    };
    Ok(RefForm::Context { root, path: segs, call })
}

fn split_args(args: &str) -> Vec<String> {
    let args = args.trim();
    if args.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0;
    for c in args.chars() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    cur.push(c);
                }
                '(' | '[' | '{' => {
                    depth += 1;
                    cur.push(c);
                }
                ')' | ']' | '}' => {
                    depth -= 1;
                    cur.push(c);
                }
                ',' if depth == 0 => out.push(std::mem::take(&mut cur).trim().to_string()),
                _ => cur.push(c),
            },
        }
    }
    out.push(cur.trim().to_string());
    out
}

/// A Python string literal's contents (`'col'` -> `col`), if `arg` is one.
pub fn string_literal(arg: &str) -> Option<String> {
    let a = arg.trim();
    let q = a.chars().next()?;
    if (q == '\'' || q == '"') && a.len() >= 2 && a.ends_with(q) {
        Some(a[1..a.len() - 1].to_string())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &[&str]) -> RefForm {
        RefForm::Path(p.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn splits_references_and_text() {
        let pieces = split("100.0 * {customizedMessages} / NULLIF({CUBE.total}, 0)").unwrap();
        assert_eq!(pieces.len(), 5);
        match &pieces[1] {
            Piece::Ref(r) => {
                assert_eq!(r.form, path(&["customizedMessages"]));
                assert_eq!(r.offset, 8);
            }
            p => panic!("unexpected {p:?}"),
        }
        match &pieces[3] {
            Piece::Ref(r) => assert_eq!(r.form, path(&["CUBE", "total"])),
            p => panic!("unexpected {p:?}"),
        }
    }

    #[test]
    fn escapes_are_literal_braces() {
        let pieces = split(r#"payload::json = '\{"a":1\}'"#).unwrap();
        assert_eq!(pieces, vec![Piece::Text(r#"payload::json = '{"a":1}'"#.to_string())]);
    }

    #[test]
    fn cube_sql_and_context() {
        let pieces = split("{users.sql()} WHERE {FILTER_PARAMS.orders.status.filter('status')}").unwrap();
        match (&pieces[0], &pieces[2]) {
            (Piece::Ref(a), Piece::Ref(b)) => {
                assert_eq!(a.form, RefForm::CubeSql(vec!["users".into()]));
                assert_eq!(
                    b.form,
                    RefForm::Context {
                        root: "FILTER_PARAMS".into(),
                        path: vec!["orders".into(), "status".into()],
                        call: Some(("filter".into(), vec!["'status'".into()]))
                    }
                );
            }
            p => panic!("unexpected {p:?}"),
        }
    }

    #[test]
    fn unclosed_brace_is_an_error() {
        let e = split("sum({amount)").unwrap_err();
        assert_eq!(e.offset, 4);
    }

    #[test]
    fn bad_expression_is_an_error() {
        assert!(split("{a-b}").is_err());
        assert!(split("{}").is_err());
    }
}
