//! Missing refs are NotFound, malformed refs are InvalidRef (before any
//! network access), unreachable or hung remotes are GitOperationFailed.

use std::time::{Duration, Instant};

use source_controller::git::{GitError, Reference};

use super::fixtures::{Daemon, Fixture};
use super::{branch, source};

#[test]
fn missing_refs_are_not_found() {
    let (fx, c) = Fixture::new();
    let daemon = Daemon::start(&fx.repos);
    let url = daemon.url("repo.git");
    let cases = [
        (branch("nope"), "refs/heads/nope"),
        (Reference::Tag("v9.9.9".into()), "refs/tags/v9.9.9"),
        (
            Reference::SemVer(">=5.0.0".into()),
            "no match found for semver: >=5.0.0",
        ),
        (
            Reference::Name("refs/pull/9/head".into()),
            "refs/pull/9/head",
        ),
        (
            Reference::Commit {
                sha: c.pr.clone(),
                branch: Some("master".into()),
            },
            "not found in branch 'master'",
        ),
    ];
    for (reference, needle) in cases {
        let err = source(&url, reference.clone())
            .checkout(&fx.path("cache"), &fx.path("out"))
            .expect_err("missing");
        assert!(
            matches!(err, GitError::NotFound { .. }),
            "{reference:?}: {err:?}"
        );
        assert!(err.to_string().contains(needle), "{err}");
        assert!(err.to_string().contains(&url), "{err}");
    }
    let missing = "0123456789abcdef0123456789abcdef01234567";
    let err = source(
        &fx.file_url(),
        Reference::Commit {
            sha: missing.into(),
            branch: None,
        },
    )
    .checkout(&fx.path("cache"), &fx.path("out2"))
    .expect_err("missing commit");
    assert!(matches!(err, GitError::NotFound { .. }), "{err:?}");
}

#[test]
fn malformed_refs_are_invalid_before_any_network_access() {
    // Nothing listens here; InvalidRef must come first.
    let url = "http://127.0.0.1:9/repo.git";
    for reference in [
        Reference::SemVer("not a range".into()),
        Reference::SemVer(">= 1.x.y".into()),
        Reference::Commit {
            sha: "abc123".into(),
            branch: None,
        },
        Reference::Name("/refs/heads/main/".into()),
        branch("bad..name"),
    ] {
        let err = source(url, reference.clone())
            .resolve()
            .expect_err("invalid");
        assert!(
            matches!(err, GitError::InvalidRef { .. }),
            "{reference:?}: {err:?}"
        );
        assert!(err.is_stalling());
    }
}

#[test]
fn unreachable_and_hung_remotes_fail_in_time() {
    let (fx, _) = Fixture::new();
    let daemon = Daemon::start(&fx.repos);
    let err = source(&daemon.url("missing.git"), branch("master"))
        .resolve()
        .expect_err("no repo");
    assert!(
        matches!(
            err,
            GitError::GitOperationFailed { .. } | GitError::NotFound { .. }
        ),
        "{err:?}"
    );

    let err = source("http://127.0.0.1:9/repo.git", branch("master"))
        .resolve()
        .expect_err("refused");
    assert!(
        matches!(err, GitError::GitOperationFailed { .. }),
        "{err:?}"
    );

    // Accepts connections, never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/repo.git", listener.local_addr().expect("addr"));
    let mut s = source(&url, branch("master"));
    s.timeout = Duration::from_secs(1);
    let start = Instant::now();
    let err = s.resolve().expect_err("hung");
    assert!(
        matches!(err, GitError::GitOperationFailed { .. }),
        "{err:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
    drop(listener);
}
