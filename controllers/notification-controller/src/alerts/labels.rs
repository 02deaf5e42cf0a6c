//! The labels of involved objects, for `matchLabels` event sources: read
//! through the API (any kind, via discovery) and cached briefly so a burst
//! of events about one object costs one read.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject};

use crate::intake::InvolvedObject;
use crate::kinds::KindResolver;

/// An object's labels, shared between cache and callers.
pub type Labels = Arc<BTreeMap<String, String>>;

/// Reads and caches object labels.
pub struct LabelCache {
    client: kube::Client,
    kinds: Arc<KindResolver>,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Labels)>>,
}

impl LabelCache {
    /// A cache keeping answers for `ttl`.
    pub fn new(client: kube::Client, kinds: Arc<KindResolver>, ttl: Duration) -> Self {
        Self {
            client,
            kinds,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The labels of `object`, or why they could not be read.
    pub async fn labels(&self, object: &InvolvedObject) -> Result<Labels, String> {
        let key = format!(
            "{}/{}/{}/{}",
            object.api_version, object.kind, object.namespace, object.name
        );
        let now = Instant::now();
        {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, labels)) = cache.get(&key)
                && now.saturating_duration_since(*at) < self.ttl
            {
                return Ok(labels.clone());
            }
            // Keep the cache small: drop what has expired before adding more.
            if cache.len() > 10_000 {
                let ttl = self.ttl;
                cache.retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            }
        }
        let resource = self
            .kinds
            .resolve(&object.api_version, &object.kind)
            .await
            .map_err(|e| e.to_string())?;
        let api: Api<DynamicObject> = if object.namespace.is_empty() {
            Api::all_with(self.client.clone(), &resource)
        } else {
            Api::namespaced_with(self.client.clone(), &object.namespace, &resource)
        };
        let found = api.get(&object.name).await.map_err(|e| {
            format!(
                "error getting the involved object {}: {e}",
                object.display()
            )
        })?;
        let labels = Arc::new(found.metadata.labels.unwrap_or_default());
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (now, labels.clone()));
        Ok(labels)
    }
}
