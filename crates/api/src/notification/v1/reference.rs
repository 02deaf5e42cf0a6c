//! References from notification objects to the Flux objects they watch or
//! trigger.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Points at Flux objects of one kind: one object by name, or every object
/// (`name: "*"`), optionally narrowed by labels, in one namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceObjectReference {
    /// API version of the objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the objects.
    pub kind: ObjectKind,
    /// Name of the object, or `*` for every object of the kind in the namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the objects; the referring object's namespace when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub namespace: Option<String>,
    /// Labels the objects must all carry (key equal to value). Only used
    /// with `name: "*"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
}

impl CrossNamespaceObjectReference {
    /// Whether this reference selects every object of its kind (`name: "*"`).
    pub fn is_wildcard(&self) -> bool {
        self.name == "*"
    }
}

/// The Flux kinds notification objects can refer to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ObjectKind {
    /// source.toolkit.fluxcd.io Bucket.
    Bucket,
    /// source.toolkit.fluxcd.io GitRepository.
    GitRepository,
    /// kustomize.toolkit.fluxcd.io Kustomization.
    Kustomization,
    /// helm.toolkit.fluxcd.io HelmRelease.
    HelmRelease,
    /// source.toolkit.fluxcd.io HelmChart.
    HelmChart,
    /// source.toolkit.fluxcd.io HelmRepository.
    HelmRepository,
    /// image.toolkit.fluxcd.io ImageRepository.
    ImageRepository,
    /// image.toolkit.fluxcd.io ImagePolicy.
    ImagePolicy,
    /// image.toolkit.fluxcd.io ImageUpdateAutomation.
    ImageUpdateAutomation,
    /// source.toolkit.fluxcd.io OCIRepository.
    #[serde(rename = "OCIRepository")]
    OciRepository,
    /// source.extensions.fluxcd.io ArtifactGenerator.
    ArtifactGenerator,
    /// source.toolkit.fluxcd.io ExternalArtifact.
    ExternalArtifact,
}

impl ObjectKind {
    /// The kind as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bucket => "Bucket",
            Self::GitRepository => "GitRepository",
            Self::Kustomization => "Kustomization",
            Self::HelmRelease => "HelmRelease",
            Self::HelmChart => "HelmChart",
            Self::HelmRepository => "HelmRepository",
            Self::ImageRepository => "ImageRepository",
            Self::ImagePolicy => "ImagePolicy",
            Self::ImageUpdateAutomation => "ImageUpdateAutomation",
            Self::OciRepository => "OCIRepository",
            Self::ArtifactGenerator => "ArtifactGenerator",
            Self::ExternalArtifact => "ExternalArtifact",
        }
    }
}
