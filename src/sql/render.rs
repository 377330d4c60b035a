//! Turning plan pieces into SQL text through the dialect's templates: member SQL with its
//! references inlined, measures, time buckets, filters, and the statement.

use super::dialect::Dialect;
use crate::diag::{Code, Diagnostic};
use crate::plan::{ColumnKind, Plan};
use crate::query::{Filter, FilterNode, Query};
use crate::resolve::*;
use crate::vocab::TimeUnit;
use chrono::NaiveDateTime;
use minijinja::context;

/// Marks a parameter token in rendered text: `\u{1}<index>\u{1}`.
pub const PARAM_MARK: char = '\u{1}';
const MAX_DEPTH: usize = 64;

pub(super) type R<T> = Result<T, Diagnostic>;

pub struct Renderer<'a> {
    pub(super) model: &'a Model,
    pub(super) query: &'a Query,
    pub(super) d: &'a Dialect,
    params: Vec<String>,
    pub(super) warnings: Vec<String>,
    /// Cubes whose rows the join tree repeats.
    pub(super) multiplied: Vec<CubeId>,
    /// In the outer query of a fan-out query: measures are read from subquery columns
    /// (`(cube, measure)` -> `q_n."alias"`).
    pub(super) outer_measures: Vec<((CubeId, usize), String)>,
    /// The `sub_query` dimension whose own subquery is being rendered.
    inside_sub_query: Option<(CubeId, usize)>,
    /// Time dimensions read moved in time, in the stage being rendered.
    pub(super) time_shifts: crate::plan::stages::Shifts,
}

impl<'a> Renderer<'a> {
    pub fn new(model: &'a Model, query: &'a Query, d: &'a Dialect) -> Renderer<'a> {
        Renderer {
            model,
            query,
            d,
            params: Vec::new(),
            warnings: Vec::new(),
            multiplied: Vec::new(),
            outer_measures: Vec::new(),
            inside_sub_query: None,
            time_shifts: Vec::new(),
        }
    }

    pub fn into_params(self) -> Vec<String> {
        self.params
    }

    pub(super) fn param(&mut self, value: String) -> String {
        self.params.push(value);
        format!("{PARAM_MARK}{}{PARAM_MARK}", self.params.len() - 1)
    }

    pub(super) fn tpl(&self, name: &str, ctx: minijinja::Value) -> R<String> {
        self.d.render(name, ctx)
    }

    /// The quoted alias of a cube in FROM / JOIN.
    fn cube_alias(&self, cube: CubeId) -> String {
        self.d.ident(&crate::util::underscore(self.model.cube(cube).alias_base()))
    }

    /// A model SQL snippet with every reference inlined.
    pub(super) fn template(&mut self, t: &SqlTemplate, depth: usize) -> R<String> {
        if depth > MAX_DEPTH {
            return Err(Diagnostic::error(Code::SqlRender, "member references nest too deeply"));
        }
        let mut out = String::new();
        for part in &t.parts {
            match part {
                SqlPart::Text(s) => out.push_str(s),
                SqlPart::Ref(r, _) => {
                    let s = self.reference(r, depth)?;
                    out.push_str(&s);
                }
            }
        }
        Ok(out)
    }

    fn reference(&mut self, r: &Ref, depth: usize) -> R<String> {
        Ok(match r {
            Ref::CubeAlias { cube, .. } => self.cube_alias(*cube),
            Ref::Member { cube, member, .. } => {
                let s = match member {
                    MemberRef::Dimension(d) => self.dimension(*cube, *d, depth + 1)?,
                    MemberRef::Measure(m) => self.measure(*cube, *m, false, depth + 1)?,
                    MemberRef::Segment(s) => {
                        let model = self.model;
                        self.template(&model.cube(*cube).segments[*s].sql, depth + 1)?
                    }
                };
                wrap(s)
            }
            Ref::Granularity { cube, dimension, granularity } => {
                self.time_bucket(*cube, *dimension, granularity, depth + 1)?
            }
            Ref::CubeSql { cube } => match &self.model.cube(*cube).source {
                Some(CubeSource::Sql(t)) => self.template(t, depth + 1)?,
                Some(CubeSource::Table(t)) | Some(CubeSource::SelectAll(t)) => format!("SELECT * FROM {t}"),
                None => String::new(),
            },
            Ref::Context { root, path, call } => self.context(root, path, call.as_ref(), depth)?,
        })
    }

    /// `FILTER_PARAMS.cube.member.filter('col')` renders the query's filters on that member
    /// against `col`; with none, or for security context values cubec does not have, `1 = 1`.
    fn context(
        &mut self,
        root: &str,
        path: &[String],
        call: Option<&(String, Vec<String>)>,
        depth: usize,
    ) -> R<String> {
        match (root, call) {
            ("FILTER_PARAMS", Some((method, args))) if method == "filter" && path.len() == 2 => {
                let column = args.first().and_then(|a| super::super::resolve::refs::string_literal(a));
                let Some(column) = column else {
                    return Err(Diagnostic::error(
                        Code::QueryUnsupported,
                        "FILTER_PARAMS.filter() with a function is not supported yet",
                    )
                    .with_help("pass the column as a string: FILTER_PARAMS.cube.member.filter('column')"));
                };
                let name = format!("{}.{}", path[0], path[1]);
                let filters: Vec<Filter> = FilterNode::leaves(&self.query.filters)
                    .into_iter()
                    .filter(|f| f.member.name == name)
                    .cloned()
                    .collect();
                if filters.is_empty() {
                    return Ok("1 = 1".to_string());
                }
                let mut parts = Vec::new();
                for f in &filters {
                    parts.push(self.filter_on(f, column.clone(), depth)?);
                }
                Ok(parts.join(" AND "))
            }
            ("SQL_UTILS", Some((method, args))) if method == "convertTz" && args.len() == 1 => {
                let tz = self.query.timezone.name();
                self.tpl("convert_tz", context! { expr => args[0].clone(), tz => tz })
            }
            ("SECURITY_CONTEXT", Some((method, args))) if method == "filter" => self.security_filter(path, args),
            ("SECURITY_CONTEXT", Some((method, _))) if method == "unsafeValue" => self.context_value(root, path),
            ("COMPILE_CONTEXT", None) => match path.split_first() {
                Some((head, rest)) if head == "security_context" || head == "securityContext" => {
                    self.context_value(root, rest)
                }
                _ => self.context_value(root, &[]),
            },
            _ => Ok("NULL".to_string()),
        }
    }

    /// The security context value at `path`, if any.
    fn security_value(&self, path: &[String]) -> Option<&serde_json::Value> {
        path.iter().try_fold(&self.query.security_context, |v, key| v.get(key)).filter(|v| !v.is_null())
    }

    /// `SECURITY_CONTEXT.a.b.filter('col')`: `col = <param>` (`IN (...)` for a list), or `1 = 1`
    /// when the context has no such value, as Cube does.
    fn security_filter(&mut self, path: &[String], args: &[String]) -> R<String> {
        let Some(column) = args.first().and_then(|a| super::super::resolve::refs::string_literal(a)) else {
            return Err(Diagnostic::error(
                Code::QueryUnsupported,
                "SECURITY_CONTEXT.filter() with a function is not supported yet",
            )
            .with_help("pass the column as a string: SECURITY_CONTEXT.tenant_id.filter('tenant_id')"));
        };
        let scalar = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let bad = || {
            Diagnostic::error(
                Code::QuerySecurityContext,
                format!(
                    "security context value `{}` must be a string, number, boolean or list of them",
                    path.join(".")
                ),
            )
        };
        match self.security_value(path).cloned() {
            None => Ok("1 = 1".to_string()),
            Some(serde_json::Value::Array(items)) => {
                let values: Vec<String> = items.iter().map(scalar).collect::<Option<_>>().ok_or_else(bad)?;
                if values.is_empty() {
                    return Ok("1 = 0".to_string());
                }
                let params: Vec<String> = values.into_iter().map(|v| self.param(v)).collect();
                Ok(format!("{column} IN ({})", params.join(", ")))
            }
            Some(v) => {
                let value = scalar(&v).ok_or_else(bad)?;
                Ok(format!("{column} = {}", self.param(value)))
            }
        }
    }

    /// `SECURITY_CONTEXT.a.unsafeValue()` and `COMPILE_CONTEXT.security_context.a`: the value
    /// pasted into the SQL as it is. The context comes from a token signed with the server's own
    /// secret, so it is trusted the way model files are; a missing value is an error, not `NULL`.
    fn context_value(&self, root: &str, path: &[String]) -> R<String> {
        match self.security_value(path) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => Ok(v.to_string()),
            _ => Err(Diagnostic::error(
                Code::QuerySecurityContext,
                format!("{root} needs `{}` in the security context, and it has no such value", path.join(".")),
            )
            .with_help("send it in the JWT payload (cubec serve) or pass --security-context '{...}'")),
        }
    }

    /// A dimension's SQL, not converted to the query timezone; moved in time when the stage
    /// being rendered shifts it (on the raw column, as Cube does, so a date range reads the
    /// rows that land in it after the shift).
    pub(super) fn dimension(&mut self, cube: CubeId, d: usize, depth: usize) -> R<String> {
        let shifts: Vec<Interval> =
            self.time_shifts.iter().filter(|(c, x, _)| (*c, *x) == (cube, d)).map(|s| s.2.clone()).collect();
        let mut sql = self.unshifted_dimension(cube, d, depth)?;
        for iv in &shifts {
            sql = self.shift(sql, iv, true)?;
        }
        Ok(sql)
    }

    fn unshifted_dimension(&mut self, cube: CubeId, d: usize, depth: usize) -> R<String> {
        let model = self.model;
        let dim = &model.cube(cube).dimensions[d];
        if dim.sub_query && self.inside_sub_query != Some((cube, d)) {
            let value = model.cube(cube).column_alias(MemberRef::Dimension(d));
            return Ok(format!("{}.{}", self.sub_query_alias(cube, d), self.d.ident(&value)));
        }
        if let Some(sql) = &dim.sql {
            return self.template(sql, depth);
        }
        if let Some(case) = &dim.case {
            let mut s = String::from("CASE");
            for (cond, label) in &case.when {
                let c = self.template(cond, depth)?;
                let l = self.label(label, depth)?;
                s.push_str(&format!(" WHEN {c} THEN {l}"));
            }
            if let Some(e) = &case.else_label {
                let l = self.label(e, depth)?;
                s.push_str(&format!(" ELSE {l}"));
            }
            s.push_str(" END");
            return Ok(s);
        }
        if let Some((lat, lng)) = &dim.geo {
            let lat = self.template(lat, depth)?;
            let lng = self.template(lng, depth)?;
            return self.tpl("geo", context! { lat => lat, lng => lng });
        }
        Err(Diagnostic::error(
            Code::QueryUnsupported,
            format!("dimension `{}.{}` has no SQL cubec can render", self.model.cube(cube).name, dim.name),
        ))
    }

    pub(super) fn label(&mut self, label: &CaseLabel, depth: usize) -> R<String> {
        match label {
            CaseLabel::Text(t) => Ok(self.d.literal(t)),
            CaseLabel::Sql(s) => self.template(s, depth),
        }
    }

    /// The primary key expression of a cube (composite keys concatenated as text).
    fn primary_key(&mut self, cube: CubeId, depth: usize) -> R<Option<String>> {
        let pks: Vec<usize> = self.model.cube(cube).primary_keys().collect();
        match pks.as_slice() {
            [] => Ok(None),
            [one] => self.dimension(cube, *one, depth).map(Some),
            many => {
                // A separator keeps (1, 12) and (11, 2) apart.
                let mut items = Vec::new();
                for (i, pk) in many.iter().enumerate() {
                    if i > 0 {
                        items.push(self.d.literal("|"));
                    }
                    let e = self.dimension(cube, *pk, depth)?;
                    items.push(self.tpl("cast_text", context! { expr => e })?);
                }
                self.tpl("concat", context! { items => items }).map(Some)
            }
        }
    }

    /// A measure's aggregate SQL (or, ungrouped, its per-row SQL).
    pub(super) fn measure(&mut self, cube: CubeId, m: usize, ungrouped: bool, depth: usize) -> R<String> {
        // Inside a stage that reads its inputs from other stages.
        if let Some((_, col)) = self.outer_measures.iter().find(|(k, _)| *k == (cube, m)) {
            return Ok(col.clone());
        }
        let model = self.model;
        let measure = &model.cube(cube).measures[m];
        let sql = match &measure.sql {
            Some(t) => Some(self.template(t, depth)?),
            None => None,
        };
        let mut conds = Vec::new();
        for f in &measure.filters {
            conds.push(format!("({})", self.template(f, depth)?));
        }
        let when = |value: &str| -> String {
            if conds.is_empty() {
                value.to_string()
            } else {
                format!("CASE WHEN {} THEN {value} END", conds.join(" AND "))
            }
        };
        Ok(match measure.type_ {
            MeasureType::Count => {
                let target = match &sql {
                    Some(s) => Some(s.clone()),
                    None => self.primary_key(cube, depth)?,
                };
                if ungrouped {
                    match target {
                        Some(t) => when(&format!("CASE WHEN ({t}) IS NOT NULL THEN 1 END")),
                        None => when("1"),
                    }
                } else {
                    // On a cube the joins repeat, a plain count counts its distinct keys.
                    let distinct = measure.sql.is_none() && conds.is_empty() && self.multiplied.contains(&cube);
                    match (target, conds.is_empty()) {
                        (Some(t), _) if distinct => format!("count(distinct {t})"),
                        (Some(t), _) => format!("count({})", when(&t)),
                        (None, true) => "count(*)".to_string(),
                        (None, false) => format!("count({})", when("1")),
                    }
                }
            }
            MeasureType::CountDistinct => {
                let s = sql.unwrap_or_default();
                if ungrouped {
                    when(&s)
                } else {
                    format!("count(distinct {})", when(&s))
                }
            }
            MeasureType::CountDistinctApprox => {
                let s = sql.unwrap_or_default();
                if ungrouped {
                    when(&s)
                } else {
                    let out = self.tpl("count_distinct_approx", context! { expr => when(&s) })?;
                    if out.contains("/* exact") {
                        let w = format!(
                            "`{}.{}` is counted exactly: {} has no built-in approximate distinct count",
                            self.model.cube(cube).name,
                            measure.name,
                            self.d.name
                        );
                        if !self.warnings.contains(&w) {
                            self.warnings.push(w);
                        }
                    }
                    out
                }
            }
            MeasureType::Sum | MeasureType::Avg | MeasureType::Min | MeasureType::Max => {
                let f = measure.type_.agg_name();
                let s = when(&sql.unwrap_or_default());
                if ungrouped {
                    s
                } else {
                    format!("{f}({s})")
                }
            }
            MeasureType::Number | MeasureType::String | MeasureType::Time | MeasureType::Boolean => {
                sql.unwrap_or_default()
            }
            MeasureType::NumberAgg | MeasureType::Rank => {
                return Err(Diagnostic::error(
                    Code::QueryUnsupported,
                    format!("measure type `{}` is not compiled yet", measure.type_.agg_name()),
                ));
            }
        })
    }

    /// A time dimension converted to the query timezone and truncated to `granularity`.
    pub fn time_bucket(&mut self, cube: CubeId, d: usize, granularity: &str, depth: usize) -> R<String> {
        let raw = self.dimension(cube, d, depth)?;
        let tz = self.query.timezone.name();
        let local = self.tpl("convert_tz", context! { expr => raw, tz => tz })?;
        if let Some(unit) = TimeUnit::parse(granularity)
            .filter(|_| crate::resolve::templates::BUILTIN_GRANULARITIES.contains(&granularity))
        {
            return self.tpl("time_trunc", context! { unit => unit.name(), expr => local });
        }
        let dim = &self.model.cube(cube).dimensions[d];
        let Some(custom) = dim.granularity(granularity).cloned() else {
            return Err(Diagnostic::error(
                Code::QueryGranularity,
                format!("granularity `{granularity}` does not exist"),
            ));
        };
        match custom.kind {
            GranularityKind::Sql(t) => self.template(&t, depth),
            GranularityKind::Interval { interval, offset, origin } => {
                self.interval_bucket(&local, &interval, offset.as_ref(), origin.as_deref(), granularity)
            }
        }
    }

    pub(super) fn shift(&self, expr: String, iv: &Interval, add: bool) -> R<String> {
        let mut e = expr;
        for (n, unit) in &iv.parts {
            let (n, add) = if *n < 0 { (-n, !add) } else { (*n, add) };
            // Not every warehouse has a quarter interval; three months is the same thing.
            let (n, unit) = if *unit == TimeUnit::Quarter { (n * 3, &TimeUnit::Month) } else { (n, unit) };
            let interval = format!("{n} {}", unit.name());
            e = self.tpl(
                if add { "add_interval" } else { "sub_interval" },
                context! { expr => e, amount => n, unit => unit.name(), interval => interval },
            )?;
        }
        Ok(e)
    }

    /// A timestamp parameter: a UTC instant with the dialect's precision.
    pub(super) fn timestamp_param(&mut self, t: NaiveDateTime) -> R<String> {
        let value = format_utc(t, self.d.timestamp_precision);
        let p = self.param(value);
        self.tpl("timestamp_param", context! { param => p })
    }

    pub(super) fn source(&mut self, cube: CubeId) -> R<String> {
        let alias = self.cube_alias(cube);
        let source = match &self.model.cube(cube).source {
            Some(CubeSource::Table(t)) | Some(CubeSource::SelectAll(t)) => t.clone(),
            Some(CubeSource::Sql(t)) => {
                let sql = self.template(t, 0)?;
                self.tpl("subquery", context! { sql => sql })?
            }
            None => {
                return Err(Diagnostic::error(
                    Code::SqlRender,
                    format!("cube `{}` has no SQL source", self.model.cube(cube).name),
                ))
            }
        };
        self.tpl("table", context! { source => source, alias => alias })
    }

    /// FROM, the joins and the WHERE conditions of the plan's join tree.
    pub(super) fn join_tree(&mut self, plan: &Plan) -> R<(String, Vec<JoinClause>, Vec<String>)> {
        self.join_tree_except(plan, None)
    }

    /// [`Self::join_tree`] without the date range of one time dimension (a rolling window's base
    /// widens it).
    pub(super) fn join_tree_except(
        &mut self,
        plan: &Plan,
        skip_range: Option<(CubeId, usize)>,
    ) -> R<(String, Vec<JoinClause>, Vec<String>)> {
        let (from, mut joins) = self.tree_sources(&plan.joins)?;
        for sub in &plan.sub_queries {
            joins.push(self.sub_query_join(plan, sub)?);
        }
        let mut wheres = Vec::new();
        for r in plan.date_ranges.iter().filter(|r| Some((r.cube, r.dimension)) != skip_range) {
            let col = self.dimension(r.cube, r.dimension, 0)?;
            wheres.push(self.between_instants(&col, r.from_utc, r.to_utc)?);
        }
        for (cube, s) in &plan.segments {
            let model = self.model;
            wheres.push(format!("({})", self.template(&model.cube(*cube).segments[*s].sql, 0)?));
        }
        for f in &plan.where_filters {
            wheres.push(format!("({})", self.filter_node(f)?));
        }
        Ok((from, joins, wheres))
    }

    /// FROM and the LEFT JOINs of a join tree.
    pub(super) fn tree_sources(&mut self, tree: &crate::plan::JoinTree) -> R<(String, Vec<JoinClause>)> {
        let from = self.source(tree.root)?;
        let mut joins = Vec::new();
        for step in &tree.steps {
            let table = self.source(step.to)?;
            let model = self.model;
            let on = self.template(&model.cube(step.from).joins[step.join].sql, 0)?;
            joins.push(JoinClause { kind: "LEFT", table, on: Some(on) });
        }
        Ok((from, joins))
    }

    /// A `sub_query` dimension's subquery: the cube's key and the dimension's value (its
    /// measures aggregated per key), joined on the key. With `propagate_filters_to_sub_query`,
    /// the query's dimension filters and date ranges on cubes of the subquery apply inside it.
    fn sub_query_join(&mut self, plan: &Plan, sub: &crate::plan::SubQueryDim) -> R<JoinClause> {
        let model = self.model;
        let cube = model.cube(sub.cube);
        let dim = &cube.dimensions[sub.dimension];
        let alias = self.sub_query_alias(sub.cube, sub.dimension);
        let mut columns = Vec::new();
        let mut on = Vec::new();
        let pks: Vec<usize> = cube.primary_keys().collect();
        for pk in &pks {
            let expr = self.dimension(sub.cube, *pk, 0)?;
            let pk_alias = self.d.ident(&cube.column_alias(MemberRef::Dimension(*pk)));
            columns.push(format!("{expr} {pk_alias}"));
            on.push(format!("{alias}.{pk_alias} = {expr}"));
        }
        let previous = self.inside_sub_query.replace((sub.cube, sub.dimension));
        let value = self.dimension(sub.cube, sub.dimension, 0);
        self.inside_sub_query = previous;
        let value_alias = self.d.ident(&cube.column_alias(MemberRef::Dimension(sub.dimension)));
        columns.push(format!("{} {value_alias}", value?));
        let (from, joins) = self.tree_sources(&sub.joins)?;
        let mut wheres = Vec::new();
        if dim.propagate_filters_to_sub_query {
            for r in plan.date_ranges.iter().filter(|r| sub.joins.contains(r.cube)) {
                let col = self.dimension(r.cube, r.dimension, 0)?;
                wheres.push(self.between_instants(&col, r.from_utc, r.to_utc)?);
            }
            for f in plan.where_filters.iter().filter(|f| filter_within(f, &sub.joins)) {
                wheres.push(format!("({})", self.filter_node(f)?));
            }
        }
        // Access-policy row filters of the cubes the subquery reads apply whatever the flag says.
        for f in plan.sub_query_filters.iter().filter(|f| filter_within(f, &sub.joins)) {
            if !(dim.propagate_filters_to_sub_query && plan.where_filters.contains(f)) {
                wheres.push(format!("({})", self.filter_node(f)?));
            }
        }
        let group_by: Vec<usize> = (1..=pks.len()).collect();
        let sql = self.select(Select { columns, from, joins, where_: wheres, group_by, ..Select::default() })?;
        let source = self.tpl("subquery", context! { sql => sql })?;
        let table = self.tpl("table", context! { source => source, alias => alias })?;
        Ok(JoinClause { kind: "LEFT", table, on: Some(on.join(" AND ")) })
    }

    /// The quoted alias of a `sub_query` dimension's subquery (`"users_order_total_subquery"`).
    fn sub_query_alias(&self, cube: CubeId, d: usize) -> String {
        let c = self.model.cube(cube);
        self.d.ident(&format!("{}_{}_subquery", crate::util::underscore(c.alias_base()), c.dimensions[d].name))
    }

    /// A grouping column's SQL: a dimension or a time bucket.
    pub(super) fn dimension_column(&mut self, kind: &ColumnKind) -> R<String> {
        match kind {
            ColumnKind::Dimension { cube, dimension } => self.dimension(*cube, *dimension, 0),
            ColumnKind::TimeBucket { cube, dimension, granularity } => {
                self.time_bucket(*cube, *dimension, granularity, 0)
            }
            ColumnKind::Measure { .. } => Err(Diagnostic::error(Code::SqlRender, "a measure is not a grouping column")),
        }
    }

    pub(super) fn select(&self, select: Select) -> R<String> {
        self.tpl("select", minijinja::Value::from(minijinja::value::Serde(select)))
    }

    pub(super) fn order_by(plan: &Plan) -> Vec<String> {
        plan.order.iter().map(|(p, desc)| format!("{p} {}", if *desc { "DESC" } else { "ASC" })).collect()
    }

    /// The whole statement (and its `total` wrapper when asked).
    pub fn statement(&mut self, plan: &Plan) -> R<(String, Vec<String>)> {
        if let Some(stages) = &plan.stages {
            let sql = self.stages_statement(plan, stages)?;
            return Ok((sql, std::mem::take(&mut self.warnings)));
        }
        self.multiplied = plan.multiplied.clone();
        self.time_shifts = plan.time_shifts.clone();
        if plan.needs_subqueries() {
            let sql = self.grouped_statement(plan)?;
            return Ok((sql, std::mem::take(&mut self.warnings)));
        }
        let mut columns = Vec::new();
        for c in &plan.columns {
            let expr = match &c.kind {
                ColumnKind::Measure { cube, measure } => self.measure(*cube, *measure, plan.ungrouped, 0)?,
                kind => self.dimension_column(kind)?,
            };
            columns.push(format!("{expr} {}", self.d.ident(&c.alias)));
        }
        let (from, joins, wheres) = self.join_tree(plan)?;
        let mut having = Vec::new();
        for f in &plan.having_filters {
            having.push(format!("({})", self.filter_node(f)?));
        }
        let group_by: Vec<usize> = if plan.ungrouped { Vec::new() } else { (1..=plan.dimension_count).collect() };
        let sql = self.select(Select {
            columns,
            from,
            joins,
            where_: wheres,
            group_by,
            having,
            order_by: Self::order_by(plan),
            limit: (plan.limit != u64::MAX).then_some(plan.limit),
            offset: plan.offset,
            ..Select::default()
        })?;
        Ok((sql, std::mem::take(&mut self.warnings)))
    }

    /// `total: true`: the count of all rows the query would return before limit and offset.
    pub fn total_statement(&mut self, plan: &Plan) -> R<String> {
        let unlimited = Plan { order: Vec::new(), limit: u64::MAX, offset: None, total: false, ..plan.clone() };
        let (sql, _) = self.statement(&unlimited)?;
        self.tpl("total", context! { sql => sql })
    }
}

/// Whether every member a filter names lives in `tree`.
fn filter_within(f: &crate::query::FilterNode, tree: &crate::plan::JoinTree) -> bool {
    match f {
        crate::query::FilterNode::Leaf(l) => tree.contains(l.member.source_cube),
        crate::query::FilterNode::And(v) | crate::query::FilterNode::Or(v) => v.iter().all(|x| filter_within(x, tree)),
    }
}

/// The context of the dialect's `select` template.
#[derive(Debug, Default, serde::Serialize)]
pub(super) struct Select {
    pub distinct: bool,
    pub columns: Vec<String>,
    pub from: String,
    pub joins: Vec<JoinClause>,
    #[serde(rename = "where")]
    pub where_: Vec<String>,
    pub group_by: Vec<usize>,
    pub having: Vec<String>,
    pub order_by: Vec<String>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

#[derive(Debug, serde::Serialize)]
pub(super) struct JoinClause {
    /// `LEFT`, `INNER` or `CROSS`.
    pub kind: &'static str,
    pub table: String,
    pub on: Option<String>,
}

/// Wraps an inlined member in parentheses unless it is a plain column or call-free name, so
/// `{a} / {b}` keeps its meaning whatever `a` and `b` expand to (Cube does not, see README).
fn wrap(s: String) -> String {
    let simple = s.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '"' | '`'));
    if simple {
        s
    } else {
        format!("({s})")
    }
}

/// `2024-01-01T08:00:00.000Z` with `precision` fractional digits.
pub fn format_utc(t: NaiveDateTime, precision: u8) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.and_utc().timestamp_subsec_nanos();
    if precision == 0 {
        return format!("{base}Z");
    }
    let digits = format!("{nanos:09}");
    // A bound ending in .999 ms means "to the end of that millisecond": pad with nines.
    let frac = if digits[3..].chars().all(|c| c == '0') && digits.starts_with("999") && precision > 3 {
        "9".repeat(precision as usize)
    } else {
        let mut d = digits;
        d.truncate(precision as usize);
        d
    };
    format!("{base}.{frac}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        let t = crate::vocab::time::parse_local_datetime("2024-01-31T23:59:59.999").unwrap();
        assert_eq!(format_utc(t, 3), "2024-01-31T23:59:59.999Z");
        assert_eq!(format_utc(t, 6), "2024-01-31T23:59:59.999999Z");
        let t = crate::vocab::time::parse_local_datetime("2024-01-31T23:59:59.998").unwrap();
        assert_eq!(format_utc(t, 6), "2024-01-31T23:59:59.998000Z");
    }
}
