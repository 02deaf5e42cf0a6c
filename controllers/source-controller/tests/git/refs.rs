//! Each kind of `spec.ref` resolves to Flux's revision string, over git://,
//! HTTP and file://, and checks out the right files.

use source_controller::git::Reference;

use super::fixtures::{Daemon, Fixture, HttpServer, ServerAuth};
use super::{branch, read, source};

fn cases(c: &super::fixtures::Commits) -> Vec<(Reference, String)> {
    let r = |branch: Option<&str>,
             tag: Option<&str>,
             semver: Option<&str>,
             name: Option<&str>,
             commit: Option<&str>| {
        Reference::from_fields(branch, tag, semver, name, commit)
    };
    vec![
        (
            r(None, None, None, None, None),
            format!("master@sha1:{}", c.master),
        ),
        (branch("feature/x"), format!("feature/x@sha1:{}", c.feature)),
        (
            r(None, Some("v1.0.0"), None, None, None),
            format!("v1.0.0@sha1:{}", c.v1_0_0),
        ),
        // Annotated tag: the commit it points to.
        (
            r(Some("master"), Some("v1.2.0"), None, None, None),
            format!("v1.2.0@sha1:{}", c.v1_2_0),
        ),
        // Highest release; ignores the prerelease and the non-semver tags `latest`, `v0.9`.
        (
            r(None, None, Some(">=1.0.0"), None, None),
            format!("v1.2.0@sha1:{}", c.v1_2_0),
        ),
        (
            r(None, None, Some("~1.0"), None, None),
            format!("v1.0.0@sha1:{}", c.v1_0_0),
        ),
        (
            r(None, None, Some(">=2.0.0-0"), None, None),
            format!("v2.0.0-rc.1@sha1:{}", c.v2_rc),
        ),
        (
            r(None, None, None, Some("refs/pull/1/head"), None),
            format!("refs/pull/1/head@sha1:{}", c.pr),
        ),
        (
            r(None, None, None, Some("refs/tags/v1.2.0"), None),
            format!("refs/tags/v1.2.0@sha1:{}", c.v1_2_0),
        ),
        (
            r(None, None, None, None, Some(&c.first)),
            format!("sha1:{}", c.first),
        ),
        (
            r(Some("master"), None, None, None, Some(&c.first)),
            format!("master@sha1:{}", c.first),
        ),
    ]
}

#[test]
fn revisions_over_git_daemon() {
    let (fx, c) = Fixture::new();
    let daemon = Daemon::start(&fx.repos);
    for (reference, expected) in cases(&c) {
        let s = source(&daemon.url("repo.git"), reference.clone());
        let resolved = s.resolve().unwrap_or_else(|e| panic!("{reference:?}: {e}"));
        assert_eq!(resolved.revision, expected, "{reference:?}");
        assert!(!resolved.fetched);
    }
}

#[test]
fn revisions_over_http() {
    let (fx, c) = Fixture::new();
    let server = HttpServer::start(&fx.repos, ServerAuth::None);
    for (reference, expected) in cases(&c) {
        let s = source(&server.url("repo.git"), reference.clone());
        assert_eq!(
            s.remote_revision()
                .unwrap_or_else(|e| panic!("{reference:?}: {e}")),
            expected
        );
    }
}

#[test]
fn checkouts_over_file_url_write_the_commit_files() {
    let (fx, c) = Fixture::new();
    let cache = fx.path("cache");
    for (i, (reference, expected)) in cases(&c).into_iter().enumerate() {
        let dest = fx.path(&format!("out-{i}"));
        let s = source(&fx.file_url(), reference.clone());
        let resolved = s
            .checkout(&cache, &dest)
            .unwrap_or_else(|e| panic!("{reference:?}: {e}"));
        assert_eq!(resolved.revision, expected);
        let message =
            super::fixtures::git(&fx.work, &["log", "-1", "--format=%s", &resolved.commit]);
        assert_eq!(read(&dest, "version.txt"), message, "{reference:?}");
        assert_eq!(read(&dest, "dir/nested.yaml"), format!("v: {message}\n"));
        let link = std::fs::read_link(dest.join("link")).expect("symlink kept");
        assert_eq!(link.to_str(), Some("version.txt"));
        assert!(!dest.join(".git").exists(), "no .git in the checkout");
    }
}
