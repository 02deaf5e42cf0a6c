//! Chart archives from a repository: checked before use (digest from the
//! index, then crates/helm's loader for untrusted archives: no path out of
//! the chart, no link out of it, size, file count and depth limits, a valid
//! `Chart.yaml`), and repackaged with merged values files when a HelmChart
//! asks for them.

use std::io::{Read, Write};
use std::path::Path;

use ferroflux_helm::chart::{Chart, LoadLimits, load_archive};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::{Map, Value};

use super::{DEFAULT_MAX_CHART_UNPACKED_SIZE, HelmError};

/// Loads the archive at `path` (at most `max_size` bytes) as an untrusted
/// chart, after checking its SHA-256 against `digest` (hex, from the index)
/// when there is one.
pub fn check_archive(path: &Path, digest: &str, max_size: u64) -> Result<Chart, HelmError> {
    let bytes =
        std::fs::read(path).map_err(|e| HelmError::Io(format!("reading the chart: {e}")))?;
    if !digest.is_empty() {
        use sha2::Digest as _;
        let got = hex::encode(sha2::Sha256::digest(&bytes));
        let want = digest.strip_prefix("sha256:").unwrap_or(digest);
        if !got.eq_ignore_ascii_case(want) {
            return Err(HelmError::Chart(format!(
                "chart digest mismatch: the index says sha256:{want}, the archive is sha256:{got}"
            )));
        }
    }
    let limits = LoadLimits {
        max_archive_bytes: max_size,
        max_total_bytes: DEFAULT_MAX_CHART_UNPACKED_SIZE,
        ..LoadLimits::default()
    };
    load_archive(&bytes, &limits)
        .map_err(|e| HelmError::Chart(format!("invalid chart archive: {e}")))
}

/// Merges the chart's values files `files` (paths in the chart, in order,
/// the last winning) into one `values.yaml`; returns its text and the files
/// that were found. A missing file is an error unless `ignore_missing`.
pub fn merge_values(
    chart: &Chart,
    files: &[String],
    ignore_missing: bool,
) -> Result<(String, Vec<String>), HelmError> {
    merge_values_with(files, ignore_missing, "the chart", |name| {
        let clean = name.trim_start_matches("./");
        Ok(if clean == "values.yaml" {
            chart.raw_values.clone()
        } else {
            chart
                .files
                .iter()
                .find(|f| f.name == clean)
                .map(|f| f.data.clone())
        })
    })
}

/// Merges the values files `files` (in order, the last winning) read with
/// `read` (`None`: the file does not exist) into one `values.yaml`; returns
/// its text and the files that were found. `place` names where the files
/// are looked up, in errors.
pub fn merge_values_with(
    files: &[String],
    ignore_missing: bool,
    place: &str,
    mut read: impl FnMut(&str) -> Result<Option<Vec<u8>>, HelmError>,
) -> Result<(String, Vec<String>), HelmError> {
    let mut merged = Map::new();
    let mut found = Vec::new();
    for name in files {
        let Some(data) = read(name)? else {
            if ignore_missing {
                continue;
            }
            return Err(HelmError::Package(format!(
                "no values file found at path '{name}' in {place}"
            )));
        };
        let text = std::str::from_utf8(&data)
            .map_err(|_| HelmError::Package(format!("values file '{name}' is not UTF-8")))?;
        let value: Value = if text.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            serde_yaml::from_str(text).map_err(|e| {
                HelmError::Package(format!("failed to parse values file '{name}': {e}"))
            })?
        };
        match value {
            Value::Object(map) => merge_into(&mut merged, map),
            Value::Null => {}
            _ => {
                return Err(HelmError::Package(format!(
                    "values file '{name}' is not a map"
                )));
            }
        }
        found.push(name.clone());
    }
    let text = serde_yaml::to_string(&Value::Object(merged))
        .map_err(|e| HelmError::Package(format!("writing the merged values: {e}")))?;
    Ok((text, found))
}

/// Deep merge: maps merge key by key, anything else is replaced.
fn merge_into(base: &mut Map<String, Value>, over: Map<String, Value>) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => merge_into(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Writes `src` (a chart archive already checked by [`check_archive`]) to
/// `dest` with `values.yaml` replaced by `values` and the version in
/// `Chart.yaml` set to `version`, every other entry copied as it is.
pub fn repackage(src: &Path, dest: &Path, values: &str, version: &str) -> Result<(), HelmError> {
    let io = |e: std::io::Error| HelmError::Package(format!("repackaging the chart: {e}"));
    let input = std::fs::File::open(src).map_err(io)?;
    let mut archive = tar::Archive::new(GzDecoder::new(input));
    let out = std::fs::File::create(dest).map_err(io)?;
    let mut builder = tar::Builder::new(GzEncoder::new(out, Compression::default()));
    let mut root: Option<String> = None;
    let mut wrote_values = false;
    for entry in archive.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let (top, rest) = raw.split_once('/').unwrap_or((raw.as_str(), ""));
        if root.is_none() && !top.is_empty() {
            root = Some(top.to_string());
        }
        let mut header = entry.header().clone();
        let replacement = match rest {
            "values.yaml" => {
                wrote_values = true;
                Some(values.as_bytes().to_vec())
            }
            "Chart.yaml" => {
                let mut text = String::new();
                entry.read_to_string(&mut text).map_err(io)?;
                Some(with_version(&text, version)?.into_bytes())
            }
            _ => None,
        };
        match replacement {
            Some(data) => {
                header.set_size(data.len() as u64);
                header.set_cksum();
                builder.append(&header, data.as_slice()).map_err(io)?;
            }
            None => builder.append(&header, &mut entry).map_err(io)?,
        }
    }
    if !wrote_values {
        let root = root.ok_or_else(|| HelmError::Package("empty chart archive".to_string()))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(values.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(
                &mut header,
                format!("{root}/values.yaml"),
                values.as_bytes(),
            )
            .map_err(io)?;
    }
    let gz = builder.into_inner().map_err(io)?;
    gz.finish().map_err(io)?.flush().map_err(io)?;
    Ok(())
}

/// `Chart.yaml` with its `version` set.
fn with_version(chart_yaml: &str, version: &str) -> Result<String, HelmError> {
    let mut doc: serde_yaml::Value = serde_yaml::from_str(chart_yaml)
        .map_err(|e| HelmError::Package(format!("reading Chart.yaml: {e}")))?;
    let map = doc
        .as_mapping_mut()
        .ok_or_else(|| HelmError::Package("Chart.yaml is not a map".to_string()))?;
    map.insert("version".into(), version.into());
    serde_yaml::to_string(&doc).map_err(|e| HelmError::Package(format!("writing Chart.yaml: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tgz(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            // Written into the header as-is: the tar crate refuses `..`.
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            b.append(&h, data.as_bytes()).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    const CHART: &str = "apiVersion: v2\nname: app\nversion: 1.2.3\n";

    #[test]
    fn values_merge_and_repackage() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("app.tgz");
        std::fs::write(
            &src,
            tgz(&[
                ("app/Chart.yaml", CHART),
                ("app/values.yaml", "replicas: 1\nimage: {tag: a, repo: r}\n"),
                ("app/values-prod.yaml", "replicas: 3\nimage: {tag: b}\n"),
                ("app/templates/cm.yaml", "kind: ConfigMap\n"),
            ]),
        )
        .unwrap();
        let chart = check_archive(&src, "", 1 << 20).unwrap();
        let files = vec![
            "values.yaml".to_string(),
            "values-prod.yaml".to_string(),
            "nope.yaml".to_string(),
        ];
        assert!(
            merge_values(&chart, &files, false)
                .unwrap_err()
                .to_string()
                .contains("nope.yaml")
        );
        let (values, found) = merge_values(&chart, &files, true).unwrap();
        assert_eq!(found, ["values.yaml", "values-prod.yaml"]);
        let v: Value = serde_yaml::from_str(&values).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"replicas": 3, "image": {"tag": "b", "repo": "r"}})
        );
        let dest = dir.path().join("out.tgz");
        repackage(&src, &dest, &values, "1.2.3+4").unwrap();
        let again = check_archive(&dest, "", 1 << 20).unwrap();
        assert_eq!(again.metadata.version, "1.2.3+4");
        assert_eq!(again.values["image"]["repo"], "r");
        assert_eq!(again.templates.len(), 1);
    }

    #[test]
    fn hostile_archives_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.tgz");
        std::fs::write(
            &p,
            tgz(&[("app/Chart.yaml", CHART), ("app/../../etc/passwd", "x")]),
        )
        .unwrap();
        assert!(
            check_archive(&p, "", 1 << 20)
                .unwrap_err()
                .to_string()
                .contains("invalid chart archive")
        );
        // A digest that does not match the index is refused before reading.
        std::fs::write(&p, tgz(&[("app/Chart.yaml", CHART)])).unwrap();
        let e = check_archive(&p, &"0".repeat(64), 1 << 20).unwrap_err();
        assert!(e.to_string().contains("digest mismatch"), "{e}");
        // Over the compressed size limit.
        assert!(check_archive(&p, "", 10).is_err());
        // A decompression bomb: 200 MiB of zeros in a small archive.
        let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::best()));
        let mut h = tar::Header::new_gnu();
        h.set_size(200 << 20);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, "app/big.bin", std::io::repeat(0).take(200 << 20))
            .unwrap();
        std::fs::write(&p, b.into_inner().unwrap().finish().unwrap()).unwrap();
        let e = check_archive(&p, "", 10 << 20).unwrap_err();
        assert!(e.to_string().contains("larger than the maximum"), "{e}");
    }
}
