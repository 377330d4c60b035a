//! Running as the caller: the caller's catalog (their `/v1/meta`) and `/v1/load`'s answers,
//! within the tools' time limit.

use super::catalog::Catalog;
use super::{McpConfig, ToolError};
use crate::server::api::{self, ApiError, ApiRequest, RequestStats};
use crate::server::AppState;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct Runner {
    pub state: Arc<AppState>,
    pub config: McpConfig,
    calls: AtomicU64,
}

/// An API error as an agent reads it: the message, and each diagnostic's hint.
pub fn api_error(e: ApiError) -> ToolError {
    if e.status.is_server_error() {
        let message = e.body["error"].as_str().unwrap_or("the database could not answer").to_string();
        return ToolError::failed(format!("{message} (status {}); try again later", e.status.as_u16()));
    }
    let mut text = e.body["error"].as_str().unwrap_or("the query was refused").to_string();
    for d in e.body["diagnostics"].as_array().into_iter().flatten() {
        if let Some(help) = d["help"].as_str().filter(|h| !h.is_empty()) {
            text.push_str(&format!("\nhint ({}): {help}", d["code"].as_str().unwrap_or("")));
        }
    }
    ToolError::fixable(text)
}

impl Runner {
    pub fn new(state: Arc<AppState>, config: McpConfig) -> Runner {
        Runner { state, config, calls: AtomicU64::new(0) }
    }

    /// The caller's catalog.
    pub fn catalog(&self, context: &Value) -> Result<Catalog, ToolError> {
        let snapshot = self.state.models.current();
        let meta = api::meta(&self.state, &snapshot, context).map_err(api_error)?;
        Ok(Catalog::new(meta))
    }

    /// `/v1/load`'s answer for one query, waiting out `Continue wait` until the tool timeout.
    pub async fn load(&self, query: Value, context: &Value) -> Result<Value, ToolError> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        let deadline = tokio::time::Instant::now() + self.config.timeout;
        loop {
            let snapshot = self.state.models.current();
            let req = ApiRequest {
                query: query.clone(),
                multi: false,
                dialect: None,
                cache: Default::default(),
                sql_text: None,
            };
            let mut stats = RequestStats::default();
            let id = format!("mcp-{n}");
            let run = api::load(&self.state, &snapshot, req, context.clone(), &id, &mut stats);
            match tokio::time::timeout_at(deadline, run).await {
                Err(_) => {
                    return Err(ToolError::failed(format!(
                    "the query ran past the {} s limit for agents; narrow it (a date range, fewer dimensions, a limit)",
                    self.config.timeout.as_secs()
                )))
                }
                Ok(Err(e)) => return Err(api_error(e)),
                Ok(Ok(v)) if v["error"] == "Continue wait" => tokio::time::sleep(Duration::from_millis(200)).await,
                Ok(Ok(v)) => return Ok(v),
            }
        }
    }
}
