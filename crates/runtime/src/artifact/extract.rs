//! Safe extraction of untrusted `tar.gz` artifacts.
//!
//! The rules, and why:
//! - Entry paths must be relative and free of `..`: anything else is either an attack or
//!   an archive we cannot interpret unambiguously.
//! - Nothing is ever written through a symlink. Parent directories are tracked in memory
//!   (the staging directory is private and fresh, so that record is the truth) and an
//!   entry whose parent is a symlink is refused, even when the symlink itself points
//!   inside the root: following it would make safety depend on link resolution order.
//! - Symlink targets must be relative, with `..` only as a leading prefix that does not
//!   climb above the root. Forbidding `..` after a name closes the trick where
//!   `d/l -> ..` plus `d/m -> l/../..` looks inside lexically but resolves outside.
//! - Hardlinks may only point at regular files extracted earlier from the same archive.
//! - Devices, fifos and sparse files are never created.
//! - Sizes are checked against the entry's declared size before a byte is written, and
//!   the decompressed stream as a whole is capped, so a gzip bomb is stopped early even
//!   when it hides in tar metadata (PAX or GNU long-name records, which the tar crate
//!   buffers in memory).
//! - Everything is unpacked into a staging directory beside the destination and renamed
//!   into place only on success; on failure the staging directory is removed, so the
//!   destination is never left half-written.

use std::cell::Cell;
use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use flate2::read::MultiGzDecoder;
use tar::EntryType;

use super::ArtifactError;

/// Caps applied while extracting, to bound disk use, inode use and time spent on an
/// untrusted archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes of regular-file content that may be written. Default 1 GiB.
    pub max_unpacked_bytes: u64,
    /// Number of archive entries processed plus directories created implicitly for
    /// them. Default 100,000.
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_unpacked_bytes: 1024 * 1024 * 1024,
            max_entries: 100_000,
        }
    }
}

impl Limits {
    /// Cap on the whole decompressed tar stream: file content plus a generous allowance
    /// for headers, padding and metadata records (4 KiB per entry and 1 MiB slack).
    /// Legitimate archives never come near it; a bomb made of metadata or of padding
    /// hits it long before it exhausts memory or time.
    fn stream_cap(&self) -> u64 {
        self.max_unpacked_bytes
            .saturating_add(self.max_entries.saturating_mul(4096))
            .saturating_add(1024 * 1024)
    }
}

/// What an extraction produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractSummary {
    /// Regular files written (not counting hardlinks).
    pub files: u64,
    /// Directories created, explicit or implied by a path.
    pub directories: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Hardlinks created.
    pub hardlinks: u64,
    /// Bytes of regular-file content written.
    pub bytes: u64,
}

/// Extracts the gzip-compressed tar stream `archive` into `dest`, safely.
///
/// `dest` must not exist, or be an empty directory; its parent is created if missing.
/// `archive` can be a byte slice (`&bytes[..]`) or any reader such as a `File`.
///
/// Files get mode 0644, or 0755 when any execute bit is set in the archive; directories
/// get 0755; setuid, setgid and sticky bits, owners and timestamps from the archive are
/// ignored. A directory entry repeating an existing directory is accepted; any other
/// repeated path is refused rather than overwritten, since overwriting is how an archive
/// swaps a checked entry for a different one.
///
/// On error nothing is left in `dest` or beside it.
pub fn extract<R: Read>(
    archive: R,
    dest: &Path,
    limits: &Limits,
) -> Result<ExtractSummary, ArtifactError> {
    check_destination(dest)?;
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(parent).map_err(|e| ArtifactError::io("create directory", parent, e))?;

    // Staging beside the destination keeps the final rename on one filesystem (so it
    // is atomic), and TempDir removes it on every early return.
    let staging = tempfile::Builder::new()
        .prefix(".ferroflux-extract-")
        .tempdir_in(parent)
        .map_err(|e| ArtifactError::io("create staging directory in", parent, e))?;

    let summary = Unpacker::new(staging.path(), limits).run(archive)?;

    // TempDir creates 0700; the tree we hand out is world-readable like the rest.
    fs::set_permissions(staging.path(), fs::Permissions::from_mode(0o755))
        .map_err(|e| ArtifactError::io("set permissions on", staging.path(), e))?;
    // rename(2) replaces an empty directory and fails on a non-empty one, so a
    // destination that gained content since the check above is not clobbered.
    fs::rename(staging.path(), dest).map_err(|e| ArtifactError::io("rename into", dest, e))?;
    // The directory now lives at `dest`; stop TempDir from trying to delete its old
    // path.
    let _ = staging.keep();
    Ok(summary)
}

/// Accepts a missing destination or an empty real directory.
fn check_destination(dest: &Path) -> Result<(), ArtifactError> {
    let invalid = |reason: &str| ArtifactError::InvalidDestination {
        path: dest.to_path_buf(),
        reason: reason.to_string(),
    };
    match fs::symlink_metadata(dest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ArtifactError::io("inspect destination", dest, e)),
        Ok(meta) if meta.file_type().is_symlink() => Err(invalid("destination is a symlink")),
        Ok(meta) if !meta.is_dir() => Err(invalid("destination exists and is not a directory")),
        Ok(_) => {
            let mut entries =
                fs::read_dir(dest).map_err(|e| ArtifactError::io("read directory", dest, e))?;
            if entries.next().is_some() {
                Err(invalid("destination directory is not empty"))
            } else {
                Ok(())
            }
        }
    }
}

/// What has been created at a path inside the staging root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    Symlink,
}

/// Reader that fails once more than `remaining` bytes have been read, and records that
/// it did so: the tar crate wraps I/O errors in its own, so a shared flag is the
/// reliable way to tell "limit hit" from "corrupt archive" afterwards.
struct CappedReader<R> {
    inner: R,
    remaining: u64,
    tripped: Rc<Cell<bool>>,
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            // Only trip if the stream actually has more to give.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.tripped.set(true);
                    Err(io::Error::other("decompressed archive exceeds size cap"))
                }
            };
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

struct Unpacker<'a> {
    root: &'a Path,
    limits: &'a Limits,
    /// Every path created so far (relative to root). The staging directory is private
    /// and new, so this is an exact picture of it and no `lstat` is needed.
    created: HashMap<PathBuf, Kind>,
    entries: u64,
    summary: ExtractSummary,
    tripped: Rc<Cell<bool>>,
}

impl<'a> Unpacker<'a> {
    fn new(root: &'a Path, limits: &'a Limits) -> Self {
        Unpacker {
            root,
            limits,
            created: HashMap::new(),
            entries: 0,
            summary: ExtractSummary::default(),
            tripped: Rc::new(Cell::new(false)),
        }
    }

    fn run<R: Read>(mut self, archive: R) -> Result<ExtractSummary, ArtifactError> {
        let stream = CappedReader {
            inner: MultiGzDecoder::new(archive),
            remaining: self.limits.stream_cap(),
            tripped: Rc::clone(&self.tripped),
        };
        let mut tar = tar::Archive::new(stream);
        // Where in the archive a header-level failure happened, for the error message.
        let mut position = String::from("(start of archive)");
        let entries = tar.entries().map_err(|e| self.read_error(&position, e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| self.read_error(&position, e))?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            self.entry(&mut entry, &name)?;
            position = format!("(header after {name})");
        }
        Ok(self.summary)
    }

    /// Classifies a read failure: the size cap tripping is a limit violation, anything
    /// else is a malformed archive.
    fn read_error(&self, entry: &str, source: io::Error) -> ArtifactError {
        if self.tripped.get() {
            ArtifactError::UnpackedSizeLimit {
                entry: entry.to_string(),
                limit: self.limits.max_unpacked_bytes,
            }
        } else {
            ArtifactError::CorruptArchive {
                entry: entry.to_string(),
                source,
            }
        }
    }

    fn count_entry(&mut self, name: &str) -> Result<(), ArtifactError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(ArtifactError::EntryCountLimit {
                entry: name.to_string(),
                limit: self.limits.max_entries,
            });
        }
        Ok(())
    }

    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
    ) -> Result<(), ArtifactError> {
        let kind = entry.header().entry_type();
        // Global PAX headers carry defaults for later entries (which the tar crate
        // does not apply) and create nothing.
        if kind == EntryType::XGlobalHeader {
            return Ok(());
        }
        self.count_entry(name)?;

        let path_bytes = entry.path_bytes();
        let unsafe_path = |reason: &str| ArtifactError::UnsafePath {
            entry: name.to_string(),
            reason: reason.to_string(),
        };
        if path_bytes.contains(&0) {
            return Err(unsafe_path("path contains a NUL byte"));
        }
        // Old (pre-POSIX) archives mark directories as regular entries with a trailing
        // slash.
        let is_dir = kind == EntryType::Directory
            || (matches!(kind, EntryType::Regular | EntryType::Continuous)
                && path_bytes.ends_with(b"/"));
        let rel =
            normalize(Path::new(std::ffi::OsStr::from_bytes(&path_bytes))).map_err(unsafe_path)?;
        drop(path_bytes);
        let Some(rel) = rel else {
            // "." or "./": the root itself, which already exists.
            return if is_dir {
                Ok(())
            } else {
                Err(unsafe_path("non-directory entry for the archive root"))
            };
        };

        if is_dir {
            return self.directory(&rel, name);
        }
        match kind {
            EntryType::Regular | EntryType::Continuous => self.file(entry, &rel, name),
            EntryType::Symlink => self.symlink(entry, &rel, name),
            EntryType::Link => self.hardlink(entry, &rel, name),
            other => Err(ArtifactError::UnsupportedEntryType {
                entry: name.to_string(),
                kind: describe(other),
            }),
        }
    }

    /// Creates missing parent directories of `rel`, refusing to pass through anything
    /// that is not a directory we created.
    fn parents(&mut self, rel: &Path, name: &str) -> Result<(), ArtifactError> {
        let Some(parent) = rel.parent() else {
            return Ok(());
        };
        let mut cur = PathBuf::new();
        for component in parent.components() {
            cur.push(component);
            match self.created.get(&cur) {
                Some(Kind::Dir) => {}
                Some(Kind::Symlink) => {
                    return Err(ArtifactError::UnsafePath {
                        entry: name.to_string(),
                        reason: format!(
                            "parent {:?} is a symlink; writing through symlinks is refused",
                            cur.display().to_string()
                        ),
                    });
                }
                Some(Kind::File) => {
                    return Err(ArtifactError::UnsafePath {
                        entry: name.to_string(),
                        reason: format!(
                            "parent {:?} is a file, not a directory",
                            cur.display().to_string()
                        ),
                    });
                }
                None => {
                    self.count_entry(name)?;
                    self.mkdir(&cur)?;
                }
            }
        }
        Ok(())
    }

    fn mkdir(&mut self, rel: &Path) -> Result<(), ArtifactError> {
        let path = self.root.join(rel);
        fs::DirBuilder::new()
            .mode(0o755)
            .create(&path)
            .map_err(|e| ArtifactError::io("create directory", &path, e))?;
        // The umask may have narrowed the mode; set it exactly.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
            .map_err(|e| ArtifactError::io("set permissions on", &path, e))?;
        self.created.insert(rel.to_path_buf(), Kind::Dir);
        self.summary.directories += 1;
        Ok(())
    }

    /// Refuses a path that was already created (except dir-over-dir, handled by the
    /// caller).
    fn ensure_new(&self, rel: &Path, name: &str) -> Result<(), ArtifactError> {
        if self.created.contains_key(rel) {
            return Err(ArtifactError::UnsafePath {
                entry: name.to_string(),
                reason: "path repeats an earlier entry; overwriting is refused".to_string(),
            });
        }
        Ok(())
    }

    fn directory(&mut self, rel: &Path, name: &str) -> Result<(), ArtifactError> {
        self.parents(rel, name)?;
        match self.created.get(rel) {
            Some(Kind::Dir) => Ok(()),
            Some(_) => self.ensure_new(rel, name),
            None => self.mkdir(rel),
        }
    }

    fn file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        rel: &Path,
        name: &str,
    ) -> Result<(), ArtifactError> {
        let size = entry.size();
        let over = |s: &Self| ArtifactError::UnpackedSizeLimit {
            entry: name.to_string(),
            limit: s.limits.max_unpacked_bytes,
        };
        // Checked against the declared size before anything is written, so an entry
        // announcing gigabytes is refused without decompressing it.
        if self.summary.bytes.saturating_add(size) > self.limits.max_unpacked_bytes {
            return Err(over(self));
        }
        self.parents(rel, name)?;
        self.ensure_new(rel, name)?;

        let executable = entry
            .header()
            .mode()
            .map(|m| m & 0o111 != 0)
            .unwrap_or(false);
        let mode = if executable { 0o755 } else { 0o644 };
        let path = self.root.join(rel);
        // create_new (O_CREAT|O_EXCL) never follows a symlink at the final component,
        // a second guard on top of the bookkeeping.
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .map_err(|e| ArtifactError::io("create file", &path, e))?;
        self.created.insert(rel.to_path_buf(), Kind::File);

        let mut buf = vec![0u8; 64 * 1024];
        let mut written: u64 = 0;
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_error(name, e)),
            };
            written += n as u64;
            if self.summary.bytes.saturating_add(written) > self.limits.max_unpacked_bytes {
                return Err(over(self));
            }
            file.write_all(&buf[..n])
                .map_err(|e| ArtifactError::io("write file", &path, e))?;
        }
        if written != size {
            return Err(ArtifactError::CorruptArchive {
                entry: name.to_string(),
                source: io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("entry declares {size} bytes but the archive holds {written}"),
                ),
            });
        }
        // fchmod on the open handle: exact mode regardless of umask, no path lookup.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| ArtifactError::io("set permissions on", &path, e))?;
        self.summary.bytes += written;
        self.summary.files += 1;
        Ok(())
    }

    fn link_target<R: Read>(
        entry: &tar::Entry<'_, R>,
        name: &str,
    ) -> Result<(PathBuf, String), ArtifactError> {
        let bytes = entry.link_name_bytes().unwrap_or_default();
        let shown = String::from_utf8_lossy(&bytes).into_owned();
        let refuse = |reason: &str| ArtifactError::UnsafeLink {
            entry: name.to_string(),
            target: shown.clone(),
            reason: reason.to_string(),
        };
        if bytes.is_empty() {
            return Err(refuse("link target is empty"));
        }
        if bytes.contains(&0) {
            return Err(refuse("link target contains a NUL byte"));
        }
        let target = PathBuf::from(std::ffi::OsStr::from_bytes(&bytes));
        Ok((target, shown))
    }

    fn symlink<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        rel: &Path,
        name: &str,
    ) -> Result<(), ArtifactError> {
        let (target, shown) = Self::link_target(entry, name)?;
        check_symlink_target(rel, &target).map_err(|reason| ArtifactError::UnsafeLink {
            entry: name.to_string(),
            target: shown,
            reason: reason.to_string(),
        })?;
        self.parents(rel, name)?;
        self.ensure_new(rel, name)?;
        let path = self.root.join(rel);
        std::os::unix::fs::symlink(&target, &path)
            .map_err(|e| ArtifactError::io("create symlink", &path, e))?;
        self.created.insert(rel.to_path_buf(), Kind::Symlink);
        self.summary.symlinks += 1;
        Ok(())
    }

    fn hardlink<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        rel: &Path,
        name: &str,
    ) -> Result<(), ArtifactError> {
        let (target, shown) = Self::link_target(entry, name)?;
        let refuse = |reason: &str| ArtifactError::UnsafeLink {
            entry: name.to_string(),
            target: shown.clone(),
            reason: reason.to_string(),
        };
        // Hardlink targets are archive paths (relative to the root), so they obey the
        // same rules as entry names.
        let target = normalize(&target)
            .map_err(refuse)?
            .ok_or_else(|| refuse("target is the archive root"))?;
        if self.created.get(&target) != Some(&Kind::File) {
            return Err(refuse(
                "target is not a regular file extracted earlier from this archive",
            ));
        }
        self.parents(rel, name)?;
        self.ensure_new(rel, name)?;
        let from = self.root.join(&target);
        let path = self.root.join(rel);
        fs::hard_link(&from, &path).map_err(|e| ArtifactError::io("create hardlink", &path, e))?;
        self.created.insert(rel.to_path_buf(), Kind::File);
        self.summary.hardlinks += 1;
        Ok(())
    }
}

/// Turns an archive path into a clean relative path. `Ok(None)` means the root itself
/// (`.`, `./`).
fn normalize(path: &Path) -> Result<Option<PathBuf>, &'static str> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => return Err("absolute path"),
            Component::ParentDir => return Err("path contains a `..` component"),
            Component::CurDir => {}
            Component::Normal(part) => out.push(part),
        }
    }
    Ok(if out.as_os_str().is_empty() {
        None
    } else {
        Some(out)
    })
}

/// Accepts a symlink target only if it provably stays inside the root, whatever other
/// symlinks the archive contains and in whatever order they appear.
///
/// Leading `..` components are resolved against the link's own parent directories,
/// which are real directories (we never create anything under a symlink), so counting
/// them is exact. After the first name, `..` is refused: the name might itself be a
/// symlink, and `..` after it would climb from wherever it points.
fn check_symlink_target(link: &Path, target: &Path) -> Result<(), &'static str> {
    let depth = link.components().count().saturating_sub(1);
    let mut ups = 0usize;
    let mut seen_name = false;
    for component in target.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => return Err("absolute target"),
            Component::CurDir => {}
            Component::ParentDir if seen_name => {
                return Err("`..` after a name in a symlink target is refused");
            }
            Component::ParentDir => {
                ups += 1;
                if ups > depth {
                    return Err("target resolves outside the extraction root");
                }
            }
            Component::Normal(_) => seen_name = true,
        }
    }
    Ok(())
}

fn describe(kind: EntryType) -> String {
    match kind {
        EntryType::Char => "character device".to_string(),
        EntryType::Block => "block device".to_string(),
        EntryType::Fifo => "fifo".to_string(),
        EntryType::GNUSparse => "GNU sparse file".to_string(),
        other => format!("{:?} (type byte {:?})", other, other.as_byte() as char),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_paths() {
        assert_eq!(
            normalize(Path::new("./a/./b")).unwrap(),
            Some(PathBuf::from("a/b"))
        );
        assert_eq!(normalize(Path::new("./")).unwrap(), None);
        assert_eq!(normalize(Path::new("/etc/passwd")), Err("absolute path"));
        assert!(normalize(Path::new("a/../b")).is_err());
        assert!(normalize(Path::new("../evil")).is_err());
    }

    #[test]
    fn symlink_targets() {
        let ok = |l: &str, t: &str| check_symlink_target(Path::new(l), Path::new(t));
        assert!(ok("a/link", "b/c").is_ok());
        assert!(ok("a/b/link", "../../c").is_ok());
        assert!(ok("link", ".").is_ok());
        assert!(ok("link", "..").is_err());
        assert!(ok("a", "../..").is_err());
        assert!(ok("a/b/link", "../../../c").is_err());
        assert!(ok("link", "/etc").is_err());
        // The lexical-resolution trap: `l` may itself be a symlink.
        assert!(ok("d/m", "l/../..").is_err());
    }

    #[test]
    fn capped_reader_trips_only_on_excess() {
        let tripped = Rc::new(Cell::new(false));
        let mut r = CappedReader {
            inner: &b"abcd"[..],
            remaining: 4,
            tripped: Rc::clone(&tripped),
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcd");
        assert!(!tripped.get());

        let mut r = CappedReader {
            inner: &b"abcde"[..],
            remaining: 4,
            tripped: Rc::clone(&tripped),
        };
        assert!(r.read_to_end(&mut Vec::new()).is_err());
        assert!(tripped.get());
    }

    #[test]
    fn default_limits() {
        let l = Limits::default();
        assert_eq!(l.max_unpacked_bytes, 1 << 30);
        assert_eq!(l.max_entries, 100_000);
        assert!(l.stream_cap() > l.max_unpacked_bytes);
    }
}
