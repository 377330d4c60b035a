//! Pre-aggregations through `cubec serve`'s router and its SQL API, in-process, on the embedded
//! DuckDB with the routing cases' model (tests/preagg): queries read the source until the
//! refresh worker has built the rollups, then the rollup, with the same rows; `/v1/load` says
//! which rollup in Cube's `usedPreAggregations`, `/v1/sql` and `/v1/dry-run` in
//! `preAggregations`; rollup-only mode refuses what no rollup serves (503 until built, 400 when
//! none fits), on the REST and the SQL API; a policed caller's rows stay theirs; Cube's
//! Orchestration API builds rollups and reports each partition.
#![cfg(feature = "engine")]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cubec::server::{router, AppState, Limits, ServeConfig};
use cubec::sqlapi::engine::{parse, Engine, Outcome, Session};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const SECRET: &str = "preagg-secret";

/// The routing cases' model and rows (as CSV files the embedded DuckDB loads).
fn model_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cubec_preagg_serve_{tag}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::copy("tests/preagg/model.yml", dir.join("model.yml")).unwrap();
    let rows = std::fs::read_to_string("tests/preagg/rows.yml").unwrap();
    let rows = cubec::load::yaml::parse(&rows, cubec::diag::FileId(0)).unwrap().to_json();
    for (name, table) in rows["tables"].as_object().unwrap() {
        let header: Vec<&String> = table["columns"].as_object().unwrap().keys().collect();
        let mut csv = header.iter().map(|h| h.as_str()).collect::<Vec<_>>().join(",") + "\n";
        for row in table["rows"].as_array().unwrap() {
            let cells: Vec<String> = row
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().map(str::to_string).unwrap_or_else(|| c.to_string()))
                .collect();
            csv += &(cells.join(",") + "\n");
        }
        std::fs::write(dir.join(format!("data/{name}.csv")), csv).unwrap();
    }
    dir
}

fn state(tag: &str, rollup_only: bool) -> Arc<AppState> {
    state_with(tag, rollup_only, cubec::server::default_api_scopes())
}

fn state_with(tag: &str, rollup_only: bool, api_scopes: Vec<String>) -> Arc<AppState> {
    let dir = model_dir(tag);
    let config = ServeConfig {
        model_dir: dir.clone(),
        db_url: None,
        dialects_dir: None,
        secret: Some(SECRET.to_string()),
        dev: false,
        limits: Limits::default(),
        watch: None,
        context_to_groups: "groups".into(),
        cors_origins: Vec::new(),
        shutdown_timeout: Duration::from_secs(5),
        rollups: cubec::server::rollups::RollupConfig { dir: dir.join("store"), rollup_only, ..Default::default() },
        api_scopes,
    };
    Arc::new(AppState::open(&config).expect("the server state opens"))
}

fn token(claims: Value) -> String {
    encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
}

async fn post(state: &Arc<AppState>, path: &str, claims: Value, query: Value) -> (StatusCode, Value) {
    call(state, path, claims, json!({ "query": query })).await
}

async fn call(state: &Arc<AppState>, path: &str, claims: Value, body: Value) -> (StatusCode, Value) {
    let req = Request::post(path)
        .header("content-type", "application/json")
        .header("authorization", token(claims))
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = router(Arc::clone(state)).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn by_month() -> Value {
    json!({
        "measures": ["orders.count", "orders.revenue"],
        "dimensions": ["orders.status"],
        "timeDimensions": [{"dimension": "orders.created_at", "granularity": "month", "dateRange": ["2024-01-01", "2024-03-31"]}],
        "order": [["orders.created_at", "asc"], ["orders.status", "asc"]],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_sql_and_dry_run_say_which_rollup_answers() {
    let s = state("say", false);
    let (status, before) = post(&s, "/cubejs-api/v1/load", json!({}), by_month()).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(before["usedPreAggregations"], json!({}), "nothing is built yet: the source answers");
    assert_eq!(before["external"], false);

    s.refresh_once().await;
    let (status, after) = post(&s, "/cubejs-api/v1/load", json!({}), by_month()).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["data"], before["data"], "the rollup gives the source's rows");
    let used = after["usedPreAggregations"].as_object().expect("usedPreAggregations");
    assert_eq!(used.len(), 1, "{after}");
    let (table, entry) = used.iter().next().unwrap();
    assert_eq!(table, "prod_pre_aggregations.orders_by_month");
    assert_eq!(entry["preAggregationId"], "orders.by_month");
    assert_eq!(entry["type"], "rollup");
    let target = entry["targetTableName"].as_str().unwrap();
    assert!(target.starts_with("prod_pre_aggregations.orders_by_month_"), "{target}");
    let built = entry["lastUpdatedAt"].as_i64().expect("lastUpdatedAt in ms");
    assert!((built - chrono::Utc::now().timestamp_millis()).abs() < 120_000, "{built}");
    assert_eq!(entry["refreshKeyValues"].as_array().map(Vec::len), Some(1), "one partition, one key");
    assert_eq!(after["external"], true, "the embedded store answered");
    // Rows by hand (tests/preagg/cases.yml): March, paid: 30 + 40.
    let march_paid = after["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["orders.status"] == "paid" && r["orders.created_at.month"] == "2024-03-01T00:00:00.000")
        .expect("March, paid");
    assert_eq!(
        (march_paid["orders.count"].to_string(), march_paid["orders.revenue"].to_string()),
        ("\"2\"".into(), "\"70\"".into())
    );

    let (status, sql) = post(&s, "/cubejs-api/v1/sql", json!({}), by_month()).await;
    assert_eq!(status, StatusCode::OK, "{sql}");
    let pre = &sql["sql"]["preAggregations"];
    assert_eq!(pre[0]["preAggregationId"], "orders.by_month", "{sql}");
    assert_eq!(pre[0]["tableName"], "prod_pre_aggregations.orders_by_month");
    assert_eq!(sql["sql"]["external"], true);
    assert!(sql["sql"]["sql"][0].as_str().unwrap().contains("orders_by_month_"), "the SQL reads the rollup: {sql}");

    let (status, dry) = post(&s, "/cubejs-api/v1/dry-run", json!({}), by_month()).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["preAggregations"][0]["preAggregationId"], "orders.by_month", "{dry}");

    // A query no rollup answers: the source, nothing used.
    let by_id = json!({ "measures": ["orders.count"], "dimensions": ["orders.user_id"] });
    let (status, src) = post(&s, "/cubejs-api/v1/load", json!({}), by_id).await;
    assert_eq!(status, StatusCode::OK, "{src}");
    assert_eq!(src["usedPreAggregations"], json!({}));
    assert_eq!(src["data"].as_array().map(Vec::len), Some(3), "three users");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollup_only_mode_refuses_what_no_rollup_serves() {
    let s = state("only", true);
    let (status, body) = post(&s, "/cubejs-api/v1/load", json!({}), by_month()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "not built yet: {body}");
    let message = body["error"].as_str().unwrap();
    assert!(message.starts_with("No pre-aggregation table has been built for this query yet."), "{message}");
    assert!(message.contains("`orders.by_month`: not built for time zone UTC"), "{message}");

    s.refresh_once().await;
    let (status, body) = post(&s, "/cubejs-api/v1/load", json!({}), by_month()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"].as_array().map(Vec::len), Some(6));

    let by_id = json!({ "measures": ["orders.count"], "dimensions": ["orders.user_id"] });
    let (status, body) = post(&s, "/cubejs-api/v1/load", json!({}), by_id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"].as_str().unwrap();
    assert!(message.contains("rollup-only mode never runs it on the source"), "{message}");
    assert!(message.contains("dimension `orders.user_id` is not stored"), "{message}");

    // The SQL API follows the same rule.
    let engine = Engine { state: Arc::clone(&s), users: Default::default() };
    let mut session = Session::new("u", "db", json!({}), false, 1);
    let run = |sql: &'static str| parse(sql).unwrap().into_iter().next().unwrap();
    let outcome = engine.execute(&mut session, run("SELECT status, MEASURE(count) FROM orders GROUP BY 1")).await;
    match outcome {
        Ok(Outcome::Rows(t)) => assert_eq!(t.rows.len(), 2, "paid and open"),
        other => panic!("a query the rollups serve: {other:?}"),
    }
    let refused = engine.execute(&mut session, run("SELECT user_id, MEASURE(count) FROM orders GROUP BY 1")).await;
    match refused {
        Err(e) => {
            assert_eq!(e.code, "0A000", "{}", e.message);
            assert!(e.message.contains("dimension `orders.user_id` is not stored"), "{}", e.message);
        }
        other => panic!("rollup-only mode must refuse: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policed_caller_reads_only_their_rows_from_a_rollup() {
    let s = state("policy", false);
    s.refresh_once().await;
    let q = json!({ "measures": ["orders.count"], "dimensions": ["users.city"] });
    let (status, berlin) = post(&s, "/cubejs-api/v1/load", json!({"groups": ["berlin"]}), q.clone()).await;
    assert_eq!(status, StatusCode::OK, "{berlin}");
    assert_eq!(berlin["data"], json!([{"users.city": "Berlin", "orders.count": "5"}]));
    assert!(berlin["usedPreAggregations"].get("prod_pre_aggregations.orders_by_day").is_some(), "{berlin}");
    // A row filter on a member no rollup stores: the source, with the filter.
    let (status, low) = post(&s, "/cubejs-api/v1/load", json!({"groups": ["low_ids"]}), q.clone()).await;
    assert_eq!(status, StatusCode::OK, "{low}");
    assert_eq!(low["usedPreAggregations"], json!({}));
    let mut rows = low["data"].as_array().unwrap().clone();
    rows.sort_by_key(|r| r["users.city"].to_string());
    assert_eq!(
        json!(rows),
        json!([{"users.city": "Berlin", "orders.count": "3"}, {"users.city": "Paris", "orders.count": "3"}])
    );
    // No group: no access to users at all, rollup or not.
    let (status, none) = post(&s, "/cubejs-api/v1/load", json!({}), q).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{none}");
}

const JOBS: &str = "/cubejs-api/v1/pre-aggregations/jobs";

/// Polls the jobs until none is scheduled or processing; their statuses by token.
async fn settle(s: &Arc<AppState>, tokens: &Value) -> serde_json::Map<String, Value> {
    for _ in 0..600 {
        let (status, body) =
            call(s, JOBS, json!({}), json!({"action": "get", "resType": "object", "tokens": tokens})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let jobs = body.as_object().expect("an object by token").clone();
        assert_eq!(jobs.len(), tokens.as_array().unwrap().len(), "{body}");
        if jobs.values().all(|j| j["status"] != "scheduled" && j["status"] != "processing") {
            return jobs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the jobs did not finish within a minute");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orchestration_api_builds_rollups_and_reports_each_partition() {
    // Cube's default scopes leave the endpoint closed.
    let closed = state("jobs_closed", false);
    let (status, body) = call(&closed, JOBS, json!({}), json!({"action": "get", "tokens": []})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "API scope is missing: jobs");

    let mut scopes = cubec::server::default_api_scopes();
    scopes.push("jobs".into());
    let s = state_with("jobs", true, scopes);
    let bad = [
        (json!({}), "No job description provided"),
        (json!({"action": "run"}), "\"action\" must be one of [post, get]"),
        (json!({"action": "post"}), "\"selector\" is required"),
        (json!({"action": "post", "selector": {"timezones": ["Mars/Base"]}}), "\"Mars/Base\" is not an IANA time zone"),
        (json!({"action": "post", "selector": {"timezones": ["UTC"], "contexts": [{}]}}), "'securityContext'"),
        (json!({"action": "post", "selector": {"timezones": []}}), "at least one time zone"),
        (
            json!({"action": "post", "selector": {"timezones": ["UTC"], "preAggregations": ["orders.nope"]}}),
            "doesn't match any of the pre-aggregations",
        ),
        (json!({"action": "get", "tokens": "abc"}), "\"tokens\" must be an array of strings"),
    ];
    for (body, expected) in bad {
        let (status, answer) = call(&s, JOBS, json!({}), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{body}: {message}");
    }

    // Rollup-only mode: nothing is built, so the query is refused until the jobs are done.
    let (status, _) = post(&s, "/cubejs-api/v1/load", json!({}), by_month()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    let selector = json!({
        "contexts": [{"securityContext": {}}],
        "timezones": ["UTC"],
        "cubes": ["orders"],
        "preAggregations": ["orders.by_day", "orders.by_month"],
    });
    let (status, tokens) = call(&s, JOBS, json!({}), json!({"action": "post", "selector": selector})).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let list = tokens.as_array().expect("a list of tokens");
    // by_day: a partition per month of data (January to March 2024); by_month: one.
    assert_eq!(list.len(), 4, "{tokens}");
    assert!(list.iter().all(|t| t.as_str().is_some_and(|t| t.len() == 32 && t.chars().all(|c| c.is_ascii_hexdigit()))));
    let jobs = settle(&s, &tokens).await;
    let mut tables: Vec<&str> = jobs.values().map(|j| j["table"].as_str().unwrap()).collect();
    tables.sort();
    for j in jobs.values() {
        assert_eq!(j["status"], "done", "{j}");
        assert_eq!(j["selector"]["timezones"], json!(["UTC"]));
        assert_eq!(j["selector"]["cubes"], json!(["orders"]));
        assert_eq!(j["selector"]["contexts"], json!([{"securityContext": {}}]));
    }
    assert!(tables[0].starts_with("prod_pre_aggregations.orders_by_day_20240101_"), "{tables:?}");
    assert!(tables[1].starts_with("prod_pre_aggregations.orders_by_day_20240201_"), "{tables:?}");
    assert!(tables[2].starts_with("prod_pre_aggregations.orders_by_day_20240301_"), "{tables:?}");
    assert!(tables[3].starts_with("prod_pre_aggregations.orders_by_month_"), "{tables:?}");

    // Done means served: the rollup answers at once, with the rows by hand.
    let (status, body) = post(&s, "/cubejs-api/v1/load", json!({}), by_month()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["usedPreAggregations"].get("prod_pre_aggregations.orders_by_month").is_some(), "{body}");
    assert_eq!(body["data"].as_array().map(Vec::len), Some(6));

    // Posting again builds nothing: every partition is up to date, so done at once.
    let (_, again) = call(&s, JOBS, json!({}), json!({"action": "post", "selector": selector})).await;
    let (_, statuses) = call(&s, JOBS, json!({}), json!({"action": "get", "tokens": again})).await;
    let statuses = statuses.as_array().expect("the array form");
    assert_eq!(statuses.len(), 4);
    assert!(statuses.iter().all(|j| j["status"] == "done" && j["token"].is_string()), "{statuses:?}");

    // A date range picks the partitions it meets; an unknown token is not_found.
    let february =
        json!({"timezones": ["UTC"], "preAggregations": ["orders.by_day"], "dateRange": ["2024-02-10", "2024-02-12"]});
    let (_, one) = call(&s, JOBS, json!({}), json!({"action": "post", "selector": february})).await;
    assert_eq!(one.as_array().map(Vec::len), Some(1), "{one}");
    let jobs = settle(&s, &one).await;
    let only = jobs.values().next().unwrap();
    assert!(only["table"].as_str().unwrap().starts_with("prod_pre_aggregations.orders_by_day_20240201_"), "{only}");
    let (_, unknown) =
        call(&s, JOBS, json!({}), json!({"action": "get", "tokens": ["0123456789abcdef0123456789abcdef"]})).await;
    assert_eq!(unknown, json!([{"token": "0123456789abcdef0123456789abcdef", "status": "not_found"}]));
}
