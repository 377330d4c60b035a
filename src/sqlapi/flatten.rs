//! Top-down flattening (Cube's "top-down evaluation"): a query over a subquery that only
//! projects (and filters) cube columns reads the cube directly.
//!
//! `SELECT c, sum(cast(n AS decimal)) FROM (SELECT c, n FROM orders WHERE x) rows GROUP BY c`
//! (Power BI's nesting) becomes `SELECT c, sum(cast(n AS decimal)) FROM orders WHERE x GROUP BY
//! c`, which [`super::semantic`] rewrites into one query: the measure is aggregated by the
//! model, not re-aggregated over per-row values. Anything else is left alone.

use super::schema::Schema;
use super::scope::{column_parts, scope_of};
use sqlparser::ast::{
    BinaryOperator, Expr, GroupByExpr, Ident, Query, SelectItem, SetExpr, TableFactor, VisitMut, VisitorMut,
};
use std::ops::ControlFlow;

/// The flattened query, when `query` reads one projection subquery over cube tables.
pub fn flatten(query: &Query, schema: &Schema) -> Option<Query> {
    let SetExpr::Select(outer) = query.body.as_ref() else { return None };
    let [twj] = outer.from.as_slice() else { return None };
    if !twj.joins.is_empty() || query.with.is_some() {
        return None;
    }
    let TableFactor::Derived { subquery, alias, lateral: false, .. } = &twj.relation else { return None };
    if alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
        return None;
    }
    let alias = alias.as_ref().map(|a| a.name.value.clone());
    // The inner query: a plain projection of cube columns, maybe filtered.
    if subquery.with.is_some()
        || subquery.order_by.is_some()
        || subquery.limit_clause.is_some()
        || subquery.fetch.is_some()
    {
        return None;
    }
    let SetExpr::Select(inner) = subquery.body.as_ref() else { return None };
    let scope = scope_of(schema, inner).ok()??;
    let no_grouping = matches!(&inner.group_by, GroupByExpr::Expressions(g, m) if g.is_empty() && m.is_empty());
    if !no_grouping || inner.having.is_some() || inner.distinct.is_some() || inner.top.is_some() {
        return None;
    }
    // Output name -> the inner column expression.
    let mut columns: Vec<(String, Expr)> = Vec::new();
    for item in &inner.projection {
        match item {
            SelectItem::UnnamedExpr(e) => {
                let parts = column_parts(e)?;
                scope.column(&parts).ok()?;
                columns.push((parts.last()?.clone(), e.clone()));
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                let parts = column_parts(expr)?;
                scope.column(&parts).ok()?;
                columns.push((alias.value.clone(), expr.clone()));
            }
            SelectItem::Wildcard(_) => {
                for (table_alias, table) in &scope.tables {
                    for c in &table.columns {
                        let e =
                            Expr::CompoundIdentifier(vec![Ident::new(table_alias), Ident::with_quote('"', &c.name)]);
                        columns.push((c.name.clone(), e));
                    }
                }
            }
            _ => return None,
        }
    }
    let mut flat = query.clone();
    let SetExpr::Select(select) = flat.body.as_mut() else { return None };
    // Substitute with FROM emptied, so the subquery's own expressions are not visited.
    select.from.clear();
    let outer_aliases: Vec<String> = select
        .projection
        .iter()
        .filter_map(|i| match i {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
            _ => None,
        })
        .collect();
    let mut sub =
        Substitute { alias: alias.as_deref(), columns: &columns, outer_aliases: &outer_aliases, missing: false };
    let _ = flat.visit(&mut sub);
    if sub.missing {
        return None;
    }
    let SetExpr::Select(select) = flat.body.as_mut() else { return None };
    select.from = inner.from.clone();
    select.selection = match (inner.selection.clone(), select.selection.take()) {
        (Some(a), Some(b)) => Some(Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(a))),
            op: BinaryOperator::And,
            right: Box::new(Expr::Nested(Box::new(b))),
        }),
        (a, b) => a.or(b),
    };
    Some(flat)
}

struct Substitute<'a> {
    alias: Option<&'a str>,
    columns: &'a [(String, Expr)],
    /// The outer SELECT's aliases, which GROUP BY, HAVING and ORDER BY may name.
    outer_aliases: &'a [String],
    /// A name the subquery does not give: not flattenable.
    missing: bool,
}

impl Substitute<'_> {
    fn lookup(&self, name: &str) -> Option<Expr> {
        let exact = self.columns.iter().find(|(n, _)| n == name);
        exact.or_else(|| self.columns.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))).map(|(_, e)| e.clone())
    }
}

impl VisitorMut for Substitute<'_> {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let name = match expr {
            Expr::Identifier(id) => Some(id.value.clone()),
            Expr::CompoundIdentifier(ids) if ids.len() == 2 => {
                let q = &ids[0].value;
                if self.alias.is_some_and(|a| a == q || a.eq_ignore_ascii_case(q)) {
                    Some(ids[1].value.clone())
                } else {
                    self.missing = true;
                    None
                }
            }
            Expr::CompoundIdentifier(_) => {
                self.missing = true;
                None
            }
            _ => None,
        };
        if let Some(n) = name {
            match self.lookup(&n) {
                Some(e) => *expr = e,
                None if matches!(expr, Expr::Identifier(_)) && self.outer_aliases.contains(&n) => {}
                None => self.missing = true,
            }
        }
        ControlFlow::Continue(())
    }
}
