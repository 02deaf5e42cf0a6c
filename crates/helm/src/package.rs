//! Writing a loaded chart back as a `.tgz` archive, as `helm package` lays
//! it out: everything under `<name>/`, `Chart.yaml` marshalled from the
//! metadata with Go's `omitempty` (empty fields left out), `values.yaml` and
//! `values.schema.json` as they are, templates and other files, and each
//! subchart as a directory under `charts/` (Helm's `chartutil.Save` does the
//! same), so what was loaded and changed (version, values, dependencies
//! added) can be handed to Helm again.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

use crate::chart::Chart;

/// Why a chart could not be packaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    /// The chart cannot be written as it is (invalid metadata, a file name
    /// that would leave the chart).
    #[error("{0}")]
    Invalid(String),
    /// Writing the archive failed.
    #[error("writing the chart archive: {0}")]
    Io(String),
}

/// Packages `chart` (and its subcharts) as gzip-compressed tar bytes. The
/// metadata must validate as Helm validates it (`apiVersion`, `name`, a
/// SemVer `version`).
pub fn archive(chart: &Chart) -> Result<Vec<u8>, PackageError> {
    let mut out = Vec::new();
    write_archive(chart, &mut out)?;
    Ok(out)
}

/// [`archive`] into `out`.
pub fn write_archive<W: Write>(chart: &Chart, out: W) -> Result<(), PackageError> {
    let gz = GzEncoder::new(out, Compression::default());
    let mut tar = tar::Builder::new(gz);
    write_chart(&mut tar, chart, "", 0)?;
    let gz = tar.into_inner().map_err(io)?;
    gz.finish().map_err(io)?.flush().map_err(io)?;
    Ok(())
}

fn io(e: std::io::Error) -> PackageError {
    PackageError::Io(e.to_string())
}

/// Subcharts nested deeper than this are refused (the loader's own bound
/// is lower; this only keeps a hand-built chart from recursing forever).
const MAX_DEPTH: usize = 64;

fn write_chart<W: Write>(
    tar: &mut tar::Builder<W>,
    chart: &Chart,
    parent: &str,
    depth: usize,
) -> Result<(), PackageError> {
    if depth > MAX_DEPTH {
        return Err(PackageError::Invalid(
            "subcharts are nested too deeply".into(),
        ));
    }
    chart
        .metadata
        .validate()
        .map_err(|e| PackageError::Invalid(format!("chart {:?}: {e}", chart.name())))?;
    let base = format!("{parent}{}", chart.name());
    add(tar, &format!("{base}/Chart.yaml"), &chart_yaml(chart)?)?;
    if let Some(values) = &chart.raw_values {
        add(tar, &format!("{base}/values.yaml"), values)?;
    }
    if let Some(schema) = &chart.schema {
        add(tar, &format!("{base}/values.schema.json"), schema)?;
    }
    for f in chart.templates.iter().chain(&chart.files) {
        add(tar, &format!("{base}/{}", checked(&f.name)?), &f.data)?;
    }
    for sub in &chart.dependencies {
        write_chart(tar, sub, &format!("{base}/charts/"), depth + 1)?;
    }
    Ok(())
}

/// A file name of a chart as it goes into the archive: relative, without
/// `..` or empty segments (the loader never produces others; a chart built
/// by hand might).
fn checked(name: &str) -> Result<&str, PackageError> {
    let bad = name.is_empty()
        || name.starts_with('/')
        || name.contains('\\')
        || name
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        return Err(PackageError::Invalid(format!(
            "chart file name {name:?} is not a relative path inside the chart"
        )));
    }
    Ok(name)
}

fn add<W: Write>(tar: &mut tar::Builder<W>, path: &str, data: &[u8]) -> Result<(), PackageError> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mtime(0);
    tar.append_data(&mut header, path, data).map_err(io)
}

/// `Chart.yaml` as Helm marshals `chart.Metadata`: every field is
/// `omitempty`, so empty strings, `false`, nulls and empty lists or maps
/// are left out.
fn chart_yaml(chart: &Chart) -> Result<Vec<u8>, PackageError> {
    let mut value = serde_json::to_value(&chart.metadata)
        .map_err(|e| PackageError::Invalid(format!("Chart.yaml: {e}")))?;
    prune(&mut value);
    serde_yaml::to_string(&value)
        .map(String::into_bytes)
        .map_err(|e| PackageError::Invalid(format!("Chart.yaml: {e}")))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Number(_) => false,
    }
}

fn prune(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                prune(child);
            }
            map.retain(|_, child| !is_empty(child));
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{File, LoadLimits, load_archive, load_files};

    fn file(name: &str, data: &str) -> File {
        File {
            name: name.into(),
            data: data.as_bytes().to_vec(),
        }
    }

    fn load(files: Vec<File>) -> Chart {
        load_files(files, &LoadLimits::default()).unwrap()
    }

    #[test]
    fn a_packaged_chart_loads_back_the_same() {
        let sub = vec![
            file("Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n"),
            file("values.yaml", "x: 1\n"),
            file("templates/a.yaml", "a: {{ .Values.x }}\n"),
        ];
        let mut files = vec![
            file(
                "Chart.yaml",
                "apiVersion: v2\nname: app\nversion: 1.2.3\ndescription: demo\ndependencies:\n- name: sub\n  version: 0.1.0\n  repository: file://../sub\n",
            ),
            file("values.yaml", "replicas: 2 # kept as written\n"),
            file("values.schema.json", "{}"),
            file("templates/cm.yaml", "kind: ConfigMap\n"),
            file("files/data.txt", "hello"),
        ];
        for f in sub {
            files.push(File {
                name: format!("charts/sub/{}", f.name),
                data: f.data,
            });
        }
        let mut chart = load(files);
        chart.metadata.version = "1.2.3+abc".into();
        let bytes = archive(&chart).unwrap();
        let again = load_archive(&bytes, &LoadLimits::default()).unwrap();
        assert_eq!(again.metadata, chart.metadata);
        assert_eq!(
            again.raw_values.as_deref(),
            Some(&b"replicas: 2 # kept as written\n"[..])
        );
        assert_eq!(again.schema.as_deref(), Some(&b"{}"[..]));
        assert_eq!(again.templates, chart.templates);
        assert_eq!(again.files, chart.files);
        assert_eq!(again.dependencies.len(), 1);
        assert_eq!(again.dependencies[0].name(), "sub");
        assert_eq!(again.dependencies[0].templates.len(), 1);
        // omitempty: no empty fields in Chart.yaml.
        let yaml = String::from_utf8(chart_yaml(&chart).unwrap()).unwrap();
        assert!(!yaml.contains("''") && !yaml.contains("null"), "{yaml}");
        assert!(!yaml.contains("deprecated"), "{yaml}");
        assert!(yaml.contains("version: 1.2.3+abc"), "{yaml}");
    }

    #[test]
    fn names_leaving_the_chart_and_invalid_metadata_are_refused() {
        let mut chart = load(vec![file(
            "Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 1.0.0\n",
        )]);
        chart.files.push(file("../../etc/passwd", "x"));
        let e = archive(&chart).unwrap_err();
        assert!(e.to_string().contains("../../etc/passwd"), "{e}");
        chart.files.clear();
        chart.metadata.version = "not a version".into();
        let e = archive(&chart).unwrap_err();
        assert!(e.to_string().contains("version"), "{e}");
    }
}
