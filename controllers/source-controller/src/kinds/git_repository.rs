//! GitRepository: resolve `spec.ref` on the remote with one ref listing,
//! and when the revision (or what shapes the artifact) changed, check it
//! out with that listing, add the included repositories and hand the tree
//! to the shared artifact reconcile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ferroflux_api::conditions::reasons;
use ferroflux_api::meta::{Artifact, RECONCILE_REQUEST_ANNOTATION};
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

/// How old a shared ref listing a periodic reconcile accepts (never more
/// than the object's interval).
const LISTING_REUSE: Duration = Duration::from_secs(2);

/// The oldest start of a ref listing `obj`'s reconcile at `now` may reuse: a
/// listing at most [`LISTING_REUSE`] old, and when a reconcile was requested
/// (`reconcile.fluxcd.io/requestedAt`, e.g. by a push webhook) one started
/// after the request, so the push it announces is seen. A request whose
/// value is not an RFC 3339 time asks for a listing from now on.
fn listing_bound(obj: &GitRepository, now: SystemTime) -> SystemTime {
    let window = LISTING_REUSE.min(obj.spec.interval.as_std());
    let periodic = now.checked_sub(window).unwrap_or(now);
    let handled = obj
        .status
        .as_ref()
        .and_then(|s| s.last_handled_reconcile_at.as_deref());
    match obj.annotations().get(RECONCILE_REQUEST_ANNOTATION) {
        Some(requested) if Some(requested.as_str()) != handled => requested
            .parse::<k8s_openapi::jiff::Timestamp>()
            .map(|at| SystemTime::from(at).clamp(periodic, now))
            .unwrap_or(now),
        _ => periodic,
    }
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

    async fn remote(&self, obj: &GitRepository, source: &GitSource) -> SourceStep<Probe> {
        // One ref listing tells whether anything upstream changed, shared
        // with the GitRepositories of the same URL and credentials; a new
        // revision is fetched into the cache with it.
        let (probe, cache_dir) = (source.clone(), self.cache_dir.clone());
        let not_before = listing_bound(obj, SystemTime::now());
        blocking_git(&source.url, move || {
            probe.probe_shared(&cache_dir, not_before)
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(interval: &str, requested: Option<&str>, handled: Option<&str>) -> GitRepository {
        let mut annotations = serde_json::Map::new();
        if let Some(r) = requested {
            annotations.insert(RECONCILE_REQUEST_ANNOTATION.into(), r.into());
        }
        serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "r", "namespace": "ns", "annotations": annotations},
            "spec": {"url": "https://example.com/r.git", "interval": interval},
            "status": {"lastHandledReconcileAt": handled},
        }))
        .expect("GitRepository")
    }

    #[test]
    fn listing_bound_follows_the_interval_and_requests() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let secs = |s: u64| now - Duration::from_secs(s);
        // Periodic: the reuse window, never more than the interval.
        assert_eq!(listing_bound(&repo("10m", None, None), now), secs(2));
        assert_eq!(
            listing_bound(&repo("500ms", None, None), now),
            now - Duration::from_millis(500)
        );
        // A new request: a listing from its time on (within the window).
        let at = k8s_openapi::jiff::Timestamp::try_from(secs(1)).expect("time");
        let at = at.to_string();
        assert_eq!(listing_bound(&repo("10m", Some(&at), None), now), secs(1));
        // Already handled: periodic again.
        assert_eq!(
            listing_bound(&repo("10m", Some(&at), Some(&at)), now),
            secs(2)
        );
        // Old, or not a time: bounded by the window, or fresh.
        let old = k8s_openapi::jiff::Timestamp::try_from(secs(60)).expect("time");
        assert_eq!(
            listing_bound(&repo("10m", Some(&old.to_string()), None), now),
            secs(2)
        );
        assert_eq!(listing_bound(&repo("10m", Some("now!"), None), now), now);
        // From a clock ahead of ours: fresh.
        let ahead =
            k8s_openapi::jiff::Timestamp::try_from(now + Duration::from_secs(5)).expect("time");
        assert_eq!(
            listing_bound(&repo("10m", Some(&ahead.to_string()), None), now),
            now
        );
    }
}
