//! The source a Kustomization builds from, and its current artifact, read
//! from the source object's status (the only contract with source-controller).

use ferroflux_api::kustomize::v1::{CrossNamespaceSourceReference, Kustomization, SourceKind};
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

/// The API resource serving a source kind.
pub fn resource_of(source: &CrossNamespaceSourceReference) -> ApiResource {
    let (default_group, default_version, plural) = match source.kind {
        SourceKind::GitRepository => ("source.toolkit.fluxcd.io", "v1", "gitrepositories"),
        SourceKind::OciRepository => ("source.toolkit.fluxcd.io", "v1", "ocirepositories"),
        SourceKind::Bucket => ("source.toolkit.fluxcd.io", "v1", "buckets"),
        SourceKind::ExternalArtifact => ("source.toolkit.fluxcd.io", "v1", "externalartifacts"),
    };
    let api_version = source
        .api_version
        .clone()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| format!("{default_group}/{default_version}"));
    let (group, version) = ferroflux_ssa::split_api_version(&api_version);
    ApiResource {
        group: group.to_string(),
        version: version.to_string(),
        api_version: api_version.clone(),
        kind: source.kind.as_str().to_string(),
        plural: plural.to_string(),
    }
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
    artifact_of(&obj.data).ok_or(SourceError::NotReady(shown))
}

/// The artifact in a source object's JSON (`.status.artifact`).
pub fn artifact_of(data: &serde_json::Value) -> Option<Artifact> {
    let a = data.pointer("/status/artifact")?;
    let s = |k: &str| a.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Some(Artifact {
        url: s("url").filter(|u| !u.is_empty())?,
        revision: s("revision").unwrap_or_default(),
        digest: s("digest").unwrap_or_default(),
        origin_revision: a
            .pointer("/metadata/org.opencontainers.image.revision")
            .and_then(|v| v.as_str())
            .map(str::to_string),
    })
}
