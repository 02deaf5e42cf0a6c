//! Which resource (plural, scope) serves a kind, from discovery, cached per
//! group/version. Discovery answers the same for every user, so one cache
//! serves all the impersonated clients.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::core::GroupVersion;
use kube::discovery::{ApiCapabilities, ApiResource, Scope, oneshot};

use crate::error::SsaError;

/// How a kind is served.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The resource (group, version, kind, plural).
    pub resource: ApiResource,
    /// Whether objects of the kind live in namespaces.
    pub namespaced: bool,
}

type GroupVersionResources = Arc<Vec<(ApiResource, ApiCapabilities)>>;

/// A discovery cache.
pub struct Resolver {
    client: kube::Client,
    cache: Mutex<HashMap<String, GroupVersionResources>>,
}

impl Resolver {
    /// A cache over `client`'s discovery.
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// How `kind` at `api_version` is served, or `None` when it is not.
    /// A miss in a cached group/version is looked up again, since a CRD may
    /// have been added since.
    pub async fn resolve(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<Resolved>, SsaError> {
        if let Some(found) = self.cached(api_version).and_then(|r| find(&r, kind)) {
            return Ok(Some(found));
        }
        let fresh = self.fetch(api_version).await?;
        Ok(fresh.and_then(|r| find(&r, kind)))
    }

    /// Drops what is cached for `api_version` (after a CRD changed).
    pub fn forget(&self, api_version: &str) {
        self.lock().remove(api_version);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, GroupVersionResources>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cached(&self, api_version: &str) -> Option<GroupVersionResources> {
        self.lock().get(api_version).cloned()
    }

    async fn fetch(&self, api_version: &str) -> Result<Option<GroupVersionResources>, SsaError> {
        let (group, version) = crate::object::split_api_version(api_version);
        let gv = GroupVersion::gv(group, version);
        match oneshot::pinned_group(&self.client, &gv).await {
            Ok(g) => {
                let resources = Arc::new(g.versioned_resources(version));
                self.lock()
                    .insert(api_version.to_string(), resources.clone());
                Ok(Some(resources))
            }
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
            Err(e) => Err(SsaError::Discovery {
                group_version: api_version.to_string(),
                message: e.to_string(),
            }),
        }
    }
}

fn find(resources: &[(ApiResource, ApiCapabilities)], kind: &str) -> Option<Resolved> {
    resources
        .iter()
        .find(|(ar, _)| ar.kind == kind)
        .map(|(ar, caps)| Resolved {
            resource: ar.clone(),
            namespaced: caps.scope == Scope::Namespaced,
        })
}
