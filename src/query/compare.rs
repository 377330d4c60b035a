//! `compareDateRange`: Cube answers a query whose time dimension carries a list of ranges as one
//! ordinary query per range (its `compareDateRangeTransformer`), each result row tagged with the
//! range it belongs to. This module does the split and the tag; each part compiles as usual.

use super::{parse_query, QueryOptions};
use crate::diag::{Code, Diagnostic};
use crate::resolve::Model;
use serde_json::Value;

/// Ranges one query may compare: far above any dashboard, far below a cost.
const MAX_RANGES: usize = 100;

fn err(message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(Code::QueryDateRange, message)
}

/// One query per item of the `compareDateRange` of `query`'s time dimension, in order, each with
/// that item as its `dateRange`; `None` when no time dimension carries `compareDateRange`.
pub fn split(query: &Value) -> Result<Option<Vec<Value>>, Diagnostic> {
    let Some(tds) = query.get("timeDimensions").and_then(Value::as_array) else { return Ok(None) };
    let carrying: Vec<usize> =
        tds.iter().enumerate().filter(|(_, td)| td.get("compareDateRange").is_some()).map(|(i, _)| i).collect();
    let Some(&at) = carrying.first() else { return Ok(None) };
    if carrying.len() > 1 {
        return Err(err("compareDateRange can only exist for one timeDimension"));
    }
    if tds[at].get("dateRange").is_some() {
        return Err(err(format!("`timeDimensions[{at}]` has both `dateRange` and `compareDateRange`"))
            .with_help("give the ranges to compare in `compareDateRange` only"));
    }
    let ranges = match tds[at].get("compareDateRange") {
        Some(Value::Array(r)) if !r.is_empty() => r,
        _ => {
            return Err(err(format!("`timeDimensions[{at}].compareDateRange` must be a non-empty list"))
                .with_help("e.g. [[\"2024-01-01\", \"2024-01-31\"], \"last month\"]"))
        }
    };
    if ranges.len() > MAX_RANGES {
        return Err(err(format!("compareDateRange has {} ranges; at most {MAX_RANGES}", ranges.len())));
    }
    Ok(Some(
        ranges
            .iter()
            .map(|range| {
                let mut q = query.clone();
                if let Some(td) = q["timeDimensions"][at].as_object_mut() {
                    td.remove("compareDateRange");
                    td.insert("dateRange".into(), range.clone());
                }
                q
            })
            .collect(),
    ))
}

/// The tag of one part's rows: the first time dimension's date range, normalized and local,
/// `from - to` (`2024-01-01T00:00:00.000 - 2024-01-31T23:59:59.999`), as Cube writes it.
pub fn label(model: &Model, part: &Value, opts: &QueryOptions) -> Result<String, Vec<Diagnostic>> {
    let first =
        part.get("timeDimensions").and_then(|t| t.get(0)).and_then(|t| t.get("dimension")).and_then(Value::as_str);
    let parsed = parse_query(part, model, opts)?;
    let range = parsed
        .time_dimensions
        .iter()
        .find(|td| Some(td.member.name.as_str()) == first && td.date_range.is_some())
        .and_then(|td| td.date_range);
    let Some((from, to)) = range else {
        return Err(vec![err(
            "Inconsistent QueryTimeDimension configuration for the compare date range query, dateRange required",
        )
        .with_help("the first time dimension must be the one whose ranges are compared")]);
    };
    Ok(format!("{} - {}", crate::vocab::time::format_local(from), crate::vocab::time::format_local(to)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_into_one_query_per_range() {
        let q = json!({"measures": ["o.count"], "timeDimensions": [{"dimension": "o.t", "granularity": "day",
            "compareDateRange": [["2024-01-01", "2024-01-07"], "last week"]}]});
        let parts = split(&q).unwrap().unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0]["timeDimensions"][0]["dateRange"], json!(["2024-01-01", "2024-01-07"]));
        assert_eq!(parts[1]["timeDimensions"][0]["dateRange"], json!("last week"));
        assert!(parts[1]["timeDimensions"][0].get("compareDateRange").is_none());
        assert_eq!(split(&json!({"measures": ["o.count"]})).unwrap(), None);
        let two = json!({"timeDimensions": [{"dimension": "a", "compareDateRange": ["x"]}, {"dimension": "b", "compareDateRange": ["y"]}]});
        assert!(split(&two).is_err());
        let both = json!({"timeDimensions": [{"dimension": "a", "dateRange": "x", "compareDateRange": ["y"]}]});
        assert!(split(&both).is_err());
        assert!(split(&json!({"timeDimensions": [{"dimension": "a", "compareDateRange": []}]})).is_err());
    }
}
