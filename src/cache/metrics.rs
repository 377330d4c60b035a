//! The metrics of database work, shared by the pool, the queue and the result cache; the
//! server registers them beside its request metrics (`/metrics`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicI64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

#[derive(Default)]
pub struct CacheMetrics {
    /// Queries the database failed, by kind (rejected, unavailable, timeout, internal).
    pub database_errors: Family<KindLabel, Counter>,
    pub pool_size: Gauge,
    pub pool_in_use: Gauge,
    pub pool_waiting: Gauge<i64, AtomicI64>,
    /// Answers from the result cache, by kind (fresh, stale).
    pub hits: Family<KindLabel, Counter>,
    /// Queries that had to run (or join one running).
    pub misses: Counter,
    pub cache_bytes: Gauge,
    pub cache_entries: Gauge,
    pub evictions: Counter,
    /// Queries running or waiting for a connection.
    pub in_flight: Gauge<i64, AtomicI64>,
    /// Requests that joined an identical query already running instead of running it again.
    pub joined: Counter,
    /// Requests answered `Continue wait`.
    pub continue_wait: Counter,
    /// Time from a query's start in the queue to its rows (waiting for a connection included).
    pub queue_seconds: QueueHistogram,
}

/// A histogram from 1 ms to about 9 hours.
pub struct QueueHistogram(pub Histogram);

impl Default for QueueHistogram {
    fn default() -> Self {
        QueueHistogram(Histogram::new(exponential_buckets(0.001, 2.0, 25)))
    }
}

impl CacheMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "database_errors",
            "Queries the database failed (rejected, unavailable, timeout)",
            self.database_errors.clone(),
        );
        registry.register("pool_connections", "Open database connections", self.pool_size.clone());
        registry.register("pool_connections_in_use", "Connections running a query", self.pool_in_use.clone());
        registry.register("pool_waiting", "Requests waiting for a connection", self.pool_waiting.clone());
        registry.register("cache_hits", "Answers from the result cache (fresh, stale)", self.hits.clone());
        registry.register("cache_misses", "Answers that needed a query on the database", self.misses.clone());
        registry.register("cache_bytes", "Bytes held by cached results (estimated)", self.cache_bytes.clone());
        registry.register("cache_entries", "Results held by the cache", self.cache_entries.clone());
        registry.register(
            "cache_evictions",
            "Results evicted to keep the cache under its size",
            self.evictions.clone(),
        );
        registry.register("queue_in_flight", "Queries running or waiting for a connection", self.in_flight.clone());
        registry.register("queue_joined", "Requests that joined an identical query in flight", self.joined.clone());
        registry.register("continue_wait", "Requests answered `Continue wait`", self.continue_wait.clone());
        registry.register(
            "queue_duration_seconds",
            "Time from a query entering the queue to its rows",
            self.queue_seconds.0.clone(),
        );
    }

    pub fn database_error(&self, kind: &str) {
        self.database_errors.get_or_create(&KindLabel { kind: kind.to_string() }).inc();
    }

    pub fn hit(&self, kind: &str) {
        self.hits.get_or_create(&KindLabel { kind: kind.to_string() }).inc();
    }
}
