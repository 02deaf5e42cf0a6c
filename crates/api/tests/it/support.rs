//! Helpers shared by the API tests.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The fixtures directory of this crate.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The seed manifests users already have (`../shared/seed-manifests` beside the repository).
pub fn seed_manifests() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seed-manifests");
    assert!(
        dir.is_dir(),
        "{} is missing: the seed manifests are laid beside the repository",
        dir.display()
    );
    dir
}

/// Reads a fixture file relative to `tests/fixtures`.
pub fn read_fixture(rel: &str) -> String {
    let path = fixtures().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses `yaml` as `T`, then checks the round trip: serializing and parsing
/// again gives an equal value, and every field of the input is still present
/// with the same value in the output (defaults may add fields, never drop or
/// change one).
pub fn roundtrip<T>(yaml: &str) -> T
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let input: Value = serde_yaml::from_str(yaml).expect("fixture is valid YAML");
    let typed: T = serde_json::from_value(input.clone())
        .unwrap_or_else(|e| panic!("does not parse: {e}\n{yaml}"));
    let output = serde_json::to_value(&typed).expect("serializes");
    let again: T = serde_json::from_value(output.clone()).expect("parses its own output");
    assert_eq!(typed, again, "round trip changed the value");
    assert_subset(&input, &output, "");
    typed
}

/// Fails unless every field of `input` is present in `output` with the same value.
pub fn assert_subset(input: &Value, output: &Value, path: &str) {
    match (input, output) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let here = format!("{path}.{k}");
                match b.get(k) {
                    Some(w) => assert_subset(v, w, &here),
                    None => panic!("field {here} was dropped by the round trip"),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "length of {path} changed");
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                assert_subset(v, w, &format!("{path}[{i}]"));
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            assert_eq!(a.as_f64(), b.as_f64(), "value of {path} changed");
        }
        (a, b) => assert_eq!(a, b, "value of {path} changed"),
    }
}

/// Parses `yaml` as `T` and returns the error message; fails if it parses.
pub fn rejection<T: DeserializeOwned + std::fmt::Debug>(yaml: &str) -> String {
    let value: Value = serde_yaml::from_str(yaml).expect("valid YAML");
    match serde_json::from_value::<T>(value) {
        Ok(v) => panic!("accepted invalid input: {v:?}"),
        Err(e) => e.to_string(),
    }
}

/// Every YAML file in a fixtures sub-directory, sorted by name.
pub fn fixture_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(fixtures().join(dir))
        .unwrap_or_else(|e| panic!("fixtures/{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}
