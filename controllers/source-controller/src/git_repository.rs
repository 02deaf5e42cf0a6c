//! The GitRepository reconciler: resolve `spec.ref` on the remote, and when
//! the revision (or what shapes the artifact) changed, check it out, add the
//! included repositories, archive it into storage and point
//! `status.artifact` at it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferroflux_api::conditions::{self, ObjectWithConditions, reasons};
use ferroflux_api::meta::Artifact;
use ferroflux_api::source::v1::{GitRepository, GitRepositoryInclude};
use ferroflux_runtime::controller::{Outcome, ReconcileError, Reconciler};
use ferroflux_runtime::events::{Recorder, Severity};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};

use crate::git::{Auth, CheckoutLimits, GitError, GitSource, Reference};
use crate::ignore::IgnoreRules;
use crate::storage::Storage;

/// The kind name used for storage paths and events.
const KIND: &str = "GitRepository";

/// Reconciles GitRepositories.
pub struct GitRepositoryReconciler {
    client: kube::Client,
    storage: Storage,
    recorder: Recorder,
    cache_dir: PathBuf,
    limits: CheckoutLimits,
    scratch: Option<PathBuf>,
}

impl GitRepositoryReconciler {
    /// A reconciler writing artifacts to `storage` and keeping Git caches in `cache_dir`.
    pub fn new(
        client: kube::Client,
        storage: Storage,
        recorder: Recorder,
        cache_dir: PathBuf,
    ) -> Self {
        Self {
            client,
            storage,
            recorder,
            cache_dir,
            limits: CheckoutLimits::default(),
            scratch: None,
        }
    }

    /// Size limits on the files of a checkout (`--git-max-size`,
    /// `--git-file-max-size`); the artifact's files are held to the total too.
    pub fn with_limits(mut self, limits: CheckoutLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Where checkouts are written (the controller's scratch directory;
    /// default: the `tempfile` crate's temporary directory).
    pub fn with_scratch(mut self, dir: PathBuf) -> Self {
        self.scratch = Some(dir);
        self
    }

    async fn secret_data(&self, ns: &str, name: &str) -> Result<BTreeMap<String, Vec<u8>>, String> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        match api.get_opt(name).await {
            Ok(Some(secret)) => {
                let mut data: BTreeMap<String, Vec<u8>> = secret
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.0))
                    .collect();
                for (k, v) in secret.string_data.unwrap_or_default() {
                    data.insert(k, v.into_bytes());
                }
                Ok(data)
            }
            Ok(None) => Err(format!("secret '{ns}/{name}' not found")),
            Err(e) => Err(format!("failed to get secret '{ns}/{name}': {e}")),
        }
    }

    /// Records a failure on the object and emits an error event (only when
    /// the message is new, so a failing object does not flood the sink).
    async fn fail(
        &self,
        obj: &mut GitRepository,
        reason: &str,
        message: String,
        stalled: bool,
    ) -> ReconcileError {
        let generation = obj.metadata.generation;
        let now = conditions::now();
        let previous =
            conditions::get(obj.conditions(), conditions::READY).map(|c| c.message.clone());
        let conds = obj.conditions_mut();
        conditions::set(
            conds,
            conditions::FETCH_FAILED,
            true,
            reason,
            &message,
            generation,
            now.clone(),
        );
        if stalled {
            conditions::mark_stalled(conds, reason, &message, generation, now);
        } else {
            conditions::mark_failed(conds, reason, &message, generation, now);
        }
        if previous.as_deref() != Some(message.as_str()) {
            self.recorder
                .publish(&*obj, Severity::Error, reason, &message, BTreeMap::new())
                .await;
        }
        ReconcileError::new(message)
    }

    /// Copies each include's artifact into `dest` at its `toPath`.
    async fn add_includes(
        &self,
        obj: &GitRepository,
        dest: &Path,
        work: &Path,
    ) -> Result<Vec<Artifact>, (String, String)> {
        let ns = obj.namespace().unwrap_or_default();
        let api: Api<GitRepository> = Api::namespaced(self.client.clone(), &ns);
        let mut included = Vec::new();
        for include in &obj.spec.include {
            let name = &include.git_repository_ref.name;
            let other = api
                .get_opt(name)
                .await
                .map_err(|e| {
                    (
                        "IncludeUnavailable".to_string(),
                        format!("could not get GitRepository '{ns}/{name}': {e}"),
                    )
                })?
                .ok_or_else(|| {
                    (
                        "IncludeUnavailable".to_string(),
                        format!("GitRepository '{ns}/{name}' not found"),
                    )
                })?;
            let artifact = other
                .status
                .as_ref()
                .and_then(|s| s.artifact.clone())
                .ok_or_else(|| {
                    (
                        "IncludeUnavailable".to_string(),
                        format!("GitRepository '{ns}/{name}' has no artifact yet"),
                    )
                })?;
            let archive = self
                .storage
                .local_path(&artifact)
                .map_err(|e| ("IncludeUnavailable".to_string(), e.to_string()))?;
            copy_include(&archive, include, dest, work)
                .map_err(|e| ("StorageOperationFailed".to_string(), e))?;
            included.push(artifact);
        }
        Ok(included)
    }
}

/// Extracts an included artifact (in a directory under `work`) and copies
/// its `fromPath` to `toPath` in `dest`.
fn copy_include(
    archive: &Path,
    include: &GitRepositoryInclude,
    dest: &Path,
    work: &Path,
) -> Result<(), String> {
    let staging = tempfile::Builder::new()
        .prefix("include-")
        .tempdir_in(work)
        .map_err(|e| format!("creating a temporary directory: {e}"))?;
    let unpacked = staging.path().join("content");
    let file =
        std::fs::File::open(archive).map_err(|e| format!("opening {}: {e}", archive.display()))?;
    ferroflux_runtime::artifact::extract(
        std::io::BufReader::new(file),
        &unpacked,
        &ferroflux_runtime::artifact::Limits::default(),
    )
    .map_err(|e| e.to_string())?;
    let from = safe_join(&unpacked, include.from_path.as_deref().unwrap_or(""))?;
    let to = safe_join(dest, include.to_path())?;
    if to.exists() {
        std::fs::remove_dir_all(&to).map_err(|e| format!("replacing {}: {e}", to.display()))?;
    }
    copy_tree(&from, &to)
}

/// `base` joined with a user-given relative path that must stay inside it.
fn safe_join(base: &Path, rel: &str) -> Result<PathBuf, String> {
    let mut out = base.to_path_buf();
    for part in Path::new(rel).components() {
        match part {
            std::path::Component::Normal(p) => out.push(p),
            std::path::Component::CurDir => {}
            _ => {
                return Err(format!(
                    "path '{rel}' must be relative and stay inside the artifact"
                ));
            }
        }
    }
    Ok(out)
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    let meta =
        std::fs::symlink_metadata(from).map_err(|e| format!("reading {}: {e}", from.display()))?;
    if meta.is_dir() {
        std::fs::create_dir_all(to).map_err(|e| format!("creating {}: {e}", to.display()))?;
        for entry in
            std::fs::read_dir(from).map_err(|e| format!("listing {}: {e}", from.display()))?
        {
            let entry = entry.map_err(|e| e.to_string())?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else if meta.is_file() {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        std::fs::copy(from, to)
            .map(|_| ())
            .map_err(|e| format!("copying {}: {e}", from.display()))
    } else {
        // Symlinks from an artifact were already checked to stay inside it;
        // copying them as links could point outside their new place.
        Ok(())
    }
}

impl Reconciler<GitRepository> for GitRepositoryReconciler {
    async fn reconcile(&self, obj: &mut GitRepository) -> Result<Outcome, ReconcileError> {
        let ns = obj.namespace().unwrap_or_default();
        let name = obj.name_any();
        let generation = obj.metadata.generation;
        let url = obj.spec.url.clone();

        let auth = match obj.spec.secret_ref.clone() {
            Some(r) => match self.secret_data(&ns, &r.name).await {
                Ok(data) => match Auth::from_secret_data(&url, &data) {
                    Ok(auth) => auth,
                    Err(e) => {
                        return Err(self
                            .fail(obj, e.reason(), e.to_string(), e.is_stalling())
                            .await);
                    }
                },
                Err(message) => {
                    return Err(self
                        .fail(obj, reasons::AUTHENTICATION_FAILED, message, false)
                        .await);
                }
            },
            None => Auth::default(),
        };
        let reference = obj.spec.reference.clone().unwrap_or_default();
        let source = GitSource {
            url: url.clone(),
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
        };

        // One ref listing tells whether anything upstream changed.
        let probe = source.clone();
        let resolved = match blocking_git(&url, move || probe.resolve()).await {
            Ok(r) => r,
            Err(e) => return Err(self.git_failure(obj, e).await),
        };
        let status = obj.status.clone().unwrap_or_default();
        let up_to_date = status
            .artifact
            .as_ref()
            .is_some_and(|a| a.revision == resolved.revision && self.storage.exists(a))
            && status.observed_ignore == obj.spec.ignore
            && status.observed_include == obj.spec.include
            && status.observed_recurse_submodules == obj.spec.recurse_submodules
            && status.observed_sparse_checkout == obj.spec.sparse_checkout;
        if up_to_date {
            let message = format!("stored artifact for revision '{}'", resolved.revision);
            let now = conditions::now();
            let conds = obj.conditions_mut();
            conditions::remove(conds, conditions::FETCH_FAILED);
            conditions::set(
                conds,
                conditions::ARTIFACT_IN_STORAGE,
                true,
                reasons::SUCCEEDED,
                &message,
                generation,
                now.clone(),
            );
            conditions::mark_ready(conds, reasons::SUCCEEDED, &message, generation, now);
            return Ok(Outcome::Interval);
        }

        // Checkouts go to the scratch directory, removed on every return.
        let mut builder = tempfile::Builder::new();
        builder.prefix("checkout-");
        let work = match &self.scratch {
            Some(dir) => builder.tempdir_in(dir),
            None => builder.tempdir(),
        }
        .map_err(|e| ReconcileError::new(format!("creating a work directory: {e}")))?;
        let checkout_dir = work.path().join("checkout");
        let cache_dir = self.cache_dir.clone();
        let dest = checkout_dir.clone();
        let checked = match blocking_git(&url, move || source.checkout(&cache_dir, &dest)).await {
            Ok(r) => r,
            Err(e) => return Err(self.git_failure(obj, e).await),
        };
        let included = match self.add_includes(obj, &checkout_dir, work.path()).await {
            Ok(included) => included,
            Err((reason, message)) => {
                let now = conditions::now();
                conditions::set(
                    obj.conditions_mut(),
                    "IncludeUnavailable",
                    true,
                    &reason,
                    &message,
                    generation,
                    now,
                );
                return Err(self.fail(obj, &reason, message, false).await);
            }
        };
        let rules = match IgnoreRules::load(&checkout_dir, obj.spec.ignore.as_deref()) {
            Ok(r) => r,
            Err(e) => {
                return Err(self
                    .fail(obj, reasons::STORAGE_OPERATION_FAILED, e.to_string(), false)
                    .await);
            }
        };
        let storage = self.storage.clone().with_max_size(self.limits.max_size);
        let (ns2, name2, revision, dir) = (
            ns.clone(),
            name.clone(),
            checked.revision.clone(),
            checkout_dir.clone(),
        );
        let artifact = match tokio::task::spawn_blocking(move || {
            storage.archive(KIND, &ns2, &name2, &revision, &dir, &rules)
        })
        .await
        {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => {
                let reason = if e.is_too_large() {
                    crate::git::SIZE_LIMIT_EXCEEDED
                } else {
                    reasons::STORAGE_OPERATION_FAILED
                };
                return Err(self.fail(obj, reason, e.to_string(), false).await);
            }
            Err(e) => {
                return Err(self
                    .fail(
                        obj,
                        reasons::STORAGE_OPERATION_FAILED,
                        format!("archive task failed: {e}"),
                        false,
                    )
                    .await);
            }
        };
        if let Err(e) = self.storage.garbage_collect(KIND, &ns, &name, &artifact) {
            tracing::warn!(object = %format!("{ns}/{name}"), error = %e, "garbage collecting old artifacts");
        }
        let previous_revision = status.artifact.as_ref().map(|a| a.revision.clone());
        let new_revision = artifact.revision.clone();
        let changed = previous_revision.as_deref() != Some(new_revision.as_str())
            || status.artifact.as_ref().and_then(|a| a.digest.clone()) != artifact.digest;
        {
            let st = obj.status.get_or_insert_with(Default::default);
            // Keep the stored record when the content is the same, so an
            // identical re-archive (e.g. after a restart) writes no status.
            if changed {
                st.artifact = Some(artifact);
            }
            st.included_artifacts = included;
            st.observed_ignore = obj.spec.ignore.clone();
            st.observed_include = obj.spec.include.clone();
            st.observed_recurse_submodules = obj.spec.recurse_submodules;
            st.observed_sparse_checkout = obj.spec.sparse_checkout.clone();
        }
        let message = format!("stored artifact for revision '{new_revision}'");
        let now = conditions::now();
        let conds = obj.conditions_mut();
        conditions::remove(conds, conditions::FETCH_FAILED);
        conditions::remove(conds, "IncludeUnavailable");
        conditions::set(
            conds,
            conditions::ARTIFACT_IN_STORAGE,
            true,
            reasons::SUCCEEDED,
            &message,
            generation,
            now.clone(),
        );
        conditions::mark_ready(conds, reasons::SUCCEEDED, &message, generation, now);
        if changed {
            let metadata = BTreeMap::from([("revision".to_string(), new_revision.clone())]);
            self.recorder
                .publish(&*obj, Severity::Info, "NewArtifact", &message, metadata)
                .await;
        }
        Ok(Outcome::Interval)
    }

    async fn cleanup(&self, obj: &GitRepository) -> Result<(), ReconcileError> {
        let ns = obj.namespace().unwrap_or_default();
        self.storage
            .remove_all(KIND, &ns, &obj.name_any())
            .map(|_| ())
            .map_err(|e| ReconcileError::new(format!("removing artifacts: {e}")))
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

impl GitRepositoryReconciler {
    async fn git_failure(&self, obj: &mut GitRepository, e: GitError) -> ReconcileError {
        let stalled = e.is_stalling();
        self.fail(obj, e.reason(), e.to_string(), stalled).await
    }
}
