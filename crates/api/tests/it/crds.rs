//! The generated CRDs: current on disk, structural, and named as Flux names them.

use std::path::Path;

use ferroflux_api::crds;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

const READY_COLS: [(&str, &str, &str); 2] = [
    (
        "Ready",
        "string",
        r#".status.conditions[?(@.type=="Ready")].status"#,
    ),
    (
        "Status",
        "string",
        r#".status.conditions[?(@.type=="Ready")].message"#,
    ),
];
const AGE: (&str, &str, &str) = ("Age", "date", ".metadata.creationTimestamp");

/// What Flux publishes for one kind.
struct Expected {
    kind: &'static str,
    group: &'static str,
    plural: &'static str,
    short_names: &'static [&'static str],
    category: &'static str,
    /// Served versions, storage version first.
    versions: &'static [&'static str],
    /// Printer columns of the storage version as (name, type, jsonPath).
    columns: Vec<(&'static str, &'static str, &'static str)>,
}

fn source(
    kind: &'static str,
    plural: &'static str,
    short: &'static [&'static str],
    first: Vec<(&'static str, &'static str, &'static str)>,
    versions: &'static [&'static str],
) -> Expected {
    let mut columns = first;
    columns.push(AGE);
    columns.extend(READY_COLS);
    Expected {
        kind,
        group: "source.toolkit.fluxcd.io",
        plural,
        short_names: short,
        category: "fluxcd-sources",
        versions,
        columns,
    }
}

fn expected() -> Vec<Expected> {
    let age_ready = {
        let mut c = vec![AGE];
        c.extend(READY_COLS);
        c
    };
    let mut oci_columns = vec![("URL", "string", ".spec.url")];
    oci_columns.extend(READY_COLS);
    oci_columns.push(AGE);
    vec![
        source(
            "GitRepository",
            "gitrepositories",
            &["gitrepo"],
            vec![("URL", "string", ".spec.url")],
            &["v1", "v1beta2", "v1beta1"],
        ),
        source(
            "HelmRepository",
            "helmrepositories",
            &["helmrepo"],
            vec![("URL", "string", ".spec.url")],
            &["v1", "v1beta2", "v1beta1"],
        ),
        source(
            "HelmChart",
            "helmcharts",
            &["hc"],
            vec![
                ("Chart", "string", ".spec.chart"),
                ("Version", "string", ".spec.version"),
                ("Source Kind", "string", ".spec.sourceRef.kind"),
                ("Source Name", "string", ".spec.sourceRef.name"),
            ],
            &["v1", "v1beta2", "v1beta1"],
        ),
        source(
            "Bucket",
            "buckets",
            &[],
            vec![("Endpoint", "string", ".spec.endpoint")],
            &["v1", "v1beta2", "v1beta1"],
        ),
        Expected {
            kind: "OCIRepository",
            group: "source.toolkit.fluxcd.io",
            plural: "ocirepositories",
            short_names: &["ocirepo"],
            category: "fluxcd-sources",
            versions: &["v1", "v1beta2"],
            columns: oci_columns,
        },
        Expected {
            kind: "Kustomization",
            group: "kustomize.toolkit.fluxcd.io",
            plural: "kustomizations",
            short_names: &["ks"],
            category: "fluxcd-appliers",
            versions: &["v1", "v1beta2", "v1beta1"],
            columns: age_ready.clone(),
        },
        Expected {
            kind: "HelmRelease",
            group: "helm.toolkit.fluxcd.io",
            plural: "helmreleases",
            short_names: &["hr"],
            category: "fluxcd-appliers",
            versions: &["v2", "v2beta2", "v2beta1"],
            columns: age_ready.clone(),
        },
        Expected {
            kind: "Receiver",
            group: "notification.toolkit.fluxcd.io",
            plural: "receivers",
            short_names: &[],
            category: "fluxcd-notifications",
            versions: &["v1", "v1beta2", "v1beta1"],
            columns: age_ready,
        },
        Expected {
            kind: "Alert",
            group: "notification.toolkit.fluxcd.io",
            plural: "alerts",
            short_names: &[],
            category: "fluxcd-notifications",
            versions: &["v1beta3", "v1beta2", "v1beta1"],
            columns: vec![AGE],
        },
        Expected {
            kind: "Provider",
            group: "notification.toolkit.fluxcd.io",
            plural: "providers",
            short_names: &[],
            category: "fluxcd-notifications",
            versions: &["v1beta3", "v1beta2", "v1beta1"],
            columns: vec![AGE],
        },
        Expected {
            kind: "ExternalArtifact",
            group: "source.toolkit.fluxcd.io",
            plural: "externalartifacts",
            short_names: &["ea"],
            category: "fluxcd-sources",
            versions: &["v1"],
            columns: vec![
                AGE,
                READY_COLS[0],
                READY_COLS[1],
                ("Source", "string", ".spec.sourceRef.name"),
            ],
        },
        Expected {
            kind: "ArtifactGenerator",
            group: "source.extensions.fluxcd.io",
            plural: "artifactgenerators",
            short_names: &["ag"],
            category: "fluxcd-sources",
            versions: &["v1beta1"],
            columns: vec![AGE, READY_COLS[0], READY_COLS[1]],
        },
    ]
}

fn generated() -> Vec<CustomResourceDefinition> {
    crds::all().expect("CRDs generate")
}

fn find<'a>(all: &'a [CustomResourceDefinition], kind: &str) -> &'a CustomResourceDefinition {
    all.iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"))
}

#[test]
fn crds_directory_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crds");
    let files = crds::render_all().unwrap();
    let stale = crds::differences(&dir, &files).unwrap();
    assert!(
        stale.is_empty(),
        "crds/ is not what the generator produces: {stale:?}; run `cargo run -p ferroflux-api --bin crdgen`"
    );
}

#[test]
fn stale_files_are_detected() {
    let dir = tempfile_dir("stale");
    crds::write_dir(&dir).unwrap();
    let files = crds::render_all().unwrap();
    assert!(crds::differences(&dir, &files).unwrap().is_empty());
    std::fs::write(
        dir.join("source.toolkit.fluxcd.io_gitrepositories.yaml"),
        "edited by hand\n",
    )
    .unwrap();
    std::fs::write(dir.join("leftover.yaml"), "x: 1\n").unwrap();
    let stale = crds::differences(&dir, &files).unwrap();
    assert_eq!(
        stale,
        [
            "leftover.yaml",
            "source.toolkit.fluxcd.io_gitrepositories.yaml"
        ]
    );
    // Writing again repairs the edit and removes what is not generated.
    crds::write_dir(&dir).unwrap();
    assert!(crds::differences(&dir, &files).unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempfile_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ferroflux-crds-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn one_crd_per_kind_with_flux_names_versions_and_columns() {
    let all = generated();
    let expected = expected();
    assert_eq!(all.len(), expected.len(), "one CRD per kind");
    for e in &expected {
        let crd = find(&all, e.kind);
        let names = &crd.spec.names;
        assert_eq!(crd.spec.group, e.group, "{}", e.kind);
        assert_eq!(crd.spec.scope, "Namespaced", "{}", e.kind);
        assert_eq!(names.plural, e.plural, "{}", e.kind);
        assert_eq!(
            names.singular.as_deref(),
            Some(e.kind.to_lowercase().as_str())
        );
        assert_eq!(
            names.list_kind.as_deref(),
            Some(format!("{}List", e.kind).as_str())
        );
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some(format!("{}.{}", e.plural, e.group).as_str())
        );
        assert_eq!(
            names.short_names.clone().unwrap_or_default(),
            e.short_names,
            "{}",
            e.kind
        );
        assert_eq!(
            names.categories.clone().unwrap_or_default(),
            ["all", "fluxcd", e.category],
            "{}",
            e.kind
        );
        let versions: Vec<_> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(versions, e.versions, "{}: versions, storage first", e.kind);
        for (i, v) in crd.spec.versions.iter().enumerate() {
            assert!(v.served, "{} {} served", e.kind, v.name);
            assert_eq!(v.storage, i == 0, "{} {} storage", e.kind, v.name);
            assert_eq!(
                v.deprecated,
                Some(i != 0).filter(|d| *d),
                "{} {} deprecated",
                e.kind,
                v.name
            );
            assert!(
                v.subresources
                    .as_ref()
                    .and_then(|s| s.status.as_ref())
                    .is_some(),
                "{} {} has a status subresource",
                e.kind,
                v.name
            );
        }
        let columns: Vec<_> = crd.spec.versions[0]
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| (c.name.as_str(), c.type_.as_str(), c.json_path.as_str()))
            .collect();
        assert_eq!(columns, e.columns, "{} printer columns", e.kind);
        let annotations = crd.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(
            annotations
                .get("kustomize.toolkit.fluxcd.io/substitute")
                .map(String::as_str),
            Some("disabled"),
            "{}: Flux marks its CRDs so postBuild substitution leaves them alone",
            e.kind
        );
    }
}

#[test]
fn every_schema_is_structural() {
    for crd in generated() {
        for v in &crd.spec.versions {
            let schema = v
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .unwrap_or_else(|| panic!("{} {} has no schema", crd.spec.names.kind, v.name));
            let value = serde_json::to_value(schema).unwrap();
            let violations = crds::structural_violations(&value);
            assert!(
                violations.is_empty(),
                "{} {}: {violations:#?}",
                crd.spec.names.kind,
                v.name
            );
            let text = value.to_string();
            assert!(
                !text.contains("\"nullable\""),
                "{} {} has nullable markers",
                crd.spec.names.kind,
                v.name
            );
            for field in ["apiVersion", "kind", "metadata", "spec"] {
                assert!(
                    value["properties"][field].is_object(),
                    "{} {} lacks {field}",
                    crd.spec.names.kind,
                    v.name
                );
            }
        }
    }
}

#[test]
fn preserve_unknown_fields_only_where_flux_has_it() {
    for crd in generated() {
        for v in &crd.spec.versions {
            let schema = serde_json::to_value(
                v.schema
                    .as_ref()
                    .unwrap()
                    .open_api_v3_schema
                    .as_ref()
                    .unwrap(),
            )
            .unwrap();
            let paths = crds::preserve_unknown_field_paths(&schema);
            let allowed: &[&str] = match (crd.spec.names.kind.as_str(), v.name.as_str()) {
                // The old post-renderers' inline patches, as in Flux (v2
                // keeps them, deprecated, so old manifests are not pruned).
                ("HelmRelease", _) => &[
                    ".spec.postRenderers[].kustomize.patchesJson6902[].patch[].value",
                    ".spec.postRenderers[].kustomize.patchesStrategicMerge[]",
                    ".spec.values",
                ],
                // v1beta2's deprecated inline patches hold arbitrary objects, as in Flux.
                ("Kustomization", _) => &[
                    ".spec.patchesJson6902[].patch[].value",
                    ".spec.patchesStrategicMerge[]",
                ],
                _ => &[],
            };
            assert_eq!(paths, allowed, "{} {}", crd.spec.names.kind, v.name);
        }
    }
}

#[test]
fn structural_check_catches_violations() {
    let bad = serde_json::json!({
        "type": "object",
        "properties": {
            "untyped": {"description": "no type"},
            "list": {"type": "array"},
            "ref": {"$ref": "#/definitions/X", "type": "object"},
            "choice": {"type": "string", "anyOf": [{"type": "string"}]},
            "ok": {"x-kubernetes-int-or-string": true}
        }
    });
    let v = crds::structural_violations(&bad);
    assert!(
        v.iter().any(|m| m.starts_with(".untyped: missing type")),
        "{v:?}"
    );
    assert!(
        v.iter()
            .any(|m| m.starts_with(".list: array without items")),
        "{v:?}"
    );
    assert!(v.iter().any(|m| m.starts_with(".ref: $ref")), "{v:?}");
    assert!(v.iter().any(|m| m.contains("choice(anyOf[0])")), "{v:?}");
    assert!(!v.iter().any(|m| m.starts_with(".ok")), "{v:?}");
}

#[test]
fn status_defaults_observed_generation_where_flux_does() {
    for crd in generated() {
        let kind = crd.spec.names.kind.clone();
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).unwrap();
        let default = &schema["openAPIV3Schema"]["properties"]["status"]["default"];
        if matches!(
            kind.as_str(),
            "Alert" | "Provider" | "ExternalArtifact" | "ArtifactGenerator"
        ) {
            assert!(default.is_null(), "{kind}: Flux sets no status default");
        } else {
            assert_eq!(
                default,
                &serde_json::json!({"observedGeneration": -1}),
                "{kind}"
            );
        }
    }
}
