//! Where a HelmChart's chart comes from besides an HTTP repository index:
//! a GitRepository or Bucket artifact in this controller's storage (the
//! chart directory is built and packaged, see [`crate::helm::local`]), an
//! OCI HelmRepository (see [`crate::helm::oci`]), and the repository
//! dependencies of a chart built from a source, resolved as Flux does: a
//! HelmRepository in the HelmChart's namespace whose URL is the
//! dependency's lends its credentials, and without one the repository is
//! read anonymously.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ferroflux_api::source::v1::{
    Bucket, GitRepository, HelmChart, HelmChartSourceKind, HelmRepository, OCIProvider,
    ReconcileStrategy,
};
use ferroflux_helm::chart::{Chart, Dependency};
use ferroflux_oci::{Client, ClientOptions, Credentials};
use ferroflux_runtime::secrets::{self, DockerConfig};
use kube::api::{Api, ListParams};
use kube::{Resource, ResourceExt};

use super::helm_chart::{SOURCE_UNAVAILABLE, select};
use super::helm_repository::{credentials, repo_client};
use crate::helm::http::{RepoClient, normalize_url};
use crate::helm::local::{self, SourceChart};
use crate::helm::{self, HelmError, index, oci};
use crate::reconcile::{SourceStep, failed, waiting};
use crate::storage::Storage;

/// A GitRepository's or Bucket's artifact, as a HelmChart reads it.
pub struct SourceArtifact {
    /// The artifact file in storage.
    pub archive: PathBuf,
    /// Its revision.
    pub revision: String,
}

/// The artifact of the GitRepository or Bucket `obj` points at.
pub async fn source_artifact(
    client: &kube::Client,
    storage: &Storage,
    obj: &HelmChart,
) -> SourceStep<SourceArtifact> {
    let ns = obj.namespace().unwrap_or_default();
    let reference = &obj.spec.source_ref;
    let kind = reference.kind.as_str();
    let name = &reference.name;
    let unavailable = |what: String| failed(SOURCE_UNAVAILABLE, what);
    let read = match reference.kind {
        HelmChartSourceKind::GitRepository => Api::<GitRepository>::namespaced(client.clone(), &ns)
            .get_opt(name)
            .await
            .map(|o| o.map(|o| o.status.and_then(|s| s.artifact))),
        HelmChartSourceKind::Bucket => Api::<Bucket>::namespaced(client.clone(), &ns)
            .get_opt(name)
            .await
            .map(|o| o.map(|o| o.status.and_then(|s| s.artifact))),
        HelmChartSourceKind::HelmRepository => {
            return Err(failed(
                SOURCE_UNAVAILABLE,
                "a HelmRepository has no chart source artifact",
            ));
        }
    };
    let artifact = match read {
        Ok(Some(artifact)) => artifact,
        Ok(None) => return Err(unavailable(format!("{kind} '{ns}/{name}' not found"))),
        Err(e) => {
            return Err(unavailable(format!(
                "reading {kind} '{ns}/{name}': {}",
                secrets::short(&e)
            )));
        }
    };
    let artifact = artifact.filter(|a| storage.exists(a)).ok_or_else(|| {
        waiting(
            SOURCE_UNAVAILABLE,
            format!("no artifact available for {kind} source '{ns}/{name}'"),
        )
    })?;
    let archive = storage.local_path(&artifact).map_err(|e| {
        failed(
            ferroflux_api::conditions::reasons::STORAGE_OPERATION_FAILED,
            e.to_string(),
        )
    })?;
    Ok(SourceArtifact {
        archive,
        revision: artifact.revision,
    })
}

/// A chart found in an unpacked source artifact, and its revision.
pub struct BuiltFrom {
    /// The unpacked source (removed when dropped).
    pub dir: tempfile::TempDir,
    /// The chart.
    pub chart: SourceChart,
    /// The version (and artifact revision) it will be packaged at.
    pub revision: String,
}

/// The source root inside a [`BuiltFrom`] directory.
pub fn source_root(dir: &Path) -> PathBuf {
    dir.join("source")
}

/// Unpacks `artifact` into a new directory under `scratch` and loads the
/// chart `obj` names in it; the revision is the chart's version with
/// Flux's build metadata for `obj`.
pub fn unpack_and_load(
    obj: &HelmChart,
    artifact: &SourceArtifact,
    scratch: Option<&Path>,
    max_chart_size: u64,
) -> Result<BuiltFrom, HelmError> {
    let path = local::chart_path(&obj.spec.chart)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix("chart-source-");
    let dir = match scratch {
        Some(s) => builder.tempdir_in(s),
        None => builder.tempdir(),
    }
    .map_err(|e| HelmError::Io(format!("creating a work directory: {e}")))?;
    let file = std::fs::File::open(&artifact.archive)
        .map_err(|e| HelmError::Io(format!("opening the source artifact: {e}")))?;
    let root = source_root(dir.path());
    ferroflux_runtime::artifact::extract(file, &root, &Default::default())
        .map_err(|e| HelmError::Io(format!("unpacking the source artifact: {e}")))?;
    let chart = local::load_chart(&root, &path, &local::limits(max_chart_size))?;
    let values_generation =
        (!obj.spec.values_files.is_empty()).then(|| obj.meta().generation.unwrap_or(0));
    let metadata = local::version_metadata(
        obj.spec.reconcile_strategy == ReconcileStrategy::Revision,
        &artifact.revision,
        values_generation,
    );
    let revision = local::chart_version(&chart.chart.metadata.version, &metadata)?;
    Ok(BuiltFrom {
        dir,
        chart,
        revision,
    })
}

/// What packaging a chart from a source produced.
pub struct Packaged {
    /// The `.tgz`.
    pub path: PathBuf,
    /// The chart's name.
    pub name: String,
    /// The values files found and merged.
    pub values_files: Vec<String>,
}

/// The OCI registry client for chart `chart` of the `oci://` repository
/// `url`, with the credentials and TLS material of `repo` (anonymous over
/// HTTPS without one).
pub async fn oci_client(
    client: &kube::Client,
    repo: Option<&HelmRepository>,
    url: &str,
    chart: &str,
) -> Result<Client, HelmError> {
    super::helm_repository::check_oci_url(url)?;
    let repository = oci::chart_repository(url, chart)?;
    let mut options = ClientOptions {
        timeout: Some(Duration::from_secs(60)),
        ..Default::default()
    };
    if let Some(repo) = repo {
        if repo.spec.provider != OCIProvider::Generic {
            return Err(HelmError::Reference(
                "HelmRepository provider other than 'generic' (cloud identities) is not supported here: use spec.secretRef".to_string(),
            ));
        }
        options.insecure = repo.spec.insecure;
        options.timeout = Some(repo.spec.timeout());
        let creds = credentials(client, repo).await?;
        options.credentials = creds.auth.map(|a| Credentials::Basic {
            username: a.username,
            password: a.password,
        });
        if options.credentials.is_none()
            && let Some(r) = &repo.spec.secret_ref
        {
            let ns = repo.namespace().unwrap_or_default();
            let data = secrets::read(client, &ns, &r.name)
                .await
                .map_err(|e| HelmError::Authentication(e.to_string()))?;
            let config = DockerConfig::from_secret(&data)
                .map_err(|e| HelmError::Authentication(format!("secret '{ns}/{}': {e}", r.name)))?;
            if let Some(auth) = config
                .as_ref()
                .and_then(|c| c.credentials_for(&repository.registry))
            {
                if let Some(token) = &auth.registry_token {
                    options.credentials = Some(Credentials::Bearer(token.clone()));
                } else if let (Some(username), Some(password)) = (
                    auth.username.clone(),
                    auth.password
                        .clone()
                        .or_else(|| auth.identity_token.clone()),
                ) {
                    options.credentials = Some(Credentials::Basic { username, password });
                }
            }
        }
        if let Some(tls) = &creds.tls {
            options.ca_certificates = tls
                .certificates()
                .map_err(|e| HelmError::Authentication(e.to_string()))?;
            options.identity = tls
                .identity()
                .map_err(|e| HelmError::Authentication(e.to_string()))?;
        }
    }
    Client::new(repository, options).map_err(|e| HelmError::Authentication(e.to_string()))
}

/// Resolves and fetches the dependencies of charts built from sources.
pub struct Dependencies<'a> {
    /// The controller's client (HelmRepositories and their Secrets).
    pub client: &'a kube::Client,
    /// Where HelmRepository indexes are stored.
    pub storage: &'a Storage,
    /// The HelmChart's namespace.
    pub namespace: String,
    /// Largest chart archive.
    pub max_chart_size: u64,
}

/// A dependency failure in Flux's words; what only a spec change fixes
/// stays an invalid reference, credentials stay authentication failures.
fn dependency_failure(dep: &Dependency, e: HelmError) -> HelmError {
    let what = format!("failed to add remote dependency '{}'", dep.name);
    match e {
        HelmError::Reference(m) => HelmError::Reference(format!("{what}: {m}")),
        HelmError::InvalidUrl(m) => HelmError::InvalidUrl(format!("{what}: {m}")),
        HelmError::Authentication(m) => HelmError::Authentication(format!("{what}: {m}")),
        other => HelmError::Dependency(format!("{what}: {other}")),
    }
}

/// `a` and `b` name the same repository (Helm's normalisation for HTTP,
/// trailing slashes ignored for OCI).
fn same_repository(a: &str, b: &str) -> bool {
    if a.starts_with("oci://") || b.starts_with("oci://") {
        return a.trim_end_matches('/') == b.trim_end_matches('/');
    }
    match (normalize_url(a), normalize_url(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

impl Dependencies<'_> {
    /// The HelmRepository of the namespace whose URL is `url`, if any.
    async fn repository_for(&self, url: &str) -> Result<Option<HelmRepository>, HelmError> {
        let api: Api<HelmRepository> = Api::namespaced(self.client.clone(), &self.namespace);
        let list = api.list(&ListParams::default()).await.map_err(|e| {
            HelmError::Fetch(format!(
                "listing HelmRepositories in '{}': {}",
                self.namespace,
                secrets::short(&e)
            ))
        })?;
        Ok(list
            .items
            .into_iter()
            .find(|r| same_repository(&r.spec.url, url)))
    }

    /// Downloads the repository dependency `dep` (the `index`-th) into
    /// `work` and loads it.
    pub async fn fetch(
        &self,
        dep: &Dependency,
        index: usize,
        work: &Path,
    ) -> Result<Chart, HelmError> {
        self.fetch_inner(dep, index, work)
            .await
            .map_err(|e| dependency_failure(dep, e))
    }

    async fn fetch_inner(
        &self,
        dep: &Dependency,
        n: usize,
        work: &Path,
    ) -> Result<Chart, HelmError> {
        let url = dep.repository.trim();
        if url.is_empty() {
            return Err(HelmError::Reference(
                "it has no repository and is not in the chart's charts/ directory".to_string(),
            ));
        }
        if url.starts_with('@') || url.starts_with("alias:") {
            return Err(HelmError::Reference(format!(
                "repository '{url}' is a repository name from a Helm client's configuration, which a controller has not: use the repository URL"
            )));
        }
        let repo = self.repository_for(url).await?;
        let dest = work.join(format!("dependency-{n}.tgz"));
        if url.starts_with("oci://") {
            let client = oci_client(self.client, repo.as_ref(), url, &dep.name).await?;
            let version = oci::resolve_version(&client, &dep.name, &dep.version).await?;
            oci::pull(&client, &version, &dest, self.max_chart_size).await?;
            return self.load(&dest, "").await;
        }
        let (http, index_path) = match &repo {
            Some(r) => {
                let http = repo_client(self.client, r).await?;
                let stored = r
                    .status
                    .as_ref()
                    .and_then(|s| s.artifact.as_ref())
                    .filter(|a| self.storage.exists(a))
                    .and_then(|a| self.storage.local_path(a).ok());
                (http, stored)
            }
            None => (
                RepoClient::new(url, None, None, false, Duration::from_secs(60))?,
                None,
            ),
        };
        let index_path = match index_path {
            Some(p) => p,
            None => {
                let p = work.join(format!("dependency-{n}-index.yaml"));
                http.download(&http.index_url(), "index", &p, helm::DEFAULT_MAX_INDEX_SIZE)
                    .await
                    .map_err(|e| match e {
                        HelmError::Fetch(m) => {
                            HelmError::Fetch(format!("failed to fetch Helm repository index: {m}"))
                        }
                        other => other,
                    })?;
                p
            }
        };
        let name = dep.name.clone();
        let versions =
            tokio::task::spawn_blocking(move || index::chart_versions(&index_path, &name))
                .await
                .map_err(|e| HelmError::Io(format!("index task failed: {e}")))??
                .1;
        let cv = select(&dep.name, dep.version.trim(), versions)?;
        let reference = cv.urls.first().ok_or_else(|| {
            HelmError::Chart(format!(
                "chart '{}' version '{}' has no downloadable URLs",
                cv.name, cv.version
            ))
        })?;
        let chart_url = http.resolve_chart_url(reference)?;
        http.download(
            &chart_url,
            &format!("chart '{}-{}'", cv.name, cv.version),
            &dest,
            self.max_chart_size,
        )
        .await?;
        self.load(&dest, &cv.digest).await
    }

    async fn load(&self, path: &Path, digest: &str) -> Result<Chart, HelmError> {
        let (path, digest, max) = (path.to_path_buf(), digest.to_string(), self.max_chart_size);
        tokio::task::spawn_blocking(move || helm::chart::check_archive(&path, &digest, max))
            .await
            .map_err(|e| HelmError::Io(format!("chart task failed: {e}")))?
    }
}

/// Builds the chart `built` for `obj`: its missing dependencies (local ones
/// from the source, repository ones through `deps`), `valuesFiles` merged
/// from the source, packaged into `work`.
pub async fn build(
    obj: &HelmChart,
    built: BuiltFrom,
    deps: &Dependencies<'_>,
    work: &Path,
    max_chart_size: u64,
) -> Result<Packaged, HelmError> {
    let BuiltFrom {
        dir,
        chart,
        revision,
    } = built;
    let root = source_root(dir.path());
    let limits = local::limits(max_chart_size);
    let missing = local::missing_dependencies(&chart)?;
    let mut added = Vec::new();
    for (n, dep) in missing.iter().enumerate() {
        if local::is_local(dep) {
            let chart_dir = chart.dir.clone().ok_or_else(|| {
                HelmError::Dependency(format!(
                    "failed to add local dependency '{}': a packaged chart has no directory to resolve '{}' from",
                    dep.name, dep.repository
                ))
            })?;
            let (root, dep) = (root.clone(), dep.clone());
            let loaded = tokio::task::spawn_blocking(move || {
                local::load_local_dependency(&root, &chart_dir, &dep, &limits)
            })
            .await
            .map_err(|e| HelmError::Io(format!("dependency task failed: {e}")))?
            .map_err(|e| match e {
                HelmError::Chart(m) | HelmError::Io(m) => HelmError::Dependency(m),
                other => other,
            })?;
            added.push(loaded);
        } else {
            added.push(deps.fetch(dep, n, work).await?);
        }
    }
    let files = obj.spec.values_files.clone();
    let ignore_missing = obj.spec.ignore_missing_values_files;
    let dest = work.join("packaged.tgz");
    let out = dest.clone();
    let (name, values_files) = tokio::task::spawn_blocking(move || {
        let merged = if files.is_empty() {
            None
        } else {
            Some(local::merge_source_values(&root, &files, ignore_missing)?)
        };
        let (values, found) = match merged {
            Some((v, f)) => (Some(v), f),
            None => (None, Vec::new()),
        };
        let name = chart.chart.name().to_string();
        local::package(chart.chart, &revision, values, added, &out, &limits)?;
        drop(dir);
        Ok::<_, HelmError>((name, found))
    })
    .await
    .map_err(|e| HelmError::Io(format!("packaging task failed: {e}")))??;
    Ok(Packaged {
        path: dest,
        name,
        values_files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_match_as_helm_normalises_them() {
        assert!(same_repository(
            "https://charts.example.com",
            "https://charts.example.com/"
        ));
        assert!(!same_repository(
            "https://charts.example.com/a",
            "https://charts.example.com/b"
        ));
        assert!(same_repository(
            "oci://r.example.com/c/",
            "oci://r.example.com/c"
        ));
        assert!(!same_repository(
            "oci://r.example.com/c",
            "https://r.example.com/c"
        ));
    }
}
