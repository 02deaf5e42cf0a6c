//! ArtifactGenerator (source-watcher's kind, reconciled in this
//! controller): reads the artifacts of its sources from this controller's
//! storage (digest checked, unpacked with limits), applies each output
//! artifact's copy operations ([`crate::generator`]), stores the result
//! as a deterministic tarball and publishes it as an ExternalArtifact it
//! owns (revision `latest@sha256:<digest>`, or a source's revision with
//! `revision: "@alias"`). ExternalArtifacts no longer listed are deleted;
//! a source whose artifact changes queues the generators reading it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ferroflux_api::conditions::reasons;
use ferroflux_api::meta::Artifact;
use ferroflux_api::source::v1::{
    Bucket, ExternalArtifact, ExternalArtifactStatus, GitRepository, HelmChart, OCIRepository,
};
use ferroflux_api::source::{AnySource, Source, source_kind};
use ferroflux_api::source_extensions::v1beta1::{
    ArtifactGenerator, ExternalArtifactReference, GENERATOR_LABEL, GeneratorSourceKind,
    ORIGIN_REVISION_KEY, OutputArtifact,
};
use ferroflux_runtime::controller::{self, LoopConfig, Outcome, ReconcileError, Reconciler};
use ferroflux_runtime::events::Recorder;
use ferroflux_runtime::secrets;
use ferroflux_runtime::verdict::{self, Announcement, Retry, Verdict};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::generator::{BuildError, Builder, Limits, pattern};
use crate::ignore::IgnoreRules;
use crate::storage::Storage;

/// The kind generated artifacts are stored under (`externalartifact/<ns>/<name>/`).
pub const STORAGE_KIND: &str = "ExternalArtifact";
/// Field manager of the ExternalArtifacts written.
const MANAGER: &str = "source-controller";
/// `apiVersion` of the generator, in owner references and source refs.
const GENERATOR_API_VERSION: &str = "source.extensions.fluxcd.io/v1beta1";
/// `Ready=False` reason: a source could not be read.
pub const SOURCE_FETCH_FAILED: &str = "SourceFetchFailed";
/// `Stalled` reason: the spec is invalid.
pub const VALIDATION_FAILED: &str = "ValidationFailed";
/// A source in another namespace under `--no-cross-namespace-refs`.
pub const ACCESS_DENIED: &str = "AccessDenied";

type Step<T> = Result<T, Verdict>;

/// Reconciles ArtifactGenerators.
pub struct GeneratorReconciler {
    client: kube::Client,
    storage: Storage,
    recorder: Recorder,
    scratch: Option<PathBuf>,
    limits: Limits,
    no_cross_namespace_refs: bool,
}

/// A generator's reconciler storing into `storage`; each artifact (and
/// each source it reads) is capped at `max_size` bytes unpacked.
pub fn reconciler(
    client: kube::Client,
    storage: Storage,
    recorder: Recorder,
    scratch: Option<PathBuf>,
    max_size: u64,
) -> GeneratorReconciler {
    GeneratorReconciler {
        client,
        storage,
        recorder,
        scratch,
        limits: Limits {
            max_bytes: max_size,
            ..Limits::default()
        },
        no_cross_namespace_refs: false,
    }
}

impl GeneratorReconciler {
    /// Refuses sources in other namespaces than the generator's when
    /// `refuse` (`--no-cross-namespace-refs`): a tenant must not compose
    /// another namespace's artifacts into its own.
    pub fn refuse_cross_namespace_refs(mut self, refuse: bool) -> Self {
        self.no_cross_namespace_refs = refuse;
        self
    }
}

/// A source as read from the API: where its artifact is in storage.
#[derive(Debug, Clone)]
struct Resolved {
    alias: String,
    display: String,
    artifact: Artifact,
    archive: PathBuf,
}

/// An output artifact stored, before its ExternalArtifact is written.
struct Built {
    name: String,
    artifact: Artifact,
    /// The pathPattern's captures, set as labels.
    labels: BTreeMap<String, String>,
}

impl GeneratorReconciler {
    async fn steps(&self, obj: &mut ArtifactGenerator) -> Step<Verdict> {
        validate(obj)?;
        let ns = obj.namespace().unwrap_or_default();
        let mut sources = Vec::new();
        for s in &obj.spec.sources {
            sources.push(self.resolve(&ns, s).await?);
        }
        let digest = sources_digest(&sources, obj.meta().generation);
        let existing = self.generated(obj).await?;
        let status = obj.status.clone().unwrap_or_default();
        let up_to_date = status.observed_sources_digest.as_deref() == Some(digest.as_str())
            && status.observed_generation == obj.meta().generation
            // A pathPattern's artifacts follow the sources' directories.
            && (path_pattern(obj).is_some() || status.inventory.len() == obj.spec.artifacts.len())
            && status.inventory.iter().all(|r| {
                existing.get(&r.name).is_some_and(|ea| {
                    ea.artifact().is_some_and(|a| {
                        a.digest.as_deref() == Some(&r.digest) && self.storage.exists(a)
                    })
                })
            });
        if up_to_date {
            return Ok(ready(status.inventory.len()));
        }

        let built = self.build(obj, &sources).await?;
        let mut inventory = Vec::new();
        let mut changed = Vec::new();
        for Built {
            name,
            mut artifact,
            labels,
        } in built
        {
            let previous = existing.get(&name).and_then(|ea| ea.artifact()).cloned();
            let same = previous.as_ref().is_some_and(|p| {
                p.digest == artifact.digest
                    && p.revision == artifact.revision
                    && p.metadata == artifact.metadata
                    && p.path == artifact.path
            });
            if let (true, Some(p)) = (same, previous) {
                // Unchanged content keeps its record (and its time).
                artifact = p;
            } else {
                changed.push(format!("{name}@{}", artifact.revision));
            }
            self.write_external_artifact(obj, &name, &artifact, &labels, existing.get(&name))
                .await?;
            if let Err(e) = self
                .storage
                .garbage_collect(STORAGE_KIND, &ns, &name, &artifact)
            {
                tracing::warn!(artifact = %format!("{ns}/{name}"), error = %e, "garbage collecting old artifacts");
            }
            inventory.push(ExternalArtifactReference {
                name: name.clone(),
                namespace: ns.clone(),
                digest: artifact.digest.clone().unwrap_or_default(),
                filename: artifact
                    .path
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        // What is generated no longer: the old inventory and any labelled
        // leftovers.
        let keep: BTreeSet<String> = inventory.iter().map(|r| r.name.clone()).collect();
        let stale: BTreeSet<String> = status
            .inventory
            .iter()
            .map(|r| r.name.clone())
            .chain(existing.keys().cloned())
            .filter(|n| !keep.contains(n))
            .collect();
        for name in &stale {
            self.remove(&ns, name).await?;
        }
        let st = obj.status.get_or_insert_with(Default::default);
        st.inventory = inventory;
        st.observed_sources_digest = Some(digest);
        let verdict = ready(keep.len());
        if changed.is_empty() && stale.is_empty() {
            return Ok(verdict);
        }
        let mut message = String::new();
        if !changed.is_empty() {
            message.push_str(&format!("generated {}", changed.join(", ")));
        }
        if !stale.is_empty() {
            if !message.is_empty() {
                message.push_str("; ");
            }
            let names: Vec<&str> = stale.iter().map(String::as_str).collect();
            message.push_str(&format!("deleted {}", names.join(", ")));
        }
        let revision = changed.first().cloned().unwrap_or_default();
        Ok(verdict.announce(Announcement {
            reason: "ArtifactGenerated".to_string(),
            message,
            metadata: BTreeMap::from([("revision".to_string(), revision)]),
        }))
    }

    /// Reads the source `s` and where its artifact is.
    async fn resolve(
        &self,
        ns: &str,
        s: &ferroflux_api::source_extensions::v1beta1::SourceReference,
    ) -> Step<Resolved> {
        let kind = s.kind.as_str();
        let src_ns = s
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(ns);
        let display = format!("{kind}/{src_ns}/{}", s.name);
        if self.no_cross_namespace_refs && src_ns != ns {
            return Err(Verdict::stalled(
                ACCESS_DENIED,
                format!("can't access '{display}', cross-namespace references have been blocked"),
            ));
        }
        let info = source_kind(kind).ok_or_else(|| {
            Verdict::stalled(VALIDATION_FAILED, format!("unknown source kind {kind}"))
        })?;
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), src_ns, &info.api_resource(None));
        let obj = match api.get_opt(&s.name).await {
            Ok(Some(o)) => o,
            Ok(None) => {
                return Err(Verdict::failed(
                    SOURCE_FETCH_FAILED,
                    format!("source '{display}' not found"),
                ));
            }
            Err(e) => {
                return Err(Verdict::failed(
                    SOURCE_FETCH_FAILED,
                    format!("reading source '{display}': {}", secrets::short(&e)),
                ));
            }
        };
        let source = AnySource::from_dynamic(&obj);
        let not_ready = || {
            Verdict::progressing(
                SOURCE_FETCH_FAILED,
                format!("source '{display}' is not ready"),
                std::time::Duration::from_secs(60),
            )
        };
        let artifact = source.artifact().cloned().ok_or_else(not_ready)?;
        if !self.storage.exists(&artifact) {
            return Err(not_ready());
        }
        let archive = self.storage.local_path(&artifact).map_err(|e| {
            Verdict::failed(SOURCE_FETCH_FAILED, format!("source '{display}': {e}"))
        })?;
        Ok(Resolved {
            alias: s.alias.clone(),
            display,
            artifact,
            archive,
        })
    }

    /// The ExternalArtifacts this generator made, by name.
    async fn generated(&self, obj: &ArtifactGenerator) -> Step<BTreeMap<String, ExternalArtifact>> {
        let ns = obj.namespace().unwrap_or_default();
        let Some(uid) = obj.meta().uid.clone() else {
            return Ok(BTreeMap::new());
        };
        let api: Api<ExternalArtifact> = Api::namespaced(self.client.clone(), &ns);
        let list = api
            .list(&ListParams::default().labels(&format!("{GENERATOR_LABEL}={uid}")))
            .await
            .map_err(|e| {
                Verdict::failed(
                    reasons::RECONCILIATION_FAILED,
                    format!("listing ExternalArtifacts: {}", secrets::short(&e)),
                )
            })?;
        Ok(list
            .items
            .into_iter()
            .map(|ea| (ea.name_any(), ea))
            .collect())
    }

    /// Unpacks the sources and builds and stores every output artifact.
    async fn build(&self, obj: &ArtifactGenerator, sources: &[Resolved]) -> Step<Vec<Built>> {
        let ns = obj.namespace().unwrap_or_default();
        let outputs = obj.spec.artifacts.clone();
        let pattern = path_pattern(obj).map(str::to_string);
        let sources = sources.to_vec();
        let storage = self.storage.clone().with_max_size(self.limits.max_bytes);
        let limits = self.limits;
        let scratch = self.scratch.clone();
        tokio::task::spawn_blocking(move || {
            build_all(
                &ns,
                &outputs,
                pattern.as_deref(),
                &sources,
                &storage,
                limits,
                scratch.as_deref(),
            )
        })
        .await
        .map_err(|e| {
            Verdict::failed(
                reasons::STORAGE_OPERATION_FAILED,
                format!("build task failed: {e}"),
            )
        })?
    }

    /// Creates or updates the ExternalArtifact `name` for `artifact`.
    async fn write_external_artifact(
        &self,
        obj: &ArtifactGenerator,
        name: &str,
        artifact: &Artifact,
        captures: &BTreeMap<String, String>,
        existing: Option<&ExternalArtifact>,
    ) -> Step<()> {
        let ns = obj.namespace().unwrap_or_default();
        let api: Api<ExternalArtifact> = Api::namespaced(self.client.clone(), &ns);
        let failed = |what: &str, e: kube::Error| {
            Verdict::failed(
                reasons::RECONCILIATION_FAILED,
                format!(
                    "{what} ExternalArtifact '{ns}/{name}': {}",
                    secrets::short(&e)
                ),
            )
        };
        if existing.is_none() {
            // One made by someone else is not taken over.
            match api.get_opt(name).await {
                Ok(Some(other)) if !points_at(&other, obj) => {
                    return Err(Verdict::failed(
                        reasons::RECONCILIATION_FAILED,
                        format!(
                            "ExternalArtifact '{ns}/{name}' exists and was not generated by this ArtifactGenerator"
                        ),
                    ));
                }
                Ok(_) => {}
                Err(e) => return Err(failed("reading", e)),
            }
        }
        let mut labels = BTreeMap::new();
        let mut annotations = BTreeMap::new();
        if let Some(cm) = &obj.spec.common_metadata {
            labels.extend(cm.labels.clone());
            annotations.extend(cm.annotations.clone());
        }
        labels.extend(captures.clone());
        labels.insert(
            "app.kubernetes.io/managed-by".to_string(),
            crate::app::CONTROLLER.to_string(),
        );
        labels.insert(
            GENERATOR_LABEL.to_string(),
            obj.meta().uid.clone().unwrap_or_default(),
        );
        let desired = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "ExternalArtifact",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": labels,
                "annotations": annotations,
                "ownerReferences": [{
                    "apiVersion": GENERATOR_API_VERSION,
                    "kind": "ArtifactGenerator",
                    "name": obj.name_any(),
                    "uid": obj.meta().uid.clone().unwrap_or_default(),
                    "controller": true,
                    "blockOwnerDeletion": true,
                }],
            },
            "spec": {"sourceRef": {
                "apiVersion": GENERATOR_API_VERSION,
                "kind": "ArtifactGenerator",
                "name": obj.name_any(),
                "namespace": ns,
            }},
        });
        let params = PatchParams::apply(MANAGER).force();
        let written = api
            .patch(name, &params, &Patch::Apply(&desired))
            .await
            .map_err(|e| failed("writing", e))?;
        let current = existing.and_then(|e| e.status.as_ref());
        let ready_now = current.is_some_and(|s| {
            s.artifact.as_ref() == Some(artifact)
                && ferroflux_api::conditions::is_true(&s.conditions, "Ready")
        });
        if ready_now {
            return Ok(());
        }
        // The whole status is replaced (a merge patch would keep metadata
        // keys of an older artifact).
        let mut full = written;
        full.status = Some(ExternalArtifactStatus {
            artifact: Some(artifact.clone()),
            conditions: vec![Condition {
                type_: "Ready".to_string(),
                status: "True".to_string(),
                reason: reasons::SUCCEEDED.to_string(),
                message: format!("stored artifact for revision '{}'", artifact.revision),
                observed_generation: full.meta().generation,
                last_transition_time: ferroflux_api::conditions::now(),
            }],
        });
        api.replace_status(name, &PostParams::default(), &full)
            .await
            .map_err(|e| failed("writing the status of", e))?;
        Ok(())
    }

    /// Deletes the ExternalArtifact `name` and its files.
    async fn remove(&self, ns: &str, name: &str) -> Step<()> {
        let api: Api<ExternalArtifact> = Api::namespaced(self.client.clone(), ns);
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => {
                return Err(Verdict::failed(
                    reasons::RECONCILIATION_FAILED,
                    format!(
                        "deleting ExternalArtifact '{ns}/{name}': {}",
                        secrets::short(&e)
                    ),
                ));
            }
        }
        self.storage
            .remove_all(STORAGE_KIND, ns, name)
            .map(|_| ())
            .map_err(|e| Verdict::failed(reasons::STORAGE_OPERATION_FAILED, e.to_string()))
    }
}

/// Whether `ea` says it was made by `obj` (by label, or by its source
/// reference for one made by a generator of the same name before).
fn points_at(ea: &ExternalArtifact, obj: &ArtifactGenerator) -> bool {
    let uid = obj.meta().uid.as_deref();
    if ea.labels().get(GENERATOR_LABEL).map(String::as_str) == uid && uid.is_some() {
        return true;
    }
    ea.spec.source_ref.as_ref().is_some_and(|r| {
        r.kind == "ArtifactGenerator"
            && r.name == obj.name_any()
            && r.namespace.as_deref().unwrap_or_default()
                == obj.namespace().unwrap_or_default().as_str()
    })
}

/// `spec.pathPattern`, when set.
fn path_pattern(obj: &ArtifactGenerator) -> Option<&str> {
    obj.spec.path_pattern.as_deref().filter(|p| !p.is_empty())
}

fn ready(count: usize) -> Verdict {
    Verdict::ready(
        reasons::SUCCEEDED,
        format!("reconciliation finished, {count} artifact(s) generated"),
    )
}

/// What only a spec change fixes: duplicate aliases or names, references
/// to unknown aliases, fields not implemented.
fn validate(obj: &ArtifactGenerator) -> Step<()> {
    let stalled = |m: String| Err(Verdict::stalled(VALIDATION_FAILED, m));
    let mut aliases = BTreeSet::new();
    for s in &obj.spec.sources {
        if !aliases.insert(s.alias.as_str()) {
            return stalled(format!("duplicate source alias '{}'", s.alias));
        }
    }
    if let Some(p) = path_pattern(obj) {
        let alias = p
            .strip_prefix('@')
            .and_then(|r| r.split('/').next())
            .unwrap_or_default();
        if !aliases.contains(alias) {
            return stalled(format!(
                "spec.pathPattern '{p}': source alias '{alias}' not found"
            ));
        }
    }
    let mut names = BTreeSet::new();
    for (i, a) in obj.spec.artifacts.iter().enumerate() {
        if !names.insert(a.name.as_str()) {
            return stalled(format!("duplicate artifact name '{}'", a.name));
        }
        for (field, value) in [
            ("revision", a.revision.as_deref()),
            ("originRevision", a.origin_revision.as_deref()),
        ] {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                let alias = v.strip_prefix('@').unwrap_or(v);
                if !aliases.contains(alias) {
                    return stalled(format!(
                        "spec.artifacts[{i}].{field}: source alias '{alias}' not found"
                    ));
                }
            }
        }
        for (j, c) in a.copy.iter().enumerate() {
            let alias = c
                .from
                .strip_prefix('@')
                .and_then(|r| r.split('/').next())
                .unwrap_or_default();
            if !aliases.contains(alias) {
                return stalled(format!(
                    "spec.artifacts[{i}].copy[{j}].from '{}': source alias '{alias}' not found",
                    c.from
                ));
            }
        }
    }
    Ok(())
}

/// Digest of what the sources' artifacts are (alias, digest, revision,
/// URL) and of the spec's generation they were built for, so a reconcile
/// without changes rebuilds nothing, and one after a failed build of a new
/// spec (whose status records the new generation) still builds it.
fn sources_digest(sources: &[Resolved], generation: Option<i64>) -> String {
    let mut parts: Vec<String> = sources
        .iter()
        .map(|s| {
            format!(
                "{}=[digest={},revision={},url={}]",
                s.alias,
                s.artifact.digest.as_deref().unwrap_or_default(),
                s.artifact.revision,
                s.artifact.url
            )
        })
        .collect();
    parts.sort();
    parts.push(format!("generation={}", generation.unwrap_or_default()));
    format!("sha256:{}", hex::encode(Sha256::digest(parts.join("|"))))
}

/// Checks the sha256 digest of `path` against the artifact's; the file
/// must not be larger than `max` bytes.
fn verify_digest(source: &Resolved, max: u64) -> Result<(), String> {
    let want = source
        .artifact
        .digest
        .as_deref()
        .and_then(|d| d.strip_prefix("sha256:"))
        .ok_or_else(|| format!("source '{}' has no sha256 artifact digest", source.display))?;
    let file = std::fs::File::open(&source.archive)
        .map_err(|e| format!("opening the artifact of '{}': {e}", source.display))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    if len > max {
        return Err(format!(
            "the artifact of '{}' is larger than the limit of {max} bytes",
            source.display
        ));
    }
    let mut hasher = Sha256::new();
    let mut reader = file.take(max);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| format!("reading the artifact of '{}': {e}", source.display))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let got = hex::encode(hasher.finalize());
    if !got.eq_ignore_ascii_case(want) {
        return Err(format!(
            "the artifact of '{}' does not match its digest (sha256:{got}, expected sha256:{want})",
            source.display
        ));
    }
    Ok(())
}

/// The blocking part: verify and unpack the sources used, build and store
/// each output.
fn build_all(
    ns: &str,
    outputs: &[OutputArtifact],
    path_pattern: Option<&str>,
    sources: &[Resolved],
    storage: &Storage,
    limits: Limits,
    scratch: Option<&Path>,
) -> Step<Vec<Built>> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("generate-");
    let work = match scratch {
        Some(dir) => builder.tempdir_in(dir),
        None => builder.tempdir(),
    }
    .map_err(|e| {
        Verdict::failed(
            reasons::STORAGE_OPERATION_FAILED,
            format!("creating a work directory: {e}"),
        )
    })?;
    let used: BTreeSet<&str> = outputs
        .iter()
        .flat_map(|o| o.copy.iter())
        .map(|c| c.from.as_str())
        .chain(path_pattern)
        .filter_map(|from| from.strip_prefix('@').and_then(|r| r.split('/').next()))
        .collect();
    let mut unpacked = BTreeMap::new();
    for s in sources.iter().filter(|s| used.contains(s.alias.as_str())) {
        verify_digest(s, limits.max_bytes).map_err(|m| Verdict::failed(SOURCE_FETCH_FAILED, m))?;
        let dir = work.path().join("sources").join(&s.alias);
        let file = std::fs::File::open(&s.archive).map_err(|e| {
            Verdict::failed(
                SOURCE_FETCH_FAILED,
                format!("opening the artifact of '{}': {e}", s.display),
            )
        })?;
        let extract_limits = ferroflux_runtime::artifact::Limits {
            max_unpacked_bytes: limits.max_bytes,
            max_entries: limits.max_files,
        };
        ferroflux_runtime::artifact::extract(file, &dir, &extract_limits).map_err(|e| {
            Verdict::failed(
                SOURCE_FETCH_FAILED,
                format!("unpacking the artifact of '{}': {e}", s.display),
            )
        })?;
        unpacked.insert(s.alias.clone(), dir);
    }
    let by_alias: HashMap<&str, &Resolved> =
        sources.iter().map(|s| (s.alias.as_str(), s)).collect();
    let expanded: Vec<(OutputArtifact, BTreeMap<String, String>)> = match path_pattern {
        Some(p) => pattern::expand(p, outputs, &unpacked)
            .map_err(|m| Verdict::stalled(reasons::BUILD_FAILED, m).retry(Retry::Backoff))?
            .into_iter()
            .map(|e| (e.artifact, e.labels))
            .collect(),
        None => outputs
            .iter()
            .map(|o| (o.clone(), BTreeMap::new()))
            .collect(),
    };
    let mut built = Vec::new();
    for (i, (out, labels)) in expanded.iter().enumerate() {
        let staging = work.path().join("artifacts").join(i.to_string());
        let scratch = work.path().join("scratch").join(i.to_string());
        std::fs::create_dir_all(&scratch).map_err(|e| {
            Verdict::failed(
                reasons::STORAGE_OPERATION_FAILED,
                format!("creating a work directory: {e}"),
            )
        })?;
        Builder::new(&unpacked, &staging, &scratch, limits)
            .apply_all(&out.copy)
            .map_err(|e| build_failure(&out.name, e))?;
        let mut artifact = storage
            .archive(
                STORAGE_KIND,
                ns,
                &out.name,
                "",
                &staging,
                &IgnoreRules::empty(),
            )
            .map_err(|e| {
                let reason = if e.is_too_large() {
                    reasons::BUILD_FAILED
                } else {
                    reasons::STORAGE_OPERATION_FAILED
                };
                Verdict::failed(reason, format!("artifact '{}': {e}", out.name))
            })?;
        let alias_of = |v: &Option<String>| {
            v.as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| v.trim_start_matches('@').to_string())
        };
        artifact.revision =
            match alias_of(&out.revision).and_then(|a| by_alias.get(a.as_str()).copied()) {
                Some(s) => s.artifact.revision.clone(),
                None => format!("latest@{}", artifact.digest.as_deref().unwrap_or_default()),
            };
        if let Some(s) =
            alias_of(&out.origin_revision).and_then(|a| by_alias.get(a.as_str()).copied())
        {
            let origin = s
                .artifact
                .origin_revision()
                .unwrap_or(&s.artifact.revision)
                .to_string();
            artifact
                .metadata
                .insert(ORIGIN_REVISION_KEY.to_string(), origin);
        }
        built.push(Built {
            name: out.name.clone(),
            artifact,
            labels: labels.clone(),
        });
    }
    Ok(built)
}

fn build_failure(name: &str, e: BuildError) -> Verdict {
    let message = format!("artifact '{name}': {e}");
    match e {
        // The copy operations do not fit the sources: a spec (or source)
        // change fixes it; a source change wakes the generator.
        BuildError::Invalid { .. } => {
            Verdict::stalled(reasons::BUILD_FAILED, message).retry(Retry::Backoff)
        }
        BuildError::TooLarge { .. } => Verdict::failed(reasons::BUILD_FAILED, message),
        BuildError::Io { .. } => Verdict::failed(reasons::STORAGE_OPERATION_FAILED, message),
    }
}

impl Reconciler<ArtifactGenerator> for GeneratorReconciler {
    async fn reconcile(&self, obj: &mut ArtifactGenerator) -> Result<Outcome, ReconcileError> {
        let verdict = match self.steps(obj).await {
            Ok(v) | Err(v) => v,
        };
        verdict::conclude(obj, verdict, &self.recorder).await
    }

    async fn cleanup(&self, obj: &ArtifactGenerator) -> Result<(), ReconcileError> {
        let ns = obj.namespace().unwrap_or_default();
        let mut names: BTreeSet<String> = obj
            .status
            .as_ref()
            .map(|s| s.inventory.iter().map(|r| r.name.clone()).collect())
            .unwrap_or_default();
        if let Ok(existing) = self.generated(obj).await {
            names.extend(existing.into_keys());
        }
        for name in names {
            self.remove(&ns, &name)
                .await
                .map_err(|v| ReconcileError::new(v.message().to_string()))?;
        }
        Ok(())
    }
}

/// The artifact revision (and digest) last seen per source.
type Seen = Arc<Mutex<HashMap<String, String>>>;

/// A mapper from a source of `kind` to the generators reading it, when its
/// artifact changed.
fn dependents<S>(
    kind: GeneratorSourceKind,
    store: Store<ArtifactGenerator>,
    seen: Seen,
) -> impl Fn(S) -> Vec<ObjectRef<ArtifactGenerator>> + Send + Sync + 'static
where
    S: Resource + ResourceExt + Source + 'static,
{
    move |source: S| {
        let ns = source.namespace().unwrap_or_default();
        let name = source.name_any();
        let current = source
            .artifact()
            .map(|a| format!("{}|{}", a.revision, a.digest.as_deref().unwrap_or_default()))
            .unwrap_or_default();
        let key = format!("{}/{ns}/{name}", kind.as_str());
        let changed = {
            let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.insert(key, current.clone()).as_deref() != Some(current.as_str())
        };
        if !changed || current.is_empty() {
            return Vec::new();
        }
        store
            .state()
            .iter()
            .filter(|g| {
                let own = g.namespace().unwrap_or_default();
                g.spec.sources.iter().any(|s| {
                    s.kind == kind
                        && s.name == name
                        && s.namespace
                            .as_deref()
                            .filter(|n| !n.is_empty())
                            .unwrap_or(&own)
                            == ns
                })
            })
            .map(|g| ObjectRef::from_obj(g.as_ref()))
            .collect()
    }
}

/// The generator owning `ea`, if one does.
fn owner(ea: &ExternalArtifact) -> Option<ObjectRef<ArtifactGenerator>> {
    let ns = ea.namespace()?;
    ea.owner_references()
        .iter()
        .find(|o| {
            o.kind == "ArtifactGenerator"
                && o.api_version.starts_with("source.extensions.fluxcd.io/")
        })
        .map(|o| ObjectRef::new(&o.name).within(&ns))
}

fn api<K>(client: &kube::Client, namespace: &Option<String>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs the ArtifactGenerator loop until shutdown; every source kind's
/// artifact changes wake the generators that read it.
pub async fn run(client: kube::Client, reconciler: GeneratorReconciler, loop_config: LoopConfig) {
    tracing::info!("starting ArtifactGenerator reconciler");
    let namespace = loop_config.namespace.clone();
    let watch_client = client.clone();
    controller::run_with::<ArtifactGenerator, _, _>(client, reconciler, loop_config, move |c| {
        let store = c.store();
        let seen: Seen = Arc::default();
        let cfg = watcher::Config::default;
        c.watches(
            api::<GitRepository>(&watch_client, &namespace),
            cfg(),
            dependents::<GitRepository>(
                GeneratorSourceKind::GitRepository,
                store.clone(),
                seen.clone(),
            ),
        )
        .watches(
            api::<OCIRepository>(&watch_client, &namespace),
            cfg(),
            dependents::<OCIRepository>(
                GeneratorSourceKind::OciRepository,
                store.clone(),
                seen.clone(),
            ),
        )
        .watches(
            api::<Bucket>(&watch_client, &namespace),
            cfg(),
            dependents::<Bucket>(GeneratorSourceKind::Bucket, store.clone(), seen.clone()),
        )
        .watches(
            api::<HelmChart>(&watch_client, &namespace),
            cfg(),
            dependents::<HelmChart>(GeneratorSourceKind::HelmChart, store.clone(), seen.clone()),
        )
        .watches(api::<ExternalArtifact>(&watch_client, &namespace), cfg(), {
            let as_source =
                dependents::<ExternalArtifact>(GeneratorSourceKind::ExternalArtifact, store, seen);
            // A generated ExternalArtifact changed or deleted by hand
            // wakes its generator, which puts it back.
            move |ea: ExternalArtifact| {
                let mut refs = owner(&ea).into_iter().collect::<Vec<_>>();
                refs.extend(as_source(ea));
                refs
            }
        })
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator(spec: serde_json::Value) -> ArtifactGenerator {
        serde_json::from_value(json!({
            "apiVersion": GENERATOR_API_VERSION, "kind": "ArtifactGenerator",
            "metadata": {"name": "g", "namespace": "ns", "uid": "u1"},
            "spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn invalid_specs_stall_naming_the_field() {
        let base = json!({
            "sources": [{"alias": "a", "kind": "GitRepository", "name": "r"}],
            "artifacts": [{"name": "x", "copy": [{"from": "@a/**", "to": "@artifact/"}]}]
        });
        assert!(validate(&generator(base.clone())).is_ok());
        let mut dup = base.clone();
        dup["sources"]
            .as_array_mut()
            .unwrap()
            .push(json!({"alias": "a", "kind": "Bucket", "name": "b"}));
        let mut unknown = base.clone();
        unknown["artifacts"][0]["copy"][0]["from"] = json!("@b/x");
        let mut rev = base.clone();
        rev["artifacts"][0]["revision"] = json!("@c");
        let mut pattern = base.clone();
        pattern["pathPattern"] = json!("@z/apps/{app}");
        for (spec, want) in [
            (dup, "duplicate source alias 'a'"),
            (unknown, "copy[0].from '@b/x': source alias 'b' not found"),
            (
                rev,
                "spec.artifacts[0].revision: source alias 'c' not found",
            ),
            (
                pattern,
                "spec.pathPattern '@z/apps/{app}': source alias 'z' not found",
            ),
        ] {
            let err = validate(&generator(spec)).unwrap_err();
            assert!(err.message().contains(want), "{}", err.message());
            assert_eq!(err.reason(), VALIDATION_FAILED);
        }
    }

    #[test]
    fn the_sources_digest_ignores_order_and_sees_every_field() {
        let art = |rev: &str| Artifact {
            digest: Some("sha256:00".into()),
            path: "p".into(),
            url: "u".into(),
            revision: rev.into(),
            last_update_time: ferroflux_api::conditions::now(),
            size: None,
            metadata: Default::default(),
        };
        let src = |alias: &str, rev: &str| Resolved {
            alias: alias.into(),
            display: alias.into(),
            artifact: art(rev),
            archive: PathBuf::new(),
        };
        let a = sources_digest(&[src("a", "r1"), src("b", "r2")], Some(1));
        assert_eq!(
            a,
            sources_digest(&[src("b", "r2"), src("a", "r1")], Some(1))
        );
        assert_ne!(
            a,
            sources_digest(&[src("a", "r1"), src("b", "r3")], Some(1))
        );
        assert_ne!(
            a,
            sources_digest(&[src("a", "r1"), src("b", "r2")], Some(2))
        );
        assert!(a.starts_with("sha256:"));
    }
}
