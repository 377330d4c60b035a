//! What a query is parsed under besides its JSON: "now", the limit, the caller's security
//! context and how access control runs; and [`Visibility`], what the parser may name in its
//! suggestions (the access stage's caller implements it, so this stage need not know it).

use super::MAX_LIMIT;
use crate::resolve::{CubeId, MemberRef};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Knobs that are not part of the query JSON.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    /// "Now" for relative date ranges; tests fix it.
    pub now: DateTime<Utc>,
    /// The largest `limit` a query may ask for (Cube's `CUBEJS_DB_QUERY_LIMIT`).
    pub max_limit: u64,
    /// Who is asking: the verified JWT payload under `cubec serve`, `{}` elsewhere. Model SQL
    /// reads it as `SECURITY_CONTEXT` and `COMPILE_CONTEXT.security_context`.
    pub security_context: Value,
    /// Access control: policies enforced (by default), the groups claim, `public` checks.
    pub access: AccessOptions,
    /// Ungrouped queries without the primary keys among their dimensions (Cube's
    /// `allowUngroupedWithoutPrimaryKey`, which its SQL API turns on): rows are then the
    /// source rows of the selected members, not one per record.
    pub ungrouped_without_primary_key: bool,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            now: Utc::now(),
            max_limit: MAX_LIMIT,
            security_context: Value::Object(Default::default()),
            access: AccessOptions::default(),
            ungrouped_without_primary_key: false,
        }
    }
}

/// How access control runs for a request or command.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessOptions {
    /// Access policies apply. Off only under `cubec serve --dev`, which serves every member
    /// and row as before policies existed.
    pub enforce: bool,
    /// Where the caller's groups are in the security context: a dotted path, `groups` by
    /// default (`--context-to-groups`).
    pub groups_claim: String,
    /// `public: false` cubes and members cannot be queried (the REST API; the CLI, a model
    /// author's tool, may query them).
    pub hide_non_public: bool,
}

impl AccessOptions {
    /// No policies, every member: for model authors' tools (docs, deep checks, diffs).
    pub fn off() -> AccessOptions {
        AccessOptions { enforce: false, ..AccessOptions::default() }
    }
}

impl Default for AccessOptions {
    fn default() -> Self {
        AccessOptions { enforce: true, groups_claim: "groups".to_string(), hide_non_public: false }
    }
}

/// Which cubes and members a caller may see: "did you mean" suggestions name only those, so an
/// error never reveals a hidden name.
pub trait Visibility {
    fn cube_visible(&self, cube: CubeId) -> bool;
    fn member_visible(&self, cube: CubeId, m: MemberRef) -> bool;
}
