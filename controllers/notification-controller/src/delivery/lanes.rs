//! Per-Provider lanes and their workers.
//!
//! A lane holds the notifications of one Provider, queued or in flight,
//! within `--provider-queue-size` (count) and `--provider-queue-bytes`, and
//! all lanes with intake within `--total-queue-bytes` ([`ByteBudget`]).
//!
//! When a lane is full, a newcomer displaces the oldest queued notification
//! of the object that has the most notifications waiting, as long as that
//! object has more waiting than the newcomer's object; otherwise the
//! newcomer is dropped. So a flood from many objects can no longer shut
//! out an event about an object that has nothing waiting: a new object's
//! notification always gets in while anything is queued, and stays until
//! delivered unless `--provider-queue-size` more notifications about other
//! objects with nothing waiting arrive before its turn. One object sending
//! more than its share loses its own newest notifications, as before.
//!
//! A lane is bound to the version (UID and generation) of its Provider it
//! was created for: when the Provider is deleted or its spec changes, the
//! lane is dropped with everything queued and in flight
//! ([`Delivery::provider_event`]), and notifications rendered for the old
//! version are refused.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferroflux_api::notification::v1beta3::{Provider, ProviderType};
use futures::future::BoxFuture;
use kube::ResourceExt;
use kube::runtime::watcher;
use reqwest::Url;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

use super::retry::RetryPolicy;
use crate::budget::{Account, ByteBudget, Reservation};
use crate::providers::config::TlsMaterial;
use crate::providers::redact;
use crate::providers::render::Rendered;
use crate::providers::send::{self, HttpClients};
use crate::stats::{DeliveryOutcome, DropReason, Stats};

/// Which version of a Provider a notification was rendered for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderIdentity {
    /// `metadata.uid` (a deleted and re-created Provider has a new one).
    pub uid: String,
    /// `metadata.generation` (bumped by every spec change).
    pub generation: i64,
}

impl ProviderIdentity {
    /// The identity of `provider` as it is now.
    pub fn of(provider: &Provider) -> Self {
        Self {
            uid: provider.uid().unwrap_or_default(),
            generation: provider.metadata.generation.unwrap_or_default(),
        }
    }
}

/// What a queued notification costs besides its strings: the job, its
/// ticket and queue slot, the HTTP request built from it.
const JOB_OVERHEAD: u64 = 1024;

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
    /// The Provider version it was rendered for.
    pub identity: ProviderIdentity,
}

impl Job {
    /// The bytes this job holds while queued or in flight, as counted
    /// against `--provider-queue-bytes` and `--total-queue-bytes`: the
    /// request body, URL and headers, the names and messages it carries,
    /// plus a fixed [`JOB_OVERHEAD`].
    pub fn size(&self) -> u64 {
        let headers: usize = self
            .request
            .headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len())
            .sum();
        let strings = self.request.body.len()
            + self.request.url.as_str().len()
            + headers
            + self.provider.namespace.len()
            + self.provider.name.len()
            + self.alert.namespace.len()
            + self.alert.name.len()
            + self.subject.len()
            + self.target.len()
            + self.secrets.iter().map(String::len).sum::<usize>()
            + self.identity.uid.len();
        (strings as u64).saturating_add(JOB_OVERHEAD)
    }
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
    /// Notifications waiting per Provider before new ones are dropped
    /// (`--provider-queue-size`).
    pub lane_capacity: usize,
    /// Bytes of notifications queued or in flight per Provider
    /// (`--provider-queue-bytes`).
    pub lane_bytes: u64,
    /// Deliveries in flight per Provider.
    pub lane_concurrency: usize,
    /// An idle lane's worker stops after this long.
    pub lane_idle: Duration,
    /// Retries and backoff.
    pub retry: RetryPolicy,
}

/// Default of `--provider-queue-bytes`: 8 MiB, room for the default 1,000
/// notifications at 8 KiB each (Flux's events render to 1-4 KiB).
pub const DEFAULT_LANE_BYTES: u64 = 8 << 20;

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self {
            lane_capacity: 1000,
            lane_bytes: DEFAULT_LANE_BYTES,
            lane_concurrency: 4,
            lane_idle: Duration::from_secs(300),
            retry: RetryPolicy::default(),
        }
    }
}

/// Why a job was not queued.
#[derive(Debug, thiserror::Error)]
#[error("{}", describe(.provider, *.reason))]
pub struct Dropped {
    /// The Provider.
    pub provider: ObjectKey,
    /// Why.
    pub reason: DropReason,
    /// Whether this is the first drop since the lane was last below half
    /// its limits (so that callers report a full lane once, not per drop).
    pub first: bool,
}

fn describe(provider: &ObjectKey, reason: DropReason) -> String {
    match reason {
        DropReason::ProviderQueueFull => {
            format!("delivery queue of provider {provider} is full")
        }
        DropReason::TotalQueueFull => format!(
            "delivery queues are full (--total-queue-bytes), no room for provider {provider}"
        ),
        DropReason::Displaced => {
            format!("pushed out of the full delivery queue of provider {provider}")
        }
        DropReason::ProviderDeleted => format!("provider {provider} was deleted"),
        DropReason::ProviderChanged => format!("provider {provider} has changed"),
    }
}

/// Counts a queued notification once when it ends, whichever way: settled
/// by [`deliver`], or dropped (displaced, or its lane purged or aborted).
/// Holds the notification's bytes until then.
struct Ticket {
    _bytes: Reservation,
    stats: Arc<Stats>,
    provider_type: ProviderType,
    settled: bool,
    /// Set when the ticket is displaced; otherwise the lane's reason.
    reason: Option<DropReason>,
    lane_reason: Arc<AtomicU8>,
}

impl Ticket {
    fn settle(&mut self, outcome: DeliveryOutcome) {
        self.settled = true;
        self.stats.delivery(self.provider_type, outcome);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let reason = self
            .reason
            .unwrap_or_else(|| reason_from_u8(self.lane_reason.load(Ordering::SeqCst)));
        self.stats
            .drop_notification(self.provider_type, reason, true);
    }
}

fn reason_to_u8(reason: DropReason) -> u8 {
    match reason {
        DropReason::ProviderChanged => 1,
        _ => 0,
    }
}

fn reason_from_u8(value: u8) -> DropReason {
    match value {
        1 => DropReason::ProviderChanged,
        _ => DropReason::ProviderDeleted,
    }
}

struct Queued {
    job: Job,
    ticket: Ticket,
}

struct Lane {
    /// Tells successive lanes of one Provider apart.
    id: u64,
    identity: ProviderIdentity,
    queue: VecDeque<Queued>,
    /// Queued notifications per involved object.
    per_object: HashMap<String, usize>,
    /// Bytes queued and in flight.
    bytes: Arc<AtomicU64>,
    /// The reason in-flight notifications count as dropped when the lane is purged.
    purge_reason: Arc<AtomicU8>,
    wake: Arc<Notify>,
    worker: AbortHandle,
    /// Notifications dropped (refused or displaced) since the lane was last
    /// below half its limits.
    dropping: u64,
}

impl Lane {
    fn pop(&mut self) -> Option<Queued> {
        let q = self.queue.pop_front()?;
        self.forget_object(&q.job.subject);
        Some(q)
    }

    fn forget_object(&mut self, subject: &str) {
        if let Some(n) = self.per_object.get_mut(subject) {
            *n -= 1;
            if *n == 0 {
                self.per_object.remove(subject);
            }
        }
    }

    /// The oldest notification of the object with the most waiting, if that
    /// object has more waiting than `subject` has.
    fn victim(&self, subject: &str) -> Option<usize> {
        let mine = self.per_object.get(subject).copied().unwrap_or(0);
        let most = self.per_object.values().copied().max()?;
        if most <= mine {
            return None;
        }
        self.queue
            .iter()
            .position(|q| self.per_object.get(&q.job.subject).copied() == Some(most))
    }

    fn displace(&mut self, index: usize) {
        if let Some(mut q) = self.queue.remove(index) {
            self.forget_object(&q.job.subject);
            q.ticket.reason = Some(DropReason::Displaced);
        }
    }

    fn purge(mut self, reason: DropReason) -> usize {
        self.purge_reason
            .store(reason_to_u8(reason), Ordering::SeqCst);
        for q in self.queue.iter_mut() {
            q.ticket.reason = Some(reason);
        }
        // Aborting the worker drops its in-flight deliveries (their tickets
        // count them with `purge_reason`); dropping the lane drops the queue.
        self.worker.abort();
        self.queue.len()
    }
}

#[derive(Default)]
struct Lanes {
    map: HashMap<ObjectKey, Lane>,
    /// Every Provider as last seen by the watch.
    known: HashMap<ObjectKey, ProviderIdentity>,
    /// Providers seen since the watch started listing again.
    relisting: Option<HashSet<ObjectKey>>,
    next_id: u64,
}

struct Inner {
    lanes: Mutex<Lanes>,
    options: DeliveryOptions,
    http: HttpClients,
    reporter: Arc<dyn Reporter>,
    stats: Arc<Stats>,
    total: Arc<ByteBudget>,
}

/// The delivery queues. Cheap to clone.
#[derive(Clone)]
pub struct Delivery {
    inner: Arc<Inner>,
}

impl Delivery {
    /// Lanes sending with `http`, reporting to `reporter`, holding at most
    /// `total` bytes together (a budget they share with intake).
    pub fn new(
        options: DeliveryOptions,
        http: HttpClients,
        reporter: Arc<dyn Reporter>,
        stats: Arc<Stats>,
        total: Arc<ByteBudget>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                lanes: Mutex::new(Lanes::default()),
                options,
                http,
                reporter,
                stats,
                total,
            }),
        }
    }

    /// Notifications waiting (not yet in flight) on `provider`'s lane.
    pub fn queued(&self, provider: &ObjectKey) -> usize {
        let lanes = self.inner.lanes.lock().unwrap_or_else(|e| e.into_inner());
        lanes.map.get(provider).map_or(0, |l| l.queue.len())
    }

    /// Bytes queued and in flight on `provider`'s lane.
    pub fn lane_bytes(&self, provider: &ObjectKey) -> u64 {
        let lanes = self.inner.lanes.lock().unwrap_or_else(|e| e.into_inner());
        lanes
            .map
            .get(provider)
            .map_or(0, |l| l.bytes.load(Ordering::SeqCst))
    }

    /// Whether `provider` has a lane.
    pub fn has_lane(&self, provider: &ObjectKey) -> bool {
        let lanes = self.inner.lanes.lock().unwrap_or_else(|e| e.into_inner());
        lanes.map.contains_key(provider)
    }

    /// Follows the Provider watch: a deleted Provider, or one whose UID or
    /// generation changed, loses its lane with everything queued and in
    /// flight. Feed it each event *before* the Provider store sees it, so
    /// that a notification rendered from the store is never newer than
    /// what this knows.
    pub fn provider_event(&self, event: &watcher::Event<Provider>) {
        let mut lanes = self.inner.lanes.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            watcher::Event::Apply(p) | watcher::Event::InitApply(p) => {
                let key = key_of(p);
                let identity = ProviderIdentity::of(p);
                if let Some(seen) = &mut lanes.relisting {
                    seen.insert(key.clone());
                }
                lanes.known.insert(key.clone(), identity.clone());
                if lanes
                    .map
                    .get(&key)
                    .is_some_and(|lane| lane.identity != identity)
                {
                    self.purge(&mut lanes, &key, DropReason::ProviderChanged);
                }
            }
            watcher::Event::Delete(p) => {
                let key = key_of(p);
                lanes.known.remove(&key);
                self.purge(&mut lanes, &key, DropReason::ProviderDeleted);
            }
            watcher::Event::Init => lanes.relisting = Some(HashSet::new()),
            watcher::Event::InitDone => {
                if let Some(seen) = lanes.relisting.take() {
                    let gone: Vec<ObjectKey> = lanes
                        .known
                        .keys()
                        .filter(|k| !seen.contains(*k))
                        .cloned()
                        .collect();
                    for key in gone {
                        lanes.known.remove(&key);
                        self.purge(&mut lanes, &key, DropReason::ProviderDeleted);
                    }
                }
            }
        }
    }

    fn purge(&self, lanes: &mut Lanes, key: &ObjectKey, reason: DropReason) {
        if let Some(lane) = lanes.map.remove(key) {
            let in_flight_bytes = lane.bytes.load(Ordering::SeqCst);
            let queued = lane.purge(reason);
            tracing::info!(
                provider = %key,
                queued,
                bytes = in_flight_bytes,
                reason = reason.as_str(),
                "dropped the provider's delivery queue and in-flight deliveries: {}",
                describe(key, reason)
            );
        }
    }

    /// Queues `job` on its Provider's lane without waiting.
    pub fn submit(&self, job: Job) -> Result<(), Dropped> {
        let inner = &self.inner;
        let key = job.provider.clone();
        let provider_type = job.provider_type;
        let mut lanes = inner.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let refuse = |reason: DropReason, first: bool| {
            inner.stats.drop_notification(provider_type, reason, false);
            Dropped {
                provider: key.clone(),
                reason,
                first,
            }
        };
        match lanes.known.get(&key) {
            None => return Err(refuse(DropReason::ProviderDeleted, true)),
            Some(identity) if *identity != job.identity => {
                return Err(refuse(DropReason::ProviderChanged, true));
            }
            Some(_) => {}
        }
        let Lanes { map, next_id, .. } = &mut *lanes;
        let lane = map.entry(key.clone()).or_insert_with(|| {
            *next_id += 1;
            let id = *next_id;
            let wake = Arc::new(Notify::new());
            let worker = tokio::spawn(run_lane(self.inner.clone(), key.clone(), id, wake.clone()));
            Lane {
                id,
                identity: job.identity.clone(),
                queue: VecDeque::new(),
                per_object: HashMap::new(),
                bytes: Arc::new(AtomicU64::new(0)),
                purge_reason: Arc::new(AtomicU8::new(0)),
                wake,
                worker: worker.abort_handle(),
                dropping: 0,
            }
        });
        let size = job.size();
        let options = &inner.options;
        let reservation = loop {
            let reason = if lane.queue.len() >= options.lane_capacity.max(1) {
                DropReason::ProviderQueueFull
            } else {
                match inner.total.reserve_with_lane(
                    size,
                    &inner.stats,
                    Account::Delivery,
                    Some(lane.bytes.clone()),
                    options.lane_bytes,
                ) {
                    Ok(r) => break r,
                    Err(true) => DropReason::ProviderQueueFull,
                    Err(false) => DropReason::TotalQueueFull,
                }
            };
            // A notification bigger than the whole lane never fits.
            let victim = if size <= options.lane_bytes {
                lane.victim(&job.subject)
            } else {
                None
            };
            let first = lane.dropping == 0;
            lane.dropping += 1;
            if first {
                // Once per episode: from the first drop until the lane is
                // back under half its limits.
                tracing::warn!(
                    provider = %key,
                    queued = lane.queue.len(),
                    bytes = lane.bytes.load(Ordering::SeqCst),
                    notification_bytes = size,
                    total_bytes = inner.total.used(),
                    provider_queue_size = options.lane_capacity,
                    provider_queue_bytes = options.lane_bytes,
                    total_queue_bytes = inner.total.limit(),
                    reason = reason.as_str(),
                    "delivery queue of provider {key} is full, dropping notifications (first: {}): {}",
                    if victim.is_some() { "the oldest of the object with the most waiting" } else { job.subject.as_str() },
                    describe(&key, reason)
                );
            }
            match victim {
                Some(index) => lane.displace(index),
                None => return Err(refuse(reason, first)),
            }
        };
        if lane.dropping > 0
            && lane.queue.len() <= options.lane_capacity / 2
            && lane.bytes.load(Ordering::SeqCst) <= options.lane_bytes / 2
        {
            tracing::info!(
                provider = %key,
                dropped = lane.dropping,
                "delivery queue of provider {key} is below half its limits again"
            );
            lane.dropping = 0;
        }
        *lane.per_object.entry(job.subject.clone()).or_default() += 1;
        let ticket = Ticket {
            _bytes: reservation,
            stats: inner.stats.clone(),
            provider_type,
            settled: false,
            reason: None,
            lane_reason: lane.purge_reason.clone(),
        };
        lane.queue.push_back(Queued { job, ticket });
        lane.wake.notify_one();
        inner.stats.inc(&inner.stats.notifications_queued);
        Ok(())
    }
}

fn key_of(provider: &Provider) -> ObjectKey {
    ObjectKey {
        namespace: provider.namespace().unwrap_or_default(),
        name: provider.name_any(),
    }
}

async fn run_lane(inner: Arc<Inner>, key: ObjectKey, id: u64, wake: Arc<Notify>) {
    let slots = Arc::new(Semaphore::new(inner.options.lane_concurrency.max(1)));
    // Dropped with this task when the lane is purged: that aborts every
    // delivery in flight.
    let mut in_flight = JoinSet::new();
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let queued = loop {
            while in_flight.try_join_next().is_some() {}
            {
                let mut lanes = inner.lanes.lock().unwrap_or_else(|e| e.into_inner());
                match lanes.map.get_mut(&key) {
                    Some(lane) if lane.id == id => {
                        if let Some(q) = lane.pop() {
                            break q;
                        }
                    }
                    _ => return,
                }
            }
            if tokio::time::timeout(inner.options.lane_idle, wake.notified())
                .await
                .is_err()
            {
                while in_flight.try_join_next().is_some() {}
                if in_flight.is_empty() {
                    let mut lanes = inner.lanes.lock().unwrap_or_else(|e| e.into_inner());
                    // Submissions happen under this lock, so once the lane
                    // is out of the map nothing new can arrive.
                    if lanes
                        .map
                        .get(&key)
                        .is_some_and(|lane| lane.id == id && lane.queue.is_empty())
                    {
                        lanes.map.remove(&key);
                        return;
                    }
                }
            }
        };
        let inner = inner.clone();
        in_flight.spawn(deliver_queued(inner, queued, permit));
    }
}

async fn deliver_queued(inner: Arc<Inner>, queued: Queued, permit: OwnedSemaphorePermit) {
    let Queued { job, mut ticket } = queued;
    let outcome = deliver(&inner, &job).await;
    ticket.settle(outcome);
    drop(permit);
}

/// Sends `job` with its retries and reports the outcome.
async fn deliver(inner: &Inner, job: &Job) -> DeliveryOutcome {
    let outcome = match attempt_all(inner, job).await {
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
    inner.reporter.report(job, &outcome).await;
    // Counted after reporting (by the caller), so "settled" means statuses
    // are written too.
    match outcome {
        Outcome::Delivered => DeliveryOutcome::Delivered,
        Outcome::Failed(_) => DeliveryOutcome::Failed,
    }
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use ferroflux_api::notification::v1beta3::Provider;
    use reqwest::Method;
    use tokio::io::AsyncReadExt;

    use super::*;
    use crate::providers::render::ResponseCheck;

    /// A TCP peer that accepts connections and never answers; counts the
    /// connections accepted and those closed by the other side.
    struct Silent {
        url: Url,
        accepted: Arc<AtomicUsize>,
        closed: Arc<AtomicUsize>,
    }

    impl Silent {
        async fn start() -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a loopback port");
            let addr = listener.local_addr().expect("address");
            let accepted = Arc::new(AtomicUsize::new(0));
            let closed = Arc::new(AtomicUsize::new(0));
            let (a, c) = (accepted.clone(), closed.clone());
            tokio::spawn(async move {
                while let Ok((mut socket, _)) = listener.accept().await {
                    a.fetch_add(1, Ordering::SeqCst);
                    let c = c.clone();
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        // Read everything, answer nothing, until the client hangs up.
                        while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                        c.fetch_add(1, Ordering::SeqCst);
                    });
                }
            });
            Self {
                url: Url::parse(&format!("http://{addr}/")).expect("URL"),
                accepted,
                closed,
            }
        }
    }

    struct Recorder;

    impl Reporter for Recorder {
        fn report<'a>(&'a self, _job: &'a Job, _outcome: &'a Outcome) -> BoxFuture<'a, ()> {
            Box::pin(async {})
        }
    }

    fn provider(name: &str, uid: &str, generation: i64) -> Provider {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3",
            "kind": "Provider",
            "metadata": {"name": name, "namespace": "ns", "uid": uid, "generation": generation},
            "spec": {"type": "generic"},
        }))
        .expect("a Provider")
    }

    fn key(name: &str) -> ObjectKey {
        ObjectKey {
            namespace: "ns".into(),
            name: name.into(),
        }
    }

    fn job(p: &Provider, url: &Url, subject: &str, body: usize) -> Job {
        Job {
            provider: key(&p.name_any()),
            provider_type: ProviderType::Generic,
            alert: key("alert"),
            subject: subject.to_string(),
            request: Rendered {
                method: Method::POST,
                url: url.clone(),
                headers: Vec::new(),
                body: vec![b'x'; body],
                check: ResponseCheck::Status,
            },
            target: url.to_string(),
            proxy: None,
            tls: None,
            timeout: Duration::from_secs(600),
            secrets: Vec::new(),
            identity: ProviderIdentity::of(p),
        }
    }

    fn delivery(
        capacity: usize,
        lane_bytes: u64,
        total: u64,
    ) -> (Delivery, Arc<Stats>, Arc<ByteBudget>) {
        ferroflux_runtime::tls::install_crypto_provider();
        let stats = Arc::new(Stats::default());
        let budget = ByteBudget::new(total);
        let d = Delivery::new(
            DeliveryOptions {
                lane_capacity: capacity,
                lane_bytes,
                lane_concurrency: 1,
                lane_idle: Duration::from_secs(600),
                retry: RetryPolicy::default(),
            },
            HttpClients::new().expect("HTTP clients"),
            Arc::new(Recorder),
            stats.clone(),
            budget.clone(),
        );
        (d, stats, budget)
    }

    async fn until(what: &str, check: impl Fn() -> bool) {
        for _ in 0..2000 {
            if check() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("never happened: {what}");
    }

    const BODY: usize = 10_000;

    #[tokio::test]
    async fn queued_bytes_are_bounded_per_provider_and_in_total() {
        let peer = Silent::start().await;
        let (a, b) = (provider("a", "uid-a", 1), provider("b", "uid-b", 1));
        let size = job(&a, &peer.url, "GitRepository/ns/x", BODY).size();
        // Room for 3 notifications per lane, 5 in total; the count limit is
        // not what binds.
        let (d, stats, budget) = delivery(1000, 3 * size + size / 2, 5 * size + size / 2);
        d.provider_event(&watcher::Event::Apply(a.clone()));
        d.provider_event(&watcher::Event::Apply(b.clone()));

        for i in 0..10 {
            // One object per lane: nothing to displace, so the newest is dropped.
            let r = d.submit(job(&a, &peer.url, "GitRepository/ns/x", BODY));
            assert_eq!(r.is_ok(), i < 3, "notification {i} to a: {r:?}");
            if let Err(e) = r {
                assert_eq!(e.reason, DropReason::ProviderQueueFull);
                assert_eq!(e.first, i == 3, "only the first drop is reported");
            }
        }
        assert_eq!(d.lane_bytes(&key("a")), 3 * size);
        for i in 0..4 {
            let r = d.submit(job(&b, &peer.url, "GitRepository/ns/y", BODY));
            assert_eq!(r.is_ok(), i < 2, "notification {i} to b: {r:?}");
            if let Err(e) = r {
                assert_eq!(e.reason, DropReason::TotalQueueFull);
            }
        }
        assert_eq!(budget.used(), 5 * size);
        let s = stats.snapshot();
        assert_eq!(s.delivery_bytes, 5 * size);
        assert_eq!((s.notifications_queued, s.notifications_dropped), (5, 9));
        assert_eq!(stats.dropped_for(DropReason::ProviderQueueFull), 7);
        assert_eq!(stats.dropped_for(DropReason::TotalQueueFull), 2);
        // The bytes of a notification in flight still count: the first of
        // each lane is being sent and never answered.
        until("a delivery in flight on each lane", || {
            peer.accepted.load(Ordering::SeqCst) == 2
        })
        .await;
        assert_eq!(d.queued(&key("a")), 2);
        assert_eq!(budget.used(), 5 * size);
    }

    #[tokio::test]
    async fn a_deleted_or_changed_provider_loses_its_queue_and_deliveries() {
        let peer = Silent::start().await;
        let (a, b) = (provider("a", "uid-a", 1), provider("b", "uid-b", 1));
        let (d, stats, budget) = delivery(1000, 1 << 20, 4 << 20);
        d.provider_event(&watcher::Event::Apply(a.clone()));
        d.provider_event(&watcher::Event::Apply(b.clone()));
        for p in [&a, &b] {
            for i in 0..3 {
                let subject = format!("GitRepository/ns/{i}");
                d.submit(job(p, &peer.url, &subject, BODY)).expect("room");
            }
        }
        until("a delivery in flight on each lane", || {
            peer.accepted.load(Ordering::SeqCst) == 2
        })
        .await;
        let per_lane = d.lane_bytes(&key("a"));
        assert_eq!(budget.used(), 2 * per_lane);

        // Deleted: its queue (2) and its delivery in flight (1) are dropped,
        // the connection to the silent peer is closed, the bytes are back.
        d.provider_event(&watcher::Event::Delete(a.clone()));
        assert!(!d.has_lane(&key("a")));
        until("the in-flight delivery to a aborted", || {
            stats.dropped_for(DropReason::ProviderDeleted) == 3
        })
        .await;
        until("the connection of a closed", || {
            peer.closed.load(Ordering::SeqCst) == 1
        })
        .await;
        assert_eq!(budget.used(), per_lane);
        // A notification rendered before the deletion is refused.
        let late = d.submit(job(&a, &peer.url, "GitRepository/ns/0", BODY));
        assert_eq!(
            late.map_err(|e| e.reason).err(),
            Some(DropReason::ProviderDeleted)
        );
        assert!(!d.has_lane(&key("a")));

        // A status-only update (same generation) keeps the lane.
        d.provider_event(&watcher::Event::Apply(b.clone()));
        assert!(d.has_lane(&key("b")));
        // A spec change (new generation) drops it.
        let b2 = provider("b", "uid-b", 2);
        d.provider_event(&watcher::Event::Apply(b2.clone()));
        assert!(!d.has_lane(&key("b")));
        until("the in-flight delivery to b aborted", || {
            stats.dropped_for(DropReason::ProviderChanged) == 3
        })
        .await;
        assert_eq!(budget.used(), 0);
        assert_eq!(stats.snapshot().delivery_bytes, 0);
        // Rendered for the old spec: refused; for the new one: queued.
        let stale = d.submit(job(&b, &peer.url, "GitRepository/ns/0", BODY));
        assert_eq!(
            stale.map_err(|e| e.reason).err(),
            Some(DropReason::ProviderChanged)
        );
        d.submit(job(&b2, &peer.url, "GitRepository/ns/0", BODY))
            .expect("the new spec gets a new lane");
        assert_eq!(budget.used(), per_lane / 3);

        // Gone while the watch was down: dropped when the relist ends
        // without it.
        d.provider_event(&watcher::Event::Init);
        d.provider_event(&watcher::Event::InitDone);
        assert!(!d.has_lane(&key("b")));
        until("everything given back", || budget.used() == 0).await;
        let s = stats.snapshot();
        assert_eq!(s.notifications_queued, 7);
        assert_eq!(s.notifications_discarded, 7);
        assert!(s.is_settled(), "{s:?}");
    }

    #[tokio::test]
    async fn a_new_object_is_not_shut_out_by_a_flood_of_others() {
        let peer = Silent::start().await;
        let a = provider("a", "uid-a", 1);
        let (d, stats, _budget) = delivery(5, 1 << 20, 4 << 20);
        d.provider_event(&watcher::Event::Apply(a.clone()));
        d.submit(job(&a, &peer.url, "Kustomization/ns/first", 100))
            .expect("room");
        until("the first delivery in flight", || {
            peer.accepted.load(Ordering::SeqCst) == 1
        })
        .await;
        // A flood about many objects fills the lane (5 waiting) and goes on.
        for i in 0..100 {
            let subject = format!("GitRepository/ns/flood-{i}");
            d.submit(job(&a, &peer.url, &subject, 100))
                .expect("each new object pushes out the oldest");
        }
        assert_eq!(d.queued(&key("a")), 5);
        assert_eq!(stats.dropped_for(DropReason::Displaced), 95);
        // The real event right after gets in, pushing out the oldest flood entry.
        d.submit(job(&a, &peer.url, "Kustomization/ns/app", 100))
            .expect("a new object is never shut out");
        {
            let lanes = d.inner.lanes.lock().unwrap_or_else(|e| e.into_inner());
            let lane = lanes.map.get(&key("a")).expect("lane");
            let waiting: Vec<&str> = lane.queue.iter().map(|q| q.job.subject.as_str()).collect();
            assert_eq!(
                waiting,
                [
                    "GitRepository/ns/flood-96",
                    "GitRepository/ns/flood-97",
                    "GitRepository/ns/flood-98",
                    "GitRepository/ns/flood-99",
                    "Kustomization/ns/app"
                ]
            );
        }
        // One object flooding loses its own newest notifications, and
        // cannot push out other objects' single ones.
        let noisy = provider("noisy", "uid-n", 1);
        d.provider_event(&watcher::Event::Apply(noisy.clone()));
        let mut dropped = 0;
        for _ in 0..10 {
            if d.submit(job(&noisy, &peer.url, "HelmRelease/ns/noisy", 100))
                .is_err()
            {
                dropped += 1;
            }
        }
        // The noisy provider's lane: one in flight, five waiting, four dropped.
        until("the noisy lane's first delivery in flight", || {
            peer.accepted.load(Ordering::SeqCst) == 2
        })
        .await;
        assert!(dropped >= 4, "{dropped}");
        d.submit(job(&noisy, &peer.url, "HelmRelease/ns/quiet", 100))
            .expect("an object with nothing waiting displaces the noisy one");
        let lanes = d.inner.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let lane = lanes.map.get(&key("noisy")).expect("lane");
        assert_eq!(lane.per_object.get("HelmRelease/ns/quiet"), Some(&1));
        assert_eq!(lane.queue.len(), 5);
    }
}
