//! Rows in Cube's result shape: each row an object keyed by member name, numbers and times as
//! strings, time buckets also under the dimension's own name (as Cube does for old clients).

use super::{Cell, ResultSet};
use crate::sql::CompiledSql;
use indexmap::IndexMap;
use serde_json::Value;

pub type CubeRow = IndexMap<String, Value>;

/// Converts database rows to Cube's `data` array.
pub fn cube_rows(result: &ResultSet, compiled: &CompiledSql) -> Vec<CubeRow> {
    let members: Vec<String> =
        result.columns.iter().map(|c| compiled.alias_to_member.get(c).cloned().unwrap_or_else(|| c.clone())).collect();
    // `cube.td.granularity` is also reported as `cube.td`, unless that is a column itself.
    let mut extra: Vec<(usize, String)> = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let parts: Vec<&str> = m.split('.').collect();
        if parts.len() == 3 {
            let base = format!("{}.{}", parts[0], parts[1]);
            if !members.contains(&base) && !extra.iter().any(|(_, b)| *b == base) {
                extra.push((i, base));
            }
        }
    }
    result
        .rows
        .iter()
        .map(|row| {
            let mut out = CubeRow::with_capacity(members.len() + extra.len());
            for (m, c) in members.iter().zip(row) {
                out.insert(m.clone(), c.to_cube_json());
            }
            for (i, base) in &extra {
                out.insert(base.clone(), row.get(*i).map(Cell::to_cube_json).unwrap_or(Value::Null));
            }
            out
        })
        .collect()
}

/// Exact decimals without insignificant zeros (`30.00` -> `30`), so engines agree.
pub fn normalize_decimal(s: &str) -> String {
    if s.contains('.') && !s.contains(['e', 'E']) {
        let t = s.trim_end_matches('0').trim_end_matches('.');
        if t.is_empty() || t == "-" {
            "0".to_string()
        } else {
            t.to_string()
        }
    } else {
        s.to_string()
    }
}

/// A value as a table or CSV cell shows it: strings without quotes, null as nothing.
pub fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn headers(rows: &[CubeRow]) -> Vec<String> {
    rows.first().map(|r| r.keys().cloned().collect()).unwrap_or_default()
}

/// RFC 4180 CSV with a header line.
pub fn to_csv(rows: &[CubeRow]) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let cols = headers(rows);
    let mut out = cols.iter().map(|c| field(c)).collect::<Vec<_>>().join(",") + "\r\n";
    for r in rows {
        out.push_str(&r.values().map(|v| field(&cell_text(v))).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// Cube's `annotation`: title, short title and type of every member in the result.
pub fn annotation(model: &crate::resolve::Model, compiled: &CompiledSql) -> Value {
    use crate::resolve::MemberRef;
    let mut measures = serde_json::Map::new();
    let mut dimensions = serde_json::Map::new();
    let mut time_dimensions = serde_json::Map::new();
    for member in compiled.alias_to_member.values() {
        let parts: Vec<&str> = member.split('.').collect();
        let base = format!("{}.{}", parts[0], parts.get(1).unwrap_or(&""));
        let Some((cid, r)) = model.member(&base) else { continue };
        let cube = model.cube(cid);
        let (title, ty) = match r {
            MemberRef::Measure(i) => {
                let m = &cube.measures[i];
                let ty = m.type_.value_type();
                (m.title.clone().unwrap_or_else(|| crate::resolve::cubes::titleize(&m.name)), ty)
            }
            MemberRef::Dimension(i) => {
                let d = &cube.dimensions[i];
                (d.title.clone().unwrap_or_else(|| crate::resolve::cubes::titleize(&d.name)), d.type_.name())
            }
            MemberRef::Segment(_) => continue,
        };
        let entry =
            serde_json::json!({ "title": format!("{} {}", cube.title, title), "shortTitle": title, "type": ty });
        match (r, parts.len()) {
            (MemberRef::Measure(_), _) => measures.insert(member.clone(), entry),
            (_, 3) => time_dimensions.insert(member.clone(), entry),
            _ => dimensions.insert(member.clone(), entry),
        };
    }
    serde_json::json!({ "measures": measures, "dimensions": dimensions, "segments": {}, "timeDimensions": time_dimensions })
}
