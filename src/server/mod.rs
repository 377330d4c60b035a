//! Stage 7, serve: HTTP to Cube's REST envelopes (`cubec serve`).
//!
//! Input: requests under `/cubejs-api/v1` (`load`, `sql`, `dry-run`, `meta`; GET with `query=`
//! or POST with a JSON body) and `/livez`, `/readyz`. Output: Cube's response bodies.
//! [`auth`] turns the token into the security context, [`reload`] keeps the current model,
//! [`pool`] runs queries with bounded concurrency and timeouts, [`api`] and [`meta`] build the
//! bodies. Each request is logged on one line with its id, status and time.

pub mod api;
pub mod auth;
pub mod meta;
pub mod pool;
pub mod reload;

use api::{ApiError, ApiRequest};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything `cubec serve` is started with.
pub struct ServeConfig {
    pub model_dir: PathBuf,
    pub db_url: Option<String>,
    pub dialects_dir: Option<PathBuf>,
    /// `None` only with `dev`.
    pub secret: Option<String>,
    pub dev: bool,
    pub limits: Limits,
    /// How often to look for model edits; `None` turns hot reload off.
    pub watch: Option<Duration>,
}

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_limit: u64,
    pub query_timeout: Duration,
    pub max_concurrent_queries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_limit: crate::query::MAX_LIMIT,
            query_timeout: Duration::from_secs(30),
            max_concurrent_queries: 4,
        }
    }
}

pub struct AppState {
    pub models: Arc<reload::Models>,
    pub dialects: crate::sql::Dialects,
    pub pool: pool::Pool,
    pub auth: auth::Auth,
    pub limits: Limits,
    requests: AtomicU64,
    /// Distinguishes this process's request ids from another's.
    instance: u32,
}

impl AppState {
    /// Loads the model and dialects and opens the database. Blocking; fails with a message.
    pub fn open(config: &ServeConfig) -> Result<AppState, String> {
        let auth = match (&config.secret, config.dev) {
            (Some(s), _) if !s.is_empty() => auth::Auth::from_secret(s),
            (_, true) => auth::Auth::Dev,
            _ => {
                return Err("no API secret: set CUBEC_API_SECRET (or CUBEJS_API_SECRET), or pass --dev for local use \
                            without auth"
                    .to_string())
            }
        };
        let dialects = crate::sql::Dialects::load(config.dialects_dir.as_deref())
            .map_err(|d| crate::diag::render::to_human(&d, &crate::diag::SourceMap::default(), false))?;
        let models = reload::Models::load(config.model_dir.clone()).map_err(|diags| {
            format!("{diags}the model under `{}` has errors; fix them first", config.model_dir.display())
        })?;
        let pool = pool::Pool::open(config.db_url.as_deref(), &config.model_dir, config.limits.max_concurrent_queries)
            .map_err(|e| e.to_string())?;
        dialects.get(pool.dialect_name()).map_err(|d| d.message)?;
        let instance = std::process::id() ^ (chrono::Utc::now().timestamp_subsec_nanos());
        Ok(AppState {
            models: Arc::new(models),
            dialects,
            pool,
            auth,
            limits: config.limits,
            requests: AtomicU64::new(0),
            instance,
        })
    }

    fn request_id(&self, headers: &HeaderMap) -> String {
        match headers.get("x-request-id").and_then(|v| v.to_str().ok()) {
            Some(id) if !id.is_empty() && id.len() <= 200 => id.to_string(),
            _ => format!("{:08x}-{}", self.instance, self.requests.fetch_add(1, Ordering::Relaxed) + 1),
        }
    }
}

/// The routes, on a shared state. Tests call this directly.
pub fn router(state: Arc<AppState>) -> Router {
    let max_body = state.limits.max_body_bytes;
    Router::new()
        .route("/cubejs-api/v1/load", get(load).post(load))
        .route("/cubejs-api/v1/sql", get(sql).post(sql))
        .route("/cubejs-api/v1/dry-run", get(dry_run).post(dry_run))
        .route("/cubejs-api/v1/meta", get(meta))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// What every API handler shares: request id, auth, body limit, the log line, the response.
async fn handle<F, Fut>(
    state: Arc<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
    work: F,
) -> Response
where
    F: FnOnce(Arc<AppState>, Value, Bytes) -> Fut,
    Fut: std::future::Future<Output = Result<Value, ApiError>>,
{
    let started = Instant::now();
    let id = state.request_id(&headers);
    let outcome = async {
        let context = state.auth.context(&headers).map_err(|r| ApiError::forbidden(r.0))?;
        let body = body.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    body: json!({ "error": format!("the request body is over the limit of {} bytes", state.limits.max_body_bytes) }),
                    internal: None,
                }
            } else {
                ApiError::user(format!("cannot read the request body: {e}"))
            }
        })?;
        work(Arc::clone(&state), context, body).await
    }
    .await;
    let (status, body) = match outcome {
        Ok(v) => (StatusCode::OK, v),
        Err(e) => {
            if let Some(detail) = &e.internal {
                eprintln!("cubec serve: request {id}: internal error: {detail}");
            }
            let mut body = e.body;
            if e.status.is_server_error() {
                body["requestId"] = json!(id);
            }
            (e.status, body)
        }
    };
    eprintln!(
        "{} {id} {method} {} {} {:.1}ms",
        log_time(),
        uri.path(),
        status.as_u16(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let mut response = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

fn log_time() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

type Body = Result<Bytes, axum::extract::rejection::BytesRejection>;

async fn load(State(s): State<Arc<AppState>>, method: Method, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let u = uri.clone();
    handle(s, method, uri, headers, body, |s, ctx, body| async move {
        let req: ApiRequest = api::read_request(&u, &body)?;
        api::load(&s, req, ctx).await
    })
    .await
}

async fn sql(State(s): State<Arc<AppState>>, method: Method, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let u = uri.clone();
    handle(
        s,
        method,
        uri,
        headers,
        body,
        |s, ctx, body| async move { api::sql(&s, api::read_request(&u, &body)?, ctx) },
    )
    .await
}

async fn dry_run(State(s): State<Arc<AppState>>, method: Method, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let u = uri.clone();
    handle(
        s,
        method,
        uri,
        headers,
        body,
        |s, ctx, body| async move { api::dry_run(&s, api::read_request(&u, &body)?, ctx) },
    )
    .await
}

async fn meta(State(s): State<Arc<AppState>>, method: Method, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    handle(s, method, uri, headers, body, |s, _ctx, _body| async move { Ok(s.models.current().meta.clone()) }).await
}

async fn livez() -> Response {
    (StatusCode::OK, Json(json!({ "health": "HEALTH" }))).into_response()
}

/// Ready when the database answers a trivial query within the timeout.
async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    let probe = Arc::new(crate::sql::CompiledSql {
        sql: "SELECT 1".to_string(),
        params: Vec::new(),
        alias_to_member: Default::default(),
        warnings: Vec::new(),
        total: None,
    });
    match s.pool.run(probe, s.limits.query_timeout).await {
        Ok(_) => (StatusCode::OK, Json(json!({ "health": "HEALTH" }))).into_response(),
        Err(e) => {
            eprintln!("cubec serve: readiness check failed: {e:?}");
            (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "health": "DOWN" }))).into_response()
        }
    }
}

async fn not_found(uri: Uri) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": format!("no such endpoint: {}", uri.path()) }))).into_response()
}

/// Serves until Ctrl-C or SIGTERM, finishing requests in flight.
pub async fn run(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    watch: Option<Duration>,
) -> std::io::Result<()> {
    if let Some(interval) = watch {
        tokio::spawn(Arc::clone(&state.models).watch(interval));
    }
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown()).await
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    eprintln!("cubec serve: shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fault inside cubec is a 500 whose body names the request id the log line carries,
    /// and whose details stay in the log.
    #[tokio::test]
    async fn an_internal_fault_is_500_with_the_request_id() {
        let dir = std::env::temp_dir().join(format!("cubec_serve_unit_{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(
            dir.join("m.yml"),
            "cubes:\n  - name: t\n    sql_table: t\n    measures:\n      - name: c\n        type: count\n",
        )
        .expect("model");
        let config = ServeConfig {
            model_dir: dir,
            db_url: None,
            dialects_dir: None,
            secret: None,
            dev: true,
            limits: Limits::default(),
            watch: None,
        };
        // No database is needed to see the error path: the state is built without one.
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_static("req-42"));
        let state = Arc::new(AppState {
            models: Arc::new(reload::Models::load(config.model_dir.clone()).expect("model")),
            dialects: crate::sql::Dialects::load(None).expect("dialects"),
            pool: pool::Pool::empty("postgres"),
            auth: auth::Auth::Dev,
            limits: Limits::default(),
            requests: AtomicU64::new(0),
            instance: 1,
        });
        let resp = handle(state, Method::GET, Uri::from_static("/x"), headers, Ok(Bytes::new()), |_, _, _| async {
            Err::<Value, _>(ApiError::internal("boom".to_string()))
        })
        .await;
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("req-42"));
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        let body: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(body["requestId"], "req-42");
        assert!(!body.to_string().contains("boom"), "internal details stay in the log: {body}");
    }
}
