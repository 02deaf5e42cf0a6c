//! HelmRepository: for an HTTP(S) repository, download `index.yaml` (the
//! revision is the SHA-256 of the bytes, as Flux computes it), validate it
//! in bounded memory when it changed, and store it as-is as
//! `index-<hex>.yaml`. A `type: oci` repository is only a pointer to a
//! registry for HelmCharts: its URL is checked and it is ready, with no
//! artifact.

use std::path::{Path, PathBuf};

use ferroflux_api::conditions::reasons;
use ferroflux_api::meta::Artifact;
use ferroflux_api::source::v1::HelmRepository;
use ferroflux_runtime::controller::{Outcome, ReconcileError, Reconciler};
use ferroflux_runtime::events::Recorder;
use ferroflux_runtime::secrets::{self, BasicAuth, TlsMaterial};
use ferroflux_runtime::verdict::{self, Verdict};
use kube::ResourceExt;

use crate::helm::http::RepoClient;
use crate::helm::{self, HelmError};
use crate::ignore::IgnoreRules;
use crate::reconcile::{
    ArtifactReconciler, ArtifactSource, Fetched, SourceStep, StepFailure, failed, stalled,
};
use crate::storage::Storage;

/// A Helm failure as a step failure, stalled when only a spec change helps.
pub(crate) fn helm_failure(e: HelmError) -> StepFailure {
    if e.is_stalling() {
        stalled(e.reason(), e.to_string())
    } else {
        failed(e.reason(), e.to_string())
    }
}

/// What a HelmRepository's Secrets hold for the HTTP client.
#[derive(Debug, Clone, Default)]
pub struct RepoCredentials {
    /// Basic auth from `secretRef`.
    pub auth: Option<BasicAuth>,
    /// TLS material from `certSecretRef` (or, deprecated, `secretRef`).
    pub tls: Option<TlsMaterial>,
}

/// Reads the credentials of `repo` (its `secretRef` and `certSecretRef`).
/// Errors name the Secret and key, never a value.
pub(crate) async fn credentials(
    client: &kube::Client,
    repo: &HelmRepository,
) -> Result<RepoCredentials, HelmError> {
    let ns = repo.namespace().unwrap_or_default();
    let mut creds = RepoCredentials::default();
    if let Some(r) = &repo.spec.secret_ref {
        let data = secrets::read(client, &ns, &r.name)
            .await
            .map_err(|e| HelmError::Authentication(e.to_string()))?;
        let in_secret = |e: secrets::SecretError| {
            HelmError::Authentication(format!("secret '{ns}/{}': {e}", r.name))
        };
        creds.auth = secrets::basic_auth(&data).map_err(in_secret)?;
        creds.tls = TlsMaterial::from_secret(&data).map_err(in_secret)?;
    }
    if let Some(r) = &repo.spec.cert_secret_ref {
        let data = secrets::read(client, &ns, &r.name)
            .await
            .map_err(|e| HelmError::Authentication(e.to_string()))?;
        let in_secret = |e: secrets::SecretError| {
            HelmError::Authentication(format!("secret '{ns}/{}': {e}", r.name))
        };
        creds.tls = TlsMaterial::from_secret(&data).map_err(in_secret)?;
    }
    if let Some(tls) = &creds.tls {
        tls.check()
            .map_err(|e| HelmError::Authentication(format!("TLS material: {e}")))?;
    }
    Ok(creds)
}

/// The HTTP client of an HTTP(S) HelmRepository.
pub(crate) async fn repo_client(
    client: &kube::Client,
    repo: &HelmRepository,
) -> Result<RepoClient, HelmError> {
    // The URL first: a bad one stalls whatever the Secrets say.
    helm::http::normalize_url(&repo.spec.url)?;
    let creds = credentials(client, repo).await?;
    RepoClient::new(
        &repo.spec.url,
        creds.auth,
        creds.tls.as_ref(),
        repo.spec.pass_credentials,
        repo.spec.timeout(),
    )
}

/// HelmRepository (HTTP) as an [`ArtifactSource`].
pub struct HelmRepositories {
    client: kube::Client,
    scratch: Option<PathBuf>,
    max_index_size: u64,
}

/// The index downloaded by [`ArtifactSource::remote`], in a temporary
/// directory removed when this is dropped.
pub struct IndexDownload {
    revision: String,
    dir: tempfile::TempDir,
    size: u64,
}

impl IndexDownload {
    fn path(&self) -> PathBuf {
        self.dir.path().join("index.yaml")
    }
}

/// What a HelmRepository records once its index is stored.
pub struct IndexRecord {
    file_name: String,
}

impl HelmRepositories {
    /// HelmRepositories read with `client`; downloads go to `scratch` (the
    /// system's temporary directory when `None`), indexes over
    /// `max_index_size` bytes are refused.
    pub fn new(client: kube::Client, scratch: Option<PathBuf>, max_index_size: u64) -> Self {
        Self {
            client,
            scratch,
            max_index_size,
        }
    }
}

impl ArtifactSource for HelmRepositories {
    type Object = HelmRepository;
    type Inputs = RepoClient;
    type Remote = IndexDownload;
    type Record = IndexRecord;

    const KIND: &'static str = "HelmRepository";

    async fn inputs(&self, obj: &HelmRepository) -> SourceStep<RepoClient> {
        repo_client(&self.client, obj).await.map_err(helm_failure)
    }

    async fn remote(
        &self,
        _obj: &HelmRepository,
        client: &RepoClient,
    ) -> SourceStep<IndexDownload> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("helm-index-");
        let dir = match &self.scratch {
            Some(scratch) => builder.tempdir_in(scratch),
            None => builder.tempdir(),
        }
        .map_err(|e| {
            failed(
                reasons::STORAGE_OPERATION_FAILED,
                format!("creating a download directory: {e}"),
            )
        })?;
        let dest = dir.path().join("index.yaml");
        let got = client
            .download(&client.index_url(), "index", &dest, self.max_index_size)
            .await
            .map_err(|e| helm_failure(with_context(e)))?;
        Ok(IndexDownload {
            revision: format!("sha256:{}", got.sha256),
            dir,
            size: got.size,
        })
    }

    fn revision(remote: &IndexDownload) -> &str {
        &remote.revision
    }

    fn spec_unchanged(_obj: &HelmRepository) -> bool {
        true
    }

    async fn fetch(
        &self,
        _obj: &HelmRepository,
        _client: RepoClient,
        index: IndexDownload,
        work: &Path,
    ) -> SourceStep<Fetched<IndexRecord>> {
        let path = index.path();
        let checked = tokio::task::spawn_blocking(move || helm::index::validate(&path)).await;
        match checked {
            Ok(Ok(summary)) => tracing::debug!(
                charts = summary.charts,
                versions = summary.versions,
                size = index.size,
                "index validated"
            ),
            Ok(Err(e)) => return Err(helm_failure(e)),
            Err(e) => {
                return Err(failed(
                    helm::INDEXATION_FAILED,
                    format!("index validation task failed: {e}"),
                ));
            }
        }
        // The download directory goes when `index` is dropped: move the
        // file into the work directory the shared reconcile keeps.
        let dest = work.join("index.yaml");
        move_file(&index.path(), &dest).map_err(|e| {
            failed(
                reasons::STORAGE_OPERATION_FAILED,
                format!("moving the index: {e}"),
            )
        })?;
        let hex = index
            .revision
            .strip_prefix("sha256:")
            .unwrap_or(&index.revision)
            .to_string();
        Ok(Fetched {
            revision: index.revision.clone(),
            dir: dest,
            ignore: IgnoreRules::defaults(),
            record: IndexRecord {
                file_name: format!("index-{hex}.yaml"),
            },
        })
    }

    fn record(obj: &mut HelmRepository, _record: IndexRecord) {
        let st = obj.status.get_or_insert_with(Default::default);
        st.url = st.artifact.as_ref().map(|a| a.url.clone());
    }

    fn artifact(obj: &HelmRepository) -> Option<&Artifact> {
        obj.status.as_ref().and_then(|s| s.artifact.as_ref())
    }

    fn set_artifact(obj: &mut HelmRepository, artifact: Artifact) {
        obj.status.get_or_insert_with(Default::default).artifact = Some(artifact);
    }

    fn file_name(record: &IndexRecord) -> Option<String> {
        Some(record.file_name.clone())
    }
}

/// Flux's words around a failed index download.
fn with_context(e: HelmError) -> HelmError {
    match e {
        HelmError::Fetch(m) => {
            HelmError::Fetch(format!("failed to fetch Helm repository index: {m}"))
        }
        HelmError::Authentication(m) => {
            HelmError::Authentication(format!("failed to fetch Helm repository index: {m}"))
        }
        other => other,
    }
}

fn move_file(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        // Another file system: copy, then the source goes with its directory.
        Err(_) => std::fs::copy(from, to).map(|_| ()),
    }
}

/// The HelmRepository reconciler: the shared artifact reconcile for HTTP
/// repositories, a URL check for `type: oci` ones.
pub struct HelmRepositoryReconciler {
    http: ArtifactReconciler<HelmRepositories>,
    storage: Storage,
    recorder: Recorder,
}

/// A HelmRepository reconciler storing indexes in `storage`.
pub fn reconciler(
    client: kube::Client,
    storage: Storage,
    recorder: Recorder,
    scratch: Option<PathBuf>,
    max_index_size: u64,
) -> HelmRepositoryReconciler {
    let source = HelmRepositories::new(client, scratch.clone(), max_index_size);
    let mut http = ArtifactReconciler::new(source, storage.clone(), recorder.clone())
        .with_max_size(max_index_size);
    if let Some(dir) = scratch {
        http = http.with_scratch(dir);
    }
    HelmRepositoryReconciler {
        http,
        storage,
        recorder,
    }
}

/// Checks an OCI repository URL: `oci://<host>/<path>`.
pub fn check_oci_url(url: &str) -> Result<(), HelmError> {
    let rest = url.strip_prefix("oci://").ok_or_else(|| {
        HelmError::InvalidUrl(format!(
            "URL must start with 'oci://' for an 'oci' HelmRepository: '{}'",
            crate::git::sanitize_url(url)
        ))
    })?;
    let parsed = reqwest::Url::parse(&format!("https://{rest}"))
        .map_err(|e| HelmError::InvalidUrl(format!("'{}': {e}", crate::git::sanitize_url(url))))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(HelmError::InvalidUrl(format!(
            "'{}' has no registry host",
            crate::git::sanitize_url(url)
        )));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(HelmError::InvalidUrl(
            "credentials in the URL are not allowed: use spec.secretRef".to_string(),
        ));
    }
    Ok(())
}

impl HelmRepositoryReconciler {
    async fn reconcile_oci(&self, obj: &mut HelmRepository) -> Result<Outcome, ReconcileError> {
        let verdict = match check_oci_url(&obj.spec.url) {
            Err(e) => Verdict::stalled(e.reason(), e.to_string()),
            Ok(()) => {
                // An HTTP repository turned OCI keeps no index.
                if obj.status.as_ref().is_some_and(|s| s.artifact.is_some()) {
                    let ns = obj.namespace().unwrap_or_default();
                    if let Err(e) = self
                        .storage
                        .remove_all("HelmRepository", &ns, &obj.name_any())
                    {
                        tracing::warn!(error = %e, "removing the artifacts of an OCI HelmRepository");
                    }
                    let st = obj.status.get_or_insert_with(Default::default);
                    st.artifact = None;
                    st.url = None;
                }
                let conds = &mut obj.status.get_or_insert_with(Default::default).conditions;
                for c in [
                    ferroflux_api::conditions::ARTIFACT_IN_STORAGE,
                    ferroflux_api::conditions::FETCH_FAILED,
                ] {
                    ferroflux_api::conditions::remove(conds, c);
                }
                Verdict::ready(reasons::SUCCEEDED, "Helm repository is ready")
            }
        };
        verdict::conclude(obj, verdict, &self.recorder).await
    }
}

impl Reconciler<HelmRepository> for HelmRepositoryReconciler {
    async fn reconcile(&self, obj: &mut HelmRepository) -> Result<Outcome, ReconcileError> {
        if obj.spec.is_oci() {
            self.reconcile_oci(obj).await
        } else {
            self.http.reconcile(obj).await
        }
    }

    async fn cleanup(&self, obj: &HelmRepository) -> Result<(), ReconcileError> {
        self.http.cleanup(obj).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_urls_are_checked() {
        check_oci_url("oci://ghcr.io/stefanprodan/charts").unwrap();
        check_oci_url("oci://127.0.0.1:5000/charts").unwrap();
        for bad in ["https://ghcr.io/x", "oci://", "oci://u:pw-9f3k@ghcr.io/x"] {
            let e = check_oci_url(bad).unwrap_err();
            assert_eq!(e.reason(), helm::URL_INVALID);
            assert!(!e.to_string().contains("pw-9f3k"), "{e}");
        }
    }
}
