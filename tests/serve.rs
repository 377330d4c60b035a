//! `cubec serve`'s router, called in-process: every endpoint, every auth failure, every error
//! status, the query timeout (cancelled on the database), and hot reload keeping the last good
//! model. The data is a small CSV table whose answers are worked out by hand below.
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

const SECRET: &str = "test-secret";

// tenant a: paid 10 + 20, open 5; tenant b: paid 100.
const ORDERS_CSV: &str = "id,tenant,status,amount,created_at
1,a,paid,10,2024-01-01 10:00:00
2,a,paid,20,2024-01-15 12:00:00
3,a,open,5,2024-02-01 09:00:00
4,b,paid,100,2024-02-03 08:00:00
";

const MODEL: &str = r#"cubes:
  - name: orders
    sql: "SELECT * FROM orders WHERE {SECURITY_CONTEXT.tenant.filter('tenant')}"
    measures:
      - name: count
        type: count
      - name: revenue
        type: sum
        sql: amount
        format: currency
        title: Revenue (USD)
    dimensions:
      - name: id
        sql: id
        type: number
        primary_key: true
      - name: status
        sql: status
        type: string
      - name: created_at
        sql: created_at
        type: time
  - name: slow
    sql: "SELECT a.range AS x FROM range(100000000) a, range(100000000) b"
    measures:
      - name: total
        type: sum
        sql: x
  - name: broken
    sql_table: no_such_table
    measures:
      - name: count
        type: count
"#;

fn model_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cubec_serve_{tag}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).expect("temp dir");
    std::fs::write(dir.join("data/orders.csv"), ORDERS_CSV).expect("csv");
    std::fs::write(dir.join("orders.yml"), MODEL).expect("model");
    dir
}

fn state(dir: &Path, limits: Limits) -> Arc<AppState> {
    let config = ServeConfig {
        model_dir: dir.to_path_buf(),
        db_url: None,
        dialects_dir: None,
        secret: Some(SECRET.to_string()),
        dev: false,
        limits,
        watch: None,
        context_to_groups: "groups".into(),
        cors_origins: Vec::new(),
        shutdown_timeout: std::time::Duration::from_secs(5),
        rollups: Default::default(),
        api_scopes: cubec::server::default_api_scopes(),
    };
    Arc::new(AppState::open(&config).expect("the server state opens"))
}

fn token(claims: Value) -> String {
    encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET.as_bytes())).expect("token")
}

async fn call(state: &Arc<AppState>, req: Request<Body>) -> (StatusCode, Value) {
    let api = req.uri().path().starts_with("/cubejs-api/v1/");
    let resp = router(Arc::clone(state)).oneshot(req).await.expect("a response");
    let status = resp.status();
    if api && status != StatusCode::NOT_FOUND {
        assert!(resp.headers().contains_key("x-request-id"), "every API answer has a request id");
    }
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, body)
}

fn get(path: &str, query: &Value, auth: Option<&str>) -> Request<Body> {
    let q: String = url_encode(&query.to_string());
    let mut b = Request::get(format!("{path}?query={q}&queryType=multi"));
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    b.body(Body::empty()).expect("request")
}

fn post(path: &str, body: String, auth: Option<&str>) -> Request<Body> {
    let mut b = Request::post(path).header("content-type", "application/json");
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    b.body(Body::from(body)).expect("request")
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn by_status() -> Value {
    json!({"measures": ["orders.count", "orders.revenue"], "dimensions": ["orders.status"], "order": {"orders.status": "asc"}})
}

#[tokio::test]
async fn load_answers_with_rows_for_the_tokens_tenant() {
    let s = state(&model_dir("load"), Limits::default());
    let t = token(json!({"tenant": "a"}));
    let (status, body) = call(&s, get("/cubejs-api/v1/load", &by_status(), Some(&t))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["queryType"], "regularQuery");
    let r = &body["results"][0];
    assert_eq!(
        r["data"],
        json!([
            {"orders.status": "open", "orders.count": "1", "orders.revenue": "5"},
            {"orders.status": "paid", "orders.count": "2", "orders.revenue": "30"},
        ])
    );
    assert_eq!(r["annotation"]["measures"]["orders.revenue"]["title"], "Orders Revenue (USD)");
    assert_eq!(r["query"]["limit"], 10000);
    assert_eq!(r["query"]["order"], json!([{"id": "orders.status", "desc": false}]));
    assert_eq!(r["dbType"], "duckdb");
    assert_eq!(body["pivotQuery"]["measures"], json!(["orders.count", "orders.revenue"]));

    // Bearer form, POST body, no `multi`: a single response; a token without a tenant sees all.
    let all = token(json!({"sub": "admin"}));
    let req = post(
        "/cubejs-api/v1/load",
        json!({"query": {"measures": ["orders.revenue"], "total": true}}).to_string(),
        Some(&format!("Bearer {all}")),
    );
    let (status, body) = call(&s, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], json!([{"orders.revenue": "135"}]));
    assert_eq!(body["total"], 1);
}

#[tokio::test]
async fn load_time_dimensions_and_compact_rows() {
    let s = state(&model_dir("time"), Limits::default());
    let t = token(json!({}));
    let q = json!({
        "measures": ["orders.count"],
        "timeDimensions": [{"dimension": "orders.created_at", "granularity": "month", "dateRange": ["2024-01-01", "2024-02-29"]}],
        "responseFormat": "compact"
    });
    let (status, body) = call(&s, get("/cubejs-api/v1/load", &q, Some(&t))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["results"][0]["data"],
        json!({
            "members": ["orders.created_at.month", "orders.count", "orders.created_at"],
            "dataset": [["2024-01-01T00:00:00.000", "2", "2024-01-01T00:00:00.000"], ["2024-02-01T00:00:00.000", "2", "2024-02-01T00:00:00.000"]]
        })
    );
}

#[tokio::test]
async fn sql_meta_and_dry_run() {
    let s = state(&model_dir("sql"), Limits::default());
    let t = token(json!({"tenant": "a"}));
    let (status, body) = call(&s, get("/cubejs-api/v1/sql", &by_status(), Some(&t))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sql = body["sql"]["sql"][0].as_str().unwrap_or_default();
    assert!(sql.contains("WHERE tenant = $1"), "{sql}");
    assert_eq!(body["sql"]["sql"][1], json!(["a"]));
    assert_eq!(body["sql"]["aliasNameToMember"]["orders__count"], "orders.count");
    assert_eq!(body["sql"]["order"], json!({"orders.status": "asc"}));

    // Another warehouse's SQL on request.
    let req =
        Request::get(format!("/cubejs-api/v1/sql?dialect=bigquery&query={}", url_encode(&by_status().to_string())))
            .header("authorization", &t)
            .body(Body::empty())
            .expect("request");
    let (status, body) = call(&s, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["sql"]["sql"][0].as_str().unwrap_or_default().contains('`'), "{body}");

    let req = Request::get("/cubejs-api/v1/meta").header("authorization", &t).body(Body::empty()).expect("req");
    let (status, body) = call(&s, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let orders =
        body["cubes"].as_array().and_then(|c| c.iter().find(|c| c["name"] == "orders")).cloned().unwrap_or_default();
    assert_eq!(orders["type"], "cube");
    let measures: Vec<&str> = orders["measures"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(measures, ["orders.count", "orders.revenue"]);
    assert_eq!(orders["measures"][1]["aggType"], "sum");
    assert_eq!(orders["measures"][1]["format"], "currency");
    let dims: Vec<&str> = orders["dimensions"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(dims, ["orders.status", "orders.created_at"], "the primary key is hidden, as in Cube");

    let (status, body) = call(&s, get("/cubejs-api/v1/dry-run", &by_status(), Some(&t))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["normalizedQueries"][0]["dimensions"], json!(["orders.status"]));
    assert_eq!(body["queryOrder"], json!([{"orders.status": "asc"}]));
}

#[tokio::test]
async fn auth_failures_are_403() {
    let s = state(&model_dir("auth"), Limits::default());
    let (status, body) = call(&s, get("/cubejs-api/v1/load", &by_status(), None)).await;
    assert_eq!((status, body), (StatusCode::FORBIDDEN, json!({"error": "Authorization header isn't set"})));
    let wrong_key =
        encode(&Header::new(Algorithm::HS256), &json!({}), &EncodingKey::from_secret(b"other")).expect("token");
    let hs512 = encode(&Header::new(Algorithm::HS512), &json!({}), &EncodingKey::from_secret(SECRET.as_bytes()))
        .expect("token");
    let expired = token(json!({"exp": 1_000_000_000}));
    let unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJ0ZW5hbnQiOiJiIn0.".to_string();
    for bad in [wrong_key, hs512, expired, unsigned, "garbage".to_string()] {
        for path in ["/cubejs-api/v1/load", "/cubejs-api/v1/sql", "/cubejs-api/v1/dry-run", "/cubejs-api/v1/meta"] {
            let (status, body) = call(&s, get(path, &by_status(), Some(&bad))).await;
            assert_eq!((status, body), (StatusCode::FORBIDDEN, json!({"error": "Invalid token"})), "{path} {bad}");
        }
    }
    // Health checks need no token.
    let (status, body) = call(&s, Request::get("/livez").body(Body::empty()).expect("req")).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"health": "HEALTH"})));
    let (status, body) = call(&s, Request::get("/readyz").body(Body::empty()).expect("req")).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"health": "HEALTH"})));
}

#[tokio::test]
async fn bad_queries_are_400_with_cubes_error_body() {
    let limits = Limits { max_body_bytes: 4096, max_limit: 1000, ..Limits::default() };
    let s = state(&model_dir("errors"), limits);
    let t = token(json!({}));
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            get("/cubejs-api/v1/load", &json!({"measures": ["orders.nope"]}), Some(&t)),
            StatusCode::BAD_REQUEST,
            "`nope` not found in `orders`",
        ),
        (
            get("/cubejs-api/v1/sql", &json!({"measures": ["orders.count"], "limit": 5000}), Some(&t)),
            StatusCode::BAD_REQUEST,
            "over the maximum of 1000",
        ),
        (
            get("/cubejs-api/v1/load", &json!({"measures": ["broken.count"]}), Some(&t)),
            StatusCode::BAD_REQUEST,
            "no_such_table",
        ),
        (
            get("/cubejs-api/v1/dry-run", &json!({"measures": "orders.count"}), Some(&t)),
            StatusCode::BAD_REQUEST,
            "measures",
        ),
        (post("/cubejs-api/v1/load", "{not json".to_string(), Some(&t)), StatusCode::BAD_REQUEST, "not valid JSON"),
        (post("/cubejs-api/v1/load", "{}".to_string(), Some(&t)), StatusCode::BAD_REQUEST, "Query param is required"),
        (
            post("/cubejs-api/v1/load", json!({"query": [by_status(), by_status()]}).to_string(), Some(&t)),
            StatusCode::BAD_REQUEST,
            "'blendingQuery' query type is not supported",
        ),
        (
            post(
                "/cubejs-api/v1/load",
                json!({"query": {"measures": ["orders.count"], "pad": "x".repeat(5000)}}).to_string(),
                Some(&t),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "over the limit of 4096 bytes",
        ),
        (
            Request::get("/cubejs-api/v1/sql?dialect=oracle&query=%7B%7D")
                .header("authorization", &t)
                .body(Body::empty())
                .expect("req"),
            StatusCode::BAD_REQUEST,
            "oracle",
        ),
    ];
    for (req, want, text) in cases {
        let uri = req.uri().to_string();
        let (status, body) = call(&s, req).await;
        assert_eq!(status, want, "{uri}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(text), "{uri}: `{error}` should mention `{text}`");
    }
    let (status, body) = call(&s, Request::get("/cubejs-api/v1/nope").body(Body::empty()).expect("req")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn a_query_over_the_timeout_is_cancelled_and_the_connection_reused() {
    let limits = Limits { query_timeout: Duration::from_millis(300), max_concurrent_queries: 1, ..Limits::default() };
    let s = state(&model_dir("timeout"), limits);
    let t = token(json!({}));
    let started = std::time::Instant::now();
    let (status, body) = call(&s, get("/cubejs-api/v1/load", &json!({"measures": ["slow.total"]}), Some(&t))).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert!(started.elapsed() < Duration::from_secs(20), "cancelled promptly: {:?}", started.elapsed());
    // The one connection is free again, so the next query runs.
    let (status, body) = call(&s, get("/cubejs-api/v1/load", &by_status(), Some(&t))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_broken_edit_keeps_the_last_good_model_and_a_good_one_is_picked_up() {
    let dir = model_dir("reload");
    let s = state(&dir, Limits::default());
    let t = token(json!({}));
    let q = json!({"measures": ["orders.paid_count"]});
    let (status, _) = call(&s, get("/cubejs-api/v1/load", &q, Some(&t))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not in the model yet");

    let good = MODEL.replace(
        "      - name: revenue\n",
        "      - name: paid_count\n        type: count\n        filters:\n          - sql: \"status = 'paid'\"\n      - name: revenue\n",
    );
    std::fs::write(dir.join("orders.yml"), &good).expect("edit");
    assert_eq!(s.models.reload_if_changed(), Some(Ok(())));
    let (status, body) = call(&s, get("/cubejs-api/v1/load", &q, Some(&t))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"][0]["data"], json!([{"orders.paid_count": "3"}]));

    std::fs::write(dir.join("orders.yml"), good.replace("type: count\n        filters", "type: cnt\n        filters"))
        .expect("edit");
    let outcome = s.models.reload_if_changed();
    assert!(matches!(&outcome, Some(Err(d)) if d.contains("cnt")), "{outcome:?}");
    assert_eq!(s.models.reload_if_changed(), None, "the same broken files are reported once");
    let (status, body) = call(&s, get("/cubejs-api/v1/load", &q, Some(&t))).await;
    assert_eq!(status, StatusCode::OK, "still serving the last good model: {body}");
}

#[test]
fn the_server_refuses_to_start_without_a_secret_unless_dev() {
    let dir = model_dir("nosecret");
    let mut config = ServeConfig {
        model_dir: dir,
        db_url: None,
        dialects_dir: None,
        secret: None,
        dev: false,
        limits: Limits::default(),
        watch: None,
        context_to_groups: "groups".into(),
        cors_origins: Vec::new(),
        shutdown_timeout: std::time::Duration::from_secs(5),
        rollups: Default::default(),
        api_scopes: cubec::server::default_api_scopes(),
    };
    let err = AppState::open(&config).err().unwrap_or_default();
    assert!(err.contains("CUBEC_API_SECRET"), "{err}");
    config.dev = true;
    assert!(AppState::open(&config).is_ok());
}

/// CORS: a preflight from a configured origin is answered with Cube's headers allowed; another
/// origin, or a server without CORS origins, gets no allow-origin header (the browser blocks).
#[tokio::test]
async fn cors_preflight_follows_the_configured_origins() {
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/cubejs-api/v1/load")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type,x-request-id")
            .body(Body::empty())
            .expect("request")
    };
    let open = |origins: Vec<String>| {
        let config = ServeConfig {
            model_dir: model_dir("cors"),
            db_url: None,
            dialects_dir: None,
            secret: Some(SECRET.to_string()),
            dev: false,
            limits: Limits::default(),
            watch: None,
            context_to_groups: "groups".into(),
            cors_origins: origins,
            shutdown_timeout: Duration::from_secs(5),
            rollups: Default::default(),
            api_scopes: cubec::server::default_api_scopes(),
        };
        Arc::new(AppState::open(&config).expect("state"))
    };
    let s = open(vec!["https://app.example.com".into()]);
    let resp = router(Arc::clone(&s)).oneshot(preflight("https://app.example.com")).await.expect("response");
    assert!(resp.status().is_success(), "{}", resp.status());
    let h = resp.headers();
    assert_eq!(h.get("access-control-allow-origin").and_then(|v| v.to_str().ok()), Some("https://app.example.com"));
    let allowed = h.get("access-control-allow-headers").and_then(|v| v.to_str().ok()).unwrap_or("").to_lowercase();
    for name in ["authorization", "content-type", "x-request-id"] {
        assert!(allowed.contains(name), "{allowed}");
    }
    let resp = router(Arc::clone(&s)).oneshot(preflight("https://evil.example.org")).await.expect("response");
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    // A real request from the allowed origin carries the header and exposes the request id.
    let req = Request::get("/cubejs-api/v1/meta")
        .header("origin", "https://app.example.com")
        .header("authorization", token(json!({})))
        .body(Body::empty())
        .expect("request");
    let resp = router(Arc::clone(&s)).oneshot(req).await.expect("response");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp
        .headers()
        .get("access-control-expose-headers")
        .is_some_and(|v| v.to_str().unwrap_or("").contains("x-request-id")));
    let s = open(Vec::new());
    let resp = router(s).oneshot(preflight("https://app.example.com")).await.expect("response");
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

/// `compareDateRange`: one result per range, in order, each row tagged with its range, as
/// Cube's `compareDateRangeQuery` (worked out from ORDERS_CSV, tenant a).
#[tokio::test]
async fn compare_date_range_answers_one_result_per_range() {
    let s = state(&model_dir("compare"), Limits::default());
    let t = token(json!({"tenant": "a"}));
    let q = json!({"measures": ["orders.count"], "timeDimensions": [{"dimension": "orders.created_at", "granularity": "month",
        "compareDateRange": [["2024-01-01", "2024-01-31"], ["2024-02-01", "2024-02-29"]]}]});
    let (status, body) = call(&s, get("/cubejs-api/v1/load", &q, Some(&t))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["queryType"], "compareDateRangeQuery");
    let jan = "2024-01-01T00:00:00.000 - 2024-01-31T23:59:59.999";
    let feb = "2024-02-01T00:00:00.000 - 2024-02-29T23:59:59.999";
    assert_eq!(
        body["results"][0]["data"],
        json!([{"orders.created_at.month": "2024-01-01T00:00:00.000", "orders.created_at": "2024-01-01T00:00:00.000",
                "orders.count": "2", "compareDateRange": jan}])
    );
    assert_eq!(
        body["results"][1]["data"],
        json!([{"orders.created_at.month": "2024-02-01T00:00:00.000", "orders.created_at": "2024-02-01T00:00:00.000",
                "orders.count": "1", "compareDateRange": feb}])
    );
    assert_eq!(body["results"][1]["query"]["timeDimensions"][0]["dateRange"], json!(["2024-02-01", "2024-02-29"]));
    assert_eq!(body["pivotQuery"]["dimensions"], json!(["compareDateRange"]));
    assert_eq!(body["pivotQuery"]["queryType"], "compareDateRangeQuery");
    // Without queryType=multi Cube refuses it with this text.
    let req = Request::get(format!("/cubejs-api/v1/load?query={}", url_encode(&q.to_string())))
        .header("authorization", &t)
        .body(Body::empty())
        .expect("request");
    let (status, body) = call(&s, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap_or("").contains("'compareDateRangeQuery' query type is not supported"),
        "{body}"
    );
    // /v1/sql answers a list, one statement per range; dry-run names the query type.
    let req = Request::get(format!("/cubejs-api/v1/sql?query={}", url_encode(&q.to_string())))
        .header("authorization", &t)
        .body(Body::empty())
        .expect("request");
    let (status, body) = call(&s, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(2), "{body}");
    let (_, body) = call(&s, get("/cubejs-api/v1/dry-run", &q, Some(&t))).await;
    assert_eq!(body["queryType"], "compareDateRangeQuery");
    assert_eq!(body["normalizedQueries"].as_array().map(Vec::len), Some(2));
    // Two time dimensions with compareDateRange: Cube's error.
    let bad = json!({"measures": ["orders.count"], "timeDimensions": [
        {"dimension": "orders.created_at", "compareDateRange": ["last week"]},
        {"dimension": "orders.created_at", "compareDateRange": ["this week"]}]});
    let (status, body) = call(&s, get("/cubejs-api/v1/load", &bad, Some(&t))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap_or("").contains("only exist for one timeDimension"), "{body}");
}

/// A list of queries is Cube's data blending: one time axis (`time.<granularity>` in every row),
/// the same granularity required, the pivot query the union of the members.
#[tokio::test]
async fn a_list_of_queries_is_a_blending_query() {
    let s = state(&model_dir("blend"), Limits::default());
    let t = token(json!({"tenant": "a"}));
    let by_month = |measure: &str, gran: &str| {
        json!({"measures": [measure], "timeDimensions": [{"dimension": "orders.created_at", "granularity": gran,
            "dateRange": ["2024-01-01", "2024-02-29"]}]})
    };
    let list = json!([by_month("orders.count", "month"), by_month("orders.revenue", "month")]);
    let (status, body) = call(&s, get("/cubejs-api/v1/load", &list, Some(&t))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["queryType"], "blendingQuery");
    assert_eq!(body["results"][0]["data"][0]["time.month"], "2024-01-01T00:00:00.000");
    assert_eq!(body["results"][0]["data"][0]["orders.count"], "2");
    assert_eq!(body["results"][1]["data"][1]["time.month"], "2024-02-01T00:00:00.000");
    assert_eq!(body["results"][1]["data"][1]["orders.revenue"], "5");
    assert_eq!(body["pivotQuery"]["measures"], json!(["orders.count", "orders.revenue"]));
    assert_eq!(body["pivotQuery"]["timeDimensions"], json!([{"dimension": "time", "granularity": "month"}]));
    let mixed = json!([by_month("orders.count", "month"), by_month("orders.revenue", "week")]);
    let (status, body) = call(&s, get("/cubejs-api/v1/load", &mixed, Some(&t))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "Data blending query granularities must match");
    let none = json!([{"measures": ["orders.count"]}, {"measures": ["orders.revenue"]}]);
    let (status, body) = call(&s, get("/cubejs-api/v1/load", &none, Some(&t))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "Data blending query without granularity is not supported");
}

/// `/metrics` needs a token like the API, and counts requests by endpoint and status.
#[tokio::test]
async fn metrics_count_requests_behind_auth() {
    let s = state(&model_dir("metrics"), Limits::default());
    let (status, _) = call(&s, Request::get("/metrics").body(Body::empty()).expect("req")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let t = token(json!({"tenant": "a"}));
    let (status, _) = call(&s, get("/cubejs-api/v1/load", &by_status(), Some(&t))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&s, get("/cubejs-api/v1/load", &json!({"measures": ["orders.nope"]}), Some(&t))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let resp = router(Arc::clone(&s))
        .oneshot(Request::get("/metrics").header("authorization", &t).body(Body::empty()).expect("req"))
        .await
        .expect("response");
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    let text = String::from_utf8_lossy(&bytes);
    for line in [
        r#"cubec_requests_total{endpoint="load",status="200"} 1"#,
        r#"cubec_requests_total{endpoint="load",status="400"} 1"#,
        r#"cubec_request_duration_seconds_count{endpoint="load"} 2"#,
        "cubec_pool_connections ",
        "cubec_pool_waiting 0",
    ] {
        assert!(text.contains(line), "`{line}` missing from:\n{text}");
    }
}

/// On PostgreSQL (CI) the timeout cancels the statement on the server: afterwards no backend is
/// still sleeping, and the same connection answers the next query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_timed_out_query_is_cancelled_on_the_server() {
    let Ok(url) = std::env::var("CUBEC_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "CI must set CUBEC_TEST_POSTGRES_URL");
        return;
    };
    let dir = std::env::temp_dir().join(format!("cubec_serve_pg_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(
        dir.join("m.yml"),
        "cubes:\n  - name: sleepy\n    sql: \"SELECT 1 AS x, pg_sleep(60) AS cubec_serve_test_sleep\"\n    measures:\n      - name: total\n        type: sum\n        sql: x\n",
    )
    .expect("model");
    let config = ServeConfig {
        model_dir: dir,
        db_url: Some(url.clone()),
        dialects_dir: None,
        secret: Some(SECRET.to_string()),
        dev: false,
        limits: Limits { query_timeout: Duration::from_millis(500), max_concurrent_queries: 1, ..Limits::default() },
        watch: None,
        context_to_groups: "groups".into(),
        cors_origins: Vec::new(),
        shutdown_timeout: std::time::Duration::from_secs(5),
        rollups: Default::default(),
        api_scopes: cubec::server::default_api_scopes(),
    };
    // The blocking PostgreSQL client must not be opened on an async worker.
    let s = Arc::new(tokio::task::spawn_blocking(move || AppState::open(&config)).await.expect("join").expect("state"));
    let t = token(json!({}));
    let started = std::time::Instant::now();
    let (status, body) = call(&s, get("/cubejs-api/v1/load", &json!({"measures": ["sleepy.total"]}), Some(&t))).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    let sleeping = tokio::task::spawn_blocking(move || {
        let mut db = cubec::exec::Database::open(Some(&url), Path::new(".")).expect("connect");
        db.run_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%cubec_serve_test_sleep%' \
             AND pid <> pg_backend_pid()",
            &[],
        )
        .expect("pg_stat_activity")
    })
    .await
    .expect("join");
    assert_eq!(sleeping.rows[0][0], cubec::exec::Cell::Int(0), "the sleeping statement was cancelled");
    let (status, _) = call(&s, Request::get("/readyz").body(Body::empty()).expect("req")).await;
    assert_eq!(status, StatusCode::OK, "the connection is usable again");
}

#[tokio::test]
async fn api_scopes_close_the_endpoints_they_leave_out() {
    // Cube's CUBEJS_DEFAULT_API_SCOPES=meta: only /v1/meta answers.
    let config = ServeConfig {
        model_dir: model_dir("scopes"),
        db_url: None,
        dialects_dir: None,
        secret: Some(SECRET.to_string()),
        dev: false,
        limits: Limits::default(),
        watch: None,
        context_to_groups: "groups".into(),
        cors_origins: Vec::new(),
        shutdown_timeout: Duration::from_secs(5),
        rollups: Default::default(),
        api_scopes: vec!["meta".into()],
    };
    let s = Arc::new(AppState::open(&config).expect("state"));
    let auth = token(json!({}));
    let (status, _) = call(&s, get("/cubejs-api/v1/meta", &json!({}), Some(&auth))).await;
    assert_eq!(status, StatusCode::OK);
    for (path, scope) in [
        ("/cubejs-api/v1/load", "data"),
        ("/cubejs-api/v1/dry-run", "data"),
        ("/cubejs-api/v1/sql", "sql"),
        ("/cubejs-api/v1/pre-aggregations/jobs", "jobs"),
    ] {
        let (status, body) = call(&s, post(path, json!({"query": by_status()}).to_string(), Some(&auth))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(body["error"], format!("API scope is missing: {scope}"), "{path}");
    }
    // A bad token is still refused as such, before any scope.
    let (status, body) = call(&s, get("/cubejs-api/v1/meta", &json!({}), Some("nope"))).await;
    assert_eq!((status, body["error"].clone()), (StatusCode::FORBIDDEN, json!("Invalid token")));
}
