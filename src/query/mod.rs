//! Stage 3, query: Cube REST query JSON to a normalized [`Query`].
//!
//! Input: the query JSON and the resolved [`Model`]. Output: a [`Query`] whose members are
//! looked up (view members resolved to the cube members they stand for), three-part dimensions
//! split into time dimensions, date ranges made absolute in the query timezone, and limits
//! applied; or diagnostics naming the field at fault.

pub mod compare;
pub mod dates;
mod parse;

use crate::resolve::{CubeId, MemberRef};
use chrono::NaiveDateTime;
pub use parse::{parse_filter, parse_query, parse_query_as, QueryOptions};

/// Cube's defaults: 10,000 rows unless asked, 50,000 at most.
pub const DEFAULT_LIMIT: u64 = 10_000;
pub const MAX_LIMIT: u64 = 50_000;

/// A member as the query names it, and the cube member that computes it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryMember {
    /// `cube.member` as written (a view name when queried through a view).
    pub name: String,
    /// The cube or view named in the query.
    pub cube: CubeId,
    pub member: MemberRef,
    /// The cube member behind a view member (or the member itself).
    pub source_cube: CubeId,
    pub source_member: MemberRef,
    /// Join path fixed by a view, from its root cube to `source_cube`.
    pub join_path: Vec<CubeId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimeDimension {
    pub member: QueryMember,
    pub granularity: Option<String>,
    /// Local date-times in the query timezone, inclusive.
    pub date_range: Option<(NaiveDateTime, NaiveDateTime)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
    In,
    NotIn,
    Gt,
    Gte,
    Lt,
    Lte,
    Set,
    NotSet,
    InDateRange,
    NotInDateRange,
    OnTheDate,
    BeforeDate,
    BeforeOrOnDate,
    AfterDate,
    AfterOrOnDate,
    MeasureFilter,
}

impl Operator {
    pub const ALL: &'static [(&'static str, Operator)] = &[
        ("equals", Operator::Equals),
        ("notEquals", Operator::NotEquals),
        ("contains", Operator::Contains),
        ("notContains", Operator::NotContains),
        ("startsWith", Operator::StartsWith),
        ("notStartsWith", Operator::NotStartsWith),
        ("endsWith", Operator::EndsWith),
        ("notEndsWith", Operator::NotEndsWith),
        ("in", Operator::In),
        ("notIn", Operator::NotIn),
        ("gt", Operator::Gt),
        ("gte", Operator::Gte),
        ("lt", Operator::Lt),
        ("lte", Operator::Lte),
        ("set", Operator::Set),
        ("notSet", Operator::NotSet),
        ("inDateRange", Operator::InDateRange),
        ("notInDateRange", Operator::NotInDateRange),
        ("onTheDate", Operator::OnTheDate),
        ("beforeDate", Operator::BeforeDate),
        ("beforeOrOnDate", Operator::BeforeOrOnDate),
        ("afterDate", Operator::AfterDate),
        ("afterOrOnDate", Operator::AfterOrOnDate),
        ("measureFilter", Operator::MeasureFilter),
    ];

    pub fn parse(s: &str) -> Option<Operator> {
        Operator::ALL.iter().find(|(n, _)| *n == s).map(|(_, o)| *o)
    }

    pub fn name(&self) -> &'static str {
        Operator::ALL.iter().find(|(_, o)| o == self).map(|(n, _)| *n).unwrap_or("")
    }

    /// Operators whose values are dates compared as UTC instants.
    pub fn is_date(&self) -> bool {
        matches!(
            self,
            Operator::InDateRange
                | Operator::NotInDateRange
                | Operator::OnTheDate
                | Operator::BeforeDate
                | Operator::BeforeOrOnDate
                | Operator::AfterDate
                | Operator::AfterOrOnDate
        )
    }

    pub fn needs_values(&self) -> bool {
        !matches!(self, Operator::Set | Operator::NotSet | Operator::MeasureFilter)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub member: QueryMember,
    pub operator: Operator,
    /// Values as strings (Cube converts every value to a string); `None` is JSON null.
    pub values: Vec<Option<String>>,
    /// For date operators: the local bounds, already padded.
    pub date_bounds: Option<(NaiveDateTime, NaiveDateTime)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FilterNode {
    Leaf(Filter),
    And(Vec<FilterNode>),
    Or(Vec<FilterNode>),
}

impl FilterNode {
    /// The member of the first leaf, as the query names it.
    pub fn first_member_name(&self) -> Option<&str> {
        match self {
            FilterNode::Leaf(f) => Some(&f.member.name),
            FilterNode::And(v) | FilterNode::Or(v) => v.iter().find_map(FilterNode::first_member_name),
        }
    }

    /// Whether the filter is on measures (HAVING) rather than dimensions (WHERE).
    pub fn is_measure(&self) -> bool {
        match self {
            FilterNode::Leaf(f) => {
                matches!(f.member.source_member, MemberRef::Measure(_)) && f.operator != Operator::MeasureFilter
            }
            FilterNode::And(v) | FilterNode::Or(v) => v.first().map(FilterNode::is_measure).unwrap_or(false),
        }
    }
}

/// What an order entry sorts by.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    /// The member name as written (`cube.td.granularity` for a time bucket).
    pub id: String,
    pub desc: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub measures: Vec<QueryMember>,
    pub dimensions: Vec<QueryMember>,
    pub time_dimensions: Vec<TimeDimension>,
    pub segments: Vec<QueryMember>,
    pub filters: Vec<FilterNode>,
    /// `None`: Cube's default order; `Some(vec![])`: no ORDER BY.
    pub order: Option<Vec<OrderItem>>,
    pub limit: u64,
    pub offset: Option<u64>,
    pub timezone: chrono_tz::Tz,
    pub ungrouped: bool,
    /// See [`QueryOptions::ungrouped_without_primary_key`].
    pub ungrouped_without_primary_key: bool,
    pub total: bool,
    pub join_hints: Vec<Vec<CubeId>>,
    /// "Now" in the query timezone, for defaults that depend on it.
    pub now: NaiveDateTime,
    /// See [`QueryOptions::security_context`].
    pub security_context: serde_json::Value,
    /// Access-policy row filters of cubes that `sub_query` dimensions read: applied inside
    /// those subqueries whatever `propagate_filters_to_sub_query` says.
    pub sub_query_filters: Vec<FilterNode>,
}
