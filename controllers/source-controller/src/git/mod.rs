//! Git client of source-controller, on `gix` (no `git` program at run time
//! except the system `ssh` for `ssh://` and `git-upload-pack` for `file://`).
//!
//! - [`GitSource::resolve`] lists the remote's refs (one handshake + `ls-refs`)
//!   and resolves `spec.ref` to a Flux revision, without fetching.
//! - [`GitSource::probe`] does the same and keeps the listing, which
//!   [`GitSource::checkout_probed`] reuses instead of listing again.
//! - [`GitSource::probe_cached`] lists the refs through the fetch that
//!   [`GitSource::checkout_probed`] then completes (or drops, when the cache
//!   already has the commit): a new revision costs one ref listing in all.
//! - [`GitSource::probe_shared`] is that probe shared with the other sources
//!   of the same URL, credentials and ref prefixes: one listing (and one
//!   fetch of a new revision) serves every source that accepts its age.
//! - [`GitSource::checkout`] resolves, then fetches (depth 1, only the needed
//!   ref) into a per-URL cache repository unless the cache already has the
//!   commit, and writes the commit's files into a directory.
//!
//! Both are blocking; call them from `tokio::task::spawn_blocking`.

mod auth;
mod cache;
mod checkout;
mod error;
mod refs;
mod semver_range;
mod shared;
mod transport;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use gix::remote::fetch::Shallow;

pub use auth::{Auth, DEFAULT_SSH_USER, SshAuth};
pub use cache::cache_path;
pub use checkout::{CheckoutLimits, DEFAULT_FILE_MAX_SIZE, DEFAULT_MAX_SIZE, TreeSize};
pub use error::{GitError, SIZE_LIMIT_EXCEEDED, sanitize_url};
pub use refs::{DEFAULT_BRANCH, Reference, Resolved};

use transport::Remote;

/// Flux's default `spec.timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A Git repository to follow: where, with which credentials, which reference.
#[derive(Debug, Clone)]
pub struct GitSource {
    /// `spec.url`: `https://`, `http://`, `ssh://`, `git://`, `file://` or a local path.
    pub url: String,
    /// Credentials from `spec.secretRef` ([`Auth::from_secret_data`]).
    pub auth: Auth,
    /// `spec.ref` ([`Reference::from_fields`]).
    pub reference: Reference,
    /// `spec.timeout`: bound on each operation.
    pub timeout: Duration,
    /// The `ssh` program for `ssh://` URLs (default: `ssh` from `PATH`).
    pub ssh_program: Option<PathBuf>,
    /// Size limits on the files of a checkout, checked before any is written.
    pub limits: CheckoutLimits,
}

impl GitSource {
    /// A source with no credentials and the default timeout.
    pub fn new(url: impl Into<String>, reference: Reference) -> GitSource {
        GitSource {
            url: url.into(),
            auth: Auth::default(),
            reference,
            timeout: DEFAULT_TIMEOUT,
            ssh_program: None,
            limits: CheckoutLimits::default(),
        }
    }

    /// Resolves the reference on the remote with one ref listing; fetches nothing.
    /// For a bare `commit` the listing only checks that the remote answers.
    pub fn resolve(&self) -> Result<Resolved, GitError> {
        self.probe().map(|p| p.resolved)
    }

    /// [`GitSource::resolve`], keeping the ref listing so that a checkout
    /// of the revision ([`GitSource::checkout_probed`]) does not list again.
    pub fn probe(&self) -> Result<Probe, GitError> {
        let (remote, _watchdog) = self.prepare()?;
        self.list_and_resolve(&remote)
            .map(|(resolved, listed)| Probe {
                resolved,
                listed,
                held: None,
                fetched: false,
            })
    }

    /// The revision string of [`GitSource::resolve`], e.g. `main@sha1:<hex>`.
    pub fn remote_revision(&self) -> Result<String, GitError> {
        self.resolve().map(|r| r.revision)
    }

    /// [`GitSource::probe`] as the start of the fetch into the cache under
    /// `cache_dir`: the ref listing is the fetch's own, held open (on a thread
    /// of its own, with the cache's lock) until the probe is handed to
    /// [`GitSource::checkout_probed`], which receives the pack only if the
    /// cache lacks the commit, or dropped, which ends it without fetching.
    /// For a `semver` or a bare `commit` reference the fetch cannot be known
    /// before the listing, and this is [`GitSource::probe`].
    pub fn probe_cached(&self, cache_dir: &Path) -> Result<Probe, GitError> {
        let Some(refspec) = self.held_refspec() else {
            return self.probe();
        };
        self.reference.validate()?;
        let (ready, listed) = mpsc::channel();
        let (orders, ordered) = mpsc::channel();
        let (source, path) = (self.clone(), cache_path(cache_dir, &self.url));
        std::thread::Builder::new()
            .name("git-fetch".into())
            .spawn(move || source.held_fetch(&path, refspec, ready, ordered))
            .map_err(|e| GitError::GitOperationFailed {
                url: sanitize_url(&self.url),
                message: format!("starting the fetch thread: {e}"),
            })?;
        let (resolved, listed) = listed.recv().map_err(|_| self.thread_ended())??;
        Ok(Probe {
            resolved,
            listed,
            held: Some(orders),
            fetched: false,
        })
    }

    /// [`GitSource::probe_cached`] sharing its ref listing (see
    /// [`shared`](self::shared)): a listing of the same URL, credentials and
    /// ref prefixes that this process started at or after `not_before` (and
    /// at most a few seconds ago) is reused, one under way is awaited, and
    /// otherwise this call lists, fetching a new revision of its reference
    /// into the cache at once so that the sources sharing the listing only
    /// check it out. `not_before` is the caller's freshness bound: the time
    /// a reconcile was requested, or how stale a periodic one may be.
    pub fn probe_shared(
        &self,
        cache_dir: &Path,
        not_before: SystemTime,
    ) -> Result<Probe, GitError> {
        self.reference.validate()?;
        let prefixes = self.reference.ls_refs_prefixes();
        let path = cache_path(cache_dir, &self.url);
        let (listing, led) = shared::share(
            shared::key(self, &prefixes),
            &self.url,
            not_before,
            self.timeout,
            || self.list_for_cache(&path, &prefixes),
        )?;
        let resolved = refs::resolve(&self.reference, &listing.refs, &sanitize_url(&self.url))?;
        Ok(Probe {
            resolved,
            listed: listing.refs.clone(),
            held: None,
            fetched: led && listing.fetched,
        })
    }

    /// The listing of [`GitSource::probe_shared`]'s leader: for a reference
    /// naming one ref, the cache's own fetch, received at once if the cache
    /// lacks what the reference needs (the sharers most likely need it too).
    fn list_for_cache(
        &self,
        path: &Path,
        prefixes: &[String],
    ) -> Result<shared::Listing, GitError> {
        let (remote, _watchdog) = self.prepare()?;
        let Some(refspec) = self.held_refspec() else {
            let refs = remote.list_refs(prefixes)?;
            return Ok(shared::Listing {
                refs,
                fetched: false,
            });
        };
        let lock = cache::lock(path);
        let _guard = lock
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let repo = cache::open(path, self.limits.file_max_size)?;
        let prepared = cache::prepare_fetch(&remote, &repo, &[refspec])?;
        let refs = prepared.ref_map().remote_refs.clone();
        let mut fetched = false;
        // The leader's own reference may not resolve (a missing tag) or its
        // fetch may fail: the listing still serves the others, and the
        // leader's checkout reports its error.
        if let Ok(resolved) = refs::resolve(&self.reference, &refs, &remote.display)
            && let Ok(commit) = commit_id(&resolved)
        {
            match self.ensure_held(&remote, &repo, prepared, &resolved, commit, &refs) {
                Ok(received) => fetched = received,
                Err(e) => {
                    tracing::debug!(url = %remote.display, error = %e, "fetch with the shared listing failed")
                }
            }
        }
        Ok(shared::Listing { refs, fetched })
    }

    /// Resolves the reference, makes sure the commit is in the cache under
    /// `cache_dir` (fetching only when it is not), and writes the commit's
    /// files into `dest` (created; must be absent or empty; no `.git`).
    /// A commit whose files are over [`GitSource::limits`] is refused
    /// ([`GitError::TooLarge`]) before `dest` is created.
    pub fn checkout(&self, cache_dir: &Path, dest: &Path) -> Result<Resolved, GitError> {
        let probe = self.probe_cached(cache_dir)?;
        self.checkout_probed(probe, cache_dir, dest)
    }

    /// [`GitSource::checkout`] of the revision `probe` found, with the refs
    /// it listed: a new revision costs one ref listing, not two. The probe
    /// must come from this source; one of [`GitSource::probe_cached`] must
    /// come from the same `cache_dir`.
    pub fn checkout_probed(
        &self,
        probe: Probe,
        cache_dir: &Path,
        dest: &Path,
    ) -> Result<Resolved, GitError> {
        let Probe {
            mut resolved,
            listed,
            held,
            fetched,
        } = probe;
        if let Some(orders) = held {
            let (reply, replied) = mpsc::channel();
            let order = Order {
                dest: dest.to_path_buf(),
                reply,
            };
            if orders.send(order).is_ok()
                && let Ok(checked) = replied.recv()
            {
                return checked;
            }
            // The held fetch gave up waiting (or its thread died) before
            // taking the order: check out with the listing alone.
            tracing::debug!(url = %sanitize_url(&self.url), "probe's fetch no longer held; fetching anew");
        }
        let (remote, _watchdog) = self.prepare()?;
        let commit = commit_id(&resolved)?;
        let path = cache_path(cache_dir, &self.url);
        let lock = cache::lock(&path);
        {
            // Most checkouts find the commit in the cache: they read it
            // side by side, and only a fetch takes the cache alone.
            let _reading = lock.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(repo) = cache::open_existing(&path, self.limits.file_max_size)
                && self.cache_has(&repo, commit, &listed)
            {
                resolved.fetched = fetched;
                return self.finish_checkout(&remote, &repo, resolved, commit, Ok(fetched), dest);
            }
        }
        let _guard = lock
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let repo = cache::open(&path, self.limits.file_max_size)?;
        let fetched = self.ensure_commit(&remote, &repo, &resolved, commit, &listed);
        self.finish_checkout(&remote, &repo, resolved, commit, fetched, dest)
    }

    /// The checkout's end, once the commit is in the cache (or not, `fetched`
    /// being the error): size checks, then the files into `dest`.
    fn finish_checkout(
        &self,
        remote: &Remote,
        repo: &gix::Repository,
        mut resolved: Resolved,
        commit: gix::ObjectId,
        fetched: Result<bool, GitError>,
        dest: &Path,
    ) -> Result<Resolved, GitError> {
        resolved.fetched = fetched.map_err(|e| match e {
            // Refused while fetching: say which revision.
            GitError::TooLarge { message } => GitError::TooLarge {
                message: format!("revision '{}': {message}", resolved.revision),
            },
            e => e,
        })?;
        let tree = repo
            .find_commit(commit)
            .and_then(|c| c.tree_id().map(|t| t.detach()))
            .map_err(|e| remote.error(e))?;
        let size = checkout::check_tree(repo, tree, &self.limits, &remote.display)?;
        checkout::write_tree(repo, commit, dest, &remote.interrupt).map_err(|e| {
            if remote.timed_out() {
                remote.error(gix::error::message("checkout interrupted"))
            } else {
                e
            }
        })?;
        tracing::debug!(
            url = %remote.display,
            revision = %resolved.revision,
            fetched = resolved.fetched,
            files = size.files,
            bytes = size.bytes,
            "git checkout done"
        );
        Ok(resolved)
    }

    /// True if the cache holds what checking out `commit` needs (for a
    /// commit in a branch, the branch's history down to it).
    fn cache_has(
        &self,
        repo: &gix::Repository,
        commit: gix::ObjectId,
        listed: &[gix::protocol::handshake::Ref],
    ) -> bool {
        match &self.reference {
            Reference::Commit {
                branch: Some(branch),
                ..
            } => refs::branch_tip(listed, branch)
                .is_some_and(|tip| cache::reachable(repo, tip, commit)),
            _ => cache::has_commit(repo, commit),
        }
    }

    /// The one refspec a probe's fetch can be prepared with, if the
    /// reference names a single ref.
    fn held_refspec(&self) -> Option<String> {
        let name = match &self.reference {
            Reference::Branch(_)
            | Reference::Tag(_)
            | Reference::Commit {
                branch: Some(_), ..
            } => self.reference.ls_refs_prefixes().pop()?,
            Reference::Name(_) => self
                .reference
                .ls_refs_prefixes()
                .pop()
                .filter(|n| n.starts_with("refs/"))?,
            Reference::SemVer(_) | Reference::Commit { branch: None, .. } => return None,
        };
        Some(format!("+{name}:{name}"))
    }

    fn thread_ended(&self) -> GitError {
        GitError::GitOperationFailed {
            url: sanitize_url(&self.url),
            message: "the git fetch thread ended unexpectedly".to_string(),
        }
    }

    /// The thread of [`GitSource::probe_cached`]: lists the refs by preparing
    /// the fetch of `refspec`, reports what the reference resolves to, and
    /// waits for the checkout's order (or its end, when the probe is dropped).
    fn held_fetch(
        &self,
        path: &Path,
        refspec: String,
        ready: mpsc::Sender<ProbeResult>,
        ordered: mpsc::Receiver<Order>,
    ) {
        let (remote, watchdog) = match self.prepare() {
            Ok(started) => started,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        // Every reply goes out once the connection (and with it an SSH
        // session's key files) is gone and the cache is unlocked.
        let lock = cache::lock(path);
        let guard = lock
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let repo = match cache::open(path, self.limits.file_max_size) {
            Ok(repo) => repo,
            Err(e) => {
                drop((watchdog, remote, guard));
                let _ = ready.send(Err(e));
                return;
            }
        };
        let probed = cache::prepare_fetch(&remote, &repo, &[refspec]).and_then(|prepared| {
            let listed = prepared.ref_map().remote_refs.clone();
            let resolved = refs::resolve(&self.reference, &listed, &remote.display)?;
            Ok((prepared, resolved, listed))
        });
        let (prepared, resolved, listed) = match probed {
            Ok((prepared, resolved, listed)) => {
                if ready.send(Ok((resolved.clone(), listed.clone()))).is_err() {
                    return;
                }
                (prepared, resolved, listed)
            }
            Err(e) => {
                drop((watchdog, remote, repo, guard));
                let _ = ready.send(Err(e));
                return;
            }
        };
        // Dropped probe, or none in time: the connection ends without a fetch.
        let Ok(order) = ordered.recv_timeout(self.timeout) else {
            return;
        };
        // The checkout is an operation of its own, with its own time.
        let Watchdog { flag, .. } = &watchdog;
        let flag = flag.clone();
        drop(watchdog);
        flag.store(false, Ordering::SeqCst);
        let watchdog = Watchdog::start_on(flag, self.timeout);
        let result = commit_id(&resolved).and_then(|commit| {
            let fetched = self.ensure_held(&remote, &repo, prepared, &resolved, commit, &listed);
            self.finish_checkout(&remote, &repo, resolved, commit, fetched, &order.dest)
        });
        drop((watchdog, remote, repo, guard));
        let _ = order.reply.send(result);
    }

    /// [`GitSource::ensure_commit`] with the fetch the probe prepared:
    /// received only if the cache lacks the commit.
    fn ensure_held(
        &self,
        remote: &Remote,
        repo: &gix::Repository,
        prepared: cache::PreparedFetch<'_>,
        resolved: &Resolved,
        commit: gix::ObjectId,
        listed: &[gix::protocol::handshake::Ref],
    ) -> Result<bool, GitError> {
        let missing_commit = || GitError::NotFound {
            url: remote.display.clone(),
            message: format!("unable to resolve commit object for '{}'", resolved.commit),
        };
        if let Reference::Commit {
            branch: Some(branch),
            ..
        } = &self.reference
        {
            // The commit must be in the branch's history.
            let tip = refs::branch_tip(listed, branch).ok_or_else(missing_commit)?;
            if cache::reachable(repo, tip, commit) {
                return Ok(false);
            }
            cache::receive(remote, prepared, full_history(repo))?;
            return if cache::reachable(repo, tip, commit) {
                Ok(true)
            } else {
                Err(GitError::NotFound {
                    url: remote.display.clone(),
                    message: format!(
                        "commit '{}' not found in branch '{branch}'",
                        resolved.commit
                    ),
                })
            };
        }
        if cache::has_commit(repo, commit) {
            return Ok(false);
        }
        let name = resolved.ref_name.clone().ok_or_else(missing_commit)?;
        cache::receive(remote, prepared, depth_one())?;
        if cache::has_commit(repo, commit) {
            Ok(true)
        } else {
            Err(GitError::GitOperationFailed {
                url: remote.display.clone(),
                message: format!(
                    "ref '{name}' no longer points to {} (it changed during the fetch); retry",
                    resolved.commit
                ),
            })
        }
    }

    fn prepare(&self) -> Result<(Remote, Watchdog), GitError> {
        ensure_crypto_provider();
        self.reference.validate()?;
        let watchdog = Watchdog::start(self.timeout);
        let remote = Remote::new(self, watchdog.flag.clone())?;
        Ok((remote, watchdog))
    }

    fn list_and_resolve(
        &self,
        remote: &Remote,
    ) -> Result<(Resolved, Vec<gix::protocol::handshake::Ref>), GitError> {
        let listed = remote.list_refs(&self.reference.ls_refs_prefixes())?;
        let resolved = refs::resolve(&self.reference, &listed, &remote.display)?;
        Ok((resolved, listed))
    }

    /// Makes the commit available in the cache; returns whether a fetch happened.
    fn ensure_commit(
        &self,
        remote: &Remote,
        repo: &gix::Repository,
        resolved: &Resolved,
        commit: gix::ObjectId,
        listed: &[gix::protocol::handshake::Ref],
    ) -> Result<bool, GitError> {
        let depth_one = depth_one();
        let missing_commit = || GitError::NotFound {
            url: remote.display.clone(),
            message: format!("unable to resolve commit object for '{}'", resolved.commit),
        };
        match &self.reference {
            Reference::Commit {
                branch: Some(branch),
                ..
            } => {
                // The commit must be in the branch's history.
                let tip = refs::branch_tip(listed, branch).ok_or_else(missing_commit)?;
                if cache::reachable(repo, tip, commit) {
                    return Ok(false);
                }
                let spec = format!("+refs/heads/{branch}:refs/heads/{branch}");
                cache::fetch(remote, repo, &[spec], full_history(repo))?;
                if cache::reachable(repo, tip, commit) {
                    Ok(true)
                } else {
                    Err(GitError::NotFound {
                        url: remote.display.clone(),
                        message: format!(
                            "commit '{}' not found in branch '{branch}'",
                            resolved.commit
                        ),
                    })
                }
            }
            Reference::Commit { branch: None, .. } => {
                if cache::has_commit(repo, commit) {
                    return Ok(false);
                }
                // Servers that allow it send just that commit; others need the
                // history of all branches and tags.
                let by_id = cache::fetch(
                    remote,
                    repo,
                    std::slice::from_ref(&resolved.commit),
                    depth_one,
                );
                if let Err(e) = by_id {
                    if remote.timed_out() {
                        return Err(e);
                    }
                    tracing::debug!(url = %remote.display, error = %e, "fetch by commit id refused, fetching all refs");
                }
                if !cache::has_commit(repo, commit) {
                    let specs = [
                        "+refs/heads/*:refs/heads/*".to_string(),
                        "+refs/tags/*:refs/tags/*".to_string(),
                    ];
                    cache::fetch(remote, repo, &specs, full_history(repo))?;
                }
                if cache::has_commit(repo, commit) {
                    Ok(true)
                } else {
                    Err(missing_commit())
                }
            }
            _ => {
                if cache::has_commit(repo, commit) {
                    return Ok(false);
                }
                let name = resolved.ref_name.clone().ok_or_else(missing_commit)?;
                cache::fetch(remote, repo, &[format!("+{name}:{name}")], depth_one)?;
                if cache::has_commit(repo, commit) {
                    Ok(true)
                } else {
                    Err(GitError::GitOperationFailed {
                        url: remote.display.clone(),
                        message: format!(
                            "ref '{name}' no longer points to {} (it changed during the fetch); retry",
                            resolved.commit
                        ),
                    })
                }
            }
        }
    }
}

/// What one ref listing of the remote found: the resolved revision, and the
/// refs themselves for the checkout that may follow (with, from
/// [`GitSource::probe_cached`], the fetch that listed them, held open until
/// the probe is checked out or dropped).
#[derive(Debug)]
pub struct Probe {
    /// The reference resolved on the remote.
    pub resolved: Resolved,
    listed: Vec<gix::protocol::handshake::Ref>,
    held: Option<mpsc::Sender<Order>>,
    /// The listing came with a fetch of the commit into the cache.
    fetched: bool,
}

type ProbeResult = Result<(Resolved, Vec<gix::protocol::handshake::Ref>), GitError>;

/// A checkout asked of the thread holding a probe's fetch.
#[derive(Debug)]
struct Order {
    dest: PathBuf,
    reply: mpsc::Sender<Result<Resolved, GitError>>,
}

fn commit_id(resolved: &Resolved) -> Result<gix::ObjectId, GitError> {
    gix::ObjectId::from_hex(resolved.commit.as_bytes()).map_err(|e| GitError::InvalidRef {
        message: e.to_string(),
    })
}

fn depth_one() -> Shallow {
    Shallow::DepthAtRemote(std::num::NonZeroU32::MIN)
}

/// The whole history, for a cache that may have a shallow boundary.
fn full_history(repo: &gix::Repository) -> Shallow {
    if cache::is_shallow(repo) {
        Shallow::undo()
    } else {
        Shallow::NoChange
    }
}

/// Installs ring as rustls' process-wide crypto provider if none is installed
/// (the workspace builds reqwest with `rustls-no-provider`).
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Raises the interrupt flag when the timeout passes; stops when dropped.
struct Watchdog {
    flag: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    fn start(timeout: Duration) -> Watchdog {
        Watchdog::start_on(Arc::new(AtomicBool::new(false)), timeout)
    }

    /// A watchdog raising `flag`.
    fn start_on(flag: Arc<AtomicBool>, timeout: Duration) -> Watchdog {
        let (stop, stopped) = mpsc::channel::<()>();
        let raised = flag.clone();
        let thread = std::thread::Builder::new()
            .name("git-timeout".into())
            .spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(timeout) {
                    raised.store(true, Ordering::SeqCst);
                }
            })
            .ok();
        Watchdog {
            flag,
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
