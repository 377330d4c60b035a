//! What a pushdown statement may call, and what PostgreSQL names an unnamed result column.
//!
//! Pushdown runs the statement's own expressions on the warehouse under cubec's credentials, so
//! only functions on this list pass: a function that reads files, runs SQL text or changes
//! settings (`pg_read_file`, `query_to_xml`, `set_config`, `dblink`, DuckDB's `read_text`)
//! must never reach it from a BI tool's statement.

use sqlparser::ast::Expr;

/// Scalar, aggregate and window functions a pushdown statement may use: standard SQL that
/// PostgreSQL, DuckDB, Snowflake and BigQuery share (or the dialect file renders).
const ALLOWED: &[&str] = &[
    // aggregates
    "measure", "sum", "count", "min", "max", "avg", "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp",
    "var_pop", "bool_and", "bool_or", "every", "string_agg", "percentile_cont", "percentile_disc", "median",
    "approx_count_distinct", "any_value", "grouping", "corr", "covar_pop", "covar_samp",
    // window functions
    "rank", "dense_rank", "row_number", "ntile", "lag", "lead", "first_value", "last_value", "nth_value",
    "percent_rank", "cume_dist",
    // numbers
    "abs", "round", "ceil", "ceiling", "floor", "trunc", "sqrt", "power", "pow", "exp", "ln", "log", "log10",
    "sign", "mod", "greatest", "least", "div", "width_bucket",
    // conditionals
    "coalesce", "nullif", "ifnull", "nvl", "iff", "if",
    // text
    "lower", "upper", "length", "char_length", "character_length", "substring", "substr", "trim", "ltrim",
    "rtrim", "btrim", "concat", "concat_ws", "replace", "left", "right", "position", "strpos", "split_part",
    "lpad", "rpad", "initcap", "reverse", "starts_with", "ends_with",
    // dates
    "date_trunc", "date_part", "extract", "date", "to_char", "to_date", "to_timestamp", "current_date",
    "current_timestamp", "now", "make_date", "age",
];

/// Whether `name` is an aggregate function.
pub(super) fn is_aggregate(name: &str) -> bool {
    let end = ALLOWED.iter().position(|f| *f == "rank").unwrap_or(0);
    ALLOWED[..end].contains(&name)
}

/// Whether a pushdown statement may call `name` (lower case, without a `pg_catalog.` prefix).
pub(super) fn allowed(name: &str) -> bool {
    ALLOWED.contains(&name)
}

/// PostgreSQL's name for an unaliased result column (its FigureColname): a column's name, a
/// function's, CASE's `case`, through casts; `?column?` for anything else.
pub(super) fn column_name(e: &Expr) -> String {
    figure(e).unwrap_or_else(|| "?column?".to_string())
}

fn figure(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(i) => Some(i.value.clone()),
        Expr::CompoundIdentifier(ids) => ids.last().map(|i| i.value.clone()),
        Expr::Function(f) => f.name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.to_lowercase()),
        Expr::Nested(inner) => figure(inner),
        Expr::Cast { expr, data_type, .. } => {
            figure(expr).or_else(|| data_type.to_string().split('(').next().map(|t| t.trim().to_lowercase()))
        }
        Expr::Case { .. } => Some("case".into()),
        Expr::Extract { .. } => Some("extract".into()),
        Expr::Substring { .. } => Some("substring".into()),
        Expr::Trim { .. } => Some("btrim".into()),
        Expr::Position { .. } => Some("position".into()),
        Expr::Ceil { .. } => Some("ceil".into()),
        Expr::Floor { .. } => Some("floor".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn name(sql: &str) -> String {
        let e = Parser::new(&PostgreSqlDialect {}).try_with_sql(sql).expect("lexes").parse_expr().expect("parses");
        column_name(&e)
    }

    #[test]
    fn unnamed_columns_are_named_as_postgresql_names_them() {
        assert_eq!(name("t.channel"), "channel");
        assert_eq!(name("ROUND(MEASURE(x), 2)"), "round");
        assert_eq!(name("CAST(COUNT(*) AS FLOAT)"), "count");
        assert_eq!(name("CASE WHEN a = 1 THEN 'x' END"), "case");
        assert_eq!(name("MEASURE(x) / 2.0"), "?column?");
        assert!(allowed("round") && !allowed("pg_read_file") && !allowed("query_to_xml"));
    }
}
