//! What the dashboard knows: every Flux object across the watched
//! namespaces, summarised into a row (readiness, revision, message) plus the
//! links the graph needs (source, `dependsOn`, inventory), and the recent
//! Kubernetes Events of Flux objects. Kept in memory from watches, so a page
//! load never lists the cluster; bounded, so a huge or hostile cluster cannot
//! grow it without end.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Event;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::kinds::{self, FluxKind, Shape};

/// Most objects kept; past it new objects are left out and the overview says so.
pub const MAX_OBJECTS: usize = 50_000;
/// Most Events kept (the newest win).
pub const MAX_EVENTS: usize = 1_000;
/// Most inventory entries kept per object for the graph.
pub const MAX_INVENTORY: usize = 5_000;

/// Identity of a Flux object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjKey {
    /// The kind (`Kustomization`).
    pub kind: &'static str,
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
}

/// How an object is doing, in the order the overview lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Ready=False and not progressing: needs a human.
    Failing,
    /// Being reconciled, or not reconciled yet.
    Progressing,
    /// `spec.suspend`.
    Suspended,
    /// Ready=True for the current generation.
    Ready,
}

/// One overview row.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The kind.
    pub kind: &'static str,
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
    /// The Ready condition's status (`True`, `False`, `Unknown`).
    pub ready: String,
    /// The verdict the overview sorts and filters on.
    pub state: State,
    /// The revision (artifact, last applied, or chart version), whole.
    pub revision: String,
    /// `spec.suspend`.
    pub suspended: bool,
    /// The latest condition transition (else the creation time).
    pub last_change: String,
    /// The Ready condition's message.
    pub message: String,
    /// Whether a controller acts on `reconcile.fluxcd.io/requestedAt`.
    pub reconcilable: bool,
}

/// Another object, as a reference names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ref {
    /// The API group ("" for core).
    pub group: String,
    /// The version, when known.
    pub version: String,
    /// The kind.
    pub kind: String,
    /// The namespace ("" for cluster-scoped).
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl Ref {
    /// `Kind/namespace/name` (or `Kind/name`), the graph's node id.
    pub fn id(&self) -> String {
        node_id(&self.kind, &self.namespace, &self.name)
    }
}

/// The graph's id of an object.
pub fn node_id(kind: &str, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}/{namespace}/{name}")
    }
}

/// What an object points at.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Links {
    /// The source it reads (Kustomization, HelmRelease, HelmChart).
    pub source: Option<Ref>,
    /// `spec.dependsOn`.
    pub depends_on: Vec<Ref>,
    /// `status.inventory.entries`.
    pub inventory: Vec<Ref>,
}

/// One object as kept.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The summary.
    pub row: Row,
    /// The references.
    pub links: Links,
    /// The object as JSON text (without managedFields): parsed only when
    /// its page is opened, so the resident cost is the text.
    pub raw: Arc<str>,
}

/// A Kubernetes Event of a Flux object.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRec {
    #[serde(skip)]
    uid: String,
    /// When it last happened.
    pub time: String,
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The reason.
    pub reason: String,
    /// The message.
    pub message: String,
    /// The object's kind.
    pub kind: String,
    /// The object's namespace.
    pub namespace: String,
    /// The object's name.
    pub name: String,
    /// How many times it happened.
    pub count: i32,
}

/// A change pushed to live pages.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Change {
    /// An object was added or changed.
    Upsert {
        /// Its new row.
        row: Row,
    },
    /// An object is gone.
    Delete {
        /// Which.
        key: ObjKey,
    },
    /// A new or updated Event.
    Event {
        /// The event.
        event: EventRec,
    },
    /// Many things changed at once (a relist): reload everything.
    Reset,
}

#[derive(Default)]
struct Inner {
    objects: BTreeMap<ObjKey, Entry>,
    synced: HashSet<&'static str>,
    events: VecDeque<EventRec>,
    truncated: bool,
}

/// The shared state, written by the watches and read by the handlers.
pub struct Model {
    inner: RwLock<Inner>,
    tx: broadcast::Sender<Change>,
}

impl Default for Model {
    fn default() -> Self {
        Self::new()
    }
}

impl Model {
    /// An empty model.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Model {
            inner: RwLock::new(Inner::default()),
            tx,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Subscribes to changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }

    fn send(&self, c: Change) {
        // No page open: nobody to tell.
        let _ = self.tx.send(c);
    }

    /// Every row, failing first, then by kind, namespace and name.
    pub fn rows(&self) -> Vec<Row> {
        let inner = self.read();
        let mut rows: Vec<Row> = inner.objects.values().map(|e| e.row.clone()).collect();
        rows.sort_by(|a, b| {
            (a.state, a.kind, &a.namespace, &a.name).cmp(&(b.state, b.kind, &b.namespace, &b.name))
        });
        rows
    }

    /// Whether every kind's first list is done, and whether objects were left out.
    pub fn sync_state(&self) -> (bool, bool) {
        let inner = self.read();
        (inner.synced.len() >= kinds::ALL.len(), inner.truncated)
    }

    /// One object.
    pub fn get(&self, key: &ObjKey) -> Option<Entry> {
        self.read().objects.get(key).cloned()
    }

    /// The rows and links of every object matching `filter`.
    pub fn graph_entries(&self, filter: impl Fn(&Row) -> bool) -> Vec<(Row, Links)> {
        self.read()
            .objects
            .values()
            .filter(|e| filter(&e.row))
            .map(|e| (e.row.clone(), e.links.clone()))
            .collect()
    }

    /// The state of a Flux object, if it is known.
    pub fn state_of(&self, key: &ObjKey) -> Option<(State, String)> {
        self.read()
            .objects
            .get(key)
            .map(|e| (e.row.state, e.row.message.clone()))
    }

    /// The kept Events of one object, newest first.
    pub fn events_of(&self, kind: &str, namespace: &str, name: &str) -> Vec<EventRec> {
        let inner = self.read();
        let mut found: Vec<EventRec> = inner
            .events
            .iter()
            .filter(|e| e.kind == kind && e.namespace == namespace && e.name == name)
            .cloned()
            .collect();
        found.sort_by(|a, b| b.time.cmp(&a.time));
        found
    }

    /// Stores an object (from a watch).
    pub fn upsert(&self, kind: &FluxKind, obj: &Value) {
        let Some(entry) = entry(kind, obj) else {
            return;
        };
        let key = ObjKey {
            kind: kind.kind,
            namespace: entry.row.namespace.clone(),
            name: entry.row.name.clone(),
        };
        let row = entry.row.clone();
        {
            let mut inner = self.write();
            if !inner.objects.contains_key(&key) && inner.objects.len() >= MAX_OBJECTS {
                inner.truncated = true;
                return;
            }
            inner.objects.insert(key, entry);
        }
        self.send(Change::Upsert { row });
    }

    /// Forgets an object (from a watch).
    pub fn delete(&self, kind: &FluxKind, obj: &Value) {
        let key = ObjKey {
            kind: kind.kind,
            namespace: kinds::str_at(&obj["metadata"]["namespace"]).to_string(),
            name: kinds::str_at(&obj["metadata"]["name"]).to_string(),
        };
        if self.write().objects.remove(&key).is_some() {
            self.send(Change::Delete { key });
        }
    }

    /// Replaces every object of a kind (a watch's full list).
    pub fn replace_kind(&self, kind: &FluxKind, objs: Vec<Value>) {
        {
            let mut inner = self.write();
            inner.objects.retain(|k, _| k.kind != kind.kind);
            for obj in &objs {
                if inner.objects.len() >= MAX_OBJECTS {
                    inner.truncated = true;
                    break;
                }
                if let Some(e) = entry(kind, obj) {
                    let key = ObjKey {
                        kind: kind.kind,
                        namespace: e.row.namespace.clone(),
                        name: e.row.name.clone(),
                    };
                    inner.objects.insert(key, e);
                }
            }
            inner.synced.insert(kind.kind);
        }
        self.send(Change::Reset);
    }

    /// Marks a kind as listed although it could not be (its CRD is not
    /// served, or RBAC forbids it), so the overview does not wait for it.
    pub fn give_up_on(&self, kind: &FluxKind) {
        self.write().synced.insert(kind.kind);
    }

    /// Stores an Event if it is about a Flux object.
    pub fn record_event(&self, e: &Event) {
        let Some(rec) = event_rec(e) else {
            return;
        };
        {
            let mut inner = self.write();
            if let Some(old) = inner.events.iter_mut().find(|o| o.uid == rec.uid) {
                *old = rec.clone();
            } else {
                if inner.events.len() >= MAX_EVENTS {
                    inner.events.pop_front();
                }
                inner.events.push_back(rec.clone());
            }
        }
        self.send(Change::Event { event: rec });
    }
}

/// Whether `api_version` is one of Flux's groups.
fn is_flux_api(api_version: &str) -> bool {
    let group = api_version.split('/').next().unwrap_or("");
    group.ends_with(".toolkit.fluxcd.io") || group.ends_with(".extensions.fluxcd.io")
}

fn event_rec(e: &Event) -> Option<EventRec> {
    let inv = &e.involved_object;
    if !is_flux_api(inv.api_version.as_deref().unwrap_or("")) {
        return None;
    }
    let time = e
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref())
        .map(|t| t.0.to_string())
        .or(e.last_timestamp.as_ref().map(|t| t.0.to_string()))
        .or(e.event_time.as_ref().map(|t| t.0.to_string()))
        .or(e
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.to_string()))
        .unwrap_or_default();
    Some(EventRec {
        uid: e.metadata.uid.clone().unwrap_or_default(),
        time,
        type_: e.type_.clone().unwrap_or_default(),
        reason: e.reason.clone().unwrap_or_default(),
        message: e.message.clone().unwrap_or_default(),
        kind: inv.kind.clone().unwrap_or_default(),
        namespace: inv.namespace.clone().unwrap_or_default(),
        name: inv.name.clone().unwrap_or_default(),
        count: e.count.unwrap_or(1),
    })
}

/// The row of an object.
pub fn row(kind: &FluxKind, obj: &Value) -> Row {
    let (ready, message) = kind.ready(obj);
    let suspended = obj["spec"]["suspend"].as_bool().unwrap_or(false);
    let cond = |t: &str| kinds::condition(obj, t).map(|c| kinds::str_at(&c["status"]));
    let generation = obj["metadata"]["generation"].as_i64();
    let observed = obj["status"]["observedGeneration"].as_i64();
    let stale = matches!((generation, observed), (Some(g), Some(o)) if o < g);
    let state = if suspended {
        State::Suspended
    } else {
        match ready.as_str() {
            "True" if stale || cond("Reconciling") == Some("True") => State::Progressing,
            "True" => State::Ready,
            "False" if cond("Stalled") == Some("True") => State::Failing,
            "False" if cond("Reconciling") == Some("True") => State::Progressing,
            // Ready=False with no condition at all is "not reconciled yet".
            "False" if kinds::condition(obj, "Ready").is_none() => State::Progressing,
            "False" => State::Failing,
            _ => State::Progressing,
        }
    };
    // The message whole: the page shortens what it shows, not the data.
    let message = kinds::condition(obj, "Ready")
        .map(|c| kinds::str_at(&c["message"]).to_string())
        .unwrap_or(message);
    let last_change = obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["lastTransitionTime"].as_str())
        .max()
        .unwrap_or_else(|| kinds::str_at(&obj["metadata"]["creationTimestamp"]))
        .to_string();
    Row {
        kind: kind.kind,
        namespace: kinds::str_at(&obj["metadata"]["namespace"]).to_string(),
        name: kinds::str_at(&obj["metadata"]["name"]).to_string(),
        ready,
        state,
        revision: revision(kind, obj),
        suspended,
        last_change,
        message,
        reconcilable: kind.reconcilable,
    }
}

/// The revision, whole (the CLI's column shortens hashes; the page does).
fn revision(kind: &FluxKind, obj: &Value) -> String {
    let status = &obj["status"];
    match kind.shape {
        Shape::Source => kinds::str_at(&status["artifact"]["revision"]).to_string(),
        Shape::Kustomization => kinds::str_at(&status["lastAppliedRevision"]).to_string(),
        _ => kind.revision(obj),
    }
}

fn reference(r: &Value, default_ns: &str, default_group: &str) -> Option<Ref> {
    let kind = r["kind"].as_str()?;
    let name = r["name"].as_str()?;
    let ns = r["namespace"].as_str().unwrap_or(default_ns);
    let (group, version) = match r["apiVersion"].as_str() {
        Some(av) => match av.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), av.to_string()),
        },
        None => (default_group.to_string(), String::new()),
    };
    Some(Ref {
        group,
        version,
        kind: kind.to_string(),
        namespace: ns.to_string(),
        name: name.to_string(),
    })
}

/// The links of an object.
pub fn links(kind: &FluxKind, obj: &Value) -> Links {
    let ns = kinds::str_at(&obj["metadata"]["namespace"]);
    let spec = &obj["spec"];
    let source = match kind.shape {
        Shape::HelmRelease if spec["chartRef"].is_object() => {
            reference(&spec["chartRef"], ns, "source.toolkit.fluxcd.io")
        }
        Shape::HelmRelease => reference(
            &spec["chart"]["spec"]["sourceRef"],
            ns,
            "source.toolkit.fluxcd.io",
        ),
        _ => reference(&spec["sourceRef"], ns, "source.toolkit.fluxcd.io"),
    };
    let depends_on = spec["dependsOn"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let name = d["name"].as_str()?;
            Some(Ref {
                group: kind.group.to_string(),
                version: kind.version.to_string(),
                kind: d["kind"].as_str().unwrap_or(kind.kind).to_string(),
                namespace: d["namespace"].as_str().unwrap_or(ns).to_string(),
                name: name.to_string(),
            })
        })
        .collect();
    let inventory = obj["status"]["inventory"]["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .take(MAX_INVENTORY)
        .filter_map(|e| {
            let r = crate::tree::ObjRef::parse_inventory_id(e["id"].as_str()?)?;
            Some(Ref {
                group: r.group_kind.group,
                version: kinds::str_at(&e["v"]).to_string(),
                kind: r.group_kind.kind,
                namespace: r.namespace,
                name: r.name,
            })
        })
        .collect();
    Links {
        source,
        depends_on,
        inventory,
    }
}

fn entry(kind: &FluxKind, obj: &Value) -> Option<Entry> {
    obj["metadata"]["name"].as_str()?;
    let mut obj = obj.clone();
    if let Some(meta) = obj["metadata"].as_object_mut() {
        meta.remove("managedFields");
    }
    Some(Entry {
        row: row(kind, &obj),
        links: links(kind, &obj),
        raw: Arc::from(serde_json::to_string(&obj).unwrap_or_default()),
    })
}

/// Keeps the model equal to the cluster: one watch per Flux kind and one of
/// Events, each restarted with kube's backoff when it fails. Runs until the
/// returned handles are dropped or aborted.
pub fn spawn_watches(
    model: Arc<Model>,
    client: kube::Client,
    namespace: Option<String>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles = Vec::new();
    for kind in kinds::ALL {
        let model = model.clone();
        let api = kind.api(&client, namespace.as_deref());
        handles.push(tokio::spawn(async move {
            watch_kind(model, *kind, api).await;
        }));
    }
    let events: Api<Event> = match &namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    handles.push(tokio::spawn(async move {
        let mut stream = watcher(events, watcher::Config::default())
            .default_backoff()
            .boxed();
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(watcher::Event::Apply(e) | watcher::Event::InitApply(e)) => {
                    model.record_event(&e)
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("watching Events: {e}"),
            }
        }
    }));
    handles
}

async fn watch_kind(model: Arc<Model>, kind: FluxKind, api: Api<kube::api::DynamicObject>) {
    let mut stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut pending: Vec<Value> = Vec::new();
    let mut warned = false;
    while let Some(ev) = stream.next().await {
        match ev {
            Ok(watcher::Event::Init) => pending.clear(),
            Ok(watcher::Event::InitApply(o)) => pending.push(kinds::to_json(&kind, &o)),
            Ok(watcher::Event::InitDone) => {
                model.replace_kind(&kind, std::mem::take(&mut pending));
                warned = false;
            }
            Ok(watcher::Event::Apply(o)) => model.upsert(&kind, &kinds::to_json(&kind, &o)),
            Ok(watcher::Event::Delete(o)) => model.delete(&kind, &kinds::to_json(&kind, &o)),
            Err(e) => {
                // A kind the server does not serve, or one RBAC hides, must
                // not keep the overview waiting; the watch keeps retrying.
                model.give_up_on(&kind);
                if !warned {
                    tracing::warn!("watching {}: {e}", kind.kind);
                    warned = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ks(name: &str, conditions: Value, suspend: bool) -> Value {
        json!({
            "metadata": {"name": name, "namespace": "apps", "generation": 2},
            "spec": {"suspend": suspend, "sourceRef": {"kind": "GitRepository", "name": "repo", "namespace": "flux-system"},
                     "dependsOn": [{"name": "infra"}]},
            "status": {"observedGeneration": 2, "conditions": conditions, "lastAppliedRevision": "main@sha1:abc",
                       "inventory": {"entries": [{"id": "apps_web_apps_Deployment", "v": "v1"}, {"id": "bad", "v": "v1"}]}}
        })
    }

    fn cond(t: &str, s: &str, msg: &str) -> Value {
        json!({"type": t, "status": s, "message": msg, "reason": "R", "lastTransitionTime": "2026-01-01T00:00:00Z"})
    }

    #[test]
    fn states_follow_the_conditions() {
        let k = kinds::KUSTOMIZATION;
        let r = row(&k, &ks("a", json!([cond("Ready", "True", "ok")]), false));
        assert_eq!(
            (r.state, r.revision.as_str()),
            (State::Ready, "main@sha1:abc")
        );
        let r = row(
            &k,
            &ks(
                "a",
                json!([cond("Ready", "False", "kustomization path not found")]),
                false,
            ),
        );
        assert_eq!(r.state, State::Failing);
        assert_eq!(r.message, "kustomization path not found");
        let r = row(
            &k,
            &ks(
                "a",
                json!([cond("Ready", "False", "x"), cond("Reconciling", "True", "")]),
                false,
            ),
        );
        assert_eq!(r.state, State::Progressing);
        let r = row(
            &k,
            &ks(
                "a",
                json!([cond("Ready", "False", "x"), cond("Stalled", "True", "")]),
                false,
            ),
        );
        assert_eq!(r.state, State::Failing);
        let r = row(&k, &ks("a", json!([cond("Ready", "False", "x")]), true));
        assert_eq!(r.state, State::Suspended);
        assert_eq!(
            row(&k, &ks("a", json!([]), false)).state,
            State::Progressing
        );
        // An older generation's Ready=True is not ready yet.
        let mut stale = ks("a", json!([cond("Ready", "True", "ok")]), false);
        stale["metadata"]["generation"] = json!(3);
        assert_eq!(row(&k, &stale).state, State::Progressing);
        // Garbage in fields is not a panic.
        let r = row(
            &k,
            &json!({"metadata": {"name": 3}, "status": {"conditions": "x"}}),
        );
        assert_eq!(r.state, State::Progressing);
    }

    #[test]
    fn links_name_source_dependencies_and_inventory() {
        let l = links(&kinds::KUSTOMIZATION, &ks("a", json!([]), false));
        assert_eq!(l.source.unwrap().id(), "GitRepository/flux-system/repo");
        assert_eq!(l.depends_on[0].id(), "Kustomization/apps/infra");
        assert_eq!(l.inventory.len(), 1, "the malformed id is skipped");
        assert_eq!(l.inventory[0].id(), "Deployment/apps/web");
        assert_eq!(l.inventory[0].group, "apps");
        let hr = json!({"metadata": {"name": "h", "namespace": "n"},
            "spec": {"chart": {"spec": {"sourceRef": {"kind": "HelmRepository", "name": "charts"}}}}});
        assert_eq!(
            links(&kinds::HELM_RELEASE, &hr).source.unwrap().id(),
            "HelmRepository/n/charts"
        );
    }

    #[test]
    fn the_model_sorts_failing_first_and_bounds_events() {
        let m = Model::new();
        let k = kinds::KUSTOMIZATION;
        m.upsert(&k, &ks("b-ok", json!([cond("Ready", "True", "ok")]), false));
        m.upsert(
            &k,
            &ks("z-bad", json!([cond("Ready", "False", "boom")]), false),
        );
        let names: Vec<String> = m.rows().into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["z-bad", "b-ok"]);
        m.delete(&k, &ks("z-bad", json!([]), false));
        assert_eq!(m.rows().len(), 1);
        m.replace_kind(&k, vec![]);
        assert!(m.rows().is_empty());
        for i in 0..(MAX_EVENTS + 10) {
            let e: Event = serde_json::from_value(json!({
                "metadata": {"name": format!("e{i}"), "namespace": "apps", "uid": format!("u{i}")},
                "involvedObject": {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "name": "a", "namespace": "apps"},
                "reason": "R", "message": format!("m{i}"), "type": "Normal"
            })).unwrap();
            m.record_event(&e);
        }
        let not_flux: Event = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "apps", "uid": "p"},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "a", "namespace": "apps"}
        }))
        .unwrap();
        m.record_event(&not_flux);
        let evs = m.events_of("Kustomization", "apps", "a");
        assert_eq!(evs.len(), MAX_EVENTS);
        assert!(m.events_of("Pod", "apps", "a").is_empty());
    }
}
