use std::path::PathBuf;

use ferroflux_sops::{Error, Format, KeyRing, Options, decrypt};

/// The shared SOPS fixtures; `None` (skip) outside CI when absent, a failure under CI.
pub fn root() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/sops");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "SOPS fixtures missing at {}",
        dir.display()
    );
    eprintln!("skipping: SOPS fixtures not found at {}", dir.display());
    None
}

pub const FLUX: &str = "flux-kustomize-controller/internal/controller/testdata/sops";

pub fn read(rel: &str) -> Option<Vec<u8>> {
    Some(std::fs::read(root()?.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}")))
}

pub fn text(rel: &str) -> Option<String> {
    read(rel).map(|b| String::from_utf8(b).unwrap())
}

/// A key ring with Flux's test keys (age, post-quantum age, PGP).
pub fn flux_keys() -> Option<KeyRing> {
    let mut keys = KeyRing::new();
    keys.add_age_identities(&text(&format!("{FLUX}/keys/age.txt"))?)
        .unwrap();
    keys.add_age_identities(&text(&format!("{FLUX}/keys/age-pq.txt"))?)
        .unwrap();
    keys.add_pgp_armored(&text(&format!("{FLUX}/keys/pgp.asc"))?)
        .unwrap();
    Some(keys)
}

/// A key ring with getsops's functional-test PGP key.
pub fn sops_keys() -> Option<KeyRing> {
    let mut keys = KeyRing::new();
    let n = keys
        .add_pgp_armored(&text("sops/pgp/sops_functional_tests_key.asc")?)
        .unwrap();
    assert!(n >= 1);
    Some(keys)
}

pub fn open(rel: &str, keys: &KeyRing) -> Option<Result<Vec<u8>, Error>> {
    let input = read(rel)?;
    Some(decrypt(
        &input,
        Format::from_path(rel),
        keys,
        &Options::default(),
    ))
}

pub fn yaml(bytes: &[u8]) -> serde_yaml::Value {
    serde_yaml::from_slice(bytes).unwrap()
}
