//! Pieces of the pushdown statement that sqlparser cannot print for the warehouse: the cube
//! tables' row sources, their columns, measures' aggregates and whatever a dialect template
//! renders (truncation, casts, literals). Each stands in the AST as an unquoted identifier
//! token and is put in place once the statement is printed.

use super::super::error::{SqlError, SqlResult};
use sqlparser::ast::{Expr, Ident};

/// What a token stands for.
#[derive(Debug, Clone)]
pub(super) enum Piece {
    /// Final text (may contain other tokens).
    Text(String),
    /// A member's column in a cube table's row source: `binding`'s alias and the inner alias,
    /// known once the row source is compiled.
    Column { binding: usize, member: String },
    /// A cube table's row source: `(<compiled SQL>)`.
    Source { binding: usize },
    /// A string literal, escaped as the dialect escapes literals.
    Literal(String),
}

const OPEN: &str = "__cubec_splice_";
const CLOSE: &str = "__";

#[derive(Debug, Default)]
pub(super) struct Splices {
    pieces: Vec<Piece>,
}

impl Splices {
    /// A token for `piece`, as an identifier.
    pub fn token(&mut self, piece: Piece) -> Ident {
        self.pieces.push(piece);
        Ident::new(format!("{OPEN}{}{CLOSE}", self.pieces.len() - 1))
    }

    pub fn expr(&mut self, piece: Piece) -> Expr {
        Expr::Identifier(self.token(piece))
    }

    /// The text of a token made by [`Splices::token`], if `ident` is one.
    pub fn piece_of(&self, ident: &Ident) -> Option<&Piece> {
        if ident.quote_style.is_some() {
            return None;
        }
        let n: usize = ident.value.strip_prefix(OPEN)?.strip_suffix(CLOSE)?.parse().ok()?;
        self.pieces.get(n)
    }

    /// Puts every token's text in place; `resolve` gives the text of columns, sources and
    /// literals. One pass: a piece's text is never scanned again, so a literal whose value
    /// looks like a token stays that literal. A piece's own tokens are earlier pieces (made
    /// before it), put in place first.
    pub fn finish(&self, text: &str, resolve: impl Fn(&Piece) -> SqlResult<String>) -> SqlResult<String> {
        let mut texts: Vec<String> = Vec::with_capacity(self.pieces.len());
        for p in &self.pieces {
            let t = match p {
                Piece::Text(t) => replace_tokens(t, &texts)?,
                other => resolve(other)?,
            };
            texts.push(t);
        }
        replace_tokens(text, &texts)
    }
}

/// Whether user text holds the token marker (such statements are refused, so no token can be
/// forged).
pub(super) fn has_marker(text: &str) -> bool {
    text.to_ascii_lowercase().contains(OPEN)
}

fn replace_tokens(text: &str, texts: &[String]) -> SqlResult<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        let n = after[..digits].parse::<usize>().ok();
        match (n.and_then(|n| texts.get(n)), after[digits..].starts_with(CLOSE)) {
            (Some(t), true) => {
                out.push_str(t);
                rest = &after[digits + CLOSE.len()..];
            }
            _ => return Err(SqlError::internal("a pushdown token without its text")),
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_tokens_are_put_in_place() {
        let mut s = Splices::default();
        let col = s.token(Piece::Text("t.\"a\"".into()));
        let agg = s.token(Piece::Text(format!("sum({col})")));
        let out = s.finish(&format!("SELECT {agg} / 2"), |_| Ok(String::new())).expect("finishes");
        assert_eq!(out, "SELECT sum(t.\"a\") / 2");
        assert!(s.piece_of(&Ident::new("x")).is_none());
    }

    #[test]
    fn a_literal_that_looks_like_a_token_is_not_expanded() {
        let mut s = Splices::default();
        let evil = s.token(Piece::Literal("x' OR 1=1 --".into()));
        let second = s.token(Piece::Literal(format!("{evil}")));
        let out = s
            .finish(&format!("SELECT 1 WHERE a = {evil} AND b = {second}"), |p| match p {
                Piece::Literal(v) => Ok(format!("'{}'", v.replace('\'', "''"))),
                _ => Ok(String::new()),
            })
            .expect("finishes");
        assert_eq!(out, format!("SELECT 1 WHERE a = 'x'' OR 1=1 --' AND b = '{evil}'"));
        assert!(has_marker("select __CUBEC_SPLICE_1__"));
    }
}
