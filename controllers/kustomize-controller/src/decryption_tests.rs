//! Decryption of a build, on the trees and keys the real sops wrote (shared conformance
//! data, copied into a temporary directory per test since decryption writes in place).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferroflux_api::kustomize::v1::KustomizationSpec;
use serde_json::Value;

use super::*;
use crate::render::{RenderError, render};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/sops/flux-kustomize-controller/internal/controller/testdata/sops")
}

fn key(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("keys").join(name)).expect("fixture key")
}

/// A private copy of the Flux test tree.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures(), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
            // The shared files are read-only; the build's copy is written in place.
            let mut perm = std::fs::metadata(&dest).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&dest, perm).unwrap();
        }
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn decryptor(entries: &[(&str, Vec<u8>)]) -> Decryptor {
    let data: BTreeMap<String, Vec<u8>> = entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Decryptor::from_secret_data("flux-system/sops-keys", &data).unwrap()
}

fn flux_keys() -> Decryptor {
    decryptor(&[
        ("age.agekey", key("age.txt")),
        ("age-pq.agekey", key("age-pq.txt")),
        ("pgp.asc", key("pgp.asc")),
    ])
}

fn spec(path: &str) -> KustomizationSpec {
    serde_json::from_value(serde_json::json!({
        "interval": "1m", "prune": true, "path": path,
        "sourceRef": {"kind": "GitRepository", "name": "x"},
    }))
    .unwrap()
}

fn find<'a>(objs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} not built"))
}

/// A value of a Secret or ConfigMap, from `stringData` or base64 `data`.
fn entry(o: &Value, key: &str) -> String {
    use base64::Engine as _;
    if let Some(s) = o["stringData"][key].as_str() {
        return s.to_string();
    }
    if o["kind"] == "Secret" {
        let b = o["data"][key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key}"));
        let raw = base64::engine::general_purpose::STANDARD.decode(b).unwrap();
        return String::from_utf8(raw).unwrap();
    }
    o["data"][key].as_str().unwrap().to_string()
}

/// Flux's test tree, without what needs a network (the remote base, Vault).
fn supported_tree() -> tempfile::TempDir {
    let dir = tree();
    edit(&dir.path().join("kustomization.yaml"), "  - remote\n", "");
    let algos = dir.path().join("algorithms/kustomization.yaml");
    edit(&algos, "  - vault.yaml\n", "");
    dir
}

#[test]
fn flux_tree_decrypts_to_its_listed_secrets_and_configmaps() {
    let dir = supported_tree();
    let objs = render(
        dir.path(),
        &spec("./"),
        &BTreeMap::new(),
        Some(&flux_keys()),
    )
    .unwrap();
    let mut seen: Vec<String> = objs
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    seen.sort();
    let want = [
        "ConfigMap/sops-envs-configmap",
        "ConfigMap/sops-files-configmap",
        "Secret/sops-algo-age",
        "Secret/sops-algo-age-pq",
        "Secret/sops-algo-pgp",
        "Secret/sops-component",
        "Secret/sops-envs-secret",
        "Secret/sops-files-secret",
        "Secret/sops-inside-secret",
        "Secret/sops-patches-secret",
    ];
    assert_eq!(seen, want);
    for id in want.iter().filter(|w| !w.ends_with("patches-secret")) {
        let (kind, name) = id.split_once('/').unwrap();
        let o = find(&objs, kind, name);
        assert_eq!(entry(o, "key"), "value", "{id}");
        assert!(o.get("sops").is_none(), "{id} keeps sops metadata");
    }
    let p = find(&objs, "Secret", "sops-patches-secret");
    assert_eq!(entry(p, "key"), "merge1");
    assert_eq!(entry(p, "merge2"), "merge2");
    // Nothing left encrypted anywhere in the output.
    assert!(
        !serde_json::to_string(&objs)
            .unwrap()
            .contains("ENC[AES256_GCM")
    );
}

#[test]
fn global_key_decrypts_the_global_tree() {
    let dir = tree();
    let d = decryptor(&[("global.agekey", key("age-global.txt"))]);
    let objs = render(dir.path(), &spec("./global"), &BTreeMap::new(), Some(&d)).unwrap();
    let s = find(&objs, "Secret", "global-age-secret");
    assert_eq!(entry(s, "key"), "global-value");
}

fn render_err(dir: &Path, path: &str, d: Option<&Decryptor>) -> RenderError {
    let e = render(dir, &spec(path), &BTreeMap::new(), d).unwrap_err();
    assert!(e.is_decryption(), "{e}");
    e
}

#[test]
fn wrong_key_names_the_file_and_the_recipient() {
    let dir = tree();
    let d = decryptor(&[("other.agekey", key("age-global.txt"))]);
    let msg = render_err(dir.path(), "./envs", Some(&d)).to_string();
    assert!(msg.contains("'/envs/env.env'"), "{msg}");
    assert!(
        msg.contains("none of the given age identities matches"),
        "{msg}"
    );
    // The file stays encrypted.
    let text = std::fs::read_to_string(dir.path().join("envs/env.env")).unwrap();
    assert!(text.contains("sops_mac=ENC["));
}

#[test]
fn file_for_another_key_type_and_unsupported_kinds_say_so() {
    let dir = tree();
    // A PGP-encrypted Secret with only an age key.
    let algos = dir.path().join("algorithms/kustomization.yaml");
    for f in ["age.yaml", "age-pq.yaml", "vault.yaml"] {
        edit(&algos, &format!("  - {f}\n"), "");
    }
    let d = decryptor(&[("age.agekey", key("age.txt"))]);
    let msg = render_err(dir.path(), "./algorithms", Some(&d)).to_string();
    assert!(msg.contains("'/algorithms/pgp.yaml'"), "{msg}");
    assert!(msg.contains("no OpenPGP secret key given"), "{msg}");

    // A post-quantum age Secret with only an X25519 age key.
    let dir = tree();
    let algos = dir.path().join("algorithms/kustomization.yaml");
    for f in ["age.yaml", "pgp.yaml", "vault.yaml"] {
        edit(&algos, &format!("  - {f}\n"), "");
    }
    let d = decryptor(&[("age.agekey", key("age.txt"))]);
    let msg = render_err(dir.path(), "./algorithms", Some(&d)).to_string();
    assert!(msg.contains("'/algorithms/age-pq.yaml'"), "{msg}");
    assert!(msg.contains("no post-quantum age identity given"), "{msg}");

    let dir = tree();
    let algos = dir.path().join("algorithms/kustomization.yaml");
    // Vault's token is recognised but cannot be used: the message says so.
    for f in ["age.yaml", "age-pq.yaml", "vault.yaml"] {
        edit(&algos, &format!("  - {f}\n"), "");
    }
    let d = decryptor(&[("sops.vault-token", b"s.token".to_vec())]);
    let msg = render_err(dir.path(), "./algorithms", Some(&d)).to_string();
    assert!(msg.contains("HashiCorp Vault"), "{msg}");
    assert!(msg.contains("not supported here"), "{msg}");
    assert!(!msg.contains("s.token"), "{msg}");
}

#[test]
fn tampered_value_or_mac_is_refused() {
    let dir = tree();
    // Another valid-looking ciphertext moved into the value: authentication fails.
    edit(
        &dir.path().join("envs/env.env"),
        "key=ENC[AES256_GCM,data:3PTvx6o=",
        "key=ENC[AES256_GCM,data:4PTvx6o=",
    );
    let msg = render_err(dir.path(), "./envs", Some(&flux_keys())).to_string();
    assert!(msg.contains("'/envs/env.env'"), "{msg}");
    assert!(
        msg.contains("failed authentication") || msg.contains("MAC"),
        "{msg}"
    );

    let dir = tree();
    let f = dir.path().join("algorithms/age.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    let i = text.find("mac: ENC[AES256_GCM,data:").unwrap() + "mac: ENC[AES256_GCM,data:".len();
    let mut bytes = text.into_bytes();
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    std::fs::write(&f, bytes).unwrap();
    let msg = render_err(dir.path(), "./algorithms", Some(&flux_keys())).to_string();
    assert!(msg.contains("'/algorithms/age.yaml'"), "{msg}");

    // An unencrypted field changed after encryption: the MAC catches it.
    let dir = tree();
    edit(
        &dir.path().join("algorithms/age.yaml"),
        "  name: age\n",
        "  name: evil\n",
    );
    let msg = render_err(dir.path(), "./algorithms", Some(&flux_keys())).to_string();
    assert!(msg.contains("MAC mismatch"), "{msg}");
}

#[test]
fn missing_mac_is_refused() {
    let dir = tree();
    let f = dir.path().join("algorithms/age.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("mac:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&f, kept).unwrap();
    let msg = render_err(dir.path(), "./algorithms", Some(&flux_keys())).to_string();
    assert!(msg.contains("no MAC"), "{msg}");
}

#[test]
fn huge_encrypted_file_is_refused_and_huge_plain_file_left_to_the_build() {
    let dir = tree();
    let f = dir.path().join("envs/env.env");
    let mut text = std::fs::read(&f).unwrap();
    text.extend(std::iter::repeat_n(b'#', 6 << 20));
    std::fs::write(&f, text).unwrap();
    let msg = render_err(dir.path(), "./envs", Some(&flux_keys())).to_string();
    assert!(msg.contains("larger than the limit"), "{msg}");

    // A large plain env file is not decryption's business.
    let dir = tree();
    let mut plain = b"key=plain\n".to_vec();
    plain.extend(std::iter::repeat_n(b'#', 6 << 20));
    std::fs::write(dir.path().join("envs/env.env"), plain).unwrap();
    flux_keys()
        .decrypt_sources(dir.path(), &spec("./envs"))
        .unwrap();
}

#[cfg(unix)]
#[test]
fn links_and_paths_leaving_the_artifact_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("env.env");
    std::fs::copy(fixtures().join("envs/env.env"), &secret).unwrap();

    let dir = tree();
    let env = dir.path().join("envs/env.env");
    std::fs::remove_file(&env).unwrap();
    std::os::unix::fs::symlink(&secret, &env).unwrap();
    let msg = render_err(dir.path(), "./envs", Some(&flux_keys())).to_string();
    assert!(msg.contains("outside the source artifact"), "{msg}");
    // The file outside was not touched.
    let text = std::fs::read_to_string(&secret).unwrap();
    assert!(text.contains("sops_mac=ENC["));

    let dir = tree();
    edit(
        &dir.path().join("envs/kustomization.yaml"),
        "  envs:\n  - env.env\nconfigMapGenerator",
        "  envs:\n  - ../../../../../../../../etc/passwd\nconfigMapGenerator",
    );
    let msg = render_err(dir.path(), "./envs", Some(&flux_keys())).to_string();
    assert!(msg.contains("leaves the source artifact"), "{msg}");
}

#[test]
fn without_decryption_an_encrypted_secret_is_refused_naming_it() {
    let dir = tree();
    let e = render_err(dir.path(), "./global", None);
    assert!(matches!(e, RenderError::NotDecrypted(_)));
    assert!(
        e.to_string().contains("Secret/default/global-age-secret"),
        "{e}"
    );
}

#[test]
fn generated_kustomization_decrypts_listed_secret_manifests() {
    let dir = tree();
    std::fs::remove_file(dir.path().join("global/kustomization.yaml")).unwrap();
    let d = decryptor(&[("global.agekey", key("age-global.txt"))]);
    let objs = render(dir.path(), &spec("./global"), &BTreeMap::new(), Some(&d)).unwrap();
    assert_eq!(
        entry(find(&objs, "Secret", "global-age-secret"), "key"),
        "global-value"
    );
}

#[test]
fn secret_entries_are_read_as_flux_names_them() {
    let data = BTreeMap::from([("identity.agekey".to_string(), b"not a key".to_vec())]);
    let msg = Decryptor::from_secret_data("ns/keys", &data)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("'ns/keys' entry 'identity.agekey'"), "{msg}");
    assert!(!msg.contains("not a key"), "{msg}");
    // Unknown entries are ignored, as Flux does.
    let data = BTreeMap::from([("README".to_string(), b"hello".to_vec())]);
    Decryptor::from_secret_data("ns/keys", &data).unwrap();
}

#[test]
fn what_the_build_cannot_read_is_a_build_failure() {
    let dir = tree();
    let e = render(
        dir.path(),
        &spec("./nowhere"),
        &BTreeMap::new(),
        Some(&flux_keys()),
    )
    .unwrap_err();
    assert!(!e.is_decryption(), "{e}");
    assert!(e.to_string().contains("nowhere"), "{e}");
}

#[test]
fn kustomizations_that_refer_to_each_other_are_walked_once() {
    let dir = tempfile::tempdir().unwrap();
    for (me, other) in [("a", "b"), ("b", "a")] {
        let d = dir.path().join(me);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("kustomization.yaml"),
            format!("resources:\n- ../{other}\n- ../{me}\n- https://example.com/x.yaml\n"),
        )
        .unwrap();
    }
    // Terminates (the build then reports the cycle itself).
    flux_keys()
        .decrypt_sources(dir.path(), &spec("./a"))
        .unwrap();
}

/// A private tree whose `multi/stream.yaml` holds Flux's age and PGP Secrets, each
/// encrypted on its own, around a plain ConfigMap.
fn stream_tree() -> tempfile::TempDir {
    let dir = tree();
    let multi = dir.path().join("multi");
    std::fs::create_dir(&multi).unwrap();
    let read = |rel: &str| std::fs::read_to_string(fixtures().join(rel)).unwrap();
    let plain = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  key: plain\n";
    std::fs::write(
        multi.join("stream.yaml"),
        format!(
            "{}---\n{plain}---\n{}",
            read("algorithms/age.yaml"),
            read("algorithms/pgp.yaml")
        ),
    )
    .unwrap();
    std::fs::write(
        multi.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- stream.yaml\n",
    )
    .unwrap();
    dir
}

#[test]
fn a_file_of_separately_encrypted_secrets_and_plain_objects_decrypts() {
    let dir = stream_tree();
    let objs = render(
        dir.path(),
        &spec("./multi"),
        &BTreeMap::new(),
        Some(&flux_keys()),
    )
    .unwrap();
    assert_eq!(objs.len(), 3);
    for name in ["age", "pgp"] {
        let s = find(&objs, "Secret", name);
        assert_eq!(entry(s, "key"), "value", "{name}");
        assert!(s.get("sops").is_none(), "{name} keeps sops metadata");
    }
    assert_eq!(entry(find(&objs, "ConfigMap", "plain"), "key"), "plain");

    // Only the age key: the PGP document is named as the one that cannot be opened.
    let dir = stream_tree();
    let d = decryptor(&[("age.agekey", key("age.txt"))]);
    let msg = render_err(dir.path(), "./multi", Some(&d)).to_string();
    assert!(msg.contains("'/multi/stream.yaml'"), "{msg}");
    assert!(msg.contains("document 3"), "{msg}");
}
