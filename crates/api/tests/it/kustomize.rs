//! Tests of the `kustomize.toolkit.fluxcd.io` types.

use std::time::Duration as StdDuration;

use ferroflux_api::crds;
use ferroflux_api::kustomize::common::{DecryptionProvider, Json6902Op, SubstituteReferenceKind};
use ferroflux_api::kustomize::{v1, v1beta2};
use serde_json::{Value, json};

use crate::support::{fixture_files, read_fixture, rejection, roundtrip, seed_manifests};

const MINIMAL_V1: &str = r#"
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: minimal, namespace: default}
spec:
  interval: 5m
  prune: false
  sourceRef: {kind: GitRepository, name: repo}
"#;

fn v1(rel: &str) -> v1::Kustomization {
    roundtrip(&read_fixture(&format!("kustomize/{rel}")))
}

fn v1beta2(rel: &str) -> v1beta2::Kustomization {
    roundtrip(&read_fixture(&format!("kustomize/{rel}")))
}

/// The Kustomization CRD's schema of one version, as JSON.
fn schema(version: &str) -> Value {
    let crd = crds::all()
        .expect("CRDs generate")
        .into_iter()
        .find(|c| c.spec.names.kind == "Kustomization")
        .expect("a Kustomization CRD");
    let v = crd
        .spec
        .versions
        .iter()
        .find(|v| v.name == version)
        .unwrap_or_else(|| panic!("version {version}"));
    serde_json::to_value(
        v.schema
            .as_ref()
            .unwrap()
            .open_api_v3_schema
            .as_ref()
            .unwrap(),
    )
    .unwrap()
}

/// Replaces `spec.<field>` of the minimal v1 manifest (YAML in, YAML out).
fn with_spec(base: &str, field: &str, value: Value) -> String {
    let mut doc: Value = serde_yaml::from_str(base).unwrap();
    doc["spec"][field] = value;
    serde_yaml::to_string(&doc).unwrap()
}

#[test]
fn every_fixture_round_trips_into_its_version() {
    let files = fixture_files("kustomize");
    let (mut v1s, mut v1beta2s) = (0, 0);
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let doc: Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(doc["kind"], "Kustomization", "{}", path.display());
        match doc["apiVersion"].as_str() {
            Some("kustomize.toolkit.fluxcd.io/v1") => {
                roundtrip::<v1::Kustomization>(&text);
                v1s += 1;
            }
            Some("kustomize.toolkit.fluxcd.io/v1beta2") => {
                roundtrip::<v1beta2::Kustomization>(&text);
                v1beta2s += 1;
            }
            other => panic!("{}: unexpected apiVersion {other:?}", path.display()),
        }
    }
    // One fixture per example of Flux's spec documents, and a few more.
    assert!(v1s >= 30, "only {v1s} v1 fixtures");
    assert!(v1beta2s >= 22, "only {v1beta2s} v1beta2 fixtures");
}

#[test]
fn v1_basic_fields_and_defaults() {
    let ks = v1("v1-basic.yaml");
    let spec = &ks.spec;
    assert_eq!(spec.interval.as_std(), StdDuration::from_secs(900));
    assert_eq!(spec.timeout.as_ref().map(|t| t.as_str()), Some("2m"));
    assert_eq!(spec.timeout(), StdDuration::from_secs(120));
    assert_eq!(spec.source_ref.kind, v1::SourceKind::GitRepository);
    assert_eq!(
        spec.source_ref.to_string(),
        "GitRepository/storefront-config"
    );
    assert_eq!(spec.path.as_deref(), Some("./deploy/base"));
    assert_eq!(spec.target_namespace.as_deref(), Some("shop"));
    assert!(spec.prune);
    assert!(!spec.force);
    assert!(!spec.wait);
    assert!(!spec.suspend);
    assert_eq!(spec.deletion_policy(), v1::DeletionPolicy::MirrorPrune);
    assert_eq!(
        spec.substitute_strategy(),
        v1::SubstituteStrategy::WithVariables
    );
    assert_eq!(spec.retry_interval(), StdDuration::from_secs(900));
}

#[test]
fn v1_documented_defaults_apply_after_parsing() {
    let ks: v1::Kustomization = roundtrip(MINIMAL_V1);
    assert!(!ks.spec.force);
    // `force` defaults to false and is written back, as the API server would store it.
    let out = serde_json::to_value(&ks).unwrap();
    assert_eq!(out["spec"]["force"], json!(false));
    assert_eq!(ks.spec.deletion_policy(), v1::DeletionPolicy::MirrorPrune);
    // No timeout: interval minus 30s...
    assert_eq!(ks.spec.timeout(), StdDuration::from_secs(270));
    // ...never below 30s.
    let short: v1::Kustomization = roundtrip(&with_spec(MINIMAL_V1, "interval", json!("40s")));
    assert_eq!(short.spec.timeout(), StdDuration::from_secs(30));
    assert_eq!(ks.spec.retry_interval(), StdDuration::from_secs(300));
    assert!(ks.status.is_none());

    let subst = v1("v1-post-build-substitute.yaml");
    let from = &subst.spec.post_build.as_ref().unwrap().substitute_from;
    assert_eq!(from.len(), 2);
    assert_eq!(from[0].kind, SubstituteReferenceKind::ConfigMap);
    assert!(from[0].optional);
    assert_eq!(from[1].kind, SubstituteReferenceKind::Secret);
    assert!(!from[1].optional, "optional defaults to false");
}

#[test]
fn v1_schema_carries_flux_defaults_and_no_others() {
    let s = schema("v1");
    let spec = &s["properties"]["spec"];
    assert_eq!(spec["properties"]["force"]["default"], json!(false));
    assert_eq!(
        spec["properties"]["postBuild"]["properties"]["substituteFrom"]["items"]["properties"]["optional"]
            ["default"],
        json!(false)
    );
    for field in [
        "timeout",
        "interval",
        "retryInterval",
        "prune",
        "wait",
        "suspend",
        "deletionPolicy",
    ] {
        assert!(
            spec["properties"][field]["default"].is_null(),
            "{field} has no default in Flux"
        );
    }
    assert_eq!(
        s["properties"]["status"]["default"],
        json!({"observedGeneration": -1})
    );
    assert_eq!(spec["required"], json!(["interval", "prune", "sourceRef"]));
}

#[test]
fn v1_schema_enums_patterns_and_limits() {
    let s = schema("v1");
    let p = &s["properties"]["spec"]["properties"];
    assert_eq!(
        p["sourceRef"]["properties"]["kind"]["enum"],
        json!([
            "OCIRepository",
            "GitRepository",
            "Bucket",
            "ExternalArtifact"
        ])
    );
    assert_eq!(
        p["deletionPolicy"]["enum"],
        json!(["MirrorPrune", "Delete", "WaitForTermination", "Orphan"])
    );
    assert_eq!(
        p["buildMetadata"]["items"]["enum"],
        json!(["originAnnotations", "transformerAnnotations"])
    );
    assert_eq!(
        p["decryption"]["properties"]["provider"]["enum"],
        json!(["sops"])
    );
    assert_eq!(
        p["postBuild"]["properties"]["substituteStrategy"]["enum"],
        json!(["WithVariables", "Always"])
    );
    let interval = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";
    for field in ["interval", "retryInterval", "timeout"] {
        assert_eq!(p[field]["pattern"], json!(interval), "{field}");
    }
    assert_eq!(
        (
            p["namePrefix"]["minLength"].as_u64(),
            p["namePrefix"]["maxLength"].as_u64()
        ),
        (Some(1), Some(200))
    );
    assert_eq!(
        (
            p["targetNamespace"]["minLength"].as_u64(),
            p["targetNamespace"]["maxLength"].as_u64()
        ),
        (Some(1), Some(63))
    );
    let rules: Vec<&str> = p["kubeConfig"]["x-kubernetes-validations"]
        .as_array()
        .expect("kubeConfig carries CEL rules")
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "has(self.configMapRef) || has(self.secretRef)",
            "!has(self.configMapRef) || !has(self.secretRef)"
        ]
    );
    let status = &s["properties"]["status"]["properties"];
    assert_eq!(status["inventory"]["required"], json!(["entries"]));
    assert_eq!(
        status["inventory"]["properties"]["entries"]["items"]["required"],
        json!(["id", "v"])
    );
    assert_eq!(
        status["history"]["items"]["properties"]["totalReconciliations"]["format"],
        json!("int64")
    );
    assert_eq!(
        status["conditions"]["items"]["properties"]["status"]["enum"],
        json!(["True", "False", "Unknown"])
    );
}

#[test]
fn v1_features_parse_to_the_right_fields() {
    let cross = v1("v1-cross-namespace-source.yaml");
    assert_eq!(cross.spec.source_ref.namespace.as_deref(), Some("platform"));
    assert_eq!(
        cross.spec.source_ref.to_string(),
        "GitRepository/platform/platform-repo"
    );

    let orphan = v1("v1-deletion-policy.yaml");
    assert_eq!(orphan.spec.deletion_policy(), v1::DeletionPolicy::Orphan);

    let hc = v1("v1-health-checks-helmreleases.yaml");
    assert_eq!(hc.spec.health_checks.len(), 2);
    assert_eq!(hc.spec.health_checks[1].name, "api");
    assert_eq!(
        hc.spec.health_checks[1].namespace.as_deref(),
        Some("warehouse-staging")
    );
    assert_eq!(
        hc.spec.health_checks[1].api_version.as_deref(),
        Some("helm.toolkit.fluxcd.io/v2")
    );

    let exprs = v1("v1-health-check-exprs.yaml");
    assert!(exprs.spec.wait);
    assert_eq!(exprs.spec.timeout(), StdDuration::from_secs(90));
    let e = &exprs.spec.health_check_exprs[0];
    assert_eq!(e.kind.as_deref(), Some("Certificate"));
    assert_eq!(e.in_progress.as_deref(), Some("status.phase == 'Issuing'"));
    assert!(e.current.contains("c.status == 'True'"));

    let dep = v1("v1-dependency-ready-expr.yaml");
    assert_eq!(dep.spec.depends_on[0].name, "checkout-api");
    assert!(
        dep.spec.depends_on[0]
            .ready_expr
            .as_deref()
            .unwrap()
            .starts_with("dep.metadata.labels")
    );
    assert_eq!(dep.spec.source_ref.kind, v1::SourceKind::OciRepository);

    let names = v1("v1-name-prefix-suffix.yaml");
    assert_eq!(
        (
            names.spec.name_prefix.as_deref(),
            names.spec.name_suffix.as_deref()
        ),
        (Some("eu-"), Some("-v2"))
    );
    assert_eq!(names.spec.source_ref.kind, v1::SourceKind::Bucket);

    let patches = v1("v1-patches.yaml");
    assert_eq!(patches.spec.patches.len(), 2);
    let t0 = patches.spec.patches[0].target.as_ref().unwrap();
    assert_eq!(
        t0.label_selector.as_deref(),
        Some("app.kubernetes.io/component=backend")
    );
    assert!(
        patches.spec.patches[0]
            .patch
            .contains("prometheus.io/scrape")
    );
    let t1 = patches.spec.patches[1].target.as_ref().unwrap();
    assert_eq!(
        (
            t1.group.as_deref(),
            t1.version.as_deref(),
            t1.name.as_deref(),
            t1.annotation_selector.as_deref()
        ),
        (
            Some("apps"),
            Some("v1"),
            Some("catalog-api"),
            Some("example.org/tier=gold")
        )
    );

    let images = v1("v1-images.yaml");
    assert_eq!(images.spec.images.len(), 4);
    assert_eq!(images.spec.images[1].new_tag.as_deref(), Some("0.9.1"));
    assert!(
        images.spec.images[3]
            .digest
            .as_deref()
            .unwrap()
            .starts_with("sha256:")
    );

    let meta = v1("v1-build-metadata.yaml");
    assert_eq!(
        meta.spec.build_metadata,
        [
            v1::BuildMetadataOption::OriginAnnotations,
            v1::BuildMetadataOption::TransformerAnnotations
        ]
    );

    let comps = v1("v1-components.yaml");
    assert!(comps.spec.ignore_missing_components);
    assert_eq!(
        comps.spec.components,
        ["../../components/monitoring", "../../components/hpa"]
    );

    let common = v1("v1-common-metadata.yaml");
    let cm = common.spec.common_metadata.unwrap();
    assert_eq!(cm.labels["example.org/owner"], "web-team");
    assert_eq!(cm.annotations.len(), 1);

    let always = v1("v1-post-build-strategy.yaml");
    assert_eq!(
        always.spec.substitute_strategy(),
        v1::SubstituteStrategy::Always
    );

    let quoting = v1("v1-post-build-quoting.yaml");
    let vars = &quoting.spec.post_build.as_ref().unwrap().substitute;
    assert_eq!(
        (
            vars["q"].as_str(),
            vars["replicas"].as_str(),
            vars["debug"].as_str()
        ),
        ("\"", "4", "false")
    );

    let ignore = v1("v1-ignore-rules.yaml");
    assert_eq!(ignore.spec.ignore.len(), 3);
    assert_eq!(
        ignore.spec.ignore[1].paths,
        ["/metadata/annotations/example.org~1last-rotated"]
    );
    assert!(ignore.spec.ignore[2].target.is_none());

    let cm_kc = v1("v1-kubeconfig-configmap.yaml");
    let kc = cm_kc.spec.kube_config.as_ref().unwrap();
    assert_eq!(
        kc.config_map_ref.as_ref().map(|r| r.name.as_str()),
        Some("edge-cluster")
    );
    assert!(kc.secret_ref.is_none());
    assert_eq!(
        cm_kc.spec.service_account_name.as_deref(),
        Some("edge-deployer")
    );

    let secret_kc = v1("v1-kubeconfig-secret.yaml");
    let sr = secret_kc.spec.kube_config.unwrap().secret_ref.unwrap();
    assert_eq!(
        (sr.name.as_str(), sr.key.as_deref()),
        ("qa-kubeconfig", Some("value.yaml"))
    );

    let dec = v1("v1-decryption.yaml");
    let d = dec.spec.decryption.unwrap();
    assert_eq!(d.provider, DecryptionProvider::Sops);
    assert_eq!(d.service_account_name.as_deref(), Some("kms-reader"));
    assert_eq!(d.secret_ref.unwrap().name, "age-keys");

    let rec = v1("v1-recommended.yaml");
    assert_eq!(rec.spec.interval.as_std(), StdDuration::from_secs(45 * 60));
    assert_eq!(rec.spec.retry_interval(), StdDuration::from_secs(90));
    assert_eq!(rec.spec.timeout(), StdDuration::from_secs(240));
    assert!(rec.spec.wait);

    let ext = v1("v1-external-artifact.yaml");
    assert_eq!(ext.spec.source_ref.kind, v1::SourceKind::ExternalArtifact);
    assert!(ext.spec.force);

    assert!(v1("v1-suspended.yaml").spec.suspend);
    assert!(!v1("v1-resumed.yaml").spec.suspend);
}

#[test]
fn v1_status_fields_parse() {
    let history = v1("v1-status-history.yaml");
    let status = history.status.unwrap();
    assert_eq!(status.observed_generation, Some(4));
    assert_eq!(
        status.last_handled_reconcile_at.as_deref(),
        Some("1718000000")
    );
    assert_eq!(status.history.len(), 2);
    assert_eq!(status.history[0].total_reconciliations, 7);
    assert_eq!(status.history[0].last_reconciled_duration, "1.204s");
    assert_eq!(
        status.history[0].metadata["revision"],
        "v2.1.0@sha1:0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
    );
    assert_eq!(
        status.history[1].last_reconciled_status,
        "HealthCheckFailed"
    );
    assert!(status.history[1].metadata.is_empty());

    let inv = v1("v1-status-inventory.yaml").status.unwrap();
    let entries = &inv.inventory.as_ref().unwrap().entries;
    assert_eq!(entries.len(), 3);
    assert_eq!(
        (entries[1].id.as_str(), entries[1].version.as_str()),
        ("travel_booking_apps_Deployment", "v1")
    );
    assert_eq!(
        inv.last_applied_origin_revision.as_deref(),
        Some("v2.1.0@sha1:0a1b2c3d4e5f60718293a4b5c6d7e8f901234567")
    );

    let failed = v1("v1-status-failed.yaml").status.unwrap();
    assert_eq!(failed.conditions.len(), 2);
    assert_eq!(failed.conditions[1].reason, "ArtifactFailed");
    assert_eq!(failed.conditions[1].observed_generation, Some(3));
    assert_ne!(failed.last_applied_revision, failed.last_attempted_revision);
}

#[test]
fn v1beta2_features_parse_to_the_right_fields() {
    let legacy = v1beta2("v1beta2-legacy-patches.yaml");
    let smp = &legacy.spec.patches_strategic_merge;
    assert_eq!(smp.len(), 1);
    assert_eq!(smp[0]["spec"]["replicas"], json!(2));
    assert_eq!(
        smp[0]["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
        json!("debug")
    );
    let j = &legacy.spec.patches_json6902[0];
    assert_eq!(j.target.name.as_deref(), Some("catalog-worker"));
    let ops: Vec<_> = j.patch.iter().map(|o| o.op).collect();
    assert_eq!(
        ops,
        [
            Json6902Op::Add,
            Json6902Op::Copy,
            Json6902Op::Test,
            Json6902Op::Remove
        ]
    );
    assert_eq!(j.patch[0].value, Some(json!("batch")));
    assert_eq!(j.patch[1].from.as_deref(), Some("/metadata/labels/tier"));
    assert_eq!(j.patch[2].value, Some(json!(1)));
    assert_eq!(j.patch[3].value, None);

    let validation = v1beta2("v1beta2-validation.yaml");
    assert_eq!(
        validation.spec.validation,
        Some(v1beta2::ValidationMode::Server)
    );

    let dep = v1beta2("v1beta2-dependency-consumer.yaml");
    assert_eq!(dep.spec.depends_on[0].name, "ingress-controller");
    assert_eq!(
        dep.spec.depends_on[0].namespace.as_deref(),
        Some("flux-system")
    );

    let dec = v1beta2("v1beta2-decryption.yaml");
    assert_eq!(
        dec.spec.decryption.unwrap().secret_ref.unwrap().name,
        "pgp-keys"
    );
    assert_eq!(dec.spec.source_ref.kind, v1beta2::SourceKind::Bucket);

    let basic = v1beta2("v1beta2-basic.yaml");
    assert!(!basic.spec.force);
    assert!(basic.spec.validation.is_none());

    let ready = v1beta2("v1beta2-status-ready.yaml").status.unwrap();
    assert_eq!(
        ready.inventory.unwrap().entries[0].id,
        "shop_storefront__Service"
    );
    assert_eq!(ready.conditions[0].type_, "Ready");
}

#[test]
fn seed_manifests_parse_as_v1beta2() {
    let dir = seed_manifests();
    let first = std::fs::read_to_string(dir.join("01-flux-kustomization-v1beta2.yaml")).unwrap();
    let ks: v1beta2::Kustomization = roundtrip(&first);
    assert_eq!(ks.spec.validation, Some(v1beta2::ValidationMode::Client));
    assert_eq!(
        ks.spec.path.as_deref(),
        Some("./clusters/production/property-backend")
    );
    assert_eq!(ks.spec.interval.as_std(), StdDuration::from_secs(300));

    let tenant = std::fs::read_to_string(dir.join("03-tenant-kustomization-v1beta2.yaml")).unwrap();
    let ks: v1beta2::Kustomization = roundtrip(&tenant);
    assert_eq!(
        ks.spec.service_account_name.as_deref(),
        Some("tenant-alpha-reconciler")
    );
    assert_eq!(ks.spec.source_ref.name, "tenant-alpha-config");
    assert!(ks.spec.prune);
}

#[test]
fn v1beta2_schema_is_flux_v1beta2() {
    let s = schema("v1beta2");
    let p = &s["properties"]["spec"]["properties"];
    assert_eq!(
        p["sourceRef"]["properties"]["kind"]["enum"],
        json!(["OCIRepository", "GitRepository", "Bucket"])
    );
    assert_eq!(p["validation"]["enum"], json!(["none", "client", "server"]));
    let doc = p["validation"]["description"].as_str().unwrap_or_default();
    assert!(
        doc.contains("ignored"),
        "the CRD says validation is ignored: {doc:?}"
    );
    assert_eq!(p["force"]["default"], json!(false));
    assert_eq!(
        p["patchesStrategicMerge"]["items"]["x-kubernetes-preserve-unknown-fields"],
        json!(true)
    );
    assert_eq!(
        p["patchesJson6902"]["items"]["properties"]["patch"]["items"]["properties"]["op"]["enum"],
        json!(["test", "remove", "add", "replace", "move", "copy"])
    );
    assert_eq!(
        p["patchesJson6902"]["items"]["required"],
        json!(["patch", "target"])
    );
    // Fields that only v1 has.
    for field in [
        "deletionPolicy",
        "ignore",
        "healthCheckExprs",
        "buildMetadata",
        "namePrefix",
    ] {
        assert!(p[field].is_null(), "v1beta2 has no {field}");
    }
    assert!(p["dependsOn"]["items"]["properties"]["readyExpr"].is_null());
    assert!(s["properties"]["status"]["properties"]["history"].is_null());

    let crd = crds::all()
        .unwrap()
        .into_iter()
        .find(|c| c.spec.names.kind == "Kustomization")
        .unwrap();
    let v = crd
        .spec
        .versions
        .iter()
        .find(|v| v.name == "v1beta2")
        .unwrap();
    assert_eq!(v.deprecated, Some(true));
    assert_eq!(
        v.deprecation_warning.as_deref(),
        Some("v1beta2 Kustomization is deprecated, upgrade to v1")
    );
}

#[test]
fn invalid_values_are_rejected_naming_the_value() {
    let err = rejection::<v1::Kustomization>(&with_spec(MINIMAL_V1, "interval", json!("5x")));
    assert!(err.contains("\"5x\""), "{err}");
    let err =
        rejection::<v1::Kustomization>(&with_spec(MINIMAL_V1, "timeout", json!("10 minutes")));
    assert!(err.contains("10 minutes"), "{err}");
    let err = rejection::<v1::Kustomization>(&with_spec(
        MINIMAL_V1,
        "sourceRef",
        json!({"kind": "HelmRepository", "name": "charts"}),
    ));
    assert!(
        err.contains("HelmRepository") && err.contains("GitRepository"),
        "{err}"
    );
    let err =
        rejection::<v1::Kustomization>(&with_spec(MINIMAL_V1, "deletionPolicy", json!("Keep")));
    assert!(err.contains("Keep"), "{err}");
    let err = rejection::<v1::Kustomization>(&with_spec(
        MINIMAL_V1,
        "decryption",
        json!({"provider": "vault"}),
    ));
    assert!(err.contains("vault"), "{err}");
    let err = rejection::<v1::Kustomization>(&with_spec(
        MINIMAL_V1,
        "buildMetadata",
        json!(["everything"]),
    ));
    assert!(err.contains("everything"), "{err}");
    let err = rejection::<v1::Kustomization>(&with_spec(
        MINIMAL_V1,
        "postBuild",
        json!({"substituteFrom": [{"kind": "Pod", "name": "vars"}]}),
    ));
    assert!(err.contains("Pod"), "{err}");
    let err = rejection::<v1::Kustomization>(&with_spec(
        MINIMAL_V1,
        "postBuild",
        json!({"substituteStrategy": "Never"}),
    ));
    assert!(err.contains("Never"), "{err}");

    let mut no_prune: Value = serde_yaml::from_str(MINIMAL_V1).unwrap();
    no_prune["spec"].as_object_mut().unwrap().remove("prune");
    let err = rejection::<v1::Kustomization>(&serde_yaml::to_string(&no_prune).unwrap());
    assert!(err.contains("prune"), "prune is required: {err}");

    let beta = MINIMAL_V1.replace(
        "kustomize.toolkit.fluxcd.io/v1",
        "kustomize.toolkit.fluxcd.io/v1beta2",
    );
    let err = rejection::<v1beta2::Kustomization>(&with_spec(&beta, "validation", json!("strict")));
    assert!(err.contains("strict"), "{err}");
    let err = rejection::<v1beta2::Kustomization>(&with_spec(
        &beta,
        "sourceRef",
        json!({"kind": "ExternalArtifact", "name": "generated"}),
    ));
    assert!(
        err.contains("ExternalArtifact"),
        "v1beta2 never had ExternalArtifact: {err}"
    );
    let err = rejection::<v1beta2::Kustomization>(&with_spec(
        &beta,
        "patchesJson6902",
        json!([{"target": {"kind": "Deployment"}, "patch": [{"op": "merge", "path": "/a"}]}]),
    ));
    assert!(err.contains("merge"), "{err}");
    let err = rejection::<v1beta2::Kustomization>(&with_spec(&beta, "interval", json!("5x")));
    assert!(err.contains("\"5x\""), "{err}");
}
