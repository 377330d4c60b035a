//! `RawModel`: the model files as written, every value with its span, nothing resolved yet.
//! Keys are already normalised to snake_case; names, types and references are still strings.

use crate::diag::Span;

/// A value and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Sp<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Sp<T> {
    pub fn new(value: T, span: Span) -> Sp<T> {
        Sp { value, span }
    }
}

pub type SpStr = Sp<String>;

#[derive(Debug, Default)]
pub struct RawModel {
    pub cubes: Vec<RawCube>,
    pub views: Vec<RawView>,
}

#[derive(Debug, Clone)]
pub struct RawCube {
    pub span: Span,
    pub name: Option<SpStr>,
    pub sql: Option<SpStr>,
    pub sql_table: Option<SpStr>,
    pub sql_alias: Option<SpStr>,
    pub data_source: Option<SpStr>,
    pub extends: Option<SpStr>,
    pub title: Option<SpStr>,
    pub description: Option<SpStr>,
    pub meta: Option<serde_json::Value>,
    pub public: Option<Sp<bool>>,
    pub joins: Vec<RawJoin>,
    pub measures: Vec<RawMeasure>,
    pub dimensions: Vec<RawDimension>,
    pub segments: Vec<RawSegment>,
    pub pre_aggregations: Vec<RawPreAggregation>,
    pub hierarchies: Vec<RawHierarchy>,
    pub refresh_key: Option<RawRefreshKey>,
    /// `access_policy` items as written; read and checked by [`crate::resolve::policy`], which
    /// needs the resolved members.
    pub access_policy: Vec<crate::load::yaml::Node>,
}

#[derive(Debug, Clone)]
pub struct RawJoin {
    pub span: Span,
    pub name: Option<SpStr>,
    pub relationship: Option<SpStr>,
    pub sql: Option<SpStr>,
}

#[derive(Debug, Clone)]
pub struct RawMeasure {
    pub span: Span,
    pub name: Option<SpStr>,
    pub type_: Option<SpStr>,
    pub sql: Option<SpStr>,
    pub title: Option<SpStr>,
    pub description: Option<SpStr>,
    pub format: Option<SpStr>,
    pub meta: Option<serde_json::Value>,
    pub public: Option<Sp<bool>>,
    pub filters: Vec<SpStr>,
    pub rolling_window: Option<RawRollingWindow>,
    pub drill_members: Vec<SpStr>,
    pub multi_stage: bool,
    /// Multi-stage modifiers, kept raw; resolve checks and types them.
    pub stage: RawStage,
}

/// The keys of a multi-stage measure, as written.
#[derive(Debug, Clone, Default)]
pub struct RawStage {
    pub group_by: Option<Sp<Vec<SpStr>>>,
    pub reduce_by: Option<Sp<Vec<SpStr>>>,
    pub add_group_by: Option<Sp<Vec<SpStr>>>,
    pub time_shift: Option<Sp<Vec<RawTimeShift>>>,
    pub order_by: Vec<RawOrderBy>,
    /// Where `multi_stage: true` is written, if it is.
    pub multi_stage_span: Option<Span>,
}

#[derive(Debug, Clone)]
pub struct RawTimeShift {
    pub span: Span,
    pub interval: Option<SpStr>,
    pub type_: Option<SpStr>,
    pub time_dimension: Option<SpStr>,
    pub name: Option<SpStr>,
}

#[derive(Debug, Clone)]
pub struct RawOrderBy {
    pub span: Span,
    pub sql: Option<SpStr>,
    pub dir: Option<SpStr>,
}

#[derive(Debug, Clone)]
pub struct RawRollingWindow {
    pub span: Span,
    pub trailing: Option<SpStr>,
    pub leading: Option<SpStr>,
    pub offset: Option<SpStr>,
    pub type_: Option<SpStr>,
    pub granularity: Option<SpStr>,
}

#[derive(Debug, Clone)]
pub struct RawDimension {
    pub span: Span,
    pub name: Option<SpStr>,
    pub type_: Option<SpStr>,
    pub sql: Option<SpStr>,
    pub title: Option<SpStr>,
    pub description: Option<SpStr>,
    pub format: Option<Sp<RawFormat>>,
    pub meta: Option<serde_json::Value>,
    pub public: Option<Sp<bool>>,
    pub primary_key: Option<Sp<bool>>,
    pub sub_query: Option<Sp<bool>>,
    pub propagate_filters_to_sub_query: Option<Sp<bool>>,
    pub case: Option<RawCase>,
    pub latitude: Option<SpStr>,
    pub longitude: Option<SpStr>,
    pub granularities: Vec<RawGranularity>,
    pub switch_values: Vec<SpStr>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RawFormat {
    Name(String),
    Link { label: Option<String> },
}

#[derive(Debug, Clone)]
pub struct RawCase {
    pub span: Span,
    pub when: Vec<RawCaseWhen>,
    pub else_label: Option<RawLabel>,
}

#[derive(Debug, Clone)]
pub struct RawCaseWhen {
    pub sql: Option<SpStr>,
    pub label: Option<RawLabel>,
}

#[derive(Debug, Clone)]
pub enum RawLabel {
    Text(SpStr),
    Sql(SpStr),
}

#[derive(Debug, Clone)]
pub struct RawGranularity {
    pub span: Span,
    pub name: Option<SpStr>,
    pub title: Option<SpStr>,
    pub interval: Option<SpStr>,
    pub offset: Option<SpStr>,
    pub origin: Option<SpStr>,
    pub sql: Option<SpStr>,
}

#[derive(Debug, Clone)]
pub struct RawSegment {
    pub span: Span,
    pub name: Option<SpStr>,
    pub sql: Option<SpStr>,
    pub title: Option<SpStr>,
    pub description: Option<SpStr>,
    pub meta: Option<serde_json::Value>,
    pub public: Option<Sp<bool>>,
}

#[derive(Debug, Clone)]
pub struct RawPreAggregation {
    pub span: Span,
    pub name: Option<SpStr>,
    pub type_: Option<SpStr>,
    pub measures: Vec<SpStr>,
    pub dimensions: Vec<SpStr>,
    pub segments: Vec<SpStr>,
    pub time_dimension: Option<SpStr>,
    pub granularity: Option<SpStr>,
    /// `time_dimensions: [{dimension, granularity}]`, several time dimensions.
    pub time_dimensions: Vec<(SpStr, Option<SpStr>)>,
    pub partition_granularity: Option<SpStr>,
    pub refresh_key: Option<RawRefreshKey>,
    pub build_range_start: Option<SpStr>,
    pub build_range_end: Option<SpStr>,
    pub scheduled_refresh: Option<Sp<bool>>,
    pub external: Option<Sp<bool>>,
    pub indexes: Vec<RawIndex>,
    pub use_original_sql_pre_aggregations: Option<Sp<bool>>,
    pub union_with_source_data: Option<Sp<bool>>,
    pub allow_non_strict_date_range_match: Option<Sp<bool>>,
    pub sql_alias: Option<SpStr>,
    /// `rollup_join` and `rollup_lambda`: the rollups they read.
    pub rollups: Vec<SpStr>,
}

#[derive(Debug, Clone)]
pub struct RawIndex {
    pub span: Span,
    pub name: Option<SpStr>,
    pub columns: Vec<SpStr>,
    pub type_: Option<SpStr>,
}

#[derive(Debug, Clone)]
pub struct RawRefreshKey {
    pub span: Span,
    pub every: Option<SpStr>,
    pub sql: Option<SpStr>,
    pub timezone: Option<SpStr>,
    pub immutable: Option<Sp<bool>>,
    pub incremental: Option<Sp<bool>>,
    pub update_window: Option<SpStr>,
}

#[derive(Debug, Clone)]
pub struct RawHierarchy {
    pub span: Span,
    pub name: Option<SpStr>,
    pub title: Option<SpStr>,
    pub public: Option<Sp<bool>>,
    pub levels: Vec<SpStr>,
}

#[derive(Debug, Clone)]
pub struct RawView {
    pub span: Span,
    pub name: Option<SpStr>,
    pub extends: Option<SpStr>,
    pub title: Option<SpStr>,
    pub description: Option<SpStr>,
    pub meta: Option<serde_json::Value>,
    pub public: Option<Sp<bool>>,
    pub cubes: Vec<RawViewCube>,
    pub folders: Vec<RawFolder>,
    /// Member lists a view may not have (v1.3 views have no own members); kept to report them.
    pub own_members: Vec<SpStr>,
    pub access_policy: Vec<crate::load::yaml::Node>,
}

#[derive(Debug, Clone)]
pub struct RawViewCube {
    pub span: Span,
    pub join_path: Option<SpStr>,
    pub includes: Option<RawIncludes>,
    pub excludes: Vec<SpStr>,
    pub prefix: Option<Sp<bool>>,
    pub alias: Option<SpStr>,
    pub split: Option<Sp<bool>>,
}

#[derive(Debug, Clone)]
pub enum RawIncludes {
    All(Span),
    List(Vec<RawInclude>),
}

#[derive(Debug, Clone)]
pub struct RawInclude {
    pub name: SpStr,
    pub alias: Option<SpStr>,
    pub title: Option<SpStr>,
    pub description: Option<SpStr>,
    pub format: Option<SpStr>,
    pub meta: Option<serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct RawFolder {
    pub span: Span,
    pub name: Option<SpStr>,
    pub includes: Vec<RawFolderItem>,
}

#[derive(Debug, Clone)]
pub enum RawFolderItem {
    Member(SpStr),
    Folder(RawFolder),
}
