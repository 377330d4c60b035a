//! The `cubec` command line: argument parsing and output only; the work is in the library.

use clap::{Parser, Subcommand};
use cubec::diag::render::{self, DiagFormat};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cubec", version, about = "A Cube-compatible semantic layer and metrics compiler")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load and check a model: every problem with file:line:col, a code and a hint.
    Validate {
        /// Model directory (default: ./metrics, else ./model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Output format for diagnostics.
        #[arg(long, value_enum, default_value = "human")]
        format: DiagFormat,
        /// Also compile every measure with every dimension of its cube and of the cubes it
        /// joins (every granularity of time dimensions) for every dialect, and parse each
        /// statement with sqlparser.
        #[arg(long)]
        deep: bool,
        /// Dialects for --deep, comma-separated (default: all).
        #[arg(long, requires = "deep")]
        dialect: Option<String>,
    },
    /// Compile a Cube REST query (or a JSON array of them) to SQL.
    Sql {
        /// The query: a file path, `-` for stdin, or JSON text.
        #[arg(long)]
        query: String,
        /// Target dialect: postgres, bigquery, snowflake, duckdb (or one from --dialects);
        /// several, comma-separated, print the SQL for each.
        #[arg(long, default_value = "postgres")]
        dialect: String,
        /// Model directory (default: ./metrics, else ./model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// `sql`: the SQL, then the params as a comment; `json`: {"sql","params","aliasNameToMember"}.
        #[arg(long, value_enum, default_value = "sql")]
        format: SqlFormat,
        /// Put parameters into the SQL as escaped literals.
        #[arg(long)]
        inline: bool,
        /// A folder of dialect files that add to or override the built-in ones.
        #[arg(long)]
        dialects: Option<PathBuf>,
        /// The security context (JSON object) for SECURITY_CONTEXT in model SQL, as a JWT
        /// payload gives it under `cubec serve`.
        #[arg(long)]
        security_context: Option<String>,
    },
    /// Compile a query (or a JSON array of them) and run it: on the embedded DuckDB (data from
    /// <model>/data/) or --db.
    Query {
        /// The query: a file path, `-` for stdin, or JSON text.
        #[arg(long)]
        query: String,
        /// Model directory (default: ./metrics, else ./model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// postgres://user@host:5432/db or duckdb:PATH (default: $CUBEC_DB_URL, else the
        /// embedded DuckDB).
        #[arg(long)]
        db: Option<String>,
        /// `table` (readable), `json` (Cube's /v1/load body) or `csv` (RFC 4180).
        #[arg(long, value_enum, default_value = "table")]
        format: RowsFormat,
        /// Print the SQL that runs, then the rows.
        #[arg(long)]
        explain: bool,
        /// Send filter values as escaped literals in the SQL instead of bound parameters.
        #[arg(long)]
        inline: bool,
        /// A folder of dialect files that add to or override the built-in ones.
        #[arg(long)]
        dialects: Option<PathBuf>,
        /// The security context (JSON object) for SECURITY_CONTEXT in model SQL.
        #[arg(long)]
        security_context: Option<String>,
    },
    /// Run the metric unit tests under <model>/tests/: fixture rows, queries, expected rows.
    Test {
        /// Model directory (default: ./metrics, else ./model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// postgres://... runs the tests there, in temporary tables (default: $CUBEC_DB_URL,
        /// else a fresh embedded DuckDB per test).
        #[arg(long)]
        db: Option<String>,
        /// Only tests whose name or file contains this text.
        #[arg(long)]
        filter: Option<String>,
        /// `human`, `json` (one object per test) or `junit` (XML for CI).
        #[arg(long, value_enum, default_value = "human")]
        format: TestFormat,
    },
    /// Write the deterministic demo dataset of the KPI library (CSV files) into a folder.
    DemoData {
        /// Output folder (created if missing).
        #[arg(long, default_value = "metrics/data")]
        out: PathBuf,
        /// Size multiplier: 1 is about 2,500 users and a few MB in all.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
        scale: u32,
        /// Random seed; the same seed and scale give the same files.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Copy the model's data/ folder (CSV, Parquet) into a database, replacing tables of the
    /// same names: the demo data on a real PostgreSQL.
    #[cfg(feature = "engine")]
    LoadData {
        /// Model directory (default: ./metrics, else ./model); its data/ folder is copied.
        #[arg(long)]
        model: Option<PathBuf>,
        /// postgres://user@host:5432/db or duckdb:PATH (default: $CUBEC_DB_URL).
        #[arg(long)]
        db: Option<String>,
    },
    /// Serve Cube's REST API (/cubejs-api/v1/load, sql, dry-run, meta) over HTTP.
    Serve {
        /// Model directory (default: ./metrics, else ./model). Edits are picked up while serving.
        #[arg(long)]
        model: Option<PathBuf>,
        /// postgres://user@host:5432/db or duckdb:PATH (default: $CUBEC_DB_URL, else the
        /// embedded DuckDB with <model>/data/ loaded).
        #[arg(long)]
        db: Option<String>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        #[arg(long, default_value_t = 4000)]
        port: u16,
        /// No authentication (local use only). Otherwise requests need an HS256 JWT signed with
        /// $CUBEC_API_SECRET (or $CUBEJS_API_SECRET).
        #[arg(long)]
        dev: bool,
        /// Largest request body accepted, in bytes.
        #[arg(long, default_value_t = 1024 * 1024)]
        max_body_bytes: usize,
        /// Largest `limit` a query may ask for.
        #[arg(long, default_value_t = cubec::query::MAX_LIMIT)]
        max_limit: u64,
        /// Seconds a query may run before it is cancelled on the database.
        #[arg(long, default_value_t = 30.0)]
        query_timeout: f64,
        /// Queries run on the database at once (one connection each).
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
        max_concurrent_queries: u16,
        /// Seconds between checks for model edits; 0 turns hot reload off.
        #[arg(long, default_value_t = 1.0)]
        watch_interval: f64,
        /// A folder of dialect files that add to or override the built-in ones.
        #[arg(long)]
        dialects: Option<PathBuf>,
    },
    /// Print a JSON Schema of the model file format (for the YAML language server).
    Schema,
    /// Compare the model at a git revision with the work tree (or another revision): members
    /// added, removed and changed, and which queries' SQL changed per dialect.
    Diff {
        /// The base revision (a commit, branch or tag), read with git; nothing is checked out.
        #[arg(long)]
        base: String,
        /// The head revision (default: the work tree).
        #[arg(long)]
        head: Option<String>,
        /// Model directory (default: ./metrics, else ./model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// `human`, `markdown` (a pull request comment) or `json`.
        #[arg(long, value_enum, default_value = "human")]
        format: DiffFormat,
        /// Exit 1 when anything changed.
        #[arg(long)]
        fail_on_change: bool,
        /// Dialects whose SQL is compared, comma-separated (default: all).
        #[arg(long)]
        dialect: Option<String>,
    },
    /// Write a Markdown catalog of the model's KPIs (measures with `meta`) to <out>/kpis.md.
    Docs {
        /// Model directory (default: ./metrics, else ./model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Output folder (created if missing).
        #[arg(long, default_value = "docs")]
        out: PathBuf,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DiffFormat {
    Human,
    Markdown,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TestFormat {
    Human,
    Json,
    Junit,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum RowsFormat {
    Table,
    Json,
    Csv,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SqlFormat {
    Sql,
    Json,
}

fn main() -> ExitCode {
    // Like other Unix tools, stop quietly when the reader of our output goes away
    // (`cubec diff ... | head`) instead of panicking on a broken pipe.
    #[cfg(unix)]
    // SAFETY: restores the default action for one signal before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(2),
            };
        }
    };
    match cli.command {
        Command::Validate { model, format, deep, dialect } => match validate(model.clone(), format, deep) {
            (_, true) if deep => deep_validate(model, format, dialect.as_deref()),
            (code, _) => code,
        },
        Command::Sql { query, dialect, model, format, inline, dialects, security_context } => {
            match query_options(security_context.as_deref()) {
                Ok(opts) => sql(&query, &dialect, model, format, inline, dialects.as_deref(), &opts),
                Err(code) => code,
            }
        }
        Command::Query { query, model, db, format, explain, inline, dialects, security_context } => {
            match query_options(security_context.as_deref()) {
                Ok(opts) => run_query(&query, model, db, format, explain, inline, dialects.as_deref(), &opts),
                Err(code) => code,
            }
        }
        Command::Test { model, db, filter, format } => run_tests(model, db, filter, format),
        Command::Docs { model, out } => write_docs(model, &out),
        Command::Diff { base, head, model, format, fail_on_change, dialect } => {
            model_diff(&base, head.as_deref(), model, format, fail_on_change, dialect.as_deref())
        }
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&cubec::schema::model_schema()).unwrap_or_default());
            ExitCode::SUCCESS
        }
        #[cfg(feature = "engine")]
        Command::LoadData { model, db } => load_data(model, db),
        Command::Serve {
            model,
            db,
            host,
            port,
            dev,
            max_body_bytes,
            max_limit,
            query_timeout,
            max_concurrent_queries,
            watch_interval,
            dialects,
        } => {
            let seconds = |name: &str, v: f64, zero_ok: bool| {
                if v.is_finite() && v <= 86_400.0 && (v > 0.0 || (zero_ok && v == 0.0)) {
                    Ok(std::time::Duration::from_secs_f64(v))
                } else {
                    let low = if zero_ok { "at least 0" } else { "more than 0" };
                    Err(format!("--{name} must be {low} and at most 86400 seconds, got {v}"))
                }
            };
            let (timeout, watch) =
                match (seconds("query-timeout", query_timeout, false), seconds("watch-interval", watch_interval, true))
                {
                    (Ok(t), Ok(w)) => (t, w),
                    (Err(e), _) | (_, Err(e)) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(2);
                    }
                };
            let config = cubec::server::ServeConfig {
                model_dir: model.unwrap_or_else(cubec::load::default_model_dir),
                db_url: db.or_else(|| std::env::var("CUBEC_DB_URL").ok().filter(|u| !u.is_empty())),
                dialects_dir: dialects,
                secret: ["CUBEC_API_SECRET", "CUBEJS_API_SECRET"]
                    .iter()
                    .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty())),
                dev,
                limits: cubec::server::Limits {
                    max_body_bytes,
                    max_limit,
                    query_timeout: timeout,
                    max_concurrent_queries: max_concurrent_queries.into(),
                },
                watch: (!watch.is_zero()).then_some(watch),
            };
            serve(config, &host, port)
        }
        Command::DemoData { out, scale, seed } => match cubec::demo::generate(&out, scale, seed) {
            Ok(files) => {
                for (file, rows) in files {
                    println!("{file}: {rows} rows");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot write the demo data to `{}`: {e}", out.display());
                ExitCode::from(1)
            }
        },
    }
}

/// The model checked (errors reported) and the dialects, for commands that need both.
fn load_model(
    model: Option<PathBuf>,
    dialects: Option<&std::path::Path>,
) -> Result<(PathBuf, cubec::Checked, cubec::sql::Dialects), ExitCode> {
    let dialects = cubec::sql::Dialects::load(dialects).map_err(|diags| {
        report(&diags, &cubec::diag::SourceMap::default());
        ExitCode::from(1)
    })?;
    let dir = model.unwrap_or_else(cubec::load::default_model_dir);
    let checked = cubec::check_model(&dir);
    if checked.has_errors() {
        report(&checked.diagnostics, &checked.sources);
        eprintln!("error: the model under `{}` has errors; fix them first", dir.display());
        return Err(ExitCode::from(1));
    }
    Ok((dir, checked, dialects))
}

fn write_docs(model: Option<PathBuf>, out: &std::path::Path) -> ExitCode {
    let (_, checked, dialects) = match load_model(model, None) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let text = match cubec::docs::catalog(&checked.model, &dialects) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let path = out.join("kpis.md");
    let tmp = out.join(".kpis.md.tmp");
    let written = std::fs::create_dir_all(out)
        .and_then(|_| std::fs::write(&tmp, &text))
        .and_then(|_| std::fs::rename(&tmp, &path));
    match written {
        Ok(()) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write `{}`: {e}", path.display());
            ExitCode::from(1)
        }
    }
}

fn run_tests(model: Option<PathBuf>, db: Option<String>, filter: Option<String>, format: TestFormat) -> ExitCode {
    let (dir, checked, dialects) = match load_model(model, None) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let url = db.or_else(|| std::env::var("CUBEC_DB_URL").ok().filter(|u| !u.is_empty()));
    let files = cubec::testing::test_files(&dir.join("tests"));
    if files.is_empty() {
        eprintln!("error: no test files under `{}`", dir.join("tests").display());
        return ExitCode::from(1);
    }
    let mut outcomes = Vec::new();
    for f in &files {
        let results = cubec::testing::run_file(&checked.model, &dialects, url.as_deref(), f, filter.as_deref());
        if format == TestFormat::Human {
            for o in &results {
                match &o.failure {
                    None => println!("PASS {} > {} ({:.0} ms)", o.file, o.name, o.millis),
                    Some(why) => {
                        println!("FAIL {} > {}", o.file, o.name);
                        for line in why.lines() {
                            println!("    {line}");
                        }
                    }
                }
            }
        }
        outcomes.extend(results);
    }
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    match format {
        TestFormat::Human => println!("\n{} passed, {failed} failed", outcomes.len() - failed),
        TestFormat::Json => println!("{}", serde_json::to_string_pretty(&outcomes).unwrap_or_default()),
        TestFormat::Junit => print!("{}", cubec::testing::junit(&outcomes)),
    }
    if outcomes.is_empty() {
        eprintln!("error: no test matched");
        return ExitCode::from(1);
    }
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints diagnostics that have no useful source position (query, dialect errors).
fn report(diags: &[cubec::diag::Diagnostic], sources: &cubec::diag::SourceMap) {
    eprint!("{}", render::to_human(diags, sources, std::io::stderr().is_terminal()));
}

/// Reads `--query`: a path, `-` for stdin, or the JSON itself.
fn read_query(arg: &str) -> Result<serde_json::Value, String> {
    let text = if arg == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| format!("cannot read the query from stdin: {e}"))?;
        s
    } else if arg.trim_start_matches('\u{feff}').trim_start().starts_with(['{', '[']) {
        arg.to_string()
    } else {
        std::fs::read_to_string(arg).map_err(|e| format!("cannot read query file `{arg}`: {e}"))?
    };
    // A byte order mark (Windows editors write one) is not JSON, but it is not an error either.
    serde_json::from_str(text.strip_prefix('\u{feff}').unwrap_or(&text))
        .map_err(|e| format!("the query is not valid JSON: {e}"))
}

/// Query options from the command line: `--security-context` must be a JSON object.
fn query_options(security_context: Option<&str>) -> Result<cubec::query::QueryOptions, ExitCode> {
    let mut opts = cubec::query::QueryOptions::default();
    if let Some(text) = security_context {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v @ serde_json::Value::Object(_)) => opts.security_context = v,
            Ok(_) => {
                eprintln!("error: --security-context must be a JSON object, like '{{\"tenant\": \"a\"}}'");
                return Err(ExitCode::from(2));
            }
            Err(e) => {
                eprintln!("error: --security-context is not valid JSON: {e}");
                return Err(ExitCode::from(2));
            }
        }
    }
    Ok(opts)
}

fn sql(
    query: &str,
    dialect: &str,
    model: Option<PathBuf>,
    format: SqlFormat,
    inline: bool,
    dialects: Option<&std::path::Path>,
    opts: &cubec::query::QueryOptions,
) -> ExitCode {
    let Prepared { query, dialects, checked, .. } = match prepare(query, model, dialects) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut chosen = Vec::new();
    for name in dialect.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match dialects.get(name) {
            Ok(d) => chosen.push(d),
            Err(d) => {
                report(&[d], &cubec::diag::SourceMap::default());
                return ExitCode::from(2);
            }
        }
    }
    if chosen.is_empty() {
        eprintln!("error: --dialect names no dialect; choose from {}", dialects.names().join(", "));
        return ExitCode::from(2);
    }
    let render_opts = cubec::sql::RenderOptions { inline };
    let (queries, many) = match &query {
        serde_json::Value::Array(items) if items.is_empty() => {
            eprintln!("error: the query is an empty list; give a query object or a list of them");
            return ExitCode::from(1);
        }
        serde_json::Value::Array(items) => (items.iter().collect::<Vec<_>>(), true),
        one => (vec![one], false),
    };
    let several = chosen.len() > 1;
    let mut json_out = Vec::new();
    for dialect in &chosen {
        let mut results = Vec::new();
        for (i, q) in queries.iter().enumerate() {
            match cubec::compile(&checked.model, q, dialect, opts, render_opts) {
                Ok(c) => results.push(c),
                Err(diags) => {
                    if many {
                        eprintln!("query {i}:");
                    }
                    report(&diags, &checked.sources);
                    return ExitCode::from(1);
                }
            }
        }
        match format {
            SqlFormat::Json => {
                let v = if many { serde_json::to_value(&results) } else { serde_json::to_value(&results[0]) };
                json_out.push((dialect.name.clone(), v.unwrap_or_default()));
            }
            SqlFormat::Sql => print_sql(&results, &dialect.name, many, several, inline),
        }
    }
    if format == SqlFormat::Json {
        let v = if several {
            serde_json::Value::Object(json_out.into_iter().collect())
        } else {
            json_out.pop().map(|(_, v)| v).unwrap_or_default()
        };
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    }
    ExitCode::SUCCESS
}

/// What `sql` and `query` both need: the query JSON, the checked model and the dialects.
/// Problems are reported here; the caller only returns the exit code.
fn prepare(query: &str, model: Option<PathBuf>, dialects: Option<&std::path::Path>) -> Result<Prepared, ExitCode> {
    let query = read_query(query).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })?;
    let (dir, checked, dialects) = load_model(model, dialects)?;
    Ok(Prepared { query, dialects, dir, checked })
}

struct Prepared {
    query: serde_json::Value,
    dialects: cubec::sql::Dialects,
    dir: PathBuf,
    checked: cubec::Checked,
}

fn print_sql(results: &[cubec::sql::CompiledSql], dialect: &str, many: bool, several: bool, inline: bool) {
    if several {
        println!("-- dialect: {dialect}");
    }
    for (i, c) in results.iter().enumerate() {
        if many {
            println!("-- query {i}");
        }
        println!("{};", c.sql);
        if !inline {
            println!("-- params: {}", serde_json::to_string(&c.params).unwrap_or_default());
        }
        if let Some(t) = &c.total {
            println!("-- total rows:\n{};", t.sql);
            if !inline {
                println!("-- params: {}", serde_json::to_string(&t.params).unwrap_or_default());
            }
        }
        for w in &c.warnings {
            println!("-- warning: {w}");
        }
        println!();
    }
}
fn model_diff(
    base: &str,
    head: Option<&str>,
    model: Option<PathBuf>,
    format: DiffFormat,
    fail_on_change: bool,
    dialect: Option<&str>,
) -> ExitCode {
    let dir = model.unwrap_or_else(cubec::load::default_model_dir);
    let dialects = match cubec::sql::Dialects::load(None) {
        Ok(d) => d,
        Err(diags) => {
            report(&diags, &cubec::diag::SourceMap::default());
            return ExitCode::from(1);
        }
    };
    let names: Vec<String> = match dialect {
        Some(list) => list.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect(),
        None => dialects.names().iter().map(|n| n.to_string()).collect(),
    };
    let mut chosen = Vec::new();
    for n in &names {
        match dialects.get(n) {
            Ok(d) => chosen.push(d),
            Err(d) => {
                report(&[d], &cubec::diag::SourceMap::default());
                return ExitCode::from(2);
            }
        }
    }
    let versions = cubec::diff::at_revision(&dir, base).and_then(|b| {
        let h = match head {
            Some(rev) => cubec::diff::at_revision(&dir, rev)?,
            None => cubec::diff::work_tree(&dir)?,
        };
        Ok((b, h))
    });
    let (b, h) = match versions {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let d = cubec::diff::diff(&b, &h, &cubec::diff::saved_queries(&dir), &chosen);
    match format {
        DiffFormat::Human => print!("{}", cubec::diff::to_human(&d)),
        DiffFormat::Markdown => print!("{}", cubec::diff::to_markdown(&d)),
        DiffFormat::Json => println!("{}", serde_json::to_string_pretty(&d).unwrap_or_default()),
    }
    if fail_on_change && !d.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `validate --deep`: the member matrix over every dialect, with a progress bar on a terminal.
fn deep_validate(model: Option<PathBuf>, format: DiagFormat, dialect: Option<&str>) -> ExitCode {
    let (_, checked, dialects) = match load_model(model, None) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let names: Vec<String> = match dialect {
        Some(list) => list.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect(),
        None => dialects.names().iter().map(|n| n.to_string()).collect(),
    };
    let mut chosen = Vec::new();
    for n in &names {
        match dialects.get(n) {
            Ok(d) => chosen.push(d),
            Err(d) => {
                report(&[d], &cubec::diag::SourceMap::default());
                return ExitCode::from(2);
            }
        }
    }
    let total = cubec::deep::matrix(&checked.model).len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let show = std::io::stderr().is_terminal() && format == DiagFormat::Human;
    let report = std::thread::scope(|scope| {
        let worker = scope.spawn(|| cubec::deep::check(&checked.model, &chosen, threads, &done));
        while show && !worker.is_finished() {
            let n = done.load(std::sync::atomic::Ordering::Relaxed);
            let width = 30;
            let filled = if total == 0 { width } else { n * width / total };
            eprint!("\r[{}{}] {n}/{total} queries", "#".repeat(filled), " ".repeat(width - filled));
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        if show {
            eprint!("\r\x1b[2K");
        }
        worker.join()
    });
    let Ok(report) = report else {
        eprintln!("error: the deep check stopped unexpectedly");
        return ExitCode::from(1);
    };
    if format == DiagFormat::Json {
        let diagnostics: serde_json::Value =
            serde_json::from_str(&render::to_json(&checked.diagnostics, &checked.sources)).unwrap_or_default();
        let body = serde_json::json!({ "diagnostics": diagnostics, "deep": report });
        println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
    } else {
        for f in &report.failures {
            eprintln!("FAIL [{}] {}: {}", f.dialect, f.members.join(" + "), f.message);
        }
        println!(
            "deep check: {} queries x {} dialects = {} statements compiled and parsed in {:.2} s; \
             {} combinations without a join path skipped; {} failures",
            report.queries,
            chosen.len(),
            report.statements,
            report.elapsed.as_secs_f64(),
            report.unreachable,
            report.failures.len()
        );
    }
    if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Returns the exit code, and whether the model is free of errors.
/// With `deep` and JSON, a valid model's diagnostics are printed by the deep check instead, so
/// the output stays one JSON document.
fn validate(model: Option<PathBuf>, format: DiagFormat, deep: bool) -> (ExitCode, bool) {
    let dir = model.unwrap_or_else(cubec::load::default_model_dir);
    let checked = cubec::check_model(&dir);
    let out = match format {
        DiagFormat::Human => {
            if checked.diagnostics.is_empty() {
                format!("{}: {} cubes and views, no problems\n", dir.display(), checked.model.cubes.len())
            } else {
                render::to_human(&checked.diagnostics, &checked.sources, std::io::stderr().is_terminal())
            }
        }
        DiagFormat::Json => render::to_json(&checked.diagnostics, &checked.sources) + "\n",
        DiagFormat::Github => render::to_github(&checked.diagnostics, &checked.sources),
    };
    if format == DiagFormat::Human && !checked.diagnostics.is_empty() {
        eprint!("{out}");
    } else if !(deep && format == DiagFormat::Json && !checked.has_errors()) {
        print!("{out}");
    }
    if checked.has_errors() {
        (ExitCode::from(1), false)
    } else {
        (ExitCode::SUCCESS, true)
    }
}

#[allow(clippy::too_many_arguments)]
fn run_query(
    query: &str,
    model: Option<PathBuf>,
    db: Option<String>,
    format: RowsFormat,
    explain: bool,
    inline: bool,
    dialects: Option<&std::path::Path>,
    opts: &cubec::query::QueryOptions,
) -> ExitCode {
    let Prepared { query, dialects, dir, checked } = match prepare(query, model, dialects) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let (queries, many) = match &query {
        serde_json::Value::Array(items) if items.is_empty() => {
            eprintln!("error: the query is an empty list; give a query object or a list of them");
            return ExitCode::from(1);
        }
        serde_json::Value::Array(items) => (items.iter().collect::<Vec<_>>(), true),
        one => (vec![one], false),
    };
    let url = db.or_else(|| std::env::var("CUBEC_DB_URL").ok().filter(|u| !u.is_empty()));
    let mut database = match cubec::exec::Database::open(url.as_deref(), &dir) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let dialect = match dialects.get(database.dialect_name()) {
        Ok(d) => d,
        Err(d) => {
            report(&[d], &cubec::diag::SourceMap::default());
            return ExitCode::from(1);
        }
    };
    // Every query compiles before any runs: a bad one in a list costs no database time.
    let mut compiled = Vec::with_capacity(queries.len());
    for (i, q) in queries.iter().enumerate() {
        match cubec::compile(&checked.model, q, &dialect, opts, cubec::sql::RenderOptions { inline }) {
            Ok(c) => compiled.push(c),
            Err(diags) => {
                if many {
                    eprintln!("query {i}:");
                }
                report(&diags, &checked.sources);
                return ExitCode::from(1);
            }
        }
    }
    let mut bodies = Vec::with_capacity(compiled.len());
    for (i, (q, c)) in queries.iter().zip(&compiled).enumerate() {
        if explain {
            println!("{};\n-- params: {}\n", c.sql, serde_json::to_string(&c.params).unwrap_or_default());
        }
        let spinner = Spinner::start(std::io::stderr().is_terminal());
        let outcome = database.run(c);
        drop(spinner);
        let result = match outcome {
            Ok(r) => r,
            Err(e) => {
                let which = if many { format!(" (query {i})") } else { String::new() };
                eprintln!("error: the query failed on {}{which}: {e}", database.dialect_name());
                return ExitCode::from(1);
            }
        };
        let rows = cubec::exec::shape::cube_rows(&result, c);
        match format {
            RowsFormat::Json => bodies.push(serde_json::json!({
                "query": q,
                "data": rows,
                "annotation": cubec::exec::shape::annotation(&checked.model, c),
            })),
            RowsFormat::Csv => print!("{}", cubec::exec::shape::to_csv(&rows)),
            RowsFormat::Table => print!("{}", cubec::exec::shape::to_table(&rows)),
        }
    }
    if format == RowsFormat::Json {
        let out = if many { serde_json::Value::Array(bodies) } else { bodies.pop().unwrap_or_default() };
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    ExitCode::SUCCESS
}

#[cfg(feature = "engine")]
fn load_data(model: Option<PathBuf>, db: Option<String>) -> ExitCode {
    let Some(url) = db.or_else(|| std::env::var("CUBEC_DB_URL").ok().filter(|u| !u.is_empty())) else {
        eprintln!("error: load-data needs --db postgres://... (or duckdb:PATH, or $CUBEC_DB_URL)");
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

fn serve(config: cubec::server::ServeConfig, host: &str, port: u16) -> ExitCode {
    let state = match cubec::server::AppState::open(&config) {
        Ok(s) => std::sync::Arc::new(s),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
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
        if config.dev {
            eprintln!("WARNING: --dev: no authentication; anyone who can reach {addr} can query the data");
        }
        eprintln!(
            "cubec serve: {} cubes and views from `{}` on {}; listening on http://{addr}/cubejs-api/v1",
            state.models.current().checked.model.cubes.len(),
            config.model_dir.display(),
            state.pool.dialect_name(),
        );
        match cubec::server::run(state, listener, config.watch).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: the server stopped: {e}");
                ExitCode::from(1)
            }
        }
    })
}

/// A spinner on stderr while a query runs, shown only on a terminal and only after a moment.
struct Spinner {
    done: Option<std::sync::mpsc::Sender<()>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    fn start(enabled: bool) -> Spinner {
        if !enabled {
            return Spinner { done: None, handle: None };
        }
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            let frames = ['|', '/', '-', '\\'];
            let started = std::time::Instant::now();
            let mut shown = false;
            for i in 0.. {
                if rx.recv_timeout(std::time::Duration::from_millis(120)).is_ok()
                    || matches!(rx.try_recv(), Err(std::sync::mpsc::TryRecvError::Disconnected))
                {
                    break;
                }
                if started.elapsed() > std::time::Duration::from_millis(500) {
                    eprint!("\r{} running query ({:.0}s)", frames[i % frames.len()], started.elapsed().as_secs_f64());
                    shown = true;
                }
            }
            if shown {
                eprint!("\r\x1b[2K");
            }
        });
        Spinner { done: Some(tx), handle: Some(handle) }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(tx) = self.done.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
