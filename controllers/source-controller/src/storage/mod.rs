//! Artifact storage: the directory behind `--storage-path`.
//!
//! Layout (as Flux): `<root>/<kind-lowercase>/<namespace>/<name>/<digest-hex>.tar.gz`,
//! e.g. `gitrepository/flux-system/podinfo/<hex>.tar.gz`. The path relative
//! to the root is the artifact's `path`; its URL is
//! `http://<storage-adv-addr>/<path>`.
//!
//! Writers and readers: an archive is written to a hidden temporary file in
//! the object's directory and renamed into place, so the HTTP server (the
//! only reader) sees either nothing or a complete file, and a name always
//! holds the bytes its digest says. No file lock is taken: the controller
//! reconciles an object in at most one worker at a time and only the leader
//! replica writes, so each object directory has a single writer. Deleting a
//! file that is being served is harmless on Unix: the open handle keeps it.

pub mod archive;
pub mod server;

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use ferroflux_api::meta::Artifact;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::ignore::IgnoreRules;
use archive::{ArchiveError, ArchiveInfo};

/// How many artifacts of one object are kept by default (Flux's
/// `--artifact-retention-records` default), the current one included.
pub const DEFAULT_RETENTION: usize = 2;

/// Prefix of temporary files; the server never serves dot-files.
const TEMP_PREFIX: &str = ".tmp-";

/// Temporary files older than this are leftovers of a crashed write.
const STALE_TEMP_AGE: Duration = Duration::from_secs(600);

/// Failure of a storage operation.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A kind, namespace or name that cannot be a single path segment.
    #[error("invalid {what} {value:?} for an artifact path")]
    InvalidSegment {
        /// Which part was invalid.
        what: &'static str,
        /// The value.
        value: String,
    },
    /// An artifact path that does not stay inside the storage root.
    #[error("invalid artifact path {0:?}")]
    InvalidArtifactPath(String),
    /// A file-system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Building the archive failed.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

impl StorageError {
    /// Whether the tree was over the size limit ([`Storage::with_max_size`]).
    pub fn is_too_large(&self) -> bool {
        matches!(self, StorageError::Archive(ArchiveError::TooLarge { .. }))
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StorageError + 'a {
    move |source| StorageError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// The artifact storage directory and how its files are advertised.
#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
    adv_addr: String,
    retention: usize,
    max_size: u64,
}

impl Storage {
    /// Opens (creating if needed) the storage at `root`, whose files are
    /// served at `http://<adv_addr>/`.
    pub fn new(
        root: impl Into<PathBuf>,
        adv_addr: impl Into<String>,
    ) -> Result<Self, StorageError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(io_err("creating", &root))?;
        Ok(Self {
            root,
            adv_addr: adv_addr.into(),
            retention: DEFAULT_RETENTION,
            max_size: u64::MAX,
        })
    }

    /// Sets how many artifacts per object [`Storage::garbage_collect`]
    /// keeps (at least 1: the current one).
    pub fn with_retention(mut self, keep: usize) -> Self {
        self.retention = keep.max(1);
        self
    }

    /// Refuses to archive a tree whose files total more than `bytes` (checked
    /// from each file's size before it is read).
    pub fn with_max_size(mut self, bytes: u64) -> Self {
        self.max_size = bytes;
        self
    }

    /// The storage root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of one object, relative to the root:
    /// `<kind-lowercase>/<namespace>/<name>`.
    pub fn object_dir(kind: &str, namespace: &str, name: &str) -> Result<PathBuf, StorageError> {
        let kind = kind.to_ascii_lowercase();
        check_segment("kind", &kind)?;
        check_segment("namespace", namespace)?;
        check_segment("name", name)?;
        Ok([kind.as_str(), namespace, name].iter().collect())
    }

    /// The URL at which the file at `rel_path` is served.
    pub fn url_for(&self, rel_path: &str) -> String {
        format!(
            "http://{}/{}",
            self.adv_addr.trim_end_matches('/'),
            rel_path
        )
    }

    /// The absolute path of an artifact's file, after checking that its
    /// `path` stays inside the root.
    pub fn local_path(&self, artifact: &Artifact) -> Result<PathBuf, StorageError> {
        let rel = checked_rel_path(&artifact.path)?;
        Ok(self.root.join(rel))
    }

    /// Whether the artifact's file is present.
    pub fn exists(&self, artifact: &Artifact) -> bool {
        self.local_path(artifact)
            .and_then(|p| fs::symlink_metadata(&p).map_err(io_err("reading", &p)))
            .map(|m| m.is_file())
            .unwrap_or(false)
    }

    /// Archives the directory `src` (minus what `rules` ignore) as the new
    /// artifact of the object and returns its status record. The file is
    /// written atomically; older artifacts are left for
    /// [`Storage::garbage_collect`].
    pub fn archive(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        revision: &str,
        src: &Path,
        rules: &IgnoreRules,
    ) -> Result<Artifact, StorageError> {
        let rel_dir = Self::object_dir(kind, namespace, name)?;
        let dir = self.root.join(&rel_dir);
        fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
        let (tmp_path, file) = create_temp(&dir)?;
        let info = match write_and_sync(file, src, rules, self.max_size, &tmp_path) {
            Ok(info) => info,
            Err(e) => {
                let _ = fs::remove_file(&tmp_path);
                return Err(e);
            }
        };
        let file_name = format!("{}.tar.gz", info.digest_hex());
        let final_path = dir.join(&file_name);
        if let Err(e) = fs::rename(&tmp_path, &final_path) {
            let _ = fs::remove_file(&tmp_path);
            return Err(io_err("renaming to", &final_path)(e));
        }
        // Make the rename durable before the status points at the file.
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err("syncing", &dir))?;
        let rel_path = format!("{}/{}", rel_dir.to_string_lossy(), file_name);
        Ok(self.artifact(&rel_path, revision, &info))
    }

    /// Stores the file `src` as-is as the object's artifact `file_name`
    /// (a Helm index `index-<hex>.yaml`, a chart `podinfo-6.0.3.tgz`) and
    /// returns its status record. Written atomically like
    /// [`Storage::archive`]; a file over the size limit is refused.
    pub fn store_file(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        revision: &str,
        src: &Path,
        file_name: &str,
    ) -> Result<Artifact, StorageError> {
        check_segment("file name", file_name)?;
        let rel_dir = Self::object_dir(kind, namespace, name)?;
        let dir = self.root.join(&rel_dir);
        fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
        let size = fs::symlink_metadata(src)
            .map_err(io_err("reading", src))?
            .len();
        if size > self.max_size {
            return Err(StorageError::Archive(ArchiveError::TooLarge {
                path: PathBuf::from(file_name),
                limit: self.max_size,
            }));
        }
        let (tmp_path, file) = create_temp(&dir)?;
        let copied = copy_and_sync(src, file, &tmp_path);
        let info = match copied {
            Ok(info) => info,
            Err(e) => {
                let _ = fs::remove_file(&tmp_path);
                return Err(e);
            }
        };
        let final_path = dir.join(file_name);
        if let Err(e) = fs::rename(&tmp_path, &final_path) {
            let _ = fs::remove_file(&tmp_path);
            return Err(io_err("renaming to", &final_path)(e));
        }
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err("syncing", &dir))?;
        let rel_path = format!("{}/{}", rel_dir.to_string_lossy(), file_name);
        Ok(self.artifact(&rel_path, revision, &info))
    }

    /// The status record of a file already in storage at `rel_path`.
    pub fn artifact(&self, rel_path: &str, revision: &str, info: &ArchiveInfo) -> Artifact {
        Artifact {
            digest: Some(info.digest.clone()),
            path: rel_path.to_owned(),
            url: self.url_for(rel_path),
            revision: revision.to_owned(),
            last_update_time: now(),
            size: i64::try_from(info.size).ok(),
            metadata: Default::default(),
        }
    }

    /// Applies retention to one object's directory: keeps `current` and the
    /// newest others up to the retention count, deletes the rest (and
    /// leftover temporary files), and returns the deleted paths.
    pub fn garbage_collect(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        current: &Artifact,
    ) -> Result<Vec<PathBuf>, StorageError> {
        let dir = self.root.join(Self::object_dir(kind, namespace, name)?);
        let current_path = self.local_path(current)?;
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("listing", &dir)(e)),
        };
        let now = SystemTime::now();
        let mut artifacts: Vec<(SystemTime, PathBuf)> = Vec::new();
        let mut garbage = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err("listing", &dir))?;
            let path = entry.path();
            let meta = entry.metadata().map_err(io_err("reading", &path))?;
            if !meta.is_file() {
                continue;
            }
            let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let age = now.duration_since(mtime).unwrap_or_default();
                if age > STALE_TEMP_AGE {
                    garbage.push(path);
                }
            } else if path != current_path {
                artifacts.push((mtime, path));
            }
        }
        // Newest first; the name breaks ties so the choice is stable.
        artifacts.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
        garbage.extend(
            artifacts
                .into_iter()
                .skip(self.retention - 1)
                .map(|(_, p)| p),
        );
        let mut deleted = Vec::new();
        for path in garbage {
            match fs::remove_file(&path) {
                Ok(()) => deleted.push(path),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("removing", &path)(e)),
            }
        }
        Ok(deleted)
    }

    /// Removes every artifact of the object (for the finalizer). Returns
    /// whether there was anything to remove.
    pub fn remove_all(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<bool, StorageError> {
        let dir = self.root.join(Self::object_dir(kind, namespace, name)?);
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err("removing", &dir)(e)),
        }
    }
}

/// The current time at second precision, as Kubernetes serialises it.
fn now() -> Time {
    let secs = Timestamp::now().as_second();
    Time(Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// A kind, namespace or name must be one harmless path segment. Kubernetes
/// names are DNS subdomains, so this never rejects a real object.
fn check_segment(what: &'static str, value: &str) -> Result<(), StorageError> {
    let ok = !value.is_empty()
        && value.len() <= 253
        && !value.starts_with('.')
        && value
            .bytes()
            // `+`: chart versions with build metadata (`podinfo-6.0.3+1.tgz`).
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(StorageError::InvalidSegment {
            what,
            value: value.to_owned(),
        })
    }
}

/// Checks an artifact path from a status (which anyone able to write the
/// status could have set) before it is joined to the root.
fn checked_rel_path(path: &str) -> Result<PathBuf, StorageError> {
    let invalid = || StorageError::InvalidArtifactPath(path.to_owned());
    if path.is_empty() {
        return Err(invalid());
    }
    let mut rel = PathBuf::new();
    for segment in path.split('/') {
        check_segment("path segment", segment).map_err(|_| invalid())?;
        rel.push(segment);
    }
    Ok(rel)
}

fn create_temp(dir: &Path) -> Result<(PathBuf, File), StorageError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let path = dir.join(format!("{TEMP_PREFIX}{}-{nanos}-{n}", std::process::id()));
        match File::options().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err("creating", &path)(e)),
        }
    }
}

fn write_and_sync(
    file: File,
    src: &Path,
    rules: &IgnoreRules,
    max_size: u64,
    tmp_path: &Path,
) -> Result<ArchiveInfo, StorageError> {
    let mut out = BufWriter::new(file);
    let info = archive::archive_dir_limited(src, rules, max_size, &mut out)?;
    let file = out
        .into_inner()
        .map_err(|e| io_err("writing", tmp_path)(e.into_error()))?;
    file.sync_all().map_err(io_err("syncing", tmp_path))?;
    Ok(info)
}

/// Copies `src` into `file` (hashing it on the way) and syncs it.
fn copy_and_sync(src: &Path, file: File, tmp_path: &Path) -> Result<ArchiveInfo, StorageError> {
    use sha2::Digest as _;
    use std::io::{Read, Write};
    let mut input = File::open(src).map_err(io_err("opening", src))?;
    let mut out = BufWriter::new(file);
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = input.read(&mut buf).map_err(io_err("reading", src))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(io_err("writing", tmp_path))?;
        size += n as u64;
    }
    let file = out
        .into_inner()
        .map_err(|e| io_err("writing", tmp_path)(e.into_error()))?;
    file.sync_all().map_err(io_err("syncing", tmp_path))?;
    Ok(ArchiveInfo {
        digest: format!("sha256:{}", hex::encode(hasher.finalize())),
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source_tree(content: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("deploy")).unwrap();
        fs::write(dir.path().join("deploy/app.yaml"), content).unwrap();
        dir
    }

    fn set_mtime(path: &Path, secs: u64) {
        let f = File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
            .unwrap();
    }

    #[test]
    fn store_file_keeps_the_bytes_and_names_them() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::new(root.path(), "sc.local").unwrap();
        let src = tempfile::tempdir().unwrap();
        let file = src.path().join("index.yaml");
        fs::write(&file, "apiVersion: v1\n").unwrap();
        let art = storage
            .store_file(
                "HelmRepository",
                "ns",
                "repo",
                "sha256:1",
                &file,
                "index-1.yaml",
            )
            .unwrap();
        assert_eq!(art.path, "helmrepository/ns/repo/index-1.yaml");
        assert_eq!(
            art.url,
            "http://sc.local/helmrepository/ns/repo/index-1.yaml"
        );
        assert_eq!(art.size, Some(15));
        assert_eq!(
            fs::read(storage.local_path(&art).unwrap()).unwrap(),
            b"apiVersion: v1\n"
        );
        assert!(
            storage
                .store_file("HelmRepository", "ns", "repo", "r", &file, "../x")
                .is_err()
        );
        let small = storage.clone().with_max_size(3);
        assert!(
            small
                .store_file("HelmRepository", "ns", "repo", "r", &file, "i.yaml")
                .unwrap_err()
                .is_too_large()
        );
    }

    #[test]
    fn archive_writes_flux_layout_and_status() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::new(
            root.path(),
            "source-controller.flux-system.svc.cluster.local.",
        )
        .unwrap();
        let src = source_tree("a");
        let rules = IgnoreRules::defaults();
        let art = storage
            .archive(
                "GitRepository",
                "flux-system",
                "podinfo",
                "main@sha1:abc",
                src.path(),
                &rules,
            )
            .unwrap();
        let hex = art
            .digest
            .as_deref()
            .unwrap()
            .strip_prefix("sha256:")
            .unwrap();
        assert_eq!(
            art.path,
            format!("gitrepository/flux-system/podinfo/{hex}.tar.gz")
        );
        assert_eq!(
            art.url,
            format!(
                "http://source-controller.flux-system.svc.cluster.local./{}",
                art.path
            )
        );
        assert_eq!(art.revision, "main@sha1:abc");
        let on_disk = fs::read(storage.local_path(&art).unwrap()).unwrap();
        assert_eq!(art.size, Some(on_disk.len() as i64));
        assert!(storage.exists(&art));
        // Nothing but the artifact is left in the directory.
        let names: Vec<_> = fs::read_dir(root.path().join("gitrepository/flux-system/podinfo"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(format!("{hex}.tar.gz"))]);
        // Same tree again: same file, same digest.
        let again = storage
            .archive(
                "GitRepository",
                "flux-system",
                "podinfo",
                "main@sha1:abc",
                src.path(),
                &rules,
            )
            .unwrap();
        assert_eq!(again.path, art.path);
        // The JSON field names are Flux's.
        let json = serde_json::to_value(&art).unwrap();
        for key in [
            "path",
            "url",
            "revision",
            "digest",
            "size",
            "lastUpdateTime",
        ] {
            assert!(json.get(key).is_some(), "{key} in {json}");
        }
    }

    #[test]
    fn retention_keeps_current_and_newest() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::new(root.path(), "localhost:9090").unwrap();
        let rules = IgnoreRules::empty();
        let mut arts = Vec::new();
        for (i, content) in ["one", "two", "three", "four"].iter().enumerate() {
            let src = source_tree(content);
            let art = storage
                .archive("GitRepository", "ns", "obj", "rev", src.path(), &rules)
                .unwrap();
            set_mtime(&storage.local_path(&art).unwrap(), 1000 + i as u64);
            arts.push(art);
        }
        // A stale temp file from a crash goes too; a fresh one stays.
        let dir = root.path().join("gitrepository/ns/obj");
        fs::write(dir.join(".tmp-stale"), "x").unwrap();
        set_mtime(&dir.join(".tmp-stale"), 10);
        fs::write(dir.join(".tmp-fresh"), "x").unwrap();
        // The current one is the *oldest* file: it is kept regardless.
        let deleted = storage
            .garbage_collect("GitRepository", "ns", "obj", &arts[0])
            .unwrap();
        assert_eq!(deleted.len(), 3, "{deleted:?}");
        assert!(storage.exists(&arts[0]));
        assert!(storage.exists(&arts[3]), "newest other is kept");
        assert!(!storage.exists(&arts[1]) && !storage.exists(&arts[2]));
        assert!(dir.join(".tmp-fresh").exists() && !dir.join(".tmp-stale").exists());

        let keep_one = storage.clone().with_retention(1);
        keep_one
            .garbage_collect("GitRepository", "ns", "obj", &arts[3])
            .unwrap();
        assert!(storage.exists(&arts[3]) && !storage.exists(&arts[0]));
        // Nothing stored yet: nothing to do.
        assert!(
            storage
                .garbage_collect("GitRepository", "ns", "none", &arts[3])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn remove_all_deletes_the_object_dir_only() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::new(root.path(), "localhost").unwrap();
        let src = source_tree("x");
        let a = storage
            .archive(
                "GitRepository",
                "ns",
                "a",
                "r",
                src.path(),
                &IgnoreRules::empty(),
            )
            .unwrap();
        let b = storage
            .archive(
                "GitRepository",
                "ns",
                "b",
                "r",
                src.path(),
                &IgnoreRules::empty(),
            )
            .unwrap();
        assert!(storage.remove_all("GitRepository", "ns", "a").unwrap());
        assert!(!storage.exists(&a) && storage.exists(&b));
        assert!(!storage.remove_all("GitRepository", "ns", "a").unwrap());
    }

    #[test]
    fn hostile_names_and_paths_are_rejected() {
        for (kind, ns, name) in [
            ("GitRepository", "..", "x"),
            ("GitRepository", "ns", "a/b"),
            ("GitRepository", "", "x"),
            ("../x", "ns", "x"),
            ("GitRepository", "ns", ".hidden"),
            ("GitRepository", "ns", "a\\b"),
        ] {
            assert!(
                Storage::object_dir(kind, ns, name).is_err(),
                "{kind}/{ns}/{name}"
            );
        }
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::new(root.path(), "localhost").unwrap();
        let src = source_tree("x");
        let mut art = storage
            .archive(
                "GitRepository",
                "ns",
                "a",
                "r",
                src.path(),
                &IgnoreRules::empty(),
            )
            .unwrap();
        for bad in ["../../etc/passwd", "/etc/passwd", "a//b", "a/./b", ""] {
            art.path = bad.to_owned();
            assert!(storage.local_path(&art).is_err(), "{bad}");
            assert!(!storage.exists(&art));
        }
        let err = storage
            .archive(
                "GitRepository",
                "ns",
                "a",
                "r",
                &root.path().join("missing"),
                &IgnoreRules::empty(),
            )
            .unwrap_err();
        assert!(matches!(err, StorageError::Archive(_)), "{err}");
        // A failed archive leaves no temp file behind.
        let leftovers = fs::read_dir(root.path().join("gitrepository/ns/a"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 1);
    }
}
