//! Model SQL with its `{...}` references resolved.

use super::{CubeId, MemberRef};
use crate::diag::Span;

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
