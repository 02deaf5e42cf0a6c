//! Writing the files of one commit into a directory (no `.git`), after
//! checking the commit's files against the size limits.
//!
//! The check reads only object headers (type and size; a packed delta's
//! result size is in its first bytes), so a 2 GB blob costs a few bytes of
//! inflating and is refused before a byte is written. gix then writes the
//! accepted files; it inflates each blob whole into a buffer per checkout
//! thread (gix has no streaming read for packed objects, and deltas need the
//! whole base anyway), so the memory a checkout takes is bounded by
//! threads × the per-file limit, never by the repository.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::error::GitError;

/// Default largest total size of a commit's files: kustomize-controller's
/// default limit on an unpacked artifact, so every artifact stored can be
/// consumed.
pub const DEFAULT_MAX_SIZE: u64 = 1024 * 1024 * 1024;
/// Default largest file: GitHub's hard limit per file, so no repository
/// hosted there is refused for one file.
pub const DEFAULT_FILE_MAX_SIZE: u64 = 100 * 1024 * 1024;

/// Size limits on the files of a checkout (symlinks count their target's
/// length, as Git stores them; submodules count nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckoutLimits {
    /// All files together, in bytes (`--git-max-size`).
    pub max_size: u64,
    /// Any one file, in bytes (`--git-file-max-size`).
    pub file_max_size: u64,
}

impl Default for CheckoutLimits {
    fn default() -> Self {
        Self {
            max_size: DEFAULT_MAX_SIZE,
            file_max_size: DEFAULT_FILE_MAX_SIZE,
        }
    }
}

/// What the files of a tree come to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeSize {
    /// Bytes of all files.
    pub bytes: u64,
    /// Files (and symlinks).
    pub files: u64,
    /// The largest file and its size.
    pub largest: Option<(String, u64)>,
}

/// Adds up the sizes of the files of `tree` from the object headers, without
/// inflating any blob, and refuses the tree when a file or the whole is over
/// `limits`. The message names the file and the limit.
pub(crate) fn check_tree(
    repo: &gix::Repository,
    tree: gix::ObjectId,
    limits: &CheckoutLimits,
    url: &str,
) -> Result<TreeSize, GitError> {
    let fail = |e: &dyn std::fmt::Display| GitError::GitOperationFailed {
        url: url.to_string(),
        message: format!("reading the tree of the commit: {e}"),
    };
    let mut size = TreeSize::default();
    let mut stack: Vec<(gix::ObjectId, String)> = vec![(tree, String::new())];
    while let Some((id, prefix)) = stack.pop() {
        let object = repo.find_tree(id).map_err(|e| fail(&e))?;
        let decoded = object.decode().map_err(|e| fail(&e))?;
        for entry in &decoded.entries {
            let path = if prefix.is_empty() {
                entry.filename.to_string()
            } else {
                format!("{prefix}/{}", entry.filename)
            };
            if entry.mode.is_tree() {
                stack.push((entry.oid.to_owned(), path));
                continue;
            }
            if !entry.mode.is_blob_or_symlink() {
                continue; // a submodule: an empty directory
            }
            let bytes = repo
                .find_header(entry.oid.to_owned())
                .map_err(|e| fail(&e))?
                .size();
            if bytes > limits.file_max_size {
                return Err(GitError::TooLarge {
                    message: format!(
                        "file '{}' is {bytes} bytes, over the limit of {} bytes per file (--git-file-max-size)",
                        shown(&path),
                        limits.file_max_size
                    ),
                });
            }
            size.bytes = size.bytes.saturating_add(bytes);
            size.files += 1;
            if size.largest.as_ref().is_none_or(|(_, b)| bytes > *b) {
                size.largest = Some((path, bytes));
            }
        }
    }
    if size.bytes > limits.max_size {
        let largest = size
            .largest
            .as_ref()
            .map(|(path, bytes)| format!("; the largest is '{}' ({bytes} bytes)", shown(path)))
            .unwrap_or_default();
        return Err(GitError::TooLarge {
            message: format!(
                "the {} files of the commit total {} bytes, over the limit of {} bytes (--git-max-size){largest}",
                size.files, size.bytes, limits.max_size
            ),
        });
    }
    Ok(size)
}

/// A path as a message shows it: at most 200 characters, the end kept.
fn shown(path: &str) -> String {
    const MAX: usize = 200;
    let count = path.chars().count();
    if count <= MAX {
        return path.to_string();
    }
    let tail: String = path.chars().skip(count - MAX).collect();
    format!("...{tail}")
}

/// Writes the tree of `commit` from `repo` into `dest`, which must be absent
/// or empty. Symlinks are written as symlinks; submodules as empty directories.
pub(crate) fn write_tree(
    repo: &gix::Repository,
    commit: gix::ObjectId,
    dest: &Path,
    interrupt: &AtomicBool,
) -> Result<(), GitError> {
    let fail = |e: &dyn std::fmt::Display| GitError::storage(dest, e);
    if dest.exists() {
        let mut entries = std::fs::read_dir(dest).map_err(|e| fail(&e))?;
        if entries.next().is_some() {
            return Err(fail(&"checkout destination is not empty"));
        }
    } else {
        std::fs::create_dir_all(dest).map_err(|e| fail(&e))?;
    }
    let tree = repo
        .find_commit(commit)
        .map_err(|e| fail(&e))?
        .tree_id()
        .map_err(|e| fail(&e))?;
    let mut index = repo.index_from_tree(&tree).map_err(|e| fail(&e))?;
    let mut options = repo
        .checkout_options(gix::worktree::stack::state::attributes::Source::IdMapping)
        .map_err(|e| fail(&e))?;
    options.destination_is_initially_empty = true;
    // Writing tens of thousands of small files is the slow part of a
    // checkout; spread it over the machine's cores.
    options.thread_limit = std::thread::available_parallelism().ok().map(|n| n.get());
    let objects = repo.objects.clone().into_arc().map_err(|e| fail(&e))?;
    let outcome = gix::worktree::state::checkout(
        &mut index,
        dest,
        objects,
        &gix::progress::Discard,
        &gix::progress::Discard,
        interrupt,
        options,
    )
    .map_err(|e| fail(&e))?;
    if let Some(error) = outcome.errors.first() {
        return Err(fail(&format!(
            "cannot write '{}': {}",
            error.path, error.error
        )));
    }
    if let Some(collision) = outcome.collisions.first() {
        return Err(fail(&format!("path collision on '{}'", collision.path)));
    }
    Ok(())
}
