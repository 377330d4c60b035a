//! What the names in a SELECT over cube tables refer to: the FROM clause's cube tables
//! ([`Scope`], from [`scope_of`]) and what each expression is ([`Item`]: a measure, aggregated or
//! not, a dimension, a time dimension at a granularity). The semantic rewrite, the WHERE/HAVING
//! collectors and the flattening of nested selects all read expressions through it.

use super::error::{SqlError, SqlResult};
use super::schema::{Column, ColumnKind, PgType, Schema, Table};
use sqlparser::ast::{
    DuplicateTreatment, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, JoinConstraint, JoinOperator,
    ObjectName, Select, TableFactor, Value as SqlValue,
};

/// The cube tables of a FROM clause, under the names the query refers to them by.
pub(super) struct Scope<'a> {
    pub tables: Vec<(String, &'a Table)>,
}

impl<'a> Scope<'a> {
    /// The column a (possibly qualified) name refers to.
    pub fn column(&self, parts: &[String]) -> SqlResult<(&'a Table, &'a Column)> {
        let (qualifier, name) = match parts {
            [name] => (None, name),
            [.., q, name] => (Some(q), name),
            [] => return Err(SqlError::syntax("an empty column name")),
        };
        let candidates: Vec<&(String, &Table)> = match qualifier {
            Some(q) => {
                let exact: Vec<_> = self.tables.iter().filter(|(a, _)| a == q).collect();
                if exact.is_empty() {
                    self.tables.iter().filter(|(a, _)| a.eq_ignore_ascii_case(q)).collect()
                } else {
                    exact
                }
            }
            None => self.tables.iter().collect(),
        };
        if candidates.is_empty() {
            let q = qualifier.map(String::as_str).unwrap_or_default();
            return Err(SqlError::new("42P01", format!("missing FROM-clause entry for table \"{q}\"")));
        }
        let mut found = candidates.iter().filter_map(|(_, t)| t.column(name).map(|c| (*t, c)));
        match (found.next(), found.next()) {
            (Some(hit), None) => Ok(hit),
            (Some(_), Some(_)) => Err(SqlError::new("42702", format!("column reference \"{name}\" is ambiguous"))),
            (None, _) => {
                let table = candidates.first().map(|(_, t)| t.name.as_str()).unwrap_or_default();
                Err(SqlError::no_column(name, table))
            }
        }
    }
}

/// What a SELECT item or GROUP BY key is, semantically.
#[derive(Clone, Debug)]
pub(super) enum Item<'a> {
    /// A measure, aggregated (`MEASURE(m)`, `SUM(m)`, `COUNT(*)`).
    Measure(&'a Column),
    /// A measure column without an aggregate: its per-row value in an ungrouped query.
    BareMeasure(&'a Column),
    Dimension(&'a Column),
    TimeDimension(&'a Column, String),
}

impl Item<'_> {
    pub(super) fn key(&self) -> String {
        match self {
            Item::Measure(c) | Item::BareMeasure(c) | Item::Dimension(c) => c.member.clone(),
            Item::TimeDimension(c, g) => format!("{}.{g}", c.member),
        }
    }

    pub(super) fn pg_type(&self) -> PgType {
        match self {
            Item::Measure(c) | Item::BareMeasure(c) | Item::Dimension(c) | Item::TimeDimension(c, _) => c.pg_type(),
        }
    }

    pub(super) fn is_aggregate(&self) -> bool {
        matches!(self, Item::Measure(_))
    }
}

pub(super) fn ident_parts(name: &ObjectName) -> Vec<String> {
    name.0.iter().filter_map(|p| p.as_ident().map(|i| i.value.clone())).collect()
}

/// The cube table a FROM name refers to: `orders`, `public.orders`, `db.public.orders`.
pub(super) fn cube_table<'a>(schema: &'a Schema, name: &ObjectName) -> Option<&'a Table> {
    let parts = ident_parts(name);
    match parts.as_slice() {
        [t] => schema.table(t),
        [s, t] | [_, s, t] if s.eq_ignore_ascii_case("public") => schema.table(t),
        _ => None,
    }
}

pub(super) fn function_name(f: &sqlparser::ast::Function) -> String {
    ident_parts(&f.name).last().cloned().unwrap_or_default().to_lowercase()
}

/// The plain arguments of a call, and whether it said DISTINCT.
fn call_args(f: &sqlparser::ast::Function) -> SqlResult<(Vec<&FunctionArgExpr>, bool)> {
    match &f.args {
        FunctionArguments::None => Ok((Vec::new(), false)),
        FunctionArguments::List(list) => {
            if f.filter.is_some() || !list.clauses.is_empty() || f.over.is_some() {
                return Err(SqlError::unsupported(format!(
                    "`{f}`: FILTER, ORDER BY inside an aggregate and window functions over cube columns are not \
                     rewritten; compute them over a subquery"
                )));
            }
            let distinct = matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct));
            let args = list
                .args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(e) => Ok(e),
                    _ => Err(SqlError::unsupported(format!("named arguments in `{f}`"))),
                })
                .collect::<SqlResult<Vec<_>>>()?;
            Ok((args, distinct))
        }
        FunctionArguments::Subquery(_) => Err(SqlError::unsupported(format!("a subquery as the argument of `{f}`"))),
    }
}

/// A string literal's text (for DATE_TRUNC's unit).
fn string_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Value(v) => match &v.value {
            SqlValue::SingleQuotedString(s) | SqlValue::EscapedStringLiteral(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// Column parts of an identifier expression.
pub(super) fn column_parts(e: &Expr) -> Option<Vec<String>> {
    match e {
        Expr::Identifier(i) => Some(vec![i.value.clone()]),
        Expr::CompoundIdentifier(ids) => Some(ids.iter().map(|i| i.value.clone()).collect()),
        Expr::Nested(inner) => column_parts(inner),
        _ => None,
    }
}

/// Which SQL aggregates match a measure's aggregation (Cube's `is_same_agg_type`; `SUM` over
/// a `count` measure is what Tableau sends).
pub(super) fn aggregate_matches(sql_fn: &str, distinct: bool, agg: &str) -> bool {
    match (sql_fn, distinct) {
        ("sum", false) => matches!(agg, "sum" | "count" | "number" | "runningTotal"),
        ("count", false) => matches!(agg, "count" | "number"),
        ("count", true) => matches!(agg, "countDistinct" | "countDistinctApprox" | "number"),
        ("approx_distinct", _) => matches!(agg, "countDistinctApprox" | "number"),
        ("min", _) => matches!(agg, "min" | "number" | "string" | "time" | "boolean"),
        ("max", _) => matches!(agg, "max" | "number" | "string" | "time" | "boolean"),
        ("avg", false) => matches!(agg, "avg" | "number"),
        _ => false,
    }
}

const AGGREGATES: &[&str] = &["measure", "sum", "count", "min", "max", "avg", "approx_distinct"];

impl<'a> Scope<'a> {
    /// `COUNT(*)`: the measure named `count`, else the first measure of type count, of the
    /// only cube table in scope.
    fn count_star(&self) -> SqlResult<&'a Column> {
        let [(_, table)] = self.tables.as_slice() else {
            return Err(SqlError::unsupported(
                "COUNT(*) over joined cube tables: name the measure, as in MEASURE(orders.count)",
            ));
        };
        count_measure(table).ok_or_else(|| {
            SqlError::grouping(format!(
                "COUNT(*) needs a measure of type count in \"{}\", and it has none; use MEASURE(<measure>)",
                table.name
            ))
        })
    }

    /// What an expression in SELECT, GROUP BY, ORDER BY or HAVING is.
    pub(super) fn item(&self, e: &Expr) -> SqlResult<Item<'a>> {
        if let Some(parts) = column_parts(e) {
            let (_, c) = self.column(&parts)?;
            return match &c.kind {
                ColumnKind::Measure { .. } => Ok(Item::BareMeasure(c)),
                ColumnKind::Dimension { .. } => Ok(Item::Dimension(c)),
                ColumnKind::Segment => {
                    Err(SqlError::unsupported(format!("segment \"{}\" can only be used as a WHERE condition", c.name)))
                }
                ColumnKind::User | ColumnKind::JoinField => {
                    Err(SqlError::unsupported(format!("\"{}\" can only be used in WHERE or a join condition", c.name)))
                }
            };
        }
        match e {
            Expr::Nested(inner) => self.item(inner),
            Expr::Function(f) => self.call(f),
            // `CAST(m AS DECIMAL)` inside Power BI's `sum(...)`: the value is the same.
            Expr::Cast { expr, data_type, .. } if column_parts(expr).is_some() && is_numeric_type(data_type) => {
                self.item(expr)
            }
            other => Err(SqlError::unsupported(format!(
                "`{other}` is not a member, an aggregate of a measure or DATE_TRUNC of a time dimension; compute it \
                 in an outer query over a subquery that selects the members"
            ))),
        }
    }

    fn call(&self, f: &sqlparser::ast::Function) -> SqlResult<Item<'a>> {
        let name = function_name(f);
        let (args, distinct) = call_args(f)?;
        if name == "date_trunc" || name == "date" {
            let (unit, arg) = match (name.as_str(), args.as_slice()) {
                ("date_trunc", [FunctionArgExpr::Expr(u), FunctionArgExpr::Expr(a)]) => {
                    let u = string_literal(u).ok_or_else(|| {
                        SqlError::unsupported(format!("`{f}`: the unit must be a string literal such as 'month'"))
                    })?;
                    (u.to_lowercase(), a)
                }
                ("date", [FunctionArgExpr::Expr(a)]) => ("day".to_string(), a),
                _ => return Err(SqlError::unsupported(format!("`{f}`: expected DATE_TRUNC('unit', column)"))),
            };
            let unit = if unit == "qtr" { "quarter".to_string() } else { unit };
            let inner = strip_casts(arg);
            let parts = column_parts(inner)
                .ok_or_else(|| SqlError::unsupported(format!("`{f}`: the argument must be a time dimension")))?;
            let (_, c) = self.column(&parts)?;
            return match &c.kind {
                ColumnKind::Dimension { value_type } if value_type == "time" => Ok(Item::TimeDimension(c, unit)),
                _ => Err(SqlError::new("42883", format!("`{f}`: \"{}\" is not a time dimension", c.name))),
            };
        }
        if !AGGREGATES.contains(&name.as_str()) {
            return Err(SqlError::unsupported(format!(
                "function {name}() over cube columns is not rewritten into a semantic query; compute it in an outer \
                 query over a subquery"
            )));
        }
        let arg = match args.as_slice() {
            [FunctionArgExpr::Wildcard] if name == "count" && !distinct => return self.count_star().map(Item::Measure),
            [FunctionArgExpr::Expr(Expr::Value(v))] if name == "count" && !distinct => {
                if matches!(&v.value, SqlValue::Number(..)) {
                    return self.count_star().map(Item::Measure);
                }
                return Err(SqlError::unsupported(format!("`{f}`")));
            }
            [FunctionArgExpr::Expr(a)] => strip_casts(a),
            _ => return Err(SqlError::unsupported(format!("`{f}`: expected one argument"))),
        };
        let parts = column_parts(arg).ok_or_else(|| {
            SqlError::unsupported(format!("`{f}`: aggregates take a measure column; expressions are not rewritten"))
        })?;
        let (_, c) = self.column(&parts)?;
        let ColumnKind::Measure { agg, .. } = &c.kind else {
            // MAX(dim), COUNT(DISTINCT dim): not a semantic query, but pushdown computes it.
            if name != "measure" {
                return Err(SqlError::unsupported(format!(
                    "`{f}` aggregates dimension \"{}\"; only pushdown computes it",
                    c.name
                )));
            }
            return Err(SqlError::grouping(format!(
                "Dimension '{}' was used with the aggregate function '{}()'. Please use a measure instead",
                c.name,
                name.to_uppercase()
            )));
        };
        if name != "measure" && !aggregate_matches(&name, distinct, agg) {
            let given = if distinct {
                format!("{}(DISTINCT)", name.to_uppercase())
            } else {
                format!("{}()", name.to_uppercase())
            };
            return Err(SqlError::grouping(format!(
                "Measure aggregation type doesn't match. The aggregation type for '{}' is '{}' but '{given}' was \
                 provided; use MEASURE({})",
                c.name, agg, c.name
            )));
        }
        Ok(Item::Measure(c))
    }
}

/// A numeric type: a cast to it keeps a number's value (`CAST(x AS DATE)` does not keep a time's).
fn is_numeric_type(t: &sqlparser::ast::DataType) -> bool {
    let name = t.to_string().to_lowercase();
    let base = name.split('(').next().unwrap_or_default().trim();
    matches!(
        base,
        "decimal"
            | "numeric"
            | "float"
            | "float4"
            | "float8"
            | "double"
            | "double precision"
            | "real"
            | "int"
            | "integer"
            | "bigint"
            | "int4"
            | "int8"
            | "smallint"
    )
}

fn strip_casts(e: &Expr) -> &Expr {
    match e {
        Expr::Cast { expr, .. } => strip_casts(expr),
        Expr::Nested(inner) => strip_casts(inner),
        other => other,
    }
}

/// The measure `COUNT(*)` means on a table: the one named `count`, else its first count measure.
pub(super) fn count_measure(table: &Table) -> Option<&Column> {
    let is_count = |c: &&Column| matches!(&c.kind, ColumnKind::Measure { agg, .. } if agg == "count");
    table.columns.iter().filter(is_count).find(|c| c.name == "count").or_else(|| table.columns.iter().find(is_count))
}

/// The scope of a FROM clause when every relation in it is a cube table, joined by CROSS JOIN
/// or on `__cubeJoinField`; `None` when something else is in FROM.
pub(super) fn scope_of<'a>(schema: &'a Schema, select: &Select) -> SqlResult<Option<Scope<'a>>> {
    let mut tables = Vec::new();
    let mut add = |factor: &TableFactor| -> Option<()> {
        let TableFactor::Table { name, alias, args: None, .. } = factor else { return None };
        let table = cube_table(schema, name)?;
        let as_name = alias
            .as_ref()
            .map(|a| a.name.value.clone())
            .unwrap_or_else(|| ident_parts(name).last().cloned().unwrap_or_default());
        tables.push((as_name, table));
        Some(())
    };
    for twj in &select.from {
        if add(&twj.relation).is_none() {
            return Ok(None);
        }
        for join in &twj.joins {
            if add(&join.relation).is_none() {
                return Ok(None);
            }
        }
    }
    if tables.is_empty() {
        return Ok(None);
    }
    let scope = Scope { tables };
    for twj in &select.from {
        for join in &twj.joins {
            let constraint = match &join.join_operator {
                JoinOperator::CrossJoin(c) => c,
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c) => c,
                other => return Err(SqlError::unsupported(format!("join `{other:?}` between cube tables"))),
            };
            match constraint {
                JoinConstraint::None => {}
                JoinConstraint::On(cond) if is_join_field_condition(&scope, cond) => {}
                _ => return Err(SqlError::unsupported("Use __cubeJoinField to join Cubes")),
            }
        }
    }
    Ok(Some(scope))
}

fn is_join_field_condition(scope: &Scope, cond: &Expr) -> bool {
    use sqlparser::ast::BinaryOperator;
    let is_field = |e: &Expr| {
        column_parts(e).is_some_and(|p| scope.column(&p).is_ok_and(|(_, c)| c.kind == ColumnKind::JoinField))
    };
    match cond {
        Expr::Nested(inner) => is_join_field_condition(scope, inner),
        Expr::BinaryOp { left, op: BinaryOperator::Eq, right } => is_field(left) && is_field(right),
        // Power BI: `a = b OR a IS NULL AND b IS NULL`.
        Expr::BinaryOp { left, op: BinaryOperator::Or, .. } => is_join_field_condition(scope, left),
        _ => false,
    }
}
