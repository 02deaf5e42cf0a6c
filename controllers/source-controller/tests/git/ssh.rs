//! ssh:// through the system-ssh code path. No sshd runs in the tests, so the
//! `ssh` program is a stand-in script that checks what it is given (private
//! identity and known_hosts files, strict host checking) and then runs
//! `git-upload-pack` locally, like sshd would on the server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use source_controller::git::{Auth, GitError};

use super::fixtures::Fixture;
use super::{branch, read, source};

const FAKE_SSH: &str = r#"#!/bin/bash
args=("$@")
n=${#args[@]}
for ((i = 0; i < n; i++)); do
  case "${args[$i]}" in
    -i) id="${args[$((i + 1))]}" ;;
    UserKnownHostsFile=*) kh="${args[$i]#UserKnownHostsFile=}" ;;
    StrictHostKeyChecking=yes) strict=1 ;;
  esac
done
echo "id=$id kh=$kh host=${args[$((n - 3))]}" >> "LOG"
[ "$strict" = 1 ] || { echo "strict host key checking is off" >&2; exit 2; }
[ "$(stat -c %a "$id")" = 600 ] && [ "$(stat -c %a "$kh")" = 600 ] || { echo "key files not 0600" >&2; exit 2; }
grep -q "127.0.0.1 ssh-ed25519" "$kh" || { echo "Host key verification failed." >&2; exit 255; }
grep -q "GOOD KEY" "$id" || { echo "git@127.0.0.1: Permission denied (publickey)." >&2; exit 255; }
eval "exec ${args[$((n - 2))]} ${args[$((n - 1))]}"
"#;

fn fake_ssh(dir: &Path) -> (PathBuf, PathBuf) {
    let log = dir.join("ssh.log");
    let source = dir.join("fake-ssh.src");
    let program = dir.join("fake-ssh");
    std::fs::write(
        &source,
        FAKE_SSH.replace("LOG", log.to_str().expect("utf-8")),
    )
    .expect("write");
    // Installed by a child process so no fork of ours can hold the executable
    // open for writing when it runs (ETXTBSY).
    let status = std::process::Command::new("install")
        .args(["-m", "755"])
        .arg(&source)
        .arg(&program)
        .status()
        .expect("install runs");
    assert!(status.success());
    (program, log)
}

fn secret(identity: &str, known_hosts: &str) -> BTreeMap<String, Vec<u8>> {
    [("identity", identity), ("known_hosts", known_hosts)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

#[test]
fn ssh_checkout_uses_private_key_files_and_cleans_them_up() {
    let (fx, c) = Fixture::new();
    let (program, log) = fake_ssh(fx.root.path());
    let url = format!("ssh://127.0.0.1{}", fx.bare.display());
    let mut s = source(&url, branch("master"));
    s.ssh_program = Some(program);
    s.auth = Auth::from_secret_data(&url, &secret("GOOD KEY", "127.0.0.1 ssh-ed25519 AAAAC3Nza"))
        .expect("auth");
    let r = s
        .checkout(&fx.path("cache"), &fx.path("out"))
        .expect("ssh checkout");
    assert_eq!(r.revision, format!("master@sha1:{}", c.master));
    assert_eq!(read(&fx.path("out"), "version.txt"), "three");

    let log = std::fs::read_to_string(&log).expect("ssh was run");
    assert!(
        log.contains("host=git@127.0.0.1"),
        "default user 'git': {log}"
    );
    for line in log.lines() {
        let id = line
            .split_whitespace()
            .next()
            .and_then(|w| w.strip_prefix("id="))
            .expect("id");
        assert!(
            !Path::new(id).exists(),
            "identity file removed after use: {id}"
        );
    }

    s.auth = Auth::from_secret_data(&url, &secret("BAD KEY", "127.0.0.1 ssh-ed25519 AAAAC3Nza"))
        .expect("auth");
    let err = s.resolve().expect_err("wrong key");
    assert!(
        matches!(err, GitError::AuthenticationFailed { .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("BAD KEY"));

    s.auth = Auth::from_secret_data(&url, &secret("GOOD KEY", "other.host ssh-ed25519 AAAA"))
        .expect("auth");
    let err = s.resolve().expect_err("unknown host key");
    assert!(
        matches!(err, GitError::AuthenticationFailed { .. }),
        "{err:?}"
    );
}

#[test]
fn ssh_without_known_hosts_is_refused() {
    let url = "ssh://git@example.invalid/repo.git";
    let mut s = source(url, branch("main"));
    s.auth = Auth::from_secret_data(url, &secret("GOOD KEY", "")).expect("auth");
    let err = s.resolve().expect_err("no known_hosts");
    assert!(
        matches!(err, GitError::AuthenticationFailed { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("known_hosts"), "{err}");
    s.auth = Auth::default();
    let err = s.resolve().expect_err("no identity");
    assert!(
        matches!(err, GitError::AuthenticationFailed { .. }),
        "{err:?}"
    );
}
