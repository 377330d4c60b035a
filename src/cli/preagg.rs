//! `cubec preagg`: list rollups and their partitions, plan a build, build (for cron and CI),
//! explain which rollup a query reads or why none, and drop replaced tables.

use super::common::{load_model, query_options, read_query, report};
use cubec::exec::Database;
use cubec::preagg::refresh::{self, Outcome};
use cubec::preagg::store::{Connections, Stores};
use cubec::preagg::Catalog;
use std::path::PathBuf;
use std::process::ExitCode;

/// What every `cubec preagg` command is given.
#[derive(clap::Args)]
pub(crate) struct PreaggArgs {
    /// Model directory (default: ./metrics, else ./model).
    #[arg(long, env = "CUBEC_MODEL")]
    model: Option<PathBuf>,
    /// The source database (default: the embedded DuckDB with <model>/data/ loaded).
    #[arg(long, env = "CUBEC_DB_URL")]
    db: Option<String>,
    /// The folder of the embedded store (`external: true` rollups).
    #[arg(long, default_value = ".cubec/preaggregations", env = "CUBEC_PREAGG_DIR")]
    preagg_dir: PathBuf,
    /// The schema of rollup tables (Cube's CUBEJS_PRE_AGGREGATIONS_SCHEMA).
    #[arg(long, default_value = "prod_pre_aggregations", env = "CUBEJS_PRE_AGGREGATIONS_SCHEMA")]
    schema: String,
    /// Time zones to build for (repeatable, or comma-separated in Cube's variable).
    #[arg(long = "timezone", default_value = "UTC", env = "CUBEJS_SCHEDULED_REFRESH_TIMEZONES", value_delimiter = ',')]
    timezones: Vec<String>,
    /// Only the rollups of this cube.
    #[arg(long)]
    cube: Option<String>,
    /// Only the rollup of this name.
    #[arg(long)]
    name: Option<String>,
    /// The security context builds are made for (a JSON object; rollups over cubes whose SQL
    /// reads it are built per context).
    #[arg(long)]
    security_context: Option<String>,
    /// A folder of dialect files that add to or override the built-in ones.
    #[arg(long)]
    dialects: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
pub(crate) enum PreaggCommand {
    /// Every rollup, its partitions, rows, last build and staleness.
    List(PreaggArgs),
    /// The SQL and partitions a build would run; nothing is built.
    Plan(PreaggArgs),
    /// Builds the out-of-date partitions (all with --force), each checked before it serves.
    Build {
        #[command(flatten)]
        args: PreaggArgs,
        /// Rebuild every partition, up to date or not.
        #[arg(long)]
        force: bool,
    },
    /// Which rollup answers a query, or why none does.
    Explain {
        #[command(flatten)]
        args: PreaggArgs,
        /// The query: a JSON file, JSON text, or `-` for stdin.
        #[arg(long)]
        query: String,
    },
    /// Drops replaced tables (after --grace seconds) and the tables of rollups and structures
    /// the model no longer has.
    Gc {
        #[command(flatten)]
        args: PreaggArgs,
        #[arg(long, default_value_t = 60.0)]
        grace: f64,
    },
}

struct Setup {
    checked: cubec::Checked,
    catalog: Catalog,
    stores: Stores,
    source: Database,
    embedded: Option<Database>,
    context: serde_json::Value,
    args_timezones: Vec<String>,
    selected: Vec<usize>,
}

fn setup(args: &PreaggArgs, need_embedded: bool) -> Result<Setup, ExitCode> {
    let (dir, checked, dialects) = load_model(args.model.clone(), args.dialects.as_deref())?;
    let fail = |e: String| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    };
    let url = args.db.clone().filter(|u| !u.is_empty());
    let source = Database::open(url.as_deref(), &dir).map_err(|e| fail(e.0))?;
    let Some(catalog) = Catalog::new(&checked.model, &dialects, source.dialect_name()) else {
        println!("the model has no pre-aggregations");
        return Err(ExitCode::SUCCESS);
    };
    let stores = Stores::new(&catalog, &args.schema, &args.preagg_dir);
    let any_external = catalog.layouts.iter().enumerate().any(|(i, _)| catalog.definition(&checked.model, i).external);
    let embedded = if any_external && (need_embedded || stores.embedded_file.exists()) {
        Some(stores.open_embedded().map_err(|e| fail(e.0))?)
    } else {
        None
    };
    let context = query_options(args.security_context.as_deref(), "groups")?.security_context;
    let selected = (0..catalog.layouts.len())
        .filter(|&i| {
            let l = &catalog.layouts[i];
            let cube = &checked.model.cube(l.at.cube).name;
            let name = &catalog.definition(&checked.model, i).name;
            args.cube.as_ref().is_none_or(|c| c == cube) && args.name.as_ref().is_none_or(|n| n == name)
        })
        .collect::<Vec<_>>();
    if selected.is_empty() {
        return Err(fail("no pre-aggregation matches --cube/--name".into()));
    }
    for tz in &args.timezones {
        if tz.parse::<chrono_tz::Tz>().is_err() {
            return Err(fail(format!("unknown time zone `{tz}`")));
        }
    }
    Ok(Setup { checked, catalog, stores, source, embedded, context, args_timezones: args.timezones.clone(), selected })
}

pub(crate) fn preagg(command: PreaggCommand) -> ExitCode {
    match command {
        PreaggCommand::List(args) => list(&args, false),
        PreaggCommand::Plan(args) => list(&args, true),
        PreaggCommand::Build { args, force } => build(&args, force),
        PreaggCommand::Explain { args, query } => explain(&args, &query),
        PreaggCommand::Gc { args, grace } => gc(&args, grace),
    }
}

/// `list` and (`plan`) with each partition's build SQL.
fn list(args: &PreaggArgs, plan: bool) -> ExitCode {
    let mut s = match setup(args, false) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let model = &s.checked.model;
    for &i in &s.selected {
        let l = &s.catalog.layouts[i];
        let p = s.catalog.definition(model, i);
        let store = if p.external { "embedded store" } else { "source database" };
        println!("{} ({}, {store})", l.id, p.kind.name());
        if let Some(why) = &l.unsupported {
            println!("  not built: {why}");
            continue;
        }
        for tz in &s.args_timezones {
            let manifest = {
                let db = if p.external { s.embedded.as_mut() } else { Some(&mut s.source) };
                db.map(|d| s.stores.of(p.external).manifest(d).unwrap_or_default()).unwrap_or_default()
            };
            match refresh::state(&s.catalog, model, i, tz, &s.context, &manifest, &mut s.source) {
                Ok(st) => {
                    let built =
                        st.partitions.iter().filter(|x| x.entry.as_ref().is_some_and(|e| e.table.is_some())).count();
                    let stale = st.partitions.iter().filter(|x| x.stale.is_some()).count();
                    let rows: i64 = st.partitions.iter().filter_map(|x| x.entry.as_ref()).map(|e| e.rows).sum();
                    let last = st.partitions.iter().filter_map(|x| x.entry.as_ref()?.built_at).max();
                    println!(
                        "  {tz}: {built}/{} partitions built, {rows} rows, last build {}, {stale} out of date (structure {})",
                        st.partitions.len(),
                        last.map(|t| format!("{t} UTC")).unwrap_or_else(|| "never".into()),
                        st.structure
                    );
                    for ps in &st.partitions {
                        let range = ps
                            .partition
                            .range
                            .map(|(a, b)| {
                                format!(
                                    " {} .. {}",
                                    cubec::vocab::time::format_local(a),
                                    cubec::vocab::time::format_local(b)
                                )
                            })
                            .unwrap_or_default();
                        let table = ps.entry.as_ref().and_then(|e| e.table.clone()).unwrap_or_else(|| "-".into());
                        let state = ps.stale.clone().unwrap_or_else(|| "up to date".into());
                        println!("    {}{range}: {table} ({state})", ps.partition.key);
                        if plan && (ps.stale.is_some()) {
                            let json =
                                cubec::preagg::build::build_query(&s.catalog.building, l, tz, ps.partition.range);
                            match cubec::preagg::build::compile(
                                &s.catalog.building,
                                &json,
                                &s.catalog.source_dialect,
                                &s.context,
                                true,
                            ) {
                                Ok(c) => println!("      {};", c.sql.replace('\n', "\n      ")),
                                Err(d) => report(&d, &s.checked.sources),
                            }
                        }
                    }
                }
                Err(e) => println!("  {tz}: {e}", e = e.0),
            }
        }
    }
    ExitCode::SUCCESS
}

fn build(args: &PreaggArgs, force: bool) -> ExitCode {
    let mut s = match setup(args, true) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let model = &s.checked.model;
    let owner = format!("cli-{}", std::process::id());
    let mut failed = 0;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    // On a terminal above the spinner; elsewhere (CI logs, cron) plain lines.
    let say = |line: String| if bar.is_hidden() { println!("{line}") } else { bar.println(line) };
    for &i in &s.selected {
        let l = &s.catalog.layouts[i];
        let p = s.catalog.definition(model, i);
        if let Some(why) = &l.unsupported {
            say(format!("skip {}: {why}", l.id));
            continue;
        }
        if !p.external && s.source.dialect_name() == "duckdb" && args.db.is_none() {
            say(format!(
                "skip {}: `external: false` lives in the source database, and the embedded source only lasts while a \
                 process runs (use `cubec serve`, or --db)",
                l.id
            ));
            continue;
        }
        for tz in &s.args_timezones {
            bar.set_message(format!("{} ({tz})", l.id));
            let store = s.stores.of(p.external).clone();
            let mut conns =
                Connections { source: &mut s.source, embedded: if p.external { s.embedded.as_mut() } else { None } };
            let progress = |o: &Outcome| {
                let line = match &o.result {
                    Ok(Some(b)) => format!(
                        "built {} {} {}: {} rows in {} ms ({})",
                        o.rollup, o.timezone, o.partition, b.rows, b.millis, b.table
                    ),
                    Ok(None) => {
                        format!(
                            "skipped {} {} {}: another builder holds it or has just built it",
                            o.rollup, o.timezone, o.partition
                        )
                    }
                    Err(e) => format!("FAILED {} {} {}: {e}", o.rollup, o.timezone, o.partition),
                };
                say(line);
            };
            match refresh::refresh_rollup(
                &s.catalog, model, i, tz, &s.context, &store, &mut conns, &owner, force, &progress,
            ) {
                Ok(outcomes) => failed += outcomes.iter().filter(|o| o.result.is_err()).count(),
                Err(e) => {
                    say(format!("FAILED {} {tz}: {}", l.id, e.0));
                    failed += 1;
                }
            }
        }
    }
    bar.finish_and_clear();
    if failed > 0 {
        eprintln!("error: {failed} build(s) failed; the previous tables keep serving");
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn explain(args: &PreaggArgs, query: &str) -> ExitCode {
    let query = match read_query(query) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let mut s = match setup(args, false) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let available = cubec::preagg::available::Available::load(&s.stores, Some(&mut s.source), s.embedded.as_mut());
    let opts = cubec::query::QueryOptions { security_context: s.context.clone(), ..Default::default() };
    let rollups = cubec::Rollups { catalog: &s.catalog, available: &available };
    let dialect = s.catalog.source_dialect.clone();
    match cubec::compile_routed(
        &s.checked.model,
        &query,
        &dialect,
        &opts,
        cubec::sql::RenderOptions::default(),
        Some(&rollups),
    ) {
        Ok(c) => {
            match &c.used {
                Some(u) => println!("answered from {} ({})", u.id, u.tables.join(", ")),
                None => println!("answered from the source"),
            }
            for m in &c.misses {
                println!("  {}: {}", m.rollup, m.reason);
            }
            println!("\n{};", c.sql.sql);
            ExitCode::SUCCESS
        }
        Err(diags) => {
            report(&diags, &s.checked.sources);
            ExitCode::from(1)
        }
    }
}

fn gc(args: &PreaggArgs, grace: f64) -> ExitCode {
    let mut s = match setup(args, false) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let grace = std::time::Duration::from_secs_f64(grace.clamp(0.0, 86_400.0 * 365.0));
    // Live: the current structure of a rollup the model still has, for any zone or context
    // (a structure no current model compiles to is garbage).
    let catalog = &s.catalog;
    let live = |k: &cubec::preagg::store::EntryKey| {
        let Some(i) = catalog.find(&k.rollup) else { return false };
        let ctx = if k.context == "-" { serde_json::json!({}) } else { s.context.clone() };
        catalog.structure(i, &k.timezone, &ctx).is_ok_and(|st| st == k.structure)
            || k.context != catalog.context_key(i, &k.timezone, &ctx)
    };
    let mut dropped = Vec::new();
    let mut errors = 0;
    for (store, db) in [(&s.stores.source, Some(&mut s.source)), (&s.stores.embedded, s.embedded.as_mut())] {
        let Some(db) = db else { continue };
        match store.gc(db, grace, &live) {
            Ok(d) => dropped.extend(d),
            Err(e) if e.0.contains(cubec::preagg::store::MANIFEST) || e.0.contains("does not exist") => {}
            Err(e) => {
                eprintln!("error: {}", e.0);
                errors += 1;
            }
        }
    }
    for t in &dropped {
        println!("dropped {t}");
    }
    println!("{} table(s) dropped", dropped.len());
    if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
