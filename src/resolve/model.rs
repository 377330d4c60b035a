//! `Model`: the resolved model. Types are enums, references inside SQL are resolved to the
//! members and cubes they name, views know which cube member each of their members stands for.

use crate::diag::Span;
use crate::vocab::TimeUnit;
use std::collections::HashMap;

pub type CubeId = usize;

#[derive(Debug, Default)]
pub struct Model {
    pub cubes: Vec<Cube>,
    pub(crate) index: HashMap<String, CubeId>,
}

impl Model {
    pub fn cube_id(&self, name: &str) -> Option<CubeId> {
        self.index.get(name).copied()
    }

    pub fn cube(&self, id: CubeId) -> &Cube {
        &self.cubes[id]
    }

    pub fn cube_by_name(&self, name: &str) -> Option<&Cube> {
        self.cube_id(name).map(|id| &self.cubes[id])
    }

    /// Looks up `cube.member`.
    pub fn member(&self, path: &str) -> Option<(CubeId, MemberRef)> {
        let (c, m) = path.split_once('.')?;
        let id = self.cube_id(c)?;
        self.cubes[id].member(m).map(|r| (id, r))
    }

    pub fn cube_names(&self) -> impl Iterator<Item = &str> {
        self.cubes.iter().map(|c| c.name.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CubeKind {
    Cube,
    View,
}

#[derive(Debug, Clone)]
pub enum CubeSource {
    /// `sql_table`, inlined verbatim.
    Table(String),
    /// `sql: SELECT * FROM t` with nothing else, rendered as just `t`.
    SelectAll(String),
    /// Any other `sql`, rendered as `(<sql>)`.
    Sql(SqlTemplate),
}

#[derive(Debug, Clone)]
pub struct Cube {
    pub name: String,
    pub kind: CubeKind,
    pub name_span: Span,
    pub source: Option<CubeSource>,
    pub sql_alias: Option<String>,
    pub data_source: String,
    pub title: String,
    pub description: Option<String>,
    pub meta: Option<serde_json::Value>,
    pub public: bool,
    pub measures: Vec<Measure>,
    pub dimensions: Vec<Dimension>,
    pub segments: Vec<Segment>,
    pub joins: Vec<Join>,
    pub hierarchies: Vec<Hierarchy>,
    pub pre_aggregations: Vec<String>,
    pub folders: Vec<Folder>,
    /// `access_policy`, resolved; empty means no restriction.
    pub access_policy: Vec<super::policy::Policy>,
    pub(crate) members: HashMap<String, MemberRef>,
}

impl Cube {
    pub fn member(&self, name: &str) -> Option<MemberRef> {
        self.members.get(name).copied()
    }

    pub fn primary_keys(&self) -> impl Iterator<Item = usize> + '_ {
        self.dimensions.iter().enumerate().filter(|(_, d)| d.primary_key).map(|(i, _)| i)
    }

    pub fn is_view(&self) -> bool {
        self.kind == CubeKind::View
    }

    /// The name used in column aliases: `sql_alias` or the cube name.
    pub fn alias_base(&self) -> &str {
        self.sql_alias.as_deref().unwrap_or(&self.name)
    }

    /// The SQL column alias Cube gives a member of this cube (`orders__created_at`).
    pub fn column_alias(&self, r: MemberRef) -> String {
        crate::util::alias_name(&format!("{}.{}", self.alias_base(), self.member_name(r)))
    }

    /// For a view member: the cube member it stands for.
    pub fn proxy(&self, r: MemberRef) -> Option<&Proxy> {
        match r {
            MemberRef::Measure(i) => self.measures[i].proxy.as_ref(),
            MemberRef::Dimension(i) => self.dimensions[i].proxy.as_ref(),
            MemberRef::Segment(i) => self.segments[i].proxy.as_ref(),
        }
    }

    /// The member's own `public` (primary keys default to false).
    pub fn member_public(&self, r: MemberRef) -> bool {
        match r {
            MemberRef::Measure(i) => self.measures[i].public,
            MemberRef::Dimension(i) => self.dimensions[i].public,
            MemberRef::Segment(i) => self.segments[i].public,
        }
    }

    /// Every member, in declaration order: measures, dimensions, segments.
    pub fn member_refs(&self) -> impl Iterator<Item = MemberRef> + '_ {
        (0..self.measures.len())
            .map(MemberRef::Measure)
            .chain((0..self.dimensions.len()).map(MemberRef::Dimension))
            .chain((0..self.segments.len()).map(MemberRef::Segment))
    }

    pub fn member_name(&self, r: MemberRef) -> &str {
        match r {
            MemberRef::Measure(i) => &self.measures[i].name,
            MemberRef::Dimension(i) => &self.dimensions[i].name,
            MemberRef::Segment(i) => &self.segments[i].name,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberRef {
    Measure(usize),
    Dimension(usize),
    Segment(usize),
}

/// A model SQL snippet with its references resolved.
#[derive(Debug, Clone, Default)]
pub struct SqlTemplate {
    pub parts: Vec<SqlPart>,
    pub span: Option<Span>,
}

impl SqlTemplate {
    pub fn text(s: impl Into<String>) -> SqlTemplate {
        SqlTemplate { parts: vec![SqlPart::Text(s.into())], span: None }
    }

    pub fn refs(&self) -> impl Iterator<Item = &Ref> {
        self.parts.iter().filter_map(|p| match p {
            SqlPart::Ref(r, _) => Some(r),
            SqlPart::Text(_) => None,
        })
    }

    /// The literal SQL when there are no references (e.g. `count(*)`).
    pub fn as_plain(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                SqlPart::Text(t) => s.push_str(t),
                SqlPart::Ref(..) => return None,
            }
        }
        Some(s)
    }
}

#[derive(Debug, Clone)]
pub enum SqlPart {
    Text(String),
    Ref(Ref, Span),
}

/// What a `{...}` reference resolved to.
#[derive(Debug, Clone, PartialEq)]
pub enum Ref {
    /// `{CUBE}`, `{users}`: the cube's alias in the query.
    CubeAlias { cube: CubeId, path: Vec<CubeId> },
    /// `{member}`, `{users.count}`, `{a.b.member}`.
    Member { cube: CubeId, member: MemberRef, path: Vec<CubeId> },
    /// `{created_at.month}`, `{created_at.fiscal_year}`.
    Granularity { cube: CubeId, dimension: usize, granularity: String },
    /// `{users.sql()}`.
    CubeSql { cube: CubeId },
    /// `SECURITY_CONTEXT`, `FILTER_PARAMS`, ... kept for the renderer.
    Context { root: String, path: Vec<String>, call: Option<(String, Vec<String>)> },
}

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
