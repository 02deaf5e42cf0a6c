//! The object store: every object by (group, resource, namespace, name), a
//! global increasing resourceVersion, and a bounded history of changes that
//! watches replay from.
//!
//! Objects and the history are kept as the JSON text watches send (made once
//! per change, shared by the stored object, the history and every live watch),
//! never as parsed objects: a parsed `serde_json::Value` takes 12 to 16 times
//! its text (a B-tree node per map, however small; managedFields are mostly
//! small maps), which at 15,000 objects was most of testenv's memory. Reads
//! parse the text again (a few microseconds per object); reads that only send
//! the object on ([`Store::get_stored`], [`Store::list_stored`]) copy the text.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::selectors::selector_view;

/// Where an object is stored.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// API group (`""` for core).
    pub group: String,
    /// Plural resource name.
    pub plural: String,
    /// Namespace (`""` for cluster-scoped objects).
    pub namespace: String,
    /// Object name.
    pub name: String,
}

impl Key {
    /// A key from its parts.
    pub fn new(group: &str, plural: &str, namespace: &str, name: &str) -> Self {
        Self {
            group: group.into(),
            plural: plural.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

/// A stored object: its JSON text and what reads need without parsing it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The object as JSON text (the same bytes its last watch event sent).
    pub json: Bytes,
    /// The object's `apiVersion` and `kind`.
    pub type_meta: Arc<(String, String)>,
    /// What selectors can see of the object (see [`crate::selectors::selector_view`]).
    pub view: Arc<Value>,
    /// `metadata.uid`, for owner-reference garbage collection.
    uid: Option<Box<str>>,
    /// The uids of `metadata.ownerReferences`.
    owners: Box<[Box<str>]>,
}

impl Stored {
    fn new(obj: &Value) -> Self {
        let str_of = |f: &str| obj[f].as_str().unwrap_or("").to_string();
        let meta = &obj["metadata"];
        Self {
            json: to_json(obj),
            type_meta: Arc::new((str_of("apiVersion"), str_of("kind"))),
            view: Arc::new(selector_view(obj)),
            uid: meta["uid"].as_str().map(Into::into),
            owners: meta["ownerReferences"]
                .as_array()
                .map(|refs| {
                    refs.iter()
                        .filter_map(|r| r["uid"].as_str().map(Into::into))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The object, parsed from its text.
    pub fn object(&self) -> Value {
        parse(&self.json)
    }
}

/// The type of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// The object was created.
    Added,
    /// The object changed.
    Modified,
    /// The object was removed.
    Deleted,
}

impl EventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as watches see it and the history keeps it: the object as
/// JSON text and what selectors see of it, never the parsed object (which
/// the store drops as soon as a newer version replaces it).
#[derive(Debug, Clone)]
pub struct Event {
    /// The resourceVersion the change produced.
    pub rv: u64,
    /// What happened.
    pub type_: EventType,
    /// Where the object lives.
    pub key: Key,
    /// The object after the change (for deletes: its last state, with the
    /// delete's resourceVersion) as JSON text, serialized once for every watch.
    pub json: Bytes,
    /// The object's `apiVersion` and `kind`.
    pub type_meta: Arc<(String, String)>,
    /// What selectors can see of the object after the change (name, namespace,
    /// labels and the selectable fields, see [`crate::selectors::selector_view`]).
    pub view: Arc<Value>,
    /// The same of the object before the change, for modifications (selector
    /// transitions) and deletes.
    pub previous: Option<Arc<Value>>,
    /// Bytes this event keeps alive (see [`Event::new`]).
    pub size: usize,
}

impl Event {
    fn new(
        rv: u64,
        type_: EventType,
        key: Key,
        stored: &Stored,
        previous: Option<&Stored>,
    ) -> Self {
        let previous = previous.map(|p| p.view.clone());
        let size = std::mem::size_of::<Event>()
            + stored.json.len()
            + key.group.len()
            + key.plural.len()
            + key.namespace.len()
            + key.name.len()
            + stored.type_meta.0.len()
            + stored.type_meta.1.len()
            + approx_size(&stored.view)
            + previous.as_deref().map_or(0, approx_size);
        Self {
            rv,
            type_,
            key,
            json: stored.json.clone(),
            type_meta: stored.type_meta.clone(),
            view: stored.view.clone(),
            previous,
            size,
        }
    }

    /// The object, parsed from its text.
    pub fn object(&self) -> Value {
        parse(&self.json)
    }
}

/// What a watch starts from: the events to replay, and a receiver for
/// everything after them.
pub type WatchStart = (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>);

/// How many past changes watches can resume from; older resourceVersions get 410 Gone.
pub const DEFAULT_HISTORY: usize = 10_000;

/// How many bytes the history may keep (the objects' JSON text, their keys
/// and the previous selector views); the oldest events go first, as with
/// [`DEFAULT_HISTORY`] (410 Gone for them).
pub const DEFAULT_HISTORY_BYTES: usize = 32 << 20;

struct Inner {
    objects: BTreeMap<Key, Stored>,
    /// The uids of the stored objects (owner-reference garbage collection asks).
    uids: HashSet<Box<str>>,
    rv: u64,
    history: VecDeque<Arc<Event>>,
    history_cap: usize,
    history_bytes: usize,
    history_max_bytes: usize,
    /// The resourceVersion of the last change of each API group.
    group_rv: HashMap<String, u64>,
    /// Groups whose watch events are held back ([`Store::hold_watches`]).
    held_groups: HashSet<String>,
    held: Vec<Arc<Event>>,
}

/// Roughly how many heap bytes a JSON value takes: its strings and keys plus
/// a fixed cost per node (an undercount for maps, whose tree nodes hold room
/// for several entries). Cheap enough to run on every write.
pub fn approx_size(v: &Value) -> usize {
    const NODE: usize = 32;
    NODE + match v {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(approx_size).sum(),
        Value::Object(m) => m.iter().map(|(k, v)| NODE + k.len() + approx_size(v)).sum(),
        _ => 0,
    }
}

/// The store, shared by every request handler.
pub struct Store {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Arc<Event>>,
}

impl Store {
    /// An empty store keeping `history_cap` past events (and at most
    /// [`DEFAULT_HISTORY_BYTES`] of them).
    pub fn new(history_cap: usize) -> Self {
        Self::with_limits(history_cap, DEFAULT_HISTORY_BYTES)
    }

    /// An empty store keeping at most `history_cap` past events and
    /// `history_max_bytes` bytes of them (the newest event is always kept).
    pub fn with_limits(history_cap: usize, history_max_bytes: usize) -> Self {
        let (tx, _) = broadcast::channel(4096);
        Self {
            inner: Mutex::new(Inner {
                objects: BTreeMap::new(),
                uids: HashSet::new(),
                rv: 1,
                history: VecDeque::new(),
                history_cap: history_cap.max(1),
                history_bytes: 0,
                history_max_bytes,
                group_rv: HashMap::new(),
                held_groups: HashSet::new(),
                held: Vec::new(),
            }),
            tx,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a transaction: reads and writes under one lock; events are
    /// published when it ends.
    pub fn txn(&self) -> Txn<'_> {
        Txn {
            inner: self.lock(),
            tx: &self.tx,
        }
    }

    /// The current resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// One object.
    pub fn get(&self, key: &Key) -> Option<Arc<Value>> {
        let stored = self.get_stored(key)?;
        Some(Arc::new(stored.object()))
    }

    /// One object as stored (its text, not parsed).
    pub fn get_stored(&self, key: &Key) -> Option<Stored> {
        self.lock().objects.get(key).cloned()
    }

    /// Holds back the watch events of API group `group` (the history still
    /// records them, and reads see the changes) until
    /// [`Store::release_watches`]: a watch cache lagging behind the writes, as
    /// kube-apiserver's may, for tests of what a controller does with a stale
    /// cache.
    pub fn hold_watches(&self, group: &str) {
        self.lock().held_groups.insert(group.to_string());
    }

    /// Sends the held watch events, in order, and holds no more.
    pub fn release_watches(&self) {
        let mut inner = self.lock();
        inner.held_groups.clear();
        for event in std::mem::take(&mut inner.held) {
            // No receivers is fine: nobody is watching.
            let _ = self.tx.send(event);
        }
    }

    /// The resourceVersion of the last change to an object of API group
    /// `group` (0 if none): caches of a group's objects are fresh while it stays the same.
    pub fn group_rv(&self, group: &str) -> u64 {
        self.lock().group_rv.get(group).copied().unwrap_or(0)
    }

    /// How many events the history keeps, and the bytes they keep alive.
    pub fn history_usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.history.len(), inner.history_bytes)
    }

    /// Every object of a resource (in one namespace, or all), sorted by
    /// namespace and name, with the resourceVersion of the snapshot.
    pub fn list(
        &self,
        group: &str,
        plural: &str,
        namespace: Option<&str>,
    ) -> (Vec<Arc<Value>>, u64) {
        let (stored, rv) = self.list_stored(group, plural, namespace);
        (parse_all(&stored), rv)
    }

    /// As [`Store::list`], the objects as stored (their text, not parsed;
    /// parsing happens outside the store's lock).
    pub fn list_stored(
        &self,
        group: &str,
        plural: &str,
        namespace: Option<&str>,
    ) -> (Vec<Stored>, u64) {
        let inner = self.lock();
        (list_in(&inner.objects, group, plural, namespace), inner.rv)
    }

    /// Events after `rv` (which must still be in history) and a receiver for
    /// everything after them, taken atomically so nothing is missed.
    /// `None` for `rv` means "from now, with the current objects as ADDED".
    pub fn watch(
        &self,
        group: &str,
        plural: &str,
        from: Option<u64>,
    ) -> Result<WatchStart, (u64, u64)> {
        let inner = self.lock();
        let rx = self.tx.subscribe();
        let Some(rv) = from else {
            let start = Key::new(group, plural, "", "");
            let replay = inner
                .objects
                .range(start..)
                .take_while(|(k, _)| k.group == group && k.plural == plural)
                .map(|(k, o)| Arc::new(Event::new(0, EventType::Added, k.clone(), o, None)))
                .collect();
            return Ok((replay, rx));
        };
        let oldest = inner.history.front().map(|e| e.rv).unwrap_or(inner.rv);
        // Resuming is possible when every change after `rv` is still kept.
        if rv + 1 < oldest && rv < inner.rv {
            return Err((rv, oldest.saturating_sub(1)));
        }
        let replay = inner
            .history
            .iter()
            .filter(|e| e.rv > rv && e.key.group == group && e.key.plural == plural)
            .cloned()
            .collect();
        Ok((replay, rx))
    }
}

/// An object as JSON text.
fn to_json(obj: &Value) -> Bytes {
    // Serializing a Value cannot fail (its map keys are strings).
    Bytes::from(serde_json::to_vec(obj).unwrap_or_default())
}

/// Parses stored text (serialized from a `Value`, so it parses).
fn parse(json: &[u8]) -> Value {
    serde_json::from_slice(json).unwrap_or(Value::Null)
}

fn parse_all(stored: &[Stored]) -> Vec<Arc<Value>> {
    stored.iter().map(|s| Arc::new(s.object())).collect()
}

fn list_in(
    objects: &BTreeMap<Key, Stored>,
    group: &str,
    plural: &str,
    namespace: Option<&str>,
) -> Vec<Stored> {
    let start = Key::new(group, plural, namespace.unwrap_or(""), "");
    objects
        .range(start..)
        .take_while(|(k, _)| {
            k.group == group && k.plural == plural && namespace.is_none_or(|ns| k.namespace == ns)
        })
        .map(|(_, v)| v.clone())
        .collect()
}

/// Reads and writes under the store's lock.
pub struct Txn<'a> {
    inner: MutexGuard<'a, Inner>,
    tx: &'a broadcast::Sender<Arc<Event>>,
}

impl Txn<'_> {
    /// One object.
    pub fn get(&self, key: &Key) -> Option<Arc<Value>> {
        self.inner.objects.get(key).map(|s| Arc::new(s.object()))
    }

    /// Whether the object at `key` exists (without parsing it).
    pub fn contains(&self, key: &Key) -> bool {
        self.inner.objects.contains_key(key)
    }

    /// Every object of a resource, as [`Store::list`].
    pub fn list(&self, group: &str, plural: &str, namespace: Option<&str>) -> Vec<Arc<Value>> {
        parse_all(&list_in(&self.inner.objects, group, plural, namespace))
    }

    /// Whether an object with this uid is stored.
    pub fn has_uid(&self, uid: &str) -> bool {
        self.inner.uids.contains(uid)
    }

    /// The keys of the objects with an owner reference to `owner_uid`, each
    /// with the uids of all its owners.
    pub fn dependents(&self, owner_uid: &str) -> Vec<(Key, Vec<String>)> {
        self.inner
            .objects
            .iter()
            .filter(|(_, s)| s.owners.iter().any(|o| &**o == owner_uid))
            .map(|(k, s)| (k.clone(), s.owners.iter().map(|o| o.to_string()).collect()))
            .collect()
    }

    /// Every key in the store (for garbage collection and namespace deletion).
    pub fn keys(&self) -> Vec<Key> {
        self.inner.objects.keys().cloned().collect()
    }

    /// The current resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.inner.rv
    }

    /// Stores `obj` under `key` with a new resourceVersion; returns what was stored.
    pub fn put(&mut self, key: Key, mut obj: Value) -> Arc<Value> {
        self.inner.rv += 1;
        let rv = self.inner.rv;
        obj["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        let stored = Stored::new(&obj);
        if let Some(uid) = &stored.uid {
            self.inner.uids.insert(uid.clone());
        }
        let previous = self.inner.objects.insert(key.clone(), stored.clone());
        if let Some(old) = previous.as_ref().and_then(|p| p.uid.as_ref())
            && stored.uid.as_ref() != Some(old)
        {
            self.inner.uids.remove(old);
        }
        let type_ = if previous.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.publish(Event::new(rv, type_, key, &stored, previous.as_ref()));
        Arc::new(obj)
    }

    /// Removes the object under `key`; returns its last state.
    pub fn remove(&mut self, key: &Key) -> Option<Arc<Value>> {
        let old = self.inner.objects.remove(key)?;
        if let Some(uid) = &old.uid {
            self.inner.uids.remove(uid);
        }
        self.inner.rv += 1;
        let rv = self.inner.rv;
        let mut last = old.object();
        last["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        let gone = Stored::new(&last);
        self.publish(Event::new(
            rv,
            EventType::Deleted,
            key.clone(),
            &gone,
            Some(&old),
        ));
        Some(Arc::new(last))
    }

    fn publish(&mut self, event: Event) {
        let inner = &mut *self.inner;
        match inner.group_rv.get_mut(&event.key.group) {
            Some(rv) => *rv = event.rv,
            None => {
                inner.group_rv.insert(event.key.group.clone(), event.rv);
            }
        }
        let event = Arc::new(event);
        inner.history_bytes += event.size;
        inner.history.push_back(event.clone());
        while inner.history.len() > inner.history_cap
            || (inner.history_bytes > inner.history_max_bytes && inner.history.len() > 1)
        {
            let Some(old) = inner.history.pop_front() else {
                break;
            };
            inner.history_bytes -= old.size;
        }
        if inner.held_groups.contains(&event.key.group) {
            inner.held.push(event);
            return;
        }
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(ns: &str, name: &str) -> Value {
        json!({"metadata": {"namespace": ns, "name": name}})
    }

    #[test]
    fn resource_versions_increase_globally() {
        let store = Store::new(10);
        let mut t = store.txn();
        let a = t.put(Key::new("", "configmaps", "a", "x"), obj("a", "x"));
        let b = t.put(Key::new("apps", "deployments", "a", "y"), obj("a", "y"));
        let ra: u64 = a["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let rb: u64 = b["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(rb > ra);
        assert_eq!(t.current_rv(), rb);
    }

    #[test]
    fn list_is_scoped_and_sorted() {
        let store = Store::new(10);
        let mut t = store.txn();
        for (ns, name) in [("b", "2"), ("a", "9"), ("b", "1")] {
            t.put(Key::new("", "configmaps", ns, name), obj(ns, name));
        }
        t.put(Key::new("", "secrets", "a", "s"), obj("a", "s"));
        drop(t);
        let (all, _) = store.list("", "configmaps", None);
        let names: Vec<_> = all
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["9", "1", "2"]);
        let (in_b, _) = store.list("", "configmaps", Some("b"));
        assert_eq!(in_b.len(), 2);
    }

    #[test]
    fn watch_from_compacted_version_is_gone() {
        let store = Store::new(3);
        for i in 0..10 {
            store.txn().put(
                Key::new("", "configmaps", "a", "x"),
                json!({"metadata": {"name": "x", "namespace": "a"}, "data": {"i": i}}),
            );
        }
        let current = store.current_rv();
        assert!(store.watch("", "configmaps", Some(2)).is_err());
        let (replay, _) = store.watch("", "configmaps", Some(current - 2)).unwrap();
        assert_eq!(replay.len(), 2);
        let (replay, _) = store.watch("", "configmaps", Some(current)).unwrap();
        assert!(replay.is_empty());
    }

    #[test]
    fn history_is_bounded() {
        let store = Store::new(5);
        for i in 0..100 {
            store.txn().put(
                Key::new("", "configmaps", "a", "x"),
                json!({"metadata": {"name": "x"}, "i": i}),
            );
        }
        assert_eq!(store.lock().history.len(), 5);
        assert_eq!(store.lock().objects.len(), 1);
    }

    /// The history keeps what selectors see of the previous state (for ADDED/DELETED
    /// transitions), not the previous object: its spec and status are gone.
    #[test]
    fn history_keeps_only_the_selectable_part_of_previous_objects() {
        let store = Store::new(10);
        let key = Key::new("", "pods", "a", "p");
        let pod = |app: &str, phase: &str| {
            json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "a",
                "labels": {"app": app}, "annotations": {"big": "x".repeat(1000)}},
                "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]},
                "status": {"phase": phase}})
        };
        store.txn().put(key.clone(), pod("web", "Pending"));
        let from = store.current_rv();
        store.txn().put(key.clone(), pod("db", "Running"));
        store.txn().remove(&key);
        let (events, _) = store.watch("", "pods", Some(from)).unwrap();
        assert_eq!(events.len(), 2);
        let previous = events[0].previous.as_deref().unwrap();
        assert_eq!(
            *previous,
            json!({"metadata": {"name": "p", "namespace": "a", "labels": {"app": "web"}},
                "spec": {"nodeName": "n1"}, "status": {"phase": "Pending"}})
        );
        assert_eq!(events[1].type_, EventType::Deleted);
        assert_eq!(
            events[1].previous.as_deref().unwrap()["metadata"]["labels"]["app"],
            "db"
        );
        // The full objects are still what watches are sent.
        assert_eq!(events[0].object()["spec"]["containers"][0]["image"], "i");
        assert_eq!(events[1].object()["metadata"]["labels"]["app"], "db");
    }

    /// A stored object is its JSON text, the same bytes its watch event
    /// carries; what reads need without parsing (selectors, type, owners)
    /// is kept beside it.
    #[test]
    fn stored_objects_are_text_shared_with_their_event() {
        let store = Store::new(10);
        let key = Key::new("", "configmaps", "a", "x");
        let from = store.current_rv();
        store.txn().put(
            key.clone(),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "x", "namespace": "a", "uid": "u1", "labels": {"l": "1"}},
                "data": {"k": "v"}}),
        );
        let stored = store.get_stored(&key).unwrap();
        let (events, _) = store.watch("", "configmaps", Some(from)).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].json.as_ptr(), stored.json.as_ptr(), "one copy");
        assert_eq!(stored.object()["data"]["k"], "v");
        assert_eq!(*store.get(&key).unwrap(), stored.object());
        assert_eq!(stored.object()["metadata"]["resourceVersion"], "2");
        assert_eq!(stored.view["metadata"]["labels"]["l"], "1");
        assert_eq!(
            *stored.type_meta,
            ("v1".to_string(), "ConfigMap".to_string())
        );
        // A watch from now replays the stored text as is.
        let (replay, _) = store.watch("", "configmaps", None).unwrap();
        assert_eq!(replay[0].json.as_ptr(), stored.json.as_ptr());

        let dep = Key::new("", "configmaps", "a", "d");
        store.txn().put(
            dep.clone(),
            json!({"metadata": {"name": "d", "namespace": "a", "uid": "u2",
                "ownerReferences": [{"uid": "u1"}, {"uid": "u9"}]}}),
        );
        let t = store.txn();
        assert!(t.has_uid("u1") && t.has_uid("u2") && !t.has_uid("u9"));
        assert_eq!(
            t.dependents("u1"),
            vec![(dep.clone(), vec!["u1".to_string(), "u9".to_string()])]
        );
        assert!(t.dependents("u2").is_empty());
        drop(t);
        let gone = store.txn().remove(&key).unwrap();
        assert_eq!(gone["data"]["k"], "v");
        assert_eq!(gone["metadata"]["resourceVersion"], "4");
        assert!(!store.txn().has_uid("u1"));
        assert!(store.txn().has_uid("u2"));
        // A new object under the same key with another uid replaces the old uid.
        store
            .txn()
            .put(dep.clone(), json!({"metadata": {"name": "d", "uid": "u3"}}));
        let t = store.txn();
        assert!(t.has_uid("u3") && !t.has_uid("u2"));
        assert!(t.dependents("u1").is_empty());
    }

    #[test]
    fn held_watch_events_are_sent_in_order_on_release() {
        let store = Store::new(10);
        let (_, mut rx) = store.watch("", "configmaps", None).unwrap();
        store.hold_watches("");
        store
            .txn()
            .put(Key::new("", "configmaps", "a", "x"), obj("a", "x"));
        store
            .txn()
            .put(Key::new("", "configmaps", "a", "y"), obj("a", "y"));
        store
            .txn()
            .put(Key::new("apps", "deployments", "a", "d"), obj("a", "d"));
        // Another group's event goes through; reads see the held changes.
        assert_eq!(rx.try_recv().unwrap().key.name, "d");
        assert!(rx.try_recv().is_err());
        assert!(store.get(&Key::new("", "configmaps", "a", "y")).is_some());
        store.release_watches();
        assert_eq!(rx.try_recv().unwrap().key.name, "x");
        assert_eq!(rx.try_recv().unwrap().key.name, "y");
        store
            .txn()
            .put(Key::new("", "configmaps", "a", "z"), obj("a", "z"));
        assert_eq!(rx.try_recv().unwrap().key.name, "z");
    }

    #[test]
    fn history_is_bounded_in_bytes() {
        let store = Store::with_limits(1000, 20_000);
        let key = Key::new("", "configmaps", "a", "x");
        for i in 0..100 {
            store.txn().put(
                key.clone(),
                json!({"metadata": {"name": "x", "namespace": "a"}, "data": {"v": "x".repeat(1000), "i": i}}),
            );
        }
        let (events, bytes) = store.history_usage();
        assert!(bytes <= 20_000, "{bytes}");
        assert!((10..100).contains(&events), "{events}");
        // Resuming from a dropped version is 410 Gone; from a kept one replays the rest.
        let current = store.current_rv();
        assert!(store.watch("", "configmaps", Some(current - 50)).is_err());
        let (replay, _) = store.watch("", "configmaps", Some(current - 5)).unwrap();
        assert_eq!(replay.len(), 5);
        // The newest event is kept even when it alone is over the bound.
        let store = Store::with_limits(1000, 10);
        store
            .txn()
            .put(key.clone(), json!({"metadata": {"name": "x"}}));
        assert_eq!(store.history_usage().0, 1);
    }

    /// The benchmark's shape: 1,000 Kustomization-like objects, each updated five times
    /// (status changes). Reports what the history retains, against what it retained when
    /// every event kept the whole previous object.
    #[test]
    fn history_bytes_for_a_thousand_objects() {
        let store = Store::new(DEFAULT_HISTORY);
        let mut whole_previous = 0;
        let obj = |i: usize, round: usize| {
            json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": format!("app-{i}"), "namespace": format!("ns-{i}"),
                    "labels": {"app": format!("app-{i}")},
                    "managedFields": [{"manager": "kustomize-controller", "operation": "Apply",
                        "fieldsV1": {"f:status": {"f:conditions": {"k:{\"type\":\"Ready\"}": {".": {}, "f:type": {},
                            "f:status": {}, "f:message": {}, "f:reason": {}, "f:lastTransitionTime": {}}},
                            "f:inventory": {".": {}, "f:entries": {}}, "f:observedGeneration": {}}}}]},
                "spec": {"interval": "10m", "path": "./deploy", "prune": true,
                    "sourceRef": {"kind": "GitRepository", "name": "repo"}},
                "status": {"conditions": [{"type": "Ready", "status": "True",
                    "message": format!("Applied revision: main@sha1:{round:040}")}],
                    "inventory": {"entries": (0..10).map(|e| json!({"id": format!("ns-{i}_cm-{e}__ConfigMap"), "v": "v1"})).collect::<Vec<_>>()}}})
        };
        for round in 0..6 {
            for i in 0..1000 {
                let key = Key::new(
                    "kustomize.toolkit.fluxcd.io",
                    "kustomizations",
                    "",
                    &format!("app-{i}"),
                );
                if let Some(old) = store.get(&key) {
                    whole_previous += approx_size(&old);
                }
                store.txn().put(key, obj(i, round));
            }
        }
        let (events, bytes) = store.history_usage();
        let as_values: usize = {
            let inner = store.lock();
            inner.history.iter().map(|p| approx_size(&p.object())).sum()
        };
        eprintln!(
            "history: {events} events, {} KiB retained as text (~{} KiB as parsed objects, undercounted; \
             ~{} KiB more with whole previous objects)",
            bytes >> 10,
            as_values >> 10,
            whole_previous >> 10
        );
        assert_eq!(events, 6000);
        assert!(bytes * 2 < as_values, "{bytes} vs {as_values}");
        // A replay gives the objects back whole.
        let (replay, _) = store
            .watch(
                "kustomize.toolkit.fluxcd.io",
                "kustomizations",
                Some(store.current_rv() - 2),
            )
            .unwrap();
        assert_eq!(replay.len(), 2);
        let object = replay[1].object();
        assert_eq!(object["metadata"]["name"], "app-999");
        assert_eq!(
            object["status"]["inventory"]["entries"][9]["id"],
            "ns-999_cm-9__ConfigMap"
        );
        assert_eq!(replay[1].view["metadata"]["labels"]["app"], "app-999");
    }
}
