//! Reads a cube's `pre_aggregations` items into [`RawPreAggregation`]s: every key Cube has, in
//! snake_case or camelCase, the deprecated `*_references` spellings (refused beside the new
//! ones), `indexes` as a list or as Cube's JavaScript map, and `build_range_start`/`_end` as
//! `{sql}`. Meaning is checked later, in `resolve::preagg`.

use super::keys::*;
use super::obj::Obj;
use super::raw::*;
use crate::diag::{Code, Diagnostic};
use crate::load::yaml::{Node, Value};

pub(super) fn read_pre_agg(node: &Node, diags: &mut Vec<Diagnostic>) -> Option<RawPreAggregation> {
    let o = Obj::new(node, "pre-aggregation", PRE_AGG_KEYS, diags)?;
    let deprecated = [
        "measure_references",
        "dimension_references",
        "segment_references",
        "time_dimension_reference",
        "rollup_references",
    ];
    let modern = ["measures", "dimensions", "segments", "time_dimension", "rollups"];
    let uses_old = deprecated.iter().any(|k| o.get(k).is_some());
    let uses_new = modern.iter().any(|k| o.get(k).is_some());
    if uses_old && uses_new {
        diags.push(
            Diagnostic::error(
                Code::PreAggregation,
                "pre-aggregation mixes deprecated `*_references` keys with their replacements",
            )
            .at(node.span, "both spellings used")
            .with_help("use only measures, dimensions, segments, time_dimension, rollups"),
        );
    }
    let pick = |new: &str, old: &str, diags: &mut Vec<Diagnostic>| {
        let v = o.str_list(new, diags);
        if v.is_empty() {
            o.str_list(old, diags)
        } else {
            v
        }
    };
    let range = |key: &str, diags: &mut Vec<Diagnostic>| {
        let n = o.get(key)?;
        if let Value::Str(_) = &n.value {
            // A bare string is the SQL itself, a common shorthand.
            return n.scalar_text().map(|s| crate::load::raw::Sp::new(s, n.span));
        }
        Obj::new(n, "build range", BUILD_RANGE_KEYS, diags)?.str("sql", diags)
    };
    Some(RawPreAggregation {
        span: node.span,
        name: o.require_name(diags),
        type_: o.str("type", diags),
        measures: pick("measures", "measure_references", diags),
        dimensions: pick("dimensions", "dimension_references", diags),
        segments: pick("segments", "segment_references", diags),
        time_dimension: o.str("time_dimension", diags).or_else(|| o.str("time_dimension_reference", diags)),
        granularity: o.str("granularity", diags),
        time_dimensions: o
            .list("time_dimensions", diags)
            .iter()
            .filter_map(|n| {
                let t = Obj::new(n, "pre-aggregation time dimension", PRE_AGG_TIME_DIMENSION_KEYS, diags)?;
                let dimension = t.str("dimension", diags)?;
                Some((dimension, t.str("granularity", diags)))
            })
            .collect(),
        partition_granularity: o.str("partition_granularity", diags),
        refresh_key: o.get("refresh_key").and_then(|n| super::refresh_key::read_refresh_key(n, diags)),
        build_range_start: range("build_range_start", diags).or_else(|| range("refresh_range_start", diags)),
        build_range_end: range("build_range_end", diags).or_else(|| range("refresh_range_end", diags)),
        scheduled_refresh: o.bool("scheduled_refresh", diags),
        external: o.bool("external", diags),
        indexes: indexes(&o, diags),
        use_original_sql_pre_aggregations: o.bool("use_original_sql_pre_aggregations", diags),
        union_with_source_data: o.bool("union_with_source_data", diags),
        allow_non_strict_date_range_match: o.bool("allow_non_strict_date_range_match", diags),
        sql_alias: o.str("sql_alias", diags),
        rollups: pick("rollups", "rollup_references", diags),
    })
}

/// `indexes`: a list of `{name, columns, type}` (YAML), or a map from name to `{columns, type}`
/// (Cube's JavaScript form, and what `import-js` writes for maps it does not list).
fn indexes(o: &Obj, diags: &mut Vec<Diagnostic>) -> Vec<RawIndex> {
    let Some(node) = o.get("indexes") else { return Vec::new() };
    let one = |n: &Node, name: Option<crate::load::raw::SpStr>, diags: &mut Vec<Diagnostic>| {
        let i = Obj::new(n, "index", PRE_AGG_INDEX_KEYS, diags)?;
        Some(RawIndex {
            span: n.span,
            name: name.or_else(|| i.str("name", diags)),
            columns: i.str_list("columns", diags),
            type_: i.str("type", diags),
        })
    };
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .filter_map(|(k, v)| one(v, k.scalar_text().map(|s| crate::load::raw::Sp::new(s, k.span)), diags))
            .collect(),
        _ => o.list("indexes", diags).iter().filter_map(|n| one(n, None, diags)).collect(),
    }
}
