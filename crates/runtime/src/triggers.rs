//! Triggers shared by the controllers: Flux's `reconcile.fluxcd.io/watch`
//! label on a ConfigMap or Secret makes a change of it queue the objects
//! that use it at once, and a memory of the last state seen per watched
//! object keeps re-lists and status-only updates from triggering anything.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Resource;
use kube::api::Api;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use serde::de::DeserializeOwned;

/// The label that opts a ConfigMap or Secret into triggering its users.
pub const WATCH_LABEL: &str = "reconcile.fluxcd.io/watch";

/// Remembers the last state seen per key, so that an event repeating it
/// (a re-list after a watch restart, an update of something not compared)
/// triggers nothing.
#[derive(Default, Clone)]
pub struct StateMemory(Arc<Mutex<HashMap<String, String>>>);

impl StateMemory {
    /// Whether `state` is new for `key` (and remembers it).
    pub fn changed(&self, key: &str, state: &str) -> bool {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if m.get(key).map(String::as_str) == Some(state) {
            return false;
        }
        m.insert(key.to_string(), state.to_string());
        true
    }
}

/// The kind of a labelled configuration object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigKind {
    /// A Secret.
    Secret,
    /// A ConfigMap.
    ConfigMap,
}

fn api<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Adds watches of the Secrets and ConfigMaps labelled
/// `reconcile.fluxcd.io/watch: Enabled` to `controller`: a new version or
/// the deletion of one queues what `users(kind, namespace, name)` names.
/// Only labelled objects are watched, so the controller neither caches nor
/// wakes on every Secret of the cluster.
pub fn watch_labelled_configs<K, F>(
    controller: Controller<K>,
    client: kube::Client,
    namespace: Option<&str>,
    users: F,
) -> Controller<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    F: Fn(ConfigKind, &str, &str) -> Vec<ObjectRef<K>> + Clone + Send + Sync + 'static,
{
    let selector = watcher::Config::default().labels(&format!("{WATCH_LABEL}=Enabled"));
    let memory = StateMemory::default();
    let trigger = move |kind: ConfigKind, meta: &kube::api::ObjectMeta| {
        let ns = meta.namespace.clone().unwrap_or_default();
        let name = meta.name.clone().unwrap_or_default();
        let state = format!(
            "{}|{}",
            meta.resource_version.as_deref().unwrap_or_default(),
            meta.deletion_timestamp.is_some()
        );
        if !memory.changed(&format!("{kind:?}/{ns}/{name}"), &state) {
            return Vec::new();
        }
        users(kind, &ns, &name)
    };
    let cm_trigger = trigger.clone();
    controller
        .watches(
            api::<Secret>(&client, namespace),
            selector.clone(),
            move |s: Secret| trigger(ConfigKind::Secret, s.meta()),
        )
        .watches(
            api::<ConfigMap>(&client, namespace),
            selector,
            move |cm: ConfigMap| cm_trigger(ConfigKind::ConfigMap, cm.meta()),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_new_state_is_a_change() {
        let memory = StateMemory::default();
        assert!(memory.changed("Secret/a/keys", "7|false"));
        assert!(
            !memory.changed("Secret/a/keys", "7|false"),
            "a re-list repeats it"
        );
        assert!(
            memory.changed("Secret/a/keys", "7|true"),
            "the deletion is new"
        );
        assert!(
            memory.changed("ConfigMap/a/keys", "7|false"),
            "keys are per kind"
        );
    }
}
