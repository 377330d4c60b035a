//! The `/v1/meta` body: public cubes and views with their public members, in Cube's shape
//! (names `cube.member`, titles prefixed with the cube's title, `type` `number` for every
//! aggregate, `aggType` the aggregation, `connectedComponent` equal for cubes joined together).
//! Under access policies the body is the caller's: only members it may query, cubes and views
//! with nothing left disappear, and no other member is named (drill members, `aliasMember`).

use crate::access::Caller;
use crate::resolve::cubes::titleize;
use crate::resolve::{Cube, CubeId, CubeKind, GranularityKind, MemberRef, Model};
use serde_json::{json, Map, Value};

/// What one caller may see (everything public without a caller).
struct Shown<'a> {
    model: &'a Model,
    caller: Option<&'a Caller<'a>>,
}

impl Shown<'_> {
    fn member(&self, cube: CubeId, r: MemberRef) -> bool {
        self.model.cube(cube).member_public(r) && self.caller.is_none_or(|k| k.member_visible(cube, r))
    }

    /// A member named `cube.member` (or bare, in `cube`), if it exists and may be shown.
    fn named(&self, cube: CubeId, name: &str) -> bool {
        let found = match name.split_once('.') {
            Some(_) => self.model.member(name),
            None => self.model.cube(cube).member(name).map(|r| (cube, r)),
        };
        found.is_some_and(|(c, r)| self.caller.is_none_or(|k| k.member_visible(c, r)))
    }
}

/// The meta body for everyone (`caller` `None`) or for one caller under access policies.
pub fn meta(model: &Model, caller: Option<&Caller>) -> Value {
    let components = connected_components(model);
    let shown = Shown { model, caller: caller.filter(|c| c.is_policed()) };
    let cubes: Vec<Value> = model
        .cubes
        .iter()
        .enumerate()
        .filter(|(id, c)| c.public && shown.caller.is_none_or(|k| k.cube_visible(*id)))
        .map(|(id, c)| cube(&shown, id, c, components[id]))
        .collect();
    json!({ "cubes": cubes })
}

fn cube(shown: &Shown, id: CubeId, c: &Cube, component: usize) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(c.name));
    o.insert("type".into(), json!(if c.kind == CubeKind::View { "view" } else { "cube" }));
    o.insert("title".into(), json!(c.title));
    optional(&mut o, "description", c.description.as_ref().map(|d| json!(d)));
    optional(&mut o, "meta", c.meta.clone());
    o.insert("isVisible".into(), json!(true));
    o.insert("public".into(), json!(true));
    o.insert("connectedComponent".into(), json!(component));
    let measures: Vec<Value> = (0..c.measures.len())
        .filter(|&i| shown.member(id, MemberRef::Measure(i)))
        .map(|i| measure(shown, id, c, &c.measures[i]))
        .collect();
    let dimensions: Vec<Value> = (0..c.dimensions.len())
        .filter(|&i| shown.member(id, MemberRef::Dimension(i)))
        .map(|i| dimension(shown, c, &c.dimensions[i]))
        .collect();
    let segments: Vec<Value> = (0..c.segments.len())
        .filter(|&i| shown.member(id, MemberRef::Segment(i)))
        .map(|i| {
            let s = &c.segments[i];
            let short = s.title.clone().unwrap_or_else(|| titleize(&s.name));
            let mut o = member_head(c, &s.name, &short, s.description.as_deref(), s.meta.clone());
            alias_member(shown, &mut o, s.proxy.as_ref());
            Value::Object(o)
        })
        .collect();
    let hierarchies: Vec<Value> = c
        .hierarchies
        .iter()
        .filter(|h| h.public && h.levels.iter().all(|l| shown.caller.is_none() || shown.named(id, l)))
        .map(|h| {
            json!({
                "name": format!("{}.{}", c.name, h.name),
                "title": h.title.clone().unwrap_or_else(|| titleize(&h.name)),
                "levels": h.levels,
                "public": true,
            })
        })
        .collect();
    o.insert("measures".into(), Value::Array(measures));
    o.insert("dimensions".into(), Value::Array(dimensions));
    o.insert("segments".into(), Value::Array(segments));
    o.insert("hierarchies".into(), Value::Array(hierarchies));
    o.insert("folders".into(), json!([]));
    o.insert("nestedFolders".into(), json!([]));
    Value::Object(o)
}

fn measure(shown: &Shown, id: CubeId, c: &Cube, m: &crate::resolve::Measure) -> Value {
    let model = shown.model;
    let short = m.title.clone().unwrap_or_else(|| titleize(&m.name));
    let mut o = member_head(c, &m.name, &short, m.description.as_deref(), m.meta.clone());
    o.insert("type".into(), json!(m.type_.value_type()));
    o.insert("aggType".into(), json!(m.type_.agg_name()));
    optional(&mut o, "format", m.format.as_ref().map(|f| json!(f)));
    o.insert("cumulative".into(), json!(m.rolling_window.is_some()));
    o.insert("cumulativeTotal".into(), json!(false));
    let drill: Vec<String> = m
        .drill_members
        .iter()
        .filter(|d| shown.caller.is_none() || shown.named(id, d))
        .map(|d| qualified(c, d))
        .collect();
    o.insert("drillMembers".into(), json!(drill));
    let (measures, dimensions): (Vec<&String>, Vec<&String>) =
        drill.iter().partition(|d| matches!(model.member(d), Some((_, crate::resolve::MemberRef::Measure(_)))));
    o.insert("drillMembersGrouped".into(), json!({ "measures": measures, "dimensions": dimensions }));
    alias_member(shown, &mut o, m.proxy.as_ref());
    Value::Object(o)
}

fn dimension(shown: &Shown, c: &Cube, d: &crate::resolve::Dimension) -> Value {
    let short = d.title.clone().unwrap_or_else(|| titleize(&d.name));
    let mut o = member_head(c, &d.name, &short, d.description.as_deref(), d.meta.clone());
    o.insert("type".into(), json!(d.type_.name()));
    optional(&mut o, "format", d.format.as_ref().map(|f| json!(f)));
    o.insert("suggestFilterValues".into(), json!(true));
    o.insert("primaryKey".into(), json!(d.primary_key));
    if !d.granularities.is_empty() {
        let grans: Vec<Value> = d
            .granularities
            .iter()
            .map(|g| {
                let mut o = Map::new();
                o.insert("name".into(), json!(g.name));
                o.insert("title".into(), json!(g.title.clone().unwrap_or_else(|| titleize(&g.name))));
                if let GranularityKind::Interval { interval, offset, origin } = &g.kind {
                    o.insert("interval".into(), json!(interval.to_string()));
                    optional(&mut o, "offset", offset.as_ref().map(|x| json!(x.to_string())));
                    optional(&mut o, "origin", origin.as_ref().map(|x| json!(x)));
                }
                Value::Object(o)
            })
            .collect();
        o.insert("granularities".into(), Value::Array(grans));
    }
    alias_member(shown, &mut o, d.proxy.as_ref());
    Value::Object(o)
}

/// The fields every member has.
fn member_head(
    c: &Cube,
    name: &str,
    short: &str,
    description: Option<&str>,
    meta: Option<Value>,
) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("name".into(), json!(format!("{}.{}", c.name, name)));
    o.insert("title".into(), json!(format!("{} {}", c.title, short)));
    o.insert("shortTitle".into(), json!(short));
    optional(&mut o, "description", description.map(|d| json!(d)));
    optional(&mut o, "meta", meta);
    o.insert("isVisible".into(), json!(true));
    o.insert("public".into(), json!(true));
    o
}

/// A view member names the cube member it stands for (under policies, only one the caller may
/// see).
fn alias_member(shown: &Shown, o: &mut Map<String, Value>, proxy: Option<&crate::resolve::Proxy>) {
    let model = shown.model;
    if let Some(p) = proxy.filter(|p| shown.caller.is_none_or(|k| k.member_visible(p.cube, p.member))) {
        let source = model.cube(p.cube);
        o.insert("aliasMember".into(), json!(format!("{}.{}", source.name, source.member_name(p.member))));
    }
}

/// Drill members may be written without the cube name.
fn qualified(c: &Cube, member: &str) -> String {
    if member.contains('.') {
        member.to_string()
    } else {
        format!("{}.{}", c.name, member)
    }
}

fn optional(o: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        o.insert(key.into(), v);
    }
}

/// Component ids over the join graph, joins taken both ways; views join nothing and get their own.
fn connected_components(model: &Model) -> Vec<usize> {
    let n = model.cubes.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for (id, c) in model.cubes.iter().enumerate() {
        for j in &c.joins {
            let (a, b) = (find(&mut parent, id), find(&mut parent, j.target));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    // Number components 1, 2, ... in cube order, as Cube does.
    let mut ids = vec![0; n];
    let mut next = 0;
    let mut seen = std::collections::HashMap::new();
    for (id, slot) in ids.iter_mut().enumerate() {
        let root = find(&mut parent, id);
        *slot = *seen.entry(root).or_insert_with(|| {
            next += 1;
            next
        });
    }
    ids
}
