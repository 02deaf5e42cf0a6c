//! The chart a release record stores, made from a loaded chart: what Helm's
//! install and upgrade put in `release.chart` (metadata, templates, default
//! values, schema and other files; subcharts are not stored).

use serde_json::Value;

use super::chart::{Chart, File, Metadata};
use crate::chart::Chart as Loaded;

fn stored_file(f: &crate::chart::File) -> File {
    File {
        name: f.name.clone(),
        data: Some(f.data.clone()),
        ..File::default()
    }
}

/// `Chart.yaml` as the record's metadata. The two types describe the same
/// document; a field the record type cannot hold is dropped rather than
/// failing the release.
pub fn stored_metadata(loaded: &crate::chart::Metadata) -> Metadata {
    serde_json::to_value(loaded)
        .ok()
        .and_then(|v| serde_json::from_value::<Metadata>(strip_nulls(v)).ok())
        .unwrap_or_else(|| Metadata {
            name: loaded.name.clone(),
            version: loaded.version.clone(),
            app_version: loaded.app_version.clone(),
            api_version: loaded.api_version.clone(),
            ..Metadata::default()
        })
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

impl Chart {
    /// The stored form of `loaded` (the top-level chart only, as Helm).
    pub fn from_loaded(loaded: &Loaded) -> Chart {
        Chart {
            metadata: Some(stored_metadata(&loaded.metadata)),
            templates: Some(loaded.templates.iter().map(stored_file).collect()),
            values: Some(loaded.values.clone()),
            schema: loaded.schema.clone(),
            files: Some(loaded.files.iter().map(stored_file).collect()),
            ..Chart::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{LoadLimits, load_files};

    #[test]
    fn a_loaded_chart_is_stored_with_its_metadata_templates_and_files() {
        let file = |name: &str, text: &str| crate::chart::File {
            name: name.into(),
            data: text.as_bytes().to_vec(),
        };
        let loaded = load_files(
            vec![
                file(
                    "Chart.yaml",
                    "apiVersion: v2\nname: web\nversion: 1.2.3\nappVersion: \"4.5\"\nkeywords: [a]\n",
                ),
                file("values.yaml", "replicas: 2\n"),
                file("templates/cm.yaml", "kind: ConfigMap\n"),
                file("README.md", "hello\n"),
            ],
            &LoadLimits::default(),
        )
        .expect("chart loads");
        let stored = Chart::from_loaded(&loaded);
        let meta = stored.metadata.as_ref().expect("metadata");
        assert_eq!(
            (
                meta.name.as_str(),
                meta.version.as_str(),
                meta.app_version.as_str()
            ),
            ("web", "1.2.3", "4.5")
        );
        assert_eq!(meta.keywords, vec!["a".to_string()]);
        let names = |fs: &Option<Vec<File>>| {
            fs.iter()
                .flatten()
                .map(|f| f.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&stored.templates), vec!["templates/cm.yaml"]);
        assert!(names(&stored.files).contains(&"README.md".to_string()));
        assert_eq!(
            stored
                .values
                .as_ref()
                .and_then(|v| v.get("replicas"))
                .and_then(Value::as_f64),
            Some(2.0)
        );
    }
}
