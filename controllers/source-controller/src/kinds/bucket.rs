//! Bucket: list an S3-compatible bucket, turn the listing into Flux's
//! revision (the sha256 of the sorted `key etag` lines of the objects that
//! pass the ignore rules), and when it changed download the objects that
//! changed and hand the tree to the shared artifact reconcile.
//!
//! As Flux: the ignore rules are the bucket's root `.sourceignore` object
//! and `spec.ignore` (no default exclusions: Flux's bucket index has none),
//! keys ending in `/` and the `.sourceignore` itself are left out, and an
//! object whose ETag changed while it was downloaded is indexed with the
//! ETag it was downloaded with.
//!
//! Each Bucket keeps a mirror of its objects and their ETags on disk
//! (`<cache>/<namespace>/<name>`), so a changed bucket costs only the
//! changed objects; an unchanged one costs a listing and a `HEAD` of the
//! `.sourceignore`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use ferroflux_api::conditions::reasons;
use ferroflux_api::meta::Artifact;
use ferroflux_api::source::v1::{Bucket, BucketProvider};
use ferroflux_runtime::events::Recorder;
use ferroflux_runtime::secrets::{self, ProxySettings, TlsMaterial};
use kube::ResourceExt;
use sha2::{Digest, Sha256};

use crate::git::CheckoutLimits;
use crate::ignore::{IGNORE_FILE, IgnoreRules};
use crate::reconcile::{
    ArtifactReconciler, ArtifactSource, Fetched, SIZE_LIMIT_EXCEEDED, SourceStep, StepFailure,
    failed, stalled,
};
use crate::s3::{self, S3Error};
use crate::storage::Storage;

/// Reason of a failed listing or download (Flux's).
pub const BUCKET_OPERATION_FAILED: &str = "BucketOperationFailed";
/// Reason of a provider or authentication method this controller does not
/// implement.
pub const UNSUPPORTED_PROVIDER: &str = "UnsupportedProvider";
/// Most objects a Bucket may list (Flux has no limit; a listing is held in
/// memory).
pub const DEFAULT_MAX_OBJECTS: usize = 100_000;
/// Largest `.sourceignore` object read.
const MAX_IGNORE_FILE: usize = 1 << 20;
/// Downloads in flight per Bucket (as Flux's `maxConcurrentBucketFetches`).
const CONCURRENT_DOWNLOADS: usize = 8;

/// The Bucket reconciler: the shared artifact reconcile over S3.
pub type BucketReconciler = ArtifactReconciler<Buckets>;

/// Limits on what a Bucket may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketLimits {
    /// Objects listed.
    pub max_objects: usize,
    /// Bytes of one object.
    pub max_object_size: u64,
    /// Bytes of all objects.
    pub max_total_size: u64,
}

impl From<CheckoutLimits> for BucketLimits {
    fn from(l: CheckoutLimits) -> Self {
        Self {
            max_objects: DEFAULT_MAX_OBJECTS,
            max_object_size: l.file_max_size,
            max_total_size: l.max_size,
        }
    }
}

/// (namespace, name) of a Bucket → (ETag, text) of its `.sourceignore`.
type IgnoreFiles = HashMap<(String, String), (String, String)>;

/// Bucket as an [`ArtifactSource`].
pub struct Buckets {
    client: kube::Client,
    cache_dir: PathBuf,
    limits: BucketLimits,
    /// Each Bucket's `.sourceignore` as last downloaded, by ETag.
    ignore_files: Mutex<IgnoreFiles>,
}

impl Buckets {
    /// Buckets read with `client`, their object mirrors under `cache_dir`.
    pub fn new(client: kube::Client, cache_dir: PathBuf, limits: BucketLimits) -> Self {
        Self {
            client,
            cache_dir,
            limits,
            ignore_files: Default::default(),
        }
    }

    fn mirror_dir(&self, ns: &str, name: &str) -> PathBuf {
        self.cache_dir.join(ns).join(name)
    }
}

/// A Bucket reconciler: artifacts in `storage`, object mirrors under
/// `cache_dir`, objects held to `limits`.
pub fn reconciler(
    client: kube::Client,
    storage: Storage,
    recorder: Recorder,
    cache_dir: PathBuf,
    limits: BucketLimits,
) -> BucketReconciler {
    ArtifactReconciler::new(Buckets::new(client, cache_dir, limits), storage, recorder)
        .with_max_size(limits.max_total_size)
}

/// What a reconcile reads besides the Bucket.
pub struct Inputs {
    s3: s3::Client,
    timeout: Duration,
}

/// The listing, filtered: the index the revision is made of.
pub struct Listing {
    revision: String,
    /// Key → (ETag, size).
    index: BTreeMap<String, (String, u64)>,
}

/// Flux's revision of an index: `sha256:` and the hex digest of the
/// sorted `key etag\n` lines.
pub fn index_revision<'a>(index: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut sorted: Vec<(&str, &str)> = index.into_iter().collect();
    sorted.sort();
    let mut hasher = Sha256::new();
    for (key, etag) in sorted {
        hasher.update(key.as_bytes());
        hasher.update(b" ");
        hasher.update(etag.as_bytes());
        hasher.update(b"\n");
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// Refuses a key that cannot be a relative path inside the artifact.
pub fn check_key(key: &str) -> Result<(), String> {
    let shown = key.escape_debug();
    if key.len() > 1024 {
        return Err(format!("object key '{shown}' is longer than 1024 bytes"));
    }
    if key.starts_with('/') {
        return Err(format!("object key '{shown}' is an absolute path"));
    }
    if key.contains('\0') {
        return Err(format!("object key '{shown}' holds a NUL byte"));
    }
    for part in key.split('/') {
        match part {
            ".." => {
                return Err(format!(
                    "object key '{shown}' climbs out of the bucket with '..'"
                ));
            }
            "." | "" => {
                return Err(format!(
                    "object key '{shown}' has an empty or '.' path segment"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn s3_failure(e: S3Error) -> StepFailure {
    match &e {
        S3Error::InvalidEndpoint { .. } => stalled(reasons::INVALID_URL, e.to_string()),
        S3Error::InsecureDisallowed(_) => {
            stalled(reasons::INSECURE_CONNECTIONS_DISALLOWED, e.to_string())
        }
        S3Error::Client(_) => failed(reasons::AUTHENTICATION_FAILED, e.to_string()),
        S3Error::Denied { .. } => failed(reasons::AUTHENTICATION_FAILED, e.to_string()),
        S3Error::TooLarge(_) => failed(SIZE_LIMIT_EXCEEDED, e.to_string()),
        _ => failed(BUCKET_OPERATION_FAILED, e.to_string()),
    }
}

fn timed_out(what: &str, timeout: Duration) -> StepFailure {
    failed(
        BUCKET_OPERATION_FAILED,
        format!(
            "{what} timed out after {}s (spec.timeout)",
            timeout.as_secs_f64()
        ),
    )
}

/// The rules of a bucket: its root `.sourceignore`, then `spec.ignore`.
fn rules(ignore_file: &str, spec_ignore: Option<&str>) -> IgnoreRules {
    let mut rules = IgnoreRules::empty();
    rules.add_patterns(ignore_file, Path::new(""));
    if let Some(spec) = spec_ignore {
        rules.add_patterns(spec, Path::new(""));
    }
    rules
}

impl Buckets {
    /// The text of the bucket's `.sourceignore` ("" when there is none),
    /// downloaded only when its ETag changed.
    async fn ignore_file(&self, obj: &Bucket, s3: &s3::Client) -> Result<String, S3Error> {
        let id = (obj.namespace().unwrap_or_default(), obj.name_any());
        let Some(etag) = s3.head(IGNORE_FILE).await? else {
            self.lock_ignores().remove(&id);
            return Ok(String::new());
        };
        if let Some((known, text)) = self.lock_ignores().get(&id)
            && *known == etag
        {
            return Ok(text.clone());
        }
        let Some((body, etag)) = s3.get_small(IGNORE_FILE, MAX_IGNORE_FILE).await? else {
            return Ok(String::new());
        };
        let text = String::from_utf8_lossy(&body).into_owned();
        self.lock_ignores().insert(id, (etag, text.clone()));
        Ok(text)
    }

    fn lock_ignores(&self) -> std::sync::MutexGuard<'_, IgnoreFiles> {
        self.ignore_files.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn list(&self, obj: &Bucket, s3: &s3::Client) -> SourceStep<Listing> {
        // The listing first: its error answers have bodies (a HEAD's do
        // not), so a refusal names S3's reason.
        let objects = s3
            .list(obj.spec.prefix.as_deref(), self.limits.max_objects)
            .await
            .map_err(s3_failure)?;
        let ignore_text = self.ignore_file(obj, s3).await.map_err(s3_failure)?;
        let rules = rules(&ignore_text, obj.spec.ignore.as_deref());
        let mut index = BTreeMap::new();
        let mut total: u64 = 0;
        for o in objects {
            if o.key.ends_with('/') || o.key == IGNORE_FILE {
                continue;
            }
            check_key(&o.key).map_err(|m| failed(BUCKET_OPERATION_FAILED, m))?;
            if rules.is_ignored(Path::new(&o.key), false) {
                continue;
            }
            if o.size > self.limits.max_object_size {
                return Err(failed(
                    SIZE_LIMIT_EXCEEDED,
                    format!(
                        "object '{}' is {} bytes, over the limit of {} bytes per object",
                        o.key.escape_debug(),
                        o.size,
                        self.limits.max_object_size
                    ),
                ));
            }
            total = total.saturating_add(o.size);
            if total > self.limits.max_total_size {
                return Err(failed(
                    SIZE_LIMIT_EXCEEDED,
                    format!(
                        "the objects of bucket '{}' come to more than the limit of {} bytes",
                        obj.spec.bucket_name, self.limits.max_total_size
                    ),
                ));
            }
            index.insert(o.key, (o.etag, o.size));
        }
        let revision = index_revision(index.iter().map(|(k, (e, _))| (k.as_str(), e.as_str())));
        Ok(Listing { revision, index })
    }

    /// Brings the mirror to `listing`: unchanged objects are linked from
    /// the current mirror, the rest downloaded; returns the mirror and the
    /// revision of what was downloaded.
    async fn sync_mirror(
        &self,
        obj: &Bucket,
        s3: &s3::Client,
        mut listing: Listing,
    ) -> SourceStep<(PathBuf, String)> {
        let (ns, name) = (obj.namespace().unwrap_or_default(), obj.name_any());
        let base = self.mirror_dir(&ns, &name);
        let current = base.join("current");
        let current_index = base.join("current.json");
        let staging = base.join("staging");
        let storage_err = |what: &str, e: std::io::Error| {
            failed(
                reasons::STORAGE_OPERATION_FAILED,
                format!("{what} the object cache: {e}"),
            )
        };
        let known: BTreeMap<String, String> = std::fs::read(&current_index)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| storage_err("clearing", e))?;
        }
        std::fs::create_dir_all(&staging).map_err(|e| storage_err("creating", e))?;

        let mut downloads = Vec::new();
        for (key, (etag, size)) in &listing.index {
            let dest = staging.join(key);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    failed(
                        BUCKET_OPERATION_FAILED,
                        format!(
                            "object key '{}' cannot be laid out as a file: {e}",
                            key.escape_debug()
                        ),
                    )
                })?;
            }
            let cached = current.join(key);
            let reusable = known.get(key) == Some(etag)
                && std::fs::symlink_metadata(&cached).is_ok_and(|m| m.is_file());
            if reusable
                && (std::fs::hard_link(&cached, &dest).is_ok()
                    || std::fs::copy(&cached, &dest).is_ok())
            {
                continue;
            }
            downloads.push((key.clone(), etag.clone(), *size, dest));
        }

        let max = self.limits.max_object_size;
        let mut changed_etags = Vec::new();
        let mut vanished = Vec::new();
        let mut queue = downloads.into_iter();
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.len() < CONCURRENT_DOWNLOADS {
                let Some((key, etag, _, dest)) = queue.next() else {
                    break;
                };
                let s3 = s3.clone();
                running.spawn(async move {
                    tracing::debug!(key = %key.escape_debug(), "downloading bucket object");
                    let result = s3.download(&key, &dest, max).await;
                    (key, etag, result)
                });
            }
            let Some(done) = running.join_next().await else {
                break;
            };
            let (key, listed_etag, result) = done.map_err(|e| {
                failed(
                    BUCKET_OPERATION_FAILED,
                    format!("download task failed: {e}"),
                )
            })?;
            match result {
                Ok((_, etag)) if !etag.is_empty() && etag != listed_etag => {
                    changed_etags.push((key, etag))
                }
                Ok(_) => {}
                Err(S3Error::NoSuchKey(_)) => {
                    tracing::info!(key = %key.escape_debug(), bucket = %obj.spec.bucket_name, "indexed object disappeared");
                    vanished.push(key);
                }
                Err(e) => return Err(s3_failure(e)),
            }
        }
        for (key, etag) in changed_etags {
            if let Some(entry) = listing.index.get_mut(&key) {
                entry.0 = etag;
            }
        }
        for key in vanished {
            listing.index.remove(&key);
        }
        // The total counts what arrived, not what was listed.
        let index: BTreeMap<String, String> = listing
            .index
            .iter()
            .map(|(k, (e, _))| (k.clone(), e.clone()))
            .collect();
        let revision = index_revision(index.iter().map(|(k, e)| (k.as_str(), e.as_str())));

        // Swap the staging tree in as the mirror: the index is removed
        // first so a crash in between leaves a mirror with no index (all
        // downloaded again), never an index that lies.
        let _ = std::fs::remove_file(&current_index);
        if current.exists() {
            std::fs::remove_dir_all(&current).map_err(|e| storage_err("clearing", e))?;
        }
        std::fs::rename(&staging, &current).map_err(|e| storage_err("updating", e))?;
        let json = serde_json::to_vec(&index).unwrap_or_default();
        std::fs::write(&current_index, json).map_err(|e| storage_err("writing", e))?;
        Ok((current, revision))
    }
}

/// Reads the static keys of `secretRef` (Flux's `accesskey`, `secretkey`).
fn credentials(name: &str, data: &secrets::SecretData) -> Result<s3::Credentials, String> {
    let missing =
        || format!("invalid '{name}' secret data: required fields 'accesskey' and 'secretkey'");
    let access_key = secrets::text(data, "accesskey")
        .map_err(|e| e.to_string())?
        .ok_or_else(missing)?;
    let secret_key = secrets::text(data, "secretkey")
        .map_err(|e| e.to_string())?
        .ok_or_else(missing)?;
    Ok(s3::Credentials {
        access_key,
        secret_key,
    })
}

impl ArtifactSource for Buckets {
    type Object = Bucket;
    type Inputs = Inputs;
    type Remote = Listing;
    type Record = ();

    const KIND: &'static str = "Bucket";

    async fn inputs(&self, obj: &Bucket) -> SourceStep<Inputs> {
        let spec = &obj.spec;
        let ns = obj.namespace().unwrap_or_default();
        match spec.provider {
            BucketProvider::Gcp | BucketProvider::Azure => {
                let which = if spec.provider == BucketProvider::Gcp {
                    "gcp"
                } else {
                    "azure"
                };
                return Err(stalled(
                    UNSUPPORTED_PROVIDER,
                    format!(
                        "provider '{which}' is not supported here: use 'generic' or 'aws' with static keys (secretRef)"
                    ),
                ));
            }
            BucketProvider::Aws if spec.secret_ref.is_none() => {
                return Err(stalled(
                    UNSUPPORTED_PROVIDER,
                    "provider 'aws' without secretRef means the pod's identity (IRSA or instance metadata), which is not supported here: set secretRef with 'accesskey' and 'secretkey'",
                ));
            }
            _ => {}
        }
        if spec.sts.is_some() {
            return Err(stalled(
                UNSUPPORTED_PROVIDER,
                "spec.sts (temporary credentials from a token service) is not supported here",
            ));
        }
        if spec.service_account_name.is_some() {
            return Err(stalled(
                UNSUPPORTED_PROVIDER,
                "spec.serviceAccountName (workload identity) is not supported here",
            ));
        }
        let read = |name: String| {
            let (client, ns) = (self.client.clone(), ns.clone());
            async move {
                secrets::read(&client, &ns, &name)
                    .await
                    .map_err(|e| failed(reasons::AUTHENTICATION_FAILED, e.to_string()))
            }
        };
        let credentials = match &spec.secret_ref {
            Some(r) => {
                let data = read(r.name.clone()).await?;
                Some(
                    credentials(&r.name, &data)
                        .map_err(|m| failed(reasons::AUTHENTICATION_FAILED, m))?,
                )
            }
            None => None,
        };
        let tls = match &spec.cert_secret_ref {
            Some(r) => {
                let data = read(r.name.clone()).await?;
                let tls = TlsMaterial::from_secret(&data)
                    .map_err(|e| failed(reasons::AUTHENTICATION_FAILED, format!("certSecretRef '{}': {e}", r.name)))?
                    .ok_or_else(|| {
                        failed(
                            reasons::AUTHENTICATION_FAILED,
                            format!("certSecretRef '{}': the secret holds no TLS configuration ('ca.crt', 'tls.crt', 'tls.key')", r.name),
                        )
                    })?;
                Some(tls)
            }
            None => None,
        };
        let proxy = match &spec.proxy_secret_ref {
            Some(r) => {
                let data = read(r.name.clone()).await?;
                let p = ProxySettings::from_secret(&data).map_err(|e| {
                    failed(
                        reasons::AUTHENTICATION_FAILED,
                        format!("proxySecretRef '{}': {e}", r.name),
                    )
                })?;
                Some(p.url)
            }
            None => None,
        };
        let timeout = spec
            .timeout
            .as_ref()
            .map(|t| t.as_std())
            .unwrap_or(Duration::from_secs(60));
        let s3 = s3::Client::new(s3::ClientOptions {
            endpoint: spec.endpoint.clone(),
            bucket: spec.bucket_name.clone(),
            insecure: spec.insecure,
            region: spec.region.clone(),
            credentials,
            tls,
            proxy,
            timeout,
        })
        .map_err(s3_failure)?;
        Ok(Inputs { s3, timeout })
    }

    async fn remote(&self, obj: &Bucket, inputs: &Inputs) -> SourceStep<Listing> {
        tokio::time::timeout(inputs.timeout, self.list(obj, &inputs.s3))
            .await
            .map_err(|_| {
                timed_out(
                    &format!("listing bucket '{}'", obj.spec.bucket_name),
                    inputs.timeout,
                )
            })?
    }

    fn revision(remote: &Listing) -> &str {
        &remote.revision
    }

    fn spec_unchanged(obj: &Bucket) -> bool {
        obj.status
            .as_ref()
            .is_some_and(|s| s.observed_ignore == obj.spec.ignore)
    }

    async fn fetch(
        &self,
        obj: &Bucket,
        inputs: Inputs,
        listing: Listing,
        _work: &Path,
    ) -> SourceStep<Fetched<()>> {
        let (dir, revision) =
            tokio::time::timeout(inputs.timeout, self.sync_mirror(obj, &inputs.s3, listing))
                .await
                .map_err(|_| {
                    timed_out(
                        &format!("downloading from bucket '{}'", obj.spec.bucket_name),
                        inputs.timeout,
                    )
                })??;
        Ok(Fetched {
            revision,
            dir,
            // The mirror holds exactly the indexed objects.
            ignore: IgnoreRules::empty(),
            record: (),
        })
    }

    fn record(obj: &mut Bucket, _record: ()) {
        let ignore = obj.spec.ignore.clone();
        obj.status
            .get_or_insert_with(Default::default)
            .observed_ignore = ignore;
    }

    fn artifact(obj: &Bucket) -> Option<&Artifact> {
        obj.status.as_ref().and_then(|s| s.artifact.as_ref())
    }

    fn set_artifact(obj: &mut Bucket, artifact: Artifact) {
        obj.status.get_or_insert_with(Default::default).artifact = Some(artifact);
    }

    fn forget(&self, obj: &Bucket) {
        let (ns, name) = (obj.namespace().unwrap_or_default(), obj.name_any());
        self.lock_ignores().remove(&(ns.clone(), name.clone()));
        let dir = self.mirror_dir(&ns, &name);
        if let Err(e) = std::fs::remove_dir_all(&dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %dir.display(), error = %e, "removing a Bucket's object cache");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revision_is_flux_index_digest() {
        // Flux: sha256 of "key etag\n" lines in key order.
        let lines =
            "a.yaml 0cc175b9c0f1b6a831c399e269772661\nb/c.yaml 92eb5ffee6ae2fec3ad71c777531578f\n";
        let expected = format!("sha256:{}", hex::encode(Sha256::digest(lines.as_bytes())));
        let got = index_revision([
            ("b/c.yaml", "92eb5ffee6ae2fec3ad71c777531578f"),
            ("a.yaml", "0cc175b9c0f1b6a831c399e269772661"),
        ]);
        assert_eq!(got, expected);
        // An empty bucket is the digest of nothing, as in Flux's docs.
        assert_eq!(
            index_revision([]),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hostile_keys_are_refused() {
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a//b",
            "./a",
            "a/./b",
            "a\0b",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        for good in ["a", "a/b.yaml", "..a", "a..b/c", "a b/ü.yaml"] {
            assert!(check_key(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn spec_ignore_wins_over_the_sourceignore() {
        let r = rules("*.md\n", Some("!README.md\n"));
        assert!(r.is_ignored(Path::new("docs/x.md"), false));
        assert!(!r.is_ignored(Path::new("README.md"), false));
        assert!(
            !r.is_ignored(Path::new("x.png"), false),
            "no default exclusions"
        );
    }
}
