//! Deterministic tar.gz archives of a directory.
//!
//! The artifact digest is what downstream controllers compare to decide
//! whether anything changed, so the bytes must depend on the tree's content
//! alone: not on mtimes, owners, umask, directory listing order, the machine
//! or the time of day. To that end:
//!
//! - entries come in depth-first order with the names of each directory
//!   sorted bytewise (a parent always precedes its children);
//! - headers are GNU format with mtime 0, uid/gid 0, empty user/group names,
//!   and modes normalised to 0755 (directories, files with any execute bit)
//!   or 0644 (other files); names too long for the header use GNU long-name
//!   entries, whose content is only the name: no PAX records;
//! - symlinks are kept, as symlinks, only if they stay inside the tree both
//!   by their text (relative, never climbing above the root) and on disk
//!   (their resolved target exists below the root); others are skipped, as
//!   are sockets, FIFOs and devices;
//! - the gzip header carries no name, mtime 0 and OS byte 255 ("unknown"),
//!   and the compression level is fixed.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};
use tar::{EntryType, Header};

use crate::ignore::IgnoreRules;

/// Mode of directories and executable files in an archive.
pub const DIR_MODE: u32 = 0o755;
/// Mode of executable files in an archive.
pub const EXEC_FILE_MODE: u32 = 0o755;
/// Mode of other regular files in an archive.
pub const FILE_MODE: u32 = 0o644;
/// Mode recorded for symlinks (conventional; extractors ignore it).
pub const SYMLINK_MODE: u32 = 0o777;
/// OS byte of the gzip header: 255 means "unknown", the same everywhere.
const GZIP_OS_UNKNOWN: u8 = 255;

/// Failure to archive a directory.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The source is not a directory.
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    /// A file of the tree could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The path that failed, relative to the tree root.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file changed size while it was being archived.
    #[error("{path} changed while it was archived")]
    Changed {
        /// The file, relative to the tree root.
        path: PathBuf,
    },
    /// Writing the archive failed.
    #[error("writing archive: {0}")]
    Write(#[source] io::Error),
    /// The files to archive total more than the limit.
    #[error(
        "the files to archive exceed the limit of {limit} bytes (--git-max-size) at '{}'",
        path.display()
    )]
    TooLarge {
        /// The file that crossed the limit, relative to the tree root.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
}

/// What an archive came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveInfo {
    /// `sha256:<hex>` of the tar.gz bytes.
    pub digest: String,
    /// Size of the tar.gz in bytes.
    pub size: u64,
}

impl ArchiveInfo {
    /// The hex part of the digest.
    pub fn digest_hex(&self) -> &str {
        self.digest.strip_prefix("sha256:").unwrap_or(&self.digest)
    }
}

/// Writes a deterministic tar.gz of the directory `src` to `out`, leaving
/// out what `rules` ignore, and returns its digest and size.
pub fn archive_dir<W: Write>(
    src: &Path,
    rules: &IgnoreRules,
    out: W,
) -> Result<ArchiveInfo, ArchiveError> {
    archive_dir_limited(src, rules, u64::MAX, out)
}

/// [`archive_dir`], refusing ([`ArchiveError::TooLarge`]) a tree whose
/// regular files total more than `max_size` bytes; each file's size is
/// checked before it is read. Files are streamed: memory does not depend on
/// their size.
pub fn archive_dir_limited<W: Write>(
    src: &Path,
    rules: &IgnoreRules,
    max_size: u64,
    out: W,
) -> Result<ArchiveInfo, ArchiveError> {
    let mut counter = HashingWriter::new(out);
    let gz = GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_OS_UNKNOWN)
        .write(&mut counter, Compression::default());
    let gz = write_tar_limited(src, rules, max_size, gz)?;
    gz.finish().map_err(ArchiveError::Write)?;
    counter.flush().map_err(ArchiveError::Write)?;
    Ok(counter.info())
}

/// Writes the (uncompressed) deterministic tar of `src` to `out` and
/// returns `out` once the archive is complete.
pub fn write_tar<W: Write>(src: &Path, rules: &IgnoreRules, out: W) -> Result<W, ArchiveError> {
    write_tar_limited(src, rules, u64::MAX, out)
}

fn write_tar_limited<W: Write>(
    src: &Path,
    rules: &IgnoreRules,
    max_size: u64,
    out: W,
) -> Result<W, ArchiveError> {
    let mut remaining = max_size;
    let root_meta = fs::metadata(src).map_err(|source| ArchiveError::Read {
        path: PathBuf::new(),
        source,
    })?;
    if !root_meta.is_dir() {
        return Err(ArchiveError::NotADirectory(src.to_path_buf()));
    }
    let canonical_root = fs::canonicalize(src).map_err(|source| ArchiveError::Read {
        path: PathBuf::new(),
        source,
    })?;

    let mut builder = tar::Builder::new(out);
    let mut stack: Vec<PathBuf> = Vec::new();
    push_children(src, Path::new(""), &mut stack)?;

    while let Some(rel) = stack.pop() {
        let abs = src.join(&rel);
        let read_err = |source| ArchiveError::Read {
            path: rel.clone(),
            source,
        };
        let meta = fs::symlink_metadata(&abs).map_err(read_err)?;
        let file_type = meta.file_type();
        if file_type.is_dir() {
            let ignored = rules.is_ignored(&rel, true);
            if !ignored {
                let mut header = header(EntryType::Directory, DIR_MODE, 0);
                builder
                    .append_data(&mut header, &rel, io::empty())
                    .map_err(ArchiveError::Write)?;
            }
            // Below an ignored directory only a negated rule can bring a
            // path back; without one the whole subtree is skipped unread.
            if !ignored || rules.has_negations() {
                push_children(src, &rel, &mut stack)?;
            }
        } else if file_type.is_file() {
            if !rules.is_ignored(&rel, false) {
                remaining =
                    remaining
                        .checked_sub(meta.len())
                        .ok_or_else(|| ArchiveError::TooLarge {
                            path: rel.clone(),
                            limit: max_size,
                        })?;
                append_file(&mut builder, &abs, &rel)?;
            }
        } else if file_type.is_symlink() {
            if rules.is_ignored(&rel, false) {
                continue;
            }
            let target = fs::read_link(&abs).map_err(read_err)?;
            if symlink_stays_inside(&canonical_root, &abs, &rel, &target) {
                let mut header = header(EntryType::Symlink, SYMLINK_MODE, 0);
                builder
                    .append_link(&mut header, &rel, &target)
                    .map_err(ArchiveError::Write)?;
            } else {
                tracing::debug!(path = %rel.display(), "skipping symlink that leaves the tree");
            }
        }
        // Sockets, FIFOs and devices have no place in an artifact.
    }
    builder.into_inner().map_err(ArchiveError::Write)
}

/// Pushes the entries of `src/rel` on the stack so that they pop in
/// bytewise name order.
fn push_children(src: &Path, rel: &Path, stack: &mut Vec<PathBuf>) -> Result<(), ArchiveError> {
    let read_err = |source| ArchiveError::Read {
        path: rel.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in fs::read_dir(src.join(rel)).map_err(read_err)? {
        names.push(entry.map_err(read_err)?.file_name());
    }
    names.sort();
    stack.extend(names.into_iter().rev().map(|name| rel.join(name)));
    Ok(())
}

/// A header with every machine-specific field zeroed.
fn header(kind: EntryType, mode: u32, size: u64) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
}

fn append_file<W: Write>(
    builder: &mut tar::Builder<W>,
    abs: &Path,
    rel: &Path,
) -> Result<(), ArchiveError> {
    let read_err = |source| ArchiveError::Read {
        path: rel.to_path_buf(),
        source,
    };
    let file = File::open(abs).map_err(read_err)?;
    // Size and mode from the opened file, so both describe what is read.
    let meta = file.metadata().map_err(read_err)?;
    let mode = if std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0 {
        EXEC_FILE_MODE
    } else {
        FILE_MODE
    };
    let size = meta.len();
    let mut header = header(EntryType::Regular, mode, size);
    let mut reader = CountingReader {
        inner: file.take(size),
        count: 0,
        error: None,
    };
    let appended = builder.append_data(&mut header, rel, &mut reader);
    // Tell a failure to read the source from a failure to write the archive.
    if let Some(e) = reader.error.take() {
        return Err(read_err(e));
    }
    appended.map_err(ArchiveError::Write)?;
    // A file that shrank mid-read would leave a short, corrupt entry.
    if reader.count != size {
        return Err(ArchiveError::Changed {
            path: rel.to_path_buf(),
        });
    }
    Ok(())
}

/// Whether a symlink at `rel` (absolute path `abs`) with text `target`
/// points inside the tree. Absolute targets never do: they depend on where
/// the tree happens to be checked out.
fn symlink_stays_inside(canonical_root: &Path, abs: &Path, rel: &Path, target: &Path) -> bool {
    // By its text: resolve `..` against the link's directory.
    let mut depth: Vec<&std::ffi::OsStr> = rel
        .parent()
        .map(|p| {
            p.components()
                .filter_map(|c| match c {
                    Component::Normal(n) => Some(n),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    for component in target.components() {
        match component {
            Component::Normal(name) => depth.push(name),
            Component::CurDir => {}
            Component::ParentDir => {
                if depth.pop().is_none() {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    // On disk: intermediate symlinks could still lead out; a dangling link
    // is dropped too, as it cannot be checked.
    match fs::canonicalize(abs) {
        Ok(resolved) => resolved.starts_with(canonical_root),
        Err(_) => false,
    }
}

/// Counts the bytes read and keeps the first read error.
struct CountingReader<R> {
    inner: R,
    count: u64,
    error: Option<io::Error>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.count += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let kind = e.kind();
                self.error = Some(e);
                Err(kind.into())
            }
        }
    }
}

/// Passes bytes through while hashing and counting them.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    fn info(self) -> ArchiveInfo {
        ArchiveInfo {
            digest: format!("sha256:{}", hex::encode(self.hasher.finalize())),
            size: self.size,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};
    use std::time::{Duration, SystemTime};

    /// Builds the same logical tree under `root`, with machine details
    /// (mtimes, permission bits beyond the exec bit, owners, creation order)
    /// chosen by `variant`.
    fn build_tree(root: &Path, variant: u32) {
        let files: &[(&str, &[u8])] = &[
            ("README.md", b"# demo\n"),
            ("deploy/app.yaml", b"kind: Deployment\n"),
            ("deploy/base/kustomization.yaml", b"resources: []\n"),
            ("a.txt", b"a"),
            ("a/b.txt", b"b"),
            ("logo.png", b"\x89PNG"),
            ("empty", b""),
        ];
        let order: Vec<usize> = if variant == 0 {
            (0..files.len()).collect()
        } else {
            (0..files.len()).rev().collect()
        };
        fs::create_dir_all(root.join("emptydir")).unwrap();
        for i in order {
            let (path, content) = files[i];
            let p = root.join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, content).unwrap();
            let mode = if variant == 0 { 0o644 } else { 0o600 };
            fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        }
        let script = root.join("deploy/run.sh");
        fs::write(&script, "#!/bin/sh\n").unwrap();
        let exec = if variant == 0 { 0o755 } else { 0o700 };
        fs::set_permissions(&script, fs::Permissions::from_mode(exec)).unwrap();
        symlink("app.yaml", root.join("deploy/link.yaml")).unwrap();
        let dir_mode = if variant == 0 { 0o755 } else { 0o700 };
        fs::set_permissions(root.join("deploy"), fs::Permissions::from_mode(dir_mode)).unwrap();
        let mtime =
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + 77_777 * u64::from(variant));
        for entry in walk(root) {
            let f = File::options().read(true).open(&entry);
            if let Ok(f) = f {
                let _ = f.set_modified(mtime);
            }
            // Tests run as root on CI; elsewhere chown fails and is skipped.
            let _ = std::os::unix::fs::lchown(&entry, Some(1000 + variant), Some(1000 + variant));
        }
    }

    fn walk(root: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(p) = stack.pop() {
            if p.is_dir() && !p.is_symlink() {
                for e in fs::read_dir(&p).unwrap() {
                    stack.push(e.unwrap().path());
                }
            }
            out.push(p);
        }
        out
    }

    fn tar_bytes(root: &Path, rules: &IgnoreRules) -> Vec<u8> {
        write_tar(root, rules, Vec::new()).unwrap()
    }

    /// (path, entry type, mode, uid, mtime, link target) of every entry.
    fn entries(tar_bytes: &[u8]) -> Vec<(String, EntryType, u32, u64, u64, Option<String>)> {
        let mut archive = tar::Archive::new(tar_bytes);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.entry_type(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.mtime().unwrap(),
                    e.link_name()
                        .unwrap()
                        .map(|l| l.to_string_lossy().into_owned()),
                )
            })
            .collect()
    }

    #[test]
    fn same_tree_same_digest_across_machines_details() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        build_tree(a.path(), 0);
        build_tree(b.path(), 1);
        let rules = IgnoreRules::defaults();
        let mut out_a = Vec::new();
        let mut out_b = Vec::new();
        let info_a = archive_dir(a.path(), &rules, &mut out_a).unwrap();
        let info_b = archive_dir(b.path(), &rules, &mut out_b).unwrap();
        assert_eq!(info_a, info_b);
        assert_eq!(out_a, out_b);
        assert_eq!(info_a.size, out_a.len() as u64);
        let expected = format!("sha256:{}", hex::encode(Sha256::digest(&out_a)));
        assert_eq!(info_a.digest, expected);
        assert_eq!(info_a.digest_hex().len(), 64);
    }

    #[test]
    fn content_changes_change_the_digest() {
        let dir = tempfile::tempdir().unwrap();
        build_tree(dir.path(), 0);
        let rules = IgnoreRules::defaults();
        let digest = |d: &Path| archive_dir(d, &rules, io::sink()).unwrap().digest;
        let base = digest(dir.path());

        fs::write(dir.path().join("a.txt"), "A").unwrap();
        let changed = digest(dir.path());
        assert_ne!(base, changed, "one byte of content");

        let script = dir.path().join("deploy/run.sh");
        fs::set_permissions(&script, fs::Permissions::from_mode(0o644)).unwrap();
        let unexec = digest(dir.path());
        assert_ne!(changed, unexec, "losing the exec bit");

        fs::rename(dir.path().join("a.txt"), dir.path().join("c.txt")).unwrap();
        let renamed = digest(dir.path());
        assert_ne!(unexec, renamed, "a rename");

        // An ignored file changes nothing.
        fs::write(dir.path().join("logo.png"), "other").unwrap();
        assert_eq!(renamed, digest(dir.path()));
    }

    #[test]
    fn golden_tar_layout() {
        let dir = tempfile::tempdir().unwrap();
        build_tree(dir.path(), 1);
        let bytes = tar_bytes(dir.path(), &IgnoreRules::defaults());
        let got = entries(&bytes);
        let names: Vec<&str> = got.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "README.md",
                "a",
                "a/b.txt",
                "a.txt",
                "deploy",
                "deploy/app.yaml",
                "deploy/base",
                "deploy/base/kustomization.yaml",
                "deploy/link.yaml",
                "deploy/run.sh",
                "empty",
                "emptydir",
            ]
        );
        for (name, kind, mode, uid, mtime, link) in &got {
            assert_eq!((*uid, *mtime), (0, 0), "{name}");
            let want = match name.as_str() {
                "a" | "deploy" | "deploy/base" | "emptydir" => (EntryType::Directory, 0o755),
                "deploy/run.sh" => (EntryType::Regular, 0o755),
                "deploy/link.yaml" => (EntryType::Symlink, 0o777),
                _ => (EntryType::Regular, 0o644),
            };
            assert_eq!((*kind, *mode), want, "{name}");
            assert_eq!(link.is_some(), *kind == EntryType::Symlink);
        }
        // Every header is plain GNU with empty owner names.
        let mut archive = tar::Archive::new(&bytes[..]);
        for e in archive.entries().unwrap() {
            let e = e.unwrap();
            assert_eq!(e.header().username_bytes(), Some(&b""[..]));
            assert_eq!(e.header().groupname_bytes(), Some(&b""[..]));
            assert!(e.header().as_gnu().is_some());
        }
        // Golden digest of the uncompressed tar: this exact layout is part
        // of the artifact contract (compressed bytes also depend on flate2).
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            "0194a0410d1ad3fca353e53c7bf915d561999cbc4663b73c9467a13d1d8fbec4"
        );
    }

    #[test]
    fn gzip_header_is_fixed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f"), "x").unwrap();
        let mut out = Vec::new();
        archive_dir(dir.path(), &IgnoreRules::empty(), &mut out).unwrap();
        // magic, deflate, no flags (no name/comment/extra), mtime 0, OS 255.
        assert_eq!(&out[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
        assert_eq!(out[9], 255);
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&out[..])
            .read_to_end(&mut tar)
            .unwrap();
        assert_eq!(entries(&tar).len(), 1);
    }

    #[test]
    fn symlinks_leaving_the_tree_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        let outside = dir.path().join("secret.txt");
        fs::write(&outside, "secret").unwrap();
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(root.join("sub/in.yaml"), "x").unwrap();
        symlink("in.yaml", root.join("sub/ok")).unwrap();
        symlink("../sub/in.yaml", root.join("sub/ok-up")).unwrap();
        symlink("sub", root.join("dirlink")).unwrap();
        symlink("../secret.txt", root.join("up")).unwrap();
        symlink("sub/../../secret.txt", root.join("sneaky")).unwrap();
        symlink(&outside, root.join("absolute")).unwrap();
        symlink(root.join("sub/in.yaml"), root.join("absolute-inside")).unwrap();
        symlink("missing", root.join("dangling")).unwrap();
        // Lexically inside, but through a link that leads out.
        symlink(dir.path(), root.join("escape")).unwrap();
        symlink("escape/secret.txt", root.join("via-escape")).unwrap();

        let bytes = tar_bytes(&root, &IgnoreRules::empty());
        let names: Vec<String> = entries(&bytes).into_iter().map(|e| e.0).collect();
        assert_eq!(
            names,
            ["dirlink", "sub", "sub/in.yaml", "sub/ok", "sub/ok-up"]
        );
        assert!(!String::from_utf8_lossy(&bytes).contains("secret"));
    }

    #[test]
    fn ignore_rules_apply_and_negations_reach_into_ignored_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join(".git/objects")).unwrap();
        fs::write(root.join(".git/HEAD"), "ref").unwrap();
        fs::create_dir_all(root.join("docs")).unwrap();
        fs::write(root.join("docs/a.md"), "a").unwrap();
        fs::write(root.join("docs/keep.yaml"), "k").unwrap();
        fs::write(root.join("app.yaml"), "x").unwrap();
        let rules = IgnoreRules::load(root, Some("docs/\n!docs/keep.yaml\n")).unwrap();
        let names: Vec<String> = entries(&tar_bytes(root, &rules))
            .into_iter()
            .map(|e| e.0)
            .collect();
        // Like Flux: the re-included file comes without its (ignored) parent.
        assert_eq!(names, ["app.yaml", "docs/keep.yaml"]);
    }

    #[test]
    fn long_names_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let long = "d".repeat(120);
        fs::create_dir_all(dir.path().join(&long)).unwrap();
        fs::write(dir.path().join(&long).join("f".repeat(150)), "x").unwrap();
        let names: Vec<String> = entries(&tar_bytes(dir.path(), &IgnoreRules::empty()))
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(names[1], format!("{long}/{}", "f".repeat(150)));

        let file = dir.path().join(&long).join("f".repeat(150));
        let err = archive_dir(&file, &IgnoreRules::empty(), io::sink()).unwrap_err();
        assert!(matches!(err, ArchiveError::NotADirectory(_)), "{err}");
        let err = archive_dir(&dir.path().join("nope"), &IgnoreRules::empty(), io::sink());
        assert!(matches!(err, Err(ArchiveError::Read { .. })));
    }
}
