//! `pre_aggregations`, resolved: what a rollup stores (members resolved to the cube that
//! defines each, the owning cube's or a joined one's), at which time grain, in which partitions,
//! refreshed when, built where. Read by [`crate::resolve::preagg`]; built, refreshed and routed
//! to by [`crate::preagg`].

use super::refresh::RefreshKey;
use super::sql::SqlTemplate;
use super::CubeId;
use crate::diag::Span;
use crate::vocab::TimeUnit;

#[derive(Debug, Clone)]
pub struct PreAggregation {
    pub name: String,
    pub span: Span,
    pub kind: PreAggKind,
    pub measures: Vec<(CubeId, usize)>,
    pub dimensions: Vec<(CubeId, usize)>,
    pub segments: Vec<(CubeId, usize)>,
    /// Each time dimension with the granularity it is stored at (a built-in or one of the
    /// dimension's custom granularities): `time_dimension` + `granularity`, or
    /// `time_dimensions`.
    pub time_dimensions: Vec<(CubeId, usize, String)>,
    /// Partitions of the first time dimension, built and refreshed one by one.
    pub partition_granularity: Option<TimeUnit>,
    pub refresh_key: Option<RefreshKey>,
    /// `build_range_start` / `build_range_end`: SQL giving one timestamp each.
    pub build_range_start: Option<SqlTemplate>,
    pub build_range_end: Option<SqlTemplate>,
    /// Built by the refresh worker (else only by `cubec preagg build`).
    pub scheduled_refresh: bool,
    /// In cubec's embedded store (true) or in the source database (false).
    pub external: bool,
    pub indexes: Vec<PreAggIndex>,
    pub use_original_sql_pre_aggregations: bool,
    pub union_with_source_data: bool,
    /// Cube's default is true, and then a query whose date range does not fall on the rollup's
    /// buckets is served from it anyway, leaving rows out; cubec never does that, whatever this
    /// says (see the README).
    pub allow_non_strict_date_range_match: bool,
    pub sql_alias: Option<String>,
    /// `rollup_join` / `rollup_lambda`: the pre-aggregations they read, as (cube, index).
    pub rollups: Vec<(CubeId, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreAggKind {
    Rollup,
    OriginalSql,
    RollupJoin,
    RollupLambda,
    /// Cube Cloud's; accepted and never built.
    AutoRollup,
}

impl PreAggKind {
    pub fn name(self) -> &'static str {
        match self {
            PreAggKind::Rollup => "rollup",
            PreAggKind::OriginalSql => "original_sql",
            PreAggKind::RollupJoin => "rollup_join",
            PreAggKind::RollupLambda => "rollup_lambda",
            PreAggKind::AutoRollup => "auto_rollup",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PreAggIndex {
    pub name: String,
    /// Stored columns, by the member they hold (`status`, `users.city`).
    pub columns: Vec<String>,
    /// `type: aggregate` (Cube Store's aggregate index); elsewhere an ordinary index.
    pub aggregate: bool,
}
