//! Real Git peers for the tests: repositories built with the git CLI, served
//! by `git daemon`, by `git http-backend` behind a small axum server (with
//! optional basic/bearer auth and a request log; both from
//! `ferroflux-testsupport`), and over file://.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs git with an isolated configuration and fixed identity; returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A work repository and the bare repository `repos/repo.git` it is pushed to.
pub struct Fixture {
    pub root: tempfile::TempDir,
    pub work: PathBuf,
    pub repos: PathBuf,
    pub bare: PathBuf,
}

/// Commits of the fixture, by role.
pub struct Commits {
    pub first: String,
    pub master: String,
    pub feature: String,
    pub pr: String,
    pub v1_0_0: String,
    pub v1_2_0: String,
    pub v2_rc: String,
}

impl Fixture {
    /// master: c1 (v1.0.0, lightweight) -> c2 (v1.2.0, annotated) -> c3 (v2.0.0-rc.1, annotated; `latest`, `v0.9`)
    /// feature/x: c2 -> f1; refs/pull/1/head: c3 -> p1 (on no branch).
    pub fn new() -> (Fixture, Commits) {
        let root = tempfile::tempdir().expect("tempdir");
        let work = root.path().join("work");
        let repos = root.path().join("repos");
        let bare = repos.join("repo.git");
        std::fs::create_dir_all(&work).expect("mkdir");
        std::fs::create_dir_all(&repos).expect("mkdir");
        git(&work, &["init", "-q", "-b", "master"]);
        let f = Fixture {
            root,
            work,
            repos,
            bare,
        };
        let first = f.commit("one");
        git(&f.work, &["tag", "v1.0.0"]);
        let second = f.commit("two");
        git(&f.work, &["tag", "-a", "v1.2.0", "-m", "release 1.2.0"]);
        git(&f.work, &["checkout", "-q", "-b", "feature/x"]);
        let feature = f.commit("feature");
        git(&f.work, &["checkout", "-q", "master"]);
        let third = f.commit("three");
        git(&f.work, &["tag", "-a", "v2.0.0-rc.1", "-m", "rc"]);
        git(&f.work, &["tag", "latest"]);
        git(&f.work, &["tag", "v0.9"]);
        git(&f.work, &["checkout", "-q", "--detach"]);
        let pr = f.commit("pull request");
        git(&f.work, &["update-ref", "refs/pull/1/head", &pr]);
        git(&f.work, &["checkout", "-q", "master"]);
        git(
            f.root.path(),
            &["init", "-q", "--bare", "-b", "master", path_str(&f.bare)],
        );
        git(&f.work, &["push", "-q", path_str(&f.bare), "refs/*:refs/*"]);
        // Let `git daemon` and `git http-backend` serve it.
        git(&f.bare, &["config", "http.receivepack", "false"]);
        let commits = Commits {
            first: first.clone(),
            master: third.clone(),
            feature,
            pr,
            v1_0_0: first,
            v1_2_0: second,
            v2_rc: third,
        };
        (f, commits)
    }

    /// Writes `version.txt` = `content` (and a nested file, a symlink) and commits.
    pub fn commit(&self, content: &str) -> String {
        std::fs::write(self.work.join("version.txt"), content).expect("write");
        std::fs::create_dir_all(self.work.join("dir")).expect("mkdir");
        std::fs::write(self.work.join("dir/nested.yaml"), format!("v: {content}\n"))
            .expect("write");
        let link = self.work.join("link");
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink("version.txt", &link).expect("symlink");
        }
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "-q", "-m", content]);
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// Commits on master and pushes it; returns the new commit.
    pub fn push_new_commit(&self, content: &str) -> String {
        git(&self.work, &["checkout", "-q", "master"]);
        let id = self.commit(content);
        git(&self.work, &["push", "-q", path_str(&self.bare), "master"]);
        id
    }

    pub fn file_url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Git servers (`git daemon`; `git http-backend` with auth, TLS and a
/// request log) and the certificates for HTTPS.
pub use ferroflux_testsupport::git::{Daemon, HttpServer, Seen, ServerAuth};
pub use ferroflux_testsupport::tls::TestCerts;
