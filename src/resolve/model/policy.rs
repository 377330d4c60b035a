//! `access_policy` items, resolved: who each is for, the conditions on the security context,
//! the members it grants and the rows it lets through. Read from the model files by
//! [`crate::resolve::policy`]; evaluated and enforced by the `access` stage.

use super::condition::{Condition, ContextPath};
use super::MemberRef;
use crate::diag::Span;
use crate::vocab::Operator;

/// One resolved `access_policy` item.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub span: Span,
    pub groups: Groups,
    /// Every condition must hold for the policy to apply.
    pub conditions: Vec<Condition>,
    /// `member_level`: `None` grants every member.
    pub members: Option<MemberGrant>,
    pub rows: RowLevel,
}

/// Who a policy is for.
#[derive(Debug, Clone, PartialEq)]
pub enum Groups {
    /// `"*"`, alone or in a list.
    Any,
    Names(Vec<String>),
}

impl Groups {
    pub fn matches(&self, caller_groups: &[String]) -> bool {
        match self {
            Groups::Any => true,
            Groups::Names(names) => names.iter().any(|n| caller_groups.contains(n)),
        }
    }
}

/// `member_level`: a member is granted when it is included and not excluded.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberGrant {
    pub includes: MemberSet,
    pub excludes: MemberSet,
}

impl MemberGrant {
    pub fn grants(&self, m: MemberRef) -> bool {
        self.includes.contains(m) && !self.excludes.contains(m)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum MemberSet {
    All,
    Some(Vec<MemberRef>),
}

impl MemberSet {
    pub fn contains(&self, m: MemberRef) -> bool {
        match self {
            MemberSet::All => true,
            MemberSet::Some(list) => list.contains(&m),
        }
    }
}

/// `row_level`.
#[derive(Debug, Clone, PartialEq)]
pub enum RowLevel {
    /// No `row_level`, or `allow_all: true`.
    AllRows,
    /// `filters`: all must hold.
    Filters(Vec<RowFilter>),
}

/// A row filter in the REST filter shape, its member resolved in the policy's cube or view.
#[derive(Debug, Clone, PartialEq)]
pub enum RowFilter {
    Leaf { member: MemberRef, operator: Operator, values: FilterValues },
    And(Vec<RowFilter>),
    Or(Vec<RowFilter>),
}

/// Where a row filter's values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValues {
    /// `set` / `notSet`.
    None,
    /// `values: [...]`: literals and `"{ securityContext.x }"` templates.
    List(Vec<ValueItem>),
    /// `values: "{ securityContext.xs }"`: the context value itself, a list or a scalar.
    Context(ContextPath),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueItem {
    /// A literal; `None` for YAML null.
    Literal(Option<String>),
    /// Text with `{ securityContext.x }` parts.
    Template(Vec<TemplatePart>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    Text(String),
    Value(ContextPath),
}
