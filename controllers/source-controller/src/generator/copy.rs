//! Copy operations (`from: "@alias/<path or glob>"`, `to:
//! "@artifact/<path>"`) from unpacked sources into a staging directory,
//! with `cp`-like semantics as source-watcher documents them:
//!
//! - a file to `dest` is written as `dest` (into it when `dest` ends with
//!   `/` or is a directory already);
//! - a directory (`@src/dir` or `@src/dir/`) is copied as a subdirectory
//!   `dest/dir`; `@src/` copies the source's contents;
//! - a glob (`*`, `?`, `[...]`; `**` crosses directories) selects files and
//!   directories, each placed at its path below the glob's literal prefix
//!   (`@src/dir/**` copies the contents of `dir`, `@src/cfg/*.yaml` to
//!   `@artifact/apps/` makes `apps/<file>.yaml`);
//! - `exclude` globs match the path from the source root or from the
//!   literal prefix; a pattern without `/` matches a file name at any
//!   depth;
//! - operations run in order: a later one overwrites (`Overwrite`), merges
//!   YAML into (`Merge`) what an earlier one wrote, or unpacks tarballs
//!   (`Extract`).
//!
//! Everything is untrusted: paths with `..` or absolute paths are refused,
//! symlinks are followed only to files inside their source (never to
//! directories), the staging directory only ever receives regular files
//! and directories, and the bytes and files written are capped.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use ferroflux_api::source_extensions::v1beta1::{CopyOperation, CopyStrategy};
use globset::{GlobBuilder, GlobMatcher};

use super::merge;

/// Caps on what one artifact's build writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of file content written into the staging directory (a file
    /// overwritten counts again).
    pub max_bytes: u64,
    /// Files written.
    pub max_files: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 1024 * 1024 * 1024,
            max_files: 100_000,
        }
    }
}

/// Why an artifact could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The operation is invalid as written (bad path, unknown alias, bad
    /// glob, nothing matched): only a spec or source change fixes it.
    #[error("copy from '{from}' to '{to}': {message}")]
    Invalid {
        /// The operation's `from`.
        from: String,
        /// The operation's `to`.
        to: String,
        /// What is wrong.
        message: String,
    },
    /// Over a limit.
    #[error("copy from '{from}' to '{to}': {message}")]
    TooLarge {
        /// The operation's `from`.
        from: String,
        /// The operation's `to`.
        to: String,
        /// Which limit.
        message: String,
    },
    /// Reading or writing files failed.
    #[error("copy from '{from}' to '{to}': {message}")]
    Io {
        /// The operation's `from`.
        from: String,
        /// The operation's `to`.
        to: String,
        /// What failed.
        message: String,
    },
}

impl BuildError {
    /// Whether the failure is over a size limit.
    pub fn is_too_large(&self) -> bool {
        matches!(self, Self::TooLarge { .. })
    }
}

/// A failure inside one operation, before it is tied to the operation.
enum OpError {
    Invalid(String),
    TooLarge(String),
    Io(String),
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> OpError {
    OpError::Io(format!("{what} {}: {e}", path.display()))
}

/// Applies copy operations into one staging directory.
pub struct Builder<'a> {
    sources: &'a BTreeMap<String, PathBuf>,
    staging: PathBuf,
    work: PathBuf,
    limits: Limits,
    bytes: u64,
    files: u64,
    extracted: u64,
}

impl<'a> Builder<'a> {
    /// A builder reading the unpacked `sources` (alias → directory),
    /// writing into `staging` (created if missing) and unpacking tarballs
    /// under `work`.
    pub fn new(
        sources: &'a BTreeMap<String, PathBuf>,
        staging: &Path,
        work: &Path,
        limits: Limits,
    ) -> Self {
        Self {
            sources,
            staging: staging.to_path_buf(),
            work: work.to_path_buf(),
            limits,
            bytes: 0,
            files: 0,
            extracted: 0,
        }
    }

    /// Applies `ops` in order.
    pub fn apply_all(&mut self, ops: &[CopyOperation]) -> Result<(), BuildError> {
        fs::create_dir_all(&self.staging).map_err(|e| BuildError::Io {
            from: String::new(),
            to: String::new(),
            message: format!("creating {}: {e}", self.staging.display()),
        })?;
        for op in ops {
            self.apply(op).map_err(|e| {
                let (from, to) = (op.from.clone(), op.to.clone());
                match e {
                    OpError::Invalid(message) => BuildError::Invalid { from, to, message },
                    OpError::TooLarge(message) => BuildError::TooLarge { from, to, message },
                    OpError::Io(message) => BuildError::Io { from, to, message },
                }
            })?;
        }
        Ok(())
    }

    fn apply(&mut self, op: &CopyOperation) -> Result<(), OpError> {
        let (alias, pattern) = parse_from(&op.from)?;
        let (dest, dest_is_dir) = parse_to(&op.to)?;
        let root = self
            .sources
            .get(alias)
            .ok_or_else(|| OpError::Invalid(format!("source alias '{alias}' not found")))?
            .clone();
        let excludes = Excludes::new(&op.exclude)?;
        let strategy = op.strategy.unwrap_or_default();
        if !is_glob(pattern) {
            return self.copy_single(&root, pattern, &dest, dest_is_dir, &excludes, strategy);
        }
        let selection_root = literal_prefix(pattern);
        let glob = glob(pattern)?;
        let mut entries = Vec::new();
        walk(&root, Path::new(""), &mut entries)?;
        let mut matched: Vec<(PathBuf, bool)> = Vec::new();
        for (rel, is_dir) in entries {
            if !glob.is_match(&rel) {
                continue;
            }
            // A directory already selected brings its contents along
            // (Extract looks at files only).
            if strategy != CopyStrategy::Extract
                && matched.iter().any(|(m, d)| *d && rel.starts_with(m))
            {
                continue;
            }
            matched.push((rel, is_dir));
        }
        if matched.is_empty() {
            return Err(OpError::Invalid(format!(
                "no files match pattern '{pattern}' in source '{alias}'"
            )));
        }
        matched.retain(|(rel, _)| !excludes.excluded(rel, &selection_root));
        if matched.is_empty() {
            return Err(OpError::Invalid(format!(
                "all files matching pattern '{pattern}' in source '{alias}' were excluded"
            )));
        }
        for (rel, is_dir) in matched {
            if strategy == CopyStrategy::Extract {
                // Globs pick the tarballs; everything else is skipped.
                if !is_dir && is_tarball(&rel) {
                    self.extract(&root, &rel, &dest)?;
                }
                continue;
            }
            let below = rel.strip_prefix(&selection_root).unwrap_or(&rel);
            let target = dest.join(below);
            if is_dir {
                self.copy_dir(&root, &rel, &target, &excludes, &selection_root, strategy)?;
            } else {
                self.copy_file(&root, &rel, &target, strategy)?;
            }
        }
        Ok(())
    }

    fn copy_single(
        &mut self,
        root: &Path,
        pattern: &str,
        dest: &Path,
        dest_is_dir: bool,
        excludes: &Excludes,
        strategy: CopyStrategy,
    ) -> Result<(), OpError> {
        let rel = clean_relative(pattern).ok_or_else(|| {
            OpError::Invalid(format!("source path '{pattern}' leaves the source"))
        })?;
        let path = root.join(&rel);
        if let Some(parent) = rel.parent() {
            inside(root, parent, &rel)?;
        }
        let meta = fs::symlink_metadata(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                OpError::Invalid(format!("source '{pattern}' does not exist"))
            } else {
                io_error("reading", &path, e)
            }
        })?;
        if meta.is_dir() {
            if strategy == CopyStrategy::Extract {
                return Err(OpError::Invalid(format!(
                    "the Extract strategy takes tarballs, '{pattern}' is a directory"
                )));
            }
            // `cp -r dir dest/` makes dest/dir; the source root's contents
            // go straight into dest.
            let target = match rel.file_name() {
                Some(name) => dest.join(name),
                None => dest.to_path_buf(),
            };
            return self.copy_dir(root, &rel, &target, excludes, &rel, strategy);
        }
        if excludes.excluded(&rel, Path::new("")) {
            return Ok(());
        }
        if strategy == CopyStrategy::Extract {
            if !is_tarball(&rel) {
                return Err(OpError::Invalid(format!(
                    "the Extract strategy takes .tar.gz or .tgz files, got '{pattern}'"
                )));
            }
            return self.extract(root, &rel, dest);
        }
        let name = rel.file_name().unwrap_or_default();
        let target = if dest_is_dir || self.staging.join(dest).is_dir() {
            dest.join(name)
        } else {
            dest.to_path_buf()
        };
        self.copy_file(root, &rel, &target, strategy)
    }

    fn copy_dir(
        &mut self,
        root: &Path,
        rel: &Path,
        target: &Path,
        excludes: &Excludes,
        selection_root: &Path,
        strategy: CopyStrategy,
    ) -> Result<(), OpError> {
        self.make_dir(target)?;
        let mut entries = Vec::new();
        walk(root, rel, &mut entries)?;
        let mut skipped: Vec<PathBuf> = Vec::new();
        for (entry, is_dir) in entries {
            if skipped.iter().any(|s| entry.starts_with(s)) {
                continue;
            }
            if excludes.excluded(&entry, selection_root) {
                if is_dir {
                    skipped.push(entry);
                }
                continue;
            }
            let below = entry.strip_prefix(rel).unwrap_or(&entry);
            let to = target.join(below);
            if is_dir {
                self.make_dir(&to)?;
            } else {
                self.copy_file(root, &entry, &to, strategy)?;
            }
        }
        Ok(())
    }

    /// Copies (or merges) the file `rel` of the source at `root` to
    /// `target` in staging.
    fn copy_file(
        &mut self,
        root: &Path,
        rel: &Path,
        target: &Path,
        strategy: CopyStrategy,
    ) -> Result<(), OpError> {
        let src = resolve_file(root, rel)?;
        let dest = self.staging.join(target);
        if let Some(parent) = target.parent() {
            self.make_dir(parent)?;
        }
        let existing = fs::symlink_metadata(&dest).ok();
        if existing.as_ref().is_some_and(|m| m.is_dir()) {
            return Err(OpError::Invalid(format!(
                "destination '{}' is a directory",
                target.display()
            )));
        }
        let meta = fs::metadata(&src).map_err(|e| io_error("reading", &src, e))?;
        if strategy == CopyStrategy::Merge && existing.is_some() {
            let base = self.read_bounded(&dest, target)?;
            let overlay = self.read_bounded(&src, rel)?;
            let merged = merge::merge_files(
                &target.display().to_string(),
                &base,
                &rel.display().to_string(),
                &overlay,
            )
            .map_err(|e| OpError::Invalid(e.to_string()))?;
            return self.write(&dest, target, merged.as_bytes(), false);
        }
        self.count(meta.len(), target)?;
        let mut input = fs::File::open(&src).map_err(|e| io_error("opening", &src, e))?;
        let _ = fs::remove_file(&dest);
        let mut out = fs::File::create(&dest).map_err(|e| io_error("creating", &dest, e))?;
        // Bounded by the declared size: a file growing under us is cut off.
        let copied = std::io::copy(&mut (&mut input).take(meta.len()), &mut out)
            .map_err(|e| io_error("copying to", &dest, e))?;
        debug_assert!(copied <= meta.len());
        let executable = meta.permissions().mode() & 0o111 != 0;
        set_mode(&dest, executable)
    }

    fn read_bounded(&self, path: &Path, name: &Path) -> Result<String, OpError> {
        let len = fs::metadata(path)
            .map_err(|e| io_error("reading", path, e))?
            .len();
        if len > self.limits.max_bytes {
            return Err(OpError::TooLarge(format!(
                "'{}' is larger than the limit of {} bytes",
                name.display(),
                self.limits.max_bytes
            )));
        }
        let mut text = String::new();
        fs::File::open(path)
            .and_then(|f| f.take(len).read_to_string(&mut text))
            .map_err(|e| io_error("reading", path, e))?;
        Ok(text)
    }

    fn write(
        &mut self,
        dest: &Path,
        target: &Path,
        bytes: &[u8],
        executable: bool,
    ) -> Result<(), OpError> {
        self.count(bytes.len() as u64, target)?;
        let _ = fs::remove_file(dest);
        fs::File::create(dest)
            .and_then(|mut f| f.write_all(bytes))
            .map_err(|e| io_error("writing", dest, e))?;
        set_mode(dest, executable)
    }

    fn count(&mut self, bytes: u64, target: &Path) -> Result<(), OpError> {
        self.bytes = self.bytes.saturating_add(bytes);
        self.files += 1;
        if self.bytes > self.limits.max_bytes {
            return Err(OpError::TooLarge(format!(
                "the artifact is larger than the limit of {} bytes (at '{}')",
                self.limits.max_bytes,
                target.display()
            )));
        }
        if self.files > self.limits.max_files {
            return Err(OpError::TooLarge(format!(
                "the artifact has more than {} files",
                self.limits.max_files
            )));
        }
        Ok(())
    }

    /// Creates `rel` (and its parents) in staging, refusing to go through
    /// anything that is not a directory.
    fn make_dir(&self, rel: &Path) -> Result<(), OpError> {
        let mut path = self.staging.clone();
        for c in rel.components() {
            path.push(c);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(OpError::Invalid(format!(
                        "destination '{}' is a file, not a directory",
                        path.strip_prefix(&self.staging).unwrap_or(&path).display()
                    )));
                }
                Err(_) => fs::create_dir(&path).map_err(|e| io_error("creating", &path, e))?,
            }
        }
        Ok(())
    }

    /// Unpacks the tarball `rel` of the source at `root` into `dest`.
    fn extract(&mut self, root: &Path, rel: &Path, dest: &Path) -> Result<(), OpError> {
        let src = resolve_file(root, rel)?;
        self.extracted += 1;
        let unpacked = self.work.join(format!("extract-{}", self.extracted));
        let file = fs::File::open(&src).map_err(|e| io_error("opening", &src, e))?;
        let limits = ferroflux_runtime::artifact::Limits {
            max_unpacked_bytes: self.limits.max_bytes.saturating_sub(self.bytes),
            max_entries: self.limits.max_files,
        };
        ferroflux_runtime::artifact::extract(file, &unpacked, &limits).map_err(|e| {
            let message = format!("unpacking '{}': {e}", rel.display());
            use ferroflux_runtime::artifact::ArtifactError;
            if matches!(
                e,
                ArtifactError::TooLarge { .. }
                    | ArtifactError::UnpackedSizeLimit { .. }
                    | ArtifactError::EntryCountLimit { .. }
            ) {
                OpError::TooLarge(message)
            } else {
                OpError::Invalid(message)
            }
        })?;
        let result = self.copy_dir(
            &unpacked,
            Path::new(""),
            dest,
            &Excludes::default(),
            Path::new(""),
            CopyStrategy::Overwrite,
        );
        let _ = fs::remove_dir_all(&unpacked);
        result
    }
}

/// `@alias/pattern` split.
fn parse_from(from: &str) -> Result<(&str, &str), OpError> {
    let rest = from
        .strip_prefix('@')
        .ok_or_else(|| OpError::Invalid("from must start with '@'".to_string()))?;
    let (alias, pattern) = rest
        .split_once('/')
        .ok_or_else(|| OpError::Invalid("from must be '@alias/<path>'".to_string()))?;
    if pattern.starts_with('/') {
        return Err(OpError::Invalid(format!(
            "source path '{pattern}' is absolute"
        )));
    }
    if Path::new(pattern)
        .components()
        .any(|c| matches!(c, Component::ParentDir))
    {
        return Err(OpError::Invalid(format!(
            "source path '{pattern}' contains '..'"
        )));
    }
    Ok((alias, pattern))
}

/// `@artifact/path`: the relative destination, and whether it names a
/// directory (a trailing `/`, or the artifact root).
fn parse_to(to: &str) -> Result<(PathBuf, bool), OpError> {
    let rest = to
        .strip_prefix("@artifact/")
        .ok_or_else(|| OpError::Invalid("to must start with '@artifact/'".to_string()))?;
    if rest.starts_with('/') {
        return Err(OpError::Invalid(format!(
            "destination '{rest}' is absolute"
        )));
    }
    let dest = clean_relative(rest)
        .ok_or_else(|| OpError::Invalid(format!("destination '{rest}' leaves the artifact")))?;
    let is_dir = rest.is_empty() || rest.ends_with('/') || dest.as_os_str().is_empty();
    Ok((dest, is_dir))
}

/// `path` without `.` components; `None` when it is absolute or has `..`.
fn clean_relative(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// The path segments before the first one with a glob character.
fn literal_prefix(pattern: &str) -> PathBuf {
    pattern
        .split('/')
        .take_while(|s| !is_glob(s))
        .filter(|s| !s.is_empty() && *s != ".")
        .collect()
}

fn glob(pattern: &str) -> Result<GlobMatcher, OpError> {
    let trimmed = pattern.trim_end_matches('/');
    let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
    GlobBuilder::new(trimmed)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| OpError::Invalid(format!("invalid glob pattern '{pattern}': {e}")))
}

fn is_tarball(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// The `exclude` globs of an operation.
#[derive(Default)]
struct Excludes {
    /// Patterns with a `/`, matched against paths.
    paths: Vec<GlobMatcher>,
    /// Patterns without one, matched against file names.
    names: Vec<GlobMatcher>,
}

impl Excludes {
    fn new(patterns: &[String]) -> Result<Self, OpError> {
        let mut out = Self::default();
        for p in patterns {
            let m =
                glob(p).map_err(|_| OpError::Invalid(format!("invalid exclude pattern '{p}'")))?;
            if p.contains('/') {
                out.paths.push(m);
            } else {
                out.names.push(m);
            }
        }
        Ok(out)
    }

    /// Whether `rel` (from the source root) is excluded, matched from the
    /// root and from `base`.
    fn excluded(&self, rel: &Path, base: &Path) -> bool {
        if let Some(name) = rel.file_name()
            && self.names.iter().any(|m| m.is_match(name))
        {
            return true;
        }
        let below = rel
            .strip_prefix(base)
            .ok()
            .filter(|b| !b.as_os_str().is_empty());
        self.paths
            .iter()
            .any(|m| m.is_match(rel) || below.is_some_and(|b| m.is_match(b)))
    }
}

/// Every entry below `root/rel` (not `rel` itself), as paths from `root`
/// with whether each is a directory, in name order. Symlinks are listed as
/// files (they are resolved when copied).
fn walk(root: &Path, rel: &Path, out: &mut Vec<(PathBuf, bool)>) -> Result<(), OpError> {
    let dir = root.join(rel);
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .map_err(|e| io_error("listing", &dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| io_error("listing", &dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = rel.join(entry.file_name());
        let ty = entry
            .file_type()
            .map_err(|e| io_error("reading", &entry.path(), e))?;
        if ty.is_dir() {
            out.push((path.clone(), true));
            walk(root, &path, out)?;
        } else {
            out.push((path, false));
        }
    }
    Ok(())
}

/// The real path of the file `rel` in the source at `root`: a symlink
/// must resolve to a regular file inside the source.
fn resolve_file(root: &Path, rel: &Path) -> Result<PathBuf, OpError> {
    let path = root.join(rel);
    let meta = fs::symlink_metadata(&path).map_err(|e| io_error("reading", &path, e))?;
    if !meta.is_file() && !meta.file_type().is_symlink() {
        return Err(OpError::Invalid(format!(
            "'{}' is not a regular file",
            rel.display()
        )));
    }
    // Through symlinked parents or a symlink itself, the file must stay
    // in the source.
    let target = inside(root, rel, rel)?;
    if !fs::metadata(&target).is_ok_and(|m| m.is_file()) {
        return Err(OpError::Invalid(format!(
            "symlink '{}' does not point at a regular file",
            rel.display()
        )));
    }
    Ok(target)
}

/// The real path of `rel` in the source at `root`, refused (naming
/// `named`) when it resolves outside the source.
fn inside(root: &Path, rel: &Path, named: &Path) -> Result<PathBuf, OpError> {
    let real_root = fs::canonicalize(root).map_err(|e| io_error("resolving", root, e))?;
    let target = fs::canonicalize(root.join(rel)).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            OpError::Invalid(format!(
                "'{}' does not exist or is a dangling symlink",
                named.display()
            ))
        } else {
            io_error("resolving", &root.join(rel), e)
        }
    })?;
    if !target.starts_with(&real_root) {
        return Err(OpError::Invalid(format!(
            "'{}' resolves through a symlink to outside the source",
            named.display()
        )));
    }
    Ok(target)
}

fn set_mode(path: &Path, executable: bool) -> Result<(), OpError> {
    let mode = if executable { 0o755 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| io_error("setting the mode of", path, e))
}
