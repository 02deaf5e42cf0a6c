//! The source a Kustomization builds from, and its current artifact, read
//! from the source object's status through the source contract
//! (`ferroflux_api::source::Source`, the only contract with
//! source-controller) and the API's table of source kinds.

use ferroflux_api::kustomize::v1::{CrossNamespaceSourceReference, Kustomization};
use ferroflux_api::source::{AnySource, Source};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject};
use kube::discovery::ApiResource;

/// The artifact a source advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Where to download it.
    pub url: String,
    /// `main@sha1:...` etc.
    pub revision: String,
    /// `sha256:...`.
    pub digest: String,
    /// The revision of the source's origin, when it has one (OCI artifacts
    /// built from Git).
    pub origin_revision: Option<String>,
}

/// Why there is no artifact to build.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source object does not exist.
    #[error("Source '{0}' not found")]
    NotFound(String),
    /// The source exists but has no artifact yet.
    #[error("Source '{0}' is not ready, artifact not found")]
    NotReady(String),
    /// The source could not be read.
    #[error("reading source '{0}': {1}")]
    Api(String, String),
}

/// The namespace the source lives in.
pub fn source_namespace(ks: &Kustomization) -> String {
    ks.spec
        .source_ref
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| ks.namespace().unwrap_or_default())
}

/// The API resource serving a source kind (at the reference's
/// `apiVersion`, or the kind's default).
pub fn resource_of(source: &CrossNamespaceSourceReference) -> ApiResource {
    source
        .kind
        .info()
        .api_resource(source.api_version.as_deref())
}

/// `Kind/namespace/name` of the source.
pub fn source_display(ks: &Kustomization) -> String {
    format!(
        "{}/{}/{}",
        ks.spec.source_ref.kind.as_str(),
        source_namespace(ks),
        ks.spec.source_ref.name
    )
}

/// The source's current artifact.
pub async fn artifact(client: &kube::Client, ks: &Kustomization) -> Result<Artifact, SourceError> {
    let ar = resource_of(&ks.spec.source_ref);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &source_namespace(ks), &ar);
    let shown = source_display(ks);
    let obj = match api.get_opt(&ks.spec.source_ref.name).await {
        Ok(Some(o)) => o,
        Ok(None) => return Err(SourceError::NotFound(shown)),
        Err(kube::Error::Api(s)) if s.code == 404 => return Err(SourceError::NotFound(shown)),
        Err(e) => return Err(SourceError::Api(shown, e.to_string())),
    };
    artifact_of(&AnySource::from_dynamic(&obj)).ok_or(SourceError::NotReady(shown))
}

/// The artifact a source advertises, when it has one with a URL.
pub fn artifact_of(source: &impl Source) -> Option<Artifact> {
    let a = source.artifact()?;
    if a.url.is_empty() {
        return None;
    }
    Some(Artifact {
        url: a.url.clone(),
        revision: a.revision.clone(),
        digest: a.digest.clone().unwrap_or_default(),
        origin_revision: a.origin_revision().map(str::to_string),
    })
}
