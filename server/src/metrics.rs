//! Request metrics: per-endpoint counters and HdrHistogram latencies
//! ([`crate::timing`] records them for each answer), and their
//! rendering for `/stats` (JSON) and `/metrics` (Prometheus text).
//!
//! Histograms are striped per worker thread so recording never contends:
//! each worker locks only its own (uncontended) stripe; readers merge.

use hdrhistogram::Histogram;
use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The endpoints metrics are kept for. The baselines `/json` and
/// `/plaintext` are not among them: they measure the HTTP stack alone, as
/// nginx's `return 200` does, so no clock is read and nothing is recorded
/// for them. [`crate::routes::Route::endpoint`] says which a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/offsets/…`
    Offsets,
    /// `/wiki/…`
    Wiki,
    /// `/xml`
    Xml,
    /// `/suggest`, `/opensearch…`
    Suggest,
    /// `/stats`, `/metrics`, `/healthz`
    Operator,
    /// `/` and static files
    Page,
    /// anything else (404s)
    Other,
}

impl Endpoint {
    /// All endpoints, in reporting order.
    pub const ALL: [Endpoint; 7] = [
        Endpoint::Offsets,
        Endpoint::Wiki,
        Endpoint::Xml,
        Endpoint::Suggest,
        Endpoint::Operator,
        Endpoint::Page,
        Endpoint::Other,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Offsets => "offsets",
            Endpoint::Wiki => "wiki",
            Endpoint::Xml => "xml",
            Endpoint::Suggest => "suggest",
            Endpoint::Operator => "operator",
            Endpoint::Page => "page",
            Endpoint::Other => "other",
        }
    }
}

const STRIPES: usize = 16;

struct EndpointMetrics {
    requests: AtomicU64,
    errors: AtomicU64,
    latency_us: Vec<Mutex<Histogram<u64>>>,
}

/// All request metrics of a server.
pub struct Metrics {
    endpoints: Vec<EndpointMetrics>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let hist = || Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds");
        Metrics {
            endpoints: Endpoint::ALL
                .iter()
                .map(|_| EndpointMetrics {
                    requests: AtomicU64::new(0),
                    errors: AtomicU64::new(0),
                    latency_us: (0..STRIPES).map(|_| Mutex::new(hist())).collect(),
                })
                .collect(),
        }
    }
}

fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local!(static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) });
    STRIPE.with(|s| {
        if s.get() == usize::MAX {
            s.set(NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES);
        }
        s.get()
    })
}

/// Latency percentiles of one endpoint, microseconds.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Percentiles {
    /// Requests measured.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Slowest.
    pub max: u64,
}

impl Metrics {
    /// Records one answered request.
    pub fn record(&self, endpoint: Endpoint, error: bool, micros: u64) {
        let m = &self.endpoints[endpoint as usize];
        m.requests.fetch_add(1, Ordering::Relaxed);
        if error {
            m.errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut h) = m.latency_us[stripe()].lock() {
            h.saturating_record(micros.max(1));
        }
    }

    /// (requests, errors, percentiles) of one endpoint.
    pub fn snapshot(&self, endpoint: Endpoint) -> (u64, u64, Percentiles) {
        let m = &self.endpoints[endpoint as usize];
        let mut merged = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds");
        for s in &m.latency_us {
            if let Ok(h) = s.lock() {
                let _ = merged.add(&*h);
            }
        }
        let p = |q: f64| if merged.is_empty() { 0 } else { merged.value_at_quantile(q) };
        let pct = Percentiles {
            count: merged.len(),
            p50: p(0.5),
            p90: p(0.9),
            p99: p(0.99),
            p999: p(0.999),
            max: if merged.is_empty() { 0 } else { merged.max() },
        };
        (m.requests.load(Ordering::Relaxed), m.errors.load(Ordering::Relaxed), pct)
    }
}

/// Facts about the process and index shown by `/stats` and `/metrics`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IndexFacts {
    /// Pages indexed.
    pub pages: u64,
    /// Distinct titles.
    pub titles: u64,
    /// Redirect pages.
    pub redirects: u64,
    /// Dump size.
    pub dump_bytes: u64,
    /// Index size on disk.
    pub index_bytes: u64,
}

/// Resident set size of this process, from `/proc/self/statm`.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    pages * rustix::param::page_size() as u64
}

/// Where pages are served from, for `/stats` and `/metrics`
/// ([`crate::source::PageSource`]).
#[derive(Debug, Clone, Copy)]
pub struct StorageFacts {
    /// `dump` (the XML file) or `store` (the index's page store).
    pub storage: &'static str,
    /// The store's frame cache, when serving from the store.
    pub cache: Option<wikidex_indexer::store::CacheStats>,
}

impl StorageFacts {
    fn cache_json(&self) -> serde_json::Value {
        let Some(c) = self.cache else { return serde_json::Value::Null };
        let lookups = c.hits + c.misses;
        serde_json::json!({
            "hits": c.hits,
            "misses": c.misses,
            "hit_rate": if lookups == 0 { 0.0 } else { c.hits as f64 / lookups as f64 },
            "bytes": c.bytes_cached,
            "capacity_bytes": c.capacity,
        })
    }
}

/// The `/stats` document.
pub fn stats_json(
    metrics: &Metrics,
    uptime_seconds: f64,
    index: &IndexFacts,
    workers: usize,
    storage: &StorageFacts,
) -> serde_json::Value {
    let mut requests = serde_json::Map::new();
    let mut errors = serde_json::Map::new();
    let mut latency = serde_json::Map::new();
    for e in Endpoint::ALL {
        let (r, err, p) = metrics.snapshot(e);
        requests.insert(e.name().into(), r.into());
        errors.insert(e.name().into(), err.into());
        latency.insert(e.name().into(), serde_json::to_value(p).expect("serializable"));
    }
    serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": uptime_seconds,
        "workers": workers,
        "requests": requests,
        "errors": errors,
        "latency_us": latency,
        "index": index,
        "storage": storage.storage,
        "store_cache": storage.cache_json(),
        "rss_bytes": rss_bytes(),
    })
}

/// The `/metrics` document (Prometheus text exposition format 0.0.4).
pub fn prometheus_text(
    metrics: &Metrics,
    uptime_seconds: f64,
    index: &IndexFacts,
    storage: &StorageFacts,
    (reloads_done, reloads_refused): (u64, u64),
) -> String {
    let mut out = String::with_capacity(4096);
    let snaps: Vec<_> = Endpoint::ALL.iter().map(|&e| (e, metrics.snapshot(e))).collect();
    out.push_str("# HELP wikidex_requests_total Requests answered, by endpoint.\n# TYPE wikidex_requests_total counter\n");
    for (e, (r, _, _)) in &snaps {
        let _ = writeln!(out, "wikidex_requests_total{{endpoint=\"{}\"}} {r}", e.name());
    }
    out.push_str("# HELP wikidex_errors_total Requests answered with a 4xx or 5xx status, by endpoint.\n# TYPE wikidex_errors_total counter\n");
    for (e, (_, err, _)) in &snaps {
        let _ = writeln!(out, "wikidex_errors_total{{endpoint=\"{}\"}} {err}", e.name());
    }
    out.push_str("# HELP wikidex_request_duration_seconds Time to answer a request, by endpoint.\n# TYPE wikidex_request_duration_seconds summary\n");
    for (e, (_, _, p)) in &snaps {
        for (q, v) in [("0.5", p.p50), ("0.9", p.p90), ("0.99", p.p99), ("0.999", p.p999), ("1", p.max)] {
            let _ = writeln!(
                out,
                "wikidex_request_duration_seconds{{endpoint=\"{}\",quantile=\"{q}\"}} {}",
                e.name(),
                v as f64 / 1e6
            );
        }
        let _ =
            writeln!(out, "wikidex_request_duration_seconds_count{{endpoint=\"{}\"}} {}", e.name(), p.count);
    }
    let gauges = [
        ("wikidex_uptime_seconds", "Seconds since the server started.", uptime_seconds),
        ("wikidex_index_pages", "Pages in the index.", index.pages as f64),
        ("wikidex_index_titles", "Distinct titles in the index.", index.titles as f64),
        ("wikidex_index_redirects", "Redirect pages in the index.", index.redirects as f64),
        ("wikidex_dump_bytes", "Size of the uncompressed dump.", index.dump_bytes as f64),
        ("wikidex_index_bytes", "Size of the index on disk.", index.index_bytes as f64),
        ("process_resident_memory_bytes", "Resident memory size in bytes.", rss_bytes() as f64),
    ];
    for (name, help, v) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
    }
    out.push_str("# HELP wikidex_reloads_total Reloads on SIGHUP, by result: done (a new index served) or refused.\n# TYPE wikidex_reloads_total counter\n");
    for (result, n) in [("done", reloads_done), ("refused", reloads_refused)] {
        let _ = writeln!(out, "wikidex_reloads_total{{result=\"{result}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP wikidex_storage_info Where pages are read from: the dump file or the page store.\n# TYPE wikidex_storage_info gauge\nwikidex_storage_info{{storage=\"{}\"}} 1",
        storage.storage
    );
    if let Some(c) = storage.cache {
        for (name, help, v) in [
            ("wikidex_store_cache_hits_total", "Page store frames found in the cache.", c.hits),
            ("wikidex_store_cache_misses_total", "Page store frames decompressed.", c.misses),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        }
        let name = "wikidex_store_cache_bytes";
        let _ = writeln!(
            out,
            "# HELP {name} Decompressed frames held.\n# TYPE {name} gauge\n{name} {}",
            c.bytes_cached
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_merge_across_threads() {
        let m = Metrics::default();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let m = &m;
                s.spawn(move || {
                    for i in 0..1000 {
                        m.record(Endpoint::Offsets, i % 10 == 0, 10 + t);
                    }
                });
            }
        });
        let (r, e, p) = m.snapshot(Endpoint::Offsets);
        assert_eq!((r, e, p.count), (4000, 400, 4000));
        assert!((10..=13).contains(&p.p50) && p.max == 13, "{p:?}");
        assert_eq!(m.snapshot(Endpoint::Wiki).0, 0);
    }

    #[test]
    fn prometheus_text_has_every_family() {
        let m = Metrics::default();
        m.record(Endpoint::Xml, false, 5);
        let facts = IndexFacts { pages: 1, titles: 1, redirects: 0, dump_bytes: 2, index_bytes: 3 };
        let storage = StorageFacts {
            storage: "store",
            cache: Some(wikidex_indexer::store::CacheStats {
                hits: 3,
                misses: 1,
                bytes_cached: 10,
                capacity: 20,
            }),
        };
        let text = prometheus_text(&m, 1.5, &facts, &storage, (2, 1));
        assert!(text.contains("\nwikidex_storage_info{storage=\"store\"} 1\n"));
        assert!(text.contains("\nwikidex_store_cache_hits_total 3\n"));
        assert!(text.contains("wikidex_requests_total{endpoint=\"xml\"} 1\n"));
        assert!(
            text.contains("wikidex_request_duration_seconds{endpoint=\"xml\",quantile=\"0.5\"} 0.000005\n")
        );
        assert!(text.contains(
            "\nwikidex_reloads_total{result=\"done\"} 2\nwikidex_reloads_total{result=\"refused\"} 1\n"
        ));
        assert!(text.contains("\nwikidex_index_pages 1\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert_eq!(line.split(' ').count(), 2, "{line}");
        }
    }
}
