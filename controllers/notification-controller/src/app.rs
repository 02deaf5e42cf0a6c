//! Wiring: the watches, reconcilers, dispatcher, delivery lanes and the two
//! HTTP servers, started together by [`start`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::notification::v1::Receiver;
use ferroflux_api::notification::v1beta3::{Alert, Provider};
use ferroflux_runtime::metrics::Metrics;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::task::JoinHandle;

use crate::alerts::dispatch::{Dispatcher, FilterCache};
use crate::alerts::labels::LabelCache;
use crate::alerts::reconciler::{self as alert_reconciler, AlertContext};
use crate::budget::ByteBudget;
use crate::delivery::{Delivery, DeliveryOptions, StatusReporter};
use crate::intake::{Admission, Intake, Limits};
use crate::kinds::KindResolver;
use crate::providers::reconciler::{self as provider_reconciler, ProviderContext};
use crate::providers::send::HttpClients;
use crate::receivers::reconciler::{self as receiver_reconciler, ReceiverContext};
use crate::receivers::{PathIndex, ReceiverServer};
use crate::reconcile::retry_after_error;
use crate::stats::{Snapshot, Stats};

/// Label that makes a Secret's changes reconcile the Receivers using it
/// (as Flux's `--watch-configs-label-selector` default).
pub const WATCH_LABEL: &str = "reconcile.fluxcd.io/watch=Enabled";

/// Default of `--total-queue-bytes`: 32 MiB, four Providers' worth of
/// `--provider-queue-bytes`.
pub const DEFAULT_TOTAL_QUEUE_BYTES: u64 = 32 << 20;

/// Everything that can be tuned.
#[derive(Debug, Clone)]
pub struct Options {
    /// Event intake address, e.g. `:9090`.
    pub events_addr: String,
    /// Webhook receiver address, e.g. `:9292`.
    pub receiver_addr: String,
    /// Forbid Alerts and Receivers to refer to other namespaces.
    pub no_cross_namespace_refs: bool,
    /// Watch Alerts, Providers and Receivers (and the Secrets that bring
    /// Receivers back) only in this namespace; `None` watches all.
    pub watch_namespace: Option<String>,
    /// De-duplication and per-object limits of intake.
    pub limits: Limits,
    /// Events waiting for Alert matching before intake answers 503.
    pub queue_capacity: usize,
    /// Largest event body intake reads (`--max-event-bytes`); larger get 413.
    pub max_event_bytes: usize,
    /// Bytes held at once by intake and every Provider's lane together
    /// (`--total-queue-bytes`).
    pub total_queue_bytes: u64,
    /// Events matched at the same time.
    pub match_concurrency: usize,
    /// How long involved-object labels are cached.
    pub label_cache_ttl: Duration,
    /// Delivery lanes.
    pub delivery: DeliveryOptions,
    /// The process's metrics registry, to add this controller's counters
    /// to (see [`crate::metrics`]); `None` keeps them out of Prometheus.
    /// Start at most one controller per registry.
    pub metrics: Option<Metrics>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            events_addr: ":9090".to_string(),
            receiver_addr: ":9292".to_string(),
            no_cross_namespace_refs: false,
            watch_namespace: None,
            limits: Limits::default(),
            queue_capacity: 10_000,
            max_event_bytes: crate::intake::DEFAULT_MAX_EVENT_BYTES,
            total_queue_bytes: DEFAULT_TOTAL_QUEUE_BYTES,
            match_concurrency: 64,
            label_cache_ttl: Duration::from_secs(30),
            delivery: DeliveryOptions::default(),
            metrics: None,
        }
    }
}

/// Why the controller could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// An address could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The HTTP client could not be built.
    #[error(transparent)]
    Http(#[from] crate::providers::send::SendError),
}

/// A running controller; everything stops when it is dropped.
pub struct Running {
    /// Where intake listens.
    pub events_addr: SocketAddr,
    /// Where the webhook receiver listens.
    pub receiver_addr: SocketAddr,
    stats: Arc<Stats>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Counters since start.
    pub fn stats(&self) -> Snapshot {
        self.stats.snapshot()
    }

    /// Waits until a part stops (which only happens on a fatal error).
    pub async fn wait(mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        let _ = futures::future::select_all(tasks).await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// `:9090` means every interface, as in Go.
pub fn normalize_addr(addr: &str) -> String {
    if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_string()
    }
}

async fn bind(addr: &str) -> Result<tokio::net::TcpListener, StartError> {
    tokio::net::TcpListener::bind(normalize_addr(addr))
        .await
        .map_err(|source| StartError::Bind {
            addr: addr.to_string(),
            source,
        })
}

fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    what: &'static str,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("{what} server stopped: {e}");
        }
    })
}

/// The API of `K` in `namespace`, or in all namespaces.
fn watched<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
    <K as kube::Resource>::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Starts the controller against the cluster behind `client`.
pub async fn start(client: kube::Client, options: Options) -> Result<Running, StartError> {
    let events_listener = bind(&options.events_addr).await?;
    let receiver_listener = bind(&options.receiver_addr).await?;
    let local = |l: &tokio::net::TcpListener, addr: &str| {
        l.local_addr().map_err(|source| StartError::Bind {
            addr: addr.to_string(),
            source,
        })
    };
    let events_addr = local(&events_listener, &options.events_addr)?;
    let receiver_addr = local(&receiver_listener, &options.receiver_addr)?;

    let stats = Arc::new(Stats::default());
    if let Some(metrics) = &options.metrics {
        crate::metrics::register(metrics, &stats);
    }
    let ns = options.watch_namespace.as_deref();
    let kinds = Arc::new(KindResolver::new(client.clone()));
    let reporter = Arc::new(StatusReporter::new(client.clone()));
    let budget = ByteBudget::new(options.total_queue_bytes);
    let delivery = Delivery::new(
        options.delivery,
        HttpClients::new()?,
        reporter.clone(),
        stats.clone(),
        budget.clone(),
    );
    let mut tasks = Vec::new();

    // Providers. Delivery sees each watch event before the store does, so
    // it drops a deleted or changed Provider's lane, and refuses
    // notifications rendered from the older version.
    let (providers, writer) = reflector::store();
    let follower = delivery.clone();
    let provider_stream = watcher(watched::<Provider>(&client, ns), watcher::Config::default())
        .default_backoff()
        .inspect_ok(move |event| follower.provider_event(event))
        .reflect(writer)
        .touched_objects();
    let provider_controller = Controller::for_stream(provider_stream, providers.clone());
    let ctx = Arc::new(ProviderContext {
        client: client.clone(),
    });
    tasks.push(tokio::spawn(
        provider_controller
            .run(provider_reconciler::reconcile, retry_after_error, ctx)
            .for_each(|_| futures::future::ready(())),
    ));

    // Alerts, brought back when their Provider appears or changes.
    let alert_controller =
        Controller::new(watched::<Alert>(&client, ns), watcher::Config::default());
    let alerts = alert_controller.store();
    let alerts_for_mapper = alerts.clone();
    let alert_controller = alert_controller.watches(
        watched::<Provider>(&client, ns),
        watcher::Config::default(),
        move |provider: Provider| {
            let namespace = provider.namespace().unwrap_or_default();
            let name = provider.name_any();
            alerts_for_mapper
                .state()
                .into_iter()
                .filter(|a| {
                    a.namespace().as_deref() == Some(namespace.as_str())
                        && a.spec.provider_ref.name == name
                })
                .map(|a| ObjectRef::from_obj(a.as_ref()))
                .collect::<Vec<_>>()
        },
    );
    let ctx = Arc::new(AlertContext {
        client: client.clone(),
        providers: providers.clone(),
        no_cross_namespace_refs: options.no_cross_namespace_refs,
    });
    tasks.push(tokio::spawn(
        alert_controller
            .run(alert_reconciler::reconcile, retry_after_error, ctx)
            .for_each(|_| futures::future::ready(())),
    ));

    // Receivers, brought back when a watched Secret they use changes.
    let index = Arc::new(PathIndex::default());
    let receiver_controller =
        Controller::new(watched::<Receiver>(&client, ns), watcher::Config::default());
    let receivers = receiver_controller.store();
    let receivers_for_mapper = receivers.clone();
    let receiver_controller = receiver_controller.watches(
        watched::<Secret>(&client, ns),
        watcher::Config::default().labels(WATCH_LABEL),
        move |secret: Secret| {
            let namespace = secret.namespace().unwrap_or_default();
            let name = secret.name_any();
            receivers_for_mapper
                .state()
                .into_iter()
                .filter(|r| {
                    r.namespace().as_deref() == Some(namespace.as_str())
                        && r.spec.secret_ref.as_ref().is_some_and(|s| s.name == name)
                })
                .map(|r| ObjectRef::from_obj(r.as_ref()))
                .collect::<Vec<_>>()
        },
    );
    let ctx = Arc::new(ReceiverContext {
        client: client.clone(),
        index: index.clone(),
    });
    tasks.push(tokio::spawn(
        receiver_controller
            .run(receiver_reconciler::reconcile, retry_after_error, ctx)
            .for_each(|_| futures::future::ready(())),
    ));

    // Events: intake -> queue -> dispatcher -> lanes.
    let (tx, rx) = tokio::sync::mpsc::channel(options.queue_capacity.max(1));
    let max_event_bytes = options.max_event_bytes;
    let dispatcher = Arc::new(Dispatcher {
        client: client.clone(),
        alerts,
        providers,
        labels: LabelCache::new(client.clone(), kinds.clone(), options.label_cache_ttl),
        filters: FilterCache::default(),
        delivery,
        reporter,
        no_cross_namespace_refs: options.no_cross_namespace_refs,
        stats: stats.clone(),
        concurrency: options.match_concurrency,
    });
    tasks.push(tokio::spawn(dispatcher.run(rx)));
    let intake = Arc::new(Intake::new(
        Admission::new(options.limits),
        tx,
        stats.clone(),
        budget,
        max_event_bytes,
    ));
    tasks.push(serve(
        events_listener,
        crate::intake::router(intake),
        "event",
    ));

    let receiver_server = Arc::new(ReceiverServer {
        client,
        receivers,
        index,
        kinds,
        no_cross_namespace_refs: options.no_cross_namespace_refs,
    });
    tasks.push(serve(
        receiver_listener,
        crate::receivers::router(receiver_server),
        "receiver",
    ));

    tracing::info!(%events_addr, %receiver_addr, watch_namespace = ns.unwrap_or("*"), "notification-controller started");
    Ok(Running {
        events_addr,
        receiver_addr,
        stats,
        tasks,
    })
}
