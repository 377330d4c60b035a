//! Stage 3, query: Cube REST query JSON to a normalized [`Query`].
//!
//! Input: the query JSON and the resolved [`Model`]. Output: a [`Query`] whose members are
//! looked up (view members resolved to the cube members they stand for), three-part dimensions
//! split into time dimensions, date ranges made absolute in the query timezone, and limits
//! applied; or diagnostics naming the field at fault. The parser knows the caller only through
//! [`Visibility`] (so its hints never name a hidden member); enforcing policies is the `access`
//! stage's work, after this one.

pub mod compare;
pub mod dates;
mod options;
mod parse;

use crate::resolve::{CubeId, MemberRef, Model};
use crate::vocab::Operator;
use chrono::NaiveDateTime;
pub use options::{AccessOptions, QueryOptions, Visibility};
pub use parse::{parse_filter, parse_query, parse_query_as};

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

impl QueryMember {
    /// A cube's own member, named as a query names it (`cube.member`): what the planner asks
    /// for when it adds members the query did not name (a calculated measure's inputs, a
    /// multi-stage leaf's members).
    pub fn of_cube(model: &Model, cube: CubeId, member: MemberRef) -> QueryMember {
        let c = model.cube(cube);
        QueryMember {
            name: format!("{}.{}", c.name, c.member_name(member)),
            cube,
            member,
            source_cube: cube,
            source_member: member,
            join_path: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimeDimension {
    pub member: QueryMember,
    pub granularity: Option<String>,
    /// Local date-times in the query timezone, inclusive.
    pub date_range: Option<(NaiveDateTime, NaiveDateTime)>,
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
    /// Every leaf filter under `nodes`, in order, whatever and/or groups hold them.
    pub fn leaves(nodes: &[FilterNode]) -> Vec<&Filter> {
        let mut out = Vec::new();
        for n in nodes {
            match n {
                FilterNode::Leaf(f) => out.push(f),
                FilterNode::And(v) | FilterNode::Or(v) => out.extend(FilterNode::leaves(v)),
            }
        }
        out
    }

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
