//! The cache: an unchanged remote costs one ref listing and no fetch; a new
//! commit is seen and fetched on the next reconcile.

use source_controller::git::{Auth, GitSource};

use super::fixtures::{Fixture, HttpServer, Seen, ServerAuth};
use super::{branch, read, source};

fn fetches(seen: &[Seen]) -> usize {
    seen.iter()
        .filter(|s| s.command.as_deref() == Some("fetch"))
        .count()
}

fn listings(seen: &[Seen]) -> usize {
    seen.iter()
        .filter(|s| s.command.as_deref() == Some("ls-refs"))
        .count()
}

fn authed(url: &str) -> GitSource {
    let mut s = source(url, branch("master"));
    s.auth = Auth {
        username: Some("flux".into()),
        password: Some("s3cret-pw".into()),
        ..Auth::default()
    };
    s
}

#[test]
fn unchanged_remote_is_not_fetched_again_and_new_commits_are() {
    let (fx, c) = Fixture::new();
    let server = HttpServer::start(
        &fx.repos,
        ServerAuth::Basic("flux".into(), "s3cret-pw".into()),
    );
    let s = authed(&server.url("repo.git"));
    let cache = fx.path("cache");

    // First checkout: one listing, then a fetch.
    let first = s.checkout(&cache, &fx.path("a")).expect("checkout");
    assert_eq!(first.revision, format!("master@sha1:{}", c.master));
    assert!(first.fetched);
    let seen = server.seen();
    assert_eq!(fetches(&seen), 1, "{seen:#?}");
    assert!(
        seen.iter().all(|r| r.status == 200 || r.status == 401),
        "{seen:#?}"
    );

    // Same remote state: a ref listing, no fetch, same files.
    let before = server.seen().len();
    let again = s
        .checkout(&cache, &fx.path("b"))
        .expect("checkout from cache");
    assert_eq!(again.revision, first.revision);
    assert!(!again.fetched);
    let seen = server.seen()[before..].to_vec();
    assert_eq!(fetches(&seen), 0, "{seen:#?}");
    assert_eq!(listings(&seen), 1, "{seen:#?}");
    assert_eq!(read(&fx.path("b"), "version.txt"), "three");

    // resolve: exactly the handshake (GET, answered 401 then 200) and one ls-refs.
    let before = server.seen().len();
    assert_eq!(s.remote_revision().expect("resolve"), first.revision);
    let seen = server.seen()[before..].to_vec();
    let gets: Vec<_> = seen.iter().filter(|r| r.method == "GET").collect();
    assert!(
        gets.iter().all(|r| r.path.ends_with("/info/refs")),
        "{seen:#?}"
    );
    assert_eq!(
        gets.iter().filter(|r| r.status == 200).count(),
        1,
        "{seen:#?}"
    );
    assert_eq!(listings(&seen), 1);
    assert_eq!(fetches(&seen), 0);

    // A new commit on the remote: new revision, fetched once.
    let new = fx.push_new_commit("four");
    assert_eq!(
        s.remote_revision().expect("resolve"),
        format!("master@sha1:{new}")
    );
    let before = server.seen().len();
    let updated = s.checkout(&cache, &fx.path("c")).expect("checkout new");
    assert_eq!(updated.commit, new);
    assert!(updated.fetched);
    assert_eq!(fetches(&server.seen()[before..]), 1);
    assert_eq!(read(&fx.path("c"), "version.txt"), "four");
}

#[test]
fn cache_is_shared_per_url_and_serves_other_refs() {
    let (fx, c) = Fixture::new();
    let cache = fx.path("cache");
    let url = fx.file_url();
    source(&url, branch("master"))
        .checkout(&cache, &fx.path("a"))
        .expect("master");
    // A tag on an already fetched commit needs no fetch.
    let mut s = source(
        &url,
        source_controller::git::Reference::Tag("v2.0.0-rc.1".into()),
    );
    let r = s.checkout(&cache, &fx.path("b")).expect("tag");
    assert_eq!(r.commit, c.v2_rc);
    assert!(!r.fetched);
    // An older commit in master's history needs the history.
    s.reference = source_controller::git::Reference::Commit {
        sha: c.first.clone(),
        branch: Some("master".into()),
    };
    let r = s.checkout(&cache, &fx.path("c")).expect("old commit");
    assert!(r.fetched);
    assert_eq!(read(&fx.path("c"), "version.txt"), "one");
    assert_eq!(
        std::fs::read_dir(&cache).expect("cache dir").count(),
        1,
        "one cache repository per URL"
    );
}

#[test]
fn a_probe_handed_to_the_checkout_saves_a_ref_listing() {
    let (fx, c) = Fixture::new();
    let server = HttpServer::start(
        &fx.repos,
        ServerAuth::Basic("flux".into(), "s3cret-pw".into()),
    );
    let s = authed(&server.url("repo.git"));
    let cache = fx.path("cache");
    // The reconciler's way: probe (is there a new revision?), then check
    // out what the probe found with its listing.
    let probe = s.probe_cached(&cache).expect("probe");
    assert_eq!(probe.resolved.revision, format!("master@sha1:{}", c.master));
    let checked = s
        .checkout_probed(probe, &cache, &fx.path("a"))
        .expect("checkout");
    assert!(checked.fetched);
    assert_eq!(checked.commit, c.master);
    assert_eq!(read(&fx.path("a"), "version.txt"), "three");
    let seen = server.seen();
    // The probe's listing is the fetch's own: a new revision costs one.
    assert_eq!(fetches(&seen), 1, "{seen:#?}");
    assert_eq!(listings(&seen), 1, "{seen:#?}");

    // Unchanged: the probe lists once; a probe dropped (the reconciler's
    // way when the revision is already stored) or checked out from the
    // cache fetches nothing.
    let before = server.seen().len();
    let probe = s.probe_cached(&cache).expect("probe again");
    assert_eq!(probe.resolved.revision, checked.revision);
    drop(probe);
    let probe = s.probe_cached(&cache).expect("probe a third time");
    let again = s
        .checkout_probed(probe, &cache, &fx.path("b"))
        .expect("checkout from cache");
    assert!(!again.fetched);
    assert_eq!(read(&fx.path("b"), "version.txt"), "three");
    let seen = server.seen()[before..].to_vec();
    assert_eq!(fetches(&seen), 0, "{seen:#?}");
    assert_eq!(listings(&seen), 2, "{seen:#?}");

    // A new commit: one listing and one fetch again.
    let new = fx.push_new_commit("four");
    let before = server.seen().len();
    let probe = s.probe_cached(&cache).expect("probe new");
    assert_eq!(probe.resolved.commit, new);
    let updated = s
        .checkout_probed(probe, &cache, &fx.path("c"))
        .expect("checkout new");
    assert!(updated.fetched);
    assert_eq!(read(&fx.path("c"), "version.txt"), "four");
    let seen = server.seen()[before..].to_vec();
    assert_eq!(fetches(&seen), 1, "{seen:#?}");
    assert_eq!(listings(&seen), 1, "{seen:#?}");

    // Resolving and checking out apart lists once more.
    let (fx, _) = Fixture::new();
    let server = HttpServer::start(
        &fx.repos,
        ServerAuth::Basic("flux".into(), "s3cret-pw".into()),
    );
    let s = authed(&server.url("repo.git"));
    s.resolve().expect("resolve");
    s.checkout(&fx.path("cache"), &fx.path("a"))
        .expect("checkout");
    let seen = server.seen();
    assert_eq!(listings(&seen), 2, "{seen:#?}");
}

/// `info/refs` requests the server answered with the refs (not a 401).
fn handshakes(seen: &[Seen]) -> usize {
    seen.iter()
        .filter(|s| s.method == "GET" && s.path.ends_with("/info/refs") && s.status == 200)
        .count()
}

#[test]
fn sources_of_one_url_and_credentials_share_one_listing_and_one_fetch() {
    let (fx, c) = Fixture::new();
    let server = HttpServer::start(
        &fx.repos,
        ServerAuth::Basic("flux".into(), "s3cret-pw".into()),
    );
    let url = server.url("repo.git");
    let cache = fx.path("cache");
    let since = std::time::SystemTime::now();
    // Twelve sources (as twelve GitRepositories would) probe at once, then
    // check out what they found.
    let results: Vec<_> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..12)
            .map(|i| {
                let (source, cache, dest) =
                    (authed(&url), cache.clone(), fx.path(&format!("w{i}")));
                s.spawn(move || {
                    let probe = source.probe_shared(&cache, since)?;
                    source.checkout_probed(probe, &cache, &dest)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    });
    for (i, r) in results.iter().enumerate() {
        let r = r.as_ref().expect("checkout");
        assert_eq!(r.commit, c.master);
        assert_eq!(read(&fx.path(&format!("w{i}")), "version.txt"), "three");
    }
    assert_eq!(
        results
            .iter()
            .filter(|r| r.as_ref().is_ok_and(|r| r.fetched))
            .count(),
        1,
        "exactly one of them fetched"
    );
    let seen = server.seen();
    assert_eq!(handshakes(&seen), 1, "{seen:#?}");
    assert_eq!(listings(&seen), 1, "{seen:#?}");
    assert_eq!(fetches(&seen), 1, "{seen:#?}");

    // Later sources that accept the listing's age reuse it; one asking for
    // a listing from now on (a requested reconcile after a push) lists,
    // and sees the push.
    let before = server.seen().len();
    let reused = authed(&url).probe_shared(&cache, since).expect("reused");
    assert_eq!(reused.resolved.commit, c.master);
    assert_eq!(
        server.seen().len(),
        before,
        "no request for a reused listing"
    );
    let new = fx.push_new_commit("four");
    let fresh = authed(&url)
        .probe_shared(&cache, std::time::SystemTime::now())
        .expect("fresh");
    assert_eq!(fresh.resolved.commit, new);
    let checked = authed(&url)
        .checkout_probed(fresh, &cache, &fx.path("fresh"))
        .expect("checkout fresh");
    assert!(checked.fetched);
    assert_eq!(read(&fx.path("fresh"), "version.txt"), "four");
    let seen = server.seen()[before..].to_vec();
    assert_eq!(handshakes(&seen), 1, "{seen:#?}");
    assert_eq!(fetches(&seen), 1, "{seen:#?}");
}

#[test]
fn other_credentials_never_get_a_shared_listing() {
    let (fx, c) = Fixture::new();
    let server = HttpServer::start(
        &fx.repos,
        ServerAuth::Basic("flux".into(), "s3cret-pw".into()),
    );
    let url = server.url("repo.git");
    let cache = fx.path("cache");
    let since = std::time::SystemTime::now();
    let good = authed(&url).probe_shared(&cache, since).expect("good");
    assert_eq!(good.resolved.commit, c.master);
    authed(&url)
        .checkout_probed(good, &cache, &fx.path("good"))
        .expect("checkout");

    // A tenant with a wrong password, or none, on the same URL: its own
    // listing, refused, though the cache holds the commit.
    let before = server.seen().len();
    let mut wrong = authed(&url);
    wrong.auth.password = Some("guessed".into());
    let err = wrong
        .probe_shared(&cache, since)
        .expect_err("wrong password");
    assert_eq!(err.reason(), "AuthenticationFailed", "{err}");
    assert!(!err.to_string().contains("guessed"), "{err}");
    let anonymous = source(&url, branch("master"));
    let err = anonymous
        .probe_shared(&cache, since)
        .expect_err("no credentials");
    assert_eq!(err.reason(), "AuthenticationFailed", "{err}");
    let seen = server.seen()[before..].to_vec();
    assert!(seen.iter().any(|s| s.status == 401), "{seen:#?}");
    assert_eq!(handshakes(&seen), 0, "{seen:#?}");

    // The good credentials still reuse theirs.
    let before = server.seen().len();
    authed(&url).probe_shared(&cache, since).expect("reused");
    assert_eq!(server.seen().len(), before);
}
