//! HTTP authentication: basic, bearer, credentials in the URL; failures are
//! AuthenticationFailed and never show the secret.

use std::collections::BTreeMap;

use source_controller::git::{Auth, GitError};

use super::fixtures::{Fixture, HttpServer, ServerAuth};
use super::{branch, source};

fn secret(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

#[test]
fn basic_auth_wrong_or_missing_password_fails_without_leaking_it() {
    let (fx, c) = Fixture::new();
    let server = HttpServer::start(
        &fx.repos,
        ServerAuth::Basic("flux".into(), "right-pw".into()),
    );
    let url = server.url("repo.git");

    let mut s = source(&url, branch("master"));
    s.auth = Auth::from_secret_data(
        &url,
        &secret(&[("username", "flux"), ("password", "right-pw")]),
    )
    .expect("auth");
    assert_eq!(s.resolve().expect("resolve").commit, c.master);

    s.auth = Auth::from_secret_data(
        &url,
        &secret(&[("username", "flux"), ("password", "wr0ng-Pa55")]),
    )
    .expect("auth");
    let err = s
        .checkout(&fx.path("cache"), &fx.path("out"))
        .expect_err("wrong password");
    assert!(
        matches!(err, GitError::AuthenticationFailed { .. }),
        "{err:?}"
    );
    let text = format!("{err} {err:?}");
    assert!(!text.contains("wr0ng-Pa55"), "{text}");
    assert!(text.contains(&url), "names the URL: {text}");

    s.auth = Auth::default();
    let err = s.resolve().expect_err("no credentials");
    assert!(
        matches!(err, GitError::AuthenticationFailed { .. }),
        "{err:?}"
    );
}

#[test]
fn credentials_in_url_are_used_but_never_shown() {
    let (fx, c) = Fixture::new();
    let server = HttpServer::start(&fx.repos, ServerAuth::Basic("flux".into(), "url-pw".into()));
    let good = format!("http://flux:url-pw@{}/repo.git", server.addr);
    assert_eq!(
        source(&good, branch("master"))
            .resolve()
            .expect("resolve")
            .commit,
        c.master
    );

    let bad = format!("http://flux:bad-url-pw@{}/repo.git", server.addr);
    let err = source(&bad, branch("master"))
        .resolve()
        .expect_err("bad password");
    assert!(
        matches!(err, GitError::AuthenticationFailed { .. }),
        "{err:?}"
    );
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("bad-url-pw") && !text.contains("flux:"),
        "{text}"
    );
}

#[test]
fn bearer_token() {
    let (fx, c) = Fixture::new();
    let server = HttpServer::start(&fx.repos, ServerAuth::Bearer("tok-123456".into()));
    let url = server.url("repo.git");
    let mut s = source(&url, branch("master"));
    s.auth = Auth::from_secret_data(&url, &secret(&[("bearerToken", "tok-123456")])).expect("auth");
    let r = s
        .checkout(&fx.path("cache"), &fx.path("out"))
        .expect("checkout with token");
    assert_eq!(r.commit, c.master);

    s.auth =
        Auth::from_secret_data(&url, &secret(&[("bearerToken", "tok-wrong-987")])).expect("auth");
    let err = s.resolve().expect_err("wrong token");
    assert!(
        matches!(err, GitError::AuthenticationFailed { .. }),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("tok-wrong-987"));
}

#[test]
fn invalid_secret_combinations_are_rejected() {
    let url = "https://example.invalid/repo.git";
    let mut s = source(url, branch("main"));
    s.auth = Auth {
        username: Some("u".into()),
        password: Some("p".into()),
        bearer_token: Some("t".into()),
        ..Auth::default()
    };
    let err = s.resolve().expect_err("basic and bearer");
    assert!(
        matches!(err, GitError::AuthenticationFailed { .. }),
        "{err:?}"
    );
    s.auth = Auth {
        ca_cert: Some(b"not a certificate".to_vec()),
        ..Auth::default()
    };
    let err = s.resolve().expect_err("bad CA");
    assert!(
        matches!(err, GitError::AuthenticationFailed { .. }),
        "{err:?}"
    );
}
