//! `Model`: the resolved model, the resolve stage's IR. Types are enums, references inside SQL
//! are resolved to the members and cubes they name, views know which cube member each of their
//! members stands for. The cube and its members are here; the parts each have a file: model SQL
//! ([`sql`]), members ([`members`]), access policies ([`policy`] and their [`condition`]
//! language) and refresh keys ([`refresh`]). Nothing here reads model files: that is the rest of
//! the resolve stage.

pub mod condition;
mod members;
mod policy;
mod preagg;
mod refresh;
mod sql;

use crate::diag::Span;
pub use condition::{Condition, ContextPath};
pub use members::*;
pub use policy::*;
pub use preagg::*;
pub use refresh::*;
pub use sql::*;
use std::collections::HashMap;

pub type CubeId = usize;

#[derive(Debug, Default, Clone)]
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
    pub pre_aggregations: Vec<PreAggregation>,
    pub folders: Vec<Folder>,
    /// `refresh_key`; `None`: the dialect's default (every 10 s, or 2 min on warehouses).
    pub refresh_key: Option<RefreshKey>,
    /// `access_policy`, resolved; empty means no restriction.
    pub access_policy: Vec<Policy>,
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
