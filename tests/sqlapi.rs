//! The SQL API's file-driven cases (`tests/sqlapi/*.sql`), run against the KPI library on the
//! embedded DuckDB, without the wire (the protocol is tested with real clients by
//! scripts/sqlapi_clients.py).
//!
//! A case is a block of `-- key: value` lines and one SQL text:
//! - `-- name:` the case's name (its semantic query is snapshotted under it);
//! - `-- rest:` the `/v1/load` query asking the same question: the SQL's rows must equal its
//!   rows, column by column (the SQL's columns map to members by the rewrite's keys);
//! - `-- expect:` the rows as a JSON list of lists of text (NULL as null), in order;
//! - `-- rows:` only the number of rows;
//! - `-- columns:` the result's column names and types, `name:type` separated by commas;
//! - `-- error:` the SQLSTATE the statement must fail with (and `-- message:` a part of its text).
//!
//! Blocks are separated by a line holding only `--`.

#![cfg(feature = "engine")]

use axum::body::Body;
use axum::http::Request;
use cubec::exec::Cell;
use cubec::server::{router, AppState, Limits, ServeConfig};
use cubec::sqlapi::engine::{parse, Engine, Outcome, Session};
use cubec::sqlapi::users::Users;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

const SECRET: &str = "sqlapi-test-secret";

struct Case {
    file: String,
    name: String,
    keys: Vec<(String, String)>,
    sql: String,
}

impl Case {
    fn get(&self, key: &str) -> Option<&str> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

fn read_cases(dir: &Path) -> Vec<Case> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/sqlapi exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let file = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        let text = std::fs::read_to_string(&path).expect("readable case file");
        for block in text.split("\n--\n") {
            let mut keys = Vec::new();
            let mut sql = Vec::new();
            for line in block.lines() {
                match line.strip_prefix("-- ").and_then(|l| l.split_once(": ")) {
                    Some((k, v)) if sql.is_empty() && !k.contains(' ') => keys.push((k.to_string(), v.to_string())),
                    _ if line.trim().is_empty() && sql.is_empty() => {}
                    _ => sql.push(line),
                }
            }
            if sql.is_empty() {
                continue;
            }
            let name = keys
                .iter()
                .find(|(k, _)| k == "name")
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("{}: a case without `-- name:`: {}", path.display(), sql.join(" ")));
            cases.push(Case { file: file.clone(), name, keys, sql: sql.join("\n") });
        }
    }
    cases
}

fn state() -> Arc<AppState> {
    let config = ServeConfig {
        model_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("metrics"),
        db_url: None,
        dialects_dir: None,
        secret: Some(SECRET.into()),
        dev: false,
        limits: Limits::default(),
        watch: None,
        context_to_groups: "groups".into(),
        cors_origins: Vec::new(),
        shutdown_timeout: std::time::Duration::from_secs(5),
        rollups: Default::default(),
        api_scopes: cubec::server::default_api_scopes(),
    };
    Arc::new(AppState::open(&config).expect("the server state opens on the KPI library"))
}

async fn rest_rows(state: &Arc<AppState>, query: &Value) -> Result<Vec<serde_json::Map<String, Value>>, String> {
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("token");
    let req = Request::post("/cubejs-api/v1/load")
        .header("content-type", "application/json")
        .header("authorization", token)
        .body(Body::from(json!({ "query": query }).to_string()))
        .expect("request");
    let resp = router(Arc::clone(state)).oneshot(req).await.expect("a response");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    let body: Value = serde_json::from_slice(&bytes).expect("json");
    if !status.is_success() {
        return Err(format!("the REST query failed: {status} {body}"));
    }
    Ok(body["data"].as_array().expect("data").iter().map(|r| r.as_object().cloned().unwrap_or_default()).collect())
}

fn text(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Timestamp(t) => json!(t.format("%Y-%m-%d %H:%M:%S").to_string()),
        other => json!(other.to_text()),
    }
}

/// Equal, or the same number to 12 significant digits (DuckDB's parallel float sums may differ
/// in the last digit from one run to the next).
fn same(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a.as_str().and_then(|x| x.parse::<f64>().ok()), b.as_str().and_then(|x| x.parse::<f64>().ok())) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
        _ => false,
    }
}

fn same_rows(a: &[Vec<Value>], b: &[Vec<Value>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)))
}

fn sorted(mut rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    rows.sort_by_key(|r| r.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("\u{1}"));
    rows
}

async fn run_case(engine: &Engine, case: &Case) -> Result<(), String> {
    let mut session = Session::new("tester", "db", json!({}), false, 7);
    let stmts = parse(&case.sql);
    let mut outcome = None;
    match stmts {
        Err(e) => outcome = Some(Err(e)),
        Ok(stmts) => {
            for s in stmts {
                let r = engine.execute(&mut session, s).await;
                let failed = r.is_err();
                outcome = Some(r);
                if failed {
                    break;
                }
            }
        }
    }
    let outcome = outcome.ok_or("no statement")?;
    if let Some(code) = case.get("error") {
        let e = match outcome {
            Ok(o) => return Err(format!("expected error {code}, got {o:?}")),
            Err(e) => e,
        };
        if e.code != code {
            return Err(format!("expected SQLSTATE {code}, got {} ({})", e.code, e.message));
        }
        if let Some(m) = case.get("message") {
            if !e.message.contains(m) {
                return Err(format!("the message `{}` does not contain `{m}`", e.message));
            }
        }
        return Ok(());
    }
    let table = match outcome.map_err(|e| format!("failed: {} ({})", e.message, e.code))? {
        Outcome::Rows(t) | Outcome::Fetched(t) => t,
        other => {
            if case.get("tag").is_some_and(|t| format!("{other:?}").contains(t)) {
                return Ok(());
            }
            return Err(format!("not rows: {other:?}"));
        }
    };
    if !session.last_semantic.is_empty() {
        insta::with_settings!({ snapshot_path => "sqlapi/snapshots", prepend_module_to_snapshot => false, omit_expression => true, description => case.sql.clone() }, {
            insta::assert_yaml_snapshot!(format!("{}__{}", case.file, case.name), session.last_semantic);
        });
    }
    if let Some(cols) = case.get("columns") {
        let got: Vec<String> = table.columns.iter().map(|(n, t)| format!("{n}:{}", t.typname())).collect();
        let want: Vec<String> = cols.split(',').map(|s| s.trim().to_string()).collect();
        if got != want {
            return Err(format!("columns {got:?}, expected {want:?}"));
        }
    }
    if let Some(rest) = case.get("rest") {
        let query: Value = serde_json::from_str(rest).map_err(|e| format!("bad rest JSON: {e}"))?;
        let expected = rest_rows(&engine.state, &query).await?;
        let keys = session.last_keys.clone();
        let want: Vec<Vec<Value>> =
            expected.iter().map(|r| keys.iter().map(|k| r.get(k).cloned().unwrap_or(Value::Null)).collect()).collect();
        let got: Vec<Vec<Value>> = table.rows.iter().map(|r| r.iter().map(Cell::to_cube_json).collect()).collect();
        if want.is_empty() {
            return Err("the REST query returned no rows: the case proves nothing".into());
        }
        let ordered = case.get("ordered").is_some();
        let (w, g) = if ordered { (want, got) } else { (sorted(want), sorted(got)) };
        if !same_rows(&w, &g) {
            return Err(format!("rows differ from /v1/load's:\n  sql:  {g:?}\n  rest: {w:?}"));
        }
    }
    if let Some(expect) = case.get("expect") {
        let want: Vec<Vec<Value>> = serde_json::from_str(expect).map_err(|e| format!("bad expect JSON: {e}"))?;
        let got: Vec<Vec<Value>> = table.rows.iter().map(|r| r.iter().map(text).collect()).collect();
        if want != got {
            return Err(format!("rows {got:?}, expected {want:?}"));
        }
    }
    if let Some(n) = case.get("rows") {
        let n: usize = n.parse().map_err(|_| "bad rows count")?;
        if table.rows.len() != n {
            return Err(format!("{} rows, expected {n}", table.rows.len()));
        }
    }
    if ["rest", "expect", "rows", "columns"].iter().all(|k| case.get(k).is_none()) {
        return Err("the case checks nothing: give rest, expect, rows, columns or error".into());
    }
    Ok(())
}

#[test]
fn sql_api_cases() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let engine = Engine { state: state(), users: Users { users: Vec::new(), anyone: true } };
    let cases = read_cases(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sqlapi"));
    let mut failures = Vec::new();
    let (mut queries, mut introspection) = (0, 0);
    for case in &cases {
        match case.file.as_str() {
            f if f.starts_with("introspection") || f.starts_with("session") => introspection += 1,
            _ => queries += 1,
        }
        if let Err(e) = runtime.block_on(run_case(&engine, case)) {
            failures.push(format!("{}/{}: {e}\n  {}", case.file, case.name, case.sql.replace('\n', "\n  ")));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
    eprintln!(
        "{} SQL API cases passed ({queries} query shapes, {introspection} introspection and session)",
        cases.len()
    );
}

/// Runs one statement as a user with a security context; the rows' text, or the SQLSTATE.
async fn run_as(engine: &Engine, context: Value, user: &str, sql: &str) -> Result<Vec<Vec<Value>>, String> {
    let superuser = engine.users.find(user).is_some_and(|u| u.superuser);
    let mut session = Session::new(user, "db", context, superuser, 9);
    let mut last = Err("no statement".to_string());
    for stmt in parse(sql).map_err(|e| e.code.to_string())? {
        last = match engine.execute(&mut session, stmt).await {
            Ok(Outcome::Rows(t)) => Ok(t.rows.iter().map(|r| r.iter().map(text).collect()).collect()),
            Ok(other) => Err(format!("{other:?}")),
            Err(e) => {
                eprintln!("{sql}: {} ({})", e.message, e.code);
                return Err(e.code.to_string());
            }
        };
    }
    last
}

/// Access policies through the SQL API (the affiliates cube of metrics/advocacy.yml): a partner
/// sees only its own row and only its members, through every path (tables, columns, queries,
/// subqueries, the catalog, `__user`); a caller without a group sees no affiliates at all.
#[test]
fn access_policies_hold_on_every_sql_path() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let users = Users {
        users: vec![cubec::sqlapi::users::SqlUser {
            name: "team".into(),
            password: "x".into(),
            context: json!({ "groups": ["referral_team"] }),
            superuser: false,
        }],
        anyone: false,
    };
    let engine = Engine { state: state(), users };
    let team = json!({ "groups": ["referral_team"] });
    let partner = json!({ "groups": ["affiliate_partner"], "affiliate_id": 2 });
    let nobody = json!({});
    let total = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("metrics/data/affiliates.csv"))
        .expect("affiliates.csv")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
        - 1;
    runtime.block_on(async {
        let run = |ctx: &Value, user: &'static str, sql: &'static str| run_as(&engine, ctx.clone(), user, sql);
        // The team sees every affiliate; the partner one row, by every route to the rows.
        assert_eq!(
            run(&team, "team", "SELECT MEASURE(enrolled) FROM affiliates").await,
            Ok(vec![vec![json!(total.to_string())]])
        );
        assert_eq!(run(&partner, "p", "SELECT MEASURE(enrolled) FROM affiliates").await, Ok(vec![vec![json!("1")]]));
        assert_eq!(run(&partner, "p", "SELECT COUNT(*) FROM affiliates").await, Ok(vec![vec![json!("1")]]));
        assert_eq!(
            run(
                &partner,
                "p",
                "SELECT count(*) FROM (SELECT enrolled_at, MEASURE(enrolled) FROM affiliates GROUP BY 1) q"
            )
            .await,
            Ok(vec![vec![json!("1")]])
        );
        assert_eq!(
            run(&partner, "p", "WITH a AS (SELECT enrolled_at FROM affiliates) SELECT count(*) FROM a").await,
            Ok(vec![vec![json!("1")]])
        );
        // The row filter's member (a primary key, not public) cannot be named to get around it.
        assert_eq!(
            run(&partner, "p", "SELECT MEASURE(enrolled) FROM affiliates WHERE id <> 2").await,
            Err("42703".into())
        );
        assert_eq!(
            run(
                &partner,
                "p",
                "SELECT MEASURE(enrolled) FROM affiliates WHERE enrolled_at < '2100-01-01' OR enrolled_at IS NULL"
            )
            .await,
            Ok(vec![vec![json!("1")]])
        );
        // A member outside the partner's policy does not exist for it, in queries and the catalog.
        assert_eq!(
            run(&partner, "p", "SELECT MEASURE(top_affiliate_concentration) FROM affiliates").await,
            Err("42703".into())
        );
        assert_eq!(
            run(
                &partner,
                "p",
                "SELECT count(*) FROM information_schema.columns WHERE column_name = 'top_affiliate_concentration'"
            )
            .await,
            Ok(vec![vec![json!("0")]])
        );
        assert_eq!(
            run(
                &team,
                "team",
                "SELECT count(*) FROM information_schema.columns WHERE column_name = 'top_affiliate_concentration'"
            )
            .await,
            Ok(vec![vec![json!("1")]])
        );
        // Switching to the team through __user is refused to a non-superuser.
        assert_eq!(
            run(&partner, "p", "SELECT MEASURE(enrolled) FROM affiliates WHERE __user = 'team'").await,
            Err("42501".into())
        );
        // Without a group, affiliates is no table: not in a query, not in the catalog.
        assert_eq!(run(&nobody, "n", "SELECT MEASURE(enrolled) FROM affiliates").await, Err("42P01".into()));
        assert_eq!(
            run(&nobody, "n", "SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'affiliates'").await,
            Ok(vec![vec![json!("0")]])
        );
        assert_eq!(
            run(&nobody, "n", "SELECT count(*) FROM (SELECT enrolled_at FROM affiliates) q").await,
            Err("42P01".into())
        );
        // Pushdown (SQL the warehouse runs around the cube's SQL) applies the same policy:
        // expressions, windows, ROLLUP, subqueries, unions and CTEs see the partner's one row.
        let one = Ok(vec![vec![json!("1")]]);
        for sql in [
            "SELECT MEASURE(enrolled) * 1 FROM affiliates",
            "SELECT SUM(MEASURE(enrolled)) OVER () FROM affiliates",
            "SELECT COUNT(*) FROM affiliates GROUP BY ROLLUP (enrolled_at) HAVING GROUPING(enrolled_at) = 1",
            "SELECT (SELECT MEASURE(enrolled) FROM affiliates) + 0",
            "SELECT COUNT(*) FROM (SELECT DISTINCT enrolled_at FROM affiliates) q",
            "SELECT CASE WHEN enrolled_at IS NULL THEN 0 ELSE 1 END + MEASURE(enrolled) - 1 FROM affiliates GROUP BY enrolled_at",
            "WITH a AS (SELECT MEASURE(enrolled) * 1 AS n FROM affiliates) SELECT n FROM a",
            "SELECT COUNT(*) FROM (SELECT enrolled_at FROM affiliates UNION ALL SELECT enrolled_at FROM affiliates WHERE 1 = 0) q",
        ] {
            assert_eq!(run(&partner, "p", sql).await, one, "{sql}");
        }
        // The hidden key and members stay unknown inside expressions, windows and subqueries.
        for sql in [
            "SELECT MEASURE(enrolled) * 1 FROM affiliates WHERE id + 0 <> 2",
            "SELECT RANK() OVER (ORDER BY id) FROM affiliates",
            "SELECT MEASURE(top_affiliate_concentration) * 1 FROM affiliates",
            "SELECT MEASURE(enrolled) * 1 FROM affiliates WHERE __user = 'team'",
        ] {
            let got = run(&partner, "p", sql).await;
            assert!(matches!(&got, Err(c) if c == "42703" || c == "0A000"), "{sql}: {got:?}");
        }
        // Pushdown cannot reach the warehouse's own tables or functions.
        assert_eq!(
            run(&partner, "p", "SELECT MEASURE(enrolled) * 1 FROM affiliates, affiliates_raw").await,
            Err("42P01".into())
        );
        assert_eq!(
            run(&partner, "p", "SELECT MEASURE(enrolled) * 1, current_setting('search_path') FROM affiliates").await,
            Err("42883".into())
        );
        assert_eq!(
            run(&nobody, "n", "SELECT MEASURE(enrolled) * 1 FROM affiliates").await,
            Err("42P01".into())
        );
    });
}

/// `SET TIME ZONE`: time dimensions are read in the session's zone, on the semantic path and in
/// pushdown alike, and the zone moves rows between months.
#[test]
fn set_time_zone_reads_times_in_that_zone() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let engine = Engine { state: state(), users: Users { users: Vec::new(), anyone: true } };
    let semantic = "SELECT DATE_TRUNC('hour', sent_at) AS h, MEASURE(count) AS n FROM referrals GROUP BY 1";
    let pushdown = "SELECT DATE_TRUNC('hour', sent_at) AS h, MEASURE(count) * 1 AS n FROM referrals GROUP BY 1";
    runtime.block_on(async {
        let zoned = |sql: &str| format!("SET TIME ZONE 'America/New_York'; {sql}");
        let run = |sql: String| run_as(&engine, json!({}), "u", Box::leak(sql.into_boxed_str()));
        let sorted_rows = |r: Result<Vec<Vec<Value>>, String>| sorted(r.expect("rows"));
        let utc = sorted_rows(run(semantic.to_string()).await);
        let ny = sorted_rows(run(zoned(semantic)).await);
        let ny_pushdown = sorted_rows(run(zoned(pushdown)).await);
        assert_ne!(utc, ny, "the zone changes the hours");
        assert_eq!(ny, ny_pushdown, "semantic and pushdown agree in the zone");
        // The same question over /v1/load with the zone gives the same hours.
        let rest = rest_rows(
            &engine.state,
            &json!({"measures": ["referrals.count"], "timeDimensions": [{"dimension": "referrals.sent_at", "granularity": "hour"}], "timezone": "America/New_York", "limit": 50000}),
        )
        .await
        .expect("rest rows");
        let rest: Vec<Vec<Value>> = sorted(
            rest.iter()
                .map(|r| {
                    let t = r["referrals.sent_at.hour"].as_str().unwrap_or_default().replace('T', " ");
                    vec![json!(t[..19].to_string()), r["referrals.count"].clone()]
                })
                .collect(),
        );
        assert_eq!(ny, rest);
    });
}

/// `/v1/sql` with `format: "sql"` (Cube's sql4sql): the query type the SQL API would use and
/// the SQL it would run, for the caller; nothing runs.
#[test]
fn sql4sql_reports_the_query_type_and_the_sql() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let state = state();
    let _ = state.sql_planner.set(Arc::new(cubec::sqlapi::sql4sql::Planner));
    let ask = |sql: &str, context: Value| {
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &context,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("token");
        let req = Request::post("/cubejs-api/v1/sql")
            .header("content-type", "application/json")
            .header("authorization", token)
            .body(Body::from(json!({ "query": sql, "format": "sql" }).to_string()))
            .expect("request");
        let state = Arc::clone(&state);
        runtime.block_on(async move {
            let resp = router(state).oneshot(req).await.expect("a response");
            let status = resp.status().as_u16();
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
            (status, serde_json::from_slice::<Value>(&bytes).expect("json"))
        })
    };
    let (status, body) = ask("SELECT plan, MEASURE(count) FROM users GROUP BY 1", json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sql"]["query_type"], "regular");
    assert_eq!(body["sql"]["status"], "ok");
    assert!(body["sql"]["sql"][0].as_str().is_some_and(|s| s.contains("GROUP BY")), "{body}");
    let (status, body) = ask("SELECT plan, MEASURE(count) * 2 AS twice FROM users GROUP BY ROLLUP (plan)", json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sql"]["query_type"], "pushdown");
    assert!(body["sql"]["sql"][0].as_str().is_some_and(|s| s.contains("ROLLUP")), "{body}");
    let (status, body) =
        ask("SELECT max(n) FROM (SELECT plan, MEASURE(count) AS n FROM users GROUP BY 1) q", json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sql"]["query_type"], "post_processing");
    assert_eq!(body["sql"]["queries"].as_array().map(Vec::len), Some(1), "{body}");
    let (status, body) = ask("SELECT no_such_column FROM users GROUP BY 1", json!({}));
    assert_eq!(status, 400, "{body}");
    // A caller without a group does not see affiliates, on any path.
    let (status, body) = ask("SELECT MEASURE(enrolled) * 1 FROM affiliates", json!({}));
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("42P01")), "{body}");
    let (status, _) = ask("SELECT MEASURE(enrolled) * 1 FROM affiliates", json!({"groups": ["referral_team"]}));
    assert_eq!(status, 200);
}
