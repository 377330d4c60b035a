//! WHERE and HAVING to Cube filters, segments, date ranges and a `__user` switch.
//!
//! Top-level AND-ed bounds on one time dimension become its `dateRange` (so rolling windows and
//! time shifts see the range); other predicates become filters, OR and NOT included. Dates mean
//! what they mean in PostgreSQL: `t <= '2024-02-29'` ends at midnight, `t < '2024-03-01'` ends a
//! millisecond before (Cube's date ranges are millisecond-precise).

use super::error::{SqlError, SqlResult};
use super::schema::{Column, ColumnKind};
use super::scope::{column_parts, Item, Scope};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde_json::{json, Value};
use sqlparser::ast::{BinaryOperator, Expr, UnaryOperator, Value as SqlValue};

#[derive(Default, Debug)]
pub(super) struct Conditions {
    pub filters: Vec<Value>,
    pub segments: Vec<String>,
    /// Per time dimension member: `[from, to]`, inclusive, as Cube's `dateRange`.
    pub date_ranges: Vec<(String, [String; 2])>,
    pub user: Option<String>,
}

/// A bound on a time dimension: the instant and whether it is included.
type Bound = (NaiveDateTime, bool);

#[derive(Default)]
struct Bounds {
    lower: Option<Bound>,
    upper: Option<Bound>,
}

const MS: i64 = 1;

fn fmt(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// A PostgreSQL date or timestamp literal as a local time.
fn parse_time(s: &str) -> SqlResult<NaiveDateTime> {
    let t = s.trim();
    let t = t.strip_suffix('Z').or_else(|| t.strip_suffix("+00")).or_else(|| t.strip_suffix("+00:00")).unwrap_or(t);
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"] {
        if let Ok(v) = NaiveDateTime::parse_from_str(t, f) {
            return Ok(v);
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        .map_err(|_| SqlError::new("22007", format!("invalid input syntax for type timestamp: \"{s}\"")))
}

/// A literal's text, as Cube filter values are strings.
fn literal(e: &Expr) -> SqlResult<String> {
    match e {
        Expr::Nested(inner) => literal(inner),
        Expr::Value(v) => match &v.value {
            SqlValue::Number(n, _) => Ok(n.clone()),
            SqlValue::SingleQuotedString(s) | SqlValue::EscapedStringLiteral(s) | SqlValue::DoubleQuotedString(s) => {
                Ok(s.clone())
            }
            SqlValue::Boolean(b) => Ok(b.to_string()),
            SqlValue::Null => {
                Err(SqlError::unsupported("a comparison with NULL is never true; use IS NULL or IS NOT NULL"))
            }
            SqlValue::Placeholder(p) => Err(SqlError::new("08P01", format!("no value was bound for parameter {p}"))),
            other => Err(SqlError::unsupported(format!("the literal {other}"))),
        },
        Expr::TypedString(ts) => literal(&Expr::Value(ts.value.clone())),
        Expr::Cast { expr, .. } => literal(expr),
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } => Ok(format!("-{}", literal(expr)?)),
        Expr::UnaryOp { op: UnaryOperator::Plus, expr } => literal(expr),
        other => {
            Err(SqlError::unsupported(format!("`{other}` in a filter: compare members with literals (or parameters)")))
        }
    }
}

fn is_literal(e: &Expr) -> bool {
    literal(e).is_ok()
}

fn split_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            split_and(left, out);
            split_and(right, out);
        }
        Expr::Nested(inner) if matches!(inner.as_ref(), Expr::BinaryOp { op: BinaryOperator::And, .. }) => {
            split_and(inner, out)
        }
        other => out.push(other),
    }
}

fn is_time(c: &Column) -> bool {
    matches!(&c.kind, ColumnKind::Dimension { value_type } if value_type == "time")
}

/// `op` with its operands swapped (`5 < x` is `x > 5`).
fn flip(op: &BinaryOperator) -> BinaryOperator {
    match op {
        BinaryOperator::Lt => BinaryOperator::Gt,
        BinaryOperator::LtEq => BinaryOperator::GtEq,
        BinaryOperator::Gt => BinaryOperator::Lt,
        BinaryOperator::GtEq => BinaryOperator::LtEq,
        other => other.clone(),
    }
}

fn negate_op(op: &BinaryOperator) -> BinaryOperator {
    match op {
        BinaryOperator::Eq => BinaryOperator::NotEq,
        BinaryOperator::NotEq => BinaryOperator::Eq,
        BinaryOperator::Lt => BinaryOperator::GtEq,
        BinaryOperator::GtEq => BinaryOperator::Lt,
        BinaryOperator::Gt => BinaryOperator::LtEq,
        BinaryOperator::LtEq => BinaryOperator::Gt,
        other => other.clone(),
    }
}

fn is_comparison(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
    )
}

/// Where predicates are resolved: WHERE sees columns, HAVING also aggregates and aliases.
enum Mode<'p, 'a> {
    Where,
    Having(&'p [(Option<String>, Item<'a>)]),
}

struct Resolver<'s, 'a, 'p> {
    scope: &'s Scope<'a>,
    mode: Mode<'p, 'a>,
}

impl<'a> Resolver<'_, 'a, '_> {
    /// The member a filter operand names, if it is one.
    fn operand(&self, e: &Expr) -> SqlResult<Option<(&'a Column, Option<String>)>> {
        match &self.mode {
            Mode::Where => {
                if let Some(parts) = column_parts(e) {
                    return Ok(Some((self.scope.column(&parts)?.1, None)));
                }
                if let Expr::Function(_) = e {
                    return match self.scope.item(e)? {
                        Item::TimeDimension(c, g) => Ok(Some((c, Some(g)))),
                        Item::Measure(c) => Err(SqlError::grouping(format!(
                            "aggregate functions are not allowed in WHERE; filter MEASURE({}) in HAVING",
                            c.name
                        ))),
                        _ => Ok(None),
                    };
                }
                if let Expr::Cast { expr, .. } = e {
                    if column_parts(expr).is_some() {
                        return self.operand(expr);
                    }
                }
                Ok(None)
            }
            Mode::Having(projected) => {
                if let Expr::Identifier(id) = e {
                    if let Some((_, item)) = projected.iter().find(|(n, _)| n.as_deref() == Some(id.value.as_str())) {
                        return Ok(Some(item_member(item)));
                    }
                }
                if is_literal(e) {
                    return Ok(None);
                }
                Ok(Some(item_member(&self.scope.item(e)?)))
            }
        }
    }

    /// One predicate as a Cube filter (or and/or group), `negate`d when under a NOT.
    fn filter(&self, e: &Expr, negate: bool) -> SqlResult<Value> {
        match e {
            Expr::Nested(inner) => self.filter(inner, negate),
            Expr::UnaryOp { op: UnaryOperator::Not, expr } => self.filter(expr, !negate),
            Expr::BinaryOp { left, op: op @ (BinaryOperator::And | BinaryOperator::Or), right } => {
                let is_and = matches!(op, BinaryOperator::And) != negate;
                let l = self.filter(left, negate)?;
                let r = self.filter(right, negate)?;
                Ok(if is_and { json!({ "and": [l, r] }) } else { json!({ "or": [l, r] }) })
            }
            Expr::BinaryOp { left, op, right } if is_comparison(op) => {
                let (col_side, value_side, op) = match (self.operand(left)?, self.operand(right)?) {
                    (Some(m), None) => (m, right, op.clone()),
                    (None, Some(m)) => (m, left, flip(op)),
                    _ => {
                        return Err(SqlError::unsupported(format!(
                            "`{e}`: a filter compares one member with a literal"
                        )))
                    }
                };
                let op = if negate { negate_op(&op) } else { op };
                let ((c, granularity), v) = (col_side, literal(value_side)?);
                if let Some(g) = granularity {
                    return period_filter(c, &g, &v, &op);
                }
                if is_time(c) {
                    let t = fmt(parse_time(&v)?);
                    let (operator, values) = match op {
                        BinaryOperator::Eq => ("inDateRange", vec![t.clone(), t]),
                        BinaryOperator::NotEq => ("notInDateRange", vec![t.clone(), t]),
                        BinaryOperator::Gt => ("afterDate", vec![t]),
                        BinaryOperator::GtEq => ("afterOrOnDate", vec![t]),
                        BinaryOperator::Lt => ("beforeDate", vec![t]),
                        _ => ("beforeOrOnDate", vec![t]),
                    };
                    return Ok(json!({ "member": c.member, "operator": operator, "values": values }));
                }
                let operator = match op {
                    BinaryOperator::Eq => "equals",
                    BinaryOperator::NotEq => "notEquals",
                    BinaryOperator::Gt => "gt",
                    BinaryOperator::GtEq => "gte",
                    BinaryOperator::Lt => "lt",
                    _ => "lte",
                };
                Ok(json!({ "member": c.member, "operator": operator, "values": [v] }))
            }
            Expr::InList { expr, list, negated } => {
                let (c, g) = self
                    .operand(expr)?
                    .ok_or_else(|| SqlError::unsupported(format!("`{e}`: IN needs a member on the left")))?;
                if g.is_some() || is_time(c) {
                    return Err(SqlError::unsupported(format!("`{e}`: IN over a time dimension; use a range")));
                }
                let values = list.iter().map(literal).collect::<SqlResult<Vec<_>>>()?;
                let operator = if *negated != negate { "notEquals" } else { "equals" };
                Ok(json!({ "member": c.member, "operator": operator, "values": values }))
            }
            Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
                let (c, _) = self
                    .operand(inner)?
                    .ok_or_else(|| SqlError::unsupported(format!("`{e}`: IS NULL needs a member")))?;
                let is_null = matches!(e, Expr::IsNull(_)) != negate;
                Ok(json!({ "member": c.member, "operator": if is_null { "notSet" } else { "set" } }))
            }
            Expr::Like { negated, expr, pattern, escape_char, any: false }
            | Expr::ILike { negated, expr, pattern, escape_char, any: false } => {
                if escape_char.is_some() {
                    return Err(SqlError::unsupported(format!("`{e}`: LIKE ... ESCAPE")));
                }
                let target = strip_case_fn(expr);
                let (c, _) = self
                    .operand(target)?
                    .ok_or_else(|| SqlError::unsupported(format!("`{e}`: LIKE needs a member on the left")))?;
                let (operator, value) = like_filter(&literal(pattern)?, *negated != negate).ok_or_else(|| {
                    SqlError::unsupported(format!(
                        "`{e}`: only patterns 'x', 'x%', '%x' and '%x%' are rewritten (no inner % or _)"
                    ))
                })?;
                Ok(json!({ "member": c.member, "operator": operator, "values": [value] }))
            }
            Expr::Between { expr, negated, low, high } => {
                let (c, g) = self
                    .operand(expr)?
                    .ok_or_else(|| SqlError::unsupported(format!("`{e}`: BETWEEN needs a member on the left")))?;
                let (lo, hi) = (literal(low)?, literal(high)?);
                let outside = *negated != negate;
                if g.is_some() {
                    return Err(SqlError::unsupported(format!("`{e}`: BETWEEN over DATE_TRUNC")));
                }
                if is_time(c) {
                    let range = [fmt(parse_time(&lo)?), fmt(parse_time(&hi)?)];
                    let operator = if outside { "notInDateRange" } else { "inDateRange" };
                    return Ok(json!({ "member": c.member, "operator": operator, "values": range }));
                }
                Ok(if outside {
                    json!({ "or": [
                        { "member": c.member, "operator": "lt", "values": [lo] },
                        { "member": c.member, "operator": "gt", "values": [hi] },
                    ] })
                } else {
                    json!({ "and": [
                        { "member": c.member, "operator": "gte", "values": [lo] },
                        { "member": c.member, "operator": "lte", "values": [hi] },
                    ] })
                })
            }
            Expr::IsTrue(inner) | Expr::IsFalse(inner) => {
                let truth = matches!(e, Expr::IsTrue(_)) != negate;
                self.boolean(inner, truth, e)
            }
            other if column_parts(other).is_some() => self.boolean(other, !negate, e),
            other => Err(SqlError::unsupported(format!(
                "the condition `{other}` is not rewritten into a Cube filter; filter in an outer query over a \
                 subquery"
            ))),
        }
    }

    /// A boolean dimension used as a condition.
    fn boolean(&self, col: &Expr, truth: bool, whole: &Expr) -> SqlResult<Value> {
        match self.operand(col)? {
            Some((c, None)) if matches!(&c.kind, ColumnKind::Dimension { value_type } if value_type == "boolean") => {
                Ok(json!({ "member": c.member, "operator": "equals", "values": [truth.to_string()] }))
            }
            Some((c, None)) if c.kind == ColumnKind::Segment => Err(SqlError::unsupported(format!(
                "`{whole}`: segment \"{}\" can only be AND-ed at the top of WHERE, and not negated",
                c.name
            ))),
            _ => Err(SqlError::unsupported(format!("`{whole}` is not a boolean member"))),
        }
    }
}

fn item_member<'a>(item: &Item<'a>) -> (&'a Column, Option<String>) {
    match item {
        Item::Measure(c) | Item::BareMeasure(c) | Item::Dimension(c) => (c, None),
        Item::TimeDimension(c, g) => (c, Some(g.clone())),
    }
}

/// `LOWER(x) LIKE ...` / `UPPER(x) LIKE ...`: Cube's string operators ignore case anyway.
fn strip_case_fn(e: &Expr) -> &Expr {
    if let Expr::Function(f) = e {
        let name = f.name.to_string().to_lowercase();
        if name == "lower" || name == "upper" {
            if let sqlparser::ast::FunctionArguments::List(l) = &f.args {
                if let [sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(inner))] =
                    l.args.as_slice()
                {
                    return inner;
                }
            }
        }
    }
    e
}

/// A LIKE pattern as a Cube string operator and value: `x`, `x%`, `%x`, `%x%` (with `\\%` and
/// `\\_` as literal characters); `None` for any other pattern.
fn like_filter(pattern: &str, negated: bool) -> Option<(&'static str, String)> {
    // Tokens: Some(text) for literal runs, None for `%`.
    let mut tokens: Vec<Option<String>> = Vec::new();
    let mut chars = pattern.chars();
    while let Some(ch) = chars.next() {
        let literal = match ch {
            '\\' => chars.next()?,
            '%' => {
                tokens.push(None);
                continue;
            }
            '_' => return None,
            c => c,
        };
        match tokens.last_mut() {
            Some(Some(text)) => text.push(literal),
            _ => tokens.push(Some(literal.to_string())),
        }
    }
    let (op, text) = match tokens.as_slice() {
        [Some(t)] => (("equals", "notEquals"), t),
        [Some(t), None] => (("startsWith", "notStartsWith"), t),
        [None, Some(t)] => (("endsWith", "notEndsWith"), t),
        [None, Some(t), None] => (("contains", "notContains"), t),
        _ => return None,
    };
    Some((if negated { op.1 } else { op.0 }, text.clone()))
}

/// `DATE_TRUNC('g', t) <op> v`: the periods of `t` compared with v's period.
fn period_filter(c: &Column, g: &str, v: &str, op: &BinaryOperator) -> SqlResult<Value> {
    let unit = crate::vocab::TimeUnit::parse(g)
        .ok_or_else(|| SqlError::unsupported(format!("a filter on DATE_TRUNC('{g}', ...)")))?;
    let t = parse_time(v)?;
    let start = crate::vocab::time::period_start(t, unit);
    let next = crate::vocab::time::add_units(start, 1, unit)
        .ok_or_else(|| SqlError::bad_value(format!("the date {v} is out of range")))?;
    let end = next - Duration::milliseconds(MS);
    // A value that is not a period start equals no truncated value.
    let exact = start == t;
    let (operator, values) = match op {
        BinaryOperator::Eq if exact => ("inDateRange", vec![fmt(start), fmt(end)]),
        BinaryOperator::Eq => return Err(SqlError::bad_value(format!("{v} is not the start of a {g}"))),
        BinaryOperator::NotEq if exact => ("notInDateRange", vec![fmt(start), fmt(end)]),
        BinaryOperator::GtEq if exact => ("afterOrOnDate", vec![fmt(start)]),
        BinaryOperator::GtEq | BinaryOperator::Gt => ("afterOrOnDate", vec![fmt(next)]),
        BinaryOperator::Lt if exact => ("beforeDate", vec![fmt(start)]),
        BinaryOperator::Lt | BinaryOperator::LtEq => ("beforeDate", vec![fmt(next)]),
        _ => return Err(SqlError::unsupported(format!("this comparison of DATE_TRUNC('{g}', {})", c.name))),
    };
    Ok(json!({ "member": c.member, "operator": operator, "values": values }))
}

/// WHERE: segments, `__user`, date ranges and filters.
pub(super) fn collect_where(scope: &Scope, e: &Expr, out: &mut Conditions) -> SqlResult<()> {
    let mut conjuncts = Vec::new();
    split_and(e, &mut conjuncts);
    let resolver = Resolver { scope, mode: Mode::Where };
    let mut bounds: Vec<(String, Bounds)> = Vec::new();
    for c in conjuncts {
        if let Some(done) = special(scope, c, out)? {
            if done {
                continue;
            }
        }
        if let Some((member, lower, upper)) = time_bound(&resolver, c)? {
            let i = match bounds.iter().position(|(m, _)| *m == member) {
                Some(i) => i,
                None => {
                    bounds.push((member, Bounds::default()));
                    bounds.len() - 1
                }
            };
            let entry = &mut bounds[i].1;
            if let Some(l) = lower {
                entry.lower = Some(match entry.lower {
                    Some(old) if old.0 > l.0 || (old.0 == l.0 && !old.1) => old,
                    _ => l,
                });
            }
            if let Some(u) = upper {
                entry.upper = Some(match entry.upper {
                    Some(old) if old.0 < u.0 || (old.0 == u.0 && !old.1) => old,
                    _ => u,
                });
            }
            continue;
        }
        out.filters.push(resolver.filter(c, false)?);
    }
    for (member, b) in bounds {
        match (b.lower, b.upper) {
            (Some(l), Some(u)) => {
                let from = if l.1 { l.0 } else { l.0 + Duration::milliseconds(MS) };
                let to = if u.1 { u.0 } else { u.0 - Duration::milliseconds(MS) };
                out.date_ranges.push((member, [fmt(from), fmt(to)]));
            }
            (Some((t, inclusive)), None) => out.filters.push(json!({
                "member": member, "operator": if inclusive { "afterOrOnDate" } else { "afterDate" }, "values": [fmt(t)]
            })),
            (None, Some((t, inclusive))) => out.filters.push(json!({
                "member": member, "operator": if inclusive { "beforeOrOnDate" } else { "beforeDate" }, "values": [fmt(t)]
            })),
            (None, None) => {}
        }
    }
    Ok(())
}

/// Segments and `__user`; `Some(true)` when the conjunct was one of them.
fn special(scope: &Scope, e: &Expr, out: &mut Conditions) -> SqlResult<Option<bool>> {
    let segment = |x: &Expr| -> Option<&Column> {
        let parts = column_parts(x)?;
        let (_, c) = scope.column(&parts).ok()?;
        (c.kind == ColumnKind::Segment).then_some(c)
    };
    let user_column = |x: &Expr| -> bool {
        column_parts(x).is_some_and(|p| scope.column(&p).is_ok_and(|(_, c)| c.kind == ColumnKind::User))
    };
    let truth = |x: &Expr| matches!(x, Expr::Value(v) if v.value == SqlValue::Boolean(true));
    let seg = match e {
        Expr::IsTrue(inner) => segment(inner),
        Expr::BinaryOp { left, op: BinaryOperator::Eq, right } if truth(right) => segment(left),
        other => segment(other),
    };
    if let Some(c) = seg {
        if !out.segments.contains(&c.member) {
            out.segments.push(c.member.clone());
        }
        return Ok(Some(true));
    }
    match e {
        Expr::BinaryOp { left, op: BinaryOperator::Eq, right } if user_column(left) || user_column(right) => {
            let value = if user_column(left) { right } else { left };
            let name = literal(value)?;
            if out.user.as_ref().is_some_and(|u| *u != name) {
                return Err(SqlError::unsupported("two different __user values in one query"));
            }
            out.user = Some(name);
            Ok(Some(true))
        }
        Expr::InList { expr, list, negated: false } if user_column(expr) && list.len() == 1 => {
            out.user = Some(literal(&list[0])?);
            Ok(Some(true))
        }
        // Power BI: `NOT __user IS NULL AND __user = 'x'`.
        Expr::UnaryOp { op: UnaryOperator::Not, expr } if matches!(expr.as_ref(), Expr::IsNull(x) if user_column(x)) => {
            Ok(Some(true))
        }
        Expr::IsNotNull(x) if user_column(x) => Ok(Some(true)),
        _ => Ok(None),
    }
}

/// A bound on a plain time dimension (`t >= v`, `t < v`, `t BETWEEN a AND b`): its member and
/// lower and upper bounds.
#[allow(clippy::type_complexity)]
fn time_bound(r: &Resolver, e: &Expr) -> SqlResult<Option<(String, Option<Bound>, Option<Bound>)>> {
    match e {
        Expr::BinaryOp { left, op, right }
            if matches!(op, BinaryOperator::Lt | BinaryOperator::LtEq | BinaryOperator::Gt | BinaryOperator::GtEq) =>
        {
            let (c, v, op) = match (r.operand(left)?, r.operand(right)?) {
                (Some((c, None)), None) => (c, right, op.clone()),
                (None, Some((c, None))) => (c, left, flip(op)),
                _ => return Ok(None),
            };
            if !is_time(c) {
                return Ok(None);
            }
            let t = parse_time(&literal(v)?)?;
            Ok(Some(match op {
                BinaryOperator::Gt => (c.member.clone(), Some((t, false)), None),
                BinaryOperator::GtEq => (c.member.clone(), Some((t, true)), None),
                BinaryOperator::Lt => (c.member.clone(), None, Some((t, false))),
                _ => (c.member.clone(), None, Some((t, true))),
            }))
        }
        Expr::Between { expr, negated: false, low, high } => match r.operand(expr)? {
            Some((c, None)) if is_time(c) => {
                let (lo, hi) = (parse_time(&literal(low)?)?, parse_time(&literal(high)?)?);
                Ok(Some((c.member.clone(), Some((lo, true)), Some((hi, true)))))
            }
            _ => Ok(None),
        },
        _ => Ok(None),
    }
}

/// HAVING: filters on measures (by aggregate, MEASURE() or alias) and dimensions.
pub(super) fn collect_having(
    scope: &Scope,
    e: &Expr,
    projected: &[(Option<String>, Item)],
    out: &mut Conditions,
) -> SqlResult<()> {
    let mut conjuncts = Vec::new();
    split_and(e, &mut conjuncts);
    let resolver = Resolver { scope, mode: Mode::Having(projected) };
    for c in conjuncts {
        out.filters.push(resolver.filter(c, false)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::like_filter;

    #[test]
    fn like_patterns_map_to_cube_operators() {
        assert_eq!(like_filter("San%", false), Some(("startsWith", "San".into())));
        assert_eq!(like_filter("%co", false), Some(("endsWith", "co".into())));
        assert_eq!(like_filter("%an%", false), Some(("contains", "an".into())));
        assert_eq!(like_filter("Austin", false), Some(("equals", "Austin".into())));
        assert_eq!(like_filter("%x%", true), Some(("notContains", "x".into())));
        assert_eq!(like_filter("paid\\_search", false), Some(("equals", "paid_search".into())));
        assert_eq!(like_filter("a%b", false), None);
        assert_eq!(like_filter("a_b", false), None);
    }
}
