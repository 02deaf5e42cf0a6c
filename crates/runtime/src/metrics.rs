//! Prometheus metrics (`--metrics-addr`) and health probes (`--health-addr`).
//!
//! Metric names follow Flux's (`gotk_reconcile_duration_seconds`,
//! `gotk_reconcile_condition`) so existing dashboards and alerts keep working.
//!
//! A controller adds its own metrics to the same registry (and so to the same
//! `/metrics` endpoint) with [`Metrics::register`] (a metric it updates
//! itself: a `Counter`, a `Family`, ...) or [`Metrics::register_collector`]
//! (values read at each scrape). Both work at any time after
//! [`Metrics::new`]: every clone of a [`Metrics`] shares the one registry.
//! Name them `ferroflux_<controller>_<what>`, and keep label values bounded
//! (kinds, types, outcomes; never object names or URLs).
//!
//! ```
//! use ferroflux_runtime::metrics::Metrics;
//! use ferroflux_runtime::metrics::prometheus_client::metrics::counter::Counter;
//!
//! let metrics = Metrics::new();
//! let sent: Counter = Counter::default();
//! metrics.register("ferroflux_example_sent", "Things sent", sent.clone());
//! sent.inc();
//! assert!(metrics.render().contains("ferroflux_example_sent_total 1"));
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry};

/// The prometheus-client crate the registry is built with; controllers use
/// its metric types (`Counter`, `Family`, `Collector`, ...) through this
/// re-export so that they always match [`Metrics::register`]'s version.
pub use prometheus_client;
use prometheus_client::collector::Collector;

/// Labels identifying one object.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ObjectLabels {
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
}

/// Labels of one condition of one object.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Condition type.
    #[allow(clippy::struct_field_names)]
    pub r#type: String,
    /// Condition status (`True`, `False`, `Unknown`, `Deleted`).
    pub status: String,
}

/// The metrics of one controller process.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    reconcile_duration: Family<ObjectLabels, Histogram>,
    condition: Family<ConditionLabels, Gauge>,
    in_flight: Gauge<i64, AtomicI64>,
    ready: Arc<AtomicBool>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with Flux's reconcile metrics.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let reconcile_duration = Family::<ObjectLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0])
        });
        let condition = Family::<ConditionLabels, Gauge>::default();
        let in_flight = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "gotk_reconcile_duration_seconds",
            "How long reconciles take, per object",
            reconcile_duration.clone(),
        );
        registry.register(
            "gotk_reconcile_condition",
            "The current condition status of each object (1 for the status it has)",
            condition.clone(),
        );
        registry.register(
            "ferroflux_reconciles_in_flight",
            "Reconciles running now (the work queue being drained)",
            in_flight.clone(),
        );
        Self {
            registry: Arc::new(Mutex::new(registry)),
            reconcile_duration,
            condition,
            in_flight,
            ready: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Records one reconcile's duration.
    pub fn observe_reconcile(&self, labels: ObjectLabels, took: Duration) {
        self.reconcile_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Records an object's condition: the gauge of its current status is 1,
    /// the others 0.
    pub fn set_condition(&self, object: &ObjectLabels, type_: &str, status: &str) {
        for s in ["True", "False", "Unknown", "Deleted"] {
            let labels = ConditionLabels {
                kind: object.kind.clone(),
                name: object.name.clone(),
                namespace: object.namespace.clone(),
                r#type: type_.to_string(),
                status: s.to_string(),
            };
            self.condition
                .get_or_create(&labels)
                .set(i64::from(s == status));
        }
    }

    /// Marks a reconcile as started; the guard marks it finished when dropped.
    pub fn start_reconcile(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// Marks the process ready (`/readyz` answers 200 from now on).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Registers a controller's own `metric` on the shared registry, so that
    /// it is rendered by [`Metrics::render`] and served on `/metrics` with
    /// the runtime's metrics.
    ///
    /// `name` is given without the `_total` suffix of counters (the encoder
    /// adds it: a `Counter` registered as `ferroflux_x_sent` is rendered as
    /// `ferroflux_x_sent_total`). Keep a clone of `metric` to update it;
    /// clones share their value. Registering may happen at any time, before
    /// or after the endpoint is served. Registering one name twice renders
    /// it twice, which scrapers reject: register each metric once per process.
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .register(name, help, metric);
    }

    /// Registers a `collector`, whose metrics are computed at each scrape
    /// (e.g. read from counters the controller already keeps), on the
    /// shared registry. As [`Metrics::register`], it may be called at any time.
    pub fn register_collector(&self, collector: impl Collector) {
        self.registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .register_collector(Box::new(collector));
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Decrements the in-flight gauge when dropped.
pub struct InFlight(Gauge<i64, AtomicI64>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

async fn metrics_handler(State(m): State<Metrics>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        m.render(),
    )
}

async fn readyz(State(m): State<Metrics>) -> impl IntoResponse {
    if m.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

/// The router of `/metrics`.
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .with_state(metrics)
}

/// The router of `/healthz` and `/readyz`.
pub fn health_router(metrics: Metrics) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(metrics)
}

/// Serves `router` on `addr` in the background.
pub async fn serve(addr: SocketAddr, router: Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, %addr, "HTTP endpoint stopped");
        }
    });
    Ok(local)
}

/// Serves `/metrics` and `/healthz`,`/readyz` on the addresses of the
/// `--metrics-addr` and `--health-addr` flags (`:8080` style); the error
/// names the address that could not be used.
pub async fn serve_endpoints(
    metrics: &Metrics,
    metrics_addr: &str,
    health_addr: &str,
) -> Result<(), String> {
    for (flag, router, what) in [
        (metrics_addr, metrics_router(metrics.clone()), "metrics"),
        (health_addr, health_router(metrics.clone()), "health"),
    ] {
        let addr = crate::flags::bind_addr(flag)?;
        serve(addr, router)
            .await
            .map_err(|e| format!("listening on {addr} ({what}): {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_flux_metric_names() {
        let m = Metrics::new();
        let obj = ObjectLabels {
            kind: "GitRepository".into(),
            name: "podinfo".into(),
            namespace: "flux-system".into(),
        };
        m.observe_reconcile(obj.clone(), Duration::from_millis(250));
        m.set_condition(&obj, "Ready", "True");
        let guard = m.start_reconcile();
        let text = m.render();
        assert!(text.contains("gotk_reconcile_duration_seconds_count{kind=\"GitRepository\",name=\"podinfo\",namespace=\"flux-system\"} 1"), "{text}");
        assert!(text.contains("gotk_reconcile_condition{kind=\"GitRepository\",name=\"podinfo\",namespace=\"flux-system\",type=\"Ready\",status=\"True\"} 1"), "{text}");
        assert!(text.contains("gotk_reconcile_condition{kind=\"GitRepository\",name=\"podinfo\",namespace=\"flux-system\",type=\"Ready\",status=\"False\"} 0"), "{text}");
        assert!(text.contains("ferroflux_reconciles_in_flight 1"), "{text}");
        drop(guard);
        assert!(m.render().contains("ferroflux_reconciles_in_flight 0"));
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct OutcomeLabels {
        outcome: String,
    }

    #[test]
    fn controllers_register_their_own_metrics_after_construction() {
        use prometheus_client::metrics::counter::Counter;

        let m = Metrics::new();
        // A clone (as handed to the /metrics router) sees later registrations.
        let served = m.clone();
        let sent: Counter = Counter::default();
        m.register("ferroflux_test_sent", "Things sent", sent.clone());
        let outcomes = Family::<OutcomeLabels, Counter>::default();
        m.register(
            "ferroflux_test_outcomes",
            "Things by outcome",
            outcomes.clone(),
        );
        sent.inc();
        sent.inc();
        outcomes
            .get_or_create(&OutcomeLabels {
                outcome: "failed".into(),
            })
            .inc();
        let text = served.render();
        assert!(
            text.contains("# HELP ferroflux_test_sent Things sent.\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE ferroflux_test_sent counter\n"),
            "{text}"
        );
        assert!(text.contains("\nferroflux_test_sent_total 2\n"), "{text}");
        assert!(
            text.contains("\nferroflux_test_outcomes_total{outcome=\"failed\"} 1\n"),
            "{text}"
        );
        // The runtime's own metrics are still there.
        assert!(text.contains("ferroflux_reconciles_in_flight 0"), "{text}");
    }

    #[test]
    fn collectors_are_read_at_each_scrape() {
        use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
        use prometheus_client::metrics::counter::ConstCounter;
        use std::sync::atomic::AtomicU64;

        #[derive(Debug)]
        struct Seen(Arc<AtomicU64>);
        impl Collector for Seen {
            fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
                let counter = ConstCounter::new(self.0.load(Ordering::Relaxed));
                let metric = encoder.encode_descriptor(
                    "ferroflux_test_seen",
                    "Things seen",
                    None,
                    counter.metric_type(),
                )?;
                counter.encode(metric)
            }
        }

        let m = Metrics::new();
        let seen = Arc::new(AtomicU64::new(0));
        m.register_collector(Seen(seen.clone()));
        assert!(m.render().contains("\nferroflux_test_seen_total 0\n"));
        seen.store(7, Ordering::Relaxed);
        let text = m.render();
        assert!(text.contains("\nferroflux_test_seen_total 7\n"), "{text}");
    }
}
