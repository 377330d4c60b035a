//! Access policies through `cubec serve`'s router: two tokens of two groups against one server
//! see different rows, members and meta; a hidden member is 403 on every endpoint and never
//! named in another caller's errors or meta; `public: false` is enforced over the API; `--dev`
//! serves as before policies existed. Answers are worked out by hand from the CSV below.
#![cfg(feature = "engine")]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cubec::server::{router, AppState, Limits, ServeConfig};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

const SECRET: &str = "access-secret";

// tenant a: paid 10 + 20, open 5; tenant b: paid 100 + 200.
const ORDERS_CSV: &str = "id,tenant,status,amount,margin
1,a,paid,10,1
2,a,paid,20,2
3,a,open,5,3
4,b,paid,100,40
5,b,paid,200,50
";

const MODEL: &str = r#"cubes:
  - name: orders
    sql_table: orders
    measures:
      - {name: count, type: count}
      - {name: revenue, type: sum, sql: amount}
      - {name: margin_total, type: sum, sql: margin}
    dimensions:
      - {name: id, sql: id, type: number, primary_key: true}
      - {name: tenant, sql: tenant, type: string}
      - {name: status, sql: status, type: string}
      - {name: internal_note, sql: "'x'", type: string, public: false}
    access_policy:
      - group: analyst
        member_level:
          includes: [count, revenue, status]
        row_level:
          filters:
            - {member: tenant, operator: equals, values: ["{ securityContext.tenant }"]}
      - group: manager
  - name: audit
    sql_table: orders
    measures:
      - {name: count, type: count}
    dimensions:
      - {name: id, sql: id, type: number, primary_key: true}
    access_policy:
      - group: auditor
views:
  - name: revenue_view
    cubes:
      - join_path: orders
        includes: [revenue, status, margin_total]
    access_policy:
      - group: "*"
        member_level:
          excludes: [margin_total]
"#;

fn model_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cubec_serve_access_{tag}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).expect("temp dir");
    std::fs::write(dir.join("data/orders.csv"), ORDERS_CSV).expect("csv");
    std::fs::write(dir.join("model.yml"), MODEL).expect("model");
    dir
}

fn state(tag: &str, dev: bool) -> Arc<AppState> {
    let config = ServeConfig {
        model_dir: model_dir(tag),
        db_url: None,
        dialects_dir: None,
        // `--dev` is started without a secret: no authentication.
        secret: (!dev).then(|| SECRET.to_string()),
        dev,
        limits: Limits::default(),
        watch: None,
        context_to_groups: "groups".into(),
        cors_origins: Vec::new(),
        shutdown_timeout: std::time::Duration::from_secs(5),
        rollups: Default::default(),
        api_scopes: cubec::server::default_api_scopes(),
    };
    Arc::new(AppState::open(&config).expect("server state"))
}

fn token(claims: Value) -> String {
    encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET.as_bytes())).expect("token")
}

fn analyst(tenant: &str) -> String {
    token(json!({ "groups": ["analyst"], "tenant": tenant }))
}

fn manager() -> String {
    token(json!({ "groups": ["manager"] }))
}

async fn call(state: &Arc<AppState>, endpoint: &str, query: Value, auth: &str) -> (StatusCode, Value) {
    let body = json!({ "query": query }).to_string();
    let req = Request::builder()
        .method("POST")
        .uri(format!("/cubejs-api/v1/{endpoint}"))
        .header("content-type", "application/json")
        .header("authorization", auth)
        .body(Body::from(body))
        .expect("request");
    let resp = router(Arc::clone(state)).oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn meta(state: &Arc<AppState>, auth: &str) -> (StatusCode, Value) {
    let req = Request::builder()
        .uri("/cubejs-api/v1/meta")
        .header("authorization", auth)
        .body(Body::empty())
        .expect("request");
    let resp = router(Arc::clone(state)).oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Every member name in a meta body.
fn meta_members(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for c in body["cubes"].as_array().into_iter().flatten() {
        for key in ["measures", "dimensions", "segments"] {
            for m in c[key].as_array().into_iter().flatten() {
                out.push(m["name"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn two_tenants_see_their_own_rows_and_a_manager_sees_all() {
    let s = state("rows", false);
    let q = json!({ "measures": ["orders.count", "orders.revenue"] });
    let (status, a) = call(&s, "load", q.clone(), &analyst("a")).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["data"], json!([{ "orders.count": "3", "orders.revenue": "35" }]));
    let (_, b) = call(&s, "load", q.clone(), &analyst("b")).await;
    assert_eq!(b["data"], json!([{ "orders.count": "2", "orders.revenue": "300" }]));
    let (_, m) = call(&s, "load", q, &manager()).await;
    assert_eq!(m["data"], json!([{ "orders.count": "5", "orders.revenue": "335" }]));
    // The same through the view, whose own policy grants everyone revenue.
    let (status, v) = call(&s, "load", json!({ "measures": ["revenue_view.revenue"] }), &analyst("b")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["data"], json!([{ "revenue_view.revenue": "300" }]));
    // /v1/sql shows the filter with the tenant as a parameter, never in the SQL text.
    let (_, sql) = call(&s, "sql", json!({ "measures": ["orders.count"] }), &analyst("a")).await;
    let text = sql["sql"]["sql"][0].as_str().unwrap_or_default();
    assert!(text.contains("tenant ="), "{text}");
    assert!(!text.contains("'a'"), "{text}");
    assert_eq!(sql["sql"]["sql"][1], json!(["a"]));
}

#[tokio::test]
async fn hidden_members_are_403_on_every_endpoint() {
    let s = state("hidden", false);
    for endpoint in ["load", "sql", "dry-run"] {
        for q in [
            json!({ "measures": ["orders.margin_total"] }),
            json!({ "measures": ["orders.count"], "filters": [{ "member": "orders.tenant", "operator": "equals", "values": ["b"] }] }),
            json!({ "measures": ["revenue_view.margin_total"] }),
            json!({ "measures": ["audit.count"] }),
            json!({ "dimensions": ["orders.internal_note"] }),
        ] {
            let (status, body) = call(&s, endpoint, q.clone(), &analyst("a")).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{endpoint} {q}: {body}");
            assert!(body["error"].as_str().unwrap_or_default().contains("hidden member"), "{body}");
        }
    }
    // A missing context value denies; it is never compared with "undefined".
    let (status, body) =
        call(&s, "load", json!({ "measures": ["orders.count"] }), &token(json!({ "groups": ["analyst"] }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].as_str().unwrap_or_default().contains("securityContext.tenant"), "{body}");
    // No groups: nothing of the policed cubes.
    let (status, _) = call(&s, "load", json!({ "measures": ["orders.count"] }), &token(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // public: false stays hidden even from a manager over the API (the CLI may query it).
    let (status, _) = call(&s, "load", json!({ "dimensions": ["orders.internal_note"] }), &manager()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn meta_lists_only_what_the_caller_may_query() {
    let s = state("meta", false);
    let (status, a) = meta(&s, &analyst("a")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        meta_members(&a),
        vec!["orders.count", "orders.revenue", "orders.status", "revenue_view.revenue", "revenue_view.status"]
    );
    let (_, m) = meta(&s, &manager()).await;
    assert_eq!(
        meta_members(&m),
        vec![
            "orders.count",
            "orders.margin_total",
            "orders.revenue",
            "orders.status",
            "orders.tenant",
            "revenue_view.revenue",
            "revenue_view.status"
        ]
    );
    // A caller with no group sees neither policed cube, nor the view over one.
    let (_, none) = meta(&s, &token(json!({}))).await;
    assert_eq!(meta_members(&none), Vec::<String>::new());
    let text = a.to_string();
    for hidden in ["margin", "audit", "internal_note", "tenant"] {
        assert!(!text.contains(hidden), "analyst meta names `{hidden}`: {text}");
    }
}

#[tokio::test]
async fn errors_do_not_name_members_the_caller_cannot_see() {
    let s = state("errors", false);
    // A typo near a hidden member: the suggestion must not reveal it.
    let (status, body) = call(&s, "load", json!({ "measures": ["orders.margin_tota"] }), &analyst("a")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!body.to_string().contains("margin_total"), "{body}");
    let (_, body) = call(&s, "load", json!({ "measures": ["audi.count"] }), &analyst("a")).await;
    assert!(!body.to_string().contains("audit"), "{body}");
    // A manager gets the helpful suggestion.
    let (_, body) = call(&s, "load", json!({ "measures": ["orders.margin_tota"] }), &manager()).await;
    assert!(body.to_string().contains("margin_total"), "{body}");
}

#[tokio::test]
async fn dev_mode_serves_as_before_policies() {
    let s = state("dev", true);
    let (status, body) = call(&s, "load", json!({ "measures": ["orders.margin_total"] }), "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], json!([{ "orders.margin_total": "96" }]));
    let (_, m) = meta(&s, "").await;
    assert!(meta_members(&m).contains(&"audit.count".to_string()));
}
