//! Writing the files of one commit into a directory (no `.git`).

use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::error::GitError;

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
