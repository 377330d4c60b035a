//! A `/v1/load` answer as the `query` tool gives it: typed columns and rows (numbers as
//! numbers), whether the row cap cut it, and a compact text table.

use super::{number, text_cell, Answer};
use serde_json::{json, Value};

/// Columns in the answer's order: the row objects keep the SELECT's order; an empty answer
/// takes the annotation's.
fn columns(answer: &Value, format_of: &dyn Fn(&str) -> Option<Value>) -> Vec<Value> {
    let annotation = &answer["annotation"];
    let described = |name: &str| -> Value {
        for section in ["dimensions", "timeDimensions", "measures", "segments"] {
            if let Some(a) = annotation[section].get(name) {
                let mut c = json!({ "name": name, "title": a["title"], "type": a["type"] });
                if let Some(f) = a.get("format").filter(|f| !f.is_null()).cloned().or_else(|| format_of(name)) {
                    c["format"] = f;
                }
                return c;
            }
        }
        json!({ "name": name })
    };
    let names: Vec<String> = match answer["data"].as_array().and_then(|d| d.first()).and_then(Value::as_object) {
        Some(first) => first.keys().cloned().collect(),
        None => ["dimensions", "timeDimensions", "measures"]
            .iter()
            .flat_map(|s| annotation[*s].as_object().into_iter().flat_map(|o| o.keys().cloned()))
            .collect(),
    };
    // A time dimension by granularity comes twice (`x.month` and Cube's plain `x`): once here.
    let doubled = |n: &String| {
        names.iter().any(|o| o.len() > n.len() && o.starts_with(n.as_str()) && o[n.len()..].starts_with('.'))
    };
    names.iter().filter(|n| !doubled(n)).map(|n| described(n)).collect()
}

/// `format_of`: a member's `format` (from the caller's meta).
pub fn answer(load: &Value, cap: usize, format_of: &dyn Fn(&str) -> Option<Value>) -> Answer {
    let cols = columns(load, format_of);
    let numeric: Vec<bool> = cols.iter().map(|c| c["type"] == "number").collect();
    let data = load["data"].as_array().cloned().unwrap_or_default();
    let truncated = data.len() > cap;
    let rows: Vec<Value> = data
        .iter()
        .take(cap)
        .map(|r| {
            Value::Array(
                cols.iter()
                    .zip(&numeric)
                    .map(|(c, n)| {
                        let v = &r[c["name"].as_str().unwrap_or_default()];
                        if *n {
                            number(v)
                        } else {
                            v.clone()
                        }
                    })
                    .collect(),
            )
        })
        .collect();
    let used: Vec<Value> = load["usedPreAggregations"]
        .as_object()
        .into_iter()
        .flat_map(|o| o.values())
        .map(|u| u["preAggregationId"].clone())
        .collect();
    let structured = json!({
        "columns": cols,
        "rows": rows,
        "row_count": rows.len(),
        "truncated": truncated,
        "row_cap": cap,
        "last_refresh_time": load["lastRefreshTime"],
        "pre_aggregations": used,
    });
    Answer { text: text_table(&cols, &rows, truncated, cap), structured }
}

/// A compact, pipe-separated table: the header, then one line per row.
fn text_table(cols: &[Value], rows: &[Value], truncated: bool, cap: usize) -> String {
    let header: Vec<&str> = cols.iter().map(|c| c["name"].as_str().unwrap_or("")).collect();
    let mut out = header.join(" | ");
    out.push('\n');
    for r in rows {
        let cells: Vec<String> = r.as_array().into_iter().flatten().map(text_cell).collect();
        out.push_str(&cells.join(" | "));
        out.push('\n');
    }
    out.push_str(&format!("({} row{})", rows.len(), if rows.len() == 1 { "" } else { "s" }));
    if truncated {
        out.push_str(&format!(
            " — cut at {cap}: more rows exist; do not total these, ask a grouped question or add filters"
        ));
    }
    out
}
