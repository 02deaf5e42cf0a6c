//! Resolving a kind (and API version) to the REST resource that serves it,
//! for the objects Alerts and Receivers refer to by kind only.

use std::collections::HashMap;
use std::sync::Mutex;

use kube::Client;
use kube::core::{ApiResource, GroupVersionKind};

/// Why a kind could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum KindError {
    /// No apiVersion was given and the kind has no Flux default.
    #[error("apiVersion must be specified for kind {0:?}")]
    NoApiVersion(String),
    /// The API server does not serve the kind.
    #[error("kind {kind} is not served at {api_version}: {message}")]
    NotServed {
        /// The API version asked for.
        api_version: String,
        /// The kind asked for.
        kind: String,
        /// What discovery reported.
        message: String,
    },
}

/// The API version of each Flux kind, used when a reference gives none.
/// Flux's Receiver knows the source kinds (from the API's table of source
/// kinds); Ferroflux also knows the Kustomization, HelmRelease and image
/// kinds.
pub fn default_api_version(kind: &str) -> Option<&'static str> {
    if let Some(source) = ferroflux_api::source::source_kind(kind) {
        return Some(source.api_version);
    }
    Some(match kind {
        "Kustomization" => "kustomize.toolkit.fluxcd.io/v1",
        "HelmRelease" => "helm.toolkit.fluxcd.io/v2",
        "ImageRepository" | "ImagePolicy" | "ImageUpdateAutomation" => "image.toolkit.fluxcd.io/v1",
        "ArtifactGenerator" => "source.extensions.fluxcd.io/v1beta1",
        _ => return None,
    })
}

/// Splits `group/version` (or a core `version`) into its parts.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// Resolves kinds through API discovery, remembering the answers (a kind's
/// resource name does not change while the controller runs).
pub struct KindResolver {
    client: Client,
    cache: Mutex<HashMap<(String, String), ApiResource>>,
}

impl KindResolver {
    /// A resolver using `client` for discovery.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The resource of `kind` at `api_version` (or the kind's Flux default
    /// when `api_version` is empty).
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<ApiResource, KindError> {
        let api_version = if api_version.is_empty() {
            default_api_version(kind).ok_or_else(|| KindError::NoApiVersion(kind.to_string()))?
        } else {
            api_version
        };
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.lock().get(&key) {
            return Ok(found.clone());
        }
        let (group, version) = split_api_version(api_version);
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, _caps) = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .map_err(|e| KindError::NotServed {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                message: e.to_string(),
            })?;
        self.lock().insert(key, resource.clone());
        Ok(resource)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), ApiResource>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_defaults() {
        assert_eq!(
            split_api_version("source.toolkit.fluxcd.io/v1"),
            ("source.toolkit.fluxcd.io", "v1")
        );
        assert_eq!(split_api_version("v1"), ("", "v1"));
        assert_eq!(
            default_api_version("GitRepository"),
            Some("source.toolkit.fluxcd.io/v1")
        );
        assert_eq!(default_api_version("Deployment"), None);
    }
}
