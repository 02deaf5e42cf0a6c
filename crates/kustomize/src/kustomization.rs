//! The `kustomization.yaml` file format (`kustomize.config.k8s.io/v1beta1`
//! Kustomization and `v1alpha1` Component), as serde types.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

pub use crate::transform::config::FieldSpec;
pub use crate::transform::replacements::{FieldOptions, ReplTarget, Replacement, Source};
pub use crate::transform::vars::{FieldRef, ObjRef, Var};

/// A kustomization file. Unknown fields are kept in `other` so that unsupported ones can
/// be reported by name.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Kustomization {
    /// `apiVersion`.
    pub api_version: Option<String>,
    /// `kind`: `Kustomization` (default) or `Component`.
    pub kind: Option<String>,
    /// Files, directories (bases) and (refused) URLs.
    pub resources: Vec<String>,
    /// Legacy spelling of bases.
    pub bases: Vec<String>,
    /// Components applied to this kustomization's resources.
    pub components: Vec<String>,
    /// Namespace set on every namespaced resource.
    pub namespace: Option<String>,
    /// Prefix added to names.
    pub name_prefix: Option<String>,
    /// Suffix added to names.
    pub name_suffix: Option<String>,
    /// Labels added to resources, selectors and templates.
    pub common_labels: BTreeMap<String, String>,
    /// Labels with their own selector/template switches.
    pub labels: Vec<LabelSet>,
    /// Annotations added to resources and templates.
    pub common_annotations: BTreeMap<String, String>,
    /// Image overrides.
    pub images: Vec<Image>,
    /// Replica count overrides.
    pub replicas: Vec<Replica>,
    /// Patches (strategic merge or JSON 6902).
    pub patches: Vec<Patch>,
    /// Legacy strategic merge patches (paths or inline documents).
    pub patches_strategic_merge: Vec<Value>,
    /// Legacy JSON 6902 patches.
    pub patches_json6902: Vec<Patch>,
    /// ConfigMap generators.
    pub config_map_generator: Vec<Generator>,
    /// Secret generators.
    pub secret_generator: Vec<Generator>,
    /// Options for all generators.
    pub generator_options: Option<GeneratorOptions>,
    /// Field copies between resources.
    pub replacements: Vec<crate::transform::replacements::Replacement>,
    /// Generator plugin configurations (built-in kinds only).
    pub generators: Vec<String>,
    /// Transformer plugin configurations (built-in kinds only).
    pub transformers: Vec<String>,
    /// Transformer configuration files.
    pub configurations: Vec<String>,
    /// Custom OpenAPI schema (`path`) or built-in schema version (`version`).
    pub openapi: Option<Value>,
    /// Go OpenAPI definitions of custom kinds, for their name references.
    pub crds: Vec<String>,
    /// Build metadata to record (`originAnnotations`).
    pub build_metadata: Vec<String>,
    /// Legacy variables.
    pub vars: Vec<crate::transform::vars::Var>,
    /// Output order.
    pub sort_options: Option<SortOptions>,
    /// Every other field, kept so unsupported ones can be named.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// An entry of `labels`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LabelSet {
    /// The labels.
    pub pairs: BTreeMap<String, String>,
    /// Also add them to selectors (and templates).
    pub include_selectors: bool,
    /// Also add them to pod templates.
    pub include_templates: bool,
    /// Also add them to StatefulSet volume claim templates.
    pub include_volume_claim_templates: bool,
    /// Also add them at these fields.
    pub fields: Vec<crate::transform::config::FieldSpec>,
}

/// An entry of `images`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Image {
    /// The image name to match (without tag or digest).
    pub name: String,
    /// Replacement name.
    pub new_name: Option<String>,
    /// Replacement tag.
    pub new_tag: Option<String>,
    /// Replacement digest.
    pub digest: Option<String>,
}

/// An entry of `replicas`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct Replica {
    /// The workload's name.
    pub name: String,
    /// The replica count.
    pub count: i64,
}

/// A patch: inline (`patch`) or from a file (`path`), with an optional `target`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct Patch {
    /// File holding the patch.
    pub path: Option<String>,
    /// Inline patch.
    pub patch: Option<String>,
    /// Which resources to patch.
    pub target: Option<Target>,
    /// Options of a targeted strategic merge patch.
    pub options: PatchOptions,
}

/// `patches[].options`.
#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(rename_all = "camelCase", default)]
pub struct PatchOptions {
    /// The patch may rename its target.
    pub allow_name_change: bool,
    /// The patch may change its target's kind (and apiVersion).
    pub allow_kind_change: bool,
}

/// A patch target selector.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(rename_all = "camelCase", default)]
pub struct Target {
    /// API group.
    pub group: Option<String>,
    /// API version.
    pub version: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Name (a regular expression).
    pub name: Option<String>,
    /// Namespace (a regular expression).
    pub namespace: Option<String>,
    /// Label selector.
    pub label_selector: Option<String>,
    /// Annotation selector.
    pub annotation_selector: Option<String>,
}

/// A `configMapGenerator` or `secretGenerator` entry.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(rename_all = "camelCase", default)]
pub struct Generator {
    /// Name of the generated object.
    pub name: Option<String>,
    /// Namespace of the generated object.
    pub namespace: Option<String>,
    /// `create` (default), `merge` or `replace`.
    pub behavior: Option<String>,
    /// `key=value` literals.
    pub literals: Vec<String>,
    /// Files (`path` or `key=path`).
    pub files: Vec<String>,
    /// Env files.
    pub envs: Vec<String>,
    /// Legacy single env file.
    pub env: Option<String>,
    /// Secret type.
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// Options of this generator.
    pub options: Option<GeneratorOptions>,
}

/// `generatorOptions` or a generator's `options`.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(rename_all = "camelCase", default)]
pub struct GeneratorOptions {
    /// Labels for generated objects.
    pub labels: BTreeMap<String, String>,
    /// Annotations for generated objects.
    pub annotations: BTreeMap<String, String>,
    /// No content-hash suffix.
    pub disable_name_suffix_hash: Option<bool>,
    /// Mark as immutable.
    pub immutable: Option<bool>,
}

/// `sortOptions`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SortOptions {
    /// `legacy` or `fifo`.
    pub order: Option<String>,
    /// Options of the legacy order.
    pub legacy_sort_options: Option<LegacySortOptions>,
}

/// `sortOptions.legacySortOptions`.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(rename_all = "camelCase", default)]
pub struct LegacySortOptions {
    /// Kinds first, in this order.
    pub order_first: Vec<String>,
    /// Kinds last, in this order.
    pub order_last: Vec<String>,
}
