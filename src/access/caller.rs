//! [`Caller`]: one security context against one model: its groups, the policies that apply to
//! it on each cube and view, and so what it may see. `/v1/meta`, the query parser's suggestions
//! and query enforcement all ask the same object, so what meta shows and what a query may name
//! cannot drift apart.

use crate::diag::{Code, Diagnostic};
use crate::query::{AccessOptions, Visibility};
use crate::resolve::Policy;
use crate::resolve::{CubeId, MemberRef, Model};
use serde_json::Value;

pub struct Caller<'m> {
    model: &'m Model,
    pub context: &'m Value,
    pub groups: Vec<String>,
    /// Per cube: `None` when it has no policies, else the policies that apply to this caller
    /// (group matches and every condition holds). Empty when no policy is in force.
    applicable: Vec<Option<Vec<&'m Policy>>>,
    hide_non_public: bool,
}

/// The diagnostic every access denial carries: the REST API answers it with 403.
pub fn denied(message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(Code::AccessDenied, message)
}

impl<'m> Caller<'m> {
    /// Evaluates the model's policies for `context`. A `groups` claim that is present but not a
    /// list of strings is refused (Cube would split a string into characters).
    pub fn new(model: &'m Model, context: &'m Value, opts: &AccessOptions) -> Result<Caller<'m>, Diagnostic> {
        let policed = opts.enforce && model.cubes.iter().any(|c| !c.access_policy.is_empty());
        let groups = if policed { groups_of(context, &opts.groups_claim)? } else { Vec::new() };
        // Without policies (every compile of most models) nothing is allocated per cube.
        let cubes = if policed { model.cubes.as_slice() } else { &[] };
        let applicable = cubes
            .iter()
            .map(|c| {
                (!c.access_policy.is_empty()).then(|| {
                    c.access_policy
                        .iter()
                        .filter(|p| p.groups.matches(&groups))
                        // A condition that cannot be evaluated denies this policy only.
                        .filter(|p| p.conditions.iter().all(|cond| cond.eval(context) == Ok(true)))
                        .collect()
                })
            })
            .collect();
        Ok(Caller { model, context, groups, applicable, hide_non_public: opts.enforce && opts.hide_non_public })
    }

    /// Whether any policy is in force for this caller.
    pub fn is_policed(&self) -> bool {
        self.applicable.iter().any(Option::is_some)
    }

    /// The policies that apply on `cube`; `None` when the cube has none (unrestricted).
    pub fn applicable(&self, cube: CubeId) -> Option<&[&'m Policy]> {
        self.applicable.get(cube).and_then(|a| a.as_deref())
    }

    /// Whether the caller may read any row of `cube`: it has no policies, or one applies.
    pub fn cube_readable(&self, cube: CubeId) -> bool {
        self.applicable(cube).is_none_or(|p| !p.is_empty())
    }

    /// Whether some applicable policy grants member `m` of `cube` (cube-level rules only).
    pub fn grants(&self, cube: CubeId, m: MemberRef) -> bool {
        match self.applicable(cube) {
            None => true,
            Some(list) => list.iter().any(|p| p.members.as_ref().is_none_or(|g| g.grants(m))),
        }
    }

    /// Whether the caller may query member `m` of `cube` (a cube or a view) and see it in meta:
    /// public when that is enforced, granted by the cube's (or view's) own policies, and for a
    /// view member, the cubes it reads (the member's cube and the view's join path to it) each
    /// readable by the caller.
    pub fn member_visible(&self, cube: CubeId, m: MemberRef) -> bool {
        let c = self.model.cube(cube);
        if self.hide_non_public && (!c.public || !c.member_public(m)) {
            return false;
        }
        if !self.grants(cube, m) {
            return false;
        }
        match c.proxy(m) {
            Some(p) => self.cube_readable(p.cube) && p.join_path.iter().all(|&j| self.cube_readable(j)),
            None => true,
        }
    }

    /// Whether a cube or view has anything the caller may query.
    pub fn cube_visible(&self, cube: CubeId) -> bool {
        let c = self.model.cube(cube);
        (!self.hide_non_public || c.public) && c.member_refs().any(|m| self.member_visible(cube, m))
    }
}

/// The query parser's suggestions ask the same questions as meta and enforcement.
impl Visibility for Caller<'_> {
    fn cube_visible(&self, cube: CubeId) -> bool {
        Caller::cube_visible(self, cube)
    }

    fn member_visible(&self, cube: CubeId, m: MemberRef) -> bool {
        Caller::member_visible(self, cube, m)
    }
}

/// The caller's groups: the claim at `path` (dotted), which must be a list of strings; absent
/// or null means no groups.
fn groups_of(context: &Value, path: &str) -> Result<Vec<String>, Diagnostic> {
    let value = path.split('.').filter(|s| !s.is_empty()).try_fold(context, |v, k| v.get(k));
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(denied(format!(
                    "access denied: the security context's `{path}` must be a list of group names, and it holds {other}"
                ))),
            })
            .collect(),
        Some(other) => Err(denied(format!(
            "access denied: the security context's `{path}` must be a list of group names, found {}",
            match other {
                Value::String(_) => "a string (write [\"name\"])",
                Value::Object(_) => "an object",
                _ => "a scalar",
            }
        ))
        .with_help("groups come from the token's claim; `--context-to-groups` names another claim")),
    }
}
