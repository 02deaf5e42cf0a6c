//! HTTPS with a private CA from the Secret (`ca.crt`, legacy `caFile`).

use std::collections::BTreeMap;

use source_controller::git::{Auth, GitError};

use super::fixtures::{Fixture, HttpServer, ServerAuth, TestCerts};
use super::{branch, read, source};

#[test]
fn https_with_custom_ca_and_basic_auth() {
    let (fx, c) = Fixture::new();
    let certs = TestCerts::new();
    let server = HttpServer::start_tls(
        &fx.repos,
        ServerAuth::Basic("flux".into(), "tls-pw".into()),
        &certs,
    );
    let url = server.https_url("repo.git");
    let data = |ca_key: Option<&str>| -> BTreeMap<String, Vec<u8>> {
        let mut d = BTreeMap::from([
            ("username".to_string(), b"flux".to_vec()),
            ("password".to_string(), b"tls-pw".to_vec()),
        ]);
        if let Some(key) = ca_key {
            d.insert(key.to_string(), certs.ca_pem.clone());
        }
        d
    };

    let mut s = source(&url, branch("master"));
    s.auth = Auth::from_secret_data(&url, &data(None)).expect("auth");
    let err = s.resolve().expect_err("untrusted certificate");
    assert!(
        matches!(err, GitError::GitOperationFailed { .. }),
        "{err:?}"
    );
    assert!(!format!("{err:?}").contains("tls-pw"));

    for key in ["ca.crt", "caFile"] {
        s.auth = Auth::from_secret_data(&url, &data(Some(key))).expect("auth");
        let dest = fx.path(&format!("out-{key}"));
        let r = s
            .checkout(&fx.path("cache"), &dest)
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(r.revision, format!("master@sha1:{}", c.master));
        assert_eq!(read(&dest, "version.txt"), "three");
    }
}
