//! Charts as Helm loads them: `Chart.yaml`, templates, values, schema, other
//! files and subcharts, from a directory or a `.tgz` archive.
//!
//! - [`load`]: reading a chart from a directory or archive bytes, with limits;
//! - [`ignore`]: `.helmignore` rules;
//! - [`metadata`]: the `Chart.yaml` fields.

pub mod ignore;
pub mod load;
pub mod metadata;

pub use load::{LoadError, LoadLimits, load_archive, load_dir, load_files};
pub use metadata::{Dependency, ImportValue, Maintainer, Metadata};

/// A file of a chart: its path relative to the chart root (with `/`), and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Path relative to the chart root, `/`-separated.
    pub name: String,
    /// Contents.
    pub data: Vec<u8>,
}

/// A loaded chart with its subcharts.
#[derive(Debug, Clone)]
pub struct Chart {
    /// `Chart.yaml`.
    pub metadata: Metadata,
    /// Files under `templates/`, in name order.
    pub templates: Vec<File>,
    /// Every other file (`.Files`): not `Chart.yaml`, `values.yaml`,
    /// `values.schema.json`, `templates/` or `charts/`.
    pub files: Vec<File>,
    /// `values.yaml`, read as Helm reads it (numbers are float64).
    pub values: serde_json::Map<String, serde_json::Value>,
    /// The text of `values.yaml` (Helm keeps it in the release).
    pub raw_values: Option<Vec<u8>>,
    /// `values.schema.json`.
    pub schema: Option<Vec<u8>>,
    /// Subcharts found in `charts/`, before dependency processing.
    pub dependencies: Vec<Chart>,
}

impl Chart {
    /// The chart's name (`Chart.yaml` `name`, or the alias once processed).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Whether this is a library chart (its templates are definitions only).
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type == "library"
    }

    /// The files under `crds/` that Helm installs as CRDs (`.yaml`, `.yml`, `.json`).
    pub fn crds(&self) -> Vec<&File> {
        self.files
            .iter()
            .filter(|f| {
                f.name.starts_with("crds/")
                    && (f.name.ends_with(".yaml")
                        || f.name.ends_with(".yml")
                        || f.name.ends_with(".json"))
            })
            .collect()
    }
}
