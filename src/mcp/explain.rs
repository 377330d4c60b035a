//! `explain_empty`: why a query has no rows. Each filter, segment and date range is dropped in
//! turn (one small query each, through the caller's own access), a date range is set beside
//! the time dimension's first and last values, and a filter value that matches nothing gets
//! the nearest values that exist. Every query runs as the caller, so nothing here shows a row
//! or value the caller could not read.

use super::run::Runner;
use super::{Answer, ToolError};
use serde_json::{json, Map, Value};

/// No rows; or, for a query without dimensions, only zeros and nulls (a total over nothing).
fn is_empty(query: &Value, answer: &Value) -> bool {
    let rows = answer["data"].as_array().cloned().unwrap_or_default();
    let grouped = query["dimensions"].as_array().is_some_and(|d| !d.is_empty())
        || query["timeDimensions"].as_array().is_some_and(|t| t.iter().any(|t| t.get("granularity").is_some()));
    if rows.is_empty() {
        return true;
    }
    !grouped
        && rows.iter().all(|r| {
            r.as_object()
                .into_iter()
                .flatten()
                .all(|(_, v)| v.is_null() || v.as_str().is_some_and(|s| s.parse::<f64>().is_ok_and(|f| f == 0.0)))
        })
}

pub async fn explain_empty(tools: &Runner, args: &Map<String, Value>, context: &Value) -> Result<Answer, ToolError> {
    let Some(Value::Object(q)) = args.get("query") else {
        return Err(ToolError::params("`query` must be a Cube query object"));
    };
    let mut query = Value::Object(q.clone());
    query["limit"] = json!(1);
    let answer = tools.load(query.clone(), context).await?;
    if !is_empty(&query, &answer) {
        let text = "the query has rows (or non-zero totals): nothing to explain".to_string();
        return Ok(Answer { structured: json!({ "empty": false }), text });
    }
    let mut findings: Vec<Value> = Vec::new();
    let mut lines: Vec<String> = Vec::new();

    // Each filter, segment and date range dropped alone.
    let filters = query["filters"].as_array().cloned().unwrap_or_default();
    for (i, f) in filters.iter().enumerate() {
        let mut without = query.clone();
        if let Some(a) = without["filters"].as_array_mut() {
            a.remove(i);
        }
        if !is_empty(&without, &tools.load(without.clone(), context).await?) {
            lines.push(format!("the filter {f} removes every row: without it the query has rows"));
            findings.push(json!({ "emptied_by": "filter", "filter": f }));
        }
    }
    let segments = query["segments"].as_array().cloned().unwrap_or_default();
    for (i, s) in segments.iter().enumerate() {
        let mut without = query.clone();
        if let Some(a) = without["segments"].as_array_mut() {
            a.remove(i);
        }
        if !is_empty(&without, &tools.load(without.clone(), context).await?) {
            lines.push(format!("the segment {s} removes every row"));
            findings.push(json!({ "emptied_by": "segment", "segment": s }));
        }
    }
    let normalized = &answer["query"]["timeDimensions"];
    let tds = query["timeDimensions"].as_array().cloned().unwrap_or_default();
    for (i, td) in tds.iter().enumerate() {
        if td.get("dateRange").is_none() {
            continue;
        }
        let dim = td["dimension"].as_str().unwrap_or_default();
        let mut without = query.clone();
        if let Some(t) = without["timeDimensions"].get_mut(i).and_then(Value::as_object_mut) {
            t.remove("dateRange");
        }
        let rows_without = !is_empty(&without, &tools.load(without.clone(), context).await?);
        let (first, last) = (edge(tools, dim, "asc", context).await?, edge(tools, dim, "desc", context).await?);
        let range =
            normalized.get(i).and_then(|t| t.get("dateRange")).cloned().unwrap_or_else(|| td["dateRange"].clone());
        let outside = match (range.get(0).and_then(Value::as_str), range.get(1).and_then(Value::as_str), &first, &last)
        {
            (Some(from), Some(to), Some(first), Some(last)) => to < first.as_str() || from > last.as_str(),
            _ => false,
        };
        let mut f = json!({ "dimension": dim, "date_range": range, "data_from": first, "data_to": last, "outside_data": outside });
        if rows_without {
            f["emptied_by"] = json!("date_range");
        }
        match (&first, &last) {
            (Some(a), Some(b)) if outside => lines.push(format!(
                "the date range {range} of {dim} lies outside the data, which runs from {a} to {b}"
            )),
            (Some(a), Some(b)) if rows_without => lines.push(format!(
                "no rows in the date range {range} of {dim} (the data runs from {a} to {b}); without it the query has rows"
            )),
            (None, None) => lines.push(format!("{dim} has no values at all that you can read")),
            _ => {}
        }
        findings.push(f);
    }

    // Values that match nothing: the nearest ones that exist.
    for f in &filters {
        let (Some(member), Some("equals" | "notEquals")) = (f["member"].as_str(), f["operator"].as_str()) else {
            continue;
        };
        let Ok(values) = existing_values(tools, member, context).await else { continue };
        for v in f["values"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if values.iter().any(|x| x == v) {
                continue;
            }
            let mut near: Vec<(f64, &String)> = values
                .iter()
                .map(|x| (strsim::jaro_winkler(&v.to_lowercase(), &x.to_lowercase()), x))
                .filter(|(s, _)| *s > 0.6)
                .collect();
            near.sort_by(|a, b| b.0.total_cmp(&a.0));
            let near: Vec<&String> = near.into_iter().take(3).map(|(_, x)| x).collect();
            lines.push(if near.is_empty() {
                format!("{member} has no value `{v}`")
            } else {
                format!("{member} has no value `{v}`; the nearest are {near:?}")
            });
            findings.push(json!({ "member": member, "value_not_found": v, "nearest": near }));
        }
    }
    if lines.is_empty() {
        lines.push(
            "no single filter, segment or date range explains it: the rows you may read do not meet the conditions together"
                .to_string(),
        );
    }
    Ok(Answer { structured: json!({ "empty": true, "findings": findings }), text: lines.join("\n") })
}

/// The first or last value of a time dimension (of the rows the caller may read).
async fn edge(tools: &Runner, dim: &str, dir: &str, context: &Value) -> Result<Option<String>, ToolError> {
    let q = json!({
        "dimensions": [dim],
        "filters": [{ "member": dim, "operator": "set" }],
        "order": [[dim, dir]],
        "limit": 1,
    });
    let a = tools.load(q, context).await?;
    Ok(a["data"].get(0).and_then(|r| r[dim].as_str()).map(str::to_string))
}

/// Up to a thousand values of a dimension.
async fn existing_values(tools: &Runner, member: &str, context: &Value) -> Result<Vec<String>, ToolError> {
    let q = json!({ "dimensions": [member], "limit": 1000 });
    let a = tools.load(q, context).await?;
    Ok(a["data"].as_array().into_iter().flatten().filter_map(|r| r[member].as_str().map(str::to_string)).collect())
}
