//! What a build runs, before anything runs: the query that computes a rollup's rows (over the
//! building model, through the ordinary stages, so joins, fan-out, filters and time zones mean
//! what they mean in any query), its partitions, the query for the data's time range, the
//! verification query, and the names of the tables.

use super::layout::{self, Grain, Layout};
use crate::diag::Diagnostic;
use crate::query::{AccessOptions, QueryOptions};
use crate::resolve::*;
use crate::sql::{CompiledSql, Dialect, RenderOptions};
use crate::vocab::time::{add_units, format_local, period_start};
use crate::vocab::TimeUnit;
use chrono::{Duration, NaiveDateTime};
use serde_json::{json, Value};

/// One partition of a rollup: its key (`20240101`, or `all` when not partitioned) and its local
/// range (inclusive; `None` for the whole data).
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    pub key: String,
    pub range: Option<(NaiveDateTime, NaiveDateTime)>,
}

/// The partitions of `unit` covering `[from, to]` (local times), as Cube names them.
pub fn partitions(unit: Option<TimeUnit>, range: Option<(NaiveDateTime, NaiveDateTime)>) -> Vec<Partition> {
    let (Some(unit), Some((from, to))) = (unit, range) else {
        return vec![Partition { key: "all".into(), range }];
    };
    let mut out = Vec::new();
    let mut start = period_start(from, unit);
    // Bounded: a build range of decades at hourly partitions is refused before this.
    while start <= to && out.len() < 100_000 {
        let Some(next) = add_units(start, 1, unit) else { break };
        let key = if unit == TimeUnit::Hour { start.format("%Y%m%d%H") } else { start.format("%Y%m%d") };
        out.push(Partition { key: key.to_string(), range: Some((start, next - Duration::milliseconds(1))) });
        start = next;
    }
    out
}

fn member_name(model: &Model, c: CubeId, name: &str) -> String {
    format!("{}.{name}", model.cube(c).name)
}

/// The query (JSON over the building model) that computes `layout`'s rows for `range` of its
/// partitioned time dimension.
pub fn build_query(
    building: &Model,
    layout: &Layout,
    timezone: &str,
    range: Option<(NaiveDateTime, NaiveDateTime)>,
) -> Value {
    let mut dimensions = Vec::new();
    let mut time_dimensions = Vec::new();
    for g in &layout.grain {
        match g {
            Grain::Dimension { source: (c, d), .. } => {
                dimensions.push(json!(member_name(building, *c, &building.cube(*c).dimensions[*d].name)))
            }
            Grain::Segment { source: (c, s), .. } => {
                let seg = &building.cube(*c).segments[*s];
                dimensions.push(json!(member_name(building, *c, &layout::segment_dim_name(&seg.name))));
            }
            Grain::Time { source: (c, d), granularity, .. } => {
                let mut td = json!({
                    "dimension": member_name(building, *c, &building.cube(*c).dimensions[*d].name),
                    "granularity": granularity,
                });
                if let (Some((from, to)), true) = (range, time_dimensions.is_empty()) {
                    td["dateRange"] = json!([format_local(from), format_local(to)]);
                }
                time_dimensions.push(td);
            }
        }
    }
    let mut measures: Vec<Value> = layout
        .leaves
        .iter()
        .map(|l| {
            json!(member_name(
                building,
                l.build_measure.0,
                &building.cube(l.build_measure.0).measures[l.build_measure.1].name
            ))
        })
        .collect();
    measures.push(json!(member_name(building, layout.at.cube, layout::ROWS_MEASURE)));
    json!({
        "measures": measures,
        "dimensions": dimensions,
        "timeDimensions": time_dimensions,
        "timezone": timezone,
        "order": [],
    })
}

/// The query for the data's first and last time of the partitioned time dimension.
pub fn data_range_query(building: &Model, layout: &Layout, timezone: &str) -> Option<Value> {
    let Some(Grain::Time { source: (c, d), .. }) = layout.grain.iter().find(|g| matches!(g, Grain::Time { .. })) else {
        return None;
    };
    let dim = &building.cube(*c).dimensions[*d].name;
    Some(json!({
        "measures": [member_name(building, *c, &layout::time_min_name(dim)), member_name(building, *c, &layout::time_max_name(dim))],
        "timezone": timezone,
        "order": [],
    }))
}

/// Compiles a build query: every member, no limit, no order, no access policy (a rollup holds
/// every row; callers' policies apply when it is read), for the security context a build is
/// made for.
pub fn compile(
    building: &Model,
    json: &Value,
    dialect: &Dialect,
    context: &Value,
    inline: bool,
) -> Result<CompiledSql, Vec<Diagnostic>> {
    let opts = QueryOptions {
        access: AccessOptions::off(),
        security_context: context.clone(),
        max_limit: u64::MAX,
        ..QueryOptions::default()
    };
    let mut q = crate::query::parse_query(json, building, &opts)?;
    q.limit = u64::MAX;
    q.order = Some(Vec::new());
    let plan = crate::plan::plan(building, &q)?;
    crate::sql::render(building, &q, &plan, dialect, RenderOptions { inline })
}

/// The query counting the source rows of `range` that the rollup reads (its row-count measure
/// over the same joins and filters, ungrouped by anything): what the rollup's rows must add up
/// to.
pub fn source_rows_query(
    building: &Model,
    layout: &Layout,
    timezone: &str,
    range: Option<(NaiveDateTime, NaiveDateTime)>,
) -> Value {
    let mut q = build_query(building, layout, timezone, range);
    q["measures"] = json!([member_name(building, layout.at.cube, layout::ROWS_MEASURE)]);
    q["dimensions"] = json!([]);
    if let Some(tds) = q["timeDimensions"].as_array_mut() {
        for td in tds.iter_mut() {
            if let Some(o) = td.as_object_mut() {
                o.remove("granularity");
            }
        }
        tds.retain(|td| td.get("dateRange").is_some());
    }
    q
}

/// A short, stable hash (8 characters of base 32) of `parts`.
pub fn short_hash(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    base32(&h.finalize()[..5])
}

fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bits: u64 = 0;
    for b in bytes.iter().take(5) {
        bits = (bits << 8) | u64::from(*b);
    }
    (0..8).rev().map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char).collect()
}

/// A table name: `<cube>_<rollup>[_<partition>]_<structure>_<build>`, lower case, within 63
/// characters (PostgreSQL's limit; the cube and rollup part is cut, never the hashes).
pub fn table_name(layout: &Layout, model: &Model, partition: &str, structure: &str, build: &str) -> String {
    let base = base_name(layout, model);
    let tail =
        if partition == "all" { format!("_{structure}_{build}") } else { format!("_{partition}_{structure}_{build}") };
    let keep = 63usize.saturating_sub(tail.len()).min(base.len());
    format!("{}{tail}", &base[..keep])
}

/// What every table of a rollup starts with (Cube's `tableName`): `<cube>_<rollup>` or the
/// rollup's `sql_alias`, lower case.
pub fn base_name(layout: &Layout, model: &Model) -> String {
    let p = &model.cube(layout.at.cube).pre_aggregations[layout.at.index];
    p.sql_alias
        .clone()
        .unwrap_or_else(|| format!("{}_{}", model.cube(layout.at.cube).alias_base(), p.name))
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// A build's id: the time it started, in base 32 seconds since 2020 (7 characters), so newer
/// builds sort after older ones.
pub fn build_id(now: chrono::DateTime<chrono::Utc>) -> String {
    let secs = (now.timestamp() - 1_577_836_800).max(0) as u64;
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuv";
    (0..7).rev().map(|i| ALPHABET[((secs >> (i * 5)) & 31) as usize] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        crate::vocab::time::parse_local_datetime(s).unwrap()
    }

    #[test]
    fn partitions_cover_the_range_by_whole_units() {
        let p = partitions(Some(TimeUnit::Month), Some((t("2024-01-15T10:00:00"), t("2024-03-02T00:00:00"))));
        let keys: Vec<&str> = p.iter().map(|x| x.key.as_str()).collect();
        assert_eq!(keys, ["20240101", "20240201", "20240301"]);
        assert_eq!(p[1].range, Some((t("2024-02-01T00:00:00"), t("2024-02-29T23:59:59.999"))));
        assert_eq!(partitions(None, None), vec![Partition { key: "all".into(), range: None }]);
        let hours = partitions(Some(TimeUnit::Hour), Some((t("2024-01-01T22:30:00"), t("2024-01-02T00:10:00"))));
        assert_eq!(
            hours.iter().map(|x| x.key.as_str()).collect::<Vec<_>>(),
            ["2024010122", "2024010123", "2024010200"]
        );
    }

    #[test]
    fn names_keep_their_hashes_within_63_characters() {
        assert_eq!(short_hash(&["a"]).len(), 8);
        assert_ne!(short_hash(&["a", "b"]), short_hash(&["ab"]));
        let id = build_id(chrono::DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z").unwrap().into());
        assert_eq!(id.len(), 7);
        let later = build_id(chrono::DateTime::parse_from_rfc3339("2026-12-06T00:00:01Z").unwrap().into());
        assert!(later > id);
    }
}
