//! `*` and `t.*` over cube tables in a pushdown statement: every dimension of the table, by
//! name, as a semantic `SELECT *` reads it (measures need an aggregate). Expanded before the
//! walk, so the result's columns are named as PostgreSQL names them.

use super::super::error::{SqlError, SqlResult};
use super::super::schema::{ColumnKind, Schema, Table};
use super::super::scope::{self, ident_parts};
use sqlparser::ast::{
    Expr, Ident, Select, SelectItem, SelectItemQualifiedWildcardKind, TableFactor, VisitMut, VisitorMut,
};
use std::ops::ControlFlow;

/// The cube tables of a SELECT's FROM by the names it uses, and whether anything else is there.
fn cube_tables<'s>(schema: &'s Schema, select: &Select) -> (Vec<(String, &'s Table)>, bool) {
    let mut found = Vec::new();
    let mut others = false;
    let mut visit = |f: &TableFactor| match f {
        TableFactor::Table { name, alias, args: None, .. } => match scope::cube_table(schema, name) {
            Some(t) => {
                let n = alias
                    .as_ref()
                    .map(|a| a.name.value.clone())
                    .unwrap_or_else(|| ident_parts(name).last().cloned().unwrap_or_default());
                found.push((n, t))
            }
            None => others = true,
        },
        _ => others = true,
    };
    for twj in &select.from {
        visit(&twj.relation);
        for j in &twj.joins {
            visit(&j.relation);
        }
    }
    (found, others)
}

fn dimensions(alias: &str, table: &Table) -> Vec<SelectItem> {
    table
        .columns
        .iter()
        .filter(|c| matches!(c.kind, ColumnKind::Dimension { .. }))
        .map(|c| SelectItem::ExprWithAlias {
            expr: Expr::CompoundIdentifier(vec![Ident::with_quote('"', alias), Ident::with_quote('"', &c.name)]),
            alias: Ident::with_quote('"', &c.name),
        })
        .collect()
}

struct Expander<'s> {
    schema: &'s Schema,
    error: Option<SqlError>,
}

impl VisitorMut for Expander<'_> {
    type Break = ();

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        let (tables, others) = cube_tables(self.schema, select);
        if tables.is_empty() {
            return ControlFlow::Continue(());
        }
        let mut items = Vec::with_capacity(select.projection.len());
        for item in select.projection.drain(..) {
            match &item {
                SelectItem::Wildcard(_) if others => {
                    self.error = Some(SqlError::unsupported(
                        "`*` over cube tables and other relations together: name the columns",
                    ));
                    return ControlFlow::Break(());
                }
                SelectItem::Wildcard(_) => {
                    for (alias, table) in &tables {
                        items.extend(dimensions(alias, table));
                    }
                }
                SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                    let parts = ident_parts(name);
                    let last = parts.last().cloned().unwrap_or_default();
                    match tables.iter().find(|(a, _)| a.eq_ignore_ascii_case(&last)) {
                        Some((alias, table)) => items.extend(dimensions(alias, table)),
                        None => items.push(item),
                    }
                }
                _ => items.push(item),
            }
        }
        select.projection = items;
        ControlFlow::Continue(())
    }
}

/// Expands `*` over cube tables in every SELECT of the statement.
pub(super) fn expand(q: &mut sqlparser::ast::Query, schema: &Schema) -> SqlResult<()> {
    let mut e = Expander { schema, error: None };
    let _ = q.visit(&mut e);
    e.error.map_or(Ok(()), Err)
}
