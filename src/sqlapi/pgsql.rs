//! PostgreSQL introspection SQL to SQL the embedded catalog (DuckDB) runs: catalog names point
//! at the `pgc`/`pgi` schemas, PostgreSQL-only casts (`::regclass`, `::regtype`, `::oid`,
//! `::name`) become functions or plain types, `OPERATOR(pg_catalog.~)` becomes `~`, `COLLATE`
//! goes, session functions (`current_user`, `version()`) call the session's macros, and
//! unaliased result columns get PostgreSQL's names.

use super::error::{SqlError, SqlResult};
use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr, Function, FunctionArgumentList, FunctionArguments, Ident, ObjectName,
    ObjectNamePart, Query, SelectItem, SetExpr, Statement, TableAlias, TableAliasColumnDef, TableFactor, VisitMut,
    VisitorMut,
};
use std::collections::HashSet;
use std::ops::ControlFlow;

/// Functions answered by the catalog's macros (`catalog.sql` and the per-session ones).
const MACROS: &[&str] = &[
    "format_type",
    "pg_get_expr",
    "pg_get_userbyid",
    "pg_table_is_visible",
    "pg_type_is_visible",
    "pg_function_is_visible",
    "pg_get_constraintdef",
    "pg_get_indexdef",
    "pg_get_partkeydef",
    "pg_get_viewdef",
    "pg_get_triggerdef",
    "pg_get_statisticsobjdef_columns",
    "pg_get_serial_sequence",
    "pg_get_function_identity_arguments",
    "pg_get_function_result",
    "pg_get_function_arguments",
    "pg_encoding_to_char",
    "pg_total_relation_size",
    "pg_relation_size",
    "pg_table_size",
    "pg_indexes_size",
    "pg_tablespace_location",
    "pg_is_in_recovery",
    "pg_my_temp_schema",
    "pg_is_other_temp_schema",
    "has_table_privilege",
    "has_schema_privilege",
    "has_database_privilege",
    "has_column_privilege",
    "has_any_column_privilege",
    "has_function_privilege",
    "obj_description",
    "col_description",
    "shobj_description",
    "quote_ident",
    "to_regtype",
    "to_regclass",
    "array_lower",
    "array_upper",
    "pg_postmaster_start_time",
    "txid_current",
    "inet_server_addr",
    "pg_get_keywords",
    "pg_relation_is_publishable",
    "pg_get_ruledef",
    "pg_partition_ancestors",
    "parse_ident",
    "_pg_expandarray",
    "version",
    "current_database",
    "current_schema",
    "current_schemas",
    "current_user",
    "session_user",
    "pg_backend_pid",
    "current_setting",
    "set_config",
];

/// Keyword-like session values PostgreSQL lets you write without parentheses.
const SESSION_WORDS: &[(&str, &str)] = &[
    ("current_user", "current_user"),
    ("session_user", "current_user"),
    ("user", "current_user"),
    ("current_role", "current_user"),
    ("current_catalog", "current_database"),
    ("current_schema", "current_schema"),
];

fn pgc(name: &str) -> ObjectName {
    ObjectName(vec![ObjectNamePart::Identifier(Ident::new("pgc")), ObjectNamePart::Identifier(Ident::new(name))])
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: pgc(name),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

/// The parts of a name, lower-cased (catalog names are lower case).
fn lower_parts(name: &ObjectName) -> Vec<String> {
    name.0.iter().filter_map(|p| p.as_ident()).map(|i| i.value.to_lowercase()).collect()
}

struct Rewriter<'a> {
    /// (schema, table) of the catalog.
    catalog: &'a HashSet<(String, String)>,
    /// Relations that are not catalog tables (cube tables, CTEs, ...), as written.
    others: Vec<ObjectName>,
    error: Option<SqlError>,
}

impl Rewriter<'_> {
    fn has(&self, schema: &str, table: &str) -> bool {
        self.catalog.contains(&(schema.to_string(), table.to_string()))
    }
}

/// Set-returning functions PostgreSQL clients call in FROM (`pg_catalog.generate_series(1, 32)
/// pos(n)`), which DuckDB has under the same names.
const TABLE_FUNCTIONS: &[&str] = &["generate_series", "generate_subscripts", "unnest"];

/// Scalar functions PostgreSQL lets a FROM clause call (one row, one column named by the
/// alias: Grafana's `string_to_array(current_setting('search_path'), ',') s`).
const SCALAR_IN_FROM: &[&str] = &["string_to_array", "current_schemas"];

impl VisitorMut for Rewriter<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table { name, args: Some(args), alias, .. } = factor else { return ControlFlow::Continue(()) };
        let parts = lower_parts(name);
        let Some(last) = parts.last().cloned() else { return ControlFlow::Continue(()) };
        if SCALAR_IN_FROM.contains(&last.as_str()) {
            let alias_name = alias.as_ref().map(|a| a.name.value.clone()).unwrap_or_else(|| last.clone());
            let call = format!(
                "SELECT {last}({}) AS \"{}\"",
                args.args.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "),
                alias_name.replace('"', "\"\"")
            );
            if let Ok(Statement::Query(q)) = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
                .try_with_sql(&call)
                .and_then(|mut p| p.parse_statement())
            {
                *factor = TableFactor::Derived {
                    lateral: false,
                    subquery: q,
                    alias: Some(TableAlias {
                        explicit: true,
                        name: Ident::with_quote('"', alias_name),
                        columns: Vec::new(),
                        at: None,
                    }),
                    sample: None,
                };
            }
            return ControlFlow::Continue(());
        }
        // The catalog's pg_partition_ancestors already has the ordinality (depth) column.
        if last == "pg_partition_ancestors" {
            if let TableFactor::Table { with_ordinality, .. } = factor {
                *with_ordinality = false;
            }
            return ControlFlow::Continue(());
        }
        // `generate_series(...) AS i`: PostgreSQL names the column after the alias.
        if TABLE_FUNCTIONS.contains(&last.as_str()) {
            if let Some(a) = alias {
                if a.columns.is_empty() {
                    a.columns.push(TableAliasColumnDef::from_name(a.name.value.clone()));
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &mut ObjectName) -> ControlFlow<()> {
        let mut parts = lower_parts(relation);
        if parts.len() == 3 {
            parts.remove(0);
        }
        let mapped = match parts.as_slice() {
            [s, t] if s == "pg_catalog" && TABLE_FUNCTIONS.contains(&t.as_str()) => {
                Some(ObjectName(vec![ObjectNamePart::Identifier(Ident::new(t))]))
            }
            [s, t] if s == "pg_catalog" => {
                if self.has("pgc", t) {
                    Some(pgc(t))
                } else if MACROS.contains(&t.as_str()) {
                    Some(pgc(t))
                } else {
                    self.error = Some(SqlError::no_table(&format!("pg_catalog.{t}")));
                    return ControlFlow::Break(());
                }
            }
            [s, t] if s == "information_schema" => {
                if self.has("pgi", t) {
                    Some(ObjectName(vec![
                        ObjectNamePart::Identifier(Ident::new("pgi")),
                        ObjectNamePart::Identifier(Ident::new(t)),
                    ]))
                } else if MACROS.contains(&t.as_str()) {
                    Some(pgc(t))
                } else {
                    self.error = Some(SqlError::no_table(&format!("information_schema.{t}")));
                    return ControlFlow::Break(());
                }
            }
            [t] if t.starts_with("pg_") && (self.has("pgc", t) || MACROS.contains(&t.as_str())) => Some(pgc(t)),
            _ => None,
        };
        match mapped {
            Some(m) => *relation = m,
            None => self.others.push(relation.clone()),
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Some(replacement) = json_build_object(expr) {
            *expr = replacement;
            return ControlFlow::Continue(());
        }
        format_as_printf(expr);
        match expr {
            Expr::Function(f) => {
                let parts = lower_parts(&f.name);
                let schema_ok = parts.len() == 1
                    || (parts.len() == 2 && (parts[0] == "pg_catalog" || parts[0] == "information_schema"));
                if let Some(name) = parts.last() {
                    let word = SESSION_WORDS.iter().find(|(w, _)| w == name).map(|(_, t)| *t);
                    if schema_ok && (MACROS.contains(&name.as_str()) || word.is_some()) {
                        // As a scalar (pgjdbc's `(information_schema._pg_expandarray(i.indkey)).n`),
                        // the set-returning form that DuckDB expands like PostgreSQL does.
                        let target = match name.as_str() {
                            "_pg_expandarray" => "_pg_expandarray_rows",
                            "pg_partition_ancestors" => "pg_partition_ancestors_rows",
                            _ => word.unwrap_or(name.as_str()),
                        };
                        f.name = pgc(target);
                        if matches!(f.args, FunctionArguments::None) {
                            f.args = FunctionArguments::List(FunctionArgumentList {
                                duplicate_treatment: None,
                                args: Vec::new(),
                                clauses: Vec::new(),
                            });
                        }
                    } else if parts.len() == 2 && parts[0] == "pg_catalog" {
                        // pg_catalog.lower(...), pg_catalog.array_to_string(...): DuckDB's own.
                        f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]);
                    }
                }
            }
            // `pg_catalog.pg_class.relname` (SQLAlchemy): the schema part names ours too.
            Expr::CompoundIdentifier(ids) if ids.len() == 3 => {
                let schema = ids[0].value.to_lowercase();
                if schema == "pg_catalog" {
                    ids[0] = Ident::new("pgc");
                } else if schema == "information_schema" {
                    ids[0] = Ident::new("pgi");
                }
            }
            Expr::Identifier(id) if id.quote_style.is_none() => {
                let word = id.value.to_lowercase();
                if let Some((_, target)) = SESSION_WORDS.iter().find(|(w, _)| *w == word) {
                    *expr = call(target, Vec::new());
                }
            }
            Expr::Collate { expr: inner, .. } => {
                *expr = (**inner).clone();
            }
            Expr::BinaryOp { op, .. } => {
                if let BinaryOperator::PGCustomBinaryOperator(parts) = op {
                    let symbol = parts.last().map(String::as_str).unwrap_or_default();
                    let mapped = match symbol {
                        "~" => Some(BinaryOperator::PGRegexMatch),
                        "!~" => Some(BinaryOperator::PGRegexNotMatch),
                        "~*" => Some(BinaryOperator::PGRegexIMatch),
                        "!~*" => Some(BinaryOperator::PGRegexNotIMatch),
                        "=" => Some(BinaryOperator::Eq),
                        "<>" => Some(BinaryOperator::NotEq),
                        "<" => Some(BinaryOperator::Lt),
                        ">" => Some(BinaryOperator::Gt),
                        "<=" => Some(BinaryOperator::LtEq),
                        ">=" => Some(BinaryOperator::GtEq),
                        _ => None,
                    };
                    if let Some(m) = mapped {
                        *op = m;
                    }
                }
            }
            Expr::Cast { kind, expr: inner, data_type, .. } => {
                let ty = data_type.to_string().to_lowercase().replace('"', "");
                let ty = ty.strip_prefix("pg_catalog.").unwrap_or(&ty).to_string();
                let inner_expr = (**inner).clone();
                match ty.as_str() {
                    "regclass" => *expr = call("regclass", vec![inner_expr]),
                    "regtype" => *expr = call("regtype", vec![inner_expr]),
                    "regproc" | "regprocedure" => *expr = call("regproc", vec![inner_expr]),
                    "oid" | "regnamespace" | "regrole" | "xid" | "cid" | "regconfig" => {
                        *data_type = DataType::BigInt(None);
                        *kind = CastKind::Cast;
                    }
                    "name" | "text" | "char" | "bpchar" | "int2vector" | "oidvector" | "aclitem" | "pg_node_tree"
                    | "character varying" | "varchar" => {
                        *data_type = DataType::Varchar(None);
                        *kind = CastKind::Cast;
                    }
                    "text[]" | "name[]" | "aclitem[]" | "_text" => {
                        *data_type = DataType::Array(sqlparser::ast::ArrayElemTypeDef::SquareBracket(
                            Box::new(DataType::Varchar(None)),
                            None,
                        ));
                        *kind = CastKind::Cast;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// `json_build_object(k, v, ...)` (SQLAlchemy's identity columns) as text concatenation: the
/// bundled DuckDB has no JSON functions. Values are written as JSON strings or null.
fn json_build_object(e: &Expr) -> Option<Expr> {
    let Expr::Function(f) = e else { return None };
    let name = lower_parts(&f.name);
    if name.last().map(String::as_str) != Some("json_build_object") {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else { return None };
    let args: Vec<String> = list.args.iter().map(|a| a.to_string()).collect();
    let pairs: Vec<String> = args
        .chunks(2)
        .map(|kv| {
            let v = kv.get(1).cloned().unwrap_or_else(|| "NULL".into());
            format!(
                "'\"' || CAST({} AS VARCHAR) || '\": ' || coalesce('\"' || replace(CAST({v} AS VARCHAR), '\"', '\\\"') || '\"', 'null')",
                kv[0]
            )
        })
        .collect();
    let sql = format!(
        "'{{' || concat_ws(', ', {}) || '}}'",
        if pairs.is_empty() { "''".to_string() } else { pairs.join(", ") }
    );
    sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {}).try_with_sql(&sql).ok()?.parse_expr().ok()
}

/// PostgreSQL's `format('%s', x)` (Metabase's column types, `format('%I.%I', schema, table)`)
/// as DuckDB's `printf`: DuckDB's own `format` takes `{}` and would return the pattern itself.
/// `%I` and `%L` (quoted identifier, literal) are written plain: catalog names need no quotes.
fn format_as_printf(e: &mut Expr) {
    let Expr::Function(f) = e else { return };
    let parts = lower_parts(&f.name);
    let is_format = match parts.as_slice() {
        [n] => n == "format",
        [s, n] => s == "pg_catalog" && n == "format",
        _ => false,
    };
    if !is_format {
        return;
    }
    let FunctionArguments::List(list) = &mut f.args else { return };
    let Some(sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(Expr::Value(v)))) =
        list.args.first_mut()
    else {
        return;
    };
    if let sqlparser::ast::Value::SingleQuotedString(pattern) = &mut v.value {
        *pattern = pattern.replace("%I", "%s").replace("%L", "%s");
        f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("printf"))]);
    }
}

/// PostgreSQL's name for an unaliased result column.
pub(super) fn pg_column_name(e: &Expr) -> String {
    match e {
        Expr::Identifier(i) => {
            match SESSION_WORDS.iter().find(|(w, _)| i.quote_style.is_none() && *w == i.value.to_lowercase()) {
                Some((w, _)) => w.to_string(),
                None => i.value.clone(),
            }
        }
        Expr::CompoundIdentifier(ids) => ids.last().map(|i| i.value.clone()).unwrap_or_default(),
        Expr::Function(f) => {
            f.name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.to_lowercase()).unwrap_or_default()
        }
        Expr::Cast { expr, data_type, .. } => match expr.as_ref() {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Function(_) => pg_column_name(expr),
            _ => data_type.to_string().to_lowercase().rsplit('.').next().unwrap_or("?column?").to_string(),
        },
        Expr::Nested(inner) => pg_column_name(inner),
        Expr::Case { .. } => "case".into(),
        Expr::Value(_) => "?column?".into(),
        _ => "?column?".into(),
    }
}

/// Names unaliased items of the outermost SELECT as PostgreSQL would.
fn name_columns(q: &mut Query) {
    if let SetExpr::Select(s) = q.body.as_mut() {
        for item in s.projection.iter_mut() {
            if let SelectItem::UnnamedExpr(e) = item {
                let name = pg_column_name(e);
                *item = SelectItem::ExprWithAlias { expr: e.clone(), alias: Ident::with_quote('"', name) };
            }
        }
    }
}

/// Rewrites a query for the catalog database; returns the relations it names that are not
/// catalog tables (cube tables, CTEs, subquery aliases never appear here).
pub fn rewrite(stmt: &mut Statement, catalog: &HashSet<(String, String)>) -> SqlResult<Vec<ObjectName>> {
    if let Statement::Query(q) = stmt {
        name_columns(q);
    }
    let mut r = Rewriter { catalog, others: Vec::new(), error: None };
    let _ = stmt.visit(&mut r);
    if let Some(e) = r.error {
        return Err(e);
    }
    Ok(r.others)
}
