//! The MCP tools through rmcp's own client: `cubec mcp` spawned over stdio, and `/mcp` of an
//! in-process server over HTTP. Every tool, tool errors an agent can fix, caps, protocol
//! errors, and two callers whose access policies differ: the second never sees the first's
//! hidden member or rows through any tool. Rows are worked out by hand from the CSV below.
#![cfg(feature = "engine")]

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use rmcp::ServiceExt;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "mcp-secret";

const MODEL: &str = r#"
cubes:
  - name: orders
    sql_table: orders
    description: One row per order.
    joins:
      - name: customers
        relationship: many_to_one
        sql: "{CUBE}.customer_id = {customers.id}"
    measures:
      - {name: count, type: count, title: Orders, description: Orders placed.}
      - {name: revenue, type: sum, sql: amount, title: Revenue, description: Money received for orders., format: currency}
      - {name: margin, type: sum, sql: margin, public: false}
    dimensions:
      - {name: id, sql: id, type: number, primary_key: true}
      - {name: status, sql: status, type: string, description: "paid or refunded"}
      - {name: created_at, sql: created_at, type: time}
  - name: customers
    sql_table: customers
    measures:
      - {name: count, type: count, title: Customers}
    dimensions:
      - {name: id, sql: id, type: number, primary_key: true}
      - {name: city, sql: city, type: string}
      - {name: email, sql: email, type: string, description: Contact address.}
    access_policy:
      - group: analysts
        member_level:
          includes: "*"
      - group: support
        member_level:
          excludes: [email]
        row_level:
          filters:
            - {member: city, operator: equals, values: [Berlin]}
  - name: costs
    sql_table: costs
    public: false
    measures:
      - {name: total, type: sum, sql: amount}
    dimensions:
      - {name: id, sql: id, type: number, primary_key: true}
views:
  - name: sales
    description: Orders with their customers' city.
    cubes:
      - join_path: orders
        includes: [count, revenue, status, created_at]
      - join_path: orders.customers
        includes: [city]
"#;

/// Orders: Berlin's customer 1 has orders 1 (paid 10), 2 (paid 20), 5 (refunded 5); Paris's
/// customer 2 has 3 (paid 30) and 4 (paid 40); Rome's customer 3 has 6 (paid 60).
fn model_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cubec_mcp_{tag}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("model.yml"), MODEL).unwrap();
    std::fs::write(
        dir.join("data/orders.csv"),
        "id,customer_id,status,amount,margin,created_at\n1,1,paid,10,1,2024-01-05 10:00:00\n2,1,paid,20,2,2024-01-20 10:00:00\n\
         3,2,paid,30,3,2024-02-03 10:00:00\n4,2,paid,40,4,2024-02-10 10:00:00\n5,1,refunded,5,0,2024-02-11 10:00:00\n\
         6,3,paid,60,6,2024-03-01 10:00:00\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("data/customers.csv"),
        "id,city,email\n1,Berlin,anna@example.com\n2,Paris,paul@example.com\n3,Rome,rita@example.com\n",
    )
    .unwrap();
    std::fs::write(dir.join("data/costs.csv"), "id,amount\n1,99\n").unwrap();
    dir
}

type Client = RunningService<RoleClient, ()>;

async fn stdio_client(dir: &std::path::Path, context: &str, extra: &[&str]) -> Client {
    let cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_cubec")).configure(|c| {
        c.arg("mcp").arg("--model").arg(dir).arg("--security-context").arg(context);
        c.arg("--preagg-dir").arg(dir.join("store"));
        c.args(extra);
        c.env("RUST_LOG", "warn");
    });
    ().serve(TokioChildProcess::new(cmd).expect("cubec mcp starts")).await.expect("the MCP handshake")
}

async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(map) = args else { panic!("arguments are an object") };
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(map))
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

fn ok(r: &CallToolResult) -> &Value {
    assert_ne!(r.is_error, Some(true), "a tool error: {r:?}");
    r.structured_content.as_ref().expect("structured content")
}

fn err(r: &CallToolResult) -> String {
    assert_eq!(r.is_error, Some(true), "expected a tool error: {r:?}");
    r.structured_content.as_ref().and_then(|s| s["error"].as_str()).unwrap_or_default().to_string()
}

fn text(r: &CallToolResult) -> String {
    r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_over_stdio() {
    let dir = model_dir("stdio");
    let client = stdio_client(&dir, r#"{"groups": ["analysts"]}"#, &["--mcp-row-cap", "3"]).await;
    let info = client.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().map(|i| i.name.as_str()), Some("cubec"));
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["search_members", "describe", "dimension_values", "query", "compile", "explain_empty"]);
    for t in &tools {
        let a = t.annotations.as_ref().expect("annotations");
        assert_eq!((a.read_only_hint, a.destructive_hint), (Some(true), Some(false)), "{}", t.name);
        assert!(t.description.as_ref().is_some_and(|d| d.len() > 80), "{} says what it is for", t.name);
    }

    // search: the view's member first, then the cube's; nothing hidden.
    let found = call(&client, "search_members", json!({"query": "revenue"})).await;
    let matches = ok(&found)["matches"].as_array().unwrap().clone();
    let names: Vec<&str> = matches.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(&names[..2], ["sales.revenue", "orders.revenue"], "{matches:?}");
    let margin = call(&client, "search_members", json!({"query": "margin"})).await;
    assert_eq!(ok(&margin)["matches"], json!([]), "public: false stays out of search");
    let typo = call(&client, "search_members", json!({"query": "revenu"})).await;
    assert!(ok(&typo)["matches"].as_array().unwrap().iter().any(|m| m["name"] == "orders.revenue"));

    // describe: cubes, members, granularities, joins; unknown names with a suggestion.
    let d = call(&client, "describe", json!({"names": ["orders", "orders.created_at"]})).await;
    let items = ok(&d)["items"].as_array().unwrap().clone();
    assert_eq!(items[0]["joins_to"], json!(["customers"]));
    let members: Vec<&str> =
        items[0]["members"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert!(members.contains(&"orders.revenue") && !members.contains(&"orders.margin"), "{members:?}");
    assert!(items[1]["granularities"].as_array().unwrap().contains(&json!("month")));
    let all = call(&client, "describe", json!({})).await;
    let cubes: Vec<&str> = ok(&all)["cubes"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(cubes, ["orders", "customers", "sales"], "costs is not public");
    let unknown = call(&client, "describe", json!({"names": ["orders.revenu"]})).await;
    assert!(err(&unknown).contains("did you mean `orders.revenue`?"), "{unknown:?}");

    // dimension values with counts, most frequent first, and a search.
    let v = call(&client, "dimension_values", json!({"dimension": "orders.status"})).await;
    assert_eq!(ok(&v)["values"], json!([{"value": "paid", "count": 5}, {"value": "refunded", "count": 1}]));
    assert_eq!(ok(&v)["truncated"], false);
    let one = call(&client, "dimension_values", json!({"dimension": "customers.city", "limit": 1})).await;
    assert_eq!(ok(&one)["truncated"], true);
    let s = call(&client, "dimension_values", json!({"dimension": "customers.city", "search": "ari"})).await;
    assert_eq!(ok(&s)["values"], json!([{"value": "Paris", "count": 1}]));

    // query: typed columns, numbers, the row cap (3 here) and the text table.
    let by_month = json!({"measures": ["sales.revenue"], "timeDimensions": [{"dimension": "sales.created_at", "granularity": "month"}], "order": {"sales.created_at": "asc"}});
    let q = call(&client, "query", json!({"query": by_month})).await;
    let body = ok(&q);
    assert_eq!(
        body["rows"],
        json!([["2024-01-01T00:00:00.000", 30], ["2024-02-01T00:00:00.000", 75], ["2024-03-01T00:00:00.000", 60]])
    );
    assert_eq!(
        body["columns"][1],
        json!({"name": "sales.revenue", "title": "Sales Revenue", "type": "number", "format": "currency"})
    );
    assert_eq!(body["truncated"], false);
    assert!(
        text(&q).starts_with("sales.created_at.month | sales.revenue\n2024-01-01T00:00:00.000 | 30\n"),
        "{}",
        text(&q)
    );
    let by_id = json!({"measures": ["orders.count"], "timeDimensions": [{"dimension": "orders.created_at", "granularity": "day"}], "order": {"orders.created_at": "asc"}});
    let capped = call(&client, "query", json!({"query": by_id})).await;
    assert_eq!(ok(&capped)["row_count"], 3);
    assert_eq!(ok(&capped)["truncated"], true, "six days with orders, three rows");
    assert!(text(&capped).contains("do not total these"));
    let two = call(&client, "query", json!({"query": by_id, "max_rows": 2})).await;
    assert_eq!(ok(&two)["rows"], json!([["2024-01-05T00:00:00.000", 1], ["2024-01-20T00:00:00.000", 1]]));

    // compile: SQL, cubes and the join.
    let c =
        call(&client, "compile", json!({"query": {"measures": ["sales.count"], "dimensions": ["sales.city"]}})).await;
    let body = ok(&c);
    assert_eq!(body["cubes"], json!(["orders", "customers"]));
    assert_eq!(body["joins"], json!([{"from": "orders", "to": "customers", "relationship": "ManyToOne"}]));
    assert!(body["sql"].as_str().unwrap().contains("LEFT JOIN"), "{body}");

    // explain_empty: the filter that empties it, the nearest value, the date range.
    let empty = json!({"measures": ["orders.count"], "dimensions": ["orders.status"],
        "filters": [{"member": "orders.status", "operator": "equals", "values": ["payd"]}],
        "timeDimensions": [{"dimension": "orders.created_at", "dateRange": ["2023-01-01", "2023-12-31"]}]});
    let e = call(&client, "explain_empty", json!({"query": empty})).await;
    let t = text(&e);
    assert!(t.contains("orders.status has no value `payd`; the nearest are [\"paid\"]"), "{t}");
    assert!(
        t.contains("lies outside the data, which runs from 2024-01-05T10:00:00.000 to 2024-03-01T10:00:00.000"),
        "{t}"
    );
    let fine = call(&client, "explain_empty", json!({"query": {"measures": ["orders.count"]}})).await;
    assert_eq!(ok(&fine)["empty"], false);

    // Errors an agent can fix, guardrails, and protocol errors.
    let bad = call(&client, "query", json!({"query": {"measures": ["orders.revenu"]}})).await;
    assert!(err(&bad).contains("orders.revenue"), "a suggestion: {bad:?}");
    let raw = call(&client, "query", json!({"query": {"dimensions": ["orders.status"], "ungrouped": true}})).await;
    assert!(err(&raw).contains("ungrouped queries"), "{raw:?}");
    let no_query = call(&client, "query", json!({"query": [1]})).await;
    assert!(err(&no_query).contains("Cube query object"));
    let unknown_tool = client.call_tool(CallToolRequestParams::new("run_sql")).await;
    match unknown_tool {
        Err(ServiceError::McpError(e)) => assert!(e.message.contains("no tool named `run_sql`"), "{e:?}"),
        other => panic!("an unknown tool is a protocol error: {other:?}"),
    }
    client.cancel().await.expect("the server ends when stdin closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_security_context_is_refused_before_the_protocol() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cubec"))
        .args(["mcp", "--security-context", "[1]"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be a JSON object"));
    assert!(out.stdout.is_empty(), "nothing but the protocol on stdout");
}

fn token(claims: Value) -> String {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
}

/// `cubec serve`'s routes with `/mcp`, on a port of its own.
async fn http_server(tag: &str) -> String {
    let dir = model_dir(tag);
    let config = cubec::server::ServeConfig {
        model_dir: dir.clone(),
        db_url: None,
        dialects_dir: None,
        secret: Some(SECRET.to_string()),
        dev: false,
        limits: cubec::server::Limits::default(),
        watch: None,
        context_to_groups: "groups".into(),
        cors_origins: vec!["https://app.example.com".into()],
        shutdown_timeout: Duration::from_secs(5),
        rollups: cubec::server::rollups::RollupConfig { dir: dir.join("store"), ..Default::default() },
        api_scopes: cubec::server::default_api_scopes(),
    };
    let state = Arc::new(cubec::server::AppState::open(&config).expect("state"));
    let app = cubec::mcp::http::router(Arc::clone(&state), Default::default()).merge(cubec::server::router(state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn http_client(url: &str, claims: Value) -> Client {
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_string()).auth_header(token(claims));
    ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("the MCP handshake over HTTP")
}

/// A raw POST (what a client without a token, or a web page, would send): status and headers.
fn raw_post(url: &str, headers: &[(&str, &str)]) -> (u16, Option<String>) {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut req = agent
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send(body).expect("an HTTP answer");
    let auth = resp.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).map(str::to_string);
    (resp.status().as_u16(), auth)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_callers_see_only_what_their_policies_allow() {
    let url = http_server("http").await;

    // No token, a bad token: 401 with the challenge; a page from another origin: 403.
    let u = url.clone();
    let (no_token, bad_token, evil, allowed) = tokio::task::spawn_blocking(move || {
        (
            raw_post(&u, &[]),
            raw_post(&u, &[("authorization", "Bearer nope")]),
            raw_post(&u, &[("authorization", &token(json!({}))), ("origin", "https://evil.example.org")]),
            raw_post(&u, &[("authorization", &token(json!({}))), ("origin", "https://app.example.com")]),
        )
    })
    .await
    .unwrap();
    assert_eq!(no_token.0, 401);
    assert!(no_token.1.is_some_and(|h| h.starts_with("Bearer")), "WWW-Authenticate");
    assert_eq!(bad_token.0, 401);
    assert_eq!(evil.0, 403);
    assert_eq!(allowed.0, 200);

    let analyst = http_client(&url, json!({"groups": ["analysts"]})).await;
    let support = http_client(&url, json!({"groups": ["support"]})).await;

    // The analyst sees the email dimension and every city.
    let found = call(&analyst, "search_members", json!({"query": "email contact"})).await;
    assert_eq!(ok(&found)["matches"][0]["name"], "customers.email");
    let cities = call(&analyst, "dimension_values", json!({"dimension": "customers.city"})).await;
    assert_eq!(ok(&cities)["values"].as_array().unwrap().len(), 3);

    // Support: no email anywhere (search, describe, values, query, compile, suggestions), and
    // Berlin's rows only (values, query, explain_empty's nearest values and data range).
    let found = call(&support, "search_members", json!({"query": "email contact"})).await;
    assert!(!ok(&found).to_string().contains("email"), "{found:?}");
    let d = call(&support, "describe", json!({"names": ["customers"]})).await;
    assert!(!ok(&d).to_string().contains("email"), "{d:?}");
    let d = call(&support, "describe", json!({"names": ["customers.email", "customers.emai"]})).await;
    let e = err(&d);
    assert!(!e.contains("did you mean `customers.email`"), "no suggestion points at a hidden member: {e}");
    let v = call(&support, "dimension_values", json!({"dimension": "customers.email"})).await;
    assert!(!err(&v).contains("@"), "{v:?}");
    for tool in ["query", "compile"] {
        let r = call(&support, tool, json!({"query": {"dimensions": ["customers.email"]}})).await;
        let message = err(&r);
        assert!(!message.contains("@example.com"), "{tool}: {message}");
    }
    let cities = call(&support, "dimension_values", json!({"dimension": "customers.city"})).await;
    assert_eq!(ok(&cities)["values"], json!([{"value": "Berlin", "count": 1}]));
    let rows =
        call(&support, "query", json!({"query": {"measures": ["sales.revenue"], "dimensions": ["sales.city"]}})).await;
    assert_eq!(ok(&rows)["rows"], json!([["Berlin", 35]]), "Berlin's orders only: 10 + 20 + 5");
    let paris = json!({"measures": ["sales.count"], "filters": [{"member": "sales.city", "operator": "equals", "values": ["Paris"]}]});
    let e = call(&support, "explain_empty", json!({"query": paris})).await;
    let t = text(&e);
    assert!(t.contains("sales.city has no value `Paris`") && !t.contains("Rome"), "the caller's own values only: {t}");
    let all = call(
        &analyst,
        "query",
        json!({"query": {"measures": ["sales.revenue"], "dimensions": ["sales.city"], "order": {"sales.city": "asc"}}}),
    )
    .await;
    assert_eq!(ok(&all)["rows"], json!([["Berlin", 35], ["Paris", 70], ["Rome", 60]]));

    // Nobody sees a cube that is not public, even by name.
    for client in [&analyst, &support] {
        let r = call(client, "query", json!({"query": {"measures": ["costs.total"]}})).await;
        assert!(!err(&r).contains("99"));
        let d = call(client, "describe", json!({"names": ["costs"]})).await;
        err(&d);
    }
    analyst.cancel().await.unwrap();
    support.cancel().await.unwrap();
}
