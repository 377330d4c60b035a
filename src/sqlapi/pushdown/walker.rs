//! The walk over a pushdown statement: each SELECT's cube tables become bindings (their row
//! sources), column references become row-source columns, aggregates of measures become the
//! measures' aggregates, and the dialect renders what sqlparser cannot print for it.

use super::super::error::{SqlError, SqlResult};
use super::super::schema::{ColumnKind, Schema};
use super::super::scope::{self, column_parts, function_name, ident_parts};
use super::source::{self, Binding};
use super::splice::{Piece, Splices};
use super::{measures, rules, Context};
use crate::resolve::{CubeId, MemberRef};
use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName, ObjectNamePart, OrderBy,
    Query, Select, SelectItem, SetExpr, TableAlias, TableFactor, Value as SqlValue, VisitorMut,
};
use std::ops::ControlFlow;

/// The cube tables one SELECT reads, and what else its FROM has.
pub(super) struct Frame {
    bindings: Vec<usize>,
    /// Subqueries or CTEs in FROM, whose columns are not known here.
    other_relations: bool,
    /// The SELECT list's aliases (ORDER BY and GROUP BY may name them).
    aliases: Vec<String>,
}

pub(super) struct Walker<'a> {
    schema: &'a Schema,
    ctx: &'a Context<'a>,
    pub bindings: Vec<Binding<'a>>,
    frames: Vec<Frame>,
    /// `frames.len()` when each enclosing query began.
    query_frames: Vec<usize>,
    /// The CTE names of each enclosing query.
    ctes: Vec<Vec<String>>,
    /// A set operation's ORDER BY, kept out of the walk (it names output columns).
    stashed: Vec<Option<OrderBy>>,
    pub splices: Splices,
    pub error: Option<SqlError>,
}

impl VisitorMut for Walker<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
        self.query_frames.push(self.frames.len());
        self.ctes.push(
            q.with
                .as_ref()
                .map(|w| w.cte_tables.iter().map(|c| c.alias.name.value.to_lowercase()).collect())
                .unwrap_or_default(),
        );
        let is_set = matches!(q.body.as_ref(), SetExpr::SetOperation { .. });
        self.stashed.push(if is_set { q.order_by.take() } else { None });
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
        if let Some(depth) = self.query_frames.pop() {
            self.frames.truncate(depth);
        }
        self.ctes.pop();
        if let Some(Some(order)) = self.stashed.pop() {
            q.order_by = Some(order);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        match self.frame_of(select) {
            Ok(frame) => {
                self.frames.push(frame);
                ControlFlow::Continue(())
            }
            Err(e) => self.fail(e),
        }
    }

    fn post_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        // The frame's cube tables, in FROM order, become their row sources.
        let Some(frame) = self.frames.last() else { return ControlFlow::Continue(()) };
        let mut pending = frame.bindings.clone().into_iter();
        let mut factors: Vec<&mut TableFactor> = Vec::new();
        for twj in &mut select.from {
            factors_mut(&mut twj.relation, &mut factors);
            for j in &mut twj.joins {
                factors_mut(&mut j.relation, &mut factors);
            }
        }
        for f in factors {
            if !self.is_cube_factor(f) {
                continue;
            }
            let (TableFactor::Table { name, alias, .. }, Some(b)) = (f, pending.next()) else { continue };
            let token = self.splices.token(Piece::Source { binding: b });
            *name = ObjectName(vec![ObjectNamePart::Identifier(token)]);
            if alias.is_none() {
                *alias = Some(TableAlias {
                    explicit: true,
                    name: Ident::with_quote('"', self.bindings[b].alias.clone()),
                    columns: Vec::new(),
                    at: None,
                });
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        let result = match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => self.column(e),
            Expr::Function(_) => self.function(e),
            Expr::Value(v) => {
                if let SqlValue::SingleQuotedString(s) = &v.value {
                    let token = self.splices.expr(Piece::Literal(s.clone()));
                    *e = token;
                }
                Ok(())
            }
            // Subqueries are walked as queries of their own (their SELECTs push their frames).
            _ => Ok(()),
        };
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(err) => self.fail(err),
        }
    }

    fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        match self.dialect_form(e) {
            Ok(Some(text)) => *e = self.splices.expr(Piece::Text(text)),
            Ok(None) => {}
            Err(err) => return self.fail(err),
        }
        ControlFlow::Continue(())
    }
}

/// Every table factor of a FROM item, nested joins included.
fn factors_mut<'f>(factor: &'f mut TableFactor, out: &mut Vec<&'f mut TableFactor>) {
    if let TableFactor::NestedJoin { table_with_joins, .. } = factor {
        factors_mut(&mut table_with_joins.relation, out);
        for j in &mut table_with_joins.joins {
            factors_mut(&mut j.relation, out);
        }
        return;
    }
    out.push(factor)
}

impl<'a> Walker<'a> {
    pub fn new(schema: &'a Schema, ctx: &'a Context<'a>) -> Walker<'a> {
        Walker {
            schema,
            ctx,
            bindings: Vec::new(),
            frames: Vec::new(),
            query_frames: Vec::new(),
            ctes: Vec::new(),
            stashed: Vec::new(),
            splices: Splices::default(),
            error: None,
        }
    }

    fn fail(&mut self, e: SqlError) -> ControlFlow<()> {
        if self.error.is_none() {
            self.error = Some(e);
        }
        ControlFlow::Break(())
    }

    fn is_cte(&self, name: &ObjectName) -> bool {
        let parts = ident_parts(name);
        let [one] = parts.as_slice() else { return false };
        let one = one.to_lowercase();
        self.ctes.iter().any(|names| names.contains(&one))
    }

    /// Whether `f` names a cube table (not a CTE of that name).
    fn is_cube_factor(&self, f: &TableFactor) -> bool {
        match f {
            TableFactor::Table { name, args: None, .. } => {
                !self.is_cte(name) && scope::cube_table(self.schema, name).is_some()
            }
            _ => false,
        }
    }

    /// The frame of a SELECT: its FROM's cube tables become bindings, its WHERE's segment
    /// conditions go to their row sources.
    fn frame_of(&mut self, select: &mut Select) -> SqlResult<Frame> {
        if select.into.is_some() {
            return Err(SqlError::unsupported("SELECT INTO is not pushed down"));
        }
        let mut frame = Frame { bindings: Vec::new(), other_relations: false, aliases: Vec::new() };
        let mut factors: Vec<TableFactor> = Vec::new();
        for twj in &select.from {
            collect_factors(&twj.relation, &mut factors);
            for j in &twj.joins {
                collect_factors(&j.relation, &mut factors);
            }
        }
        for f in &factors {
            match f {
                TableFactor::Table { name, alias, args: None, .. } => {
                    if self.is_cte(name) {
                        frame.other_relations = true;
                        continue;
                    }
                    let table =
                        scope::cube_table(self.schema, name).ok_or_else(|| SqlError::no_table(&name.to_string()))?;
                    let model_cube = self.ctx.model.cube_id(&table.name).ok_or_else(|| {
                        SqlError::internal(format!("cube table \"{}\" is not in the model", table.name))
                    })?;
                    let as_name = alias
                        .as_ref()
                        .map(|a| a.name.value.clone())
                        .unwrap_or_else(|| ident_parts(name).last().cloned().unwrap_or_default());
                    frame.bindings.push(self.bindings.len());
                    self.bindings.push(Binding::new(as_name, table, model_cube));
                }
                TableFactor::Derived { lateral: false, .. } => frame.other_relations = true,
                other => {
                    return Err(SqlError::unsupported(format!(
                        "`{other}` next to cube tables is not pushed down: only cube tables, subqueries and CTEs"
                    )))
                }
            }
        }
        if frame.bindings.len() > 1 {
            return Err(SqlError::unsupported(
                "Use __cubeJoinField to join Cubes: a pushdown statement reads one cube table per SELECT (the model's \
                 joins are inside views)",
            ));
        }
        if let Some(w) = &select.selection {
            if has_aggregate(w) {
                return Err(SqlError::grouping("aggregate functions are not allowed in WHERE"));
            }
        }
        frame.aliases = select
            .projection
            .iter()
            .filter_map(|i| match i {
                SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
                _ => None,
            })
            .collect();
        if let Some(selection) = select.selection.take() {
            let mut kept = Vec::new();
            let mut conjuncts = Vec::new();
            split_and(selection, &mut conjuncts);
            for c in conjuncts {
                match self.segment_of(&frame, &c) {
                    Some(b) => {
                        let Some(parts) = column_parts(&c) else { continue };
                        let (_, col) =
                            self.lookup(&frame, &parts).ok().flatten().ok_or_else(|| SqlError::internal("segment"))?;
                        self.bindings[b].add_segment(&col.member);
                    }
                    None => kept.push(c),
                }
            }
            select.selection = kept.into_iter().reduce(|a, b| Expr::BinaryOp {
                left: Box::new(a),
                op: BinaryOperator::And,
                right: Box::new(b),
            });
        }
        Ok(frame)
    }

    /// The binding whose segment a WHERE conjunct is, if it is a bare segment column.
    fn segment_of(&self, frame: &Frame, e: &Expr) -> Option<usize> {
        let parts = column_parts(e)?;
        match self.lookup(frame, &parts) {
            Ok(Some((b, c))) if c.kind == ColumnKind::Segment => Some(b),
            _ => None,
        }
    }

    /// The binding and column a name refers to in `frame`; `None` when it names none of the
    /// frame's cube tables (a subquery's column, an output alias).
    fn lookup(&self, frame: &Frame, parts: &[String]) -> SqlResult<Option<(usize, &'a super::super::schema::Column)>> {
        let (qualifier, name) = match parts {
            [name] => (None, name),
            [.., q, name] => (Some(q), name),
            [] => return Ok(None),
        };
        let candidates: Vec<usize> = frame
            .bindings
            .iter()
            .copied()
            .filter(|b| qualifier.is_none_or(|q| self.bindings[*b].alias.eq_ignore_ascii_case(q)))
            .collect();
        if qualifier.is_some() && candidates.is_empty() {
            return Ok(None);
        }
        let mut found = candidates.iter().filter_map(|b| self.bindings[*b].table.column(name).map(|c| (*b, c)));
        match (found.next(), found.next()) {
            (Some(hit), None) => Ok(Some(hit)),
            (Some(_), Some(_)) => Err(SqlError::new("42702", format!("column reference \"{name}\" is ambiguous"))),
            (None, _) if qualifier.is_some() => {
                let table = candidates.first().map(|b| self.bindings[*b].table.name.as_str()).unwrap_or_default();
                Err(SqlError::no_column(name, table))
            }
            (None, _) => {
                if frame.other_relations || frame.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)) {
                    Ok(None)
                } else {
                    let table = candidates.first().map(|b| self.bindings[*b].table.name.as_str()).unwrap_or_default();
                    Err(SqlError::no_column(name, table))
                }
            }
        }
    }

    /// A column reference: a dimension becomes its row source's column.
    fn column(&mut self, e: &mut Expr) -> SqlResult<()> {
        let Some(frame) = self.frames.last() else { return Ok(()) };
        let Some(parts) = column_parts(e) else { return Ok(()) };
        if let [one] = parts.as_slice() {
            if self.splices.piece_of(&Ident::new(one.clone())).is_some() {
                return Ok(());
            }
        }
        let Some((b, col)) = self.lookup(frame, &parts)? else { return Ok(()) };
        match &col.kind {
            ColumnKind::Dimension { value_type } => {
                self.bindings[b].add_dimension(&col.member);
                let column = self.splices.expr(Piece::Column { binding: b, member: col.member.clone() });
                *e = if value_type == "time" && !self.ctx.timezone.eq_ignore_ascii_case("utc") {
                    // Row sources carry times in UTC; the session reads them in its zone.
                    let local = self
                        .ctx
                        .dialect
                        .render(
                            "convert_tz",
                            minijinja::context! { expr => column.to_string(), tz => self.ctx.timezone },
                        )
                        .map_err(|d| SqlError::internal(d.message))?;
                    self.splices.expr(Piece::Text(local))
                } else {
                    column
                };
                Ok(())
            }
            ColumnKind::Measure { .. } => {
                if parts.len() == 1 && frame.aliases.iter().any(|a| a == &col.name) {
                    return Ok(());
                }
                Err(SqlError::grouping(format!(
                    "column \"{}\" is a measure: aggregate it with MEASURE({}) (or the aggregate its type takes)",
                    col.name, col.name
                )))
            }
            ColumnKind::Segment => Err(SqlError::unsupported(format!(
                "segment \"{}\" can only be a condition of WHERE, joined to the others by AND",
                col.name
            ))),
            ColumnKind::User | ColumnKind::JoinField => Err(SqlError::unsupported(format!(
                "\"{}\" is not pushed down: it belongs in a query over cube tables alone (a semantic query)",
                col.name
            ))),
        }
    }

    /// A function call: only listed functions pass; an aggregate of a measure becomes the
    /// measure's aggregate over its row source.
    fn function(&mut self, e: &mut Expr) -> SqlResult<()> {
        let Expr::Function(f) = &*e else { return Ok(()) };
        let parts = ident_parts(&f.name);
        let schema_ok = match parts.as_slice() {
            [_] => true,
            [s, _] => s.eq_ignore_ascii_case("pg_catalog"),
            _ => false,
        };
        let name = function_name(f);
        if !schema_ok || !rules::allowed(&name) {
            return Err(SqlError::new(
                "42883",
                format!("function {} is not pushed down to the data source (not on cubec's list of functions)", f.name),
            ));
        }
        let Some(frame) = self.frames.last() else { return Ok(()) };
        let FunctionArguments::List(list) = &f.args else { return Ok(()) };
        let distinct = matches!(list.duplicate_treatment, Some(sqlparser::ast::DuplicateTreatment::Distinct));
        let target = match list.args.as_slice() {
            [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)] if name == "count" && !distinct => {
                self.count_measure(frame)
            }
            [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))]
                if name == "count" && !distinct && matches!(v.value, SqlValue::Number(..)) =>
            {
                self.count_measure(frame)
            }
            [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] => match column_parts(strip_casts(arg)) {
                Some(parts) => match self.lookup(frame, &parts)? {
                    Some((b, col)) if col.is_measure() => Some((b, col)),
                    Some((_, col)) if name == "measure" => {
                        return Err(SqlError::grouping(format!(
                            "Dimension '{}' was used with the aggregate function 'MEASURE()'. Please use a measure \
                             instead",
                            col.name
                        )))
                    }
                    _ => None,
                },
                None if name == "measure" => {
                    return Err(SqlError::grouping("MEASURE() takes a measure column"));
                }
                None => None,
            },
            _ => None,
        };
        let Some((b, col)) = target else { return Ok(()) };
        if f.over.is_some() || f.filter.is_some() || !list.clauses.is_empty() {
            return Err(SqlError::unsupported(format!(
                "`{f}`: a measure aggregated with OVER, FILTER or ORDER BY is not pushed down; aggregate it with \
                 MEASURE() and put the window around that"
            )));
        }
        let ColumnKind::Measure { agg, .. } = &col.kind else { return Ok(()) };
        let wildcard = matches!(list.args.as_slice(), [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)])
            || matches!(list.args.as_slice(), [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(_)))]);
        if name != "measure" && !wildcard && !scope::aggregate_matches(&name, distinct, agg) {
            return Err(SqlError::grouping(format!(
                "Measure aggregation type doesn't match. The aggregation type for '{}' is '{agg}' but '{}()' was \
                 provided; use MEASURE({})",
                col.name,
                name.to_uppercase(),
                col.name
            )));
        }
        let member = col.member.clone();
        let (cube, m) = self.measure_ref(&member)?;
        let binding_cube = self.bindings[b].cube;
        let model = self.ctx.model;
        let (splices, bindings) = (&mut self.splices, &mut self.bindings);
        let mut column = |c: CubeId, i: usize| -> SqlResult<String> {
            let leaf = source::leaf_member(model, binding_cube, (c, i))?;
            bindings[b].add_measure(&leaf);
            Ok(splices.token(Piece::Column { binding: b, member: leaf }).value)
        };
        let out = measures::aggregate(model, self.ctx.dialect, (cube, m), &mut column, 0)?;
        *e = self.splices.expr(Piece::Text(out));
        Ok(())
    }

    /// `COUNT(*)` over one cube table: its count measure, as a semantic query reads it.
    fn count_measure(&self, frame: &Frame) -> Option<(usize, &'a super::super::schema::Column)> {
        let [b] = frame.bindings.as_slice() else { return None };
        if frame.other_relations {
            return None;
        }
        scope::count_measure(self.bindings[*b].table).map(|c| (*b, c))
    }

    fn measure_ref(&self, member: &str) -> SqlResult<(CubeId, usize)> {
        match self.ctx.model.member(member) {
            Some((c, MemberRef::Measure(i))) => Ok((c, i)),
            _ => Err(SqlError::internal(format!("measure `{member}` is not in the model"))),
        }
    }

    /// `DATE_TRUNC`, casts: the dialect's templates.
    fn dialect_form(&mut self, e: &Expr) -> SqlResult<Option<String>> {
        let render = |name: &str, ctx: minijinja::Value| {
            self.ctx.dialect.render(name, ctx).map(Some).map_err(|d| SqlError::internal(d.message))
        };
        match e {
            Expr::Function(f) if function_name(f) == "date_trunc" => {
                let FunctionArguments::List(list) = &f.args else { return Ok(None) };
                let [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(u))), FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] =
                    list.args.as_slice()
                else {
                    return Ok(None);
                };
                let Some(Piece::Literal(unit)) = self.splices.piece_of(u) else { return Ok(None) };
                let unit = match unit.to_lowercase().as_str() {
                    "qtr" => "quarter".to_string(),
                    u @ ("second" | "minute" | "hour" | "day" | "week" | "month" | "quarter" | "year") => u.to_string(),
                    other => return Err(SqlError::bad_value(format!("DATE_TRUNC unit '{other}' is not pushed down"))),
                };
                render("time_trunc", minijinja::context! { unit => unit, expr => arg.to_string() })
            }
            Expr::Cast { expr, data_type, format: None, .. } => {
                let ty = data_type.to_string().to_lowercase();
                render("cast", minijinja::context! { expr => expr.to_string(), type => ty })
            }
            _ => Ok(None),
        }
    }
}

fn strip_casts(e: &Expr) -> &Expr {
    match e {
        Expr::Cast { expr, .. } => strip_casts(expr),
        Expr::Nested(inner) => strip_casts(inner),
        other => other,
    }
}

fn collect_factors(f: &TableFactor, out: &mut Vec<TableFactor>) {
    if let TableFactor::NestedJoin { table_with_joins, .. } = f {
        collect_factors(&table_with_joins.relation, out);
        for j in &table_with_joins.joins {
            collect_factors(&j.relation, out);
        }
        return;
    }
    out.push(f.clone());
}

/// Whether an expression calls an aggregate outside a subquery (WHERE may not).
fn has_aggregate(e: &Expr) -> bool {
    struct Finder {
        depth: usize,
    }
    impl sqlparser::ast::Visitor for Finder {
        type Break = ();
        fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, x: &Expr) -> ControlFlow<()> {
            match x {
                Expr::Function(f) if self.depth == 0 && f.over.is_none() && rules::is_aggregate(&function_name(f)) => {
                    ControlFlow::Break(())
                }
                _ => ControlFlow::Continue(()),
            }
        }
    }
    sqlparser::ast::Visit::visit(e, &mut Finder { depth: 0 }).is_break()
}

fn split_and(e: Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            split_and(*left, out);
            split_and(*right, out);
        }
        Expr::Nested(inner) if matches!(inner.as_ref(), Expr::BinaryOp { op: BinaryOperator::And, .. }) => {
            split_and(*inner, out)
        }
        other => out.push(other),
    }
}
