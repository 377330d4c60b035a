//! The model the server answers with, and its hot reload.
//!
//! Requests take the current [`Snapshot`] (an `Arc`, so a reload never disturbs a request in
//! flight). A watcher polls the model files' names, sizes and modification times; when they
//! change it loads and checks the model again, and swaps it in only when it has no errors. A
//! broken edit is logged with its diagnostics and the last good model keeps serving (Cube, by
//! contrast, fails every query while one file is bad). Polling, not inotify: it behaves the
//! same on every filesystem, including mounted volumes in containers, and costs a `stat` per file.

use crate::diag::render;
use crate::Checked;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

/// One loaded, error-free model and what is derived from it once.
pub struct Snapshot {
    pub checked: Checked,
    /// The `/v1/meta` body, built once per model.
    pub meta: serde_json::Value,
    /// The pre-aggregation catalog, built on first use (it needs the server's dialects).
    pub catalog: std::sync::OnceLock<Option<Arc<crate::preagg::Catalog>>>,
}

/// What the watcher compares: each model file's path, size and modification time.
#[derive(PartialEq, Eq, Clone, Debug, Default)]
struct Fingerprint(Vec<(PathBuf, u64, Option<SystemTime>)>);

fn fingerprint(dir: &Path) -> Fingerprint {
    let files = crate::load::model_files(dir).unwrap_or_default();
    Fingerprint(
        files
            .into_iter()
            .map(|p| {
                let md = std::fs::metadata(&p).ok();
                let len = md.as_ref().map(|m| m.len()).unwrap_or(0);
                let modified = md.and_then(|m| m.modified().ok());
                (p, len, modified)
            })
            .collect(),
    )
}

/// Loads and checks the model; `Err` holds the rendered diagnostics.
pub fn load(dir: &Path) -> Result<Snapshot, String> {
    let checked = crate::check_model(dir);
    if checked.has_errors() {
        return Err(render::to_human(&checked.diagnostics, &checked.sources, false));
    }
    let meta = super::meta::meta(&checked.model, None);
    Ok(Snapshot { checked, meta, catalog: std::sync::OnceLock::new() })
}

/// The current model, shared by all requests.
pub struct Models {
    dir: PathBuf,
    current: RwLock<Arc<Snapshot>>,
    /// The files as last seen, loaded or not, so a broken edit is reported once.
    seen: Mutex<Fingerprint>,
}

impl Models {
    /// Loads the model (the first load must succeed: there is no last good model yet).
    pub fn load(dir: PathBuf) -> Result<Models, String> {
        let seen = fingerprint(&dir);
        let first = load(&dir)?;
        Ok(Models { dir, current: RwLock::new(Arc::new(first)), seen: Mutex::new(seen) })
    }

    pub fn current(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Reloads when the files changed since last seen. Returns what happened, for the log.
    pub fn reload_if_changed(&self) -> Option<Result<(), String>> {
        let now = fingerprint(&self.dir);
        {
            let mut seen = match self.seen.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            if *seen == now {
                return None;
            }
            *seen = now;
        }
        Some(load(&self.dir).map(|snapshot| {
            let mut g = match self.current.write() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            *g = Arc::new(snapshot);
        }))
    }

    /// Polls every `interval` until the process ends, logging reloads and refusals.
    pub async fn watch(self: Arc<Self>, interval: Duration, metrics: Arc<super::telemetry::Metrics>) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let models = Arc::clone(&self);
            match tokio::task::spawn_blocking(move || models.reload_if_changed()).await {
                Ok(None) => {}
                Ok(Some(Ok(()))) => {
                    metrics.reload("applied");
                    tracing::info!(model = %self.dir.display(), "model reloaded");
                }
                Ok(Some(Err(diags))) => {
                    metrics.reload("refused");
                    tracing::warn!(
                        model = %self.dir.display(),
                        diagnostics = diags.as_str(),
                        "the edited model has errors; still serving the last good model"
                    );
                }
                Err(e) => tracing::error!(error = %e, "the model watcher failed"),
            }
        }
    }
}
