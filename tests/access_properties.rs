//! Access control, tried by a property test: random queries over the policed `orders` cube
//! (tests/models/policed) as random callers. Whatever runs returns exactly the rows of the same
//! query over the unpoliced `orders_open` cube with the caller's row filter written by hand;
//! whatever names a member the caller may not see is refused; and no member the caller may not
//! see appears in a result, in `/v1/meta` or in an error message.
#![cfg(feature = "engine")]

use cubec::access::Caller;
use cubec::exec::{fixtures, shape, Database};
use cubec::query::AccessOptions;
use cubec::query::QueryOptions;
use cubec::sql::{Dialects, RenderOptions};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

fn model() -> &'static cubec::Checked {
    static M: OnceLock<cubec::Checked> = OnceLock::new();
    M.get_or_init(|| {
        let c = cubec::check_model(Path::new("tests/models/policed"));
        assert!(!c.has_errors(), "the policed model is valid");
        c
    })
}

fn db() -> &'static Mutex<Database> {
    static D: OnceLock<Mutex<Database>> = OnceLock::new();
    D.get_or_init(|| {
        let mut db = Database::open(Some("duckdb::memory:"), Path::new(".")).expect("DuckDB");
        let text = std::fs::read_to_string("tests/fixtures/rows/policed.yml").expect("fixtures");
        let rows = cubec::load::yaml::parse(&text, cubec::diag::FileId(0)).expect("yaml").to_json();
        fixtures::load(&mut db, &rows).expect("fixture rows");
        Mutex::new(db)
    })
}

const MEASURES: &[&str] = &["count", "total"];
const DIMENSIONS: &[&str] = &["status", "region", "secret", "tenant_id", "id"];
const GROUPS: &[&str] = &["tenant", "analyst", "manager", "viewer"];

/// What the policy of `orders` gives a caller, written out by hand from the model.
fn may_see(groups: &[&str], member: &str) -> bool {
    groups.contains(&"manager")
        || (groups.contains(&"tenant") && member != "secret")
        || (groups.contains(&"analyst") && ["count", "status", "created_at"].contains(&member))
}

fn run(query: &Value, ctx: &Value) -> Result<Vec<shape::CubeRow>, Vec<cubec::diag::Diagnostic>> {
    let dialects = Dialects::builtin();
    let dialect = dialects.get("duckdb").expect("duckdb dialect");
    let opts = QueryOptions { security_context: ctx.clone(), ..QueryOptions::default() };
    let compiled = cubec::compile(&model().model, query, &dialect, &opts, RenderOptions::default())?;
    let mut db = db().lock().unwrap_or_else(|p| p.into_inner());
    let result = db.run(&compiled).unwrap_or_else(|e| panic!("{query}: {e}\n{}", compiled.sql));
    Ok(shape::cube_rows(&result, &compiled))
}

/// Rows as sorted `(member without cube, value)` lists, sorted.
fn canonical(rows: &[shape::CubeRow]) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = rows
        .iter()
        .map(|r| {
            let mut v: Vec<(String, String)> = r
                .iter()
                .map(|(k, v)| (k.split_once('.').map(|(_, m)| m).unwrap_or(k).to_string(), cubec::testing::norm(v)))
                .collect();
            v.sort();
            v
        })
        .collect();
    out.sort();
    out
}

fn query_on(cube: &str, measures: &[&str], dims: &[&str], status: Option<&str>, extra: Option<Value>) -> Value {
    let mut filters: Vec<Value> = Vec::new();
    if let Some(s) = status {
        filters.push(json!({ "member": format!("{cube}.status"), "operator": "equals", "values": [s] }));
    }
    filters.extend(extra);
    let mut q = json!({
        "measures": measures.iter().map(|m| format!("{cube}.{m}")).collect::<Vec<_>>(),
        "dimensions": dims.iter().map(|d| format!("{cube}.{d}")).collect::<Vec<_>>(),
        "filters": filters,
    });
    if measures.is_empty() && dims.is_empty() {
        q["measures"] = json!([format!("{cube}.count")]);
    }
    q
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn a_caller_sees_exactly_its_rows_and_members(
        measures in proptest::sample::subsequence(MEASURES.to_vec(), 0..=2),
        dims in proptest::sample::subsequence(DIMENSIONS.to_vec(), 0..=2),
        groups in proptest::sample::subsequence(GROUPS.to_vec(), 1..=2),
        tenant in prop_oneof![Just(None), Just(Some("t1")), Just(Some("t2")), Just(Some("t3"))],
        status in prop_oneof![Just(None), Just(Some("paid")), Just(Some("draft"))],
    ) {
        let mut ctx = json!({ "groups": groups });
        if let Some(t) = tenant {
            ctx["tenant"] = json!(t);
        }
        let query = query_on("orders", &measures, &dims, status, None);
        let named: Vec<&str> = {
            let mut n: Vec<&str> = measures.iter().chain(dims.iter()).copied().collect();
            if n.is_empty() { n.push("count"); }
            if status.is_some() { n.push("status"); }
            n
        };
        let visible = named.iter().all(|m| may_see(&groups, m));
        let needs_tenant = !groups.contains(&"manager");
        let outcome = run(&query, &ctx);
        match outcome {
            Err(diags) => {
                let text: String = diags.iter().map(|d| format!("{} {}", d.message, d.help.clone().unwrap_or_default())).collect();
                prop_assert!(diags.iter().any(|d| d.code.as_str() == "Q018"), "{query} as {ctx}: {text}");
                prop_assert!(!visible || (needs_tenant && tenant.is_none()), "{query} as {ctx} refused: {text}");
                // The error names no member the caller may not see, other than one it named.
                for m in MEASURES.iter().chain(DIMENSIONS) {
                    if !may_see(&groups, m) && !named.contains(m) {
                        prop_assert!(!text.contains(&format!("orders.{m}")), "{text} names orders.{m}");
                    }
                }
            }
            Ok(rows) => {
                prop_assert!(visible, "{query} as {ctx} ran though it names a hidden member");
                prop_assert!(!needs_tenant || tenant.is_some(), "{query} as {ctx} ran without a tenant");
                // The same question on the unpoliced cube, with the row filter written by hand.
                let by_hand = needs_tenant.then(|| json!({ "member": "orders_open.tenant_id", "operator": "equals", "values": [tenant] }));
                let reference = query_on("orders_open", &measures, &dims, status, by_hand);
                let want = run(&reference, &json!({})).expect("the unpoliced cube answers");
                prop_assert_eq!(canonical(&rows), canonical(&want), "{} as {}", query, ctx);
                for r in &rows {
                    for k in r.keys() {
                        let m = k.split('.').nth(1).unwrap_or_default();
                        prop_assert!(may_see(&groups, m), "result column {k} for {ctx}");
                    }
                }
            }
        }
        // Meta shows exactly the members the caller may see.
        let opts = AccessOptions { hide_non_public: true, ..AccessOptions::default() };
        let meta = match Caller::new(&model().model, &ctx, &opts) {
            Ok(caller) => cubec::server::meta::meta(&model().model, Some(&caller)),
            Err(_) => json!({ "cubes": [] }),
        };
        let orders = meta["cubes"].as_array().and_then(|c| c.iter().find(|c| c["name"] == "orders")).cloned();
        for m in MEASURES.iter().chain(DIMENSIONS).chain(["created_at"].iter()) {
            let listed = orders.as_ref().is_some_and(|o| {
                ["measures", "dimensions"].iter().any(|k| {
                    o[*k].as_array().is_some_and(|l| l.iter().any(|x| x["name"] == json!(format!("orders.{m}"))))
                })
            });
            // `id` is a primary key: never listed in meta (public: false by default).
            let expected = may_see(&groups, m) && *m != "id";
            prop_assert_eq!(listed, expected, "meta for {} lists orders.{}: {}", ctx, m, listed);
        }
    }
}
