//! The `cubec` command line: argument parsing and output only; the work is in the library.

mod cli;

use clap::{CommandFactory, Parser, Subcommand};
use cli::check::{deep_validate, model_diff, run_tests, validate, write_docs};
use cli::common::query_options;
use cli::compile::{run_query, sql};
#[cfg(feature = "engine")]
use cli::serve::load_data;
use cli::serve::serve;
use cubec::diag::render::DiagFormat;
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
        /// The security context (JSON object) for SECURITY_CONTEXT in model SQL and for access
        /// policies, as a JWT payload gives it under `cubec serve`.
        #[arg(long)]
        security_context: Option<String>,
        /// Where the caller's groups are in the security context (a dotted path).
        #[arg(long, default_value = "groups", env = "CUBEC_CONTEXT_TO_GROUPS")]
        context_to_groups: String,
        /// List each pre-aggregation that does not answer the query, with the first reason.
        #[arg(long)]
        explain: bool,
        /// A source database whose built rollups (`external: false`) the SQL may read; it is
        /// only asked for its manifest.
        #[arg(long)]
        db: Option<String>,
        #[command(flatten)]
        rollups: cli::rollups::RollupFlags,
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
        /// postgres://user@host:5432/db, snowflake://USER@ACCOUNT/DB/SCHEMA,
        /// bigquery://PROJECT/DATASET or duckdb:PATH (default: $CUBEC_DB_URL, else the embedded
        /// DuckDB).
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
        /// The security context (JSON object) for SECURITY_CONTEXT in model SQL and for access
        /// policies.
        #[arg(long)]
        security_context: Option<String>,
        /// Where the caller's groups are in the security context (a dotted path).
        #[arg(long, default_value = "groups", env = "CUBEC_CONTEXT_TO_GROUPS")]
        context_to_groups: String,
        #[command(flatten)]
        rollups: cli::rollups::RollupFlags,
    },
    /// Run the metric unit tests under <model>/tests/: fixture rows, queries, expected rows.
    Test {
        /// Model directory (default: ./metrics, else ./model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// postgres://..., mysql://..., snowflake://... or bigquery://... runs the tests there,
        /// with fixtures in temporary tables (BigQuery: a scratch dataset) that never touch real ones
        /// (default: $CUBEC_DB_URL, else a fresh embedded DuckDB per test).
        #[arg(long)]
        db: Option<String>,
        /// Only tests whose name or file contains this text.
        #[arg(long)]
        filter: Option<String>,
        /// Leave out tests whose name or file contains this text (repeatable), as `cargo test
        /// --skip`: a warehouse that cannot run a measure's SQL, say.
        #[arg(long, value_name = "TEXT")]
        skip: Vec<String>,
        /// `human`, `json` (one object per test) or `junit` (XML for CI).
        #[arg(long, value_enum, default_value = "human")]
        format: TestFormat,
        /// The security context (JSON object) every test runs as, unless the test gives its own
        /// `security_context`.
        #[arg(long)]
        security_context: Option<String>,
        /// Where the caller's groups are in the security context (a dotted path).
        #[arg(long, default_value = "groups", env = "CUBEC_CONTEXT_TO_GROUPS")]
        context_to_groups: String,
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
        /// postgres://user@host:5432/db, snowflake://USER@ACCOUNT/DB/SCHEMA,
        /// bigquery://PROJECT/DATASET or duckdb:PATH (default: $CUBEC_DB_URL).
        #[arg(long)]
        db: Option<String>,
    },
    /// Serve Cube's REST API (/cubejs-api/v1/load, sql, dry-run, meta) over HTTP, and the MCP
    /// tools at /mcp.
    Serve(Box<cli::serve::ServeArgs>),
    /// The metrics for AI agents: MCP tools (search, describe, values, query, compile,
    /// explain_empty) on stdin/stdout, as one caller.
    Mcp(Box<cli::mcp::McpArgs>),
    /// Pre-aggregations: list, plan, build, explain, gc.
    Preagg {
        #[command(subcommand)]
        command: cli::preagg::PreaggCommand,
    },
    /// Print a JSON Schema of the model file format (for the YAML language server).
    Schema,
    /// Convert Cube JavaScript model files (cube(...) / view(...) with plain objects) to YAML.
    ImportJs {
        /// A folder of .js model files (searched recursively), or one file.
        input: PathBuf,
        /// Output folder for the .yml files (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print what a `.yml.jinja` model file renders to.
    Render {
        /// The template file.
        file: PathBuf,
        /// The model directory whose macros/ folder the template may import (default: the
        /// file's folder).
        #[arg(long)]
        model: Option<PathBuf>,
    },
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
    /// Start a new project: a model folder with a cube, a view, demo data, a saved query, a
    /// metric unit test and a CI workflow. Never overwrites a file.
    Init {
        /// The project folder (created if missing).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Print a shell completion script: `cubec completions bash > ~/.local/share/bash-completion/completions/cubec`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `cubec man > ~/.local/share/man/man1/cubec.1`.
    Man,
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
pub(crate) enum DiffFormat {
    Human,
    Markdown,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TestFormat {
    Human,
    Json,
    Junit,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RowsFormat {
    Table,
    Json,
    Csv,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SqlFormat {
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
    // `.env` and Cube's variables become the environment clap reads, before any thread exists.
    let sources = match cli::config::load_environment() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
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
        Command::Sql {
            query,
            dialect,
            model,
            format,
            inline,
            dialects,
            security_context,
            context_to_groups,
            explain,
            db,
            rollups,
        } => match query_options(security_context.as_deref(), &context_to_groups) {
            Ok(opts) => {
                let output = cli::compile::SqlOutput { format, inline, explain };
                sql(&query, &dialect, model, output, dialects.as_deref(), &opts, db, &rollups)
            }
            Err(code) => code,
        },
        Command::Query {
            query,
            model,
            db,
            format,
            explain,
            inline,
            dialects,
            security_context,
            context_to_groups,
            rollups,
        } => match query_options(security_context.as_deref(), &context_to_groups) {
            Ok(opts) => run_query(&query, model, db, format, explain, inline, dialects.as_deref(), &opts, &rollups),
            Err(code) => code,
        },
        Command::Test { model, db, filter, skip, format, security_context, context_to_groups } => {
            match query_options(security_context.as_deref(), &context_to_groups) {
                Ok(opts) => run_tests(model, db, cubec::testing::Selection { only: filter, skip }, format, &opts),
                Err(code) => code,
            }
        }
        Command::Docs { model, out } => write_docs(model, &out),
        Command::Diff { base, head, model, format, fail_on_change, dialect } => {
            model_diff(&base, head.as_deref(), model, format, fail_on_change, dialect.as_deref())
        }
        Command::Render { file, model } => cli::check::render_template(&file, model),
        Command::ImportJs { input, out } => cli::check::import_js(&input, &out),
        Command::Init { dir } => cli::init::init(&dir),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "cubec", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man => {
            let mut out = Vec::new();
            if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut out) {
                eprintln!("error: cannot render the man page: {e}");
                return ExitCode::from(1);
            }
            std::io::Write::write_all(&mut std::io::stdout(), &out)
                .map(|_| ExitCode::SUCCESS)
                .unwrap_or(ExitCode::from(1))
        }
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&cubec::schema::model_schema()).unwrap_or_default());
            ExitCode::SUCCESS
        }
        #[cfg(feature = "engine")]
        Command::LoadData { model, db } => load_data(model, db),
        Command::Mcp(args) => cli::mcp::mcp(&args),
        Command::Serve(args) => match args.config() {
            Ok((config, host, port)) => {
                if args.print_config {
                    args.print(&config, &host, port, &sources);
                    ExitCode::SUCCESS
                } else {
                    #[cfg(feature = "engine")]
                    let sql_api = match args.sql_api() {
                        Ok(s) => s,
                        Err(e) => {
                            eprintln!("error: {e}");
                            return ExitCode::from(2);
                        }
                    };
                    #[cfg(not(feature = "engine"))]
                    let sql_api = None;
                    match args.mcp_config() {
                        Ok(mcp) => serve(config, &host, port, args.log_format(), sql_api, mcp),
                        Err(e) => {
                            eprintln!("error: {e}");
                            ExitCode::from(2)
                        }
                    }
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Preagg { command } => cli::preagg::preagg(command),
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
