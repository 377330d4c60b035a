//! Measures, dimensions, segments, joins and the other parts of a cube, resolved.

use super::sql::SqlTemplate;
use super::{CubeId, MemberRef};
use crate::diag::Span;
use crate::vocab::TimeUnit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasureType {
    Count,
    CountDistinct,
    CountDistinctApprox,
    Sum,
    Avg,
    Min,
    Max,
    Number,
    String,
    Time,
    Boolean,
    NumberAgg,
    Rank,
}

impl MeasureType {
    pub fn parse(s: &str) -> Option<MeasureType> {
        Some(match s {
            "count" => MeasureType::Count,
            "count_distinct" | "countDistinct" => MeasureType::CountDistinct,
            "count_distinct_approx" | "countDistinctApprox" => MeasureType::CountDistinctApprox,
            "sum" => MeasureType::Sum,
            "avg" => MeasureType::Avg,
            "min" => MeasureType::Min,
            "max" => MeasureType::Max,
            "number" => MeasureType::Number,
            "string" => MeasureType::String,
            "time" => MeasureType::Time,
            "boolean" => MeasureType::Boolean,
            "number_agg" | "numberAgg" => MeasureType::NumberAgg,
            "rank" => MeasureType::Rank,
            _ => return None,
        })
    }

    pub const NAMES: &'static [&'static str] = &[
        "count",
        "count_distinct",
        "count_distinct_approx",
        "sum",
        "avg",
        "min",
        "max",
        "number",
        "string",
        "time",
        "boolean",
        "number_agg",
        "rank",
    ];

    /// Cube's `aggType` name in /meta.
    pub fn agg_name(&self) -> &'static str {
        match self {
            MeasureType::Count => "count",
            MeasureType::CountDistinct => "countDistinct",
            MeasureType::CountDistinctApprox => "countDistinctApprox",
            MeasureType::Sum => "sum",
            MeasureType::Avg => "avg",
            MeasureType::Min => "min",
            MeasureType::Max => "max",
            MeasureType::Number => "number",
            MeasureType::String => "string",
            MeasureType::Time => "time",
            MeasureType::Boolean => "boolean",
            MeasureType::NumberAgg => "numberAgg",
            MeasureType::Rank => "rank",
        }
    }

    /// The value type Cube reports for the measure (`/v1/meta`, annotations): `number` for
    /// every aggregate.
    pub fn value_type(&self) -> &'static str {
        match self {
            MeasureType::String => "string",
            MeasureType::Time => "time",
            MeasureType::Boolean => "boolean",
            _ => "number",
        }
    }

    /// Types whose `sql` is an expression the user aggregates themselves.
    pub fn is_calculated(&self) -> bool {
        matches!(self, MeasureType::Number | MeasureType::String | MeasureType::Time | MeasureType::Boolean)
    }
}

#[derive(Debug, Clone)]
pub struct Measure {
    pub name: String,
    pub span: Span,
    pub type_: MeasureType,
    pub sql: Option<SqlTemplate>,
    pub filters: Vec<SqlTemplate>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub format: Option<String>,
    pub meta: Option<serde_json::Value>,
    pub public: bool,
    pub rolling_window: Option<RollingWindow>,
    pub drill_members: Vec<String>,
    pub multi_stage: bool,
    /// A multi-stage measure's modifiers (`None` for ordinary measures).
    pub stage: Option<Stage>,
    /// For view members: the cube member this one stands for.
    pub proxy: Option<Proxy>,
}

/// How a multi-stage measure changes the query it is computed in (see [`crate::plan::stages`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stage {
    /// `group_by`: only these of the query's dimensions are kept in the inner stage.
    pub group_by: Option<Vec<(CubeId, usize)>>,
    /// `reduce_by`: these dimensions are taken out of the inner stage (or, for `rank`, out of
    /// the partition).
    pub reduce_by: Vec<(CubeId, usize)>,
    /// `add_group_by`: these dimensions are added to the inner stage, then aggregated away.
    pub add_group_by: Vec<(CubeId, usize)>,
    pub time_shifts: Vec<TimeShift>,
    /// `rank`'s order: measures, descending?
    pub order_by: Vec<(CubeId, usize, bool)>,
}

/// `time_shift`: the inner stage reads the time dimension moved by `interval` (`prior` adds it,
/// so last period's rows land on this period's buckets; `next` subtracts it).
#[derive(Debug, Clone, PartialEq)]
pub struct TimeShift {
    /// `None`: every time dimension of the query.
    pub dimension: Option<(CubeId, usize)>,
    /// Signed: positive for `prior`.
    pub interval: Interval,
    /// A named shift of a calendar cube (`time_shift: [{name: ...}]`).
    pub named: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Proxy {
    pub cube: CubeId,
    pub member: MemberRef,
    /// The view's join path from its root cube to `cube`.
    pub join_path: Vec<CubeId>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RollingWindow {
    Fixed { trailing: Option<WindowSize>, leading: Option<WindowSize>, offset_start: bool },
    ToDate { granularity: String },
}

/// `7 day`, `unbounded`, a signed count of one unit.
#[derive(Debug, Clone, PartialEq)]
pub enum WindowSize {
    Unbounded,
    Interval(Interval),
}

/// `N unit [N unit ...]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Interval {
    pub parts: Vec<(i64, TimeUnit)>,
}

impl Interval {
    /// Parses `N unit [N unit]*`; `allow_negative` for offsets.
    pub fn parse(s: &str, allow_negative: bool) -> Option<Interval> {
        let words: Vec<&str> = s.split_whitespace().collect();
        if words.is_empty() || words.len() % 2 != 0 {
            return None;
        }
        let mut parts = Vec::new();
        for pair in words.chunks(2) {
            let n: i64 = pair[0].parse().ok()?;
            if n < 0 && !allow_negative {
                return None;
            }
            let unit = TimeUnit::parse(pair[1])?;
            parts.push((n, unit));
        }
        Some(Interval { parts })
    }

    pub fn single(&self) -> Option<(i64, TimeUnit)> {
        match self.parts.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s: Vec<String> = self
            .parts
            .iter()
            .map(|(n, u)| if n.abs() == 1 { format!("{n} {}", u.name()) } else { format!("{n} {}s", u.name()) })
            .collect();
        write!(f, "{}", s.join(" "))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DimensionType {
    String,
    Number,
    Boolean,
    Time,
    Geo,
    Switch,
}

impl DimensionType {
    pub fn parse(s: &str) -> Option<DimensionType> {
        Some(match s {
            "string" => DimensionType::String,
            "number" => DimensionType::Number,
            "boolean" => DimensionType::Boolean,
            "time" => DimensionType::Time,
            "geo" => DimensionType::Geo,
            "switch" => DimensionType::Switch,
            _ => return None,
        })
    }

    pub const NAMES: &'static [&'static str] = &["string", "number", "boolean", "time", "geo", "switch"];

    pub fn name(&self) -> &'static str {
        match self {
            DimensionType::String => "string",
            DimensionType::Number => "number",
            DimensionType::Boolean => "boolean",
            DimensionType::Time => "time",
            DimensionType::Geo => "geo",
            DimensionType::Switch => "string",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Dimension {
    pub name: String,
    pub span: Span,
    pub type_: DimensionType,
    pub sql: Option<SqlTemplate>,
    pub case: Option<Case>,
    pub geo: Option<(SqlTemplate, SqlTemplate)>,
    pub primary_key: bool,
    pub sub_query: bool,
    pub propagate_filters_to_sub_query: bool,
    pub granularities: Vec<CustomGranularity>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub format: Option<String>,
    pub meta: Option<serde_json::Value>,
    pub public: bool,
    pub proxy: Option<Proxy>,
}

impl Dimension {
    pub fn granularity(&self, name: &str) -> Option<&CustomGranularity> {
        self.granularities.iter().find(|g| g.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    pub when: Vec<(SqlTemplate, CaseLabel)>,
    pub else_label: Option<CaseLabel>,
}

#[derive(Debug, Clone)]
pub enum CaseLabel {
    Text(String),
    Sql(SqlTemplate),
}

#[derive(Debug, Clone)]
pub struct CustomGranularity {
    pub name: String,
    pub title: Option<String>,
    pub kind: GranularityKind,
}

#[derive(Debug, Clone)]
pub enum GranularityKind {
    Interval { interval: Interval, offset: Option<Interval>, origin: Option<String> },
    Sql(SqlTemplate),
}

#[derive(Debug, Clone)]
pub struct Segment {
    pub name: String,
    pub span: Span,
    pub sql: SqlTemplate,
    pub title: Option<String>,
    pub description: Option<String>,
    pub meta: Option<serde_json::Value>,
    pub public: bool,
    pub proxy: Option<Proxy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relationship {
    /// many_to_one, belongs_to, belongsTo.
    ManyToOne,
    /// one_to_many, has_many, hasMany.
    OneToMany,
    /// one_to_one, has_one, hasOne.
    OneToOne,
}

impl Relationship {
    pub fn parse(s: &str) -> Option<Relationship> {
        Some(match s {
            "many_to_one" | "manyToOne" | "belongs_to" | "belongsTo" => Relationship::ManyToOne,
            "one_to_many" | "oneToMany" | "has_many" | "hasMany" => Relationship::OneToMany,
            "one_to_one" | "oneToOne" | "has_one" | "hasOne" => Relationship::OneToOne,
            _ => return None,
        })
    }

    pub const NAMES: &'static [&'static str] = &[
        "many_to_one",
        "one_to_many",
        "one_to_one",
        "belongs_to",
        "has_many",
        "has_one",
        "belongsTo",
        "hasMany",
        "hasOne",
        "manyToOne",
        "oneToMany",
        "oneToOne",
    ];
}

#[derive(Debug, Clone)]
pub struct Join {
    pub target: CubeId,
    pub relationship: Relationship,
    pub sql: SqlTemplate,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Hierarchy {
    pub name: String,
    pub title: Option<String>,
    pub public: bool,
    pub levels: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Folder {
    pub name: String,
    pub members: Vec<FolderItem>,
}

#[derive(Debug, Clone)]
pub enum FolderItem {
    Member(String),
    Folder(Folder),
}
