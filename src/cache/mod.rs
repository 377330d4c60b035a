//! The query cache and queue, between the compiled query and the engine (Cube's query
//! orchestrator, its first caching level).
//!
//! Input: a [`CompiledSql`] with its refresh keys, a [`CacheMode`] and how long the caller
//! waits. Output: the rows (from the cache or the database) with when they were fetched, or
//! "continue wait" while the query keeps running, or the database's error.
//!
//! - [`keys`] evaluates the refresh keys of every cube the query reads: `every` from the clock,
//!   `sql` on the source (at most once per its renewal interval, shared by concurrent requests).
//! - [`results`] keeps results keyed by the statement (SQL, parameters, count query), each with
//!   the key values it was fetched under; bounded in bytes, least recently used out first.
//!   Access policies and the security context are in the SQL and its parameters, so a caller is
//!   only ever served a result of the very statement its own request compiled to.
//! - The queue: identical statements in flight run once and every waiter gets the rows; the
//!   [`pool`] bounds how many run at once and cancels one past the query timeout. A query
//!   outlives the request that started it, so a caller told "continue wait" picks the rows up
//!   when it asks again. Failed or cancelled queries are never cached.
//!
//! Every surface that runs queries comes through here: `/v1/load`, the SQL API and, later,
//! pre-aggregation builds, which reuse [`keys`].

pub mod keys;
pub mod metrics;
pub mod pool;
pub mod results;

use crate::sql::CompiledSql;
use metrics::CacheMetrics;
use pool::{Pool, RunError};
use results::{Fetched, Results};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A statement's identity: SHA-256 of its SQL, parameters and count query.
pub type Identity = [u8; 32];

/// Results older than this are fetched again even when no refresh key moved (Cube: 6 hours).
const MAX_AGE: Duration = Duration::from_secs(6 * 3600);

/// How long a finished query that some request was told "continue wait" about, and that is not
/// in the result cache (it failed, the cache is off, or it is too large to keep), stays
/// joinable by the request that started it, so that request, polling again, still gets its
/// rows or its error. Cube's JavaScript client asks again at once, with the same request id.
const FINISHED_GRACE: Duration = Duration::from_secs(10);

/// How a request uses the cache (Cube's `cache` request parameter; `renewQuery: true` is
/// [`CacheMode::NoCache`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CacheMode {
    /// A fresh cached result, else the query; when it outlives the wait, a stale result if
    /// there is one (`slowQuery: true`), else "continue wait".
    #[default]
    StaleIfSlow,
    /// Any cached result at once, refreshed in the background when stale.
    StaleWhileRevalidate,
    /// Refresh keys checked now (`sql` keys run again); only a result they still match.
    MustRevalidate,
    /// Always the database (the result is still cached for others).
    NoCache,
}

impl CacheMode {
    pub fn parse(s: &str) -> Option<CacheMode> {
        Some(match s {
            "stale-if-slow" => CacheMode::StaleIfSlow,
            "stale-while-revalidate" => CacheMode::StaleWhileRevalidate,
            "must-revalidate" => CacheMode::MustRevalidate,
            "no-cache" => CacheMode::NoCache,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug)]
pub struct CacheConfig {
    /// Result cache bound in bytes; 0 turns the result cache off (the queue stays).
    pub max_bytes: usize,
    /// How long a query may run (waiting for a connection included) before it is cancelled.
    pub query_timeout: Duration,
}

/// Where an answer's rows came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    /// A cached result its refresh keys still match.
    Hit,
    /// A cached result whose keys moved: `stale-while-revalidate`, or `stale-if-slow` after
    /// the wait.
    Stale,
    /// The database, now (possibly joining an identical query already running).
    Miss,
}

impl Served {
    pub fn as_str(self) -> &'static str {
        match self {
            Served::Hit => "hit",
            Served::Stale => "stale",
            Served::Miss => "miss",
        }
    }
}

pub struct Answer {
    pub fetched: Arc<Fetched>,
    pub served: Served,
    /// The refresh-key values now (Cube's `refreshKeyValues`: one row list per key).
    pub key_values: Vec<Value>,
}

impl Answer {
    /// A stale result served because the fresh one outlived the wait (Cube's `slowQuery`).
    pub fn slow(&self) -> bool {
        self.served == Served::Stale
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum LoadError {
    /// The query is still running: ask again (Cube's `{"error": "Continue wait"}`).
    ContinueWait,
    Run(RunError),
}

type Outcome = Result<Arc<Fetched>, RunError>;

struct Flight {
    done: watch::Receiver<Option<Outcome>>,
    finished: Option<Instant>,
    /// The request that started it: Cube's clients repeat their request id (`<id>-span-<n>`)
    /// when they ask again after "continue wait"; only they get a finished flight's outcome.
    requester: Option<String>,
    /// Some request was answered "continue wait" about it, so its outcome must outlive it.
    awaited: bool,
}

pub struct QueryCache {
    pool: Arc<Pool>,
    /// The embedded store of `external: true` pre-aggregations, for statements that run there.
    embedded: Option<Arc<Pool>>,
    config: CacheConfig,
    results: Mutex<Results>,
    flights: Mutex<HashMap<Identity, Flight>>,
    key_values: Mutex<keys::KeyMemo>,
    metrics: Arc<CacheMetrics>,
}

impl QueryCache {
    pub fn new(
        pool: Arc<Pool>,
        embedded: Option<Arc<Pool>>,
        config: CacheConfig,
        metrics: Arc<CacheMetrics>,
    ) -> Arc<QueryCache> {
        Arc::new(QueryCache {
            pool,
            embedded,
            config,
            results: Mutex::new(Results::new(config.max_bytes)),
            flights: Mutex::new(HashMap::new()),
            key_values: Mutex::new(keys::KeyMemo::default()),
            metrics,
        })
    }

    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }

    pub fn config(&self) -> CacheConfig {
        self.config
    }

    /// The rows of `compiled`. `wait`: how long to wait for a query that has to run before
    /// answering [`LoadError::ContinueWait`] (it keeps running); `None` waits until it is done.
    /// `request`: the caller's request id, by which a client asking again after "continue
    /// wait" is recognised (the part before `-span-`, as Cube reads it).
    pub async fn load(
        self: &Arc<Self>,
        compiled: Arc<CompiledSql>,
        mode: CacheMode,
        wait: Option<Duration>,
        request: Option<&str>,
    ) -> Result<Answer, LoadError> {
        let requester = request.map(|r| r.split("-span-").next().unwrap_or(r).to_string());
        let id = identity(&compiled);
        let force_keys = matches!(mode, CacheMode::MustRevalidate | CacheMode::NoCache);
        let key_values = keys::evaluate(self, &compiled.refresh_keys, force_keys).await;
        let cached = if self.config.max_bytes > 0 { lock(&self.results).get(&id) } else { None };
        if let Some(c) = &cached {
            let fresh = c.key_values == key_values && c.at_instant.elapsed() < MAX_AGE;
            let answer = |served| Answer { fetched: Arc::clone(c), served, key_values: key_values.clone() };
            if fresh && mode != CacheMode::NoCache {
                self.metrics.hit("fresh");
                return Ok(answer(Served::Hit));
            }
            if mode == CacheMode::StaleWhileRevalidate {
                self.metrics.hit("stale");
                self.flight(&compiled, id, key_values.clone(), true, None);
                return Ok(answer(Served::Stale));
            }
        }
        self.metrics.misses.inc();
        let fresh_run = mode == CacheMode::NoCache;
        let (flight_id, done) = self.flight(&compiled, id, key_values.clone(), !fresh_run, requester);
        match wait_for(done, wait).await {
            Some(Ok(fetched)) => Ok(Answer { fetched, served: Served::Miss, key_values }),
            Some(Err(e)) => Err(LoadError::Run(e)),
            None => match cached.filter(|_| mode == CacheMode::StaleIfSlow) {
                Some(stale) => {
                    self.metrics.hit("stale");
                    Ok(Answer { fetched: stale, served: Served::Stale, key_values })
                }
                None => {
                    if let Some(f) = lock(&self.flights).get_mut(&flight_id) {
                        f.awaited = true;
                    }
                    self.metrics.continue_wait.inc();
                    Err(LoadError::ContinueWait)
                }
            },
        }
    }

    /// Runs `compiled` once for everyone who asks: joins the same statement in flight (`join`),
    /// else starts one that outlives this request. Its result goes into the cache, under the
    /// key values it started with, when it succeeds; a failure drops the cached result, as Cube
    /// does.
    fn flight(
        self: &Arc<Self>,
        compiled: &Arc<CompiledSql>,
        id: Identity,
        key_values: Vec<Value>,
        join: bool,
        requester: Option<String>,
    ) -> (Identity, watch::Receiver<Option<Outcome>>) {
        self.start(compiled, id, key_values, join, true, requester)
    }

    /// [`Self::flight`]; `store: false` for refresh-key queries, which are neither cached here
    /// nor kept once finished (the key memo holds their values).
    fn start(
        self: &Arc<Self>,
        compiled: &Arc<CompiledSql>,
        id: Identity,
        key_values: Vec<Value>,
        join: bool,
        store: bool,
        requester: Option<String>,
    ) -> (Identity, watch::Receiver<Option<Outcome>>) {
        let flight_id = flight_identity(&id, join);
        let mut flights = lock(&self.flights);
        flights.retain(|_, f| {
            // Finished long enough ago, or its task died without an answer.
            let expired = f.finished.is_some_and(|t| t.elapsed() > FINISHED_GRACE);
            let orphaned = f.done.has_changed().is_err() && f.done.borrow().is_none();
            !(expired || orphaned)
        });
        match flights.get(&flight_id) {
            Some(f) if f.finished.is_none() => {
                self.metrics.joined.inc();
                return (flight_id, f.done.clone());
            }
            // A finished query's outcome is only for the request that started it, asking again.
            Some(f) if requester.is_some() && f.requester == requester => return (flight_id, f.done.clone()),
            _ => {}
        }
        let (tx, rx) = watch::channel(None);
        flights.insert(flight_id, Flight { done: rx.clone(), finished: None, requester, awaited: false });
        drop(flights);
        self.metrics.in_flight.inc();
        let (this, compiled) = (Arc::clone(self), Arc::clone(compiled));
        tokio::spawn(async move {
            let started = Instant::now();
            let pool = match (compiled.runs_on, &this.embedded) {
                (crate::sql::RunsOn::Embedded, Some(e)) => Arc::clone(e),
                _ => Arc::clone(&this.pool),
            };
            let ran = pool.run(compiled, this.config.query_timeout).await;
            let outcome: Outcome = ran.map(|(rows, total)| Arc::new(Fetched::new(rows, total, key_values)));
            this.metrics.queue_seconds.0.observe(started.elapsed().as_secs_f64());
            let mut cached = false;
            if store && this.config.max_bytes > 0 {
                let mut results = lock(&this.results);
                match &outcome {
                    Ok(f) => {
                        let inserted = results.insert(id, Arc::clone(f));
                        this.metrics.evictions.inc_by(inserted.evicted as u64);
                        cached = inserted.kept;
                    }
                    Err(_) => results.remove(&id),
                }
                this.metrics.cache_bytes.set(results.bytes() as i64);
                this.metrics.cache_entries.set(results.len() as i64);
            }
            {
                // A cached result is found in the cache from now on; only what the cache does
                // not hold stays joinable for a while (waiters already here keep their copy).
                let mut flights = lock(&this.flights);
                let keep = !cached && store && flights.get(&flight_id).is_some_and(|f| f.awaited);
                if keep {
                    if let Some(f) = flights.get_mut(&flight_id) {
                        f.finished = Some(Instant::now());
                    }
                } else {
                    flights.remove(&flight_id);
                }
            }
            this.metrics.in_flight.dec();
            let _ = tx.send(Some(outcome));
        });
        (flight_id, rx)
    }
}

/// The outcome of a flight, or `None` when `limit` passed first.
async fn wait_for(mut done: watch::Receiver<Option<Outcome>>, limit: Option<Duration>) -> Option<Outcome> {
    let finished = async move {
        match done.wait_for(Option::is_some).await {
            Ok(v) => v.clone(),
            // The task died without an answer (a panic): say so rather than wait forever.
            Err(_) => Some(Err(RunError::Internal("the query's task stopped without an answer".into()))),
        }
    };
    match limit {
        None => finished.await,
        Some(d) => tokio::time::timeout(d, finished).await.ok().flatten(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves consistent data (every update is a
    // single insert or remove), so a poisoned lock is used as it is.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn identity(c: &CompiledSql) -> Identity {
    let mut h = Sha256::new();
    let mut add = |sql: &str, params: &[String]| {
        h.update((sql.len() as u64).to_le_bytes());
        h.update(sql.as_bytes());
        h.update((params.len() as u64).to_le_bytes());
        for p in params {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p.as_bytes());
        }
    };
    add(&c.sql, &c.params);
    if let Some(t) = &c.total {
        add(&t.sql, &t.params);
    }
    h.update([c.runs_on as u8]);
    h.finalize().into()
}

/// A flight's identity: the statement's, as Cube's queue keys a query by its SQL and
/// parameters. Not the key values: a client polling a query that runs longer than its refresh
/// key's interval (a 40 s query, a 10 s key) must join the run it started, not start another at
/// every interval and never get rows. A request that must not join (`no-cache`) gets one of
/// its own.
fn flight_identity(id: &Identity, join: bool) -> Identity {
    static UNIQUE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    if join {
        return *id;
    }
    let mut h = Sha256::new();
    h.update(id);
    h.update(UNIQUE.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_le_bytes());
    h.finalize().into()
}
