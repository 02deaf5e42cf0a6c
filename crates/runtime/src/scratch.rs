//! Scratch space: the one directory a controller keeps its temporary files
//! in (checkouts, archives being built, unpacked artifacts, SSH key files).
//!
//! A controller killed with SIGKILL cannot clean up after itself, so the
//! directory is emptied when the controller starts, and again on every exit
//! path it controls (return from `main`, SIGTERM/SIGINT through the graceful
//! shutdown, an error, a panic that unwinds, [`clean_before_exit`] before
//! `std::process::exit`).
//!
//! Cleaning at start-up must never delete another process's files, so the
//! directory belongs to one process at a time: [`Scratch::open`] takes an
//! exclusive lock (`flock`) on a lock file inside it and refuses a directory
//! that another live process holds. The kernel drops the lock when its holder
//! dies, however it dies. Each controller gets its own directory
//! (`--scratch-path`, default `<system temp dir>/ferroflux-<controller>`), and
//! several installations on one machine (the end-to-end tests) pass each
//! controller a directory of its own.
//!
//! [`Scratch::make_process_default`] makes the directory the default of the
//! `tempfile` crate, so a temporary file made anywhere in the process without
//! naming a directory lands there too.

use std::fs::{self, File, TryLockError};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

/// The lock file inside the scratch directory (kept while the owner runs).
const LOCK_FILE: &str = ".lock";

/// The directory registered for [`clean_before_exit`].
static REGISTERED: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Failure to take the scratch directory.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    /// A file-system operation failed.
    #[error("scratch directory {path}: {op}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Another live process holds the directory.
    #[error(
        "scratch directory {0} is in use by another process; give each controller its own --scratch-path"
    )]
    InUse(PathBuf),
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ScratchError + 'a {
    move |source| ScratchError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// The `--scratch-path` flag.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ScratchArgs {
    /// Directory for this controller's temporary files, emptied at start-up
    /// and on exit; one process at a time may use it
    /// [default: <system temp dir>/ferroflux-<controller>].
    #[arg(long)]
    pub scratch_path: Option<PathBuf>,
}

impl ScratchArgs {
    /// The directory for `controller`: the flag, or its default.
    pub fn path_for(&self, controller: &str) -> PathBuf {
        self.scratch_path
            .clone()
            .unwrap_or_else(|| default_path(controller))
    }
}

/// A controller's `main` around its scratch directory: opens it first (so
/// what a killed run left is gone before any work), makes it the default
/// for temporary files, runs `body`, and removes it on every way out,
/// error or not, before turning the result into the exit code (logged).
pub async fn run_main<F, E>(controller: &str, args: &ScratchArgs, body: F) -> ExitCode
where
    F: AsyncFnOnce(&Scratch) -> Result<(), E>,
    E: std::fmt::Display,
{
    let scratch = match Scratch::open(args.path_for(controller)) {
        Ok((scratch, removed)) => {
            tracing::info!(path = %scratch.path().display(), removed, "scratch directory ready");
            scratch
        }
        Err(e) => {
            tracing::error!(error = %e, "{controller} stopped");
            return ExitCode::FAILURE;
        }
    };
    scratch.make_process_default();
    let result = body(&scratch).await;
    drop(scratch);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "{controller} stopped");
            ExitCode::FAILURE
        }
    }
}

/// `<system temp dir>/ferroflux-<controller>`.
pub fn default_path(controller: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ferroflux-{controller}"))
}

/// The controller's scratch directory, held for the life of the process;
/// emptied (and removed) when dropped.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
    /// Holds the `flock`; closing it releases the directory.
    lock: Option<File>,
}

impl Scratch {
    /// Takes `dir` (created if missing, mode 0700), refusing it if another
    /// process holds it, and empties it of what a killed run left. Returns
    /// the directory with what was removed (entries at the top level).
    pub fn open(dir: impl Into<PathBuf>) -> Result<(Scratch, usize), ScratchError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
        // Checkouts may hold secrets of the repositories they come from.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
            .map_err(io_err("setting permissions on", &dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err("opening", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(ScratchError::InUse(dir)),
            Err(TryLockError::Error(e)) => return Err(io_err("locking", &lock_path)(e)),
        }
        let scratch = Scratch {
            dir,
            lock: Some(lock),
        };
        let removed = scratch.clean()?;
        *REGISTERED.lock().unwrap_or_else(|e| e.into_inner()) = Some(scratch.dir.clone());
        Ok((scratch, removed))
    }

    /// Makes the directory the `tempfile` crate's default for the rest of the
    /// process, so temporary files made without naming a directory land
    /// here too. For a controller's `main`; only the first call in a process
    /// takes effect.
    pub fn make_process_default(&self) {
        if tempfile::env::override_temp_dir(&self.dir).is_err() {
            tracing::warn!(dir = %self.dir.display(), "the default temporary directory was already set");
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// A new private directory inside the scratch directory, removed when
    /// the returned value is dropped.
    pub fn tempdir(&self, prefix: &str) -> io::Result<tempfile::TempDir> {
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(&self.dir)
    }

    /// Removes everything in the directory but the lock file; returns how
    /// many top-level entries there were.
    pub fn clean(&self) -> Result<usize, ScratchError> {
        empty_dir(&self.dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = self.clean() {
            tracing::warn!(error = %e, "cleaning the scratch directory");
        }
        let mut registered = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
        if registered.as_deref() == Some(self.dir.as_path()) {
            *registered = None;
        }
        // Remove the lock file while still holding the lock, then let go.
        let _ = fs::remove_file(self.dir.join(LOCK_FILE));
        drop(self.lock.take());
        let _ = fs::remove_dir(&self.dir);
    }
}

/// Empties the scratch directory of this process (if one was opened), for
/// exits that skip destructors (`std::process::exit`).
pub fn clean_before_exit() {
    let dir = REGISTERED.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(dir) = dir
        && let Err(e) = empty_dir(&dir)
    {
        tracing::warn!(error = %e, "cleaning the scratch directory");
    }
}

fn empty_dir(dir: &Path) -> Result<usize, ScratchError> {
    let mut removed = 0;
    for entry in fs::read_dir(dir).map_err(io_err("listing", dir))? {
        let entry = entry.map_err(io_err("listing", dir))?;
        if entry.file_name() == LOCK_FILE {
            continue;
        }
        let path = entry.path();
        // DirEntry::file_type does not follow symlinks: a link is removed, never
        // what it points at.
        let is_dir = entry
            .file_type()
            .map_err(io_err("reading", &path))?
            .is_dir();
        let result = if is_dir {
            remove_tree(&path)
        } else {
            fs::remove_file(&path)
        };
        match result {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("removing", &path)(e)),
        }
    }
    Ok(removed)
}

/// `remove_dir_all`, after making directories writable: a checkout can hold
/// read-only directories whose entries could not be removed otherwise.
fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            let mut stack = vec![path.to_path_buf()];
            while let Some(d) = stack.pop() {
                let _ = fs::set_permissions(&d, fs::Permissions::from_mode(0o700));
                for entry in fs::read_dir(&d)?.flatten() {
                    if entry.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(entry.path());
                    }
                }
            }
            fs::remove_dir_all(path)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_go_at_open_and_everything_on_drop() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("ferroflux-test-controller");
        fs::create_dir_all(dir.join("checkout-x/deep/er")).unwrap();
        fs::write(dir.join("checkout-x/deep/er/file"), "x").unwrap();
        fs::write(dir.join("stray"), "y").unwrap();
        let outside = base.path().join("outside");
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("keep"), "z").unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();
        // A read-only directory from a checkout.
        fs::create_dir_all(dir.join("ro/sub")).unwrap();
        fs::set_permissions(dir.join("ro"), fs::Permissions::from_mode(0o500)).unwrap();

        let (scratch, removed) = Scratch::open(&dir).unwrap();
        assert_eq!(removed, 4);
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(LOCK_FILE)]);
        assert!(outside.join("keep").exists(), "a link's target is kept");

        let work = scratch.tempdir("work-").unwrap();
        assert!(work.path().starts_with(&dir));
        let kept = work.keep();
        fs::write(kept.join("f"), "x").unwrap();
        drop(scratch);
        assert!(!dir.exists(), "the directory is gone after drop");
    }

    #[test]
    fn a_held_directory_is_refused_and_freed_with_its_holder() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("held");
        let (first, _) = Scratch::open(&dir).unwrap();
        fs::write(dir.join("busy"), "in use").unwrap();
        let err = Scratch::open(&dir).unwrap_err();
        assert!(matches!(err, ScratchError::InUse(_)), "{err}");
        assert!(
            dir.join("busy").exists(),
            "the holder's files are untouched"
        );
        drop(first);
        let (again, removed) = Scratch::open(&dir).unwrap();
        assert_eq!(removed, 0);
        drop(again);
    }

    #[test]
    fn the_default_is_per_controller() {
        let args = ScratchArgs::default();
        assert_eq!(
            args.path_for("source-controller"),
            std::env::temp_dir().join("ferroflux-source-controller")
        );
        let args = ScratchArgs {
            scratch_path: Some("/work/x".into()),
        };
        assert_eq!(args.path_for("source-controller"), PathBuf::from("/work/x"));
    }
}
