//! What a pushdown statement may call.
//!
//! Pushdown runs the statement's own expressions on the warehouse under cubec's credentials, so
//! only functions on this list pass: a function that reads files, runs SQL text or changes
//! settings (`pg_read_file`, `query_to_xml`, `set_config`, `dblink`, DuckDB's `read_text`)
//! must never reach it from a BI tool's statement.

/// Scalar, aggregate and window functions a pushdown statement may use: standard SQL that
/// PostgreSQL, DuckDB, Snowflake and BigQuery share (or the dialect file renders).
#[rustfmt::skip]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_functions_pass() {
        assert!(allowed("round") && !allowed("pg_read_file") && !allowed("query_to_xml"));
    }
}
