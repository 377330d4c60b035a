//! `cubec serve` and `cubec load-data`.

#[cfg(feature = "engine")]
use std::path::PathBuf;
use std::process::ExitCode;

#[cfg(feature = "engine")]
pub(crate) fn load_data(model: Option<PathBuf>, db: Option<String>) -> ExitCode {
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

pub(crate) fn serve(config: cubec::server::ServeConfig, host: &str, port: u16) -> ExitCode {
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
            eprintln!(
                "WARNING: --dev: no authentication, no access policies, no `public` checks; anyone who can reach \
                 {addr} can query all the data"
            );
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
