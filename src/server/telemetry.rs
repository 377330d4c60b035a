//! What an operator sees: structured logs (`tracing`, text or JSON, filtered like `RUST_LOG`)
//! with one event per request, and Prometheus metrics (`/metrics`, OpenMetrics text): requests
//! by endpoint and status, latency histograms, reloads, and the database work of
//! [`crate::cache`] (the pool, the queue, cache hits and misses, database errors).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the log subscriber: `RUST_LOG` filters (default `info`), text or one JSON object
/// per line, on standard error. A second call (tests) keeps the first.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub endpoint: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabel {
    pub endpoint: String,
}

use crate::cache::metrics::{CacheMetrics, KindLabel};
use std::sync::Arc;

/// The server's metrics, registered once.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<EndpointLabel, Histogram>,
    pub reloads: Family<KindLabel, Counter>,
    /// The pool's, the queue's and the result cache's.
    pub cache: Arc<CacheMetrics>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("cubec");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("requests", "API requests by endpoint and status", requests.clone());
        let latency = Family::<EndpointLabel, Histogram>::new_with_constructor(|| {
            // 1 ms to about 33 s.
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        registry.register("request_duration_seconds", "API request latency", latency.clone());
        let reloads = Family::<KindLabel, Counter>::default();
        registry.register("model_reloads", "Model reloads (applied, refused)", reloads.clone());
        let cache = Arc::new(CacheMetrics::default());
        cache.register(&mut registry);
        Metrics { registry, requests, latency, reloads, cache }
    }
}

impl Metrics {
    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    pub fn reload(&self, kind: &str) {
        self.reloads.get_or_create(&KindLabel { kind: kind.to_string() }).inc();
    }
}

/// A short stable hash of a query's text, to find the same query across log lines (FNV-1a).
pub fn query_hash(text: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
