//! `/mcp` in `cubec serve`: MCP's Streamable HTTP, stateless, JSON answers. Before the
//! protocol sees a request: a Cube token (no token or a bad one: 401 with `WWW-Authenticate`,
//! as the MCP specification asks), the `data` API scope, and the `Origin` of browser requests
//! (only the configured CORS origins; none by default), which also stops DNS rebinding.

use super::server::McpServer;
use super::tools::Tools;
use super::McpConfig;
use crate::server::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use std::sync::Arc;

/// The `/mcp` route, to merge into the API's router.
pub fn router(state: Arc<AppState>, config: McpConfig) -> Router {
    let tools = Arc::new(Tools::new(Arc::clone(&state), config));
    let handler = McpServer::new(tools, None);
    let http = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        // Host names are the deployment's business (a load balancer, a DNS name); browsers are
        // held off by the Origin check below.
        .disable_allowed_hosts();
    let service =
        StreamableHttpService::new(move || Ok(handler.clone()), Arc::new(NeverSessionManager::default()), http);
    Router::new().nest_service("/mcp", service).layer(axum::middleware::from_fn_with_state(state, guard))
}

fn refuse(status: StatusCode, message: String) -> Response {
    let mut r = (status, Json(json!({ "error": message }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"cubec\""));
    }
    r
}

async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let allowed = state.cors_origins.iter().any(|o| o == "*" || o == origin);
        if !allowed {
            return refuse(
                StatusCode::FORBIDDEN,
                format!("the origin `{origin}` may not call /mcp; allow it with --cors-origin"),
            );
        }
    }
    if let Err(r) = state.auth.context(request.headers()) {
        return refuse(StatusCode::UNAUTHORIZED, r.0.to_string());
    }
    if !state.api_scopes.iter().any(|s| s == "data") {
        return refuse(StatusCode::FORBIDDEN, "API scope is missing: data".to_string());
    }
    next.run(request).await
}
