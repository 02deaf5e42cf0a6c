//! Per-Provider lanes and their workers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferroflux_api::notification::v1beta3::ProviderType;
use futures::future::BoxFuture;
use reqwest::Url;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use super::retry::RetryPolicy;
use crate::providers::config::TlsMaterial;
use crate::providers::redact;
use crate::providers::render::Rendered;
use crate::providers::send::{self, HttpClients};
use crate::stats::{DeliveryOutcome, Stats};

/// A namespaced object's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// One notification to deliver.
pub struct Job {
    /// The Provider delivering it.
    pub provider: ObjectKey,
    /// The Provider's type (for the per-type metrics).
    pub provider_type: ProviderType,
    /// The Alert that matched.
    pub alert: ObjectKey,
    /// The involved object, `Kind/namespace/name`, for messages.
    pub subject: String,
    /// The request to send.
    pub request: Rendered,
    /// Where it goes, fit for messages.
    pub target: String,
    /// Proxy to send through.
    pub proxy: Option<Url>,
    /// TLS material from the Provider's `certSecretRef`.
    pub tls: Option<Arc<TlsMaterial>>,
    /// Time limit of the whole delivery, retries included.
    pub timeout: Duration,
    /// Values to mask in any message about this job.
    pub secrets: Vec<String>,
}

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The service accepted the notification.
    Delivered,
    /// Given up; the message is safe to show (secrets masked).
    Failed(String),
}

/// Where delivery outcomes go (the Alert and Provider status, in the
/// controller; a recorder, in tests).
pub trait Reporter: Send + Sync + 'static {
    /// Records the outcome of `job`.
    fn report<'a>(&'a self, job: &'a Job, outcome: &'a Outcome) -> BoxFuture<'a, ()>;
}

/// Tuning of the lanes.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryOptions {
    /// Notifications waiting per Provider before new ones are dropped.
    pub lane_capacity: usize,
    /// Deliveries in flight per Provider.
    pub lane_concurrency: usize,
    /// An idle lane's worker stops after this long.
    pub lane_idle: Duration,
    /// Retries and backoff.
    pub retry: RetryPolicy,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self {
            lane_capacity: 1000,
            lane_concurrency: 4,
            lane_idle: Duration::from_secs(300),
            retry: RetryPolicy::default(),
        }
    }
}

/// Why a job was not queued.
#[derive(Debug, thiserror::Error)]
#[error("delivery queue of provider {0} is full")]
pub struct LaneFull(pub ObjectKey);

struct Inner {
    lanes: Mutex<HashMap<ObjectKey, mpsc::Sender<Job>>>,
    options: DeliveryOptions,
    http: HttpClients,
    reporter: Arc<dyn Reporter>,
    stats: Arc<Stats>,
}

/// The delivery queues. Cheap to clone.
#[derive(Clone)]
pub struct Delivery {
    inner: Arc<Inner>,
}

impl Delivery {
    /// Lanes sending with `http` and reporting to `reporter`.
    pub fn new(
        options: DeliveryOptions,
        http: HttpClients,
        reporter: Arc<dyn Reporter>,
        stats: Arc<Stats>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                lanes: Mutex::new(HashMap::new()),
                options,
                http,
                reporter,
                stats,
            }),
        }
    }

    /// Queues `job` on its Provider's lane without waiting.
    pub fn submit(&self, job: Job) -> Result<(), LaneFull> {
        let inner = &self.inner;
        let mut lanes = inner.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let key = job.provider.clone();
        let provider_type = job.provider_type;
        let sender = lanes
            .entry(key.clone())
            .or_insert_with(|| {
                let (tx, rx) = mpsc::channel(inner.options.lane_capacity.max(1));
                tokio::spawn(run_lane(self.inner.clone(), key.clone(), rx));
                tx
            })
            .clone();
        match sender.try_send(job) {
            Ok(()) => {
                inner.stats.inc(&inner.stats.notifications_queued);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                inner
                    .stats
                    .delivery(provider_type, DeliveryOutcome::Dropped);
                Err(LaneFull(key))
            }
            Err(mpsc::error::TrySendError::Closed(job)) => {
                // The worker is gone (it only exits after leaving the map,
                // so this is a runtime shutting down); start a fresh lane.
                lanes.remove(&key);
                drop(lanes);
                self.submit(job)
            }
        }
    }
}

async fn run_lane(inner: Arc<Inner>, key: ObjectKey, mut rx: mpsc::Receiver<Job>) {
    let in_flight = Arc::new(Semaphore::new(inner.options.lane_concurrency.max(1)));
    loop {
        let job = match tokio::time::timeout(inner.options.lane_idle, rx.recv()).await {
            Ok(Some(job)) => job,
            Ok(None) => return,
            Err(_idle) => {
                let mut lanes = inner.lanes.lock().unwrap_or_else(|e| e.into_inner());
                if !rx.is_empty() {
                    continue;
                }
                // Submissions happen under this lock, so once the lane is
                // out of the map nothing new can arrive.
                lanes.remove(&key);
                return;
            }
        };
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let inner = inner.clone();
        tokio::spawn(async move {
            deliver(&inner, job).await;
            drop(permit);
        });
    }
}

async fn deliver(inner: &Inner, job: Job) {
    let outcome = match attempt_all(inner, &job).await {
        Ok(()) => Outcome::Delivered,
        Err(message) => {
            let message = redact::mask(
                &format!(
                    "failed to send notification for {} to {}: {message}",
                    job.subject, job.target
                ),
                &job.secrets,
            );
            tracing::error!(alert = %job.alert, provider = %job.provider, "{message}");
            Outcome::Failed(message)
        }
    };
    inner.reporter.report(&job, &outcome).await;
    // Counted after reporting, so "settled" means statuses are written too.
    let counted = match outcome {
        Outcome::Delivered => DeliveryOutcome::Delivered,
        Outcome::Failed(_) => DeliveryOutcome::Failed,
    };
    inner.stats.delivery(job.provider_type, counted);
}

async fn attempt_all(inner: &Inner, job: &Job) -> Result<(), String> {
    let client = inner
        .http
        .client(job.proxy.as_ref(), job.tls.as_deref())
        .map_err(|e| e.to_string())?;
    let policy = inner.options.retry;
    let deadline = Instant::now() + job.timeout;
    let mut attempt = 0;
    loop {
        let error = match tokio::time::timeout_at(deadline, send::send(&client, &job.request)).await
        {
            Err(_) => return Err(format!("timed out after {:?}", job.timeout)),
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e,
        };
        if !error.retryable() || attempt >= policy.max_retries {
            return Err(error.to_string());
        }
        let wait = policy.wait(attempt, error.retry_after());
        if Instant::now() + wait >= deadline {
            return Err(format!(
                "{error} (no time left to retry within {:?})",
                job.timeout
            ));
        }
        tracing::debug!(provider = %job.provider, attempt, ?wait, "retrying notification: {}", redact::mask(&error.to_string(), &job.secrets));
        inner.stats.retry(job.provider_type);
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}
