//! The query cache and queue through `cubec serve`'s router, called in-process.
//!
//! On the embedded DuckDB, cubes over `random()` give a new value every time their SQL runs, so
//! (their keys `immutable` unless the test is about a key, so no clock boundary intervenes)
//! "same value" means "answered from the cache" and "new value" means "ran again": hits,
//! `renewQuery` and the `cache` modes, `every` keys moving after their interval and not before,
//! `sql` keys compared by value, the cache turned off, and two callers whose access policies
//! give different row filters never sharing a cached result. On PostgreSQL (CI), a sequence the
//! cube's SQL advances counts executions on the database's side: a burst of identical requests
//! runs once, a slow query answers `Continue wait` and then its rows without running again, and
//! a `sql` refresh key follows a change in the source.
#![cfg(feature = "engine")]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cubec::server::{router, AppState, Limits, ServeConfig};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const SECRET: &str = "cache-secret";

// tenant a: 10 + 20 + 5; tenant b: 100 + 200.
const ORDERS_CSV: &str = "id,tenant,amount
1,a,10
2,a,20
3,a,5
4,b,100
5,b,200
";

const MODEL: &str = r#"cubes:
  - name: dice
    sql: "SELECT random() AS r"
    refresh_key:
      immutable: true
    measures:
      - {name: roll, type: max, sql: r}
  - name: dice_every
    sql: "SELECT random() AS r"
    refresh_key:
      every: 1 second
    measures:
      - {name: roll, type: max, sql: r}
  - name: dice_sql
    sql: "SELECT random() AS r"
    refresh_key:
      sql: SELECT 42 AS answer
      every: 1 second
    measures:
      - {name: roll, type: max, sql: r}
  - name: orders
    sql_table: orders
    refresh_key:
      immutable: true
    measures:
      - {name: revenue, type: sum, sql: amount}
    dimensions:
      - {name: id, sql: id, type: number, primary_key: true}
      - {name: tenant, sql: tenant, type: string}
    access_policy:
      - group: analyst
        row_level:
          filters:
            - {member: tenant, operator: equals, values: ["{ securityContext.tenant }"]}
      - group: manager
  - name: tenant_orders
    sql: "SELECT * FROM orders WHERE {SECURITY_CONTEXT.tenant.filter('tenant')}"
    refresh_key:
      immutable: true
    measures:
      - {name: revenue, type: sum, sql: amount}
    dimensions:
      - {name: id, sql: id, type: number, primary_key: true}
"#;

fn model_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cubec_cache_{tag}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).expect("temp dir");
    std::fs::write(dir.join("data/orders.csv"), ORDERS_CSV).expect("csv");
    std::fs::write(dir.join("model.yml"), MODEL).expect("model");
    dir
}

fn config(dir: &Path, db_url: Option<String>, dev: bool, limits: Limits) -> ServeConfig {
    ServeConfig {
        model_dir: dir.to_path_buf(),
        db_url,
        dialects_dir: None,
        secret: Some(SECRET.to_string()),
        dev,
        limits,
        watch: None,
        context_to_groups: "groups".into(),
        cors_origins: Vec::new(),
        shutdown_timeout: Duration::from_secs(5),
        rollups: Default::default(),
        api_scopes: cubec::server::default_api_scopes(),
    }
}

fn state(tag: &str, dev: bool, limits: Limits) -> Arc<AppState> {
    Arc::new(AppState::open(&config(&model_dir(tag), None, dev, limits)).expect("the server state opens"))
}

fn token(claims: Value) -> String {
    encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET.as_bytes())).expect("token")
}

/// POSTs `/v1/load` with `body` (a JSON object with `query` and maybe `cache`).
async fn load(state: &Arc<AppState>, auth: &str, body: Value) -> (StatusCode, Value) {
    load_as(state, auth, body, None).await
}

/// [`load`] with an `x-request-id`, as Cube's client sends one (`<id>-span-<n>`).
async fn load_as(state: &Arc<AppState>, auth: &str, body: Value, request_id: Option<&str>) -> (StatusCode, Value) {
    let mut req =
        Request::post("/cubejs-api/v1/load").header("content-type", "application/json").header("authorization", auth);
    if let Some(id) = request_id {
        req = req.header("x-request-id", id);
    }
    let req = req.body(Body::from(body.to_string())).expect("request");
    let resp = router(Arc::clone(state)).oneshot(req).await.expect("a response");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The one value of `member` in a successful answer.
async fn value(state: &Arc<AppState>, auth: &str, body: Value, member: &str) -> String {
    let (status, answer) = load(state, auth, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["data"][0][member].as_str().unwrap_or_else(|| panic!("no {member} in {answer}")).to_string()
}

async fn metrics(state: &Arc<AppState>, auth: &str) -> String {
    let req = Request::get("/metrics").header("authorization", auth).body(Body::empty()).expect("request");
    let resp = router(Arc::clone(state)).oneshot(req).await.expect("a response");
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    String::from_utf8_lossy(&bytes).into_owned()
}

fn roll(cube: &str) -> Value {
    json!({ "query": { "measures": [format!("{cube}.roll")] } })
}

#[tokio::test]
async fn a_repeated_query_is_answered_from_the_cache() {
    let s = state("hit", false, Limits::default());
    let t = token(json!({}));
    let (status, first) = load(&s, &t, roll("dice")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (_, second) = load(&s, &t, roll("dice")).await;
    assert_eq!(first["data"], second["data"], "the same rows, not a new random()");
    assert_eq!(first["lastRefreshTime"], second["lastRefreshTime"], "fetched once");
    assert_eq!(second["slowQuery"], false);
    assert_eq!(second["dbType"], "duckdb");
    assert!(second.get("refreshKeyValues").is_none(), "key values are shown in dev mode only, as in Cube");
    let text = metrics(&s, &t).await;
    for line in [r#"cubec_cache_hits_total{kind="fresh"} 1"#, "cubec_cache_misses_total 1", "cubec_cache_entries 1"] {
        assert!(text.contains(line), "`{line}` missing from:\n{text}");
    }
}

#[tokio::test]
async fn renew_query_and_no_cache_go_to_the_database_must_revalidate_only_when_keys_moved() {
    let s = state("renew", false, Limits::default());
    let t = token(json!({}));
    let first = value(&s, &t, roll("dice"), "dice.roll").await;
    let renewed =
        value(&s, &t, json!({ "query": { "measures": ["dice.roll"], "renewQuery": true } }), "dice.roll").await;
    assert_ne!(first, renewed, "renewQuery always runs the query");
    let again = value(&s, &t, roll("dice"), "dice.roll").await;
    assert_eq!(again, renewed, "and its rows are cached for the next caller");
    let no_cache =
        value(&s, &t, json!({ "query": { "measures": ["dice.roll"] }, "cache": "no-cache" }), "dice.roll").await;
    assert_ne!(no_cache, renewed);
    let checked =
        value(&s, &t, json!({ "query": { "measures": ["dice.roll"] }, "cache": "must-revalidate" }), "dice.roll").await;
    assert_eq!(checked, no_cache, "the keys did not move, so the cached rows are still right");
    let (status, body) = load(&s, &t, json!({ "query": { "measures": ["dice.roll"] }, "cache": "sometimes" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("stale-if-slow")), "{body}");
}

#[tokio::test]
async fn an_every_key_gives_new_rows_after_its_interval_and_cached_ones_before() {
    let s = state("every", true, Limits::default());
    let t = token(json!({}));
    let (_, first) = load(&s, &t, roll("dice_every")).await;
    let (_, before) = load(&s, &t, roll("dice_every")).await;
    // Unless the second request crossed a one-second boundary, it is the cached answer.
    let key = |b: &Value| b["refreshKeyValues"][0][0]["refresh_key"].clone();
    if key(&first) == key(&before) {
        assert_eq!(first["data"], before["data"]);
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, after) = load(&s, &t, roll("dice_every")).await;
    assert_ne!(key(&after), key(&first), "the key moved: {after}");
    assert_ne!(after["data"], first["data"], "new rows once the key moved");
}

#[tokio::test]
async fn a_sql_key_is_compared_by_value_so_an_unchanged_source_stays_cached() {
    let s = state("sqlkey", true, Limits::default());
    let t = token(json!({}));
    let (_, first) = load(&s, &t, roll("dice_sql")).await;
    assert_eq!(first["refreshKeyValues"], json!([[{ "answer": "42" }]]), "{first}");
    // `every: 1 second` beside `sql`: the SQL runs again after a second, and gives 42 again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, later) = load(&s, &t, roll("dice_sql")).await;
    assert_eq!(later["data"], first["data"], "the key's value did not change, so neither did the answer");
}

#[tokio::test]
async fn stale_while_revalidate_answers_at_once_and_refreshes_behind() {
    let s = state("swr", false, Limits::default());
    let t = token(json!({}));
    let swr = json!({ "query": { "measures": ["dice_every.roll"] }, "cache": "stale-while-revalidate" });
    let first = value(&s, &t, swr.clone(), "dice_every.roll").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stale = value(&s, &t, swr.clone(), "dice_every.roll").await;
    assert_eq!(stale, first, "the stale rows at once");
    // The refresh it started lands in the cache.
    let mut fresh = stale.clone();
    for _ in 0..50 {
        fresh = value(&s, &t, swr.clone(), "dice_every.roll").await;
        if fresh != first {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_ne!(fresh, first, "the background refresh replaced the stale rows");
}

#[tokio::test]
async fn a_cache_of_size_zero_is_off() {
    let s = state("off", false, Limits { cache_bytes: 0, ..Limits::default() });
    let t = token(json!({}));
    let a = value(&s, &t, roll("dice"), "dice.roll").await;
    let b = value(&s, &t, roll("dice"), "dice.roll").await;
    assert_ne!(a, b, "every request runs the query");
    let text = metrics(&s, &t).await;
    assert!(text.contains("cubec_cache_misses_total 2") && !text.contains("cubec_cache_hits_total{"), "{text}");
}

/// Two callers whose policies filter different rows ask the same question in turns, through a
/// policy's row filter and through `SECURITY_CONTEXT` in the cube's SQL: each only ever gets its
/// own rows, however warm the cache is for the other.
#[tokio::test]
async fn callers_with_different_row_filters_never_see_each_others_cached_rows() {
    let s = state("access", false, Limits::default());
    let a = token(json!({ "groups": ["analyst"], "tenant": "a" }));
    let b = token(json!({ "groups": ["analyst"], "tenant": "b" }));
    let manager = token(json!({ "groups": ["manager"], "tenant": "a" }));
    let q = json!({ "query": { "measures": ["orders.revenue"] } });
    for round in 0..2 {
        assert_eq!(value(&s, &a, q.clone(), "orders.revenue").await, "35", "round {round}");
        assert_eq!(value(&s, &b, q.clone(), "orders.revenue").await, "300", "round {round}");
        assert_eq!(value(&s, &manager, q.clone(), "orders.revenue").await, "335", "round {round}");
    }
    let in_sql = json!({ "query": { "measures": ["tenant_orders.revenue"] } });
    let (plain_a, plain_b) = (token(json!({ "tenant": "a" })), token(json!({ "tenant": "b" })));
    for round in 0..2 {
        assert_eq!(value(&s, &plain_b, in_sql.clone(), "tenant_orders.revenue").await, "300", "round {round}");
        assert_eq!(value(&s, &plain_a, in_sql.clone(), "tenant_orders.revenue").await, "35", "round {round}");
    }
    // The cache was in use: each caller's second round was a hit.
    let text = metrics(&s, &a).await;
    assert!(text.contains(r#"cubec_cache_hits_total{kind="fresh"} 5"#), "{text}");
}

/// PostgreSQL (CI): a server on the CI database over one cube, `timed`, whose SQL advances a
/// sequence of the test's own as it starts (`nextval` comes before the `pg_sleep`), so the
/// sequence counts the query's runs on the database's side.
struct Counted {
    state: Arc<AppState>,
    url: String,
    seq: String,
}

impl Counted {
    /// `timed.total` is `value`; each run sleeps `sleep` seconds; `refresh_key` is YAML.
    async fn start(tag: &str, value: u32, sleep: f64, refresh_key: &str, limits: Limits) -> Option<Counted> {
        let Ok(url) = std::env::var("CUBEC_TEST_POSTGRES_URL") else {
            assert!(std::env::var("CI").is_err(), "CI must set CUBEC_TEST_POSTGRES_URL");
            return None;
        };
        let seq = format!("cubec_cache_{tag}_{}", std::process::id());
        pg(&url, &format!("DROP SEQUENCE IF EXISTS {seq}; CREATE SEQUENCE {seq}")).await;
        let model = format!(
            "cubes:\n  - name: timed\n    sql: \"SELECT {value} AS x, nextval('{seq}') AS run, pg_sleep({sleep}) AS nap\"\n    refresh_key: {refresh_key}\n    measures:\n      - {{name: total, type: sum, sql: x}}\n"
        );
        let state = on_postgres(tag, &model, &url, limits).await;
        Some(Counted { state, url, seq })
    }

    /// How many times the cube's SQL ran.
    async fn runs(&self) -> i64 {
        let rows =
            pg(&self.url, &format!("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {}", self.seq)).await;
        match &rows[0][0] {
            cubec::exec::Cell::Int(n) => *n,
            other => panic!("{other:?}"),
        }
    }

    async fn drop_sequence(self) {
        pg(&self.url, &format!("DROP SEQUENCE {}", self.seq)).await;
    }
}

/// A server on the CI database with `model`.
async fn on_postgres(tag: &str, model: &str, url: &str, limits: Limits) -> Arc<AppState> {
    let dir = std::env::temp_dir().join(format!("cubec_cache_pg_{tag}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("model.yml"), model).expect("model");
    let cfg = config(&dir, Some(url.to_string()), false, limits);
    Arc::new(tokio::task::spawn_blocking(move || AppState::open(&cfg)).await.expect("join").expect("state"))
}

/// Runs `;`-separated statements; the last one's rows.
async fn pg(url: &str, sql: &str) -> Vec<Vec<cubec::exec::Cell>> {
    let (url, sql) = (url.to_string(), sql.to_string());
    tokio::task::spawn_blocking(move || {
        let mut db = cubec::exec::Database::open(Some(&url), Path::new(".")).expect("connect");
        let mut rows = Vec::new();
        for statement in sql.split("; ") {
            rows = db.run_sql(statement, &[]).expect("statement").rows;
        }
        rows
    })
    .await
    .expect("join")
}

/// Asks for `timed.total` again after every "Continue wait", as Cube's client does (with one
/// request id, `<id>-span-<n>`, when `request` is given; `pause` between polls), until the rows
/// come; the answer and how many requests it took.
async fn poll(state: &Arc<AppState>, request: Option<&str>, pause: Duration) -> (Value, usize) {
    let t = token(json!({}));
    let started = std::time::Instant::now();
    for polls in 1.. {
        let id = request.map(|r| format!("{r}-span-{polls}"));
        let (status, body) =
            load_as(state, &t, json!({ "query": { "measures": ["timed.total"] } }), id.as_deref()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body.get("error").is_none() {
            return (body, polls);
        }
        assert_eq!(body, json!({ "error": "Continue wait" }));
        assert!(started.elapsed() < Duration::from_secs(10), "no rows after {polls} polls");
        tokio::time::sleep(pause).await;
    }
    unreachable!()
}

const IMMUTABLE: &str = "{immutable: true}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_burst_of_identical_requests_runs_once() {
    let Some(db) = Counted::start("burst", 7, 1.0, IMMUTABLE, Limits::default()).await else { return };
    // 10 clients, 5 requests each, all at once.
    let clients: Vec<_> = (0..10)
        .map(|_| {
            let s = Arc::clone(&db.state);
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for _ in 0..5 {
                    answers.push(poll(&s, None, Duration::ZERO).await.0["data"].clone());
                }
                answers
            })
        })
        .collect();
    let mut answers = Vec::new();
    for c in clients {
        answers.extend(c.await.expect("client"));
    }
    assert_eq!(answers.len(), 50);
    assert!(answers.iter().all(|a| *a == json!([{ "timed.total": "7" }])), "{answers:?}");
    assert_eq!(db.runs().await, 1, "PostgreSQL ran the query once for 50 requests");
    db.drop_sequence().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_slow_query_answers_continue_wait_then_its_rows_without_running_again() {
    let limits = Limits { continue_wait: Some(Duration::from_millis(300)), ..Limits::default() };
    let Some(db) = Counted::start("slow", 3, 2.0, IMMUTABLE, limits).await else { return };
    let (rows, polls) = poll(&db.state, None, Duration::ZERO).await;
    assert_eq!(rows["data"], json!([{ "timed.total": "3" }]));
    assert!(polls >= 4, "about 2 s at 0.3 s a wait: {polls} requests");
    assert_eq!(db.runs().await, 1, "the polls joined the query instead of running it again");
    db.drop_sequence().await;
}

/// With the result cache off, the request that was told "continue wait" still gets the rows
/// when it asks again with its request id; another request runs the query anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_with_the_cache_off_the_polling_request_still_gets_its_rows() {
    let limits = Limits { continue_wait: Some(Duration::from_millis(200)), cache_bytes: 0, ..Limits::default() };
    let Some(db) = Counted::start("off", 5, 1.0, IMMUTABLE, limits).await else { return };
    // A pause between polls, so the outcome is picked up from the finished query rather than
    // joined while it runs.
    let (rows, _) = poll(&db.state, Some("3f1c2a"), Duration::from_millis(400)).await;
    assert_eq!(rows["data"], json!([{ "timed.total": "5" }]));
    assert_eq!(db.runs().await, 1, "the polls were answered by the one run");
    let (_, other) = load_as(
        &db.state,
        &token(json!({})),
        json!({ "query": { "measures": ["timed.total"] } }),
        Some("another-span-1"),
    )
    .await;
    assert_eq!(other, json!({ "error": "Continue wait" }), "a new request runs the query anew");
    assert_eq!(db.runs().await, 2);
    db.drop_sequence().await;
}

/// A query that runs longer than its cube's refresh-key interval: polls that come after the key
/// moved join the run they started instead of starting another at every interval (which would
/// never finish in time to answer anyone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_query_slower_than_its_refresh_key_still_answers_its_poller() {
    let limits = Limits { continue_wait: Some(Duration::from_millis(300)), ..Limits::default() };
    let Some(db) = Counted::start("outrun", 6, 2.5, "{every: 1 second}", limits).await else { return };
    let (rows, _) = poll(&db.state, Some("9e"), Duration::ZERO).await;
    assert_eq!(rows["data"], json!([{ "timed.total": "6" }]));
    assert!(db.runs().await <= 2, "{} runs", db.runs().await);
    db.drop_sequence().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_sql_refresh_key_follows_the_source() {
    let Ok(url) = std::env::var("CUBEC_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "CI must set CUBEC_TEST_POSTGRES_URL");
        return;
    };
    let table = format!("cubec_cache_src_{}", std::process::id());
    let model = format!(
        "cubes:\n  - name: src\n    sql_table: {table}\n    refresh_key:\n      sql: SELECT max(v) FROM {table}\n      every: 1 second\n    measures:\n      - {{name: total, type: sum, sql: v}}\n"
    );
    pg(
        &url,
        &format!("DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (v int); INSERT INTO {table} VALUES (1), (2)"),
    )
    .await;
    let s = on_postgres("src", &model, &url, Limits::default()).await;
    let t = token(json!({}));
    let q = json!({ "query": { "measures": ["src.total"] } });
    assert_eq!(value(&s, &t, q.clone(), "src.total").await, "3");
    pg(&url, &format!("INSERT INTO {table} VALUES (10)")).await;
    // Within the second the key is not checked again: the cached answer (or, on a slow
    // machine past the second, already the new one).
    let early = value(&s, &t, q.clone(), "src.total").await;
    assert!(early == "3" || early == "13", "{early}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(value(&s, &t, q.clone(), "src.total").await, "13", "the key moved with the source");
    let renewed = value(&s, &t, json!({ "query": { "measures": ["src.total"], "renewQuery": true } }), "src.total");
    assert_eq!(renewed.await, "13");
    pg(&url, &format!("DROP TABLE {table}")).await;
}
