//! SQL to a cubec query: one SELECT over cube tables becomes one semantic query (Cube's
//! "regular" query), by pattern matching over sqlparser's AST.
//!
//! Input: a parsed `Query` and the caller's [`Schema`]. Output: a [`SemanticQuery`], the query
//! JSON `/v1/load` accepts plus the result's columns, or `None` when the statement is not of
//! that shape (the caller then tries post-processing). Errors name the construct.

use super::error::{SqlError, SqlResult};
use super::filters::{self, Conditions};
use super::schema::{ColumnKind, PgType, Schema};
use super::scope::{function_name, scope_of, Item};
use serde_json::{json, Map, Value};
use sqlparser::ast::{
    Expr, GroupByExpr, LimitClause, OrderByKind, OrderBySort, Query, SelectItem, SetExpr, Value as SqlValue,
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
                let q = match kind {
                    sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(name) => {
                        super::scope::ident_parts(name).last().cloned().unwrap_or_default()
                    }
                    other => other.to_string(),
                };
                let (_, t) =
                    scope.tables.iter().find(|(a, _)| a.eq_ignore_ascii_case(&q)).ok_or_else(|| {
                        SqlError::new("42P01", format!("missing FROM-clause entry for table \"{q}\""))
                    })?;
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
