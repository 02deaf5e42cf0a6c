//! ArtifactGenerator: ExternalArtifacts composed from the artifacts of
//! GitRepositories, OCIRepositories, Buckets, HelmCharts and
//! ExternalArtifacts by copy operations with globs.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Label on every ExternalArtifact a generator made: the generator's uid.
pub const GENERATOR_LABEL: &str = "source.extensions.fluxcd.io/generator";

/// Annotation that disables (`disabled`) or enables reconciliation.
pub const RECONCILE_ANNOTATION: &str = "source.extensions.fluxcd.io/reconcile";

/// Artifact metadata key holding the origin revision (`originRevision`).
pub const ORIGIN_REVISION_KEY: &str = "org.opencontainers.image.revision";

/// The sources to read and the artifacts to make from them.
// kube's `printcolumn(...)` entries repeat `type_ = "string"` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "source.extensions.fluxcd.io",
    version = "v1beta1",
    kind = "ArtifactGenerator",
    plural = "artifactgenerators",
    shortname = "ag",
    namespaced,
    status = "ArtifactGeneratorStatus",
    derive = "PartialEq",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "Generates ExternalArtifacts from the artifacts of other sources.",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].message"#
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "message": "artifact names must be valid Kubernetes object names when pathPattern is not set",
        "rule": "has(self.pathPattern) && size(self.pathPattern) > 0 || self.artifacts.all(a, a.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'))"
    }
]))]
pub struct ArtifactGeneratorSpec {
    /// Labels and annotations set on every generated ExternalArtifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    /// The sources read, each under an alias the copy operations use.
    #[schemars(length(min = 1, max = 1000))]
    pub sources: Vec<SourceReference>,
    /// `@alias/<pattern>` with `{capture}` segments: one set of artifacts
    /// per matching directory of the source, the artifacts' `name`, `from`
    /// and `to` rendered with the captures (which also become labels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        regex(pattern = "^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)/(.*)$"),
        length(max = 1024)
    )]
    pub path_pattern: Option<String>,
    /// The ExternalArtifacts to generate.
    #[schemars(length(min = 1, max = 1000))]
    pub artifacts: Vec<OutputArtifact>,
}

/// Metadata set on every generated ExternalArtifact.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct CommonMetadata {
    /// Annotations to set.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Labels to set (the generator's own label cannot be overridden).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The kinds a generator reads artifacts from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum GeneratorSourceKind {
    /// `Bucket`.
    Bucket,
    /// `GitRepository`.
    GitRepository,
    /// `OCIRepository`.
    #[serde(rename = "OCIRepository")]
    OciRepository,
    /// `HelmChart`.
    HelmChart,
    /// `ExternalArtifact`.
    ExternalArtifact,
}

impl GeneratorSourceKind {
    /// The kind as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bucket => "Bucket",
            Self::GitRepository => "GitRepository",
            Self::OciRepository => "OCIRepository",
            Self::HelmChart => "HelmChart",
            Self::ExternalArtifact => "ExternalArtifact",
        }
    }
}

/// A source read by the generator.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceReference {
    /// Name the copy operations refer to the source by (`@alias/...`);
    /// unique within the generator.
    #[schemars(regex(pattern = "^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$"), length(max = 63))]
    pub alias: String,
    /// Name of the source object.
    #[schemars(regex(pattern = "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"), length(max = 253))]
    pub name: String,
    /// Namespace of the source object; the generator's by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        regex(pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"),
        length(min = 1, max = 63)
    )]
    pub namespace: Option<String>,
    /// Kind of the source object.
    pub kind: GeneratorSourceKind,
}

/// One generated ExternalArtifact.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutputArtifact {
    /// Name of the ExternalArtifact (in the generator's namespace).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// `@alias`: the artifact takes that source's revision; by default
    /// `latest@<digest>` of its own content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        regex(pattern = "^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)$"),
        length(max = 64)
    )]
    pub revision: Option<String>,
    /// `@alias`: that source's origin revision (or its revision) is
    /// recorded in the artifact's metadata as
    /// `org.opencontainers.image.revision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        regex(pattern = "^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)$"),
        length(max = 64)
    )]
    pub origin_revision: Option<String>,
    /// Copy operations, applied in order.
    #[schemars(length(min = 1))]
    pub copy: Vec<CopyOperation>,
}

/// Files copied from a source into the artifact.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CopyOperation {
    /// `@alias/<path or glob>`.
    #[schemars(
        regex(pattern = "^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)/(.*)$"),
        length(min = 1, max = 1024)
    )]
    pub from: String,
    /// `@artifact/<path>`; a trailing `/` means "into this directory".
    #[schemars(regex(pattern = "^@(artifact)/(.*)$"), length(min = 1, max = 1024))]
    pub to: String,
    /// Globs of files (matched against the path from the source root or
    /// from the literal prefix of `from`; a pattern without `/` matches a
    /// file name at any depth) left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub exclude: Vec<String>,
    /// How files are written: `Overwrite` (default), `Merge` (YAML) or
    /// `Extract` (tarballs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<CopyStrategy>,
}

/// How a copy operation writes its files.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum CopyStrategy {
    /// Replace what is there.
    #[default]
    Overwrite,
    /// Merge a YAML file into the one already there (maps deeply, arrays
    /// replaced, as Helm merges values files).
    Merge,
    /// Unpack `.tar.gz`/`.tgz` archives into the destination.
    Extract,
}

/// What the generator last produced.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactGeneratorStatus {
    /// Last `reconcile.fluxcd.io/requestedAt` value acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// Current conditions (`Ready`, `Reconciling`, `Stalled`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::meta::conditions_schema")]
    pub conditions: Vec<Condition>,
    /// The ExternalArtifacts generated, and their files in storage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inventory: Vec<ExternalArtifactReference>,
    /// Digest of the sources' artifacts the inventory was built from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_sources_digest: Option<String>,
    /// Generation of the spec the status was written for (Ferroflux's
    /// addition, as the other kinds have).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// A generated ExternalArtifact.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ExternalArtifactReference {
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Digest of its current artifact.
    pub digest: String,
    /// File name of its current artifact in storage.
    pub filename: String,
}

impl ArtifactGenerator {
    /// Whether the `source.extensions.fluxcd.io/reconcile: disabled`
    /// annotation suspends the generator.
    pub fn is_disabled(&self) -> bool {
        self.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(RECONCILE_ANNOTATION))
            .is_some_and(|v| v.eq_ignore_ascii_case("disabled"))
    }
}

crate::impl_object_with_conditions!(ArtifactGenerator);

impl crate::conditions::FluxObject for ArtifactGenerator {
    /// Sources wake the generator through watches; it also looks again
    /// hourly, as source-watcher does.
    fn interval(&self) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_secs(3600))
    }

    fn suspended(&self) -> bool {
        self.is_disabled()
    }

    fn observed_generation(&self) -> Option<i64> {
        self.status.as_ref().and_then(|s| s.observed_generation)
    }

    fn set_observed_generation(&mut self, generation: Option<i64>) {
        self.status
            .get_or_insert_with(Default::default)
            .observed_generation = generation;
    }

    fn last_handled_reconcile_at(&self) -> Option<&str> {
        self.status
            .as_ref()
            .and_then(|s| s.last_handled_reconcile_at.as_deref())
    }

    fn set_last_handled_reconcile_at(&mut self, value: Option<String>) {
        self.status
            .get_or_insert_with(Default::default)
            .last_handled_reconcile_at = value;
    }
}
