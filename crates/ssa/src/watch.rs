//! Readiness on events: one watch per kind, shared by every wait.
//!
//! A [`HealthWatcher`] starts a kube-runtime watcher for a kind the first
//! time a wait needs it and keeps it for the life of the process. Waiters
//! (a Kustomization, a HelmRelease; any key) say which objects they wait
//! for with [`HealthWatcher::watch`]; whenever the kstatus status of one of
//! those objects changes, the waiter's key comes out of the stream of
//! wake-ups, and the waiter judges the objects again. Nothing is polled.
//!
//! The watch is a trigger, not the verdict: it runs with the identity of
//! the client it was made with (the controller's own), and the caller
//! judges readiness again with its own client (possibly impersonating a
//! tenant), so a tenant learns nothing it could not read itself. Only the
//! kstatus status of objects somebody waits for is kept, not the objects.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use futures::{Stream, StreamExt};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::SsaError;
use crate::health::{self, Status};
use crate::object::ObjMeta;
use crate::resolve::Resolver;

/// Group and kind: what one watch serves.
type KindKey = (String, String);
/// Group, kind, namespace and name of a watched object.
type ObjKey = (String, String, String, String);

fn obj_key(o: &ObjMeta) -> ObjKey {
    (
        o.group.clone(),
        o.kind.clone(),
        o.namespace.clone(),
        o.name.clone(),
    )
}

/// Shared watches of the kinds waited on, waking waiters of type `W`.
pub struct HealthWatcher<W> {
    inner: Arc<Inner<W>>,
}

impl<W> Clone for HealthWatcher<W> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<W> {
    client: kube::Client,
    resolver: Arc<Resolver>,
    state: Mutex<State<W>>,
    wake: mpsc::UnboundedSender<W>,
}

struct State<W> {
    kinds: HashMap<KindKey, KindWatch>,
    /// Who waits for which object, and the object's last status seen.
    objects: HashMap<ObjKey, Watched<W>>,
    /// Which objects each waiter waits for.
    waiters: HashMap<W, Vec<ObjKey>>,
}

struct Watched<W> {
    waiters: HashSet<W>,
    last: Option<Status>,
}

struct KindWatch {
    /// The watch has listed the kind and is following it.
    synced: bool,
    task: JoinHandle<()>,
}

impl<W> Drop for Inner<W> {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        for k in state.kinds.values() {
            k.task.abort();
        }
    }
}

impl<W> HealthWatcher<W>
where
    W: Clone + Eq + Hash + Send + Sync + 'static,
{
    /// A watcher whose watches go through `client`, resolving kinds with
    /// `resolver`, and the stream of waiters to wake (a waiter may come out
    /// more than once; the stream ends when the watcher is dropped).
    pub fn new(
        client: kube::Client,
        resolver: Arc<Resolver>,
    ) -> (Self, impl Stream<Item = W> + Send + 'static) {
        let (tx, rx) = mpsc::unbounded_channel();
        let watcher = Self {
            inner: Arc::new(Inner {
                client,
                resolver,
                state: Mutex::new(State {
                    kinds: HashMap::new(),
                    objects: HashMap::new(),
                    waiters: HashMap::new(),
                }),
                wake: tx,
            }),
        };
        let wakeups =
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|w| (w, rx)) });
        (watcher, wakeups)
    }

    /// Wakes `waiter` when the status of any of `objects` changes (from
    /// now on, replacing what it waited for before), starting the watches
    /// of their kinds as needed. `Ok(true)` when every kind is watched and
    /// listed already, so events alone will tell; `Ok(false)` when a watch
    /// is still starting or failing (poll meanwhile; a watch that lists
    /// wakes every waiter of its kind).
    pub async fn watch(&self, waiter: W, objects: &[ObjMeta]) -> Result<bool, SsaError> {
        let mut missing: Vec<&ObjMeta> = Vec::new();
        {
            let mut state = self.lock();
            Self::unregister(&mut state, &waiter);
            let keys: Vec<ObjKey> = objects.iter().map(obj_key).collect();
            for k in &keys {
                state
                    .objects
                    .entry(k.clone())
                    .or_insert_with(|| Watched {
                        waiters: HashSet::new(),
                        last: None,
                    })
                    .waiters
                    .insert(waiter.clone());
            }
            state.waiters.insert(waiter, keys);
            for o in objects {
                let kind = (o.group.clone(), o.kind.clone());
                if !state.kinds.contains_key(&kind)
                    && !missing
                        .iter()
                        .any(|m| m.kind == o.kind && m.group == o.group)
                {
                    missing.push(o);
                }
            }
        }
        for o in missing {
            self.start(o).await?;
        }
        let state = self.lock();
        Ok(objects.iter().all(|o| {
            state
                .kinds
                .get(&(o.group.clone(), o.kind.clone()))
                .is_some_and(|k| k.synced)
        }))
    }

    /// Stops waking `waiter`.
    pub fn forget(&self, waiter: &W) {
        Self::unregister(&mut self.lock(), waiter);
    }

    /// How many kinds are watched (one watch each).
    pub fn watched_kinds(&self) -> usize {
        self.lock().kinds.len()
    }

    fn lock(&self) -> MutexGuard<'_, State<W>> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn unregister(state: &mut State<W>, waiter: &W) {
        let Some(keys) = state.waiters.remove(waiter) else {
            return;
        };
        for k in keys {
            if let Some(w) = state.objects.get_mut(&k) {
                w.waiters.remove(waiter);
                if w.waiters.is_empty() {
                    state.objects.remove(&k);
                }
            }
        }
    }

    /// Starts the watch of `o`'s kind (once).
    async fn start(&self, o: &ObjMeta) -> Result<(), SsaError> {
        let Some(resolved) = self
            .inner
            .resolver
            .resolve(&o.api_version(), &o.kind)
            .await?
        else {
            // Not served (yet): the waiter's own judgement says NotFound
            // and its poll looks again.
            return Ok(());
        };
        let kind = (o.group.clone(), o.kind.clone());
        let mut state = self.lock();
        if state.kinds.contains_key(&kind) {
            return Ok(());
        }
        let api: Api<DynamicObject> = Api::all_with(self.inner.client.clone(), &resolved.resource);
        let weak = Arc::downgrade(&self.inner);
        let task_kind = kind.clone();
        let task = tokio::spawn(async move {
            let mut events = watcher::watcher(api, watcher::Config::default())
                .default_backoff()
                .boxed();
            while let Some(event) = events.next().await {
                let Some(inner) = weak.upgrade() else { return };
                let this = HealthWatcher { inner };
                match event {
                    Ok(Event::Apply(obj) | Event::InitApply(obj)) => {
                        this.seen(&task_kind, &obj, false)
                    }
                    Ok(Event::Delete(obj)) => this.seen(&task_kind, &obj, true),
                    Ok(Event::Init) => {}
                    Ok(Event::InitDone) => this.listed(&task_kind),
                    Err(e) => {
                        tracing::debug!(group = %task_kind.0, kind = %task_kind.1, error = %e, "health watch");
                        if let Some(k) = this.lock().kinds.get_mut(&task_kind) {
                            k.synced = false;
                        }
                    }
                }
            }
        });
        tracing::debug!(group = %kind.0, kind = %kind.1, "watching for health checks");
        state.kinds.insert(
            kind,
            KindWatch {
                synced: false,
                task,
            },
        );
        Ok(())
    }

    /// An object of a watched kind changed: wakes its waiters when its
    /// status is new.
    fn seen(&self, kind: &KindKey, obj: &DynamicObject, deleted: bool) {
        let key = (
            kind.0.clone(),
            kind.1.clone(),
            obj.namespace().unwrap_or_default(),
            obj.name_any(),
        );
        let mut state = self.lock();
        let Some(watched) = state.objects.get_mut(&key) else {
            return;
        };
        let status = if deleted {
            Status::NotFound
        } else {
            match serde_json::to_value(obj) {
                Ok(v) => health::assess(&v).status,
                Err(_) => Status::Unknown,
            }
        };
        if watched.last == Some(status) {
            return;
        }
        watched.last = Some(status);
        for w in &watched.waiters {
            let _ = self.inner.wake.send(w.clone());
        }
    }

    /// A watch listed its kind: what changed while it was not following
    /// is unknown, so every waiter on the kind looks again.
    fn listed(&self, kind: &KindKey) {
        let mut state = self.lock();
        if let Some(k) = state.kinds.get_mut(kind) {
            k.synced = true;
        }
        let mut woken = HashSet::new();
        for (k, watched) in &state.objects {
            if k.0 == kind.0 && k.1 == kind.1 {
                woken.extend(watched.waiters.iter().cloned());
            }
        }
        for w in woken {
            let _ = self.inner.wake.send(w);
        }
    }
}
