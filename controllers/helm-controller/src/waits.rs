//! Waiting for a release's objects, on watch events rather than a poll:
//! one watch per kind shared by every release (`ferroflux_ssa::HealthWatcher`)
//! wakes the wait whose objects changed; the wait then judges them again
//! with the release's own (possibly impersonated) client.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferroflux_ssa::health::Status;
use ferroflux_ssa::{HealthWatcher, Manager, ObjMeta, Resolver};
use futures::StreamExt;
use tokio::sync::Notify;

/// Shared waits of one controller.
#[derive(Clone)]
pub struct Waits {
    watcher: HealthWatcher<u64>,
    waiting: Arc<Mutex<HashMap<u64, Arc<Notify>>>>,
    next: Arc<AtomicU64>,
    /// How often a wait looks without an event (a safety net when the
    /// watches run; the pace when they cannot, e.g. on a remote cluster).
    pub safety_poll: Duration,
    /// The pace when no watch tells.
    pub poll: Duration,
}

/// Reconciles in progress by HelmRelease (`namespace/name`), with the
/// generation each started from: a newer generation seen by the watch
/// cancels the wait of the older one, so a release stuck waiting on a bad
/// revision gives way to the fix at once instead of at its timeout.
#[derive(Clone, Default)]
pub struct Cancels(Arc<Mutex<HashMap<String, Registered>>>);

/// The generation a reconcile started from, and how to cancel its wait.
type Registered = (i64, Arc<Notify>);

/// Unregisters a reconcile from [`Cancels`] when it ends.
pub struct CancelGuard {
    cancels: Cancels,
    key: String,
    /// Notified when a newer generation arrives.
    pub notify: Arc<Notify>,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        self.cancels
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

impl Cancels {
    /// Registers the reconcile of `key` at `generation`.
    pub fn begin(&self, key: &str, generation: i64) -> CancelGuard {
        let notify = Arc::new(Notify::new());
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), (generation, notify.clone()));
        CancelGuard {
            cancels: self.clone(),
            key: key.to_string(),
            notify,
        }
    }

    /// The watch saw `key` at `generation`: cancels an older reconcile's wait.
    pub fn observed(&self, key: &str, generation: i64) {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((g, n)) = m.get(key)
            && *g < generation
        {
            n.notify_one();
        }
    }
}

/// The message of a wait given up for a newer generation.
pub const CANCELLED: &str = "wait canceled: a newer generation of the HelmRelease arrived";

/// Forgets a wait when it ends, however it ends.
struct Registration<'a> {
    waits: &'a Waits,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.waits.watcher.forget(&self.id);
        self.waits
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

impl Waits {
    /// Waits whose watches go through `client` (the controller's own).
    pub fn new(client: kube::Client, resolver: Arc<Resolver>) -> Self {
        let (watcher, wakeups) = HealthWatcher::new(client, resolver);
        let waiting: Arc<Mutex<HashMap<u64, Arc<Notify>>>> = Arc::default();
        let dispatch = waiting.clone();
        tokio::spawn(async move {
            let mut wakeups = std::pin::pin!(wakeups);
            while let Some(id) = wakeups.next().await {
                let n = dispatch
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&id)
                    .cloned();
                if let Some(n) = n {
                    n.notify_one();
                }
            }
        });
        Waits {
            watcher,
            waiting,
            next: Arc::new(AtomicU64::new(1)),
            safety_poll: Duration::from_secs(30),
            poll: Duration::from_secs(1),
        }
    }

    /// Waits until every one of `objects` is ready as kstatus judges it
    /// through `manager`, failing at once when one has failed and when
    /// `timeout` runs out (naming those not ready). `watch` says whether
    /// the shared watches see these objects (the controller's own cluster).
    pub async fn until_ready(
        &self,
        manager: &Manager,
        objects: &[ObjMeta],
        timeout: Duration,
        watch: bool,
        cancel: Option<&Notify>,
    ) -> Result<(), String> {
        if objects.is_empty() {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let notify = Arc::new(Notify::new());
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, notify.clone());
        let _registration = Registration { waits: self, id };
        let mut pending: Vec<ObjMeta> = objects.to_vec();
        let mut watched = false;
        loop {
            let health = manager
                .health_of(&pending)
                .await
                .map_err(|e| e.to_string())?;
            let failed: Vec<String> = pending
                .iter()
                .zip(&health)
                .filter(|(_, h)| h.status == Status::Failed)
                .map(|(o, h)| format!("{o} status: 'Failed': {}", h.message))
                .collect();
            if !failed.is_empty() {
                return Err(failed.join("; "));
            }
            let (still, shown): (Vec<ObjMeta>, Vec<String>) = pending
                .iter()
                .zip(&health)
                .filter(|(_, h)| h.status != Status::Current)
                .map(|(o, h)| (o.clone(), format!("{o} status: '{:?}'", h.status)))
                .unzip();
            if still.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "timed out waiting for the condition: {}",
                    shown.join(", ")
                ));
            }
            if watch && (!watched || still.len() != pending.len()) {
                // Watch first, then look again: a change in between is
                // seen by one or the other.
                watched = self.watcher.watch(id, &still).await.unwrap_or(false);
                pending = still;
                continue;
            }
            pending = still;
            let pause = if watched { self.safety_poll } else { self.poll };
            let cancelled = async {
                match cancel {
                    Some(c) => c.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = cancelled => return Err(CANCELLED.to_string()),
                _ = notify.notified() => {}
                _ = tokio::time::sleep(pause) => {}
                _ = tokio::time::sleep_until(deadline) => {}
            }
        }
    }
}
