//! The local object cache: one bare repository per remote URL, reused across
//! reconciles so an unchanged remote costs a ref listing and no fetch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use gix::protocol::transport::client::blocking_io::Transport;
use gix::remote::fetch::Shallow;
use sha2::{Digest, Sha256};

use super::error::GitError;
use super::transport::Remote;

/// Past this many packs the cache is rebuilt instead of growing forever
/// (every fetch adds one pack and nothing here repacks).
const MAX_PACKS: usize = 64;

/// The cache directory for `url` under `cache_dir`: a hash of the URL, so
/// the name reveals nothing about it.
pub fn cache_path(cache_dir: &Path, url: &str) -> PathBuf {
    let digest = Sha256::digest(url.as_bytes());
    cache_dir.join(hex::encode(&digest[..16]))
}

/// Guards one cache directory within this process: checkouts of commits
/// the cache has read it together; a fetch or a rebuild writes it alone.
pub(crate) fn lock(path: &Path) -> Arc<RwLock<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<RwLock<()>>>>> = OnceLock::new();
    let mut map = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    map.entry(path.to_path_buf()).or_default().clone()
}

fn open_options(alloc_limit: u64) -> gix::open::Options {
    // Ignore the environment and global/system git config: the cache must behave
    // the same everywhere and never pick up credential helpers or URL rewrites.
    // Every object gix inflates (indexing a received pack included, which
    // holds each object whole to hash it) is held to `alloc_limit` bytes.
    gix::open::Options::isolated()
        .config_overrides([format!("gitoxide.objects.allocLimit={alloc_limit}")])
}

/// Opens the cache repository if it exists and is usable as it is (for
/// readers, who may not rebuild it).
pub(crate) fn open_existing(path: &Path, alloc_limit: u64) -> Option<gix::Repository> {
    if !path.exists() || pack_count(path) > MAX_PACKS {
        return None;
    }
    gix::open_opts(path, open_options(alloc_limit)).ok()
}

/// Opens the cache repository, creating (or re-creating, if unusable or too
/// fragmented) it as needed. No object larger than `alloc_limit` bytes is
/// ever inflated from it (or received into it).
pub(crate) fn open(path: &Path, alloc_limit: u64) -> Result<gix::Repository, GitError> {
    if path.exists() {
        let usable = gix::open_opts(path, open_options(alloc_limit))
            .ok()
            .filter(|_| pack_count(path) <= MAX_PACKS);
        if let Some(repo) = usable {
            return Ok(repo);
        }
        std::fs::remove_dir_all(path).map_err(|e| GitError::storage(path, e))?;
    }
    std::fs::create_dir_all(path).map_err(|e| GitError::storage(path, e))?;
    gix::ThreadSafeRepository::init_opts(
        path,
        gix::create::Kind::Bare,
        gix::create::Options::default(),
        open_options(alloc_limit),
    )
    .map(|repo| repo.to_thread_local())
    .map_err(|e| GitError::storage(path, e))
}

fn pack_count(path: &Path) -> usize {
    std::fs::read_dir(path.join("objects").join("pack"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
                .count()
        })
        .unwrap_or(0)
}

/// True if `commit` and its root tree are in the cache.
pub(crate) fn has_commit(repo: &gix::Repository, commit: gix::ObjectId) -> bool {
    repo.find_commit(commit)
        .ok()
        .and_then(|c| c.tree_id().ok())
        .is_some_and(|tree| repo.has_object(tree))
}

/// True if `target` is `tip` or one of its ancestors, as far as the cache knows.
pub(crate) fn reachable(repo: &gix::Repository, tip: gix::ObjectId, target: gix::ObjectId) -> bool {
    if tip == target {
        return has_commit(repo, target);
    }
    let Ok(walk) = repo.rev_walk([tip]).all() else {
        return false;
    };
    for info in walk {
        match info {
            Ok(info) if info.id == target => return has_commit(repo, target),
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// True if the cache has a shallow boundary.
pub(crate) fn is_shallow(repo: &gix::Repository) -> bool {
    // When unknown, assume shallow: undoing a boundary that is not there is harmless.
    repo.is_shallow().unwrap_or(true)
}

/// A fetch prepared on its own connection: the remote's refs are listed
/// (one handshake + `ls-refs`), nothing is received yet.
pub(crate) type PreparedFetch<'repo> =
    gix::remote::fetch::Prepare<'static, 'repo, Box<dyn Transport + Send>>;

/// Fetches `refspecs` from `remote` into the cache repository.
pub(crate) fn fetch(
    remote: &Remote,
    repo: &gix::Repository,
    refspecs: &[String],
    shallow: Shallow,
) -> Result<(), GitError> {
    let prepared = prepare_fetch(remote, repo, refspecs)?;
    receive(remote, prepared, shallow)
}

/// Connects to `remote` and lists the refs `refspecs` name, ready to
/// [`receive`] them into the cache repository; dropping the result instead
/// ends the connection without fetching.
pub(crate) fn prepare_fetch<'repo>(
    remote: &Remote,
    repo: &'repo gix::Repository,
    refspecs: &[String],
) -> Result<PreparedFetch<'repo>, GitError> {
    let transport = remote.connect()?;
    let spec = repo
        .remote_at_without_url_rewrite(remote.url.clone())
        .map_err(|e| remote.error(e))?
        .with_fetch_tags(gix::remote::fetch::Tags::None)
        .with_refspecs(
            refspecs.iter().map(String::as_str),
            gix::remote::Direction::Fetch,
        )
        .map_err(|e| remote.error(e))?;
    let mut connection = spec
        .to_connection_with_transport(transport)
        .with_credentials(remote.authenticate());
    if let Some(http) = remote.http_options() {
        connection = connection.with_transport_options(Box::new(http));
    }
    connection
        .prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(|e| remote.error(e))
}

/// Receives what `prepared` listed into the cache repository.
pub(crate) fn receive(
    remote: &Remote,
    prepared: PreparedFetch<'_>,
    shallow: Shallow,
) -> Result<(), GitError> {
    prepared
        .with_shallow(shallow)
        .receive(gix::progress::Discard, &remote.interrupt)
        .map_err(|e| remote.error(e))?;
    Ok(())
}
