//! The artifact reconcile every source kind shares: inputs → remote
//! revision → up-to-date check → fetch → store → garbage collect →
//! conditions → `NewArtifact` event.
//!
//! A kind (GitRepository today; OCIRepository, HelmRepository, HelmChart and
//! Bucket next) implements [`ArtifactSource`]: how to read its inputs, ask
//! the remote for its revision, and fetch that revision into a directory.
//! [`ArtifactReconciler`] does the rest the same way for every kind, and is
//! the one place that sets a source's conditions.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};

use ferroflux_api::conditions::{self, ObjectWithConditions, reasons};
use ferroflux_api::meta::Artifact;
use ferroflux_runtime::controller::{Kind, Outcome, ReconcileError, Reconciler};
use ferroflux_runtime::events::Recorder;
use ferroflux_runtime::verdict::{self, Announcement, Retry, Verdict};
use kube::{Resource, ResourceExt};

use crate::ignore::IgnoreRules;
use crate::storage::Storage;

/// Reason of a `Ready=False` whose content was over the size limit.
pub use crate::git::SIZE_LIMIT_EXCEEDED;

/// A step that failed: the verdict, and the kind-specific condition (such
/// as `IncludeUnavailable`) that says which part failed, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFailure {
    /// How the reconcile ends.
    pub verdict: Verdict,
    /// A condition of the kind to set to `True` with the failure's reason
    /// and message (cleared again by a successful reconcile).
    pub condition: Option<&'static str>,
}

impl From<Verdict> for StepFailure {
    fn from(verdict: Verdict) -> Self {
        Self {
            verdict,
            condition: None,
        }
    }
}

/// What a step of the artifact reconcile returns.
pub type SourceStep<T> = Result<T, StepFailure>;

/// The step outcome of a storage task run on the blocking pool: an artifact,
/// a size limit (its own reason), or a storage failure.
fn stored_step(
    result: Result<Result<Artifact, crate::storage::StorageError>, tokio::task::JoinError>,
    task: &str,
) -> SourceStep<Artifact> {
    match result {
        Ok(Ok(artifact)) => Ok(artifact),
        Ok(Err(e)) => {
            let reason = if e.is_too_large() {
                SIZE_LIMIT_EXCEEDED
            } else {
                reasons::STORAGE_OPERATION_FAILED
            };
            Err(failed(reason, e.to_string()))
        }
        Err(e) => Err(failed(
            reasons::STORAGE_OPERATION_FAILED,
            format!("{task} task failed: {e}"),
        )),
    }
}

/// A failure of a source step, retried with backoff (a stalled one too:
/// sources are polled, and what they read may change without the spec).
pub fn failed(reason: &str, message: impl Into<String>) -> StepFailure {
    Verdict::failed(reason, message).into()
}

/// A wait on something outside the object that a watch reports (a source
/// with no artifact yet): `Reconciling`, no failure condition, no event;
/// looked at again after a minute at the latest.
pub fn waiting(reason: &str, message: impl Into<String>) -> StepFailure {
    Verdict::progressing(reason, message, std::time::Duration::from_secs(60)).into()
}

/// A failure that needs a spec change (`Stalled=True`), retried with
/// backoff all the same.
pub fn stalled(reason: &str, message: impl Into<String>) -> StepFailure {
    Verdict::stalled(reason, message)
        .retry(Retry::Backoff)
        .into()
}

/// What a fetch produced: a directory to archive and what to record once
/// it is stored.
pub struct Fetched<R> {
    /// The revision fetched (may differ from the probed one, e.g. when a
    /// branch moved in between).
    pub revision: String,
    /// The directory whose files become the artifact.
    pub dir: PathBuf,
    /// Which files of `dir` to leave out.
    pub ignore: IgnoreRules,
    /// What the kind records in the status once the artifact is stored
    /// (e.g. the included artifacts and the observed spec fields).
    pub record: R,
}

/// A source kind the shared artifact reconcile drives.
pub trait ArtifactSource: Send + Sync + 'static {
    /// The kind's object.
    type Object: Kind;
    /// What a reconcile reads besides the object (credentials, ...).
    type Inputs: Send + Sync;
    /// What the remote said about the revision (the revision, and what the
    /// fetch can reuse so that it does not ask again).
    type Remote: Send;
    /// What the kind records in the status after storing (see [`Fetched`]).
    type Record: Send;

    /// The kind's name in storage paths and events (`GitRepository`).
    const KIND: &'static str;
    /// Kind-specific failure conditions cleared by a successful reconcile.
    const FAILURE_CONDITIONS: &'static [&'static str] = &[];

    /// Reads what the reconcile needs besides the object.
    fn inputs(&self, obj: &Self::Object) -> impl Future<Output = SourceStep<Self::Inputs>> + Send;

    /// Asks the remote which revision the spec points at now.
    fn remote(
        &self,
        obj: &Self::Object,
        inputs: &Self::Inputs,
    ) -> impl Future<Output = SourceStep<Self::Remote>> + Send;

    /// The revision of [`ArtifactSource::remote`]'s answer
    /// (`main@sha1:<hex>`).
    fn revision(remote: &Self::Remote) -> &str;

    /// Whether what shapes the artifact besides the revision (ignore rules,
    /// includes, ...) is still what the stored artifact was made with.
    fn spec_unchanged(obj: &Self::Object) -> bool;

    /// Fetches the revision into a new directory under `work`.
    fn fetch(
        &self,
        obj: &Self::Object,
        inputs: Self::Inputs,
        remote: Self::Remote,
        work: &Path,
    ) -> impl Future<Output = SourceStep<Fetched<Self::Record>>> + Send;

    /// Records what the fetch produced in the status (the artifact itself
    /// is recorded by the shared reconcile).
    fn record(obj: &mut Self::Object, record: Self::Record);

    /// `status.artifact`.
    fn artifact(obj: &Self::Object) -> Option<&Artifact>;

    /// Sets `status.artifact`.
    fn set_artifact(obj: &mut Self::Object, artifact: Artifact);

    /// The name under which the fetched content is stored as one file,
    /// as-is (`index-<hex>.yaml`, `podinfo-6.0.3.tgz`); then
    /// [`Fetched::dir`] is that file. `None` (the default): a tar.gz of the
    /// directory.
    fn file_name(_record: &Self::Record) -> Option<String> {
        None
    }

    /// Drops what the kind keeps for the object besides its artifacts
    /// (caches), when the object is deleted.
    fn forget(&self, _obj: &Self::Object) {}

    /// The reason and message of `Ready` (and `ArtifactInStorage`, and the
    /// event announcing a new artifact) once the artifact at `revision` is
    /// stored and recorded in `obj`: by default `Succeeded`, "stored
    /// artifact for revision '<revision>'".
    fn ready_summary(_obj: &Self::Object, revision: &str) -> (String, String) {
        (
            reasons::SUCCEEDED.to_string(),
            format!("stored artifact for revision '{revision}'"),
        )
    }

    /// The reason of the event announcing a new artifact (`NewArtifact`;
    /// Flux's HelmChart uses its build's reason).
    fn new_artifact_reason(_obj: &Self::Object) -> String {
        "NewArtifact".to_string()
    }

    /// The reason and message of `ArtifactOutdated`, set while the remote
    /// has a revision that is not stored yet (kept when fetching or storing
    /// it fails, removed once it is stored): Flux's `NewRevision`.
    fn outdated(_obj: &Self::Object, revision: &str) -> (&'static str, String) {
        (
            reasons::NEW_REVISION,
            format!("new upstream revision '{revision}'"),
        )
    }
}

/// The shared artifact reconcile, for the source kind `S`.
pub struct ArtifactReconciler<S> {
    source: S,
    storage: Storage,
    recorder: Recorder,
    scratch: Option<PathBuf>,
    max_size: u64,
}

impl<S: ArtifactSource> ArtifactReconciler<S> {
    /// A reconciler storing `source`'s artifacts in `storage`.
    pub fn new(source: S, storage: Storage, recorder: Recorder) -> Self {
        Self {
            source,
            storage,
            recorder,
            scratch: None,
            max_size: u64::MAX,
        }
    }

    /// Where fetches are written (the controller's scratch directory;
    /// default: the system's temporary directory).
    pub fn with_scratch(mut self, dir: PathBuf) -> Self {
        self.scratch = Some(dir);
        self
    }

    /// Largest total size of an artifact's files.
    pub fn with_max_size(mut self, bytes: u64) -> Self {
        self.max_size = bytes;
        self
    }

    /// The steps up to the artifact in storage; `Ok` is the ready verdict.
    async fn steps(&self, obj: &mut S::Object) -> SourceStep<Verdict> {
        let inputs = self.source.inputs(obj).await?;
        let remote = self.source.remote(obj, &inputs).await?;
        let revision = S::revision(&remote).to_string();
        let previous = S::artifact(obj).cloned();
        let up_to_date = previous
            .as_ref()
            .is_some_and(|a| a.revision == revision && self.storage.exists(a))
            && S::spec_unchanged(obj);
        if up_to_date {
            return Ok(stored::<S>(obj, &revision));
        }
        // Until the new revision is stored, the object says so; a failure
        // below leaves it in place (removed by `conclude` on success).
        let (reason, message) = S::outdated(obj, &revision);
        let generation = obj.meta().generation;
        conditions::set(
            obj.conditions_mut(),
            conditions::ARTIFACT_OUTDATED,
            true,
            reason,
            &message,
            generation,
            conditions::now(),
        );

        // Fetches go to the scratch directory, removed on every return.
        let mut builder = tempfile::Builder::new();
        builder.prefix("fetch-");
        let work = match &self.scratch {
            Some(dir) => builder.tempdir_in(dir),
            None => builder.tempdir(),
        }
        .map_err(|e| {
            failed(
                reasons::STORAGE_OPERATION_FAILED,
                format!("creating a work directory: {e}"),
            )
        })?;
        let Fetched {
            revision,
            dir,
            ignore,
            record,
        } = self.source.fetch(obj, inputs, remote, work.path()).await?;
        let artifact = match S::file_name(&record) {
            Some(file_name) => self.store_file(obj, revision, dir, file_name).await?,
            None => self.store(obj, revision, dir, ignore).await?,
        };
        let (ns, name) = (obj.namespace().unwrap_or_default(), obj.name_any());
        if let Err(e) = self.storage.garbage_collect(S::KIND, &ns, &name, &artifact) {
            tracing::warn!(object = %format!("{ns}/{name}"), error = %e, "garbage collecting old artifacts");
        }
        let changed = previous
            .as_ref()
            .is_none_or(|p| p.revision != artifact.revision || p.digest != artifact.digest);
        let new_revision = artifact.revision.clone();
        // Keep the stored record when the content is the same, so an
        // identical re-archive (e.g. after a restart) writes no status.
        if changed {
            S::set_artifact(obj, artifact);
        }
        S::record(obj, record);
        let verdict = stored::<S>(obj, &new_revision);
        Ok(if changed {
            let message = verdict.message().to_string();
            verdict.announce(Announcement {
                reason: S::new_artifact_reason(obj),
                message,
                metadata: BTreeMap::from([("revision".to_string(), new_revision)]),
            })
        } else {
            verdict
        })
    }

    /// Archives the fetched directory `dir` into storage.
    async fn store(
        &self,
        obj: &S::Object,
        revision: String,
        dir: PathBuf,
        rules: IgnoreRules,
    ) -> SourceStep<Artifact> {
        let storage = self.storage.clone().with_max_size(self.max_size);
        let (ns, name) = (obj.namespace().unwrap_or_default(), obj.name_any());
        let archived = tokio::task::spawn_blocking(move || {
            storage.archive(S::KIND, &ns, &name, &revision, &dir, &rules)
        })
        .await;
        stored_step(archived, "archive")
    }

    /// Stores the fetched file `src` as-is under `file_name`.
    async fn store_file(
        &self,
        obj: &S::Object,
        revision: String,
        src: PathBuf,
        file_name: String,
    ) -> SourceStep<Artifact> {
        let storage = self.storage.clone().with_max_size(self.max_size);
        let (ns, name) = (obj.namespace().unwrap_or_default(), obj.name_any());
        let stored = tokio::task::spawn_blocking(move || {
            storage.store_file(S::KIND, &ns, &name, &revision, &src, &file_name)
        })
        .await;
        stored_step(stored, "storing")
    }

    /// The one place a source's conditions are set: `ArtifactInStorage`
    /// and `Ready` on success (clearing the failure conditions); on failure
    /// `FetchFailed`, the kind's condition of the failed part, and `Ready`
    /// (and `Stalled`). Events and the requeue come from the verdict.
    async fn conclude(
        &self,
        obj: &mut S::Object,
        result: SourceStep<Verdict>,
    ) -> Result<Outcome, ReconcileError> {
        let generation = obj.meta().generation;
        let now = conditions::now();
        let verdict = match result {
            Ok(verdict) => {
                let conds = obj.conditions_mut();
                conditions::remove(conds, conditions::FETCH_FAILED);
                conditions::remove(conds, conditions::ARTIFACT_OUTDATED);
                for c in S::FAILURE_CONDITIONS {
                    conditions::remove(conds, c);
                }
                conditions::set(
                    conds,
                    conditions::ARTIFACT_IN_STORAGE,
                    true,
                    verdict.reason(),
                    verdict.message(),
                    generation,
                    now,
                );
                verdict
            }
            // A wait (a source with no artifact yet) is no failure.
            Err(StepFailure { verdict, .. }) if verdict.is_waiting() => verdict,
            Err(StepFailure { verdict, condition }) => {
                let conds = obj.conditions_mut();
                for type_ in condition.into_iter().chain([conditions::FETCH_FAILED]) {
                    conditions::set(
                        conds,
                        type_,
                        true,
                        verdict.reason(),
                        verdict.message(),
                        generation,
                        now.clone(),
                    );
                }
                verdict
            }
        };
        verdict::conclude(obj, verdict, &self.recorder).await
    }
}

/// The ready verdict of an artifact in storage at `revision`.
fn stored<S: ArtifactSource>(obj: &S::Object, revision: &str) -> Verdict {
    let (reason, message) = S::ready_summary(obj, revision);
    Verdict::ready(reason, message)
}

impl<S: ArtifactSource> Reconciler<S::Object> for ArtifactReconciler<S> {
    async fn reconcile(&self, obj: &mut S::Object) -> Result<Outcome, ReconcileError> {
        let result = self.steps(obj).await;
        self.conclude(obj, result).await
    }

    async fn cleanup(&self, obj: &S::Object) -> Result<(), ReconcileError> {
        self.source.forget(obj);
        let ns = obj.namespace().unwrap_or_default();
        self.storage
            .remove_all(S::KIND, &ns, &obj.name_any())
            .map(|_| ())
            .map_err(|e| ReconcileError::new(format!("removing artifacts: {e}")))
    }
}
