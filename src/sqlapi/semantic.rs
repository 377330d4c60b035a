//! SQL to a cubec query: one SELECT over cube tables becomes one semantic query (Cube's
//! "regular" query), by pattern matching over sqlparser's AST.
//!
//! Input: a parsed `Query` and the caller's [`Schema`]. Output: a [`SemanticQuery`], the query
//! JSON `/v1/load` accepts plus the result's columns, or `None` when the statement is not of
//! that shape (the caller then tries post-processing). Errors name the construct.

use super::error::{SqlError, SqlResult};
use super::filters::{self, Conditions};
use super::schema::{Column, ColumnKind, PgType, Schema, Table};
use serde_json::{json, Map, Value};
use sqlparser::ast::{
    DuplicateTreatment, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, JoinConstraint,
    JoinOperator, LimitClause, ObjectName, OrderByKind, OrderBySort, Query, Select, SelectItem, SetExpr, TableFactor,
    Value as SqlValue,
};

/// One result column: its name, the key of its value in the query's result (`cube.member` or
/// `cube.member.granularity`), and its type.
#[derive(Clone, Debug, PartialEq)]
pub struct OutColumn {
    pub name: String,
    pub key: String,
    pub pg_type: PgType,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SemanticQuery {
    pub query: Value,
    pub columns: Vec<OutColumn>,
    /// Whether the SQL set a LIMIT (without one, more rows than the maximum is an error).
    pub limited: bool,
    /// `WHERE __user = 'name'`: run as that user.
    pub user: Option<String>,
}

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
    fn key(&self) -> String {
        match self {
            Item::Measure(c) | Item::BareMeasure(c) | Item::Dimension(c) => c.member.clone(),
            Item::TimeDimension(c, g) => format!("{}.{g}", c.member),
        }
    }

    fn pg_type(&self) -> PgType {
        match self {
            Item::Measure(c) | Item::BareMeasure(c) | Item::Dimension(c) | Item::TimeDimension(c, _) => c.pg_type(),
        }
    }

    fn is_aggregate(&self) -> bool {
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

fn function_name(f: &sqlparser::ast::Function) -> String {
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
fn aggregate_matches(sql_fn: &str, distinct: bool, agg: &str) -> bool {
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
        let is_count = |c: &&Column| matches!(&c.kind, ColumnKind::Measure { agg, .. } if agg == "count");
        table
            .columns
            .iter()
            .filter(is_count)
            .find(|c| c.name == "count")
            .or_else(|| table.columns.iter().find(is_count))
            .ok_or_else(|| {
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
            Expr::Cast { expr, .. } if column_parts(expr).is_some() => self.item(expr),
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

fn strip_casts(e: &Expr) -> &Expr {
    match e {
        Expr::Cast { expr, .. } => strip_casts(expr),
        Expr::Nested(inner) => strip_casts(inner),
        other => other,
    }
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

fn positive_integer(e: &Expr, what: &str) -> SqlResult<u64> {
    match e {
        Expr::Value(v) => match &v.value {
            SqlValue::Number(n, _) => n
                .parse::<u64>()
                .map_err(|_| SqlError::bad_value(format!("{what} must be a non-negative integer, got {n}"))),
            SqlValue::Null if what == "LIMIT" => Ok(u64::MAX),
            other => Err(SqlError::bad_value(format!("{what} must be a non-negative integer, got {other}"))),
        },
        other => Err(SqlError::bad_value(format!("{what} must be a non-negative integer, got {other}"))),
    }
}

/// One query over cube tables as a semantic query; `None` if it is not a single SELECT whose
/// FROM holds only cube tables.
pub fn rewrite(query: &Query, schema: &Schema) -> SqlResult<Option<SemanticQuery>> {
    if query.with.is_some() || query.fetch.is_some() || !query.locks.is_empty() {
        return Ok(None);
    }
    let SetExpr::Select(select) = query.body.as_ref() else { return Ok(None) };
    let Some(scope) = scope_of(schema, select)? else { return Ok(None) };
    if select.distinct.is_some()
        || select.top.is_some()
        || select.into.is_some()
        || !select.named_window.is_empty()
        || select.qualify.is_some()
    {
        return Err(SqlError::unsupported(
            "DISTINCT, TOP, INTO, WINDOW and QUALIFY are not rewritten on cube tables; use GROUP BY, or an outer query \
             over a subquery",
        ));
    }
    let mut b = Builder::default();
    // SELECT list.
    let mut projected: Vec<(Option<String>, Item)> = Vec::new();
    for item in &select.projection {
        match item {
            // `*`: every dimension (measures have no per-row value cubec can always give, e.g.
            // multi-stage ones; select them with MEASURE() and GROUP BY).
            SelectItem::Wildcard(_) => {
                for (_, t) in &scope.tables {
                    for c in &t.columns {
                        if let ColumnKind::Dimension { .. } = c.kind {
                            projected.push((None, Item::Dimension(c)));
                        }
                    }
                }
            }
            SelectItem::QualifiedWildcard(kind, _) => {
                let q = kind.to_string();
                let (_, t) =
                    scope.tables.iter().find(|(a, _)| a.eq_ignore_ascii_case(q.trim_matches('"'))).ok_or_else(
                        || SqlError::new("42P01", format!("missing FROM-clause entry for table \"{q}\"")),
                    )?;
                for c in &t.columns {
                    if let ColumnKind::Dimension { .. } = c.kind {
                        projected.push((None, Item::Dimension(c)));
                    }
                }
            }
            SelectItem::UnnamedExpr(e) => {
                let it = scope.item(e)?;
                projected.push((Some(default_name(e, &it)), it));
            }
            SelectItem::ExprWithAlias { expr, alias } => projected.push((Some(alias.value.clone()), scope.item(expr)?)),
            other => return Err(SqlError::unsupported(format!("select item `{other}`"))),
        }
    }
    // GROUP BY.
    let group_exprs: Vec<&Expr> = match &select.group_by {
        GroupByExpr::Expressions(list, modifiers) if modifiers.is_empty() => list.iter().collect(),
        GroupByExpr::Expressions(..) => {
            return Err(SqlError::unsupported("GROUP BY ROLLUP/CUBE/GROUPING SETS are not rewritten on cube tables"))
        }
        GroupByExpr::All(_) => return Err(SqlError::unsupported("GROUP BY ALL")),
    };
    let has_aggregate = projected.iter().any(|(_, i)| i.is_aggregate());
    let grouped = !group_exprs.is_empty() || has_aggregate || select.having.is_some();
    let mut group_keys: Vec<Item> = Vec::new();
    for g in &group_exprs {
        let item = match g {
            Expr::Value(v) if matches!(v.value, SqlValue::Number(..)) => {
                let n = positive_integer(g, "GROUP BY position")? as usize;
                projected
                    .get(n.wrapping_sub(1))
                    .map(|(_, i)| i.clone())
                    .ok_or_else(|| SqlError::new("42P10", format!("GROUP BY position {n} is not in select list")))?
            }
            Expr::Identifier(id) => match projected.iter().find(|(n, _)| n.as_deref() == Some(id.value.as_str())) {
                Some((_, i)) if !matches!(i, Item::BareMeasure(_)) || scope.item(g).is_err() => i.clone(),
                _ => scope.item(g)?,
            },
            other => scope.item(other)?,
        };
        match item {
            Item::Dimension(_) | Item::TimeDimension(..) => group_keys.push(item),
            Item::Measure(c) | Item::BareMeasure(c) => {
                return Err(SqlError::grouping(format!(
                    "measure \"{}\" cannot be a GROUP BY key; group by dimensions and aggregate measures with \
                     MEASURE({})",
                    c.name, c.name
                )))
            }
        }
    }
    if grouped {
        for (name, item) in &projected {
            match item {
                Item::Measure(_) => {}
                Item::BareMeasure(c) => {
                    return Err(SqlError::grouping(format!(
                        "column \"{}\" is a measure: aggregate it, as in MEASURE({}), or remove GROUP BY",
                        c.name, c.name
                    )))
                }
                other if group_keys.iter().any(|k| k.key() == other.key()) => {}
                other => {
                    return Err(SqlError::grouping(format!(
                        "column \"{}\" must appear in the GROUP BY clause or be used in an aggregate function",
                        name.clone().unwrap_or_else(|| other.key())
                    )))
                }
            }
        }
    }
    for (_, item) in &projected {
        b.add(item);
    }
    for k in &group_keys {
        b.add(k);
    }

    // WHERE and HAVING.
    let mut conditions = Conditions::default();
    if let Some(w) = &select.selection {
        filters::collect_where(&scope, w, &mut conditions)?;
    }
    if let Some(h) = &select.having {
        filters::collect_having(&scope, h, &projected, &mut conditions)?;
    }
    // ORDER BY.
    let mut order = Vec::new();
    if let Some(ob) = &query.order_by {
        let OrderByKind::Expressions(list) = &ob.kind else {
            return Err(SqlError::unsupported("ORDER BY ALL"));
        };
        for o in list {
            let item = match &o.expr {
                Expr::Value(v) if matches!(v.value, SqlValue::Number(..)) => {
                    let n = positive_integer(&o.expr, "ORDER BY position")? as usize;
                    projected
                        .get(n.wrapping_sub(1))
                        .map(|(_, i)| i.clone())
                        .ok_or_else(|| SqlError::new("42P10", format!("ORDER BY position {n} is not in select list")))?
                }
                Expr::Identifier(id) => match projected.iter().find(|(n, _)| n.as_deref() == Some(id.value.as_str())) {
                    Some((_, i)) => i.clone(),
                    None => scope.item(&o.expr)?,
                },
                other => scope.item(other)?,
            };
            let key = item.key();
            if !projected.iter().any(|(_, i)| i.key() == key) && !group_keys.iter().any(|i| i.key() == key) {
                return Err(SqlError::unsupported(format!(
                    "ORDER BY `{}`: order by a column of the select list",
                    o.expr
                )));
            }
            let desc = matches!(o.options.sort, Some(OrderBySort::Desc));
            if let Some(nulls_first) = o.options.nulls_first {
                // PostgreSQL's defaults (NULLS LAST ascending, FIRST descending) are what the
                // generated SQL does; the other placement is not rewritten.
                if nulls_first != desc {
                    return Err(SqlError::unsupported(format!(
                        "ORDER BY `{}` NULLS {}: only the default NULL placement is rewritten",
                        o.expr,
                        if nulls_first { "FIRST" } else { "LAST" }
                    )));
                }
            }
            order.push(json!([member_of_key(&item), if desc { "desc" } else { "asc" }]));
        }
    }
    // LIMIT and OFFSET.
    let (mut limit, mut offset) = (None, None);
    match &query.limit_clause {
        None => {}
        Some(LimitClause::LimitOffset { limit: l, offset: o, limit_by }) => {
            if !limit_by.is_empty() {
                return Err(SqlError::unsupported("LIMIT BY"));
            }
            if let Some(l) = l {
                limit = Some(positive_integer(l, "LIMIT")?).filter(|n| *n != u64::MAX);
            }
            if let Some(o) = o {
                offset = Some(positive_integer(&o.value, "OFFSET")?);
            }
        }
        Some(LimitClause::OffsetCommaLimit { offset: o, limit: l }) => {
            limit = Some(positive_integer(l, "LIMIT")?);
            offset = Some(positive_integer(o, "OFFSET")?);
        }
    }
    let columns = projected
        .iter()
        .map(|(name, item)| OutColumn {
            name: name.clone().unwrap_or_else(|| match item {
                Item::Measure(c) | Item::BareMeasure(c) | Item::Dimension(c) | Item::TimeDimension(c, _) => {
                    c.name.clone()
                }
            }),
            key: item.key(),
            pg_type: item.pg_type(),
        })
        .collect();
    let mut q = b.finish(&conditions)?;
    q.insert("order".into(), Value::Array(order));
    if !grouped {
        q.insert("ungrouped".into(), json!(true));
    }
    if let Some(l) = limit {
        q.insert("limit".into(), json!(l));
    }
    if let Some(o) = offset.filter(|o| *o > 0) {
        q.insert("offset".into(), json!(o));
    }
    Ok(Some(SemanticQuery { query: Value::Object(q), columns, limited: limit.is_some(), user: conditions.user }))
}

/// The member an order item names: a time dimension by its dimension.
fn member_of_key(item: &Item) -> String {
    match item {
        Item::TimeDimension(c, _) => c.member.clone(),
        other => other.key(),
    }
}

/// PostgreSQL's name for an unaliased column: the column's name, or the function's.
fn default_name(e: &Expr, item: &Item) -> String {
    match e {
        Expr::Function(f) => function_name(f),
        Expr::Nested(inner) => default_name(inner, item),
        Expr::Cast { .. } => match item {
            Item::Measure(c) | Item::BareMeasure(c) | Item::Dimension(c) | Item::TimeDimension(c, _) => c.name.clone(),
        },
        _ => match item {
            Item::Measure(c) | Item::BareMeasure(c) | Item::Dimension(c) | Item::TimeDimension(c, _) => c.name.clone(),
        },
    }
}

/// The member lists of the query being built.
#[derive(Default)]
struct Builder {
    measures: Vec<String>,
    dimensions: Vec<String>,
    time_dimensions: Vec<(String, String)>,
}

impl Builder {
    fn add(&mut self, item: &Item) {
        let push = |list: &mut Vec<String>, m: &str| {
            if !list.iter().any(|x| x == m) {
                list.push(m.to_string());
            }
        };
        match item {
            Item::Measure(c) | Item::BareMeasure(c) => push(&mut self.measures, &c.member),
            Item::Dimension(c) => push(&mut self.dimensions, &c.member),
            Item::TimeDimension(c, g) => {
                if !self.time_dimensions.iter().any(|(m, x)| m == &c.member && x == g) {
                    self.time_dimensions.push((c.member.clone(), g.clone()));
                }
            }
        }
    }

    fn finish(self, conditions: &Conditions) -> SqlResult<Map<String, Value>> {
        let mut q = Map::new();
        q.insert("measures".into(), json!(self.measures));
        q.insert("dimensions".into(), json!(self.dimensions));
        let mut tds: Vec<Value> = Vec::new();
        let mut ranged: Vec<&str> = Vec::new();
        for (member, g) in &self.time_dimensions {
            let mut td = json!({ "dimension": member, "granularity": g });
            if let Some((_, range)) = conditions.date_ranges.iter().find(|(m, _)| m == member) {
                td["dateRange"] = json!(range);
                ranged.push(member);
            }
            tds.push(td);
        }
        for (member, range) in &conditions.date_ranges {
            if !ranged.contains(&member.as_str()) {
                tds.push(json!({ "dimension": member, "dateRange": range }));
            }
        }
        q.insert("timeDimensions".into(), Value::Array(tds));
        q.insert("segments".into(), json!(conditions.segments));
        q.insert("filters".into(), Value::Array(conditions.filters.clone()));
        Ok(q)
    }
}
