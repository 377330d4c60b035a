//! Query-time enforcement: the members a query names must be visible to the caller, and the
//! row filters of the caller's policies are added for every cube the query reads.
//!
//! Cube's algorithm (1.7) for the cubes and views a query names: each named member needs a
//! granting policy; a member's rows are the OR of its granting policies' filters (a policy
//! without filters grants every row); a cube's rows are the AND over its named members. cubec
//! adds, stricter than Cube: the cubes under a view and every cube the SQL joins through (also
//! inside `sub_query` dimensions) need an applicable policy too, and their rows are the OR of
//! the applicable policies' filters. Filter values come from the security context and are bound
//! as parameters like any user filter; a missing value denies the query.

use super::caller::{denied, Caller};
use crate::diag::Diagnostic;
use crate::plan::Plan;
use crate::query::{FilterNode, Query, QueryMember};
use crate::resolve::{
    ContextPath, CubeId, FilterValues, MemberRef, Model, Policy, RowFilter, RowLevel, TemplatePart, ValueItem,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// What has been enforced on one query so far.
pub struct Guard {
    /// Cubes whose row filters are in the query already.
    covered: BTreeSet<CubeId>,
    /// Every row filter added, with the cube it protects.
    added: Vec<(CubeId, FilterNode)>,
}

/// Checks the members `query` names and adds the row filters of the cubes and views it names
/// (and of the cubes under the views it names).
pub fn guard_named(model: &Model, query: &mut Query, caller: &Caller) -> Result<Guard, Vec<Diagnostic>> {
    let mut guard = Guard { covered: BTreeSet::new(), added: Vec::new() };
    if let Some(m) = query_members(query).into_iter().find(|m| !caller.member_visible(m.cube, m.member)) {
        return Err(vec![hidden(&m.name)]);
    }
    if !caller.is_policed() {
        return Ok(guard);
    }
    let touched: Vec<QueryMember> = query_members(query).into_iter().cloned().collect();
    // The cubes and views named, each with the members named in it.
    let mut named: Vec<(CubeId, Vec<MemberRef>)> = Vec::new();
    for m in &touched {
        match named.iter_mut().find(|(c, _)| *c == m.cube) {
            Some((_, list)) if !list.contains(&m.member) => list.push(m.member),
            Some(_) => {}
            None => named.push((m.cube, vec![m.member])),
        }
    }
    let mut filters = Vec::new();
    for (cube, members) in &named {
        let Some(policies) = caller.applicable(*cube) else { continue };
        // Per member: the policies that grant it; the member is unrestricted when one of them
        // grants every row. Distinct policy sets are ANDed.
        let mut sets: Vec<Vec<&Policy>> = Vec::new();
        for m in members {
            let granting: Vec<&Policy> =
                policies.iter().copied().filter(|p| p.members.as_ref().is_none_or(|g| g.grants(*m))).collect();
            if granting.iter().any(|p| p.rows == RowLevel::AllRows) {
                continue;
            }
            if !sets.contains(&granting) {
                sets.push(granting);
            }
        }
        for set in sets {
            filters.push((*cube, rows_of(model, *cube, &set, query, caller)?));
        }
        guard.covered.insert(*cube);
    }
    // The cubes under the views named: the cube member each view member stands for, and the
    // view's join path to it.
    let mut under: BTreeSet<CubeId> = BTreeSet::new();
    for m in touched.iter().filter(|m| m.source_cube != m.cube) {
        under.insert(m.source_cube);
        under.extend(m.join_path.iter().copied());
    }
    for cube in under {
        if let Some(f) = cube_rows(model, cube, query, caller, Some(&touched))? {
            filters.push((cube, f));
        }
        guard.covered.insert(cube);
    }
    for (cube, f) in filters {
        query.filters.push(f.clone());
        guard.added.push((cube, f));
    }
    Ok(guard)
}

impl Guard {
    /// Adds the row filters of cubes the plan reads that no named member covered: cubes joined
    /// through, and cubes read inside `sub_query` dimensions (those filters apply inside the
    /// subquery only). Returns whether the query changed, so the caller plans again.
    pub fn guard_plan(
        &mut self,
        model: &Model,
        query: &mut Query,
        plan: &Plan,
        caller: &Caller,
    ) -> Result<bool, Vec<Diagnostic>> {
        if !caller.is_policed() {
            return Ok(false);
        }
        let main: Vec<CubeId> = plan.joins.cubes().collect();
        let mut changed = false;
        for &cube in &main {
            if self.covered.insert(cube) {
                if let Some(f) = cube_rows(model, cube, query, caller, None)? {
                    query.filters.push(f.clone());
                    self.added.push((cube, f));
                    changed = true;
                }
            }
        }
        for sub in &plan.sub_queries {
            for cube in sub.joins.cubes() {
                if self.covered.insert(cube) {
                    if let Some(f) = cube_rows(model, cube, query, caller, None)? {
                        self.added.push((cube, f));
                    }
                }
            }
            // Every policy filter of a cube the subquery reads applies inside it.
            for (cube, f) in &self.added {
                if sub.joins.contains(*cube) && !query.sub_query_filters.contains(f) {
                    if f.is_measure() {
                        return Err(vec![denied(
                            "access denied: a row filter on a measure cannot apply inside a sub_query dimension",
                        )]);
                    }
                    query.sub_query_filters.push(f.clone());
                    changed = true;
                }
            }
        }
        Ok(changed)
    }
}

fn hidden(name: &str) -> Diagnostic {
    denied(format!("You requested hidden member: `{name}`"))
        .with_help("this member is not public, or no access policy grants it to your security context")
}

/// Every member the query names: measures, dimensions, time dimensions, segments, filters.
fn query_members(q: &Query) -> Vec<&QueryMember> {
    let mut out: Vec<&QueryMember> = Vec::new();
    out.extend(&q.measures);
    out.extend(&q.dimensions);
    out.extend(q.time_dimensions.iter().map(|t| &t.member));
    out.extend(&q.segments);
    fn walk<'a>(f: &'a FilterNode, out: &mut Vec<&'a QueryMember>) {
        match f {
            FilterNode::Leaf(l) => out.push(&l.member),
            FilterNode::And(v) | FilterNode::Or(v) => v.iter().for_each(|c| walk(c, out)),
        }
    }
    q.filters.iter().for_each(|f| walk(f, &mut out));
    out
}

/// The rows of a cube the caller reads without naming its members (under a view, joined
/// through): some policy must apply; the OR of the applicable policies' filters, `None` when one
/// grants every row.
fn cube_rows(
    model: &Model,
    cube: CubeId,
    query: &Query,
    caller: &Caller,
    named: Option<&[QueryMember]>,
) -> Result<Option<FilterNode>, Vec<Diagnostic>> {
    let Some(policies) = caller.applicable(cube) else { return Ok(None) };
    if policies.is_empty() {
        let message = match named.and_then(|n| n.iter().find(|m| m.source_cube == cube || m.join_path.contains(&cube)))
        {
            Some(m) => {
                format!("access denied: `{}` reads data that no access policy grants to this security context", m.name)
            }
            None => {
                "access denied: this query joins data that no access policy grants to this security context".to_string()
            }
        };
        return Err(vec![denied(message)]);
    }
    if policies.iter().any(|p| p.rows == RowLevel::AllRows) {
        return Ok(None);
    }
    rows_of(model, cube, policies, query, caller).map(Some)
}

/// The OR over `policies` of the AND of each one's row filters, as a query filter.
fn rows_of(
    model: &Model,
    cube: CubeId,
    policies: &[&Policy],
    query: &Query,
    caller: &Caller,
) -> Result<FilterNode, Vec<Diagnostic>> {
    let mut alternatives = Vec::new();
    for p in policies {
        let RowLevel::Filters(list) = &p.rows else { continue };
        let all: Vec<Value> = list.iter().map(|f| filter_json(model, cube, f, caller)).collect::<Result<_, _>>()?;
        alternatives.push(if all.len() == 1 {
            all.into_iter().next().unwrap_or(Value::Null)
        } else {
            json!({ "and": all })
        });
    }
    let json =
        if alternatives.len() == 1 { alternatives.pop().unwrap_or(Value::Null) } else { json!({ "or": alternatives }) };
    crate::query::parse_filter(&json, model, "access_policy", query.now).map_err(|diags| {
        // The policy was checked at load time; what fails now is a value from the context.
        diags
            .into_iter()
            .map(|d| {
                denied(format!(
                    "access denied: the access policy of `{}` cannot be applied: {}",
                    model.cube(cube).name,
                    d.message
                ))
            })
            .collect()
    })
}

/// A policy row filter in the REST shape, with the security context's values in it.
fn filter_json(model: &Model, cube: CubeId, f: &RowFilter, caller: &Caller) -> Result<Value, Vec<Diagnostic>> {
    Ok(match f {
        RowFilter::And(v) => {
            json!({ "and": v.iter().map(|c| filter_json(model, cube, c, caller)).collect::<Result<Vec<_>, _>>()? })
        }
        RowFilter::Or(v) => {
            json!({ "or": v.iter().map(|c| filter_json(model, cube, c, caller)).collect::<Result<Vec<_>, _>>()? })
        }
        RowFilter::Leaf { member, operator, values } => {
            let c = model.cube(cube);
            let mut obj = serde_json::Map::new();
            obj.insert("member".into(), json!(format!("{}.{}", c.name, c.member_name(*member))));
            obj.insert("operator".into(), json!(operator.name()));
            match values {
                FilterValues::None => {}
                FilterValues::List(items) => {
                    let mut out = Vec::new();
                    for item in items {
                        item_values(item, caller.context, &mut out)?;
                    }
                    obj.insert("values".into(), Value::Array(out));
                }
                FilterValues::Context(path) => {
                    let mut out = Vec::new();
                    context_values(path, caller.context, &mut out)?;
                    obj.insert("values".into(), Value::Array(out));
                }
            }
            Value::Object(obj)
        }
    })
}

fn missing(path: &ContextPath) -> Vec<Diagnostic> {
    vec![denied(format!(
        "access denied: the access policy needs `{}`, which the security context does not have",
        path.display()
    ))
    .with_help("the token (or --security-context) must carry this key")]
}

/// A scalar context value as a filter value (Cube compares as strings).
fn scalar(v: &Value, path: &ContextPath) -> Result<Value, Vec<Diagnostic>> {
    match v {
        Value::String(_) => Ok(v.clone()),
        Value::Number(n) => Ok(json!(n.to_string())),
        Value::Bool(b) => Ok(json!(b.to_string())),
        Value::Null => Err(missing(path)),
        _ => Err(vec![denied(format!(
            "access denied: `{}` in the security context is {}, not a value or a list of values",
            path.display(),
            if v.is_object() { "an object" } else { "a nested list" }
        ))]),
    }
}

/// `values: "{ securityContext.xs }"`: a list gives its items, a scalar itself.
fn context_values(path: &ContextPath, context: &Value, out: &mut Vec<Value>) -> Result<(), Vec<Diagnostic>> {
    match path.lookup(context) {
        None => Err(missing(path)),
        Some(Value::Array(items)) if items.is_empty() => {
            Err(vec![denied(format!("access denied: `{}` in the security context is an empty list", path.display()))])
        }
        Some(Value::Array(items)) => {
            for i in items {
                out.push(scalar(i, path)?);
            }
            Ok(())
        }
        Some(v) => {
            out.push(scalar(v, path)?);
            Ok(())
        }
    }
}

/// One item of `values: [...]`: a literal, a whole-value template (a list expands to its items,
/// never one comma-joined string), or text with values pasted in (scalars only).
fn item_values(item: &ValueItem, context: &Value, out: &mut Vec<Value>) -> Result<(), Vec<Diagnostic>> {
    match item {
        ValueItem::Literal(v) => out.push(v.clone().map(Value::String).unwrap_or(Value::Null)),
        ValueItem::Template(parts) => match parts.as_slice() {
            [TemplatePart::Value(path)] => context_values(path, context, out)?,
            _ => {
                let mut text = String::new();
                for p in parts {
                    match p {
                        TemplatePart::Text(t) => text.push_str(t),
                        TemplatePart::Value(path) => {
                            let v = path.lookup(context).ok_or_else(|| missing(path))?;
                            if v.is_array() {
                                return Err(vec![denied(format!(
                                    "access denied: `{}` is a list and cannot be pasted into text",
                                    path.display()
                                ))]);
                            }
                            match scalar(v, path)? {
                                Value::String(s) => text.push_str(&s),
                                other => text.push_str(&other.to_string()),
                            }
                        }
                    }
                }
                out.push(Value::String(text));
            }
        },
    }
    Ok(())
}
