//! Property tests (proptest): any query built from the shop model's members, with any filter
//! values, either compiles or fails with diagnostics, for every dialect, and whatever compiles
//! parses with the dialect's sqlparser grammar (with parameters and inlined). Escaped literals
//! round-trip through the engines: `SELECT <literal>` gives back the string.

use cubec::resolve::{DimensionType, Model};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::OnceLock;

/// Cases per property: the default here, or `PROPTEST_CASES` for a longer run.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn shop() -> &'static cubec::Checked {
    static M: OnceLock<cubec::Checked> = OnceLock::new();
    M.get_or_init(|| cubec::check_model(std::path::Path::new("tests/models/shop")))
}

fn dialects() -> &'static cubec::sql::Dialects {
    static D: OnceLock<cubec::sql::Dialects> = OnceLock::new();
    D.get_or_init(|| cubec::sql::Dialects::load(None).unwrap_or_else(|_| panic!("dialects load")))
}

/// (measures, dimensions, time dimensions) of every public cube and view, as `cube.member`.
fn members(model: &Model) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut m, mut d, mut t) = (Vec::new(), Vec::new(), Vec::new());
    for c in &model.cubes {
        m.extend(c.measures.iter().filter(|x| x.public).map(|x| format!("{}.{}", c.name, x.name)));
        for x in c.dimensions.iter().filter(|x| x.public) {
            let name = format!("{}.{}", c.name, x.name);
            if x.type_ == DimensionType::Time {
                t.push(name.clone());
            }
            d.push(name);
        }
    }
    (m, d, t)
}

const OPERATORS: &[&str] = &[
    "equals",
    "notEquals",
    "contains",
    "notContains",
    "startsWith",
    "notStartsWith",
    "endsWith",
    "notEndsWith",
    "gt",
    "gte",
    "lt",
    "lte",
    "set",
    "notSet",
    "inDateRange",
    "notInDateRange",
    "beforeDate",
    "afterDate",
    "beforeOrOnDate",
    "afterOrOnDate",
    "measureFilter",
];
const GRANULARITIES: &[&str] =
    &["second", "minute", "hour", "day", "week", "month", "quarter", "year", "fiscal_year", "sprint"];
const ZONES: &[&str] = &["UTC", "America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata", "Pacific/Chatham"];

/// Filter values: dates, numbers, and text full of quotes, escapes, wildcards and unicode.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("2024-01-15")),
        Just(json!("2024-03-10T02:30:00")),
        any::<i32>().prop_map(|n| json!(n.to_string())),
        "[a-z'\"\\\\%_;\\-/* é🙂\\n]{0,12}".prop_map(|s| json!(s)),
        Just(Value::Null),
    ]
}

fn query() -> impl Strategy<Value = Value> {
    let (m, d, t) = members(&shop().model);
    let filter =
        (prop::sample::select(d.clone()), prop::sample::select(OPERATORS), prop::collection::vec(value(), 0..3))
            .prop_map(|(member, op, values)| json!({"member": member, "operator": op, "values": values}));
    let filters = prop::collection::vec(filter, 0..3).prop_flat_map(|fs| {
        prop_oneof![Just(json!(fs.clone())), Just(json!([{"or": fs.clone()}])), Just(json!([{"and": fs}]))]
    });
    let time_dims = prop::collection::vec(
        (prop::sample::select(t), prop::option::of(prop::sample::select(GRANULARITIES)), any::<bool>()),
        0..2,
    )
    .prop_map(|tds| {
        tds.into_iter()
            .map(|(dim, gran, ranged)| {
                let mut o = json!({"dimension": dim});
                if let Some(g) = gran {
                    o["granularity"] = json!(g);
                }
                if ranged {
                    o["dateRange"] = json!(["2024-01-01", "2024-02-15"]);
                }
                o
            })
            .collect::<Vec<_>>()
    });
    (
        prop::sample::subsequence(m.clone(), 0..4),
        prop::sample::subsequence(d, 0..3),
        time_dims,
        filters,
        prop::option::of(0u64..100),
        prop::sample::select(ZONES),
        any::<bool>(),
        prop::sample::subsequence(m, 0..2),
    )
        .prop_map(|(measures, dimensions, tds, filters, limit, tz, ungrouped, order)| {
            let order: serde_json::Map<String, Value> = order.into_iter().map(|o| (o, json!("desc"))).collect();
            let mut q = json!({"measures": measures, "dimensions": dimensions, "timeDimensions": tds,
                               "filters": filters, "timezone": tz, "order": order});
            if let Some(l) = limit {
                q["limit"] = json!(l);
            }
            if ungrouped {
                q["ungrouped"] = json!(true);
            }
            q
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(400), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_query_compiles_or_fails_cleanly_and_its_sql_parses(q in query()) {
        let opts = cubec::query::QueryOptions {
            now: "2024-03-13T15:30:00Z".parse().unwrap_or_default(),
            ..cubec::query::QueryOptions::default()
        };
        for name in ["postgres", "bigquery", "snowflake", "duckdb"] {
            let dialect = dialects().get(name).map_err(|d| TestCaseError::fail(d.message))?;
            for inline in [false, true] {
                match cubec::compile(&shop().model, &q, &dialect, &opts, cubec::sql::RenderOptions { inline }) {
                    Ok(c) => {
                        if let Err(e) = cubec::sql::check_parses(&dialect, &c.sql) {
                            return Err(TestCaseError::fail(format!("{name}: {e}\n{}\n{q}", c.sql)));
                        }
                    }
                    Err(diags) => prop_assert!(!diags.is_empty() && diags.iter().any(|d| d.is_error()), "{q}"),
                }
            }
        }
    }
}

#[cfg(feature = "engine")]
mod engines {
    use super::*;
    use cubec::exec::{Cell, Database};

    fn round_trip(db: &mut Database, dialect: &cubec::sql::Dialect, s: &str) -> Result<(), TestCaseError> {
        let sql = format!("SELECT {} AS v", dialect.literal(s));
        let got = db.run_sql(&sql, &[]).map_err(|e| TestCaseError::fail(format!("{sql}: {e}")))?;
        prop_assert_eq!(&got.rows[0][0], &Cell::Text(s.to_string()), "{}", sql);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(300), failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn escaped_literals_round_trip_on_duckdb(s in "[^\\x00]{0,40}") {
            let mut db = Database::open(Some("duckdb:"), std::path::Path::new(".")).map_err(|e| TestCaseError::fail(e.0))?;
            let d = dialects().get("duckdb").map_err(|d| TestCaseError::fail(d.message))?;
            round_trip(&mut db, &d, &s)?;
        }

        #[test]
        fn escaped_literals_round_trip_on_postgres(s in "[^\\x00]{0,40}") {
            let Ok(url) = std::env::var("CUBEC_TEST_POSTGRES_URL") else { return Ok(()) };
            let mut db = Database::open(Some(&url), std::path::Path::new(".")).map_err(|e| TestCaseError::fail(e.0))?;
            let d = dialects().get("postgres").map_err(|d| TestCaseError::fail(d.message))?;
            round_trip(&mut db, &d, &s)?;
        }
    }
}
