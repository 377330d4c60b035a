//! `cubec serve` (its flags, each also an environment variable) and `cubec load-data`.

use super::config::{shown, Sources};
use clap::parser::ValueSource;
use std::path::PathBuf;
use std::process::ExitCode;

/// `cubec serve`'s flags. Each can also be set by the environment variable named beside it,
/// by Cube's twin of that variable, or by a `.env` file (see `config.rs`).
#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Model directory (default: ./metrics, else ./model). Edits are picked up while serving.
    #[arg(long, env = "CUBEC_MODEL")]
    model: Option<PathBuf>,
    /// postgres://user@host:5432/db (with ?sslmode=...&sslrootcert=...) or duckdb:PATH
    /// (default: the embedded DuckDB with <model>/data/ loaded).
    #[arg(long, env = "CUBEC_DB_URL")]
    db: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "CUBEC_HOST")]
    host: String,
    #[arg(long, default_value_t = 4000, env = "CUBEC_PORT")]
    port: u16,
    /// No authentication, no access policies (local use only). Otherwise requests need an HS256
    /// JWT signed with $CUBEC_API_SECRET (or $CUBEJS_API_SECRET).
    #[arg(long, env = "CUBEC_DEV")]
    dev: bool,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 1024 * 1024, env = "CUBEC_MAX_BODY_BYTES")]
    max_body_bytes: usize,
    /// Largest `limit` a query may ask for.
    #[arg(long, default_value_t = cubec::query::MAX_LIMIT, env = "CUBEC_MAX_LIMIT")]
    max_limit: u64,
    /// Seconds a query may run on the database (waiting for a connection included) before it
    /// is cancelled there (Cube's CUBEJS_DB_QUERY_TIMEOUT, 10 minutes).
    #[arg(long, default_value_t = 600.0, env = "CUBEC_QUERY_TIMEOUT")]
    query_timeout: f64,
    /// Seconds /v1/load waits for a query before answering `{"error": "Continue wait"}` (the
    /// query keeps running; Cube's clients ask again); 0 waits until the query is done.
    #[arg(long, default_value_t = 5.0, env = "CUBEC_CONTINUE_WAIT")]
    continue_wait: f64,
    /// The result cache's size: bytes, or with a unit (500MB, 1GiB); 0 turns the cache off.
    #[arg(long, default_value = "256MiB", env = "CUBEC_CACHE_SIZE", value_parser = parse_size)]
    cache_size: usize,
    /// Queries run on the database at once: the connection pool's size.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256), env = "CUBEC_MAX_CONCURRENT_QUERIES")]
    max_concurrent_queries: u16,
    /// Seconds between checks for model edits; 0 turns hot reload off.
    #[arg(long, default_value_t = 1.0, env = "CUBEC_WATCH_INTERVAL")]
    watch_interval: f64,
    /// A folder of dialect files that add to or override the built-in ones.
    #[arg(long, env = "CUBEC_DIALECTS")]
    dialects: Option<PathBuf>,
    /// Where the caller's groups are in the token's payload (a dotted path), for access
    /// policies.
    #[arg(long, default_value = "groups", env = "CUBEC_CONTEXT_TO_GROUPS")]
    context_to_groups: String,
    /// An origin browsers may call the API from (repeatable, or comma-separated in the
    /// variable); `*` for any. None by default, `*` under --dev.
    #[arg(long = "cors-origin", env = "CUBEC_CORS_ORIGIN", value_delimiter = ',')]
    cors_origins: Vec<String>,
    /// Seconds requests in flight may take to finish after a shutdown signal.
    #[arg(long, default_value_t = 10.0, env = "CUBEC_SHUTDOWN_TIMEOUT")]
    shutdown_timeout: f64,
    /// Log lines as text or as one JSON object each; `RUST_LOG` filters them (default info).
    #[arg(long, value_enum, default_value = "text", env = "CUBEC_LOG_FORMAT")]
    log_format: cubec::server::telemetry::LogFormat,
    /// Port of the SQL API (PostgreSQL's wire protocol; BI tools connect as to PostgreSQL).
    /// Off unless set; Cube's CUBEJS_PG_SQL_PORT and CUBESQL_PG_PORT count too.
    #[arg(long, env = "CUBEC_SQL_PORT")]
    sql_port: Option<u16>,
    /// A JSON file of SQL API users: {"users": [{"name", "password", "securityContext", "superuser"}]}.
    #[arg(long, env = "CUBEC_SQL_USERS")]
    sql_users: Option<PathBuf>,
    /// How SQL API passwords are checked.
    #[cfg(feature = "engine")]
    #[arg(long, value_enum, default_value = "scram", env = "CUBEC_SQL_AUTH")]
    sql_auth: cubec::sqlapi::AuthMethod,
    /// PEM certificate chain for the SQL API's TLS (with --sql-tls-key).
    #[arg(long, env = "CUBEC_SQL_TLS_CERT", requires = "sql_tls_key")]
    sql_tls_cert: Option<PathBuf>,
    /// PEM private key for the SQL API's TLS.
    #[arg(long, env = "CUBEC_SQL_TLS_KEY", requires = "sql_tls_cert")]
    sql_tls_key: Option<PathBuf>,
    /// SQL API connections served at once (each has its own small catalog database); more are
    /// refused with SQLSTATE 53300.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65536), env = "CUBEC_SQL_MAX_SESSIONS")]
    sql_max_sessions: u32,
    /// The folder of the embedded pre-aggregation store (`external: true` rollups).
    #[arg(long, default_value = ".cubec/preaggregations", env = "CUBEC_PREAGG_DIR")]
    preagg_dir: PathBuf,
    /// The schema of rollup tables (Cube's CUBEJS_PRE_AGGREGATIONS_SCHEMA; default
    /// prod_pre_aggregations, dev_pre_aggregations under --dev).
    #[arg(long, env = "CUBEJS_PRE_AGGREGATIONS_SCHEMA")]
    preagg_schema: Option<String>,
    /// Run the refresh worker: build and refresh rollups (Cube's CUBEJS_REFRESH_WORKER=true).
    #[arg(long, env = "CUBEC_REFRESH_WORKER")]
    refresh_worker: bool,
    /// Time zones the refresh worker builds rollups for (comma-separated; Cube's
    /// CUBEJS_SCHEDULED_REFRESH_TIMEZONES).
    #[arg(long, default_value = "UTC", env = "CUBEJS_SCHEDULED_REFRESH_TIMEZONES", value_delimiter = ',')]
    refresh_timezones: Vec<String>,
    /// Rollups the refresh worker builds at once (each holds a database connection).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64), env = "CUBEJS_REFRESH_WORKER_CONCURRENCY")]
    refresh_concurrency: u16,
    /// Seconds between the refresh worker's passes.
    #[arg(long, default_value_t = 30.0, env = "CUBEC_REFRESH_INTERVAL")]
    refresh_interval: f64,
    /// Answer only from rollups: a query no rollup serves is an error saying why (Cube's
    /// CUBEJS_ROLLUP_ONLY).
    #[arg(long, env = "CUBEC_ROLLUP_ONLY")]
    rollup_only: bool,
    /// API scopes every caller has (Cube's CUBEJS_DEFAULT_API_SCOPES): meta, data, graphql, sql,
    /// jobs. Cube's default leaves out jobs (the Orchestration API, which builds rollups).
    #[arg(long, default_value = "meta,data,graphql,sql", env = "CUBEJS_DEFAULT_API_SCOPES", value_delimiter = ',')]
    api_scopes: Vec<String>,
    #[command(flatten)]
    mcp: super::mcp::McpLimitArgs,
    /// Print the effective settings (secrets masked) and where each came from, then exit.
    #[arg(long)]
    pub print_config: bool,
}

/// A size in bytes: `1048576`, `500MB`, `1GiB` (KB, MB, GB are powers of 1000; KiB, MiB, GiB
/// of 1024).
fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ if number.is_empty() => return Err(format!("`{s}` is not a size such as 256MiB, 1GB or 0 (off)")),
        other => return Err(format!("unknown unit `{other}` in `{s}` (use B, KB, MB, GB, KiB, MiB or GiB)")),
    };
    let n: f64 = number.parse().map_err(|_| format!("`{s}` is not a size such as 256MiB, 1GB or 0 (off)"))?;
    let bytes = n * factor;
    if !bytes.is_finite() || !(0.0..=1e15).contains(&bytes) {
        return Err(format!("`{s}` is not a size cubec can hold in memory"));
    }
    Ok(bytes as usize)
}

fn seconds(name: &str, v: f64, zero_ok: bool) -> Result<std::time::Duration, String> {
    if v.is_finite() && v <= 86_400.0 && (v > 0.0 || (zero_ok && v == 0.0)) {
        Ok(std::time::Duration::from_secs_f64(v))
    } else {
        let low = if zero_ok { "at least 0" } else { "more than 0" };
        Err(format!("--{name} must be {low} and at most 86400 seconds, got {v}"))
    }
}

impl ServeArgs {
    /// The SQL API's port and configuration, when --sql-port (or its variables) is set.
    #[cfg(feature = "engine")]
    pub(crate) fn sql_api(&self) -> Result<Option<(u16, cubec::sqlapi::SqlApiConfig)>, String> {
        let Some(port) = self.sql_port else { return Ok(None) };
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let env_user = var("CUBEC_SQL_USER").map(|u| (u, var("CUBEC_SQL_PASSWORD")));
        let users = cubec::sqlapi::users::Users::load(env_user, self.sql_users.as_deref(), self.dev)?;
        let tls = match (&self.sql_tls_cert, &self.sql_tls_key) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            _ => None,
        };
        Ok(Some((
            port,
            cubec::sqlapi::SqlApiConfig {
                users,
                auth: self.sql_auth,
                tls,
                max_sessions: self.sql_max_sessions as usize,
            },
        )))
    }

    pub(crate) fn log_format(&self) -> cubec::server::telemetry::LogFormat {
        self.log_format
    }

    /// The server's configuration, the host and the port; `Err` names the bad setting.
    pub(crate) fn config(&self) -> Result<(cubec::server::ServeConfig, String, u16), String> {
        let timeout = seconds("query-timeout", self.query_timeout, false)?;
        let continue_wait = seconds("continue-wait", self.continue_wait, true)?;
        let watch = seconds("watch-interval", self.watch_interval, true)?;
        let shutdown = seconds("shutdown-timeout", self.shutdown_timeout, true)?;
        let refresh_interval = seconds("refresh-interval", self.refresh_interval, false)?;
        for tz in &self.refresh_timezones {
            if tz.parse::<chrono_tz::Tz>().is_err() {
                return Err(format!("--refresh-timezones: `{tz}` is not a time zone (use IANA names such as UTC)"));
            }
        }
        for origin in &self.cors_origins {
            if origin != "*" && !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(format!(
                    "--cors-origin `{origin}` must be `*` or an origin such as https://app.example.com"
                ));
            }
        }
        let cors_origins =
            if self.cors_origins.is_empty() && self.dev { vec!["*".to_string()] } else { self.cors_origins.clone() };
        const SCOPES: [&str; 5] = ["meta", "data", "graphql", "sql", "jobs"];
        if let Some(bad) = self.api_scopes.iter().map(|s| s.trim()).find(|s| !s.is_empty() && !SCOPES.contains(s)) {
            return Err(format!(
                "`{bad}` is not an API scope (CUBEJS_DEFAULT_API_SCOPES / --api-scopes take {})",
                SCOPES.join(", ")
            ));
        }
        let config = cubec::server::ServeConfig {
            model_dir: self.model.clone().unwrap_or_else(cubec::load::default_model_dir),
            db_url: self.db.clone().filter(|u| !u.is_empty()),
            dialects_dir: self.dialects.clone(),
            secret: ["CUBEC_API_SECRET", "CUBEJS_API_SECRET"]
                .iter()
                .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty())),
            dev: self.dev,
            limits: cubec::server::Limits {
                max_body_bytes: self.max_body_bytes,
                max_limit: self.max_limit,
                query_timeout: timeout,
                max_concurrent_queries: self.max_concurrent_queries.into(),
                continue_wait: (!continue_wait.is_zero()).then_some(continue_wait),
                cache_bytes: self.cache_size,
            },
            watch: (!watch.is_zero()).then_some(watch),
            context_to_groups: self.context_to_groups.clone(),
            cors_origins,
            shutdown_timeout: shutdown,
            rollups: cubec::server::rollups::RollupConfig {
                dir: self.preagg_dir.clone(),
                schema: self
                    .preagg_schema
                    .clone()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| cubec::preagg::default_schema(self.dev).to_string()),
                worker: self.refresh_worker,
                timezones: self.refresh_timezones.clone(),
                concurrency: self.refresh_concurrency.into(),
                interval: refresh_interval,
                rollup_only: self.rollup_only,
            },
            api_scopes: self.api_scopes.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
        };
        Ok((config, self.host.clone(), self.port))
    }

    /// The guardrails of `/mcp`.
    pub(crate) fn mcp_config(&self) -> Result<cubec::mcp::McpConfig, String> {
        self.mcp.config()
    }

    /// `--print-config`: each setting, its value and where it came from.
    pub(crate) fn print(&self, c: &cubec::server::ServeConfig, host: &str, port: u16, sources: &Sources) {
        use clap::CommandFactory;
        let matches = crate::Cli::command().get_matches();
        let serve = matches.subcommand_matches("serve");
        let source = |id: &str, env: &str| -> String {
            match serve.and_then(|m| m.value_source(id)) {
                Some(ValueSource::CommandLine) => "flag".to_string(),
                Some(ValueSource::EnvVariable) => {
                    if sources.dotenv.contains(env) {
                        format!(".env {env}")
                    } else if let Some((_, cube)) = sources.from_cube.iter().find(|(ours, _)| ours == env) {
                        format!("Cube's env {cube}")
                    } else {
                        format!("env {env}")
                    }
                }
                _ => "default".to_string(),
            }
        };
        let secret_source = ["CUBEC_API_SECRET", "CUBEJS_API_SECRET"]
            .iter()
            .find(|k| std::env::var(k).is_ok_and(|v| !v.is_empty()))
            .map(|k| if sources.dotenv.contains(*k) { format!(".env {k}") } else { format!("env {k}") })
            .unwrap_or_else(|| "unset".to_string());
        let rows: Vec<(&str, String, String)> = vec![
            ("model", c.model_dir.display().to_string(), source("model", "CUBEC_MODEL")),
            ("db", c.db_url.clone().unwrap_or_else(|| "(embedded DuckDB)".into()), source("db", "CUBEC_DB_URL")),
            ("host", host.to_string(), source("host", "CUBEC_HOST")),
            ("port", port.to_string(), source("port", "CUBEC_PORT")),
            ("dev", c.dev.to_string(), source("dev", "CUBEC_DEV")),
            ("api_secret", c.secret.clone().unwrap_or_default(), secret_source),
            ("max_body_bytes", c.limits.max_body_bytes.to_string(), source("max_body_bytes", "CUBEC_MAX_BODY_BYTES")),
            ("max_limit", c.limits.max_limit.to_string(), source("max_limit", "CUBEC_MAX_LIMIT")),
            ("query_timeout", format!("{:?}", c.limits.query_timeout), source("query_timeout", "CUBEC_QUERY_TIMEOUT")),
            (
                "max_concurrent_queries",
                c.limits.max_concurrent_queries.to_string(),
                source("max_concurrent_queries", "CUBEC_MAX_CONCURRENT_QUERIES"),
            ),
            (
                "continue_wait",
                format!("{:?}", c.limits.continue_wait.unwrap_or_default()),
                source("continue_wait", "CUBEC_CONTINUE_WAIT"),
            ),
            ("cache_size", c.limits.cache_bytes.to_string(), source("cache_size", "CUBEC_CACHE_SIZE")),
            (
                "watch_interval",
                format!("{:?}", c.watch.unwrap_or_default()),
                source("watch_interval", "CUBEC_WATCH_INTERVAL"),
            ),
            ("context_to_groups", c.context_to_groups.clone(), source("context_to_groups", "CUBEC_CONTEXT_TO_GROUPS")),
            ("cors_origins", c.cors_origins.join(","), source("cors_origins", "CUBEC_CORS_ORIGIN")),
            (
                "shutdown_timeout",
                format!("{:?}", c.shutdown_timeout),
                source("shutdown_timeout", "CUBEC_SHUTDOWN_TIMEOUT"),
            ),
            ("log_format", format!("{:?}", self.log_format).to_lowercase(), source("log_format", "CUBEC_LOG_FORMAT")),
            (
                "sql_port",
                self.sql_port.map(|p| p.to_string()).unwrap_or_else(|| "(off)".into()),
                source("sql_port", "CUBEC_SQL_PORT"),
            ),
            ("preagg_dir", c.rollups.dir.display().to_string(), source("preagg_dir", "CUBEC_PREAGG_DIR")),
            ("preagg_schema", c.rollups.schema.clone(), source("preagg_schema", "CUBEJS_PRE_AGGREGATIONS_SCHEMA")),
            ("refresh_worker", c.rollups.worker.to_string(), source("refresh_worker", "CUBEC_REFRESH_WORKER")),
            (
                "refresh_timezones",
                c.rollups.timezones.join(","),
                source("refresh_timezones", "CUBEJS_SCHEDULED_REFRESH_TIMEZONES"),
            ),
            (
                "refresh_concurrency",
                c.rollups.concurrency.to_string(),
                source("refresh_concurrency", "CUBEJS_REFRESH_WORKER_CONCURRENCY"),
            ),
            (
                "refresh_interval",
                format!("{:?}", c.rollups.interval),
                source("refresh_interval", "CUBEC_REFRESH_INTERVAL"),
            ),
            ("rollup_only", c.rollups.rollup_only.to_string(), source("rollup_only", "CUBEC_ROLLUP_ONLY")),
            ("api_scopes", c.api_scopes.join(","), source("api_scopes", "CUBEJS_DEFAULT_API_SCOPES")),
        ];
        for (key, value, from) in rows {
            println!("{key:<24} {:<48} ({from})", shown(key, &value));
        }
    }
}

#[cfg(feature = "engine")]
pub(crate) fn load_data(model: Option<PathBuf>, db: Option<String>) -> ExitCode {
    let Some(url) = db.or_else(|| std::env::var("CUBEC_DB_URL").ok().filter(|u| !u.is_empty())) else {
        eprintln!(
            "error: load-data needs --db postgres://..., snowflake://..., bigquery://... (or duckdb:PATH, or $CUBEC_DB_URL)"
        );
        return ExitCode::from(2);
    };
    let dir = model.unwrap_or_else(cubec::load::default_model_dir);
    let mut target = match cubec::exec::Database::open(Some(&url), &dir) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    match cubec::exec::seed::copy_data_dir(&dir.join("data"), &mut target) {
        Ok(tables) => {
            for (table, rows) in &tables {
                println!("{table}: {rows} rows");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// The SQL API's port and settings, or nothing.
#[cfg(feature = "engine")]
pub(crate) type SqlApi = Option<(u16, cubec::sqlapi::SqlApiConfig)>;
#[cfg(not(feature = "engine"))]
pub(crate) type SqlApi = Option<(u16, ())>;

pub(crate) fn serve(
    config: cubec::server::ServeConfig,
    host: &str,
    port: u16,
    log_format: cubec::server::telemetry::LogFormat,
    sql_api: SqlApi,
    mcp: cubec::mcp::McpConfig,
) -> ExitCode {
    // A server must outlive its clients: writing to a socket a client has closed is an error
    // for that connection, not SIGPIPE for the process (main restores SIGPIPE's default for the
    // other commands, so that `cubec ... | head` stops quietly).
    #[cfg(unix)]
    // SAFETY: sets one signal's disposition to "ignore"; no handler runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    cubec::server::telemetry::init_logging(log_format);
    let (state, runtime) = match super::common::open_state(&config) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind((host, port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {host}:{port}: {e}");
                return ExitCode::from(1);
            }
        };
        let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| format!("{host}:{port}"));
        if let Some((sql_port, sql_config)) = sql_api {
            #[cfg(feature = "engine")]
            {
                let server = match cubec::sqlapi::SqlServer::new(std::sync::Arc::clone(&state), sql_config) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("error: the SQL API: {e}");
                        return ExitCode::from(1);
                    }
                };
                let sql_listener = match tokio::net::TcpListener::bind((host, sql_port)).await {
                    Ok(l) => l,
                    Err(e) => {
                        eprintln!("error: cannot listen on {host}:{sql_port} for the SQL API: {e}");
                        return ExitCode::from(1);
                    }
                };
                let sql_addr = sql_listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
                tracing::info!("SQL API listening on postgresql://{sql_addr}");
                tokio::spawn(server.run(sql_listener));
            }
            #[cfg(not(feature = "engine"))]
            {
                let _ = (sql_port, sql_config);
                eprintln!("error: this build has no embedded engine (feature `engine`), which the SQL API needs");
                return ExitCode::from(1);
            }
        }
        if config.dev {
            tracing::warn!(
                "--dev: no authentication, no access policies, no `public` checks; anyone who can reach {addr} can \
                 query all the data"
            );
        }
        tracing::info!(
            cubes = state.models.current().checked.model.cubes.len(),
            model = %config.model_dir.display(),
            database = state.pool.dialect_name(),
            "listening on http://{addr}/cubejs-api/v1"
        );
        let mcp = cubec::mcp::http::router(std::sync::Arc::clone(&state), mcp);
        match cubec::server::run(state, mcp, listener, config.watch, config.shutdown_timeout).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: the server stopped: {e}");
                ExitCode::from(1)
            }
        }
    })
}
