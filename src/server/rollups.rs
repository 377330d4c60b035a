//! Pre-aggregations in `cubec serve`: the stores, what they hold (read again every few seconds,
//! so one replica serves what another built), and the refresh worker.
//!
//! An API-only replica and a refresh replica run from the same configuration; only the second
//! is started with the worker (`--refresh-worker`, or Cube's `CUBEJS_REFRESH_WORKER=true`).
//! Builds take a connection of the server's pool each (`--refresh-concurrency` at once), and
//! leases in the manifest keep two workers from building one partition.

use super::reload::Snapshot;
use super::AppState;
use crate::cache::pool::Pool;
use crate::preagg::available::Available;
use crate::preagg::refresh;
use crate::preagg::store::{Connections, Stores};
use crate::preagg::Catalog;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How the server handles pre-aggregations.
#[derive(Debug, Clone)]
pub struct RollupConfig {
    /// The embedded store's folder.
    pub dir: PathBuf,
    pub schema: String,
    /// Run the refresh worker.
    pub worker: bool,
    /// Time zones the worker builds for.
    pub timezones: Vec<String>,
    /// Rollups built at once.
    pub concurrency: usize,
    /// How often the worker looks for stale partitions.
    pub interval: Duration,
    /// Answer only from rollups (Cube's `CUBEJS_ROLLUP_ONLY`).
    pub rollup_only: bool,
}

impl Default for RollupConfig {
    fn default() -> Self {
        RollupConfig {
            dir: PathBuf::from(".cubec/preaggregations"),
            schema: crate::preagg::default_schema(false).to_string(),
            worker: false,
            timezones: vec!["UTC".to_string()],
            concurrency: 1,
            interval: Duration::from_secs(30),
            rollup_only: false,
        }
    }
}

/// The running state: the embedded store's pool (opened when the model has `external: true`
/// rollups) and what the stores hold.
pub struct Rollups {
    pub config: RollupConfig,
    pub embedded: Option<Arc<Pool>>,
    available: RwLock<Arc<Available>>,
    owner: String,
    /// Builds asked for through Cube's Orchestration API.
    pub jobs: super::jobs::Jobs,
}

impl Rollups {
    pub fn new(config: RollupConfig, embedded: Option<Arc<Pool>>, instance: u32) -> Rollups {
        Rollups {
            config,
            embedded,
            available: RwLock::new(Arc::new(Available::default())),
            owner: format!("serve-{instance:08x}"),
            jobs: super::jobs::Jobs::default(),
        }
    }

    pub fn available(&self) -> Arc<Available> {
        Arc::clone(&self.available.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The lease owner of builds the Orchestration API asks for: not the worker's, so that the
    /// two never build one partition at once in one process.
    pub fn job_owner(&self) -> String {
        format!("{}-jobs", self.owner)
    }

    fn set_available(&self, a: Available) {
        *self.available.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(a);
    }
}

impl AppState {
    /// The snapshot's pre-aggregation catalog (built once per model), when it has any.
    pub fn catalog(&self, snapshot: &Snapshot) -> Option<Arc<Catalog>> {
        snapshot
            .catalog
            .get_or_init(|| {
                Catalog::new(&snapshot.checked.model, &self.dialects, self.pool.dialect_name()).map(Arc::new)
            })
            .clone()
    }

    pub fn stores(&self, catalog: &Catalog) -> Stores {
        Stores::new(catalog, &self.rollups.config.schema, &self.rollups.config.dir)
    }

    /// Reads both manifests again (on a blocking thread).
    pub async fn reload_available(self: &Arc<Self>) {
        let snapshot = self.models.current();
        let Some(catalog) = self.catalog(&snapshot) else { return };
        let stores = self.stores(&catalog);
        let this = Arc::clone(self);
        let loaded = tokio::task::spawn_blocking(move || {
            let mut out = Available::default();
            let _ = this.pool.with_connection(|source| out = Available::load(&stores, Some(source), None));
            if let Some(embedded) = &this.rollups.embedded {
                let _ = embedded.with_connection(|db| {
                    let e = Available::load(&stores, None, Some(db));
                    out.merge(e);
                });
            }
            out
        })
        .await;
        if let Ok(a) = loaded {
            self.rollups.set_available(a);
        }
    }

    /// Rebuilds the stale partitions of every scheduled rollup, for every configured time zone.
    pub async fn refresh_once(self: &Arc<Self>) {
        let snapshot = self.models.current();
        let Some(catalog) = self.catalog(&snapshot) else { return };
        let semaphore = Arc::new(tokio::sync::Semaphore::new(self.rollups.config.concurrency.max(1)));
        let mut tasks = Vec::new();
        for i in 0..catalog.layouts.len() {
            let p = catalog.definition(&snapshot.checked.model, i);
            if !p.scheduled_refresh || catalog.layouts[i].unsupported.is_some() {
                continue;
            }
            for tz in self.rollups.config.timezones.clone() {
                let (this, snapshot, catalog, semaphore) =
                    (Arc::clone(self), Arc::clone(&snapshot), Arc::clone(&catalog), Arc::clone(&semaphore));
                tasks.push(tokio::spawn(async move {
                    let Ok(_permit) = semaphore.acquire_owned().await else { return };
                    let _ = tokio::task::spawn_blocking(move || this.refresh_rollup(&snapshot, &catalog, i, &tz)).await;
                }));
            }
        }
        for t in tasks {
            let _ = t.await;
        }
        let this = Arc::clone(self);
        let _ = tokio::task::spawn_blocking(move || this.drop_replaced(&snapshot, &catalog)).await;
        self.reload_available().await;
    }

    /// Drops the tables newer builds replaced, once no query can still be reading them (the
    /// query timeout, and at least ten minutes). Tables of other structures are left alone:
    /// during a rolling deploy another replica's model may still read them (`cubec preagg gc`
    /// drops those, when asked).
    fn drop_replaced(&self, snapshot: &Snapshot, catalog: &Catalog) {
        let grace = self.limits.query_timeout.max(Duration::from_secs(600));
        let stores = self.stores(catalog);
        let keep_all = |_: &crate::preagg::store::EntryKey| true;
        let report = |store: &str, r: Result<Vec<String>, crate::exec::ExecError>| match r {
            Ok(dropped) if !dropped.is_empty() => {
                tracing::info!(store, tables = dropped.len(), "replaced pre-aggregation tables dropped")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(store, error = e.0.as_str(), "dropping replaced pre-aggregation tables failed"),
        };
        let model = &snapshot.checked.model;
        let in_store =
            |external: bool| (0..catalog.layouts.len()).any(|i| catalog.definition(model, i).external == external);
        if in_store(false) {
            if let Ok(r) = self.pool.with_connection(|db| stores.source.gc(db, grace, &keep_all)) {
                report("source", r);
            }
        }
        if let (Some(embedded), true) = (&self.rollups.embedded, in_store(true)) {
            if let Ok(r) = embedded.with_connection(|db| stores.embedded.gc(db, grace, &keep_all)) {
                report("embedded", r);
            }
        }
    }

    /// One rollup, one time zone: a source connection (and the embedded store's) from the pools.
    fn refresh_rollup(&self, snapshot: &Snapshot, catalog: &Catalog, layout: usize, tz: &str) {
        let model = &snapshot.checked.model;
        let external = catalog.definition(model, layout).external;
        let store = self.stores(catalog).of(external).clone();
        let id = &catalog.layouts[layout].id;
        let context = serde_json::json!({});
        let result = self.with_build_connections(external, |conns| {
            refresh::refresh_rollup(
                catalog,
                model,
                layout,
                tz,
                &context,
                &store,
                conns,
                &self.rollups.owner,
                false,
                &refresh::log_outcome,
            )
        });
        if let Err(e) = result {
            tracing::warn!(rollup = id.as_str(), timezone = tz, error = e.0.as_str(), "pre-aggregation refresh failed");
        }
    }

    /// Runs `f` with what a build of a rollup in the store `external` names needs: a source
    /// connection, and the embedded store's when the rollup lives there (blocking).
    pub fn with_build_connections<T>(
        &self,
        external: bool,
        f: impl FnOnce(&mut Connections) -> Result<T, crate::exec::ExecError>,
    ) -> Result<T, crate::exec::ExecError> {
        let no_connection = |e: crate::cache::pool::RunError| {
            crate::exec::ExecError(format!("no connection for the pre-aggregation build: {e:?}"))
        };
        self.pool
            .with_connection(|source| match (&self.rollups.embedded, external) {
                (Some(embedded), true) => embedded
                    .with_connection(|e| f(&mut Connections { source, embedded: Some(e) }))
                    .map_err(no_connection)
                    .and_then(|r| r),
                (None, true) => Err(crate::exec::ExecError("no embedded store is open".into())),
                (_, false) => f(&mut Connections { source, embedded: None }),
            })
            .map_err(no_connection)
            .and_then(|r| r)
    }

    /// Keeps `available` current and, with the worker on, the rollups fresh: until the process
    /// ends.
    pub async fn run_rollups(self: Arc<Self>) {
        let mut last_refresh: Option<tokio::time::Instant> = None;
        loop {
            let due = last_refresh.is_none_or(|t| t.elapsed() >= self.rollups.config.interval);
            if self.rollups.config.worker && due {
                self.refresh_once().await;
                last_refresh = Some(tokio::time::Instant::now());
            } else {
                self.reload_available().await;
            }
            tokio::time::sleep(self.rollups.config.interval.min(Duration::from_secs(5))).await;
        }
    }
}
