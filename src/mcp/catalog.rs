//! What an agent may know of the model: built from the caller's own `/v1/meta` answer, so a
//! member the caller's policies or `public: false` hide is never found, described or suggested.

use crate::resolve::Model;
use serde_json::{json, Value};

/// One member of the caller's meta.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    /// `measure`, `dimension` or `segment`.
    pub kind: &'static str,
    pub cube: String,
    pub cube_is_view: bool,
    /// The meta entry, as `/v1/meta` gives it.
    pub entry: Value,
}

/// The caller's cubes, views and members.
pub struct Catalog {
    pub meta: Value,
    pub members: Vec<Member>,
}

impl Catalog {
    pub fn new(meta: Value) -> Catalog {
        let mut members = Vec::new();
        for cube in meta["cubes"].as_array().into_iter().flatten() {
            let cube_name = cube["name"].as_str().unwrap_or_default().to_string();
            let is_view = cube["type"] == "view";
            for (key, kind) in [("measures", "measure"), ("dimensions", "dimension"), ("segments", "segment")] {
                for m in cube[key].as_array().into_iter().flatten() {
                    members.push(Member {
                        name: m["name"].as_str().unwrap_or_default().to_string(),
                        kind,
                        cube: cube_name.clone(),
                        cube_is_view: is_view,
                        entry: m.clone(),
                    });
                }
            }
        }
        Catalog { meta, members }
    }

    pub fn cube(&self, name: &str) -> Option<&Value> {
        self.meta["cubes"].as_array()?.iter().find(|c| c["name"] == name)
    }

    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    /// Every name the caller may use: cubes, views and members.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let cubes = self.meta["cubes"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str());
        cubes.chain(self.members.iter().map(|m| m.name.as_str()))
    }

    /// "Did you mean" among the names the caller may use only.
    pub fn suggest(&self, word: &str) -> Option<String> {
        crate::util::did_you_mean(word, self.names())
    }

    /// Ranked matches of `query` (every word of it) in names, titles, descriptions and `meta`.
    pub fn search(&self, query: &str, kind: Option<&str>, cube: Option<&str>, limit: usize) -> Vec<(f64, &Member)> {
        let q = query.trim().to_lowercase();
        let words: Vec<&str> = q.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        let mut hits: Vec<(f64, &Member)> = self
            .members
            .iter()
            .filter(|m| kind.is_none_or(|k| k == "any" || k == m.kind))
            .filter(|m| cube.is_none_or(|c| c == m.cube))
            .filter_map(|m| {
                let s = score(m, &q, &words);
                (s > 0.0).then_some((s, m))
            })
            .collect();
        // Best first; among equals, views (an agent's safest entry point) before cubes, then by name.
        hits.sort_by(|a, b| {
            b.0.total_cmp(&a.0).then(b.1.cube_is_view.cmp(&a.1.cube_is_view)).then(a.1.name.cmp(&b.1.name))
        });
        hits.truncate(limit);
        hits
    }
}

/// How well a member matches: exact and partial name matches count most, then each query
/// word found in the name, title, description or `meta`, then the closest word by spelling
/// (so `convertion` still finds `conversion`). Views get a small lead.
fn score(m: &Member, q: &str, words: &[&str]) -> f64 {
    let name = m.name.to_lowercase();
    let short = name.rsplit('.').next().unwrap_or(&name).to_string();
    let title = m.entry["title"].as_str().unwrap_or_default().to_lowercase();
    let description = m.entry["description"].as_str().unwrap_or_default().to_lowercase();
    let meta = if m.entry["meta"].is_null() { String::new() } else { m.entry["meta"].to_string().to_lowercase() };
    let mut s = 0.0;
    if q.is_empty() {
        return 1.0;
    }
    let spoken = short.replace('_', " ");
    let short_title = m.entry["shortTitle"].as_str().unwrap_or_default().to_lowercase();
    if name == q || short == q || spoken == q || short_title == q {
        s += 100.0;
    } else if name.contains(q) {
        s += 50.0;
    } else if spoken.contains(q) || short_title.contains(q) {
        // The whole phrase, in order, in the member's own name or title.
        s += 25.0;
    }
    let text_words: Vec<&str> = [&short, &title, &description]
        .into_iter()
        .flat_map(|t| t.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| w.len() > 2)
        .collect();
    let mut matched = 0;
    for w in words {
        let mut best: f64 = 0.0;
        if short.contains(w) {
            best = best.max(20.0);
        }
        if title.contains(w) {
            best = best.max(15.0);
        }
        if description.contains(w) {
            best = best.max(8.0);
        }
        if meta.contains(w) {
            best = best.max(5.0);
        }
        if best == 0.0 && w.len() > 3 {
            let close = text_words.iter().map(|t| strsim::jaro_winkler(w, t)).fold(0.0, f64::max);
            if close > 0.88 {
                best = 10.0 * close;
            }
        }
        if best > 0.0 {
            matched += 1;
        }
        s += best;
    }
    if s == 0.0 {
        return 0.0;
    }
    // Every word found beats most words found.
    if matched == words.len() {
        s *= 1.5;
    }
    if m.cube_is_view {
        s += 2.0;
    }
    // Among equals, the member whose name says least beyond the query.
    let extra = short.split('_').count().saturating_sub(words.len());
    s - 0.5 * extra as f64
}

/// A search hit as the tool answers it.
pub fn hit(score: f64, m: &Member) -> Value {
    let mut o = json!({
        "name": m.name,
        "kind": m.kind,
        "type": m.entry["type"],
        "title": m.entry["title"],
        "in": m.cube,
        "in_view": m.cube_is_view,
        "score": (score * 10.0).round() / 10.0,
    });
    for k in ["description", "format"] {
        if let Some(v) = m.entry.get(k).filter(|v| !v.is_null()) {
            o[k] = v.clone();
        }
    }
    o
}

const STANDARD_GRANULARITIES: [&str; 8] = ["second", "minute", "hour", "day", "week", "month", "quarter", "year"];

/// A member described: its meta entry's useful fields, and for time dimensions every
/// granularity it can be grouped by.
pub fn describe_member(m: &Member) -> Value {
    let e = &m.entry;
    let mut o = json!({ "name": m.name, "kind": m.kind, "in": m.cube });
    for k in ["title", "type", "aggType", "format", "description", "meta", "primaryKey", "aliasMember"] {
        if let Some(v) = e.get(k).filter(|v| !v.is_null()) {
            o[k] = v.clone();
        }
    }
    if e["type"] == "time" {
        let mut grans: Vec<Value> = STANDARD_GRANULARITIES.iter().map(|g| json!(g)).collect();
        grans.extend(e["granularities"].as_array().into_iter().flatten().filter_map(|g| g.get("name").cloned()));
        o["granularities"] = Value::Array(grans);
    }
    o
}

/// A cube or view described: its members (names, kinds, types, titles) and, for a cube, the
/// cubes its joins reach that the caller may see.
pub fn describe_cube(catalog: &Catalog, model: &Model, cube: &Value, member_cap: usize) -> Value {
    let name = cube["name"].as_str().unwrap_or_default();
    let members: Vec<Value> = catalog
        .members
        .iter()
        .filter(|m| m.cube == name)
        .take(member_cap)
        .map(|m| {
            let mut o =
                json!({ "name": m.name, "kind": m.kind, "type": m.entry["type"], "title": m.entry["shortTitle"] });
            if let Some(d) = m.entry.get("description").filter(|v| !v.is_null()) {
                o["description"] = d.clone();
            }
            o
        })
        .collect();
    let total = catalog.members.iter().filter(|m| m.cube == name).count();
    let mut o = json!({
        "name": name,
        "kind": cube["type"],
        "title": cube["title"],
        "members": members,
        "member_count": total,
    });
    if let Some(d) = cube.get("description").filter(|v| !v.is_null()) {
        o["description"] = d.clone();
    }
    if total > member_cap {
        o["members_truncated"] = json!(true);
    }
    if cube["type"] == "cube" {
        o["joins_to"] = json!(reachable(catalog, model, name));
    }
    o
}

/// Cubes reachable from `name` through the model's joins, the caller's visible ones only.
fn reachable(catalog: &Catalog, model: &Model, name: &str) -> Vec<String> {
    let Some(start) = model.cube_id(name) else { return Vec::new() };
    let mut seen = vec![start];
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(c) = queue.pop_front() {
        for j in &model.cube(c).joins {
            if !seen.contains(&j.target) {
                seen.push(j.target);
                queue.push_back(j.target);
            }
        }
    }
    seen.into_iter().skip(1).map(|c| model.cube(c).name.clone()).filter(|n| catalog.cube(n).is_some()).collect()
}
