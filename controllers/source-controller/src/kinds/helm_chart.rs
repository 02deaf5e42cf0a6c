//! HelmChart from a HelmRepository: the chart's versions are read from the
//! repository's stored index (in bounded memory), the newest one matching
//! the SemVer range (Masterminds rules, `*` by default) is downloaded with
//! the repository's credentials (to other hosts only with
//! `passCredentials`), checked (digest from the index, untrusted-archive
//! loader) and stored as `<name>-<version>.tgz`; with `valuesFiles` the
//! values are merged and the chart repackaged as `<version>+<generation>`.
//! From an OCI HelmRepository the version comes from the registry's tags;
//! from a GitRepository or Bucket the chart directory is built and packaged
//! (`helm_chart_sources`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ferroflux_api::conditions::reasons;
use ferroflux_api::meta::Artifact;
use ferroflux_api::source::v1::{HelmChart, HelmChartSourceKind, HelmRepository};
use ferroflux_gocompat::semver::{Constraints, Version};
use ferroflux_runtime::events::Recorder;
use kube::api::Api;
use kube::{Resource, ResourceExt};

use super::helm_chart_sources::{
    BuiltFrom, Dependencies, SourceArtifact, build, oci_client, source_artifact, unpack_and_load,
};
use super::helm_repository::{helm_failure, repo_client};
use crate::helm::http::RepoClient;
use crate::helm::index::{self, ChartVersion};
use crate::helm::{self, HelmError};
use crate::ignore::IgnoreRules;
use crate::reconcile::{
    ArtifactReconciler, ArtifactSource, Fetched, SourceStep, failed, stalled, waiting,
};
use crate::storage::Storage;

/// Reason of a chart whose signature verification is asked for (Flux's).
pub const VERIFICATION_ERROR: &str = "VerificationError";

/// Reason of a HelmChart whose source is missing or has no artifact yet.
pub const SOURCE_UNAVAILABLE: &str = "SourceUnavailable";

/// The HelmChart reconciler: the shared artifact reconcile over Helm
/// repositories.
pub type HelmChartReconciler = ArtifactReconciler<HelmCharts>;

/// HelmChart as an [`ArtifactSource`].
pub struct HelmCharts {
    client: kube::Client,
    storage: Storage,
    max_chart_size: u64,
    versions: VersionCache,
    scratch: Option<PathBuf>,
    built: BuiltCache,
}

/// Per HelmChart built from a source: the source revision and generation
/// it was last built from and the chart revision that gave. With the
/// `ChartVersion` strategy a new source revision whose chart version did
/// not change stores nothing (so `observedSourceArtifactRevision` stays);
/// this keeps every later interval from unpacking the source again.
#[derive(Default)]
struct BuiltCache(Mutex<HashMap<String, Built>>);

/// The source revision and generation a chart was built from, and the
/// chart revision that gave.
type Built = (String, Option<i64>, String);

impl BuiltCache {
    /// Objects remembered at most; past it the cache starts again.
    const MAX_ENTRIES: usize = 10_000;

    fn key(obj: &HelmChart) -> String {
        format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
    }

    /// The chart revision last built for `obj` from `source_revision`.
    fn get(&self, obj: &HelmChart, source_revision: &str) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&Self::key(obj))
            .filter(|(rev, generation, _)| {
                rev == source_revision && *generation == obj.meta().generation
            })
            .map(|(_, _, built)| built.clone())
    }

    fn insert(&self, obj: &HelmChart, source_revision: &str, built: &str) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= Self::MAX_ENTRIES {
            map.clear();
        }
        map.insert(
            Self::key(obj),
            (
                source_revision.to_string(),
                obj.meta().generation,
                built.to_string(),
            ),
        );
    }

    fn forget(&self, obj: &HelmChart) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&Self::key(obj));
    }
}

/// A chart's versions as read from one index, keyed by the index's revision
/// (the digest of its bytes) and the chart's name: every interval of every
/// HelmChart would otherwise parse the whole index again (tens of MB for
/// the big public repositories) to find an unchanged list.
#[derive(Default)]
struct VersionCache(Mutex<HashMap<IndexChart, Versions>>);

/// An index's revision and a chart's name.
type IndexChart = (String, String);

/// A chart's versions, shared between the cache and a reconcile.
type Versions = Arc<Vec<ChartVersion>>;

impl VersionCache {
    /// Entries kept at most; past it the cache starts again (indexes change
    /// rarely, so a refill costs one parse per chart).
    const MAX_ENTRIES: usize = 256;

    fn get(&self, index_revision: &str, chart: &str) -> Option<Versions> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(index_revision.to_string(), chart.to_string()))
            .cloned()
    }

    fn insert(&self, index_revision: &str, chart: &str, versions: Versions) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= Self::MAX_ENTRIES {
            map.clear();
        }
        map.insert((index_revision.to_string(), chart.to_string()), versions);
    }
}

/// What a reconcile reads besides the HelmChart, per kind of source.
pub enum ChartInputs {
    /// An HTTP HelmRepository: its client and stored index.
    Index {
        /// The repository's HTTP client.
        client: RepoClient,
        /// The stored index.
        index: PathBuf,
        /// The index's revision.
        source_revision: String,
    },
    /// An OCI HelmRepository: a registry client of the chart's repository.
    Oci {
        /// The registry client.
        client: ferroflux_oci::Client,
    },
    /// A GitRepository or Bucket artifact holding the chart's directory.
    Artifact(SourceArtifact),
}

/// The chart version the spec picks now.
pub enum Resolved {
    /// From an index.
    Index {
        /// The version's index entry.
        version: ChartVersion,
        /// The artifact revision.
        revision: String,
    },
    /// From a registry: the version (tag with `_` read as `+`).
    Oci {
        /// The chart version.
        version: String,
        /// The artifact revision.
        revision: String,
    },
    /// From a source artifact: unpacked and loaded.
    Built(Box<BuiltFrom>),
    /// The source artifact and the spec are those of the stored artifact:
    /// it is up to date (nothing is unpacked).
    Unchanged(String),
}

/// What a HelmChart records once its chart is stored.
pub struct ChartRecord {
    file_name: String,
    values_files: Vec<String>,
    source_revision: Option<String>,
}

/// A HelmChart reconciler: charts up to `max_chart_size` bytes, read with
/// `client`, indexes read from (and charts stored in) `storage`.
pub fn reconciler(
    client: kube::Client,
    storage: Storage,
    recorder: Recorder,
    scratch: Option<PathBuf>,
    max_chart_size: u64,
) -> HelmChartReconciler {
    let source = HelmCharts {
        client,
        storage: storage.clone(),
        max_chart_size,
        versions: VersionCache::default(),
        scratch: scratch.clone(),
        built: BuiltCache::default(),
    };
    let r = ArtifactReconciler::new(source, storage, recorder)
        .with_max_size(helm::DEFAULT_MAX_CHART_UNPACKED_SIZE);
    match scratch {
        Some(dir) => r.with_scratch(dir),
        None => r,
    }
}

/// The revision of chart `version` for `obj`: the version, with
/// `+<generation>` when values files are merged into it (as Flux).
fn revision_for(obj: &HelmChart, version: &str) -> String {
    if obj.spec.values_files.is_empty() {
        version.to_string()
    } else {
        format!("{version}+{}", obj.meta().generation.unwrap_or(0))
    }
}

/// The version of `versions` that `range` picks: an exact match of the
/// text first, then the newest that satisfies the SemVer range (`*` or
/// empty: the newest stable), equal versions ordered by creation time.
pub fn select(
    name: &str,
    range: &str,
    versions: Vec<ChartVersion>,
) -> Result<ChartVersion, HelmError> {
    if versions.is_empty() {
        return Err(HelmError::Reference(format!(
            "no chart name found: '{name}'"
        )));
    }
    if !range.is_empty()
        && let Some(exact) = versions.iter().find(|v| v.version == range)
    {
        return Ok(exact.clone());
    }
    let range = if range.is_empty() { "*" } else { range };
    let constraint = Constraints::parse(range)
        .map_err(|e| HelmError::Reference(format!("invalid version range '{range}': {e}")))?;
    versions
        .into_iter()
        .filter_map(|cv| {
            let v = Version::parse(&cv.version).ok()?;
            constraint.check(&v).then_some((v, cv))
        })
        .max_by(|(a, ca), (b, cb)| a.cmp(b).then_with(|| ca.created.cmp(&cb.created)))
        .map(|(_, cv)| cv)
        .ok_or_else(|| {
            HelmError::Reference(format!(
                "no '{name}' chart with version matching '{range}' found"
            ))
        })
}

impl HelmCharts {
    async fn source_repo(&self, obj: &HelmChart) -> SourceStep<HelmRepository> {
        let ns = obj.namespace().unwrap_or_default();
        let reference = &obj.spec.source_ref;
        let api: Api<HelmRepository> = Api::namespaced(self.client.clone(), &ns);
        match api.get_opt(&reference.name).await {
            Ok(Some(repo)) => Ok(repo),
            Ok(None) => Err(failed(
                SOURCE_UNAVAILABLE,
                format!("HelmRepository '{ns}/{}' not found", reference.name),
            )),
            Err(e) => Err(failed(
                SOURCE_UNAVAILABLE,
                format!(
                    "reading HelmRepository '{ns}/{}': {}",
                    reference.name,
                    ferroflux_runtime::secrets::short(&e)
                ),
            )),
        }
    }

    async fn index_inputs(&self, repo: &HelmRepository) -> SourceStep<ChartInputs> {
        let artifact = repo
            .status
            .as_ref()
            .and_then(|s| s.artifact.clone())
            .filter(|a| self.storage.exists(a))
            .ok_or_else(|| {
                waiting(
                    SOURCE_UNAVAILABLE,
                    format!(
                        "HelmRepository '{}/{}' has no index artifact yet",
                        repo.namespace().unwrap_or_default(),
                        repo.name_any()
                    ),
                )
            })?;
        let index = self
            .storage
            .local_path(&artifact)
            .map_err(|e| failed(reasons::STORAGE_OPERATION_FAILED, e.to_string()))?;
        let client = repo_client(&self.client, repo)
            .await
            .map_err(helm_failure)?;
        Ok(ChartInputs::Index {
            client,
            index,
            source_revision: artifact.revision,
        })
    }

    async fn index_version(
        &self,
        obj: &HelmChart,
        index: &Path,
        source_revision: &str,
    ) -> SourceStep<Resolved> {
        let name = &obj.spec.chart;
        let versions = match self.versions.get(source_revision, name) {
            Some(versions) => versions,
            None => {
                let (path, chart) = (index.to_path_buf(), name.clone());
                let read =
                    tokio::task::spawn_blocking(move || index::chart_versions(&path, &chart))
                        .await
                        .map_err(|e| {
                            failed(helm::INDEXATION_FAILED, format!("index task failed: {e}"))
                        })?;
                let versions = Arc::new(read.map_err(helm_failure)?.1);
                self.versions
                    .insert(source_revision, name, versions.clone());
                versions
            }
        };
        let picked =
            select(name, obj.spec.version.trim(), versions.to_vec()).map_err(helm_failure)?;
        Ok(Resolved::Index {
            revision: revision_for(obj, &picked.version),
            version: picked,
        })
    }

    /// Downloads the index's chart version into `work`.
    async fn fetch_from_index(
        &self,
        obj: &HelmChart,
        client: &RepoClient,
        cv: &ChartVersion,
        work: &Path,
    ) -> SourceStep<PathBuf> {
        let reference = cv.urls.first().ok_or_else(|| {
            failed(
                helm::CHART_PULL_ERROR,
                format!(
                    "chart '{}' version '{}' has no downloadable URLs",
                    cv.name, cv.version
                ),
            )
        })?;
        let url = client.resolve_chart_url(reference).map_err(helm_failure)?;
        let downloaded = work.join("download.tgz");
        let what = format!("chart '{}-{}'", obj.spec.chart, cv.version);
        client
            .download(&url, &what, &downloaded, self.max_chart_size)
            .await
            .map_err(|e| {
                helm_failure(match e {
                    HelmError::Fetch(m) => {
                        HelmError::Fetch(format!("failed to download chart: {m}"))
                    }
                    other => other,
                })
            })?;
        Ok(downloaded)
    }

    /// Checks a downloaded chart and, with `valuesFiles`, repackages it
    /// with the merged values at `revision`; returns the file to store,
    /// the chart's name and the values files found.
    async fn finish_download(
        &self,
        obj: &HelmChart,
        downloaded: PathBuf,
        digest: String,
        revision: &str,
        work: &Path,
    ) -> SourceStep<(PathBuf, String, Vec<String>)> {
        let (src, max) = (downloaded.clone(), self.max_chart_size);
        let chart =
            tokio::task::spawn_blocking(move || helm::chart::check_archive(&src, &digest, max))
                .await
                .map_err(|e| failed(helm::CHART_PULL_ERROR, format!("chart task failed: {e}")))?
                .map_err(helm_failure)?;
        let chart_name = chart.metadata.name.clone();
        if obj.spec.values_files.is_empty() {
            return Ok((downloaded, chart_name, Vec::new()));
        }
        let (values, found) = helm::chart::merge_values(
            &chart,
            &obj.spec.values_files,
            obj.spec.ignore_missing_values_files,
        )
        .map_err(helm_failure)?;
        let packaged = work.join("packaged.tgz");
        let (src, dest, version) = (downloaded, packaged.clone(), revision.to_string());
        tokio::task::spawn_blocking(move || helm::chart::repackage(&src, &dest, &values, &version))
            .await
            .map_err(|e| {
                failed(
                    helm::CHART_PACKAGE_ERROR,
                    format!("packaging task failed: {e}"),
                )
            })?
            .map_err(helm_failure)?;
        Ok((packaged, chart_name, found))
    }
}

impl ArtifactSource for HelmCharts {
    type Object = HelmChart;
    type Inputs = ChartInputs;
    type Remote = Resolved;
    type Record = ChartRecord;

    const KIND: &'static str = "HelmChart";

    async fn inputs(&self, obj: &HelmChart) -> SourceStep<ChartInputs> {
        match obj.spec.source_ref.kind {
            HelmChartSourceKind::HelmRepository => {
                let repo = self.source_repo(obj).await?;
                if !repo.spec.is_oci() {
                    if obj.spec.verify.is_some() {
                        return Err(stalled(
                            reasons::FAILED,
                            "spec.verify is only for charts from an OCI HelmRepository",
                        ));
                    }
                    return self.index_inputs(&repo).await;
                }
                if obj.spec.verify.is_some() {
                    return Err(stalled(
                        VERIFICATION_ERROR,
                        "signature verification (spec.verify, cosign or notation) is not supported here",
                    ));
                }
                let client = oci_client(&self.client, Some(&repo), &repo.spec.url, &obj.spec.chart)
                    .await
                    .map_err(helm_failure)?;
                Ok(ChartInputs::Oci { client })
            }
            HelmChartSourceKind::GitRepository | HelmChartSourceKind::Bucket => Ok(
                ChartInputs::Artifact(source_artifact(&self.client, &self.storage, obj).await?),
            ),
        }
    }

    async fn remote(&self, obj: &HelmChart, inputs: &ChartInputs) -> SourceStep<Resolved> {
        match inputs {
            ChartInputs::Index {
                index,
                source_revision,
                ..
            } => self.index_version(obj, index, source_revision).await,
            ChartInputs::Oci { client } => {
                let version =
                    helm::oci::resolve_version(client, &obj.spec.chart, &obj.spec.version)
                        .await
                        .map_err(helm_failure)?;
                Ok(Resolved::Oci {
                    revision: revision_for(obj, &version),
                    version,
                })
            }
            ChartInputs::Artifact(artifact) => {
                // Same source revision, same spec, artifact still stored:
                // the chart cannot have changed; nothing to unpack.
                if let Some(stored) = Self::artifact(obj)
                    && Self::spec_unchanged(obj)
                    && self.storage.exists(stored)
                {
                    let observed = obj
                        .status
                        .as_ref()
                        .and_then(|s| s.observed_source_artifact_revision.as_deref());
                    let built = self.built.get(obj, &artifact.revision);
                    if observed == Some(artifact.revision.as_str())
                        || built.as_deref() == Some(stored.revision.as_str())
                    {
                        return Ok(Resolved::Unchanged(stored.revision.clone()));
                    }
                }
                let (obj2, artifact2) = (
                    obj.clone(),
                    SourceArtifact {
                        archive: artifact.archive.clone(),
                        revision: artifact.revision.clone(),
                    },
                );
                let (scratch, max) = (self.scratch.clone(), self.max_chart_size);
                let built = tokio::task::spawn_blocking(move || {
                    unpack_and_load(&obj2, &artifact2, scratch.as_deref(), max)
                })
                .await
                .map_err(|e| failed(helm::CHART_PACKAGE_ERROR, format!("chart task failed: {e}")))?
                .map_err(helm_failure)?;
                self.built.insert(obj, &artifact.revision, &built.revision);
                Ok(Resolved::Built(Box::new(built)))
            }
        }
    }

    fn revision(remote: &Resolved) -> &str {
        match remote {
            Resolved::Index { revision, .. } | Resolved::Oci { revision, .. } => revision,
            Resolved::Built(built) => &built.revision,
            Resolved::Unchanged(revision) => revision,
        }
    }

    fn spec_unchanged(obj: &HelmChart) -> bool {
        obj.status.as_ref().is_some_and(|s| {
            s.observed_chart_name.as_deref() == Some(obj.spec.chart.as_str())
                && s.observed_generation == obj.meta().generation
        })
    }

    async fn fetch(
        &self,
        obj: &HelmChart,
        inputs: ChartInputs,
        resolved: Resolved,
        work: &Path,
    ) -> SourceStep<Fetched<ChartRecord>> {
        let (revision, dir, chart_name, values_files, source_revision) = match (inputs, resolved) {
            (
                ChartInputs::Index {
                    client,
                    source_revision,
                    ..
                },
                Resolved::Index { version, revision },
            ) => {
                let downloaded = self.fetch_from_index(obj, &client, &version, work).await?;
                let (dir, name, found) = self
                    .finish_download(obj, downloaded, version.digest.clone(), &revision, work)
                    .await?;
                (revision, dir, name, found, Some(source_revision))
            }
            (ChartInputs::Oci { client }, Resolved::Oci { version, revision }) => {
                let downloaded = work.join("download.tgz");
                helm::oci::pull(&client, &version, &downloaded, self.max_chart_size)
                    .await
                    .map_err(helm_failure)?;
                let (dir, name, found) = self
                    .finish_download(obj, downloaded, String::new(), &revision, work)
                    .await?;
                (revision, dir, name, found, None)
            }
            (ChartInputs::Artifact(artifact), Resolved::Built(built)) => {
                let revision = built.revision.clone();
                let deps = Dependencies {
                    client: &self.client,
                    storage: &self.storage,
                    namespace: obj.namespace().unwrap_or_default(),
                    max_chart_size: self.max_chart_size,
                };
                let packaged = build(obj, *built, &deps, work, self.max_chart_size)
                    .await
                    .map_err(helm_failure)?;
                (
                    revision,
                    packaged.path,
                    packaged.name,
                    packaged.values_files,
                    Some(artifact.revision),
                )
            }
            _ => {
                return Err(failed(
                    reasons::FAILED,
                    "the chart source changed during the reconcile",
                ));
            }
        };
        Ok(Fetched {
            revision: revision.clone(),
            dir,
            ignore: IgnoreRules::defaults(),
            record: ChartRecord {
                file_name: format!("{chart_name}-{revision}.tgz"),
                values_files,
                source_revision,
            },
        })
    }

    fn record(obj: &mut HelmChart, record: ChartRecord) {
        let chart = obj.spec.chart.clone();
        let st = obj.status.get_or_insert_with(Default::default);
        st.observed_chart_name = Some(chart);
        st.observed_source_artifact_revision = record.source_revision;
        st.observed_values_files = record.values_files;
        st.url = st.artifact.as_ref().map(|a| a.url.clone());
    }

    fn artifact(obj: &HelmChart) -> Option<&Artifact> {
        obj.status.as_ref().and_then(|s| s.artifact.as_ref())
    }

    fn set_artifact(obj: &mut HelmChart, artifact: Artifact) {
        obj.status.get_or_insert_with(Default::default).artifact = Some(artifact);
    }

    fn file_name(record: &ChartRecord) -> Option<String> {
        Some(record.file_name.clone())
    }

    fn forget(&self, obj: &HelmChart) {
        self.built.forget(obj);
    }

    fn ready_summary(obj: &HelmChart, revision: &str) -> (String, String) {
        let (reason, message) = build_summary(obj, revision);
        (reason.to_string(), message)
    }

    fn new_artifact_reason(obj: &HelmChart) -> String {
        let revision = Self::artifact(obj)
            .map(|a| a.revision.clone())
            .unwrap_or_default();
        build_summary(obj, &revision).0.to_string()
    }

    fn outdated(obj: &HelmChart, revision: &str) -> (&'static str, String) {
        (
            NEW_CHART,
            format!("new chart version '{revision}' of '{}'", obj.spec.chart),
        )
    }
}

/// Reason of a chart pulled as it is (Flux's).
pub const CHART_PULL_SUCCEEDED: &str = "ChartPullSucceeded";
/// Reason of a chart packaged here (Flux's).
pub const CHART_PACKAGE_SUCCEEDED: &str = "ChartPackageSucceeded";
/// Reason of `ArtifactOutdated` while a new chart version is not stored
/// (Flux's).
pub const NEW_CHART: &str = "NewChart";

/// Flux's summary of the chart stored at `revision`: "pulled" when it is
/// the repository's archive as it is, "packaged" when it was built from a
/// source or repackaged with values files (which are then listed as Go
/// prints a list).
fn build_summary(obj: &HelmChart, revision: &str) -> (&'static str, String) {
    let status = obj.status.as_ref();
    let file_name = status
        .and_then(|s| s.artifact.as_ref())
        .and_then(|a| a.path.rsplit('/').next());
    let name = file_name
        .and_then(|f| f.strip_suffix(".tgz"))
        .and_then(|f| f.strip_suffix(revision))
        .and_then(|f| f.strip_suffix('-'))
        .unwrap_or(obj.spec.chart.as_str());
    let values_files = status
        .map(|s| s.observed_values_files.clone())
        .unwrap_or_default();
    let packaged = obj.spec.source_ref.kind != HelmChartSourceKind::HelmRepository
        || !obj.spec.values_files.is_empty();
    let (reason, action) = if packaged {
        (CHART_PACKAGE_SUCCEEDED, "packaged")
    } else {
        (CHART_PULL_SUCCEEDED, "pulled")
    };
    let mut message = format!("{action} '{name}' chart with version '{revision}'");
    if !values_files.is_empty() {
        message.push_str(&format!(
            " and merged values files [{}]",
            values_files.join(" ")
        ));
    }
    (reason, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cv(version: &str, created: &str) -> ChartVersion {
        ChartVersion {
            name: "app".into(),
            version: version.into(),
            created: created.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_newest_matching_version_wins() {
        let all = || {
            vec![
                cv("1.0.0", "a"),
                cv("1.2.0", "a"),
                cv("1.10.0", "a"),
                cv("2.0.0-rc.1", "a"),
                cv("not-semver", "a"),
            ]
        };
        assert_eq!(select("app", "*", all()).unwrap().version, "1.10.0");
        assert_eq!(select("app", "", all()).unwrap().version, "1.10.0");
        assert_eq!(select("app", "~1.2", all()).unwrap().version, "1.2.0");
        assert_eq!(
            select("app", ">=2.0.0-0", all()).unwrap().version,
            "2.0.0-rc.1"
        );
        assert_eq!(
            select("app", "not-semver", all()).unwrap().version,
            "not-semver"
        );
        let e = select("app", "9.*", all()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid chart reference: no 'app' chart with version matching '9.*' found"
        );
        assert!(e.is_stalling());
        assert!(
            select("app", "*", vec![])
                .unwrap_err()
                .to_string()
                .contains("no chart name found")
        );
        // Equal versions: the one created last.
        let twins = vec![cv("1.0.0+b", "2024-02"), cv("1.0.0+a", "2024-01")];
        assert_eq!(select("app", "*", twins).unwrap().version, "1.0.0+b");
    }
}

#[cfg(test)]
mod version_cache_tests {
    use super::*;

    fn versions(v: &str) -> Versions {
        Arc::new(vec![ChartVersion {
            version: v.to_string(),
            ..Default::default()
        }])
    }

    #[test]
    fn keyed_by_index_revision_and_chart_and_bounded() {
        let cache = VersionCache::default();
        cache.insert("sha256:a", "podinfo", versions("6.0.0"));
        assert_eq!(
            cache.get("sha256:a", "podinfo").unwrap()[0].version,
            "6.0.0"
        );
        // a new index revision or another chart is a miss: it is read again
        assert!(cache.get("sha256:b", "podinfo").is_none());
        assert!(cache.get("sha256:a", "nginx").is_none());
        for i in 0..VersionCache::MAX_ENTRIES {
            cache.insert(&format!("sha256:{i}"), "c", versions("1.0.0"));
        }
        assert!(cache.0.lock().unwrap().len() <= VersionCache::MAX_ENTRIES);
    }
}

#[cfg(test)]
mod built_cache_tests {
    use super::*;

    fn chart(name: &str, generation: i64) -> HelmChart {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
            "metadata": {"name": name, "namespace": "ns", "generation": generation},
            "spec": {"chart": "./app", "interval": "1h",
                     "sourceRef": {"kind": "GitRepository", "name": "repo"}},
        }))
        .unwrap()
    }

    #[test]
    fn keyed_by_object_source_revision_and_generation() {
        let cache = BuiltCache::default();
        let a = chart("a", 1);
        cache.insert(&a, "main@sha1:1", "1.0.0");
        assert_eq!(cache.get(&a, "main@sha1:1").as_deref(), Some("1.0.0"));
        assert!(cache.get(&a, "main@sha1:2").is_none());
        assert!(cache.get(&chart("a", 2), "main@sha1:1").is_none());
        assert!(cache.get(&chart("b", 1), "main@sha1:1").is_none());
        cache.forget(&a);
        assert!(cache.get(&a, "main@sha1:1").is_none());
    }
}
