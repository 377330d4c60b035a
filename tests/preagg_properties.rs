//! Rollups never give a different answer: random data, random rollups and random queries on the
//! embedded DuckDB. Every rollup is built (in the embedded store, and for `external: false`
//! in the source database), every query is compiled with routing, and whenever a rollup answers,
//! its rows must equal the source's for the same query. The test also insists that a good
//! share of the queries are answered from rollups, so it cannot pass by never routing.
#![cfg(feature = "engine")]

use cubec::exec::{Cell, Database};
use cubec::preagg::store::{Connections, Stores};
use cubec::preagg::Catalog;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

const DIMS: &[&str] = &["d1", "d2", "users.region"];
const MEASURES: &[&str] = &["count", "total", "low", "high", "mean", "buyers", "ratio", "paid_count"];
const GRANS: &[&str] = &["hour", "day", "week", "month"];
const QUERY_GRANS: &[&str] = &["hour", "day", "week", "month", "quarter", "year"];
const ZONES: &[&str] = &["UTC", "America/New_York", "Asia/Tokyo"];
const BUILT_ZONES: &[&str] = &["UTC", "America/New_York"];

#[derive(Debug, Clone)]
struct Rollup {
    dims: Vec<usize>,
    measures: Vec<usize>,
    segment: bool,
    granularity: Option<usize>,
    partition: bool,
    external: bool,
}

#[derive(Debug, Clone)]
struct Q {
    measures: Vec<usize>,
    dims: Vec<usize>,
    granularity: Option<usize>,
    range: Option<(u32, u32, bool)>,
    filter: Option<(usize, usize)>,
    segment: bool,
    zone: usize,
    /// Half the queries ask what one of the rollups holds (a subset of its members, its
    /// granularity or a coarser one), so that a good share can be answered from rollups.
    derive: Option<(usize, u64)>,
}

fn rollup() -> impl Strategy<Value = Rollup> {
    (
        proptest::sample::subsequence((0..DIMS.len()).collect::<Vec<_>>(), 0..=DIMS.len()),
        proptest::sample::subsequence((0..MEASURES.len()).collect::<Vec<_>>(), 1..=4),
        any::<bool>(),
        proptest::option::of(0..GRANS.len()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(dims, measures, segment, granularity, partition, external)| Rollup {
            dims,
            measures,
            segment,
            granularity,
            partition,
            external,
        })
}

fn query() -> impl Strategy<Value = Q> {
    (
        proptest::sample::subsequence((0..MEASURES.len()).collect::<Vec<_>>(), 1..=2),
        proptest::sample::subsequence((0..DIMS.len()).collect::<Vec<_>>(), 0..=2),
        proptest::option::of(0..QUERY_GRANS.len()),
        proptest::option::of((0u32..120, 1u32..120, any::<bool>())),
        proptest::option::of((0..2usize, 0..3usize)),
        any::<bool>(),
        0..ZONES.len(),
        proptest::option::of((0..4usize, any::<u64>())),
    )
        .prop_map(|(measures, dims, granularity, range, filter, segment, zone, derive)| Q {
            measures,
            dims,
            granularity,
            range,
            filter,
            segment,
            zone,
            derive,
        })
}

/// `q`, or (for a derived query) `q` narrowed to what rollup `r` holds.
fn narrowed(q: &Q, rollups: &[Rollup]) -> Q {
    let Some((i, bits)) = q.derive else { return q.clone() };
    let r = &rollups[i % rollups.len()];
    let pick = |items: &[usize], shift: u32| -> Vec<usize> {
        items.iter().enumerate().filter(|(k, _)| bits >> (shift + *k as u32) & 1 == 1).map(|(_, v)| *v).collect()
    };
    let mut measures = pick(&r.measures, 0);
    if measures.is_empty() {
        measures.push(r.measures[0]);
    }
    let granularity = r.granularity.map(|g| {
        // The rollup's grain or a coarser one.
        let coarser: Vec<usize> = QUERY_GRANS
            .iter()
            .enumerate()
            .filter(|(_, name)| {
                let order = |n: &str| QUERY_GRANS.iter().position(|x| *x == n).unwrap_or(0);
                order(name) >= order(GRANS[g]) && !(GRANS[g] == "week" && **name != "week")
            })
            .map(|(k, _)| k)
            .collect();
        coarser[(bits >> 20) as usize % coarser.len()]
    });
    Q {
        measures,
        dims: pick(&r.dims, 10),
        granularity,
        segment: r.segment && q.segment,
        filter: q.filter.filter(|(m, _)| r.dims.contains(&if *m == 0 { 0 } else { 2 })),
        ..q.clone()
    }
}

/// Orders over 2024 (times spread over the hours, so zones and buckets matter), users in two
/// regions; a value column with cents.
fn data(seed: u64, dir: &Path) {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = |m: u64| {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 33) % m
    };
    let mut orders = String::from("id,user_id,d1,d2,v,created_at\n");
    for id in 0..60 {
        let day = next(110);
        let hour = next(24);
        let minute = next(60);
        let t =
            chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(hour as u32, minute as u32, 0).unwrap()
                + chrono::Duration::days(day as i64);
        let v = if next(10) == 0 { String::new() } else { format!("{}.{:02}", next(200), next(100)) };
        orders.push_str(&format!(
            "{id},{},{},{},{v},{}\n",
            next(5) + 1,
            ["a", "b", "c"][next(3) as usize],
            ["x", "y"][next(2) as usize],
            t.format("%Y-%m-%d %H:%M:%S")
        ));
    }
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/orders.csv"), orders).unwrap();
    std::fs::write(dir.join("data/users.csv"), "id,region\n1,north\n2,south\n3,north\n4,south\n5,north\n").unwrap();
}

fn model(dir: &Path, rollups: &[Rollup]) {
    let mut yaml = String::from(
        r#"cubes:
  - name: orders
    sql_table: orders
    joins:
      - {name: users, sql: "{CUBE}.user_id = {users.id}", relationship: many_to_one}
    measures:
      - {name: count, type: count}
      - {name: total, type: sum, sql: v}
      - {name: low, type: min, sql: v}
      - {name: high, type: max, sql: v}
      - {name: mean, type: avg, sql: v}
      - {name: buyers, type: count_distinct, sql: user_id}
      - {name: ratio, type: number, sql: "{total} / NULLIF({count}, 0)"}
      - {name: paid_count, type: count, filters: [{sql: "{CUBE}.d1 <> 'c'"}]}
    dimensions:
      - {name: id, sql: id, type: number, primary_key: true}
      - {name: d1, sql: d1, type: string}
      - {name: d2, sql: d2, type: string}
      - {name: created_at, sql: created_at, type: time}
    segments:
      - {name: first, sql: "{CUBE}.d1 = 'a'"}
    pre_aggregations:
"#,
    );
    for (i, r) in rollups.iter().enumerate() {
        yaml.push_str(&format!("      - name: r{i}\n"));
        let measures: Vec<&str> = r.measures.iter().map(|&m| MEASURES[m]).collect();
        yaml.push_str(&format!("        measures: [{}]\n", measures.join(", ")));
        let dims: Vec<&str> = r.dims.iter().map(|&d| DIMS[d]).collect();
        yaml.push_str(&format!("        dimensions: [{}]\n", dims.join(", ")));
        if r.segment {
            yaml.push_str("        segments: [first]\n");
        }
        if let Some(g) = r.granularity {
            yaml.push_str(&format!("        time_dimension: created_at\n        granularity: {}\n", GRANS[g]));
            // Partitions must hold whole buckets: weeks only in weeks.
            if r.partition {
                yaml.push_str(&format!(
                    "        partition_granularity: {}\n",
                    if GRANS[g] == "week" { "week" } else { "month" }
                ));
            }
        }
        yaml.push_str(&format!("        external: {}\n", r.external));
    }
    yaml.push_str(
        r#"  - name: users
    sql_table: users
    dimensions:
      - {name: id, sql: id, type: number, primary_key: true}
      - {name: region, sql: region, type: string}
"#,
    );
    std::fs::write(dir.join("model.yml"), yaml).unwrap();
}

fn query_json(q: &Q) -> Value {
    let mut j = json!({
        "measures": q.measures.iter().map(|&m| format!("orders.{}", MEASURES[m])).collect::<Vec<_>>(),
        "dimensions": q.dims.iter().map(|&d| if DIMS[d].contains('.') { DIMS[d].to_string() } else { format!("orders.{}", DIMS[d]) }).collect::<Vec<_>>(),
        "timezone": ZONES[q.zone],
        "limit": 5000,
    });
    if q.granularity.is_some() || q.range.is_some() {
        let mut td = json!({ "dimension": "orders.created_at" });
        if let Some(g) = q.granularity {
            td["granularity"] = json!(QUERY_GRANS[g]);
        }
        if let Some((start, len, aligned)) = q.range {
            let from = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Duration::days(start as i64);
            let to = from + chrono::Duration::days(len as i64);
            td["dateRange"] = if aligned {
                json!([from.to_string(), to.to_string()])
            } else {
                json!([format!("{from}T10:00:00"), format!("{to}T17:30:00")])
            };
        }
        j["timeDimensions"] = json!([td]);
    }
    if let Some((member, value)) = q.filter {
        let member = ["orders.d1", "users.region"][member];
        let values: &[&str] = if member == "orders.d1" { &["a", "b", "c"] } else { &["north", "south", "east"] };
        j["filters"] = json!([{ "member": member, "operator": "equals", "values": [values[value]] }]);
    }
    if q.segment {
        j["segments"] = json!(["orders.first"]);
    }
    j
}

/// A number as a float (integers, floats and exact decimals alike), else `None`.
fn number(c: &Cell) -> Option<f64> {
    match c {
        Cell::Int(i) => Some(*i as f64),
        Cell::Float(f) => Some(*f),
        Cell::Decimal(d) => d.parse().ok(),
        _ => None,
    }
}

/// Rows in a canonical order (by their text, numbers rounded coarsely for ordering only).
fn rows(rs: &cubec::exec::ResultSet) -> Vec<Vec<Cell>> {
    let key = |r: &Vec<Cell>| -> String {
        r.iter()
            .map(|c| match number(c) {
                Some(n) => format!("{n:.2}"),
                None if matches!(c, Cell::Null) => "NULL".into(),
                None => c.to_text(),
            })
            .collect::<Vec<_>>()
            .join("|")
    };
    let mut out = rs.rows.clone();
    out.sort_by_key(key);
    out
}

/// The same rows: text equal, numbers equal to a relative 1e-9 (sums of floats in another
/// order differ in their last bits, as two runs of the source itself may).
fn same_rows(a: &[Vec<Cell>], b: &[Vec<Cell>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.len() == y.len()
                && x.iter().zip(y).all(|(p, q)| match (number(p), number(q)) {
                    (Some(m), Some(n)) => (m - n).abs() <= 1e-9 * m.abs().max(n.abs()).max(1.0),
                    _ => (matches!(p, Cell::Null) && matches!(q, Cell::Null)) || p.to_text() == q.to_text(),
                })
        })
}

static CASES: AtomicUsize = AtomicUsize::new(0);
static QUERIES: AtomicUsize = AtomicUsize::new(0);
static ROUTED: AtomicUsize = AtomicUsize::new(0);

fn scratch(tag: u64) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cubec-preagg-prop-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn check_case(seed: u64, rollups: &[Rollup], queries: &[Q]) -> Result<(), TestCaseError> {
    let dir = scratch(seed ^ CASES.fetch_add(1, Ordering::Relaxed) as u64);
    data(seed, &dir);
    model(&dir, rollups);
    let checked = cubec::check_model(&dir);
    prop_assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let dialects = cubec::sql::Dialects::load(None).unwrap();
    let mut source = Database::open(None, &dir).unwrap();
    let catalog = Catalog::new(&checked.model, &dialects, "duckdb").unwrap();
    let stores = Stores::new(&catalog, "prod_pre_aggregations", &dir.join("store"));
    let mut embedded = stores.open_embedded().unwrap();
    for i in 0..catalog.layouts.len() {
        let external = catalog.definition(&checked.model, i).external;
        for tz in BUILT_ZONES {
            let store = stores.of(external).clone();
            let mut conns =
                Connections { source: &mut source, embedded: if external { Some(&mut embedded) } else { None } };
            let outcomes = cubec::preagg::refresh::refresh_rollup(
                &catalog,
                &checked.model,
                i,
                tz,
                &json!({}),
                &store,
                &mut conns,
                "test",
                false,
                &|_| {},
            )
            .map_err(|e| TestCaseError::fail(e.0))?;
            for o in outcomes {
                prop_assert!(o.result.is_ok(), "build of {} {} {}: {:?}", o.rollup, o.timezone, o.partition, o.result);
            }
        }
    }
    let available = cubec::preagg::available::Available::load(&stores, Some(&mut source), Some(&mut embedded));
    let dialect = dialects.get("duckdb").unwrap();
    let opts = cubec::query::QueryOptions::default();
    let routing = cubec::Rollups { catalog: &catalog, available: &available };
    for q in queries {
        let json = query_json(&narrowed(q, rollups));
        QUERIES.fetch_add(1, Ordering::Relaxed);
        let direct = match cubec::compile(&checked.model, &json, &dialect, &opts, Default::default()) {
            Ok(c) => c,
            Err(_) => continue, // a query the compiler refuses either way
        };
        let routed = cubec::compile_routed(&checked.model, &json, &dialect, &opts, Default::default(), Some(&routing))
            .map_err(|d| TestCaseError::fail(format!("{d:?}")))?;
        let Some(used) = &routed.used else { continue };
        ROUTED.fetch_add(1, Ordering::Relaxed);
        let want = source.run(&direct).map_err(|e| TestCaseError::fail(e.0))?;
        let got = if used.external { embedded.run(&routed.sql) } else { source.run(&routed.sql) }
            .map_err(|e| TestCaseError::fail(format!("{}: {}\n{}", used.id, e.0, routed.sql.sql)))?;
        let (want, got) = (rows(&want), rows(&got));
        prop_assert!(
            same_rows(&want, &got),
            "query {} answered from {} differs from the source:\n{:?}\n{:?}\nrollup SQL: {}",
            json,
            used.id,
            want,
            got,
            routed.sql.sql
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// 24 cases in `cargo test`; `CUBEC_PREAGG_CASES=2000` for a long run.
fn cases() -> u32 {
    std::env::var("CUBEC_PREAGG_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn a_rollup_answers_with_the_sources_rows(
        seed in any::<u64>(),
        rollups in proptest::collection::vec(rollup(), 1..4),
        queries in proptest::collection::vec(query(), 40),
    ) {
        check_case(seed, &rollups, &queries)?;
    }
}

#[test]
fn the_property_test_routes_a_real_share_of_queries() {
    // Runs after (or beside) the property test in the same process; on its own it runs a few
    // cases itself, so the share is measured either way.
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 12,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (any::<u64>(), proptest::collection::vec(rollup(), 1..4), proptest::collection::vec(query(), 40));
    runner.run(&strategy, |(seed, rollups, queries)| check_case(seed, &rollups, &queries)).unwrap();
    let (queries, routed) = (QUERIES.load(Ordering::Relaxed), ROUTED.load(Ordering::Relaxed));
    eprintln!("{routed} of {queries} queries answered from a rollup");
    assert!(routed * 10 >= queries, "only {routed} of {queries} queries were answered from a rollup");
}
