//! Pushdown: a SELECT over cube tables that is not one semantic query (expressions over
//! measures, CASE or other expressions in GROUP BY, ROLLUP and GROUPING SETS, window functions,
//! HAVING on expressions, subqueries, UNION) compiled to one statement for the data source.
//!
//! Each cube table becomes its row source: the query stage's ungrouped query of the members the
//! statement uses, compiled for the caller (so member visibility and every policy row filter
//! hold) with the cube's SQL, joins and each member's SQL expression. The statement's own SQL is
//! kept around those row sources; a measure becomes its aggregate over its per-row column
//! ([`measures`]), `DATE_TRUNC`, casts and string literals are rendered by the dialect's
//! templates ([`splice`]), and only listed functions pass ([`rules`]).
//!
//! Input: a parsed statement, the caller's schema and options. Output: the SQL to run and the
//! result's column names.

mod measures;
mod rules;
mod source;
mod splice;
mod walker;
mod wildcard;

use super::error::{SqlError, SqlResult};
use super::schema::Schema;
use crate::query::QueryOptions;
use crate::resolve::Model;
use crate::sql::{CompiledSql, Dialect};
use splice::{Piece, Splices};
use sqlparser::ast::{
    Expr, Ident, LimitClause, Query, Select, SelectItem, SetExpr, TableFactor, Value as SqlValue, VisitMut, VisitorMut,
};
use std::ops::ControlFlow;
use walker::Walker;

/// What pushdown compiles a statement against.
pub struct Context<'a> {
    pub model: &'a Model,
    pub dialect: &'a Dialect,
    /// The caller's options: security context, access policies.
    pub opts: &'a QueryOptions,
    /// The session's time zone (`SET TIME ZONE`): time dimensions are read in it.
    pub timezone: &'a str,
    /// The most rows a statement without a LIMIT may return.
    pub max_rows: u64,
}

/// A compiled pushdown statement.
#[derive(Debug)]
pub struct Pushdown {
    pub compiled: CompiledSql,
    /// The result's column names as PostgreSQL would give them (`None` when `*` hides them:
    /// the warehouse's names are used).
    pub names: Option<Vec<String>>,
    /// Whether the statement set its own LIMIT (else one row over the maximum was asked for).
    pub limited: bool,
}

/// Compiles `query` for the data source; errors name what cannot be pushed down.
pub fn compile(query: &Query, schema: &Schema, ctx: &Context) -> SqlResult<Pushdown> {
    if splice::has_marker(&query.to_string()) {
        return Err(SqlError::syntax("names starting with __cubec_splice_ are reserved"));
    }
    let mut q = query.clone();
    if !q.locks.is_empty() || q.fetch.is_some() {
        return Err(SqlError::unsupported("FOR UPDATE and FETCH FIRST are not pushed down"));
    }
    let names = name_columns(&mut q);
    let limited = cap_rows(&mut q, ctx.max_rows);
    wildcard::expand(&mut q, schema)?;
    let mut walker = Walker::new(schema, ctx);
    let _ = q.visit(&mut walker);
    if let Some(e) = walker.error {
        return Err(e);
    }
    if walker.bindings.is_empty() {
        return Err(SqlError::internal("pushdown of a statement without cube tables"));
    }
    let quote = ctx.dialect.ident("x").chars().next().unwrap_or('"');
    let distinct = ctx
        .dialect
        .render("set_default_quantifier", minijinja::context! {})
        .map_err(|d| SqlError::internal(d.message))?;
    let rollup =
        ctx.dialect.render("rollup_syntax", minijinja::context! {}).map_err(|d| SqlError::internal(d.message))?;
    struct EveryQuery {
        distinct: bool,
        rollup_modifier: bool,
    }
    impl VisitorMut for EveryQuery {
        type Break = ();
        fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
            if self.distinct {
                spell_out_distinct(&mut q.body);
            }
            if self.rollup_modifier {
                rollup_as_modifier(&mut q.body);
            }
            ControlFlow::Continue(())
        }
    }
    let _ = q.visit(&mut EveryQuery {
        distinct: distinct.trim().eq_ignore_ascii_case("distinct"),
        rollup_modifier: rollup.trim() == "modifier",
    });
    requote(&mut q, quote, &walker.splices);
    let mut sources = Vec::with_capacity(walker.bindings.len());
    for b in &walker.bindings {
        sources.push(b.compile(ctx)?);
    }
    let text = q.to_string();
    let sql = walker.splices.finish(&text, |piece| match piece {
        Piece::Column { binding, member } => {
            let b = &walker.bindings[*binding];
            let alias = sources[*binding].alias_of(member)?;
            Ok(format!("{}.{}", ctx.dialect.ident(&b.alias), ctx.dialect.ident(alias)))
        }
        Piece::Source { binding } => Ok(format!("({})", sources[*binding].compiled.sql)),
        Piece::Literal(s) => Ok(ctx.dialect.literal(s)),
        Piece::Text(t) => Ok(t.clone()),
    })?;
    let mut warnings = Vec::new();
    let mut refresh_keys = Vec::new();
    for s in sources {
        warnings.extend(s.compiled.warnings);
        for k in s.compiled.refresh_keys {
            if !refresh_keys.contains(&k) {
                refresh_keys.push(k);
            }
        }
    }
    let compiled = CompiledSql {
        sql,
        params: Vec::new(),
        alias_to_member: Default::default(),
        warnings,
        total: None,
        refresh_keys,
        runs_on: Default::default(),
    };
    Ok(Pushdown { compiled, names, limited })
}

/// Gives every unnamed item of the first SELECT (whose names a set operation takes) the name
/// PostgreSQL would, so the warehouse returns the names PostgreSQL would. `None` with `*`.
fn name_columns(q: &mut Query) -> Option<Vec<String>> {
    let mut body = q.body.as_mut();
    loop {
        match body {
            SetExpr::SetOperation { left, .. } => body = left.as_mut(),
            SetExpr::Query(inner) => body = inner.body.as_mut(),
            _ => break,
        }
    }
    let SetExpr::Select(select) = body else { return None };
    let mut names = Vec::new();
    for item in &mut select.projection {
        match item {
            SelectItem::UnnamedExpr(e) => {
                let name = super::pgsql::pg_column_name(e);
                names.push(name.clone());
                *item = SelectItem::ExprWithAlias { expr: e.clone(), alias: Ident::with_quote('"', name) };
            }
            SelectItem::ExprWithAlias { alias, .. } => names.push(alias.value.clone()),
            _ => return None,
        }
    }
    Some(names)
}

/// A LIMIT within the row maximum stays; without one, or with a larger or computed one, the
/// statement asks for one row over the maximum and the engine refuses such a result (no
/// silent cap). Returns whether the statement's own LIMIT stands.
fn cap_rows(q: &mut Query, max: u64) -> bool {
    let over = Expr::value(SqlValue::Number((max.saturating_add(1)).to_string(), false));
    let within = |e: &Expr| match e {
        Expr::Value(v) => matches!(&v.value, SqlValue::Number(n, _) if n.parse::<u64>().is_ok_and(|n| n <= max)),
        _ => false,
    };
    match &mut q.limit_clause {
        Some(LimitClause::LimitOffset { limit: Some(l), .. })
        | Some(LimitClause::OffsetCommaLimit { limit: l, .. })
            if within(l) =>
        {
            true
        }
        Some(LimitClause::LimitOffset { limit, .. }) => {
            *limit = Some(over);
            false
        }
        Some(LimitClause::OffsetCommaLimit { limit, .. }) => {
            *limit = over;
            false
        }
        None => {
            q.limit_clause = Some(LimitClause::LimitOffset { limit: Some(over), offset: None, limit_by: Vec::new() });
            false
        }
    }
}

/// `UNION` as `UNION DISTINCT` (and EXCEPT, INTERSECT), for warehouses that require the word.
fn spell_out_distinct(body: &mut SetExpr) {
    match body {
        SetExpr::SetOperation { set_quantifier, left, right, .. } => {
            if *set_quantifier == sqlparser::ast::SetQuantifier::None {
                *set_quantifier = sqlparser::ast::SetQuantifier::Distinct;
            }
            spell_out_distinct(left);
            spell_out_distinct(right);
        }
        SetExpr::Query(q) => spell_out_distinct(&mut q.body),
        _ => {}
    }
}

/// `GROUP BY ROLLUP(a, b)` as `GROUP BY a, b WITH ROLLUP`, the one form MySQL has. Other
/// groupings (a ROLLUP beside plain keys, CUBE, GROUPING SETS, ROLLUP of lists) stay as written,
/// and MySQL's refusal names them.
fn rollup_as_modifier(body: &mut SetExpr) {
    match body {
        SetExpr::SetOperation { left, right, .. } => {
            rollup_as_modifier(left);
            rollup_as_modifier(right);
        }
        SetExpr::Query(q) => rollup_as_modifier(&mut q.body),
        SetExpr::Select(select) => {
            if let sqlparser::ast::GroupByExpr::Expressions(exprs, modifiers) = &mut select.group_by {
                if let [Expr::Rollup(sets)] = exprs.as_slice() {
                    if modifiers.is_empty() && sets.iter().all(|s| s.len() == 1) {
                        *exprs = sets.iter().flatten().cloned().collect();
                        modifiers.push(sqlparser::ast::GroupByWithModifier::Rollup);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Quoted identifiers in the warehouse's quote character; tokens stay bare.
fn requote(q: &mut Query, quote: char, splices: &Splices) {
    struct Requote<'s> {
        quote: char,
        splices: &'s Splices,
    }
    impl VisitorMut for Requote<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
            match e {
                Expr::Identifier(i) => self.fix(i),
                Expr::CompoundIdentifier(ids) => ids.iter_mut().for_each(|i| self.fix(i)),
                _ => {}
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_select(&mut self, s: &mut Select) -> ControlFlow<()> {
            for item in &mut s.projection {
                if let SelectItem::ExprWithAlias { alias, .. } = item {
                    self.fix(alias);
                }
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, f: &mut TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } = f {
                self.fix(&mut a.name);
            }
            ControlFlow::Continue(())
        }
    }
    impl Requote<'_> {
        fn fix(&self, i: &mut Ident) {
            if self.splices.piece_of(i).is_none() {
                i.quote_style = Some(self.quote);
            }
        }
    }
    let _ = q.visit(&mut Requote { quote, splices });
}
