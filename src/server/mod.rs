//! Stage 7, serve: HTTP to Cube's REST envelopes (`cubec serve`).
//!
//! Input: requests under `/cubejs-api/v1` (`load`, `sql`, `dry-run`, `meta`; GET with `query=`
//! or POST with a JSON body) and `/livez`, `/readyz`. Output: Cube's response bodies.
//! [`auth`] turns the token into the security context, [`reload`] keeps the current model,
//! [`crate::cache`] answers queries (the result cache, the queue, the connection pool with its
//! bounded concurrency and timeouts), [`api`] and [`meta`] build the bodies. Each request is
//! logged on one line with its id, status, time and whether the cache answered.

pub mod api;
pub mod auth;
pub mod jobs;
pub mod meta;
pub mod reload;
pub mod rollups;
pub mod telemetry;

use api::ApiError;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
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
    /// Where the caller's groups are in the token's payload (a dotted path).
    pub context_to_groups: String,
    /// Origins browsers may call the API from (`*` for any); empty: no CORS headers.
    pub cors_origins: Vec<String>,
    /// How long requests in flight may take to finish after a shutdown signal.
    pub shutdown_timeout: Duration,
    /// Pre-aggregations: stores, the refresh worker, rollup-only mode.
    pub rollups: rollups::RollupConfig,
    /// The API scopes every caller has (Cube's `CUBEJS_DEFAULT_API_SCOPES`): `meta`, `data`,
    /// `graphql`, `sql`, `jobs`.
    pub api_scopes: Vec<String>,
}

/// Cube's default API scopes: everything but the Orchestration API's `jobs`.
pub fn default_api_scopes() -> Vec<String> {
    ["meta", "data", "graphql", "sql"].iter().map(|s| s.to_string()).collect()
}

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_limit: u64,
    /// How long a query may run on the database (Cube's `CUBEJS_DB_QUERY_TIMEOUT`).
    pub query_timeout: Duration,
    pub max_concurrent_queries: usize,
    /// How long `/v1/load` waits for a query before answering `Continue wait` (the query keeps
    /// running); `None`: until the query is done.
    pub continue_wait: Option<Duration>,
    /// The result cache's bound in bytes; 0 turns it off.
    pub cache_bytes: usize,
}

/// The result cache's size unless configured.
pub const DEFAULT_CACHE_BYTES: usize = 256 * 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_limit: crate::query::MAX_LIMIT,
            query_timeout: Duration::from_secs(600),
            max_concurrent_queries: 4,
            continue_wait: Some(Duration::from_secs(5)),
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

pub struct AppState {
    pub models: Arc<reload::Models>,
    pub dialects: crate::sql::Dialects,
    pub pool: Arc<crate::cache::pool::Pool>,
    /// Every query the API runs goes through it (`/readyz`'s probe excepted).
    pub cache: Arc<crate::cache::QueryCache>,
    pub rollups: rollups::Rollups,
    pub auth: auth::Auth,
    pub limits: Limits,
    /// Access policies and `public` enforced (off under `--dev`), and the groups claim.
    pub access: crate::query::AccessOptions,
    pub cors_origins: Vec<String>,
    pub api_scopes: Vec<String>,
    /// `--dev`: no auth or policies, and dev-only response fields (`refreshKeyValues`).
    pub dev: bool,
    pub metrics: Arc<telemetry::Metrics>,
    /// Plans SQL API statements for `/v1/sql` with `format: "sql"`; set by whoever starts the
    /// server with the SQL API's planner (the server does not depend on the SQL API).
    pub sql_planner: std::sync::OnceLock<Arc<dyn SqlPlanner>>,
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
        let metrics = Arc::new(telemetry::Metrics::default());
        let pool = Arc::new(
            crate::cache::pool::Pool::open(
                config.db_url.as_deref(),
                &config.model_dir,
                config.limits.max_concurrent_queries,
                Arc::clone(&metrics.cache),
            )
            .map_err(|e| e.to_string())?,
        );
        // The embedded pre-aggregation store, when the model has rollups kept there.
        let first = models.current();
        let has_external = first.checked.model.cubes.iter().flat_map(|c| &c.pre_aggregations).any(|p| p.external);
        let embedded = if has_external {
            std::fs::create_dir_all(&config.rollups.dir).map_err(|e| {
                format!("cannot create the pre-aggregation folder `{}`: {e}", config.rollups.dir.display())
            })?;
            let file = config.rollups.dir.join("preaggregations.duckdb");
            Some(Arc::new(
                crate::cache::pool::Pool::open(
                    Some(&format!("duckdb:{}", file.display())),
                    &config.model_dir,
                    config.limits.max_concurrent_queries,
                    Arc::clone(&metrics.cache),
                )
                .map_err(|e| format!("the embedded pre-aggregation store `{}`: {e}", file.display()))?,
            ))
        } else {
            None
        };
        let cache = crate::cache::QueryCache::new(
            Arc::clone(&pool),
            embedded.clone(),
            crate::cache::CacheConfig {
                max_bytes: config.limits.cache_bytes,
                query_timeout: config.limits.query_timeout,
            },
            Arc::clone(&metrics.cache),
        );
        dialects.get(pool.dialect_name()).map_err(|d| d.message)?;
        let instance = std::process::id() ^ (chrono::Utc::now().timestamp_subsec_nanos());
        let rollups = rollups::Rollups::new(config.rollups.clone(), embedded, instance);
        Ok(AppState {
            models: Arc::new(models),
            dialects,
            pool,
            cache,
            rollups,
            auth,
            limits: config.limits,
            access: crate::query::AccessOptions {
                enforce: !config.dev,
                groups_claim: config.context_to_groups.clone(),
                hide_non_public: !config.dev,
            },
            cors_origins: config.cors_origins.clone(),
            api_scopes: config.api_scopes.clone(),
            dev: config.dev,
            metrics,
            sql_planner: std::sync::OnceLock::new(),
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

/// An axum handler for one endpoint.
fn endpoint(
    e: Endpoint,
) -> impl Fn(
    State<Arc<AppState>>,
    Method,
    Uri,
    HeaderMap,
    Body,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>
       + Clone
       + Send
       + Sync
       + 'static {
    move |State(s), method, uri, headers, body| Box::pin(api_call(s, e, method, uri, headers, body))
}

/// CORS as Cube answers it (any origin under `--dev`, else the configured ones): preflights
/// answered, the headers Cube's clients send allowed, the request id readable by the page.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{header, HeaderName, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("x-cube-authorization"),
            ])
            .expose_headers([HeaderName::from_static("x-request-id")])
            .max_age(Duration::from_secs(600)),
    )
}

/// The routes, on a shared state. Tests call this directly.
pub fn router(state: Arc<AppState>) -> Router {
    let max_body = state.limits.max_body_bytes;
    let cors = cors(&state.cors_origins);
    let router = Router::new()
        .route("/cubejs-api/v1/load", get(endpoint(Endpoint::Load)).post(endpoint(Endpoint::Load)))
        .route("/cubejs-api/v1/sql", get(endpoint(Endpoint::Sql)).post(endpoint(Endpoint::Sql)))
        .route("/cubejs-api/v1/dry-run", get(endpoint(Endpoint::DryRun)).post(endpoint(Endpoint::DryRun)))
        .route("/cubejs-api/v1/meta", get(endpoint(Endpoint::Meta)))
        .route("/cubejs-api/v1/pre-aggregations/jobs", post(endpoint(Endpoint::Jobs)))
        .route("/metrics", get(metrics))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state);
    match cors {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// Plans a SQL API statement without running it (Cube's "sql4sql"): the `sql` object of
/// `/v1/sql`'s answer (`status`, `query_type`, `sql`), or a message for a statement the
/// caller got wrong.
pub trait SqlPlanner: Send + Sync {
    fn plan(
        &self,
        state: &Arc<AppState>,
        sql: &str,
        context: &serde_json::Value,
    ) -> Result<serde_json::Value, PlanError>;
}

/// Why a statement could not be planned: the caller's mistake, or (`forbidden`) its rights.
#[derive(Debug)]
pub struct PlanError {
    pub forbidden: bool,
    pub message: String,
}

/// The API endpoints; one handler serves them all.
#[derive(Clone, Copy)]
enum Endpoint {
    Load,
    Sql,
    DryRun,
    Meta,
    Jobs,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Load => "load",
            Endpoint::Sql => "sql",
            Endpoint::DryRun => "dry-run",
            Endpoint::Meta => "meta",
            Endpoint::Jobs => "pre-aggregations/jobs",
        }
    }

    /// The API scope a caller needs (Cube's `assertApiScope`).
    fn scope(self) -> &'static str {
        match self {
            Endpoint::Load | Endpoint::DryRun => "data",
            Endpoint::Sql => "sql",
            Endpoint::Meta => "meta",
            Endpoint::Jobs => "jobs",
        }
    }
}

type Body = Result<Bytes, axum::extract::rejection::BytesRejection>;

/// What every API request goes through: request id, auth, body limit, one model snapshot, the
/// endpoint's work, the log line and the response.
async fn api_call(
    state: Arc<AppState>,
    endpoint: Endpoint,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let id = state.request_id(&headers);
    let mut stats = api::RequestStats::default();
    let outcome = async {
        let context = state.auth.context(&headers).map_err(|r| ApiError::forbidden(r.0))?;
        if !state.api_scopes.iter().any(|s| s == endpoint.scope()) {
            return Err(ApiError::forbidden(&format!("API scope is missing: {}", endpoint.scope())));
        }
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
        let snapshot = state.models.current();
        if let Endpoint::Jobs = endpoint {
            return jobs::jobs(&state, &snapshot, &body, &context).await;
        }
        let request = match endpoint {
            Endpoint::Meta | Endpoint::Jobs => None,
            _ => {
                let r = api::read_request(&uri, &body)?;
                stats.query_hash = Some(telemetry::query_hash(r.query.to_string().as_bytes()));
                Some(r)
            }
        };
        match (endpoint, request) {
            (Endpoint::Load, Some(r)) => api::load(&state, &snapshot, r, context, &id, &mut stats).await,
            (Endpoint::Sql, Some(r)) if r.sql_text.is_some() => api::sql4sql(&state, r, context),
            (Endpoint::Sql, Some(r)) => api::sql(&state, &snapshot, r, context),
            (Endpoint::DryRun, Some(r)) => api::dry_run(&state, &snapshot, r, context),
            _ => api::meta(&state, &snapshot, &context),
        }
    }
    .await;
    let endpoint_name = endpoint.name();
    let response = respond(&id, started, &method, &uri, outcome, &stats);
    state
        .metrics
        .requests
        .get_or_create(&telemetry::RequestLabels { endpoint: endpoint_name.into(), status: response.status().as_u16() })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&telemetry::EndpointLabel { endpoint: endpoint_name.into() })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// `/metrics`: Prometheus (OpenMetrics text), behind the API's authentication.
async fn metrics(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(reason) = s.auth.context(&headers) {
        return (StatusCode::FORBIDDEN, Json(json!({ "error": reason.0 }))).into_response();
    }
    let (size, in_use) = s.pool.usage();
    s.metrics.cache.pool_size.set(size.into());
    s.metrics.cache.pool_in_use.set(in_use.into());
    let mut response = s.metrics.encode().into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// The response (and the request's log event) for an outcome: 500s carry the request id, and
/// their details go to the log only.
fn respond(
    id: &str,
    started: Instant,
    method: &Method,
    uri: &Uri,
    outcome: Result<Value, ApiError>,
    stats: &api::RequestStats,
) -> Response {
    let (status, body) = match outcome {
        Ok(v) => (StatusCode::OK, v),
        Err(e) => {
            if let Some(detail) = &e.internal {
                tracing::error!(request_id = id, detail = detail.as_str(), "internal error");
            }
            let mut body = e.body;
            if e.status.is_server_error() {
                body["requestId"] = json!(id);
            }
            (e.status, body)
        }
    };
    tracing::info!(
        request_id = id,
        method = method.as_str(),
        path = uri.path(),
        status = status.as_u16(),
        ms = (started.elapsed().as_secs_f64() * 1e4).round() / 10.0,
        query_hash = stats.query_hash.as_deref().unwrap_or(""),
        cache = stats.cache.unwrap_or(""),
        rows = stats.rows,
        db_ms = (stats.db_ms * 10.0).round() / 10.0,
        "request"
    );
    let mut response = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// A time as Cube writes it in responses (`lastRefreshTime`): UTC, milliseconds, `Z`.
fn utc_text(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

async fn livez() -> Response {
    (StatusCode::OK, Json(json!({ "health": "HEALTH" }))).into_response()
}

/// Ready when the database answers a trivial query within the timeout.
async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    let probe = Arc::new(crate::sql::CompiledSql { sql: "SELECT 1".to_string(), ..Default::default() });
    match s.pool.run(probe, s.limits.query_timeout).await {
        Ok(_) => (StatusCode::OK, Json(json!({ "health": "HEALTH" }))).into_response(),
        Err(e) => {
            tracing::warn!(error = ?e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "health": "DOWN" }))).into_response()
        }
    }
}

async fn not_found(uri: Uri) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": format!("no such endpoint: {}", uri.path()) }))).into_response()
}

/// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish for at most `drain`.
/// `extra`: routes of other surfaces (`/mcp`), merged beside the API's.
pub async fn run(
    state: Arc<AppState>,
    extra: Router,
    listener: tokio::net::TcpListener,
    watch: Option<Duration>,
    drain: Duration,
) -> std::io::Result<()> {
    if let Some(interval) = watch {
        tokio::spawn(Arc::clone(&state.models).watch(interval, Arc::clone(&state.metrics)));
    }
    tokio::spawn(Arc::clone(&state).run_rollups());
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let graceful = async move {
        shutdown().await;
        let _ = signalled_tx.send(());
    };
    let server = std::future::IntoFuture::into_future(
        axum::serve(listener, extra.merge(router(state))).with_graceful_shutdown(graceful),
    );
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result,
        _ = async {
            let _ = signalled_rx.await;
            tokio::time::sleep(drain).await;
        } => {
            tracing::warn!(drain_seconds = drain.as_secs_f64(), "requests still running after the drain time; stopping anyway");
            Ok(())
        }
    }
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
    tracing::info!("shutting down: no new connections, finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fault inside cubec is a 500 whose body names the request id the log line carries,
    /// and whose details stay in the log.
    #[tokio::test]
    async fn an_internal_fault_is_500_with_the_request_id() {
        let outcome = Err(ApiError::internal("boom".into()));
        let resp = respond(
            "req-42",
            Instant::now(),
            &Method::GET,
            &Uri::from_static("/x"),
            outcome,
            &api::RequestStats::default(),
        );
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("req-42"));
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        let body: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(body["requestId"], "req-42");
        assert!(!body.to_string().contains("boom"), "internal details stay in the log: {body}");
    }
}
