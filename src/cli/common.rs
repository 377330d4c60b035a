//! Helpers every command shares: loading the model and dialects, reading `--query`, reporting
//! diagnostics, and the spinner shown while a query runs.

use cubec::diag::render;
use std::path::PathBuf;
use std::process::ExitCode;

/// The model checked (errors reported) and the dialects, for commands that need both.
pub(crate) fn load_model(
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

/// Prints diagnostics that have no useful source position (query, dialect errors).
pub(crate) fn report(diags: &[cubec::diag::Diagnostic], sources: &cubec::diag::SourceMap) {
    eprint!("{}", render::to_human_styled(diags, sources, render::HumanStyle::for_stderr()));
}

/// Reads `--query`: a path, `-` for stdin, or the JSON itself.
pub(crate) fn read_query(arg: &str) -> Result<serde_json::Value, String> {
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

/// Query options from the command line: `--security-context` must be a JSON object; groups
/// for access policies are read from its `groups_claim` (dotted path).
pub(crate) fn query_options(
    security_context: Option<&str>,
    groups_claim: &str,
) -> Result<cubec::query::QueryOptions, ExitCode> {
    let mut opts = cubec::query::QueryOptions::default();
    opts.access.groups_claim = groups_claim.to_string();
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

/// What `sql` and `query` both need: the query JSON, the checked model and the dialects.
/// Problems are reported here; the caller only returns the exit code.
pub(crate) fn prepare(
    query: &str,
    model: Option<PathBuf>,
    dialects: Option<&std::path::Path>,
) -> Result<Prepared, ExitCode> {
    let query = read_query(query).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })?;
    let (dir, checked, dialects) = load_model(model, dialects)?;
    Ok(Prepared { query, dialects, dir, checked })
}

pub(crate) struct Prepared {
    pub query: serde_json::Value,
    pub dialects: cubec::sql::Dialects,
    pub dir: PathBuf,
    pub checked: cubec::Checked,
}

/// A spinner on stderr while a query runs (indicatif: drawn only on a terminal). It appears
/// after half a second, so a fast query does not flicker, and is cleared when dropped.
pub(crate) struct Spinner {
    bar: indicatif::ProgressBar,
    done: Option<std::sync::mpsc::Sender<()>>,
    delay: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    pub(crate) fn start() -> Spinner {
        let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::hidden());
        let style = indicatif::ProgressStyle::with_template("{spinner} running query ({elapsed})");
        bar.set_style(style.unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let shown = bar.clone();
        let delay = std::thread::spawn(move || {
            if rx.recv_timeout(std::time::Duration::from_millis(500)) == Err(std::sync::mpsc::RecvTimeoutError::Timeout)
            {
                shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                shown.enable_steady_tick(std::time::Duration::from_millis(120));
            }
        });
        Spinner { bar, done: Some(tx), delay: Some(delay) }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(tx) = self.done.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.delay.take() {
            let _ = h.join();
        }
        self.bar.finish_and_clear();
    }
}

/// The dialects `--dialect` names (comma-separated; all of them when `None`). An unknown name
/// is reported and gives exit 2, as does a list that names none.
pub(crate) fn choose_dialects(
    dialects: &cubec::sql::Dialects,
    names: Option<&str>,
) -> Result<Vec<std::sync::Arc<cubec::sql::Dialect>>, ExitCode> {
    let names: Vec<String> = match names {
        Some(list) => list.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect(),
        None => dialects.names().iter().map(|n| n.to_string()).collect(),
    };
    let mut chosen = Vec::new();
    for n in &names {
        match dialects.get(n) {
            Ok(d) => chosen.push(d),
            Err(d) => {
                report(&[d], &cubec::diag::SourceMap::default());
                return Err(ExitCode::from(2));
            }
        }
    }
    if chosen.is_empty() {
        eprintln!("error: --dialect names no dialect; choose from {}", dialects.names().join(", "));
        return Err(ExitCode::from(2));
    }
    Ok(chosen)
}

/// A query or a list of them (`true` when a list); an empty list is an error (exit 1).
/// The queries of `--query`: a list, or one query; a `compareDateRange` query becomes one query
/// per range (marked `true`, so its rows can carry their range). The flag says whether the
/// answer is a list.
pub(crate) fn query_list(query: &serde_json::Value) -> Result<(Vec<(serde_json::Value, bool)>, bool), ExitCode> {
    let items: Vec<&serde_json::Value> = match query {
        serde_json::Value::Array(items) if items.is_empty() => {
            eprintln!("error: the query is an empty list; give a query object or a list of them");
            return Err(ExitCode::from(1));
        }
        serde_json::Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    let mut many = query.is_array();
    let mut out = Vec::with_capacity(items.len());
    for q in items {
        match cubec::query::compare::split(q) {
            Ok(Some(parts)) => {
                many = true;
                out.extend(parts.into_iter().map(|p| (p, true)));
            }
            Ok(None) => out.push((q.clone(), false)),
            Err(d) => {
                report(&[d], &cubec::diag::SourceMap::default());
                return Err(ExitCode::from(1));
            }
        }
    }
    Ok((out, many))
}

/// The server state and an async runtime for it; on failure the message is printed.
pub(crate) fn open_state(
    config: &cubec::server::ServeConfig,
) -> Result<(std::sync::Arc<cubec::server::AppState>, tokio::runtime::Runtime), std::process::ExitCode> {
    let state = cubec::server::AppState::open(config).map_err(|e| {
        eprintln!("error: {e}");
        std::process::ExitCode::from(1)
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| {
        eprintln!("error: cannot start the async runtime: {e}");
        std::process::ExitCode::from(1)
    })?;
    let state = std::sync::Arc::new(state);
    // `/v1/sql` with `format: "sql"` plans statements as the SQL API runs them.
    #[cfg(feature = "engine")]
    let _ = state.sql_planner.set(std::sync::Arc::new(cubec::sqlapi::sql4sql::Planner));
    Ok((state, runtime))
}
