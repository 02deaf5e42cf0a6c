//! The chart as a release record stores it (Helm v4's `chart/v2.Chart` JSON):
//! metadata, lock, templates and files as base64, default values and the
//! schema. Subcharts are not stored: Helm's JSON has no field for them.
//!
//! Field order and emptiness rules follow Go's struct tags so that encoding
//! writes what Helm writes; `extra` keeps fields this version does not know.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::serde_go::{GoTime, bytes_opt, nullable, time_opt};

/// A chart inside a release record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// `Chart.yaml`.
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// `Chart.lock`, when the chart had one.
    #[serde(default)]
    pub lock: Option<Lock>,
    /// Every file under `templates/`, names relative to the chart root.
    #[serde(default)]
    pub templates: Option<Vec<File>>,
    /// `values.yaml`, the chart's defaults.
    #[serde(default)]
    pub values: Option<Map<String, Value>>,
    /// `values.schema.json`, raw bytes.
    #[serde(default, with = "bytes_opt")]
    pub schema: Option<Vec<u8>>,
    /// When the schema file was last modified (Go's zero time when unknown).
    #[serde(default, deserialize_with = "nullable")]
    pub schemamodtime: GoTime,
    /// Other files (`.Files`), names relative to the chart root.
    #[serde(default)]
    pub files: Option<Vec<File>>,
    /// When the chart was last modified, if known.
    #[serde(
        default,
        deserialize_with = "time_opt::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub modtime: Option<GoTime>,
    /// Fields this version does not know, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One file of a chart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct File {
    /// Path relative to the chart root, e.g. `templates/cm.yaml`.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Contents (`None` for Go's nil slice, written `null`).
    #[serde(default, with = "bytes_opt")]
    pub data: Option<Vec<u8>>,
    /// Modification time, if known.
    #[serde(
        default,
        deserialize_with = "time_opt::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub modtime: Option<GoTime>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Chart.yaml` (Helm's `Metadata`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// The chart's name.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// The project's home page.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub home: String,
    /// Source code URLs.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sources: Vec<String>,
    /// SemVer 2 version of the chart.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub version: String,
    /// One-sentence description.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    /// Search keywords.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub keywords: Vec<String>,
    /// Maintainers.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub maintainers: Vec<Maintainer>,
    /// Icon URL.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub icon: String,
    /// Chart API version (`v1`, `v2`).
    #[serde(
        rename = "apiVersion",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_version: String,
    /// Condition enabling this chart as a dependency.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub condition: String,
    /// Tags enabling this chart as a dependency (one string, as Helm stores it).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub tags: String,
    /// Version of the packaged application.
    #[serde(
        rename = "appVersion",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub app_version: String,
    /// Whether the chart is deprecated.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub deprecated: bool,
    /// Annotations.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// SemVer constraint on the Kubernetes version.
    #[serde(
        rename = "kubeVersion",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub kube_version: String,
    /// Declared dependencies.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub dependencies: Vec<Dependency>,
    /// `application` or `library`.
    #[serde(
        rename = "type",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub chart_type: String,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A chart maintainer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Maintainer {
    /// Name.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Email address.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub email: String,
    /// URL.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub url: String,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A dependency in `Chart.yaml` or `Chart.lock`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dependency {
    /// The dependency's chart name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Version or constraint.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub version: String,
    /// Repository URL (or `file://`, `@alias`).
    #[serde(default, deserialize_with = "nullable")]
    pub repository: String,
    /// Values path that enables it.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub condition: String,
    /// Tags that enable it.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<String>,
    /// Whether it was enabled when the chart was loaded.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub enabled: bool,
    /// `import-values` entries (strings or `{child, parent}` maps).
    #[serde(
        rename = "import-values",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub import_values: Vec<Value>,
    /// Alias.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub alias: String,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Chart.lock`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    /// When the lock was generated.
    #[serde(default, deserialize_with = "nullable")]
    pub generated: GoTime,
    /// Digest of the dependencies' declaration.
    #[serde(default, deserialize_with = "nullable")]
    pub digest: String,
    /// The resolved dependencies (`None` for Go's nil slice).
    #[serde(default)]
    pub dependencies: Option<Vec<Dependency>>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn is_false(b: &bool) -> bool {
    !*b
}
