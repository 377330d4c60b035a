//! The MCP handler (rmcp's `ServerHandler`): the tool list with read-only annotations, and each
//! call run as its caller: the security context fixed for the process (stdio), or read from the
//! HTTP request's Cube token (checked once more here, after the `/mcp` route's own check).

use super::tools::{specs, Tools};
use super::ToolError;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Value};
use std::sync::Arc;

const INSTRUCTIONS: &str = "cubec's semantic layer: governed metrics (measures), dimensions and segments over the \
warehouse, with joins and access policies already applied. Find members with search_members, read them with \
describe, get exact filter values with dimension_values, then query. Never compute a metric yourself from raw \
columns: query the measure. If a query comes back empty, call explain_empty.";

/// The handler; cheap to clone (one per HTTP request).
#[derive(Clone)]
pub struct McpServer {
    tools: Arc<Tools>,
    list: Arc<Vec<Tool>>,
    /// The security context of every call (stdio); `None`: each HTTP request's token.
    context: Option<Value>,
}

impl McpServer {
    pub fn new(tools: Arc<Tools>, context: Option<Value>) -> McpServer {
        let list = specs()
            .into_iter()
            .map(|s| {
                let Value::Object(schema) = s.input_schema else { unreachable!("input schemas are objects") };
                Tool::new(s.name, s.description, Arc::new(schema)).with_title(s.title).with_annotations(
                    ToolAnnotations::new().read_only(true).destructive(false).idempotent(true).open_world(false),
                )
            })
            .collect();
        McpServer { tools, list: Arc::new(list), context }
    }

    fn caller(&self, ctx: &RequestContext<RoleServer>) -> Result<Value, ErrorData> {
        if let Some(c) = &self.context {
            return Ok(c.clone());
        }
        let Some(parts) = ctx.extensions.get::<axum::http::request::Parts>() else {
            return Err(ErrorData::invalid_request("no caller: the request carries no Cube token", None));
        };
        self.tools
            .state()
            .auth
            .context(&parts.headers)
            .map_err(|r| ErrorData::invalid_request(format!("unauthorized: {}", r.0), None))
    }
}

fn object(v: Value) -> JsonObject {
    match v {
        Value::Object(m) => m,
        other => {
            let mut m = JsonObject::new();
            m.insert("value".into(), other);
            m
        }
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("cubec", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.list.as_ref().clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.list.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = self.caller(&context)?;
        let args = request.arguments.unwrap_or_default();
        let started = std::time::Instant::now();
        let outcome = self.tools.call(request.name.as_ref(), args, &caller).await;
        let ms = (started.elapsed().as_secs_f64() * 1e4).round() / 10.0;
        match outcome {
            Ok(answer) => {
                tracing::info!(tool = request.name.as_ref(), ms, "mcp tool call");
                let mut r = CallToolResult::success(vec![ContentBlock::text(answer.text)]);
                r.structured_content = Some(Value::Object(object(answer.structured)));
                Ok(r.into())
            }
            Err(ToolError::UnknownTool(name)) => {
                let known: Vec<&str> = self.list.iter().map(|t| t.name.as_ref()).collect();
                Err(ErrorData::invalid_params(
                    format!("no tool named `{name}`; the tools are {}", known.join(", ")),
                    None,
                ))
            }
            Err(e) => {
                tracing::info!(tool = request.name.as_ref(), ms, error = e.message(), "mcp tool call refused");
                let mut r = CallToolResult::error(vec![ContentBlock::text(e.message().to_string())]);
                r.structured_content = Some(json!({ "error": e.message(), "kind": e.kind() }));
                Ok(r.into())
            }
        }
    }
}

/// Serves one client on stdin and stdout until stdin closes (a client that leaves before
/// initializing is a clean end too).
pub async fn serve_stdio(handler: McpServer) -> Result<(), String> {
    use rmcp::ServiceExt;
    let running = match handler.serve(rmcp::transport::stdio()).await {
        Ok(r) => r,
        Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
        Err(e) => return Err(format!("the MCP client's start failed: {e}")),
    };
    running.waiting().await.map(|_| ()).map_err(|e| format!("the MCP session failed: {e}"))
}
