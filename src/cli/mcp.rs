//! `cubec mcp`: the MCP tools on stdio for one caller (a security context from a flag or the
//! environment), and the guardrail flags `cubec serve` shares for `/mcp`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The guardrails, for `cubec mcp` and `cubec serve`'s `/mcp`.
#[derive(clap::Args, Clone)]
pub(crate) struct McpLimitArgs {
    /// Rows a `query` tool answer carries at most (agents may ask for fewer).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000), env = "CUBEC_MCP_ROW_CAP")]
    mcp_row_cap: u32,
    /// Seconds a tool's queries may take in all.
    #[arg(long, default_value_t = 60.0, env = "CUBEC_MCP_TIMEOUT")]
    mcp_timeout: f64,
    /// Members a query may name (and members listed per described cube).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000), env = "CUBEC_MCP_MEMBER_CAP")]
    mcp_member_cap: u32,
    /// Allow `ungrouped: true` queries (raw rows) from agents.
    #[arg(long, env = "CUBEC_MCP_ALLOW_UNGROUPED")]
    mcp_allow_ungrouped: bool,
}

impl McpLimitArgs {
    pub(crate) fn config(&self) -> Result<cubec::mcp::McpConfig, String> {
        let timeout = Duration::try_from_secs_f64(self.mcp_timeout)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("--mcp-timeout {} is not a number of seconds above 0", self.mcp_timeout))?;
        Ok(cubec::mcp::McpConfig {
            row_cap: self.mcp_row_cap as usize,
            member_cap: self.mcp_member_cap as usize,
            timeout,
            allow_ungrouped: self.mcp_allow_ungrouped,
            ..Default::default()
        })
    }
}

/// `cubec mcp`'s flags.
#[derive(clap::Args)]
pub(crate) struct McpArgs {
    /// Model directory (default: ./metrics, else ./model).
    #[arg(long, env = "CUBEC_MODEL")]
    model: Option<PathBuf>,
    /// The database (as `cubec serve --db`; default: the embedded DuckDB with <model>/data/).
    #[arg(long, env = "CUBEC_DB_URL")]
    db: Option<String>,
    /// The caller's security context, as JSON (what a Cube token's payload holds, e.g.
    /// '{"groups": ["analysts"]}'): access policies apply to every tool as to this caller.
    #[arg(long, env = "CUBEC_SECURITY_CONTEXT", default_value = "{}")]
    security_context: String,
    /// The embedded pre-aggregation store's folder (its built rollups answer queries).
    #[arg(long, default_value = ".cubec/preaggregations", env = "CUBEC_PREAGG_DIR")]
    preagg_dir: PathBuf,
    #[command(flatten)]
    limits: McpLimitArgs,
}

pub(crate) fn mcp(args: &McpArgs) -> ExitCode {
    let context: serde_json::Value = match serde_json::from_str(&args.security_context) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        Ok(_) => {
            eprintln!("error: --security-context must be a JSON object, such as '{{\"groups\": [\"analysts\"]}}'");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: --security-context is not JSON: {e}");
            return ExitCode::from(2);
        }
    };
    let limits = match args.limits.config() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // stdout carries the protocol only; logs go to stderr.
    cubec::server::telemetry::init_logging(cubec::server::telemetry::LogFormat::Text);
    let config = cubec::server::ServeConfig {
        model_dir: args.model.clone().unwrap_or_else(cubec::load::default_model_dir),
        db_url: args.db.clone().filter(|u| !u.is_empty()),
        dialects_dir: None,
        // No token is ever read on stdio: the caller is --security-context. Policies are on.
        secret: Some("stdio".to_string()),
        dev: false,
        limits: cubec::server::Limits { continue_wait: None, ..Default::default() },
        watch: None,
        context_to_groups: "groups".to_string(),
        cors_origins: Vec::new(),
        shutdown_timeout: Duration::from_secs(5),
        rollups: cubec::server::rollups::RollupConfig { dir: args.preagg_dir.clone(), ..Default::default() },
        api_scopes: cubec::server::default_api_scopes(),
    };
    let (state, runtime) = match super::common::open_state(&config) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        tokio::spawn(std::sync::Arc::clone(&state).run_rollups());
        let tools = std::sync::Arc::new(cubec::mcp::tools::Tools::new(state, limits));
        let handler = cubec::mcp::server::McpServer::new(tools, Some(context));
        match cubec::mcp::server::serve_stdio(handler).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        }
    })
}
