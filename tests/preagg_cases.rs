//! Routing rules, case by case: tests/preagg/cases.yml gives for each query the rollup that must
//! answer it (or none, with the reason a given rollup gives) and its rows, worked out by hand
//! from tests/preagg/rows.yml. Every case runs with the rollups in the source database
//! (`external: false`) and in the embedded store (`external: true`), on DuckDB and, when their
//! URLs are set (always in CI), on PostgreSQL and the Snowflake and BigQuery emulators. The same
//! query without routing must give the same rows, so a wrong hand-worked row cannot hide.
#![cfg(feature = "engine")]

use cubec::exec::{fixtures, shape, Database};
use cubec::preagg::available::Available;
use cubec::preagg::store::{Connections, Stores};
use cubec::preagg::Catalog;
use cubec::testing::norm;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    cubec::load::yaml::parse(&text, cubec::diag::FileId(0)).expect("valid YAML").to_json()
}

type Row = Vec<(String, String)>;

/// `rows` as sorted rows of (member, normalized value), keeping only the members in `keys`.
fn normalized(rows: &[serde_json::Map<String, Value>], keys: &[String]) -> Vec<Row> {
    let mut out: Vec<Row> = rows
        .iter()
        .map(|r| {
            let mut row: Row = keys.iter().map(|k| (k.clone(), norm(r.get(k).unwrap_or(&Value::Null)))).collect();
            row.sort();
            row
        })
        .collect();
    out.sort();
    out
}

struct Backend {
    name: &'static str,
    dialect: &'static str,
    /// A connection with rows.yml loaded, its tables where the cube SQL finds them.
    open: Box<dyn Fn(&str) -> Database>,
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cubec-preagg-cases-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs every case on `backend` with the rollups in the source or in the embedded store.
fn run(backend: &Backend, external: bool) {
    let tag = format!("{}_{}", backend.name, if external { "ext" } else { "src" });
    let dir = scratch(&tag);
    let text = std::fs::read_to_string("tests/preagg/model.yml").unwrap();
    let text = text.replace("external: true", &format!("external: {external}"));
    let checked = cubec::check_texts(vec![(PathBuf::from("model.yml"), text.into_bytes())], None);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>());
    let model = &checked.model;
    let dialects = cubec::sql::Dialects::builtin();
    let dialect = dialects.get(backend.dialect).unwrap();
    let mut source = (backend.open)(&tag);
    fixtures::load(&mut source, &yaml("tests/preagg/rows.yml")).unwrap_or_else(|e| panic!("rows on {tag}: {e}"));
    let catalog = Catalog::new(model, &dialects, backend.dialect).expect("the model has rollups");
    let schema = format!("cubec_pa_{tag}");
    let stores = Stores::new(&catalog, &schema, &dir.join("store"));
    let mut embedded = stores.open_embedded().unwrap();
    for i in 0..catalog.layouts.len() {
        let store = stores.of(external).clone();
        let mut conns =
            Connections { source: &mut source, embedded: if external { Some(&mut embedded) } else { None } };
        let outcomes = cubec::preagg::refresh::refresh_rollup(
            &catalog,
            model,
            i,
            "UTC",
            &json!({}),
            &store,
            &mut conns,
            "test",
            true,
            &|_| {},
        )
        .unwrap_or_else(|e| panic!("{tag}: refresh of {}: {e}", catalog.layouts[i].id));
        assert!(!outcomes.is_empty(), "{tag}: {} built nothing", catalog.layouts[i].id);
        for o in outcomes {
            assert!(
                o.result.as_ref().is_ok_and(Option::is_some),
                "{tag}: build of {} {}: {:?}",
                o.rollup,
                o.partition,
                o.result
            );
        }
    }
    let available = Available::load(&stores, Some(&mut source), Some(&mut embedded));
    let rollups = cubec::Rollups { catalog: &catalog, available: &available };
    let mut failures = Vec::new();
    let cases = yaml("tests/preagg/cases.yml");
    let cases = cases.as_array().expect("a list of cases");
    assert!(cases.len() >= 15, "{} cases", cases.len());
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let opts = cubec::query::QueryOptions {
            security_context: case.get("context").cloned().unwrap_or(json!({})),
            ..Default::default()
        };
        let render = cubec::sql::RenderOptions::default();
        let routed = match cubec::compile_routed(model, &case["query"], &dialect, &opts, render, Some(&rollups)) {
            Ok(r) => r,
            Err(d) => {
                failures.push(format!("{name}: {:?}", d.iter().map(|d| &d.message).collect::<Vec<_>>()));
                continue;
            }
        };
        let used = routed.used.as_ref().map(|u| u.id.as_str());
        if used != case["rollup"].as_str() {
            failures.push(format!(
                "{name}: answered from {used:?}, expected {}; misses {:?}",
                case["rollup"], routed.misses
            ));
            continue;
        }
        if let Some(miss) = case.get("miss") {
            let (rollup, reason) = (miss["rollup"].as_str().unwrap(), miss["reason"].as_str().unwrap());
            if !routed.misses.iter().any(|m| m.rollup == rollup && m.reason.contains(reason)) {
                failures.push(format!("{name}: no miss of {rollup} saying `{reason}`: {:?}", routed.misses));
            }
        }
        if let Some(u) = &routed.used {
            assert_eq!(u.external, external, "{name}: the rollup's store");
        }
        let direct = cubec::compile(model, &case["query"], &dialect, &opts, render).unwrap();
        let run = |db: &mut Database, c: &cubec::sql::CompiledSql| db.run(c).map(|r| shape::cube_rows(&r, c));
        let got = if routed.sql.runs_on == cubec::sql::RunsOn::Embedded {
            run(&mut embedded, &routed.sql)
        } else {
            run(&mut source, &routed.sql)
        };
        let (got, from_source) = match (got, run(&mut source, &direct)) {
            (Ok(g), Ok(s)) => (g, s),
            (g, s) => {
                failures.push(format!("{name}: {:?} / {:?}\n{}", g.err(), s.err(), routed.sql.sql));
                continue;
            }
        };
        let want_rows: Vec<serde_json::Map<String, Value>> =
            case["rows"].as_array().unwrap().iter().map(|r| r.as_object().unwrap().clone()).collect();
        let keys: Vec<String> = want_rows[0].keys().cloned().collect();
        let want = normalized(&want_rows, &keys);
        let got_rows: Vec<serde_json::Map<String, Value>> =
            got.iter().map(|r| r.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).collect();
        let source_rows: Vec<serde_json::Map<String, Value>> =
            from_source.iter().map(|r| r.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).collect();
        if normalized(&got_rows, &keys) != want {
            failures.push(format!(
                "{name}: rows differ\n want {want:?}\n  got {:?}\nSQL: {}",
                normalized(&got_rows, &keys),
                routed.sql.sql
            ));
        }
        if normalized(&source_rows, &keys) != want {
            failures.push(format!(
                "{name}: the source's rows differ from the case's: {:?}",
                normalized(&source_rows, &keys)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{} failure(s) on {tag}:\n{}", failures.len(), failures.join("\n\n"));
}

fn duckdb() -> Backend {
    Backend {
        name: "duckdb",
        dialect: "duckdb",
        open: Box::new(|_| Database::open(Some("duckdb::memory:"), Path::new(".")).expect("embedded DuckDB")),
    }
}

#[test]
fn routing_cases_on_duckdb_rollups_in_the_source() {
    run(&duckdb(), false);
}

#[test]
fn routing_cases_on_duckdb_rollups_in_the_embedded_store() {
    run(&duckdb(), true);
}

/// A URL from the environment; in CI (`CI` set) a missing one is a failure, not a skip.
fn url(var: &str) -> Option<String> {
    let url = std::env::var(var).ok().filter(|u| !u.is_empty());
    if url.is_none() {
        assert!(std::env::var("CI").map(|v| v.is_empty()).unwrap_or(true), "CI is set but {var} is not");
        eprintln!("{var} is not set: skipped");
    }
    url
}

fn postgres(url: String) -> Backend {
    Backend {
        name: "postgres",
        dialect: "postgres",
        open: Box::new(move |tag| {
            let mut db = Database::open(Some(&url), Path::new(".")).expect("PostgreSQL");
            let schema = format!("cubec_pa_rows_{tag}");
            db.execute_batch(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; DROP SCHEMA IF EXISTS cubec_pa_{tag} CASCADE; \
                 CREATE SCHEMA {schema}; SET search_path TO {schema};"
            ))
            .unwrap();
            db
        }),
    }
}

#[test]
fn routing_cases_on_postgres() {
    let Some(url) = url("CUBEC_TEST_POSTGRES_URL") else { return };
    run(&postgres(url.clone()), false);
    run(&postgres(url), true);
}

/// `base` with a path segment added before its query string.
fn with_path(base: &str, segment: &str) -> String {
    let (main, query) = base.split_once('?').unwrap_or((base, ""));
    let query = if query.is_empty() { String::new() } else { format!("?{query}") };
    format!("{}/{segment}{query}", main.trim_end_matches('/'))
}

#[test]
fn routing_cases_on_the_snowflake_emulator() {
    let Some(url) = url("CUBEC_TEST_SNOWFLAKE_URL") else { return };
    for external in [false, true] {
        let url = url.clone();
        let backend = Backend {
            name: "snowflake",
            dialect: "snowflake",
            open: Box::new(move |tag| {
                let mut db = Database::open(Some(&with_path(&url, &format!("cubec_pa_rows_{tag}"))), Path::new("."))
                    .expect("Snowflake");
                // The emulator outlives a test run: no rollup of an earlier run may answer.
                db.execute_batch(&format!("DROP SCHEMA IF EXISTS cubec_pa_{tag} CASCADE")).expect("drop the rollups");
                db
            }),
        };
        run(&backend, external);
    }
}

#[test]
fn routing_cases_on_the_bigquery_emulator() {
    let Some(url) = url("CUBEC_TEST_BIGQUERY_URL") else { return };
    for external in [false, true] {
        let url = url.clone();
        let backend = Backend {
            name: "bigquery",
            dialect: "bigquery",
            open: Box::new(move |tag| {
                let dataset = format!("cubec_pa_rows_{tag}");
                let mut admin = Database::open(Some(&url), Path::new(".")).expect("BigQuery emulator");
                admin.execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS `{dataset}`")).expect("a dataset");
                // The emulator outlives a test run: no rollup of an earlier run may answer.
                admin
                    .execute_batch(&format!("DROP SCHEMA IF EXISTS `cubec_pa_{tag}` CASCADE"))
                    .expect("drop the rollups");
                let (main, query) = url.split_once('?').unwrap_or((&url, ""));
                Database::open(Some(&format!("{}/{dataset}?{query}", main.trim_end_matches('/'))), Path::new("."))
                    .expect("BigQuery")
            }),
        };
        run(&backend, external);
    }
}

/// On ClickHouse the rollups live in cubec's embedded store (the source has no UPDATE for a
/// manifest): built from ClickHouse's rows, they answer with the source's rows.
#[test]
fn routing_cases_on_clickhouse_rollups_in_the_embedded_store() {
    let Some(url) = url("CUBEC_TEST_CLICKHOUSE_URL") else { return };
    let backend = Backend {
        name: "clickhouse",
        dialect: "clickhouse",
        open: Box::new(move |tag| {
            let database = format!("cubec_pa_rows_{tag}");
            let mut admin = Database::open(Some(&url), Path::new(".")).expect("ClickHouse");
            admin.execute_batch(&format!("DROP DATABASE IF EXISTS `{database}`")).expect("drop the rows");
            admin.execute_batch(&format!("CREATE DATABASE `{database}`")).expect("a database");
            let (main, query) = url.split_once('?').unwrap_or((&url, ""));
            let (scheme, rest) = main.split_once("://").expect("a URL");
            let authority = rest.split('/').next().unwrap_or(rest);
            let query = if query.is_empty() { String::new() } else { format!("?{query}") };
            Database::open(Some(&format!("{scheme}://{authority}/{database}{query}")), Path::new("."))
                .expect("ClickHouse")
        }),
    };
    run(&backend, true);
    let dialects = cubec::sql::Dialects::builtin();
    let in_source = cubec::preagg::store::Store {
        external: false,
        schema: "cubec_pa_refused".to_string(),
        dialect: dialects.get("clickhouse").unwrap(),
    };
    let mut db = Database::open(Some(&std::env::var("CUBEC_TEST_CLICKHOUSE_URL").unwrap()), Path::new(".")).unwrap();
    let e = in_source.ensure(&mut db).expect_err("no rollups in a ClickHouse source");
    assert!(e.0.contains("external: true"), "{e}");
}

/// Cube's driver-test model (tests/preagg/ecommerce: the shape Cube's `getSchemaPath` writes,
/// every rollup as `<name>External` and `<name>Internal`) loads, builds and serves: Cube's own
/// test queries are answered from the rollup Cube would read (the external one first, the
/// internal one when only the source's are built), with the source's rows; those Cube's rollups
/// cannot serve (a rolling window, a dimension in no rollup) read the source.
#[test]
fn cubes_driver_test_model_loads_builds_and_serves() {
    let dir = Path::new("tests/preagg/ecommerce");
    let checked = cubec::check_model(dir);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>());
    let model = &checked.model;
    let dialects = cubec::sql::Dialects::builtin();
    let dialect = dialects.get("duckdb").unwrap();
    let mut source = Database::open(None, dir).expect("the model's data on the embedded DuckDB");
    let catalog = Catalog::new(model, &dialects, "duckdb").unwrap();
    let store_dir = scratch("ecommerce");
    let stores = Stores::new(&catalog, "prod_pre_aggregations", &store_dir);
    let mut embedded = stores.open_embedded().unwrap();
    let mut unbuilt = Vec::new();
    for i in 0..catalog.layouts.len() {
        if let Some(why) = &catalog.layouts[i].unsupported {
            unbuilt.push(format!("{}: {why}", catalog.layouts[i].id));
            continue;
        }
        let external = catalog.definition(model, i).external;
        let store = stores.of(external).clone();
        let mut conns =
            Connections { source: &mut source, embedded: if external { Some(&mut embedded) } else { None } };
        let outcomes = cubec::preagg::refresh::refresh_rollup(
            &catalog,
            model,
            i,
            "UTC",
            &json!({}),
            &store,
            &mut conns,
            "test",
            false,
            &|_| {},
        )
        .unwrap_or_else(|e| panic!("{}: {e}", catalog.layouts[i].id));
        assert!(!outcomes.is_empty());
        for o in outcomes {
            assert!(o.result.as_ref().is_ok_and(Option::is_some), "{} {}: {:?}", o.rollup, o.partition, o.result);
        }
    }
    // Only the running total's two rollups stay unbuilt, and they say why.
    assert_eq!(unbuilt.len(), 2, "{unbuilt:?}");
    assert!(unbuilt.iter().all(|u| u.starts_with("Customers.RA") && u.contains("rolling window")), "{unbuilt:?}");

    let month = |g: &str| json!([{"dimension": "ECommerce.orderDate", "granularity": g}]);
    let queries: Vec<(&str, Value, Option<&str>)> = vec![
        (
            "partitioned pre-agg",
            json!({"measures": ["ECommerce.totalQuantity"], "dimensions": ["ECommerce.productName"],
                   "timeDimensions": month("month"),
                   "order": [["ECommerce.orderDate", "asc"], ["ECommerce.totalProfit", "desc"], ["ECommerce.productName", "asc"]],
                   "total": true}),
            Some("ECommerce.TA"),
        ),
        (
            "partitioned pre-agg, higher granularity",
            json!({"measures": ["ECommerce.totalQuantity"], "dimensions": ["ECommerce.productName"], "timeDimensions": month("year")}),
            Some("ECommerce.TA"),
        ),
        (
            "total sales and profit by month",
            json!({"measures": ["ECommerce.totalSales", "ECommerce.totalProfit"], "timeDimensions": month("month"),
                   "order": [["ECommerce.orderDate", "asc"]]}),
            Some("ECommerce.TA"),
        ),
        (
            "four measures by product",
            json!({"measures": ["ECommerce.totalQuantity", "ECommerce.avgDiscount", "ECommerce.totalSales", "ECommerce.totalProfit"],
                   "dimensions": ["ECommerce.productName"], "order": [["ECommerce.productName", "asc"]]}),
            Some("ECommerce.SA"),
        ),
        (
            "a custom granularity from months",
            json!({"measures": ["ECommerce.totalQuantity"], "timeDimensions": [{"dimension": "ECommerce.orderDate",
                   "granularity": "half_year", "dateRange": ["2020-01-01", "2020-12-31"]}]}),
            Some("ECommerce.TA"),
        ),
        (
            "an approximate distinct count at its rollup's grain",
            json!({"measures": ["ECommerce.countApproxByCustomer"], "dimensions": ["ECommerce.productName"],
                   "timeDimensions": month("month")}),
            Some("ECommerce.CountByProduct"),
        ),
        (
            "two time dimensions",
            json!({"measures": ["BigECommerce.count"], "timeDimensions": [
                   {"dimension": "BigECommerce.completedDate", "granularity": "day"},
                   {"dimension": "BigECommerce.orderDate", "granularity": "day"}]}),
            Some("BigECommerce.MultiTimeDimForCount"),
        ),
        (
            "yearly partitions",
            json!({"measures": ["BigECommerce.totalQuantity"], "dimensions": ["BigECommerce.productName"],
                   "timeDimensions": [{"dimension": "BigECommerce.orderDate", "granularity": "month"}]}),
            Some("BigECommerce.TA"),
        ),
        (
            "profit by category",
            json!({"measures": ["BigECommerce.totalProfit"], "dimensions": ["BigECommerce.category"]}),
            Some("BigECommerce.CategoryFlat"),
        ),
        ("a running total", json!({"measures": ["Customers.runningTotal"]}), None),
        ("count by city", json!({"measures": ["ECommerce.count"], "dimensions": ["ECommerce.city"]}), None),
    ];
    let opts = cubec::query::QueryOptions::default();
    let render = cubec::sql::RenderOptions::default();
    let everything = Available::load(&stores, Some(&mut source), Some(&mut embedded));
    let internal_only = Available::load(&stores, Some(&mut source), None);
    for (available, suffix) in [(&everything, "External"), (&internal_only, "Internal")] {
        let rollups = cubec::Rollups { catalog: &catalog, available };
        for (name, query, rollup) in &queries {
            let routed = cubec::compile_routed(model, query, &dialect, &opts, render, Some(&rollups))
                .unwrap_or_else(|d| panic!("{name}: {:?}", d.iter().map(|d| &d.message).collect::<Vec<_>>()));
            let want = rollup.map(|r| format!("{r}{suffix}"));
            assert_eq!(routed.used.as_ref().map(|u| u.id.clone()), want, "{name}: misses {:?}", routed.misses);
            let direct = cubec::compile(model, query, &dialect, &opts, render).unwrap();
            let from_source = source.run(&direct).unwrap();
            let got = if routed.sql.runs_on == cubec::sql::RunsOn::Embedded {
                embedded.run(&routed.sql)
            } else {
                source.run(&routed.sql)
            }
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", routed.sql.sql));
            let as_maps =
                |r: &cubec::exec::ResultSet, c: &cubec::sql::CompiledSql| -> Vec<serde_json::Map<String, Value>> {
                    shape::cube_rows(r, c)
                        .iter()
                        .map(|row| row.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        .collect()
                };
            let (want_rows, got_rows) = (as_maps(&from_source, &direct), as_maps(&got, &routed.sql));
            assert!(!want_rows.is_empty(), "{name}: the source has rows");
            let keys: Vec<String> = want_rows[0].keys().cloned().collect();
            assert_eq!(normalized(&got_rows, &keys), normalized(&want_rows, &keys), "{name} from {:?}", routed.used);
        }
    }
    let _ = std::fs::remove_dir_all(&store_dir);
}
