//! The metrics for AI agents over the Model Context Protocol: `cubec mcp` on stdio and
//! `/mcp` in `cubec serve` (Streamable HTTP), one set of read-only tools on both.
//!
//! A surface of its own over the server's stages: the tools read the caller's `/v1/meta` and
//! run queries through `/v1/load`'s and `/v1/sql`'s code with the caller's security context
//! (the JWT's payload over HTTP, `--security-context` on stdio), so access policies and
//! `public: false` hold for every tool, every answer and every error. There is no raw SQL tool.

pub mod catalog;
pub mod explain;
pub mod http;
pub mod run;
pub mod server;
pub mod table;
pub mod tools;

use serde_json::{json, Value};
use std::time::Duration;

/// A tool's answer: structured content, and the same as compact text for clients that read
/// only text.
#[derive(Debug)]
pub struct Answer {
    pub structured: Value,
    pub text: String,
}

/// The guardrails.
#[derive(Debug, Clone)]
pub struct McpConfig {
    /// Rows a `query` answer carries at most (an agent may ask for fewer).
    pub row_cap: usize,
    /// Members a query may name; members listed per described cube.
    pub member_cap: usize,
    /// Values `dimension_values` returns at most.
    pub values_cap: usize,
    /// How long a tool's queries may take in all.
    pub timeout: Duration,
    /// Whether `ungrouped: true` (raw rows) is allowed.
    pub allow_ungrouped: bool,
}

impl Default for McpConfig {
    fn default() -> Self {
        McpConfig {
            row_cap: 200,
            member_cap: 50,
            values_cap: 1000,
            timeout: Duration::from_secs(60),
            allow_ungrouped: false,
        }
    }
}

/// Why a tool call did not answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolError {
    /// No such tool: a protocol error (JSON-RPC -32602).
    UnknownTool(String),
    /// The arguments do not fit the tool's schema: a tool error the agent can fix.
    Params(String),
    /// The query or name is wrong (unknown member, refused by policy, ...): a tool error.
    Fixable(String),
    /// The database or a limit failed it: a tool error, worth trying again later.
    Failed(String),
}

impl ToolError {
    pub fn params(m: impl Into<String>) -> ToolError {
        ToolError::Params(m.into())
    }

    pub fn fixable(m: impl Into<String>) -> ToolError {
        ToolError::Fixable(m.into())
    }

    pub fn failed(m: impl Into<String>) -> ToolError {
        ToolError::Failed(m.into())
    }

    pub fn message(&self) -> &str {
        match self {
            ToolError::UnknownTool(m) | ToolError::Params(m) | ToolError::Fixable(m) | ToolError::Failed(m) => m,
        }
    }

    /// `invalid_arguments`, `invalid_query` or `failed`.
    pub fn kind(&self) -> &'static str {
        match self {
            ToolError::UnknownTool(_) => "unknown_tool",
            ToolError::Params(_) => "invalid_arguments",
            ToolError::Fixable(_) => "invalid_query",
            ToolError::Failed(_) => "failed",
        }
    }
}

/// A number-typed cell as a JSON number when it is one.
pub fn number(v: &Value) -> Value {
    match v {
        Value::String(s) => s
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| s.parse::<f64>().map(|f| json!(f)))
            .unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

pub fn text_cell(v: &Value) -> String {
    match v {
        Value::Null => "∅".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
