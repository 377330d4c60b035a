//! The keys each part of a model file may have, in snake_case (camelCase is accepted and
//! converted when read). The reader checks against them, and `cubec schema` is built from them,
//! so the two accept exactly the same files.

pub(crate) const CUBE_KEYS: &[&str] = &[
    "name",
    "sql",
    "sql_table",
    "sql_alias",
    "data_source",
    "extends",
    "title",
    "description",
    "meta",
    "public",
    "shown",
    "refresh_key",
    "rewrite_queries",
    "joins",
    "measures",
    "dimensions",
    "segments",
    "pre_aggregations",
    "hierarchies",
    "access_policy",
    "calendar",
];
pub(crate) const VIEW_KEYS: &[&str] = &[
    "name",
    "extends",
    "title",
    "description",
    "meta",
    "public",
    "shown",
    "cubes",
    "folders",
    "access_policy",
    "measures",
    "dimensions",
    "segments",
];
pub(crate) const JOIN_KEYS: &[&str] = &["name", "relationship", "sql"];
pub(crate) const MEASURE_KEYS: &[&str] = &[
    "name",
    "type",
    "sql",
    "title",
    "description",
    "format",
    "meta",
    "public",
    "shown",
    "visible",
    "filters",
    "rolling_window",
    "drill_members",
    "drill_filters",
    "cumulative",
    "aliases",
    "multi_stage",
    "group_by",
    "reduce_by",
    "add_group_by",
    "time_shift",
    "order_by",
    "case",
];
pub(crate) const DIMENSION_KEYS: &[&str] = &[
    "name",
    "type",
    "sql",
    "case",
    "latitude",
    "longitude",
    "primary_key",
    "sub_query",
    "propagate_filters_to_sub_query",
    "public",
    "shown",
    "title",
    "description",
    "format",
    "meta",
    "suggest_filter_values",
    "enable_suggestions",
    "values_as_segments",
    "aliases",
    "field_type",
    "granularities",
    "time_shift",
    "multi_stage",
    "add_group_by",
    "values",
];
pub(crate) const SEGMENT_KEYS: &[&str] = &["name", "sql", "title", "description", "meta", "public", "shown", "aliases"];
pub(crate) const PRE_AGG_KEYS: &[&str] = &[
    "name",
    "type",
    "sql",
    "measures",
    "dimensions",
    "segments",
    "time_dimension",
    "granularity",
    "time_dimensions",
    "partition_granularity",
    "refresh_key",
    "build_range_start",
    "build_range_end",
    "refresh_range_start",
    "refresh_range_end",
    "scheduled_refresh",
    "external",
    "indexes",
    "use_original_sql_pre_aggregations",
    "union_with_source_data",
    "allow_non_strict_date_range_match",
    "unique_key_columns",
    "read_only",
    "stream_offset",
    "output_column_types",
    "sql_alias",
    "rollups",
    "lambda_only",
    "measure_references",
    "dimension_references",
    "segment_references",
    "time_dimension_reference",
    "rollup_references",
];
pub(crate) const PRE_AGG_INDEX_KEYS: &[&str] = &["name", "columns", "type", "sql"];
pub(crate) const PRE_AGG_TIME_DIMENSION_KEYS: &[&str] = &["dimension", "granularity"];
pub(crate) const BUILD_RANGE_KEYS: &[&str] = &["sql"];
pub(crate) const HIERARCHY_KEYS: &[&str] = &["name", "title", "public", "levels"];
pub(crate) const GRANULARITY_KEYS: &[&str] = &["name", "title", "interval", "offset", "origin", "sql"];
pub(crate) const TIME_SHIFT_KEYS: &[&str] = &["interval", "type", "time_dimension", "name"];
pub(crate) const ORDER_BY_KEYS: &[&str] = &["sql", "dir"];
pub(crate) const ROLLING_KEYS: &[&str] = &["trailing", "leading", "offset", "type", "granularity"];
pub(crate) const VIEW_CUBE_KEYS: &[&str] = &["join_path", "includes", "excludes", "prefix", "alias", "split"];
pub(crate) const INCLUDE_KEYS: &[&str] = &["name", "alias", "title", "description", "format", "meta"];
pub(crate) const FOLDER_KEYS: &[&str] = &["name", "includes"];
pub(crate) const REFRESH_KEYS: &[&str] = &["every", "sql", "timezone", "immutable", "incremental", "update_window"];
pub(crate) const FILTER_KEYS: &[&str] = &["sql"];
pub(crate) const CASE_KEYS: &[&str] = &["when", "else", "switch"];
pub(crate) const WHEN_KEYS: &[&str] = &["sql", "label", "value"];
pub(crate) const ELSE_KEYS: &[&str] = &["label", "sql"];
pub(crate) const LABEL_KEYS: &[&str] = &["sql"];
pub(crate) const GEO_KEYS: &[&str] = &["sql"];
pub(crate) const TOP_KEYS: &[&str] = &["cubes", "views"];
