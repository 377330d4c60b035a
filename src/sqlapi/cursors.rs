//! Cursors (`DECLARE`, `FETCH`, `MOVE`, `CLOSE`), as psqlODBC uses them for Tableau and Excel:
//! a declared query runs once and its rows are kept (at most the row maximum, as any result);
//! FETCH and MOVE walk them with PostgreSQL's positions (before the first row, on a row, after
//! the last). Cursors without `WITH HOLD` live until their transaction ends; `WITH HOLD` ones
//! until CLOSE, or a ROLLBACK of the transaction that declared them.

use super::error::{SqlError, SqlResult};
use super::schema::ResultTable;
use sqlparser::ast::{FetchDirection, Ident, ObjectName, Value as SqlValue};

/// `MOVE` is parsed as FETCH into this name (sqlparser has no MOVE).
pub const MOVE_MARK: &str = "__cubec_move__";

/// A statement list with a `MOVE` split into statements, each MOVE written as FETCH and marked;
/// `None` when no statement starts with MOVE (or the text does not tokenize: the parser says why).
pub fn split_moves(sql: &str) -> Option<Vec<(String, bool)>> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let tokens = Tokenizer::new(&sqlparser::dialect::PostgreSqlDialect {}, sql).tokenize().ok()?;
    let mut pieces: Vec<(String, bool)> = Vec::new();
    let mut current = String::new();
    let mut is_move = false;
    let mut at_start = true;
    let mut any = false;
    for t in tokens {
        match &t {
            Token::SemiColon => {
                pieces.push((std::mem::take(&mut current), is_move));
                is_move = false;
                at_start = true;
                continue;
            }
            Token::Whitespace(_) => {}
            Token::Word(w) if at_start && w.keyword == Keyword::NoKeyword && w.value.eq_ignore_ascii_case("move") => {
                current.push_str("FETCH");
                is_move = true;
                any = true;
                at_start = false;
                continue;
            }
            _ => at_start = false,
        }
        current.push_str(&t.to_string());
    }
    pieces.push((current, is_move));
    pieces.retain(|(text, _)| !text.trim().is_empty());
    any.then_some(pieces)
}

pub fn is_move(into: &Option<ObjectName>) -> bool {
    into.as_ref().is_some_and(|n| n.to_string() == MOVE_MARK)
}

pub fn move_mark() -> ObjectName {
    ObjectName::from(vec![Ident::new(MOVE_MARK)])
}

pub struct Cursor {
    pub name: String,
    rows: ResultTable,
    /// 0: before the first row; `n`: on row `n`; `len + 1`: after the last.
    position: i64,
    pub hold: bool,
    /// Declared inside the open transaction (a ROLLBACK closes it).
    pub in_transaction: bool,
}

/// A FETCH or MOVE direction as a step: `Some(k)` rows forward (negative: backward), or an
/// absolute position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    Forward(i64),
    Absolute(i64),
    Relative(i64),
}

fn number(v: &sqlparser::ast::ValueWithSpan) -> SqlResult<i64> {
    match &v.value {
        SqlValue::Number(n, _) => n.parse().map_err(|_| SqlError::bad_value(format!("a row count, got {n}"))),
        other => Err(SqlError::bad_value(format!("a row count, got {other}"))),
    }
}

/// PostgreSQL's FETCH directions as steps.
pub fn step(d: &FetchDirection) -> SqlResult<Step> {
    const ALL: i64 = i64::MAX / 4;
    Ok(match d {
        FetchDirection::Count { limit } => Step::Forward(number(limit)?),
        FetchDirection::Next => Step::Forward(1),
        FetchDirection::Prior => Step::Forward(-1),
        FetchDirection::First => Step::Absolute(1),
        FetchDirection::Last => Step::Absolute(-1),
        FetchDirection::Absolute { limit } => Step::Absolute(number(limit)?),
        FetchDirection::Relative { limit } => Step::Relative(number(limit)?),
        FetchDirection::All | FetchDirection::ForwardAll => Step::Forward(ALL),
        FetchDirection::Forward { limit } => Step::Forward(limit.as_ref().map(number).transpose()?.unwrap_or(1)),
        FetchDirection::Backward { limit } => Step::Forward(-limit.as_ref().map(number).transpose()?.unwrap_or(1)),
        FetchDirection::BackwardAll => Step::Forward(-ALL),
    })
}

impl Cursor {
    pub fn new(name: String, rows: ResultTable, hold: bool, in_transaction: bool) -> Cursor {
        Cursor { name, rows, position: 0, hold, in_transaction }
    }

    pub fn columns(&self) -> &[(String, super::schema::PgType)] {
        &self.rows.columns
    }

    fn len(&self) -> i64 {
        self.rows.rows.len() as i64
    }

    /// Moves by `step`, returning the rows passed over (FETCH) in the order read.
    pub fn fetch(&mut self, step: Step) -> ResultTable {
        let len = self.len();
        let mut out = Vec::new();
        let row = |p: i64| (1..=len).contains(&p).then(|| p as usize - 1);
        match step {
            Step::Forward(k) if k >= 0 => {
                for _ in 0..k {
                    if self.position > len {
                        break;
                    }
                    self.position += 1;
                    match row(self.position) {
                        Some(i) => out.push(self.rows.rows[i].clone()),
                        None => break,
                    }
                }
            }
            Step::Forward(k) => {
                for _ in 0..k.unsigned_abs() {
                    if self.position < 1 {
                        break;
                    }
                    self.position -= 1;
                    match row(self.position) {
                        Some(i) => out.push(self.rows.rows[i].clone()),
                        None => break,
                    }
                }
            }
            Step::Absolute(n) | Step::Relative(n) => {
                let target = match step {
                    Step::Absolute(n) if n < 0 => len.saturating_add(1).saturating_add(n),
                    Step::Absolute(_) => n,
                    _ => self.position.saturating_add(n),
                };
                self.position = target.clamp(0, len + 1);
                if let Some(i) = row(self.position) {
                    out.push(self.rows.rows[i].clone());
                }
            }
        }
        ResultTable { columns: self.rows.columns.clone(), rows: out }
    }
}

/// The session's open cursors.
#[derive(Default)]
pub struct Cursors {
    open: Vec<Cursor>,
}

impl Cursors {
    pub fn declare(&mut self, cursor: Cursor) -> SqlResult<()> {
        if self.open.iter().any(|c| c.name == cursor.name) {
            return Err(SqlError::new("42P03", format!("cursor \"{}\" already exists", cursor.name)));
        }
        self.open.push(cursor);
        Ok(())
    }

    pub fn get(&mut self, name: &str) -> SqlResult<&mut Cursor> {
        self.open
            .iter_mut()
            .find(|c| c.name == name)
            .ok_or_else(|| SqlError::new("34000", format!("cursor \"{name}\" does not exist")))
    }

    pub fn close(&mut self, name: Option<&str>) -> SqlResult<()> {
        match name {
            None => self.open.clear(),
            Some(n) => {
                let before = self.open.len();
                self.open.retain(|c| c.name != n);
                if self.open.len() == before {
                    return Err(SqlError::new("34000", format!("cursor \"{n}\" does not exist")));
                }
            }
        }
        Ok(())
    }

    /// COMMIT: cursors without HOLD end; the rest outlive the transaction.
    pub fn commit(&mut self) {
        self.open.retain(|c| c.hold);
        self.open.iter_mut().for_each(|c| c.in_transaction = false);
    }

    /// ROLLBACK: cursors declared in the transaction end, held or not.
    pub fn rollback(&mut self) {
        self.open.retain(|c| c.hold && !c.in_transaction);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::Cell;
    use crate::sqlapi::schema::PgType;

    fn cursor(n: i64) -> Cursor {
        let rows = (1..=n).map(|i| vec![Cell::Int(i)]).collect();
        Cursor::new("c".into(), ResultTable { columns: vec![("x".into(), PgType::Int8)], rows }, false, true)
    }

    fn ints(t: &ResultTable) -> Vec<i64> {
        t.rows.iter().map(|r| if let Cell::Int(i) = r[0] { i } else { 0 }).collect()
    }

    #[test]
    fn fetch_walks_rows_as_postgresql_does() {
        let mut c = cursor(5);
        assert_eq!(ints(&c.fetch(Step::Forward(2))), [1, 2]);
        assert_eq!(ints(&c.fetch(Step::Forward(1))), [3]);
        assert_eq!(ints(&c.fetch(Step::Forward(-2))), [2, 1]);
        assert_eq!(ints(&c.fetch(Step::Forward(-1))), Vec::<i64>::new());
        assert_eq!(ints(&c.fetch(Step::Forward(10))), [1, 2, 3, 4, 5]);
        assert_eq!(ints(&c.fetch(Step::Forward(1))), Vec::<i64>::new());
        assert_eq!(ints(&c.fetch(Step::Absolute(-1))), [5]);
        assert_eq!(ints(&c.fetch(Step::Absolute(2))), [2]);
        assert_eq!(ints(&c.fetch(Step::Relative(2))), [4]);
        assert_eq!(ints(&c.fetch(Step::Relative(0))), [4]);
        assert_eq!(ints(&c.fetch(Step::Absolute(9))), Vec::<i64>::new());
        assert_eq!(ints(&c.fetch(Step::Forward(-1))), [5]);
    }

    #[test]
    fn transactions_end_cursors_as_postgresql_does() {
        let mut all = Cursors::default();
        all.declare(cursor(1)).expect("declared");
        assert_eq!(all.declare(cursor(1)).expect_err("twice").code, "42P03");
        all.commit();
        assert_eq!(all.get("c").err().map(|e| e.code), Some("34000"));
        let mut held = cursor(1);
        held.hold = true;
        all.declare(held).expect("declared");
        all.commit();
        assert!(all.get("c").is_ok());
        all.rollback();
        assert!(all.get("c").is_ok(), "held and declared before the transaction");
        all.close(None).expect("closed");
        assert_eq!(all.close(Some("c")).expect_err("closed").code, "34000");
    }
}
