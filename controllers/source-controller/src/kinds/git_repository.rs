//! GitRepository: resolve `spec.ref` on the remote with one ref listing,
//! and when the revision (or what shapes the artifact) changed, check it
//! out with that listing, add the included repositories and hand the tree
//! to the shared artifact reconcile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferroflux_api::conditions::reasons;
use ferroflux_api::meta::Artifact;
use ferroflux_api::source::v1::GitRepository;
use ferroflux_runtime::events::Recorder;
use kube::ResourceExt;

use super::git_include::{self, INCLUDE_UNAVAILABLE};
use crate::git::{Auth, CheckoutLimits, GitError, GitSource, Probe, Reference};
use crate::ignore::IgnoreRules;
use crate::reconcile::{
    ArtifactReconciler, ArtifactSource, Fetched, SourceStep, StepFailure, failed, stalled,
};
use crate::storage::Storage;

/// The GitRepository reconciler: the shared artifact reconcile over Git.
pub type GitRepositoryReconciler = ArtifactReconciler<GitRepositories>;

/// GitRepository as an [`ArtifactSource`].
pub struct GitRepositories {
    client: kube::Client,
    storage: Storage,
    cache_dir: PathBuf,
    limits: CheckoutLimits,
}

impl GitRepositories {
    /// GitRepositories read with `client`, their Git caches in `cache_dir`
    /// (includes are read from `storage`).
    pub fn new(client: kube::Client, storage: Storage, cache_dir: PathBuf) -> Self {
        Self {
            client,
            storage,
            cache_dir,
            limits: CheckoutLimits::default(),
        }
    }

    /// Size limits on the files of a checkout (`--git-max-size`,
    /// `--git-file-max-size`).
    pub fn with_limits(mut self, limits: CheckoutLimits) -> Self {
        self.limits = limits;
        self
    }

    async fn secret_data(&self, ns: &str, name: &str) -> Result<BTreeMap<String, Vec<u8>>, String> {
        ferroflux_runtime::secrets::read(&self.client, ns, name)
            .await
            .map_err(|e| e.to_string())
    }
}

/// A GitRepository reconciler: artifacts in `storage`, Git caches in
/// `cache_dir`, checkouts held to `limits` (the artifact's files too).
pub fn reconciler(
    client: kube::Client,
    storage: Storage,
    recorder: Recorder,
    cache_dir: PathBuf,
    limits: CheckoutLimits,
) -> GitRepositoryReconciler {
    let source = GitRepositories::new(client, storage.clone(), cache_dir).with_limits(limits);
    ArtifactReconciler::new(source, storage, recorder).with_max_size(limits.max_size)
}

/// A Git failure, stalled when it cannot heal without a spec change.
fn git_failure(e: GitError) -> StepFailure {
    if e.is_stalling() {
        stalled(e.reason(), e.to_string())
    } else {
        failed(e.reason(), e.to_string())
    }
}

/// Runs blocking Git work off the async workers; a task that died is a Git failure.
async fn blocking_git<T: Send + 'static>(
    url: &str,
    work: impl FnOnce() -> Result<T, GitError> + Send + 'static,
) -> Result<T, GitError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(GitError::GitOperationFailed {
            url: crate::git::sanitize_url(url),
            message: format!("git task failed: {e}"),
        })
    })
}

/// What a GitRepository records once its artifact is stored.
pub struct Observed {
    included: Vec<Artifact>,
}

impl ArtifactSource for GitRepositories {
    type Object = GitRepository;
    type Inputs = GitSource;
    type Remote = Probe;
    type Record = Observed;

    const KIND: &'static str = "GitRepository";
    const FAILURE_CONDITIONS: &'static [&'static str] = &[INCLUDE_UNAVAILABLE];

    async fn inputs(&self, obj: &GitRepository) -> SourceStep<GitSource> {
        let ns = obj.namespace().unwrap_or_default();
        let url = obj.spec.url.clone();
        let auth = match &obj.spec.secret_ref {
            Some(r) => {
                let data = self
                    .secret_data(&ns, &r.name)
                    .await
                    .map_err(|message| failed(reasons::AUTHENTICATION_FAILED, message))?;
                Auth::from_secret_data(&url, &data).map_err(git_failure)?
            }
            None => Auth::default(),
        };
        let reference = obj.spec.reference.clone().unwrap_or_default();
        Ok(GitSource {
            url,
            auth,
            reference: Reference::from_fields(
                reference.branch.as_deref(),
                reference.tag.as_deref(),
                reference.semver.as_deref(),
                reference.name.as_deref(),
                reference.commit.as_deref(),
            ),
            timeout: obj
                .spec
                .timeout
                .as_ref()
                .map(|t| t.as_std())
                .unwrap_or(Duration::from_secs(60)),
            ssh_program: None,
            limits: self.limits,
        })
    }

    async fn remote(&self, _obj: &GitRepository, source: &GitSource) -> SourceStep<Probe> {
        // One ref listing tells whether anything upstream changed; it is the
        // start of the fetch the checkout completes (or drops, if unchanged).
        let (probe, cache_dir) = (source.clone(), self.cache_dir.clone());
        blocking_git(&source.url, move || probe.probe_cached(&cache_dir))
            .await
            .map_err(git_failure)
    }

    fn revision(remote: &Probe) -> &str {
        &remote.resolved.revision
    }

    fn spec_unchanged(obj: &GitRepository) -> bool {
        let Some(status) = obj.status.as_ref() else {
            return false;
        };
        status.observed_ignore == obj.spec.ignore
            && status.observed_include == obj.spec.include
            && status.observed_recurse_submodules == obj.spec.recurse_submodules
            && status.observed_sparse_checkout == obj.spec.sparse_checkout
    }

    async fn fetch(
        &self,
        obj: &GitRepository,
        source: GitSource,
        probe: Probe,
        work: &Path,
    ) -> SourceStep<Fetched<Observed>> {
        let checkout_dir = work.join("checkout");
        let (cache_dir, dest, url) = (
            self.cache_dir.clone(),
            checkout_dir.clone(),
            source.url.clone(),
        );
        let checked = blocking_git(&url, move || {
            source.checkout_probed(probe, &cache_dir, &dest)
        })
        .await
        .map_err(git_failure)?;
        let included =
            git_include::add_includes(&self.client, &self.storage, obj, &checkout_dir, work)
                .await?;
        let ignore = IgnoreRules::load(&checkout_dir, obj.spec.ignore.as_deref())
            .map_err(|e| failed(reasons::STORAGE_OPERATION_FAILED, e.to_string()))?;
        Ok(Fetched {
            revision: checked.revision,
            dir: checkout_dir,
            ignore,
            record: Observed { included },
        })
    }

    fn record(obj: &mut GitRepository, record: Observed) {
        let spec = obj.spec.clone();
        let st = obj.status.get_or_insert_with(Default::default);
        st.included_artifacts = record.included;
        st.observed_ignore = spec.ignore;
        st.observed_include = spec.include;
        st.observed_recurse_submodules = spec.recurse_submodules;
        st.observed_sparse_checkout = spec.sparse_checkout;
    }

    fn artifact(obj: &GitRepository) -> Option<&Artifact> {
        obj.status.as_ref().and_then(|s| s.artifact.as_ref())
    }

    fn set_artifact(obj: &mut GitRepository, artifact: Artifact) {
        obj.status.get_or_insert_with(Default::default).artifact = Some(artifact);
    }
}
