//! Every seed manifest (what users already have) parses as the type its
//! apiVersion and kind name, round-trips, and none is left unrecognised.

use ferroflux_api::{kustomize, source};
use serde_json::Value;

use crate::support::{roundtrip, seed_manifests};

#[test]
fn every_seed_manifest_is_accepted() {
    let mut count = 0;
    let mut files: Vec<_> = std::fs::read_dir(seed_manifests())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seed manifests found");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value: Value = serde::Deserialize::deserialize(doc).unwrap();
            if value.is_null() {
                continue;
            }
            let yaml = serde_yaml::to_string(&value).unwrap();
            let api_version = value["apiVersion"].as_str().unwrap_or_default();
            let kind = value["kind"].as_str().unwrap_or_default();
            match (api_version, kind) {
                ("source.toolkit.fluxcd.io/v1beta2", "GitRepository") => {
                    roundtrip::<source::v1beta2::GitRepository>(&yaml);
                }
                ("source.toolkit.fluxcd.io/v1", "GitRepository") => {
                    roundtrip::<source::v1::GitRepository>(&yaml);
                }
                ("kustomize.toolkit.fluxcd.io/v1beta2", "Kustomization") => {
                    let ks = roundtrip::<kustomize::v1beta2::Kustomization>(&yaml);
                    assert!(ks.spec.prune, "{}: prune as written", path.display());
                }
                ("kustomize.toolkit.fluxcd.io/v1", "Kustomization") => {
                    roundtrip::<kustomize::v1::Kustomization>(&yaml);
                }
                other => panic!(
                    "{}: seed manifest of unhandled type {other:?}",
                    path.display()
                ),
            }
            count += 1;
        }
    }
    assert!(count >= 4, "the seed manifests were read ({count})");
}
