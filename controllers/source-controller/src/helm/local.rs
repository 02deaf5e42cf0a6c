//! Charts from a GitRepository or Bucket artifact: the source is unpacked
//! (safely) into a work directory, the chart at `spec.chart` (a directory,
//! or a packaged `.tgz`) is loaded with crates/helm's limits, its version is
//! the one in `Chart.yaml` with Flux's build metadata, dependencies missing
//! from `charts/` are found (`file://` ones here, inside the same source;
//! repository ones by the caller), values files are read from the source
//! and merged, and the result is packaged as a `.tgz` Helm loads.

use std::path::{Path, PathBuf};

use ferroflux_gocompat::path::clean;
use ferroflux_gocompat::semver::{Constraints, Version};
use ferroflux_helm::chart::{Chart, Dependency, LoadLimits, load_archive, load_dir};

use super::chart::merge_values_with;
use super::{DEFAULT_MAX_CHART_UNPACKED_SIZE, HelmError};

/// Largest values file read from a source (Helm's largest chart file).
const MAX_VALUES_FILE: u64 = 5 << 20;

/// Largest `Chart.lock` read.
const MAX_LOCK_FILE: u64 = 1 << 20;

/// The loader's limits for charts from sources: `max_archive` for packaged
/// charts, Helm's bounds on what is unpacked.
pub fn limits(max_archive: u64) -> LoadLimits {
    LoadLimits {
        max_archive_bytes: max_archive,
        max_total_bytes: DEFAULT_MAX_CHART_UNPACKED_SIZE,
        ..LoadLimits::default()
    }
}

/// `spec.chart` as a path inside the source: relative, cleaned (`.` for
/// the root). An absolute path or one that climbs out is refused.
pub fn chart_path(raw: &str) -> Result<String, HelmError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(HelmError::Reference("the chart path is empty".into()));
    }
    if trimmed.starts_with('/') {
        return Err(HelmError::Reference(format!(
            "chart path '{raw}' must be relative to the root of the source"
        )));
    }
    let cleaned = clean(trimmed);
    if cleaned == ".." || cleaned.starts_with("../") {
        return Err(HelmError::Reference(format!(
            "chart path '{raw}' points outside the source"
        )));
    }
    Ok(cleaned)
}

/// `rel` under `root`, refused when it leaves `root` lexically or through
/// a symbolic link; `None` when nothing is there.
fn secure_join(root: &Path, rel: &str, what: &str) -> Result<Option<PathBuf>, HelmError> {
    let cleaned = clean(rel.trim_start_matches('/'));
    if cleaned == ".." || cleaned.starts_with("../") {
        return Err(HelmError::Reference(format!(
            "{what} '{rel}' points outside the source"
        )));
    }
    let joined = root.join(&cleaned);
    let real = match joined.canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(HelmError::Io(format!("{what} '{rel}': {e}"))),
    };
    let real_root = root
        .canonicalize()
        .map_err(|e| HelmError::Io(format!("source directory: {e}")))?;
    if !real.starts_with(&real_root) {
        return Err(HelmError::Reference(format!(
            "{what} '{rel}' points outside the source"
        )));
    }
    Ok(Some(real))
}

/// Reads the file at `path`, refusing more than `max` bytes.
fn read_bounded(path: &Path, max: u64, what: &str) -> Result<Vec<u8>, HelmError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| HelmError::Io(format!("{what}: {e}")))?;
    let mut data = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut data)
        .map_err(|e| HelmError::Io(format!("{what}: {e}")))?;
    if data.len() as u64 > max {
        return Err(HelmError::TooLarge {
            what: what.to_string(),
            limit: max,
        });
    }
    Ok(data)
}

/// A chart found in a source: loaded, and where its directory is (for
/// `file://` dependencies and `Chart.lock`; `None` for a packaged chart).
pub struct SourceChart {
    /// The chart as loaded (its `charts/` subcharts included).
    pub chart: Chart,
    /// The chart's directory in the unpacked source.
    pub dir: Option<PathBuf>,
}

/// Loads the chart at `path` (see [`chart_path`]) in the unpacked source
/// `root`: a directory holding `Chart.yaml`, or a packaged chart file.
pub fn load_chart(root: &Path, path: &str, limits: &LoadLimits) -> Result<SourceChart, HelmError> {
    let found = secure_join(root, path, "chart path")?.ok_or_else(|| {
        HelmError::Reference(format!("no chart found at path '{path}' in the source"))
    })?;
    if found.is_dir() {
        if !found.join("Chart.yaml").is_file() {
            return Err(HelmError::Reference(format!(
                "no Chart.yaml found in '{path}' in the source"
            )));
        }
        let chart = load_dir(&found, limits)
            .map_err(|e| HelmError::Chart(format!("failed to load chart at '{path}': {e}")))?;
        return Ok(SourceChart {
            chart,
            dir: Some(found),
        });
    }
    let bytes = read_bounded(&found, limits.max_archive_bytes, &format!("chart '{path}'"))?;
    let chart = load_archive(&bytes, limits)
        .map_err(|e| HelmError::Chart(format!("failed to load chart at '{path}': {e}")))?;
    Ok(SourceChart { chart, dir: None })
}

/// The build metadata Flux appends to a chart's version: with the
/// `Revision` strategy the first 12 characters of the source revision's
/// hash (`main@sha1:<hex>`, `sha256:<hex>`), and with values files the
/// object's generation (after a `.`).
pub fn version_metadata(
    revision_strategy: bool,
    source_revision: &str,
    values_generation: Option<i64>,
) -> String {
    let mut parts = Vec::new();
    if revision_strategy {
        let hash = source_revision
            .rsplit(':')
            .next()
            .unwrap_or(source_revision);
        let hash = hash.rsplit('@').next().unwrap_or(hash);
        parts.push(hash.chars().take(12).collect::<String>());
    }
    if let Some(generation) = values_generation {
        parts.push(generation.to_string());
    }
    parts.join(".")
}

/// The chart version `version` (from `Chart.yaml`) as Flux reports it:
/// normalised as Masterminds' `String()` writes it, with `metadata`
/// replacing any build metadata when not empty.
pub fn chart_version(version: &str, metadata: &str) -> Result<String, HelmError> {
    let v = Version::parse(version).map_err(|e| {
        HelmError::Chart(format!(
            "invalid chart version '{version}' in Chart.yaml: {e}"
        ))
    })?;
    let metadata = if metadata.is_empty() {
        v.metadata()
    } else {
        metadata
    };
    Ok(Version::new(v.major(), v.minor(), v.patch(), v.prerelease(), metadata).to_string())
}

/// The dependencies of `chart` that its `charts/` directory lacks: those of
/// `Chart.lock` when the chart directory has one (it takes precedence, as
/// in Flux), else those of `Chart.yaml`; one per name.
pub fn missing_dependencies(chart: &SourceChart) -> Result<Vec<Dependency>, HelmError> {
    let mut wanted = chart.chart.metadata.dependencies.clone();
    if let Some(dir) = &chart.dir
        && dir.join("Chart.lock").is_file()
    {
        #[derive(serde::Deserialize)]
        struct Lock {
            #[serde(default)]
            dependencies: Vec<Dependency>,
        }
        let data = read_bounded(&dir.join("Chart.lock"), MAX_LOCK_FILE, "Chart.lock")?;
        let lock: Lock = serde_yaml::from_slice(&data)
            .map_err(|e| HelmError::Chart(format!("failed to read Chart.lock: {e}")))?;
        wanted = lock.dependencies;
    }
    let mut missing: Vec<Dependency> = Vec::new();
    for dep in wanted {
        let present = chart
            .chart
            .dependencies
            .iter()
            .any(|c| c.name() == dep.name);
        if !present && !missing.iter().any(|m| m.name == dep.name) {
            missing.push(dep);
        }
    }
    Ok(missing)
}

/// Whether a dependency is taken from the same source (`file://...`).
pub fn is_local(dep: &Dependency) -> bool {
    dep.repository.starts_with("file://")
}

/// Checks `version` against a dependency's constraint (none: any).
pub fn check_dependency_version(dep: &Dependency, version: &str) -> Result<(), HelmError> {
    if dep.version.trim().is_empty() {
        return Ok(());
    }
    let constraint = Constraints::parse(dep.version.trim()).map_err(|e| {
        HelmError::Reference(format!(
            "dependency '{}': invalid version constraint '{}': {e}",
            dep.name, dep.version
        ))
    })?;
    let ok = Version::parse(version).is_ok_and(|v| constraint.check(&v));
    if !ok {
        return Err(HelmError::Reference(format!(
            "can't get a valid version for dependency '{}': version '{version}' does not match '{}'",
            dep.name, dep.version
        )));
    }
    Ok(())
}

/// Loads the `file://` dependency `dep` of the chart in `chart_dir`, which
/// must stay inside the unpacked source `root`.
pub fn load_local_dependency(
    root: &Path,
    chart_dir: &Path,
    dep: &Dependency,
    limits: &LoadLimits,
) -> Result<Chart, HelmError> {
    let rel = dep.repository.trim_start_matches("file://");
    let from_root = chart_dir
        .strip_prefix(root.canonicalize().unwrap_or_else(|_| root.to_path_buf()))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let path = if rel.starts_with('/') {
        rel.to_string()
    } else {
        format!("{from_root}/{rel}")
    };
    let found =
        secure_join(root, &path, &format!("dependency '{}' path", dep.name))?.ok_or_else(|| {
            HelmError::Reference(format!(
                "dependency '{}': no chart found at '{}'",
                dep.name, dep.repository
            ))
        })?;
    let failed = |e: String| {
        HelmError::Chart(format!(
            "failed to load dependency '{}' from '{}': {e}",
            dep.name, dep.repository
        ))
    };
    let loaded = if found.is_dir() {
        load_dir(&found, limits).map_err(|e| failed(e.to_string()))?
    } else {
        let bytes = read_bounded(&found, limits.max_archive_bytes, &dep.repository)?;
        load_archive(&bytes, limits).map_err(|e| failed(e.to_string()))?
    };
    if loaded.name() != dep.name {
        return Err(HelmError::Reference(format!(
            "dependency '{}' at '{}' is a chart named '{}'",
            dep.name,
            dep.repository,
            loaded.name()
        )));
    }
    check_dependency_version(dep, &loaded.metadata.version)?;
    Ok(loaded)
}

/// Merges the values files `files` (paths in the source `root`, the last
/// winning); returns the merged `values.yaml` and the files found.
pub fn merge_source_values(
    root: &Path,
    files: &[String],
    ignore_missing: bool,
) -> Result<(String, Vec<String>), HelmError> {
    merge_values_with(files, ignore_missing, "the source", |name| {
        let found = secure_join(root, name, "values file").map_err(|e| match e {
            HelmError::Reference(m) => HelmError::Package(m),
            other => other,
        })?;
        match found {
            Some(path) if path.is_file() => {
                read_bounded(&path, MAX_VALUES_FILE, &format!("values file '{name}'")).map(Some)
            }
            _ => Ok(None),
        }
    })
}

/// Packages `chart` at `version`, with `values` as its `values.yaml` when
/// merged and `dependencies` added under `charts/`, into `dest`; the
/// archive is loaded back before it is written, so what is stored loads.
pub fn package(
    mut chart: Chart,
    version: &str,
    values: Option<String>,
    dependencies: Vec<Chart>,
    dest: &Path,
    limits: &LoadLimits,
) -> Result<(), HelmError> {
    chart.metadata.version = version.to_string();
    if let Some(values) = values {
        chart.raw_values = Some(values.into_bytes());
    }
    chart.dependencies.extend(dependencies);
    let bytes = ferroflux_helm::package::archive(&chart)
        .map_err(|e| HelmError::Package(format!("failed to package chart: {e}")))?;
    load_archive(&bytes, limits)
        .map_err(|e| HelmError::Package(format!("the packaged chart does not load: {e}")))?;
    std::fs::write(dest, bytes)
        .map_err(|e| HelmError::Io(format!("writing the packaged chart: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (name, data) in files {
            let p = root.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, data).unwrap();
        }
    }

    #[test]
    fn chart_paths_stay_in_the_source() {
        assert_eq!(chart_path("./charts/app/").unwrap(), "charts/app");
        assert_eq!(chart_path("charts/../app").unwrap(), "app");
        assert_eq!(chart_path(".").unwrap(), ".");
        for bad in ["", "/etc", "../x", "charts/../../x"] {
            let e = chart_path(bad).unwrap_err();
            assert!(e.is_stalling(), "{bad}: {e}");
        }
    }

    #[test]
    fn versions_get_flux_metadata() {
        let git = "main@sha1:0123456789abcdef0123456789abcdef01234567";
        assert_eq!(version_metadata(true, git, None), "0123456789ab");
        assert_eq!(version_metadata(true, git, Some(3)), "0123456789ab.3");
        assert_eq!(version_metadata(false, git, Some(3)), "3");
        assert_eq!(version_metadata(false, git, None), "");
        let bucket = format!("sha256:{}", "4e5cbb7b97d0".repeat(5));
        assert_eq!(version_metadata(true, &bucket, None), "4e5cbb7b97d0");
        assert_eq!(
            chart_version("6.0.3", "4e5cbb7b97d0").unwrap(),
            "6.0.3+4e5cbb7b97d0"
        );
        assert_eq!(chart_version("v1.2", "").unwrap(), "1.2.0");
        assert_eq!(
            chart_version("1.0.0-rc.1+old", "7").unwrap(),
            "1.0.0-rc.1+7"
        );
        assert_eq!(chart_version("1.0.0+old", "").unwrap(), "1.0.0+old");
        assert!(chart_version("one", "").is_err());
    }

    #[test]
    fn local_dependencies_values_and_packaging() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            &[
                (
                    "charts/app/Chart.yaml",
                    "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: lib\n  version: '>=0.1.0'\n  repository: file://../../libs/lib\n- name: vendored\n  version: 1.0.0\n- name: far\n  version: 1.0.0\n  repository: https://charts.example.com\n",
                ),
                ("charts/app/values.yaml", "a: 1\nb: {c: 2}\n"),
                ("charts/app/templates/cm.yaml", "kind: ConfigMap\n"),
                (
                    "charts/app/charts/vendored/Chart.yaml",
                    "apiVersion: v2\nname: vendored\nversion: 1.0.0\n",
                ),
                (
                    "libs/lib/Chart.yaml",
                    "apiVersion: v2\nname: lib\nversion: 0.2.0\n",
                ),
                ("libs/lib/templates/x.yaml", "kind: Secret\n"),
                ("env/prod.yaml", "b: {d: 3}\n"),
            ],
        );
        let limits = limits(1 << 20);
        let found = load_chart(root, "charts/app", &limits).unwrap();
        let missing = missing_dependencies(&found).unwrap();
        let names: Vec<_> = missing.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["lib", "far"]);
        assert!(is_local(&missing[0]) && !is_local(&missing[1]));
        let chart_dir = found.dir.clone().unwrap();
        let lib = load_local_dependency(root, &chart_dir, &missing[0], &limits).unwrap();
        assert_eq!(lib.metadata.version, "0.2.0");

        // A constraint the local chart does not meet, and a path out.
        let mut strict = missing[0].clone();
        strict.version = "^1.0.0".into();
        let e = load_local_dependency(root, &chart_dir, &strict, &limits).unwrap_err();
        assert!(
            e.to_string().contains("valid version for dependency 'lib'"),
            "{e}"
        );
        let mut out = missing[0].clone();
        out.repository = "file://../../../../etc".into();
        let e = load_local_dependency(root, &chart_dir, &out, &limits).unwrap_err();
        assert!(e.to_string().contains("outside the source"), "{e}");

        let files = vec![
            "charts/app/values.yaml".to_string(),
            "./env/prod.yaml".to_string(),
        ];
        let (values, found_files) = merge_source_values(root, &files, false).unwrap();
        assert_eq!(found_files, files);
        let v: serde_json::Value = serde_yaml::from_str(&values).unwrap();
        assert_eq!(v, serde_json::json!({"a": 1, "b": {"c": 2, "d": 3}}));
        let e = merge_source_values(root, &["../../etc/passwd".into()], true).unwrap_err();
        assert!(e.to_string().contains("outside the source"), "{e}");
        let e = merge_source_values(root, &["nope.yaml".into()], false).unwrap_err();
        assert!(e.to_string().contains("nope.yaml"), "{e}");

        let dest = root.join("out.tgz");
        package(
            found.chart,
            "1.0.0+abc",
            Some(values),
            vec![lib],
            &dest,
            &limits,
        )
        .unwrap();
        let again = load_archive(&std::fs::read(&dest).unwrap(), &limits).unwrap();
        assert_eq!(again.metadata.version, "1.0.0+abc");
        let mut subs: Vec<_> = again.dependencies.iter().map(|c| c.name()).collect();
        subs.sort();
        assert_eq!(subs, ["lib", "vendored"]);
        assert_eq!(again.values["b"]["d"], 3.0);
    }

    /// A gzipped tar of `entries`, names written into the headers as they
    /// are (the tar crate refuses `..` when building).
    fn raw_tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
        use flate2::Compression;
        use flate2::write::GzEncoder;
        let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::best()));
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn hostile_packaged_charts_in_a_source_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let chart = b"apiVersion: v2\nname: app\nversion: 1.0.0\n";
        std::fs::write(
            root.join("climb.tgz"),
            raw_tgz(&[("app/Chart.yaml", chart), ("app/../../evil", b"x")]),
        )
        .unwrap();
        let bomb = vec![0u8; 8 << 20];
        std::fs::write(
            root.join("bomb.tgz"),
            raw_tgz(&[("app/Chart.yaml", chart), ("app/zeros.bin", &bomb)]),
        )
        .unwrap();
        std::fs::write(root.join("big.tgz"), vec![0u8; 4096]).unwrap();
        let small = LoadLimits {
            max_file_bytes: 1 << 20,
            ..limits(1 << 20)
        };
        let e = load_chart(root, "climb.tgz", &small).err().unwrap();
        assert!(e.to_string().contains("parent directory"), "{e}");
        let e = load_chart(root, "bomb.tgz", &small).err().unwrap();
        assert!(e.to_string().contains("larger than the maximum"), "{e}");
        let e = load_chart(root, "big.tgz", &limits(1024)).err().unwrap();
        assert!(
            e.to_string().contains("exceeds the maximum size of 1024"),
            "{e}"
        );
        // Nothing was unpacked beside the archives.
        let mut names: Vec<_> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["big.tgz", "bomb.tgz", "climb.tgz"]);
    }

    #[test]
    fn a_lock_file_takes_precedence_and_links_out_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("src");
        write(
            &root,
            &[
                (
                    "app/Chart.yaml",
                    "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: db\n  version: '*'\n  repository: https://a.example.com\n",
                ),
                (
                    "app/Chart.lock",
                    "dependencies:\n- name: db\n  version: 2.3.4\n  repository: https://a.example.com\ndigest: x\n",
                ),
            ],
        );
        let found = load_chart(&root, "app", &limits(1 << 20)).unwrap();
        let missing = missing_dependencies(&found).unwrap();
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].version, "2.3.4");

        std::fs::write(dir.path().join("secret.yaml"), "password: x\n").unwrap();
        std::os::unix::fs::symlink("../secret.yaml", root.join("values-link.yaml")).unwrap();
        let e = merge_source_values(&root, &["values-link.yaml".into()], false).unwrap_err();
        assert!(e.to_string().contains("outside the source"), "{e}");
        let e = load_chart(&root, "missing", &limits(1 << 20))
            .err()
            .unwrap();
        assert!(
            e.to_string().contains("no chart found at path 'missing'"),
            "{e}"
        );
    }
}
